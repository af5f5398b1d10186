//! Scenarios 1 and 2: generate a key over RPC, register it, read it back; renew, revoke, and
//! the retired key can never be registered again.

use pallet_session_keys::{Error, Event};
use session_keys_e2e::{
	account_of,
	session_keys::{register_call, session_pair, Terms},
	Chain, Node,
};
use session_keys_primitives::{EndReason, SessionPublic};
use session_keys_runtime::{
	genesis_config_presets::DEV_CHALLENGE_PERIOD, RuntimeCall, RuntimeError,
};
use sp_core::{crypto::Ss58Codec, Pair};
use subxt_signer::sr25519::dev;

use crate::{adjudicator_events, settlement_events, units};

fn terms_for_bob() -> Terms {
	Terms {
		counterpart: account_of(&dev::bob()),
		duration: None,
		spending_limit: units(5),
		collateral: units(10),
		scope: vec![b"orders/*"],
	}
}

#[tokio::test]
async fn generated_key_registers_and_reads_back() {
	let mut node = Node::dev("generate-register").await;
	let chain = Chain::connect(&mut node).await;
	let (alice, bob) = (account_of(&dev::alice()), account_of(&dev::bob()));

	let seed = "//Alice//e2e-generate";
	let (public, proof) =
		chain.generate_session_key(&alice, "sr25519", Some(seed)).await.expect("generated");
	assert_eq!(public, SessionPublic::from(session_pair(seed).public()), "the seed's key");
	assert!(chain.registration(&public).await.is_none(), "not registered yet");

	let included = chain
		.submit(&dev::alice(), register_call(public, proof, &terms_for_bob()))
		.await
		.expect("register succeeds");
	println!("registered in block #{}", included.block_number);
	let registered = adjudicator_events(included.events);
	let [Event::SessionRegistered { public: p, owner, counterpart, expires_at, collateral, .. }] =
		&registered[..]
	else {
		panic!("one SessionRegistered event, got {registered:?}");
	};
	assert_eq!((p, owner, counterpart, *collateral), (&public, &alice, &bob, units(10)));

	let read = chain.registration(&public).await.expect("registered");
	println!("read back: {read:?}");
	assert_eq!(read.owner, alice.to_ss58check());
	assert_eq!(read.counterpart, bob.to_ss58check());
	assert_eq!(read.expires_at, *expires_at);
	assert_eq!(read.registered_at, included.block_number);
	assert_eq!(read.collateral, units(10).to_string());
	assert_eq!(read.spending_limit, units(5).to_string());
	assert_eq!(read.scope.iter().map(|item| item.to_vec()).collect::<Vec<_>>(), [b"orders/*"]);
	assert_eq!((read.nonce, read.owed.as_str()), (0, "0"));
	assert_eq!(chain.keys_of(&alice).await, vec![public]);
	assert!(chain.keys_of(&bob).await.is_empty());
}

#[tokio::test]
async fn renew_then_revoke_retires_the_key_for_good() {
	let mut node = Node::dev("renew-revoke").await;
	let chain = Chain::connect(&mut node).await;
	let alice = account_of(&dev::alice());

	let (public, proof) = chain
		.generate_session_key(&alice, "ed25519", Some("//Alice//e2e-renew"))
		.await
		.expect("generated");
	let register = register_call(public, proof, &terms_for_bob());
	chain.submit(&dev::alice(), register.clone()).await.expect("register succeeds");

	// Renew for 50 blocks from the block that includes the renewal.
	let renew =
		RuntimeCall::Adjudicator(pallet_session_keys::Call::renew { public, duration: Some(50) });
	let renewed = chain.submit(&dev::alice(), renew).await.expect("renew succeeds");
	let events = adjudicator_events(renewed.events);
	assert_eq!(
		events,
		vec![Event::SessionRenewed { public, expires_at: renewed.block_number + 50 }]
	);
	let read = chain.registration(&public).await.expect("still registered");
	assert_eq!(read.expires_at, renewed.block_number + 50);

	// Revoke: the key is invalid at once and the session closes; it settles when the closing
	// window ends, and then the key is retired and collateral and deposit (less the record
	// fee) come back.
	let revoke = RuntimeCall::Adjudicator(pallet_session_keys::Call::revoke { public });
	let revoked = chain.submit(&dev::alice(), revoke).await.expect("revoke succeeds");
	let events = adjudicator_events(revoked.events);
	let [Event::SessionClosing { reason: EndReason::Revoked, settles_at, .. }] = &events[..] else {
		panic!("one SessionClosing event, got {events:?}");
	};
	assert_eq!(*settles_at, revoked.block_number + DEV_CHALLENGE_PERIOD);
	let read = chain.registration(&public).await.expect("closing");
	assert_eq!((read.phase.as_str(), read.closing_reason.as_deref()), ("Closing", Some("Revoked")));
	assert_eq!((read.expires_at, read.settles_at), (revoked.block_number, *settles_at));

	let events = settlement_events(&chain, *settles_at).await;
	let [Event::SessionEnded { reason, ended_at, paid_to_counterpart, collateral_released, .. }] =
		&events[..]
	else {
		panic!("one SessionEnded event, got {events:?}");
	};
	assert_eq!(*reason, EndReason::Revoked);
	assert_eq!(*ended_at, revoked.block_number);
	assert_eq!((*paid_to_counterpart, *collateral_released), (0, units(10)));

	assert!(chain.registration(&public).await.is_none(), "no longer registered");
	assert!(chain.keys_of(&alice).await.is_empty());
	let retired = chain.retired(&public).await.expect("a retired record");
	println!("retired: {retired:?}");
	assert_eq!(retired.reason, "Revoked");
	assert_eq!(retired.ended_at, revoked.block_number);
	assert_eq!(retired.owner, alice.to_ss58check());

	// The same key and proof again: refused with KeyRetired, in a block, at the owner's cost.
	let failure = chain.submit(&dev::alice(), register).await.expect_err("a retired key");
	assert!(
		matches!(failure.runtime_error(), Some(RuntimeError::Adjudicator(Error::KeyRetired))),
		"KeyRetired, got {failure:?}"
	);
	assert!(chain.registration(&public).await.is_none());
}
