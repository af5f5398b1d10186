//! `SessionKeysApi::authenticate` and `authenticate_v2`: a gateway accepts a fresh, in-scope
//! request header signed by a live session key for its owner, and refuses every other header
//! with a named reason; `key_state` answers what a key is in one read.

mod common;

use codec::Encode;
use common::*;
use session_keys_primitives::{
	canonical_query, content_digest, request_signing_payload,
	runtime_decl_for_session_keys_api::SessionKeysApiV5, AuthError, ChannelState, EndReason,
	KeyRecord, KeyView, Phase, RequestHeader, RequestHeaderV2, SessionPublic, SessionSignature,
};
use session_keys_runtime::{Adjudicator, Balances, Runtime, RuntimeCall, System};
use sp_core::{proof_of_possession::ProofOfPossessionGenerator, sr25519, Pair, H256};
use sp_keyring::Sr25519Keyring::{Alice, Bob};

const AUDIENCE: &[u8] = b"gateway.example";

fn session_pair() -> sr25519::Pair {
	sr25519::Pair::from_seed(&[7; 32])
}

/// Alice registers `pair` for Bob with scope `orders/*` and `quotes`, for `duration` blocks.
fn register(pair: &mut sr25519::Pair, duration: Option<u32>) -> SessionPublic {
	let proof = pair.generate_proof_of_possession(&account(Alice).encode());
	let call = RuntimeCall::Adjudicator(pallet_session_keys::Call::register {
		public: pair.public().into(),
		proof: proof.encode().try_into().unwrap(),
		counterpart: account(Bob).into(),
		duration,
		spending_limit: 0,
		collateral: 0,
		description: Default::default(),
		scope: vec![
			b"orders/*".to_vec().try_into().unwrap(),
			b"quotes".to_vec().try_into().unwrap(),
		]
		.try_into()
		.unwrap(),
	});
	assert_eq!(apply_signed(Alice, call), Ok(Ok(())));
	pair.public().into()
}

fn header(
	pair: &sr25519::Pair,
	block_hash: H256,
	audience: &[u8],
	resource: &[u8],
) -> RequestHeader<session_keys_runtime::AccountId, H256> {
	let payload = request_signing_payload(
		&Adjudicator::genesis_hash(),
		&account(Alice),
		&block_hash,
		42,
		audience,
		resource,
	);
	RequestHeader {
		public: pair.public().into(),
		account: account(Alice),
		block_hash,
		nonce: 42,
		audience: audience.to_vec(),
		resource: resource.to_vec(),
		signature: pair.sign(&payload).into(),
	}
}

/// A dev chain where Alice's session key is registered and a few blocks were built; returns the
/// hash of the latest finished block.
fn with_registered_key(test: impl FnOnce(sr25519::Pair, H256)) {
	dev_chain().execute_with(|| {
		let mut pair = session_pair();
		register(&mut pair, None);
		next_block();
		let recent = next_block();
		test(pair, recent);
	});
}

fn authenticate(
	header: RequestHeader<session_keys_runtime::AccountId, H256>,
) -> Result<
	session_keys_primitives::Authenticated<session_keys_runtime::AccountId, u128, u32>,
	AuthError,
> {
	Runtime::authenticate(header)
}

#[test]
fn a_fresh_header_is_accepted_with_what_a_gateway_needs() {
	with_registered_key(|pair, recent| {
		let ok = authenticate(header(&pair, recent, AUDIENCE, b"orders/17")).expect("accepted");
		let session = Adjudicator::session(&pair.public().into()).unwrap();
		assert_eq!(ok.owner, account(Alice));
		assert_eq!(ok.counterpart, account(Bob));
		assert_eq!(ok.expires_at, session.expires_at);
		assert_eq!(ok.scope, vec![b"orders/*".to_vec(), b"quotes".to_vec()]);
		assert_eq!(ok.free_balance, Balances::free_balance(account(Alice)));
	});
}

