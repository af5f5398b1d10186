//! The browser widget's fixed vector (`web/test/vectors.json`, made by the widget's own code)
//! against the Rust side: the widget's key derivation, payload bytes, header text (version 1,
//! and version 2 with the request's canonical query and body digest), state and ownership-proof
//! signatures must be exactly what this client makes and what the runtime verifies. The widget's unit tests check the same file against its code, so a change on
//! either side that breaks agreement fails one of the two.

use codec::Encode;
use serde_json::Value;
use session_keys_primitives::{
	canonical_query, check_request, content_digest, request_signing_payload, AuthError,
	ChannelState, CryptoKind, KeyView, SessionPublic, SessionSignature,
};
use sp_core::{sr25519, Pair, H256};

use crate::{
	decode_header, decode_header_v2, keys::SessionPair, resource_of, AccountId, Balance,
	BoundRequest, HeaderV2,
};

const VECTORS: &str = include_str!("../../web/test/vectors.json");

fn field<'a>(value: &'a Value, path: &[&str]) -> &'a str {
	path.iter()
		.fold(value, |value, name| &value[name])
		.as_str()
		.unwrap_or_else(|| panic!("vectors.json has no string at {path:?}"))
}

fn bytes(value: &Value, path: &[&str]) -> Vec<u8> {
	sp_core::bytes::from_hex(field(value, path)).expect("vectors.json holds 0x-hex")
}

fn array<const N: usize>(value: &Value, path: &[&str]) -> [u8; N] {
	bytes(value, path).try_into().expect("vectors.json holds bytes of the right length")
}

#[test]
fn the_widget_key_is_the_rust_key_of_its_seed() {
	let vectors: Value = serde_json::from_str(VECTORS).expect("vectors.json is JSON");
	let seed: [u8; 32] = array(&vectors, &["seed"]);
	let public = sr25519::Pair::from_seed(&seed).public();
	assert_eq!(public.0, array::<32>(&vectors, &["public"]));
	// The widget stores the seed; the Rust client keeps sp-core's 64-byte secret. Both sign as
	// the same key.
	let pair = SessionPair::from_secret(
		CryptoKind::Sr25519,
		&sr25519::Pair::from_seed(&seed).to_raw_vec(),
	)
	.expect("a valid secret");
	assert_eq!(pair.public(), SessionPublic::Sr25519(public));
}

#[test]
fn a_header_signed_in_the_browser_verifies_in_rust() {
	let vectors: Value = serde_json::from_str(VECTORS).expect("vectors.json is JSON");
	let genesis = H256(array(&vectors, &["genesis"]));
	let owner = AccountId::from(array::<32>(&vectors, &["owner"]));
	let header =
		decode_header(field(&vectors, &["header", "text"])).expect("the widget's text form");
	assert_eq!(header.account, owner);
	assert_eq!(header.block_hash, H256(array(&vectors, &["header", "blockHash"])));
	assert_eq!(header.nonce.to_string(), field(&vectors, &["header", "nonce"]));
	assert_eq!(header.audience, field(&vectors, &["header", "audience"]).as_bytes());
	assert_eq!(header.resource, field(&vectors, &["header", "resource"]).as_bytes());
	assert_eq!(
		header.signature,
		SessionSignature::Sr25519(sr25519::Signature::from_raw(array(
			&vectors,
			&["header", "signature"]
		)))
	);
	let payload = request_signing_payload(
		&genesis,
		&owner,
		&header.block_hash,
		header.nonce,
		&header.audience,
		&header.resource,
	);
	assert_eq!(payload, bytes(&vectors, &["header", "payload"]));
	assert_eq!(header.signing_payload(&genesis), payload);

	// The runtime's rule accepts it for a live key of the owner whose scope covers it, and
	// refuses it on another chain or for another resource.
	let scope = [b"GET /orders/*".to_vec()];
	let live = || KeyView::Live { owner: &owner, scope: &scope };
	assert_eq!(check_request(&header, live(), |_| true, &genesis), Ok(()));
	assert!(check_request(&header, live(), |_| true, &H256::repeat_byte(9)).is_err());
	let mut other = header.clone();
	other.resource = b"GET /orders/18".to_vec();
	assert!(check_request(&other, live(), |_| true, &genesis).is_err());
}

#[test]
fn a_state_signed_in_the_browser_verifies_in_rust() {
	let vectors: Value = serde_json::from_str(VECTORS).expect("vectors.json is JSON");
	let genesis = H256(array(&vectors, &["genesis"]));
	let public = SessionPublic::Sr25519(sr25519::Public::from_raw(array(&vectors, &["public"])));
	let number = |name: &str| field(&vectors, &["state", name]);
	let state = ChannelState::<Balance> {
		nonce: number("nonce").parse().expect("a u64"),
		owed: number("owed").parse().expect("a u128"),
		margin: number("margin").parse().expect("a u128"),
	};
	let payload = state.signing_payload(&genesis, &public);
	assert_eq!(payload, bytes(&vectors, &["state", "payload"]));
	let signature = SessionSignature::Sr25519(sr25519::Signature::from_raw(array(
		&vectors,
		&["state", "signature"],
	)));
	assert!(public.verify(&payload, &signature));
	let fewer = ChannelState { owed: state.owed - 1, ..state };
	assert!(!public.verify(&fewer.signing_payload(&genesis, &public), &signature));
}

