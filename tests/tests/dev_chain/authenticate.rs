//! Scenario 4: a gateway authenticates request headers signed by a session key over
//! `sessionKeys_authenticate`: accepted while the key is live, refused with a reason otherwise.
//! The headers are made by the client library, which the runtime's check must accept. Version 2
//! headers (`sessionKeys_authenticateV2`) bind the query and the body too, and
//! `sessionKeys_keyState` answers what a key is in one read.

use session_keys_client::{
	decode_header, decode_header_v2, encode_header, encode_header_v2, At, BoundRequest,
	HeaderRequest, HeaderRequestV2, KeyRecord,
};
use session_keys_e2e::{account_of, build, Chain, Node, SessionPair, Terms};
use session_keys_primitives::{canonical_query, content_digest, AuthError, CryptoKind};
use sp_core::H256;
use subxt_signer::sr25519::dev;

use crate::units;

const AUDIENCE: &[u8] = b"gateway.example";

#[tokio::test]
async fn headers_are_accepted_while_the_key_is_live_and_refused_after_revocation() {
	let mut node = Node::dev("authenticate").await;
	let chain = Chain::connect(&mut node).await;
	let (alice, bob) = (account_of(&dev::alice()), account_of(&dev::bob()));
	let genesis = chain.genesis_hash();

	// A key made locally, never seen by the node.
	let pair = SessionPair::generate(CryptoKind::Sr25519);
	let terms = Terms {
		counterpart: bob.clone(),
		duration: None,
		spending_limit: 0,
		collateral: units(1),
		description: b"gateway".to_vec(),
		scope: vec![b"orders/*".to_vec()],
	};
	let register = build::register(pair.public(), pair.ownership_proof(&alice), &terms).unwrap();
	chain.submit(&dev::alice(), register).await.expect("register");

	let sign = |pair: &SessionPair, genesis: H256, block_hash: H256, nonce, resource: &[u8]| {
		pair.sign_header(
			genesis,
			&HeaderRequest { account: &alice, block_hash, nonce, audience: AUDIENCE, resource },
		)
	};
	// Headers travel as text over HTTP: sign, encode, decode, then authenticate.
	let recent = chain.header_block_hash().await;
	let text = encode_header(&sign(&pair, genesis, recent, 1, b"orders/17"));
	let header = decode_header(&text).expect("the text form round-trips");
	let answer = chain.authenticate(&header).await;
	println!("live key: {answer:?}");
	let accepted = answer.expect("a fresh in-scope header is accepted");
	assert_eq!((&accepted.owner, &accepted.counterpart), (&alice, &bob));
	assert_eq!(accepted.scope, [b"orders/*"]);
	assert!(accepted.free_balance > 0);

	// The attacks a gateway sees, each refused with its reason.
	let out_of_scope = sign(&pair, genesis, recent, 2, b"accounts/1");
	let mut forged = header.clone();
	forged.resource = b"orders/18".to_vec();
	let other_chain = sign(&pair, recent, recent, 3, b"orders/17");
	let mut for_bob = header.clone();
	for_bob.account = bob.clone();
	let stranger = SessionPair::generate(CryptoKind::Sr25519);
	let unknown = sign(&stranger, genesis, recent, 4, b"orders/17");
	// Authentication runs at the best block only: an `at` naming an older block is refused
	// (there a key revoked since would still look live), while a header naming an older block
	// of the window is fresh. (That a header naming the best block itself is stale, since a
	// block's state does not hold its own hash, is the runtime tests' to show: here the best
	// block may move between two calls.)
	let older = chain.block_hash(chain.block_number(recent).await - 1).await;
	let bytes = sp_core::Bytes(codec::Encode::encode(&header));
	let at_older = chain
		.request::<serde_json::Value>(
			"sessionKeys_authenticate",
			jsonrpsee::rpc_params![bytes, older],
		)
		.await
		.expect_err("an older block is refused");
	assert!(at_older.to_string().contains("best block only"), "{at_older}");
	let naming_older = sign(&pair, genesis, older, 8, b"orders/17");
	let answer = chain.authenticate(&naming_older).await;
	assert!(answer.is_ok(), "a header naming an older block of the window: {answer:?}");
	let made_up = sign(&pair, genesis, H256::repeat_byte(0x42), 7, b"orders/17");
	for (what, header, reason) in [
		("naming a made-up block", made_up, AuthError::StaleBlockHash),
		("out of scope", out_of_scope, AuthError::OutOfScope),
		("tampered after signing", forged, AuthError::BadSignature),
		("signed for another chain", other_chain, AuthError::BadSignature),
		("for another account", for_bob, AuthError::WrongAccount),
		("by an unknown key", unknown, AuthError::UnknownKey),
	] {
		let answer = chain.authenticate(&header).await;
		println!("{what}: {answer:?}");
		assert_eq!(answer, Err(reason), "{what}");
	}

	// Version 2: the query and the body are bound; another query or body, or a query no
	// gateway could have derived, is refused.
	let sign_v2 = |nonce, request: &BoundRequest| {
		pair.sign_header_v2(
			genesis,
			&HeaderRequestV2 {
				account: &alice,
				block_hash: recent,
				nonce,
				audience: AUDIENCE,
				request,
			},
		)
	};
	// The key's scope is `orders/*`: the resource here is a bare path, as in the v1 headers.
	let request = BoundRequest {
		resource: b"orders/17".to_vec(),
		query: canonical_query(b"b=2&a=1").expect("well formed"),
		content_digest: content_digest(b"{\"qty\":1}"),
	};
	let v2 = decode_header_v2(&encode_header_v2(&sign_v2(11, &request))).expect("round-trips");
	let accepted = chain.authenticate_v2(&v2).await;
	assert_eq!(accepted.map(|accepted| accepted.owner), Ok(alice.clone()), "a v2 header");
	let mut other_query = v2.clone();
	other_query.query = b"a=1&admin=true&b=2".to_vec();
	let mut other_body = v2.clone();
	other_body.content_digest = content_digest(b"{\"qty\":100000}");
	let mut raw_query = v2.clone();
	raw_query.query = b"b=2&a=1".to_vec();
	for (what, header, reason) in [
		("v2 with another query", other_query, AuthError::BadSignature),
		("v2 with another body", other_body, AuthError::BadSignature),
		("v2 with a query not in canonical form", raw_query, AuthError::NonCanonicalQuery),
	] {
		let answer = chain.authenticate_v2(&header).await;
		assert_eq!(answer.map(|accepted| accepted.owner), Err(reason), "{what}");
	}
	// One read answers what a key is.
	match chain.client.key_state(pair.public(), At::Best).await.expect("keyState") {
		KeyRecord::Registered(registration) => assert_eq!(registration.owner, alice),
		other => panic!("a registered key: {other:?}"),
	}
	let unknown_state = chain.client.key_state(stranger.public(), At::Best).await;
	assert_eq!(unknown_state.expect("keyState"), KeyRecord::Unknown);

	chain.submit(&dev::alice(), build::revoke(pair.public())).await.expect("revoke");

	let recent = chain.header_block_hash().await;
	let answer = chain.authenticate(&sign(&pair, genesis, recent, 5, b"orders/17")).await;
	println!("revoked key: {answer:?}");
	assert_eq!(answer, Err(AuthError::KeyRevoked), "refused at once, while closing");
}
