//! The browser widget's fixed vector (`web/test/vectors.json`, made by the widget's own code)
//! against the Rust side: the widget's key derivation, payload bytes, header text, state and
//! ownership-proof signatures must be exactly what this client makes and what the runtime
//! verifies. The widget's unit tests check the same file against its code, so a change on
//! either side that breaks agreement fails one of the two.

use codec::Encode;
use serde_json::Value;
use session_keys_primitives::{
	check_request, request_signing_payload, ChannelState, CryptoKind, KeyView, SessionPublic,
	SessionSignature,
};
use sp_core::{sr25519, Pair, H256};

use crate::{decode_header, keys::SessionPair, AccountId, Balance};

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
