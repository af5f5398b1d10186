//! Scenario 4, the closing window: Alice's key signed a newer state than the counterpart had
//! checkpointed, then Alice revoked the key. The counterpart checkpoints the newer state inside
//! the window, and settlement pays the newer amount: the owner cannot walk away from what its
//! key signed.

use pallet_session_keys::Event;
use session_keys_client::{At, Wait};
use session_keys_e2e::{account_of, build, Chain, Node, SessionPair, Terms};
use session_keys_primitives::{ChannelState, CryptoKind, EndReason, Phase};
use session_keys_runtime::genesis_config_presets::DEV_CHALLENGE_PERIOD;
use subxt_signer::sr25519::dev;

use crate::{adjudicator_events, settlement_events, units};

#[tokio::test]
async fn revoked_session_settles_at_the_newest_state_checkpointed_in_the_window() {
	let mut node = Node::dev("closing").await;
	let chain = Chain::connect(&mut node).await;
	let (alice, bob) = (account_of(&dev::alice()), account_of(&dev::bob()));

	let seed = "//Alice//e2e-closing";
	let pair = SessionPair::from_uri(CryptoKind::Sr25519, seed).expect("a dev seed");
	let (public, proof) = chain
		.generate_session_key(&alice, CryptoKind::Sr25519, Some(seed))
		.await
		.expect("generated");
	assert_eq!(public, pair.public());
	let terms = Terms {
		counterpart: bob.clone(),
		duration: None,
		spending_limit: units(60),
		collateral: units(100),
		description: b"e2e".to_vec(),
		scope: vec![b"*".to_vec()],
	};
	chain
		.client
		.register(&dev::alice(), public, proof, &terms, Wait::Finalized)
		.await
		.expect("register");

	// Bob checkpoints nonce 1 (owed 5); the key then signs nonce 2 (owed 40) for Bob off chain.
	let first = ChannelState { nonce: 1, owed: units(5), margin: 0 };
	let signature = pair.sign_state(chain.genesis_hash(), &first);
	chain
		.client
		.checkpoint(&dev::bob(), public, first, signature, Wait::InBlock)
		.await
		.expect("first checkpoint");
	let newer_state = ChannelState { nonce: 2, owed: units(40), margin: 0 };
	let newer =
		build::checkpoint(public, newer_state, pair.sign_state(chain.genesis_hash(), &newer_state));

	let alice_before = chain.balances(&alice).await;
	let bob_before = chain.balances(&bob).await;

	// Alice revokes: the session closes, it does not settle.
	let revoked = chain.submit(&dev::alice(), build::revoke(public)).await.expect("revoke");
	let settles_at = revoked.block_number + DEV_CHALLENGE_PERIOD;
	assert_eq!(
		adjudicator_events(revoked.events),
		vec![Event::SessionClosing { public, reason: EndReason::Revoked, settles_at }]
	);

	// Bob checkpoints the newer state inside the window.
	let checkpointed = chain.submit(&dev::bob(), newer).await.expect("checkpoint while closing");
	println!(
		"revoked at #{}, newer state checkpointed at #{}, settles at #{settles_at}",
		revoked.block_number, checkpointed.block_number
	);
	assert!(checkpointed.block_number < settles_at, "inside the window");
	let dated = chain.client.registration_at(public, At::Best).await.expect("a read");
	let read = dated.value.expect("closing");
	assert_eq!(read.phase_at(dated.block_number), Phase::Closing(EndReason::Revoked));
	assert_eq!(read.state.owed, units(40));

	// Settlement pays Bob the newer amount, and Alice gets the rest.
	let events = settlement_events(&chain, settles_at).await;
	let [Event::SessionEnded {
		reason,
		paid_to_counterpart,
		collateral_released,
		deposit_released,
		record_fee,
		..
	}] = &events[..]
	else {
		panic!("one SessionEnded when the window ends, got {events:?}");
	};
	assert_eq!(*reason, EndReason::Revoked);
	assert_eq!((*paid_to_counterpart, *collateral_released), (units(40), units(60)));

	let alice_after = chain.balances(&alice).await;
	let bob_after = chain.balances(&bob).await;
	// Bob paid fees for his checkpoint, so compare at the settlement: read the balances of the
	// block before it and of the settlement block.
	println!("alice {alice_before:?} -> {alice_after:?}");
	println!("bob {bob_before:?} -> {bob_after:?}");
	assert_eq!(
		alice_after.reserved,
		alice_before.reserved - units(100) - deposit_released - record_fee,
		"collateral and deposit left the hold"
	);
	let before_settlement = chain.block_hash(settles_at - 1).await;
	let at_settlement = chain.block_hash(settles_at).await;
	let bob_then = chain.balances_at(&bob, before_settlement).await;
	let bob_now = chain.balances_at(&bob, at_settlement).await;
	assert_eq!(bob_now.free, bob_then.free + units(40), "Bob is paid exactly 40");
	let alice_then = chain.balances_at(&alice, before_settlement).await;
	let alice_now = chain.balances_at(&alice, at_settlement).await;
	assert_eq!(
		alice_now.free,
		alice_then.free + units(60) + deposit_released,
		"Alice gets the rest of her collateral and her deposit less the record fee"
	);
	let retired = chain.retired(&public).await.expect("retired");
	assert_eq!((retired.reason, retired.nonce), (EndReason::Revoked, 2));
}