#[test]
fn the_window_is_the_last_header_validity_blocks() {
	with_registered_key(|pair, _| {
		let validity = header_validity();
		let mut hashes = vec![];
		for _ in 0..validity + 2 {
			hashes.push((System::block_number(), next_block()));
		}
		// The blocks before this one whose hashes frame-system keeps; this block's own hash is
		// not known to its state.
		let now = System::block_number();
		let oldest_fresh = now - validity;
		for (number, hash) in hashes {
			let result = authenticate(header(&pair, hash, AUDIENCE, b"quotes"));
			if number >= oldest_fresh {
				assert!(result.is_ok(), "block {number} is within the window at {now}");
			} else {
				assert_eq!(result, Err(AuthError::StaleBlockHash), "block {number} at {now}");
			}
		}
	});
}

#[test]
fn a_stale_or_unknown_block_hash_is_refused() {
	with_registered_key(|pair, recent| {
		let validity = header_validity();
		for _ in 0..validity {
			next_block();
		}
		assert_eq!(
			authenticate(header(&pair, recent, AUDIENCE, b"quotes")),
			Err(AuthError::StaleBlockHash)
		);
		for made_up in [H256::repeat_byte(0x11), H256::zero()] {
			assert_eq!(
				authenticate(header(&pair, made_up, AUDIENCE, b"quotes")),
				Err(AuthError::StaleBlockHash)
			);
		}
	});
}

#[test]
fn a_header_signed_for_another_audience_is_refused() {
	with_registered_key(|pair, recent| {
		let mut for_other = header(&pair, recent, b"other.example", b"quotes");
		// The gateway puts its own name in the header before checking it.
		for_other.audience = AUDIENCE.to_vec();
		assert_eq!(authenticate(for_other), Err(AuthError::BadSignature));
	});
}

#[test]
fn a_resource_outside_the_scope_is_refused() {
	with_registered_key(|pair, recent| {
		for resource in [&b"accounts/1"[..], b"orders", b"quotes/1", b""] {
			assert_eq!(
				authenticate(header(&pair, recent, AUDIENCE, resource)),
				Err(AuthError::OutOfScope),
				"{:?}",
				String::from_utf8_lossy(resource)
			);
		}
	});
}

#[test]
fn a_non_canonical_resource_is_refused_though_its_prefix_is_in_scope() {
	with_registered_key(|pair, recent| {
		for resource in [
			&b"orders/../admin"[..],
			b"orders/./17",
			b"orders//17",
			b"orders/%2e%2e/admin",
			b"orders/..%2Fadmin",
			b"orders/\\..\\admin",
			b"orders/17\n",
			b"orders/..;/admin",
		] {
			assert_eq!(
				authenticate(header(&pair, recent, AUDIENCE, resource)),
				Err(AuthError::NonCanonicalResource),
				"{:?}",
				String::from_utf8_lossy(resource)
			);
		}
		// Refused before the scope is matched: outside the scope too, it is the form that is named.
		assert_eq!(
			authenticate(header(&pair, recent, AUDIENCE, b"admin/../x")),
			Err(AuthError::NonCanonicalResource)
		);
		assert!(authenticate(header(&pair, recent, AUDIENCE, b"orders/..17")).is_ok());
	});
}

#[test]
fn a_revoked_key_is_refused() {
	with_registered_key(|pair, recent| {
		let public: SessionPublic = pair.public().into();
		let revoke = RuntimeCall::Adjudicator(pallet_session_keys::Call::revoke { public });
		assert_eq!(apply_signed(Alice, revoke), Ok(Ok(())));
		// Refused at once, while the session is closing...
		assert_eq!(
			authenticate(header(&pair, recent, AUDIENCE, b"quotes")),
			Err(AuthError::KeyRevoked)
		);
		// ...and for good once it has settled.
		let settles_at = Adjudicator::session(&public).unwrap().settles_at;
		run_to_block(settles_at);
		assert_eq!(
			authenticate(header(&pair, recent, AUDIENCE, b"quotes")),
			Err(AuthError::KeyEnded(EndReason::Revoked))
		);
	});
}

