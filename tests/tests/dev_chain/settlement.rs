//! Scenario 3: a short session with collateral; the counterpart checkpoints a state signed by
//! the session key; when the closing window after its expiry ends, `on_initialize` settles it
//! and both balances move by exactly the amounts the event names.

use pallet_session_keys::Event;
use session_keys_e2e::{
	account_of,
	session_keys::{register_call, session_pair, signed_state, Terms},
	Chain, Node,
};
use session_keys_primitives::{ChannelState, EndReason, SessionPublic};
use session_keys_runtime::genesis_config_presets::DEV_CHALLENGE_PERIOD;
use sp_core::Pair;
use subxt_signer::sr25519::dev;

use crate::{adjudicator_events, settlement_events, units};

/// Long enough for the checkpoint to land first, short enough to wait for.
const DURATION: u32 = 12;

#[tokio::test]
async fn expiry_settles_the_checkpointed_state() {
	let mut node = Node::dev("settlement").await;
	let chain = Chain::connect(&mut node).await;
	let (alice, bob) = (account_of(&dev::alice()), account_of(&dev::bob()));

	let seed = "//Alice//e2e-settle";
	let (public, proof) =
		chain.generate_session_key(&alice, "sr25519", Some(seed)).await.expect("generated");
	let pair = session_pair(seed);
	assert_eq!(public, SessionPublic::from(pair.public()));
	let terms = Terms {
		counterpart: bob.clone(),
		duration: Some(DURATION),
		spending_limit: units(50),
		collateral: units(100),
		scope: vec![],
	};
	let registered =
		chain.submit(&dev::alice(), register_call(public, proof, &terms)).await.expect("register");
	let expires_at = registered.block_number + DURATION;
	println!("registered at #{}, expires at #{expires_at}", registered.block_number);

	// Bob, the counterpart, checkpoints what Alice's session key signed: 30 UNIT owed.
	let state = ChannelState { nonce: 1, owed: units(30), margin: units(10) };
	let checkpointed = chain
		.submit(&dev::bob(), signed_state(&pair, chain.genesis_hash(), state))
		.await
		.expect("checkpoint");
	assert!(checkpointed.block_number < expires_at, "checkpointed before expiry");
	assert_eq!(
		adjudicator_events(checkpointed.events),
		vec![Event::StateCheckpointed { public, nonce: 1, owed: units(30), margin: units(10) }]
	);

	// Neither account sends anything more, so their balances change only by the settlement.
	let alice_before = chain.account(&alice).await.data;
	let bob_before = chain.account(&bob).await.data;
	assert!(alice_before.reserved >= units(100), "collateral and deposit held");

	let settles_at = expires_at + DEV_CHALLENGE_PERIOD;
	let read = chain.registration(&public).await.expect("not yet settled");
	assert_eq!(read.settles_at, settles_at);
	let settled = settlement_events(&chain, settles_at).await;
	println!("block #{settles_at} on_initialize: {settled:?}");
	let [Event::SessionEnded {
		public: ended,
		reason,
		ended_at,
		paid_to_counterpart,
		collateral_released,
		deposit_released,
		record_fee,
		..
	}] = &settled[..]
	else {
		panic!("one SessionEnded when the window ends, got {settled:?}");
	};
	assert_eq!((ended, *reason, *ended_at), (&public, EndReason::Expired, expires_at));
	assert_eq!((*paid_to_counterpart, *collateral_released), (units(30), units(70)));

	let alice_after = chain.account(&alice).await.data;
	let bob_after = chain.account(&bob).await.data;
	println!("alice {alice_before:?} -> {alice_after:?}");
	println!("bob {bob_before:?} -> {bob_after:?}");
	assert_eq!(bob_after.free, bob_before.free + units(30), "Bob is paid what he was owed");
	assert_eq!(
		alice_after.free,
		alice_before.free + units(70) + deposit_released,
		"Alice gets the rest of her collateral and her deposit back"
	);
	assert_eq!(
		alice_after.reserved,
		alice_before.reserved - units(100) - deposit_released - record_fee,
		"the whole deposit left the hold: returned, less the record fee, which was burned"
	);

	let retired = chain.retired(&public).await.expect("a retired record");
	assert_eq!((retired.reason.as_str(), retired.owed.as_str()), ("Expired", "30000000000000"));
}