#[test]
fn an_ownership_proof_made_in_the_browser_verifies_in_rust() {
	let vectors: Value = serde_json::from_str(VECTORS).expect("vectors.json is JSON");
	let public = SessionPublic::Sr25519(sr25519::Public::from_raw(array(&vectors, &["public"])));
	let owner = AccountId::from(array::<32>(&vectors, &["owner"]));
	let proof = bytes(&vectors, &["proof"]);
	assert_eq!(public.verify_ownership(&owner.encode(), &proof), Ok(()));
	let bob = AccountId::from([0x8e; 32]);
	assert!(public.verify_ownership(&bob.encode(), &proof).is_err());
}

#[test]
fn version_2_headers_signed_in_the_browser_bind_the_request_rust_derives() {
	let vectors: Value = serde_json::from_str(VECTORS).expect("vectors.json is JSON");
	let genesis = H256(array(&vectors, &["genesis"]));
	let owner = AccountId::from(array::<32>(&vectors, &["owner"]));
	let cases = vectors["headersV2"].as_array().expect("vectors.json has headersV2");
	assert!(cases.len() >= 2, "a GET with a query to normalize and a POST with a body");
	let mut bodies = 0;
	for case in cases {
		let text = |name: &str| field(case, &[name]);
		let header: HeaderV2 = decode_header_v2(text("text")).expect("the widget's v2 text form");
		assert_eq!(header.account, owner);
		assert_eq!(header.block_hash, H256(array(case, &["blockHash"])));
		assert_eq!(header.nonce.to_string(), text("nonce"));
		assert_eq!(header.audience, text("audience").as_bytes());
		assert_eq!(
			header.signature,
			SessionSignature::Sr25519(sr25519::Signature::from_raw(array(case, &["signature"])))
		);

		// What the gateway derives from the request the widget sends is what the widget signed.
		let url = text("url");
		let (path, query) = match url.split_once('?') {
			Some((path, query)) => (path, Some(query)),
			None => (url, None),
		};
		let body = text("body").as_bytes();
		bodies += usize::from(!body.is_empty());
		let bound = BoundRequest::new(text("method"), path, query, body).expect("a valid query");
		assert_eq!(header.resource, bound.resource, "{url}");
		assert_eq!(header.resource, resource_of(text("method"), path));
		assert_eq!(header.resource, bytes(case, &["resource"]));
		assert_eq!(header.query, bound.query, "{url}");
		assert_eq!(
			header.query,
			canonical_query(query.unwrap_or_default().as_bytes()).expect("canonical")
		);
		assert_eq!(header.query, text("query").as_bytes());
		assert_eq!(header.content_digest, bound.content_digest);
		assert_eq!(header.content_digest, content_digest(body));
		assert_eq!(header.content_digest, array::<32>(case, &["contentDigest"]));
		assert_eq!(header.signing_payload(&genesis), bytes(case, &["payload"]));

		// The shared rule accepts it for a live key of the owner whose scope covers it, and
		// refuses it on another chain, with another query or another body.
		let scope = [b"GET /orders/*".to_vec(), b"POST /orders/*".to_vec()];
		let live = || KeyView::Live { owner: &owner, scope: &scope };
		assert_eq!(check_request(&header, live(), |_| true, &genesis), Ok(()), "{url}");
		assert_eq!(
			check_request(&header, live(), |_| true, &H256::repeat_byte(9)),
			Err(AuthError::BadSignature)
		);
		let other_query = HeaderV2 { query: b"a=1".to_vec(), ..header.clone() };
		assert_eq!(
			check_request(&other_query, live(), |_| true, &genesis),
			Err(AuthError::BadSignature)
		);
		let other_body = HeaderV2 { content_digest: content_digest(b"{}"), ..header.clone() };
		assert_eq!(
			check_request(&other_body, live(), |_| true, &genesis),
			Err(AuthError::BadSignature)
		);
		let narrow = [b"GET /quotes/*".to_vec()];
		let elsewhere = KeyView::Live { owner: &owner, scope: &narrow };
		assert_eq!(
			check_request(&header, elsewhere, |_| true, &genesis),
			Err(AuthError::OutOfScope)
		);
	}
	assert!(bodies > 0, "a vector with a non-empty body");
	assert!(
		cases.iter().any(|case| {
			let url = field(case, &["url"]);
			url.split_once('?')
				.is_some_and(|(_, query)| query.as_bytes() != field(case, &["query"]).as_bytes())
		}),
		"a vector whose query needs normalizing"
	);
}