#[test]
fn an_expired_key_is_refused() {
	dev_chain().execute_with(|| {
		let mut pair = session_pair();
		register(&mut pair, Some(3));
		let recent = next_block();
		let expires_at = Adjudicator::session(&pair.public().into()).unwrap().expires_at;
		// Past its expiry block: the session is closing.
		System::set_block_number(expires_at);
		assert_eq!(
			authenticate(header(&pair, recent, AUDIENCE, b"quotes")),
			Err(AuthError::KeyExpired)
		);
		System::set_block_number(expires_at - 1);
		assert!(authenticate(header(&pair, recent, AUDIENCE, b"quotes")).is_ok());
		// Settled by `on_initialize` when the window ends.
		run_to_block(expires_at + Adjudicator::challenge_period());
		assert_eq!(
			authenticate(header(&pair, recent, AUDIENCE, b"quotes")),
			Err(AuthError::KeyEnded(EndReason::Expired))
		);
	});
}

#[test]
fn a_header_for_another_account_is_refused() {
	with_registered_key(|pair, recent| {
		let mut header = header(&pair, recent, AUDIENCE, b"quotes");
		header.account = account(Bob);
		let payload = header.signing_payload(&Adjudicator::genesis_hash());
		header.signature = pair.sign(&payload).into();
		assert_eq!(authenticate(header), Err(AuthError::WrongAccount));
	});
}

#[test]
fn a_bad_signature_is_refused() {
	with_registered_key(|pair, recent| {
		// Signed by another key.
		let stranger = sr25519::Pair::from_seed(&[8; 32]);
		let mut forged = header(&pair, recent, AUDIENCE, b"quotes");
		forged.signature = header(&stranger, recent, AUDIENCE, b"quotes").signature;
		assert_eq!(authenticate(forged), Err(AuthError::BadSignature));
		// A field changed after signing.
		let mut tampered = header(&pair, recent, AUDIENCE, b"orders/1");
		tampered.nonce += 1;
		assert_eq!(authenticate(tampered), Err(AuthError::BadSignature));
		let mut tampered = header(&pair, recent, AUDIENCE, b"orders/1");
		tampered.resource = b"orders/2".to_vec();
		assert_eq!(authenticate(tampered), Err(AuthError::BadSignature));
		// A signature of another scheme.
		let mut wrong_scheme = header(&pair, recent, AUDIENCE, b"quotes");
		wrong_scheme.signature = SessionSignature::Ed25519(Default::default());
		assert_eq!(authenticate(wrong_scheme), Err(AuthError::BadSignature));
	});
}

#[test]
fn signatures_made_for_another_purpose_or_chain_are_refused() {
	with_registered_key(|mut pair, recent| {
		let genesis = Adjudicator::genesis_hash();
		// The key's ownership proof.
		let mut with_proof = header(&pair, recent, AUDIENCE, b"quotes");
		with_proof.signature = pair.generate_proof_of_possession(&account(Alice).encode()).into();
		assert_eq!(authenticate(with_proof), Err(AuthError::BadSignature));
		// A channel state signature.
		let state = ChannelState { nonce: 42, owed: 0u128, margin: 0 };
		let mut with_state = header(&pair, recent, AUDIENCE, b"quotes");
		with_state.signature =
			pair.sign(&state.signing_payload(&genesis, &pair.public().into())).into();
		assert_eq!(authenticate(with_state), Err(AuthError::BadSignature));
		// The same header signed for another chain.
		let mut other_chain = header(&pair, recent, AUDIENCE, b"quotes");
		let payload = other_chain.signing_payload(&H256::repeat_byte(0x99));
		other_chain.signature = pair.sign(&payload).into();
		assert_eq!(authenticate(other_chain), Err(AuthError::BadSignature));
	});
}

