//! Scenarios 1 and 2: generate a key over RPC, register it, read it back; renew, revoke, and
//! the retired key can never be registered again.

use pallet_session_keys::{Error, Event};
use session_keys_client::{
	extensions::{sign_immortal, OfflineChain},
	At, Wait,
};
use session_keys_e2e::{account_of, build, Chain, Node, SessionPair, Terms};
use session_keys_primitives::{CryptoKind, EndReason, Phase};
use session_keys_runtime::{genesis_config_presets::DEV_CHALLENGE_PERIOD, Runtime, RuntimeCall};
use subxt_signer::sr25519::dev;

use crate::{adjudicator_events, settlement_events, units};

fn terms_for_bob() -> Terms {
	Terms {
		counterpart: account_of(&dev::bob()),
		duration: None,
		spending_limit: units(5),
		collateral: units(10),
		description: b"e2e".to_vec(),
		scope: vec![b"orders/*".to_vec()],
	}
}

#[tokio::test]
async fn generated_key_registers_and_reads_back() {
	let mut node = Node::dev("generate-register").await;
	let chain = Chain::connect(&mut node).await;
	let (alice, bob) = (account_of(&dev::alice()), account_of(&dev::bob()));

	let seed = "//Alice//e2e-generate";
	let (public, proof) = chain
		.generate_session_key(&alice, CryptoKind::Sr25519, Some(seed))
		.await
		.expect("generated");
	let local = SessionPair::from_uri(CryptoKind::Sr25519, seed).expect("a dev seed");
	assert_eq!(public, local.public(), "the seed's key");
	assert!(chain.registration(&public).await.is_none(), "not registered yet");

	let included = chain
		.submit(&dev::alice(), build::register(public, proof, &terms_for_bob()).expect("fits"))
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
	// The client signed with `CheckMetadataHash` enabled, over the hash it computed from the
	// node's metadata: the runtime would have refused any other hash.
	let signed = chain.signed_extensions(included.block_hash).await;
	let [(signer, extension)] = &signed[..] else {
		panic!("one signed extrinsic in the block, got {}", signed.len());
	};
	assert_eq!(signer, &alice);
	let enabled = frame_metadata_hash_extension::CheckMetadataHash::<Runtime>::new(true);
	assert_eq!(extension.8, enabled, "CheckMetadataHash enabled");

	let read = chain.registration(&public).await.expect("registered");
	println!("read back: {read:?}");
	assert_eq!((&read.owner, &read.counterpart), (&alice, &bob));
	assert_eq!(read.expires_at, *expires_at);
	assert_eq!(read.registered_at, included.block_number);
	assert_eq!((read.collateral, read.spending_limit), (units(10), units(5)));
	assert!(read.deposit > 0, "a storage deposit is held");
	assert_eq!(read.description, b"e2e");
	assert_eq!(read.scope, [b"orders/*"]);
	assert_eq!((read.state.nonce, read.state.owed), (0, 0));
	assert_eq!(read.phase_at(included.block_number), Phase::Live);
	assert_eq!(chain.keys_of(&alice).await, vec![public]);
	assert!(chain.keys_of(&bob).await.is_empty());

	// A transaction signed against another metadata hash, as a node serving doctored metadata
	// would have a signer do, is refused: the runtime checks the hash of its own metadata. The
	// same transaction signed offline with the hash the client computed goes through.
	let version = chain.legacy.state_get_runtime_version(None).await.expect("runtime version");
	let pair = <sp_core::sr25519::Pair as sp_core::Pair>::from_string("//Alice", None)
		.expect("Alice's seed");
	let transfer = RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
		dest: bob.clone().into(),
		value: units(1),
	});
	let nonce = u32::try_from(chain.next_nonce(&alice).await).expect("a small nonce");
	let doctored = OfflineChain {
		spec_version: version.spec_version,
		transaction_version: version.transaction_version,
		genesis: chain.genesis_hash(),
		metadata_hash: [7; 32],
	};
	let refused = chain
		.legacy
		.author_submit_extrinsic(&sign_immortal(&pair, transfer.clone(), nonce, &doctored))
		.await
		.expect_err("signed against another metadata hash");
	// The pool's answer: 1010, with the reason in the error's data.
	assert!(format!("{refused:?}").contains("bad signature"), "{refused:?}");
	let [(_, signed)] =
		&chain.client.presign(vec![(&pair, transfer, nonce)]).await.expect("signed")[..]
	else {
		panic!("one extrinsic");
	};
	chain.legacy.author_submit_extrinsic(signed).await.expect("signed against the right hash");
}

#[tokio::test]
async fn renew_then_revoke_retires_the_key_for_good() {
	let mut node = Node::dev("renew-revoke").await;
	let chain = Chain::connect(&mut node).await;
	let alice = account_of(&dev::alice());

	let (public, proof) = chain
		.generate_session_key(&alice, CryptoKind::Ed25519, Some("//Alice//e2e-renew"))
		.await
		.expect("generated");
	let register = build::register(public, proof, &terms_for_bob()).expect("fits");
	chain.submit(&dev::alice(), register.clone()).await.expect("register succeeds");

	// Renew for 50 blocks from the block that includes the renewal.
	// The client's typed calls: renew waits for finality, revoke only for its block.
	let renewed =
		chain.client.renew(&dev::alice(), public, Some(50), Wait::Finalized).await.expect("renew");
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
	let revoked = chain.client.revoke(&dev::alice(), public, Wait::InBlock).await.expect("revoke");
	let events = adjudicator_events(revoked.events);
	let [Event::SessionClosing { reason: EndReason::Revoked, settles_at, .. }] = &events[..] else {
		panic!("one SessionClosing event, got {events:?}");
	};
	assert_eq!(*settles_at, revoked.block_number + DEV_CHALLENGE_PERIOD);
	let dated = chain.client.registration_at(public, At::Best).await.expect("a read");
	let read = dated.value.expect("closing");
	assert!(dated.block_number >= revoked.block_number);
	assert_eq!(read.phase_at(dated.block_number), Phase::Closing(EndReason::Revoked));
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
	assert_eq!(retired.reason, EndReason::Revoked);
	assert_eq!(retired.ended_at, revoked.block_number);
	assert_eq!(retired.owner, alice);

	// The same key and proof again: refused with KeyRetired, in a block, at the owner's cost.
	let failure = chain.submit(&dev::alice(), register).await.expect_err("a retired key");
	assert!(matches!(failure.adjudicator(), Some(Error::KeyRetired)), "got {failure:?}");
	assert_eq!(failure.error_name(), Some("KeyRetired"), "named: {failure}");
	assert_eq!(failure.to_string(), "dispatch failed: Adjudicator::KeyRetired");
	assert!(chain.registration(&public).await.is_none());
}
