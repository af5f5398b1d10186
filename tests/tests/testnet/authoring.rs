//! Scenario 1: all four validators author blocks, and GRANDPA finalizes the same chain on every
//! node.

use std::collections::BTreeSet;

use session_keys_e2e::{
	testnet::{print_authors, Testnet, VALIDATORS},
	Chain,
};

/// Three rounds of four slots.
const HEIGHT: u32 = 12;

#[tokio::test]
async fn all_four_validators_author_and_grandpa_finalizes() {
	let _turn = crate::turn().await;
	let mut net = Testnet::start("authoring").await;
	net.wait_all_finalized(HEIGHT.into()).await;
	net.print_heights(&format!("all finalized #{HEIGHT}")).await;

	let alice = Chain::connect(net.node("alice")).await;
	let authors = alice.authors(1, HEIGHT).await;
	println!("authors of #1..=#{HEIGHT}, as alice's node sees them:");
	print_authors(&authors);
	let seen: BTreeSet<String> = authors.iter().map(|a| a.author_name()).collect();
	let all: BTreeSet<String> = VALIDATORS.iter().map(|v| v.to_string()).collect();
	assert_eq!(seen, all, "every validator authored a block");

	// Every node finalized the very same block at that height.
	let expected = alice.block_hash(HEIGHT).await;
	for validator in VALIDATORS {
		let chain = Chain::connect(net.node(validator)).await;
		let hash = chain.block_hash(HEIGHT).await;
		println!("{validator}: finalized #{HEIGHT} = {hash:?}");
		assert_eq!(hash, expected, "{validator} finalized another block #{HEIGHT}");
	}
}