#[test]
fn an_unknown_key_is_refused() {
	with_registered_key(|_, recent| {
		let stranger = sr25519::Pair::from_seed(&[8; 32]);
		assert_eq!(
			authenticate(header(&stranger, recent, AUDIENCE, b"quotes")),
			Err(AuthError::UnknownKey)
		);
	});
}

#[test]
fn only_hashes_the_runtime_can_check_are_fresh() {
	with_registered_key(|pair, recent| {
		// What the old API let a caller vouch for: a hash of its choosing, or the header's own.
		for made_up in [H256::repeat_byte(0xcc), H256::repeat_byte(0x11), H256::zero()] {
			assert_eq!(
				authenticate(header(&pair, made_up, AUDIENCE, b"quotes")),
				Err(AuthError::StaleBlockHash),
				"{made_up:?}"
			);
		}
		// The newest finished block is accepted; the one being built is not known yet, and
		// its hash is accepted from the next block on.
		assert!(authenticate(header(&pair, recent, AUDIENCE, b"quotes")).is_ok());
		let latest = next_block();
		assert!(authenticate(header(&pair, latest, AUDIENCE, b"quotes")).is_ok());
	});
}

#[test]
fn an_empty_scope_authenticates_nothing_and_star_everything() {
	dev_chain().execute_with(|| {
		let register_scoped = |seed: u8, scope: Vec<Vec<u8>>| {
			let mut pair = sr25519::Pair::from_seed(&[seed; 32]);
			let proof = pair.generate_proof_of_possession(&account(Alice).encode());
			let call = RuntimeCall::Adjudicator(pallet_session_keys::Call::register {
				public: pair.public().into(),
				proof: proof.encode().try_into().unwrap(),
				counterpart: account(Bob).into(),
				duration: None,
				spending_limit: 0,
				collateral: 0,
				description: Default::default(),
				scope: scope
					.into_iter()
					.map(|item| item.try_into().unwrap())
					.collect::<Vec<_>>()
					.try_into()
					.unwrap(),
			});
			assert_eq!(apply_signed(Alice, call), Ok(Ok(())));
			pair
		};
		let unscoped = register_scoped(21, vec![]);
		let master = register_scoped(22, vec![b"*".to_vec()]);
		let recent = next_block();
		for resource in [&b"orders/1"[..], b"", b"*"] {
			assert_eq!(
				authenticate(header(&unscoped, recent, AUDIENCE, resource)),
				Err(AuthError::OutOfScope)
			);
			assert!(authenticate(header(&master, recent, AUDIENCE, resource)).is_ok());
		}
	});
}

/// A version 2 header by Alice's key: `resource`, the canonical form of `query`, the digest of
/// `body`.
fn header_v2(
	pair: &sr25519::Pair,
	block_hash: H256,
	resource: &[u8],
	query: &[u8],
	body: &[u8],
) -> RequestHeaderV2<session_keys_runtime::AccountId, H256> {
	let mut header = RequestHeaderV2 {
		public: pair.public().into(),
		account: account(Alice),
		block_hash,
		nonce: 42,
		audience: AUDIENCE.to_vec(),
		resource: resource.to_vec(),
		query: canonical_query(query).expect("well formed"),
		content_digest: content_digest(body),
		signature: sr25519::Signature::default().into(),
	};
	header.signature = pair.sign(&header.signing_payload(&Adjudicator::genesis_hash())).into();
	header
}

