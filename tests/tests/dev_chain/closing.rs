//! Scenario 4, the closing window: Alice's key signed a newer state than the counterpart had
//! checkpointed, then Alice revoked the key. The counterpart checkpoints the newer state inside
//! the window, and settlement pays the newer amount: the owner cannot walk away from what its
//! key signed.

use pallet_session_keys::Event;
use session_keys_e2e::{
	account_of,
	session_keys::{register_call, session_pair, signed_state, Terms},
	Chain, Node,
};
use session_keys_primitives::{ChannelState, EndReason, SessionPublic};
use session_keys_runtime::{genesis_config_presets::DEV_CHALLENGE_PERIOD, RuntimeCall};
use sp_core::Pair;
use subxt_signer::sr25519::dev;

use crate::{adjudicator_events, settlement_events, units};

#[tokio::test]
async fn revoked_session_settles_at_the_newest_state_checkpointed_in_the_window() {
	let mut node = Node::dev("closing").await;
	let chain = Chain::connect(&mut node).await;
	let (alice, bob) = (account_of(&dev::alice()), account_of(&dev::bob()));

	let seed = "//Alice//e2e-closing";
	let pair = session_pair(seed);
	let (public, proof) =
		chain.generate_session_key(&alice, "sr25519", Some(seed)).await.expect("generated");
	assert_eq!(public, SessionPublic::from(pair.public()));
	let terms = Terms {
		counterpart: bob.clone(),
		duration: None,
		spending_limit: units(60),
		collateral: units(100),
		scope: vec![],
	};
	chain.submit(&dev::alice(), register_call(public, proof, &terms)).await.expect("register");

	// Bob checkpoints nonce 1 (owed 5); the key then signs nonce 2 (owed 40) for Bob off chain.
	let first = ChannelState { nonce: 1, owed: units(5), margin: 0 };
	chain
		.submit(&dev::bob(), signed_state(&pair, chain.genesis_hash(), first))
		.await
		.expect("first checkpoint");
	let newer = signed_state(
		&pair,
		chain.genesis_hash(),
		ChannelState { nonce: 2, owed: units(40), margin: 0 },
	);

	let alice_before = chain.account(&alice).await.data;
	let bob_before = chain.account(&bob).await.data;

	// Alice revokes: the session closes, it does not settle.
	let revoke = RuntimeCall::Adjudicator(pallet_session_keys::Call::revoke { public });
	let revoked = chain.submit(&dev::alice(), revoke).await.expect("revoke");
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
	let read = chain.registration(&public).await.expect("closing");
	assert_eq!((read.phase.as_str(), read.owed.as_str()), ("Closing", "40000000000000"));

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

	let alice_after = chain.account(&alice).await.data;
	let bob_after = chain.account(&bob).await.data;
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
	let bob_then = chain.account_at(&bob, before_settlement).await.data;
	let bob_now = chain.account_at(&bob, at_settlement).await.data;
	assert_eq!(bob_now.free, bob_then.free + units(40), "Bob is paid exactly 40");
	let alice_then = chain.account_at(&alice, before_settlement).await.data;
	let alice_now = chain.account_at(&alice, at_settlement).await.data;
	assert_eq!(
		alice_now.free,
		alice_then.free + units(60) + deposit_released,
		"Alice gets the rest of her collateral and her deposit less the record fee"
	);
	let retired = chain.retired(&public).await.expect("retired");
	assert_eq!((retired.reason.as_str(), retired.nonce), ("Revoked", 2));
}
