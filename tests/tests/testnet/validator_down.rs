//! Scenario 3: one of four validators stops. Blocks and finality go on (three of four are a
//! supermajority); restarted on its base path, it catches up to the others' finalized chain.

use session_keys_e2e::{
	testnet::{heights_of, print_authors, Testnet},
	Chain,
};

/// Blocks finalized without Charlie before he comes back.
const FINALIZED_WHILE_DOWN: u64 = 8;

#[tokio::test]
async fn finality_survives_a_stopped_validator_which_then_catches_up() {
	let _turn = crate::turn().await;
	let mut net = Testnet::start("validator-down").await;
	net.wait_all_finalized(3).await;
	net.print_heights("all up").await;

	net.node("charlie").stop();
	let alice = Chain::connect(net.node("alice")).await;
	let at_stop = heights_of(net.node("alice")).await.expect("alice answers");
	net.print_heights("charlie stopped").await;

	net.wait_all_finalized(at_stop.finalized + FINALIZED_WHILE_DOWN).await;
	let while_down = heights_of(net.node("alice")).await.expect("alice answers");
	net.print_heights("without charlie").await;
	assert!(while_down.best > at_stop.best, "blocks went on");
	let first = u32::try_from(at_stop.best + 1).expect("small");
	let last = u32::try_from(while_down.finalized).expect("small");
	if first <= last {
		println!("authors while charlie was down:");
		print_authors(&alice.authors(first, last).await);
	}

	net.node("charlie").start();
	let target = heights_of(net.node("alice")).await.expect("alice answers").finalized + 2;
	net.node("charlie").wait_until_finalizing(target).await;
	net.print_heights("charlie restarted").await;
	let charlie = Chain::connect(net.node("charlie")).await;
	let target = u32::try_from(target).expect("small");
	assert_eq!(
		charlie.block_hash(target).await,
		alice.block_hash(target).await,
		"charlie finalized the others' block #{target}"
	);
}
