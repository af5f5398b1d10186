//! Scenario 3: a short session with collateral; the counterpart checkpoints a state signed by
//! the session key; when the closing window after its expiry ends, `on_initialize` settles it
//! and both balances move by exactly the amounts the event names.

use futures::StreamExt;
use pallet_session_keys::Event;
use session_keys_e2e::{account_of, build, Chain, Node, SessionPair, Terms};
use session_keys_primitives::{ChannelState, CryptoKind, EndReason};
use session_keys_runtime::genesis_config_presets::DEV_CHALLENGE_PERIOD;
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
	let (public, proof) = chain
		.generate_session_key(&alice, CryptoKind::Sr25519, Some(seed))
		.await
		.expect("generated");
	let pair = SessionPair::from_uri(CryptoKind::Sr25519, seed).expect("a dev seed");
	assert_eq!(public, pair.public());
	let terms = Terms {
		counterpart: bob.clone(),
		duration: Some(DURATION),
		spending_limit: units(50),
		collateral: units(100),
		description: b"e2e".to_vec(),
		scope: vec![b"*".to_vec()],
	};
	let registered = chain
		.submit(&dev::alice(), build::register(public, proof, &terms).expect("fits"))
		.await
		.expect("register");
	let expires_at = registered.block_number + DURATION;
	println!("registered at #{}, expires at #{expires_at}", registered.block_number);

	// Bob, the counterpart, checkpoints what Alice's session key signed: 30 UNIT owed.
	let state = ChannelState { nonce: 1, owed: units(30), margin: units(10) };
	let checkpointed = chain
		.submit(
			&dev::bob(),
			build::checkpoint(public, state, pair.sign_state(chain.genesis_hash(), &state)),
		)
		.await
		.expect("checkpoint");
	assert!(checkpointed.block_number < expires_at, "checkpointed before expiry");
	assert_eq!(
		adjudicator_events(checkpointed.events),
		vec![Event::StateCheckpointed { public, nonce: 1, owed: units(30), margin: units(10) }]
	);

	// Neither account sends anything more, so their balances change only by the settlement.
	let alice_before = chain.balances(&alice).await;
	let bob_before = chain.balances(&bob).await;
	assert!(alice_before.reserved >= units(100), "collateral and deposit held");

	let settles_at = expires_at + DEV_CHALLENGE_PERIOD;
	let read = chain.registration(&public).await.expect("not yet settled");
	assert_eq!(read.settles_at, settles_at);

	// The client's stream of finalized blocks: every block in order, no gaps, and the
	// settlement's event in the settlement block.
	let mut blocks = std::pin::pin!(chain.client.finalized_blocks());
	let mut numbers = Vec::new();
	let streamed = loop {
		let next = tokio::time::timeout(std::time::Duration::from_secs(120), blocks.next());
		let block = next.await.expect("a block within 2 minutes").expect("the stream goes on");
		let block = block.expect("a block");
		numbers.push(block.number);
		if block.number >= settles_at {
			break block;
		}
	};
	assert_eq!(streamed.number, settles_at, "the stream started before the settlement block");
	assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "consecutive: {numbers:?}");
	assert!(
		streamed
			.events
			.iter()
			.any(|e| matches!(e, Event::SessionEnded { public: p, .. } if *p == public)),
		"the stream shows the settlement: {:?}",
		streamed.events
	);

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

	let alice_after = chain.balances(&alice).await;
	let bob_after = chain.balances(&bob).await;
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
	assert_eq!((retired.reason, retired.owed), (EndReason::Expired, units(30)));
}