#[test]
fn a_v2_header_is_accepted_and_binds_its_query_and_body() {
	with_registered_key(|pair, recent| {
		let header = header_v2(&pair, recent, b"orders/17", b"b=2&a=%7e", b"{\"qty\":1}");
		assert_eq!(header.query, b"a=~&b=2");
		let ok = Runtime::authenticate_v2(header.clone()).expect("accepted");
		assert_eq!((ok.owner, ok.counterpart), (account(Alice), account(Bob)));
		// Another query, another body, another resource: not what the key signed.
		let other_query =
			RequestHeaderV2 { query: b"a=~&admin=true&b=2".to_vec(), ..header.clone() };
		let other_body = RequestHeaderV2 {
			content_digest: content_digest(b"{\"qty\":100000}"),
			..header.clone()
		};
		let other_resource = RequestHeaderV2 { resource: b"orders/18".to_vec(), ..header.clone() };
		for forged in [other_query, other_body, other_resource] {
			assert_eq!(Runtime::authenticate_v2(forged), Err(AuthError::BadSignature));
		}
		// A query no gateway derives is refused by name, before the signature is checked.
		let raw = RequestHeaderV2 { query: b"b=2&a=~".to_vec(), ..header.clone() };
		assert_eq!(Runtime::authenticate_v2(raw), Err(AuthError::NonCanonicalQuery));
		let bad_escape = RequestHeaderV2 { query: b"a=%zz".to_vec(), ..header.clone() };
		assert_eq!(Runtime::authenticate_v2(bad_escape), Err(AuthError::NonCanonicalQuery));
		// The checks before it still come first, and scope and freshness hold as in version 1.
		let out_of_scope = header_v2(&pair, recent, b"accounts/1", b"", b"");
		assert_eq!(Runtime::authenticate_v2(out_of_scope), Err(AuthError::OutOfScope));
		let stale = header_v2(&pair, H256::repeat_byte(0x42), b"quotes", b"", b"");
		assert_eq!(Runtime::authenticate_v2(stale), Err(AuthError::StaleBlockHash));
	});
}

#[test]
fn a_signature_of_one_header_version_does_not_verify_as_the_other() {
	with_registered_key(|pair, recent| {
		// A v1 header's signature moved into a v2 header with the same fields (empty query and
		// body) is refused: the domain tags differ.
		let v1 = header(&pair, recent, AUDIENCE, b"quotes");
		assert!(authenticate(v1.clone()).is_ok());
		let moved = RequestHeaderV2 {
			signature: v1.signature,
			..header_v2(&pair, recent, b"quotes", b"", b"")
		};
		assert_eq!(Runtime::authenticate_v2(moved), Err(AuthError::BadSignature));
		// And the other way round.
		let v2 = header_v2(&pair, recent, b"quotes", b"", b"");
		assert!(Runtime::authenticate_v2(v2.clone()).is_ok());
		let moved = RequestHeader { signature: v2.signature, ..v1 };
		assert_eq!(authenticate(moved), Err(AuthError::BadSignature));
	});
}

#[test]
fn key_state_answers_unknown_registered_closing_and_retired_in_one_read() {
	dev_chain().execute_with(|| {
		let mut pair = session_pair();
		let public: SessionPublic = pair.public().into();
		assert_eq!(Runtime::key_state(public), KeyRecord::Unknown);
		register(&mut pair, None);
		let now = System::block_number();
		let record = Runtime::key_state(public);
		assert_eq!(record.registration(), Adjudicator::registration(&public).as_ref());
		assert_eq!(record.phase_at(now), Some(Phase::Live));
		let revoke = RuntimeCall::Adjudicator(pallet_session_keys::Call::revoke { public });
		assert_eq!(apply_signed(Alice, revoke), Ok(Ok(())));
		let record = Runtime::key_state(public);
		assert_eq!(
			record.phase_at(System::block_number()),
			Some(Phase::Closing(EndReason::Revoked))
		);
		assert!(matches!(record.view(System::block_number()), KeyView::Closing { revoked: true }));
		run_to_block(Adjudicator::session(&public).unwrap().settles_at);
		match Runtime::key_state(public) {
			KeyRecord::Retired(record) => {
				assert_eq!(Some(record.clone()), Adjudicator::retired(&public));
				assert_eq!(record.reason, EndReason::Revoked);
			}
			other => panic!("a retired key: {other:?}"),
		}
	});
}
