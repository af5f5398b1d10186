//! Scenario 4: a gateway authenticates request headers signed by a session key over
//! `sessionKeys_authenticate`: accepted while the key is live, refused with a reason otherwise.

use session_keys_e2e::{
	account_of,
	session_keys::{register_call, session_pair, signed_header, Terms},
	Chain, Node,
};
use session_keys_runtime::RuntimeCall;
use sp_core::crypto::Ss58Codec;
use subxt_signer::sr25519::dev;

use crate::units;

const AUDIENCE: &[u8] = b"gateway.example";

#[tokio::test]
async fn headers_are_accepted_while_the_key_is_live_and_refused_after_revocation() {
	let mut node = Node::dev("authenticate").await;
	let chain = Chain::connect(&mut node).await;
	let (alice, bob) = (account_of(&dev::alice()), account_of(&dev::bob()));
	let genesis = chain.genesis_hash();

	let seed = "//Alice//e2e-gateway";
	let (public, proof) =
		chain.generate_session_key(&alice, "sr25519", Some(seed)).await.expect("generated");
	let pair = session_pair(seed);
	let terms = Terms {
		counterpart: bob.clone(),
		duration: None,
		spending_limit: 0,
		collateral: units(1),
		scope: vec![b"orders/*"],
	};
	chain.submit(&dev::alice(), register_call(public, proof, &terms)).await.expect("register");

	let recent = chain.best_hash().await;
	let header = signed_header(&pair, genesis, &alice, recent, 1, AUDIENCE, b"orders/17");
	let answer = chain.authenticate(&header).await;
	println!("live key: {answer:?}");
	assert!(answer.accepted, "a fresh in-scope header is accepted: {answer:?}");
	assert_eq!(answer.owner, Some(alice.to_ss58check()));
	assert_eq!(answer.counterpart, Some(bob.to_ss58check()));
	assert!(answer.free_balance.is_some());

	// The attacks a gateway sees, each refused with its reason.
	let out_of_scope = signed_header(&pair, genesis, &alice, recent, 2, AUDIENCE, b"accounts/1");
	let mut forged = header.clone();
	forged.resource = b"orders/18".to_vec();
	let other_chain = signed_header(&pair, recent, &alice, recent, 3, AUDIENCE, b"orders/17");
	let mut for_bob = header.clone();
	for_bob.account = bob.clone();
	let stranger = session_pair("//Mallory//e2e");
	let unknown = signed_header(&stranger, genesis, &alice, recent, 4, AUDIENCE, b"orders/17");
	for (what, header, reason) in [
		("out of scope", out_of_scope, "OutOfScope"),
		("tampered after signing", forged, "BadSignature"),
		("signed for another chain", other_chain, "BadSignature"),
		("for another account", for_bob, "WrongAccount"),
		("by an unknown key", unknown, "UnknownKey"),
	] {
		let answer = chain.authenticate(&header).await;
		println!("{what}: {answer:?}");
		assert!(!answer.accepted, "{what}: refused");
		assert_eq!(answer.reason.as_deref(), Some(reason), "{what}");
		assert_eq!(answer.owner, None);
	}

	let revoke = RuntimeCall::Adjudicator(pallet_session_keys::Call::revoke { public });
	chain.submit(&dev::alice(), revoke).await.expect("revoke");

	let recent = chain.best_hash().await;
	let header = signed_header(&pair, genesis, &alice, recent, 5, AUDIENCE, b"orders/17");
	let answer = chain.authenticate(&header).await;
	println!("revoked key: {answer:?}");
	assert!(!answer.accepted);
	assert_eq!(answer.reason.as_deref(), Some("KeyRevoked"), "refused at once, while closing");
}
