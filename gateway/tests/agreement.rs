//! The gateway and the runtime agree: for a table of requests with version 2 headers (valid
//! ones, each refusal reason, each crypto, stale and future block hashes, scope edge cases,
//! traversal attempts, queries and bodies other than the signed ones), the layer's verdict on
//! the HTTP request equals `SessionKeysApi::authenticate_v2`'s on the header the gateway checks
//! (the client's header with the gateway's audience, the request's resource, canonical query
//! and body digest).
//!
//! The chain is the real runtime in externalities (the runtime tests' harness); the gateway is
//! fed what it would read from a node: each key's registration or retired record, the owner's
//! balance and the recent block hashes.

// The runtime tests' harness; its `try-runtime` branch is for the runtime's own feature pass.
#[allow(unexpected_cfgs)]
#[path = "../../runtime/tests/common/mod.rs"]
mod common;

use std::{collections::HashMap, convert::Infallible, num::NonZeroU32, sync::Arc};

use bytes::Bytes;
use common::*;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use http_body_util::Full;
use session_keys_client::{
	encode_header_v2, AccountId, Balance, BoundRequest, ChannelState, CryptoKind, HeaderV2,
	KeyRecord, SessionPair,
};
use session_keys_gateway::{
	AuthBody, Chain, ChainError, Gateway, NewBlock, SessionAuthLayer, Settings, Tier,
};
use session_keys_primitives::{
	content_digest, request_signing_payload_v2,
	runtime_decl_for_session_keys_api::SessionKeysApiV5, AuthError, RequestBinding, SessionPublic,
};
use session_keys_runtime::{Adjudicator, Balances, Runtime, RuntimeCall, System};
use sp_core::H256;
use sp_keyring::Sr25519Keyring::{Alice, Bob};
use tower::{Layer, ServiceExt};

const AUDIENCE: &[u8] = b"gateway.example";

/// The chain as a node would have answered at the head.
struct Snapshot {
	keys: HashMap<SessionPublic, KeyRecord>,
	balances: HashMap<AccountId, Balance>,
}

impl Chain for Snapshot {
	async fn key(&self, public: SessionPublic, _: H256) -> Result<KeyRecord, ChainError> {
		Ok(self.keys.get(&public).cloned().unwrap_or(KeyRecord::Unknown))
	}

	async fn free_balance(&self, owner: AccountId, _: H256) -> Result<Balance, ChainError> {
		Ok(self.balances.get(&owner).copied().unwrap_or_default())
	}
}

fn register(key: &SessionPair, duration: Option<u32>, scope: &[&str]) {
	let call = RuntimeCall::Adjudicator(pallet_session_keys::Call::register {
		public: key.public(),
		proof: key.ownership_proof(&account(Alice)).try_into().unwrap(),
		counterpart: account(Bob).into(),
		duration,
		spending_limit: 0,
		collateral: 0,
		description: Default::default(),
		scope: scope
			.iter()
			.map(|item| item.as_bytes().to_vec().try_into().unwrap())
			.collect::<Vec<_>>()
			.try_into()
			.unwrap(),
	});
	assert_eq!(apply_signed(Alice, call), Ok(Ok(())));
}

fn revoke(key: &SessionPair) {
	let call = RuntimeCall::Adjudicator(pallet_session_keys::Call::revoke { public: key.public() });
	assert_eq!(apply_signed(Alice, call), Ok(Ok(())));
}

/// What a version 2 header signs of a request: the resource, the query and the body (the
/// query as given, canonical or not).
#[derive(Clone, Copy)]
struct Signed<'a> {
	resource: &'a [u8],
	query: &'a [u8],
	body: &'a [u8],
}

/// A version 2 header signed by `key` for `account`, `block_hash`, `audience` and `request`.
fn signed(
	key: &SessionPair,
	account: &AccountId,
	block_hash: H256,
	audience: &[u8],
	request: Signed<'_>,
	genesis: H256,
) -> HeaderV2 {
	let digest = content_digest(request.body);
	let payload = request_signing_payload_v2(
		&genesis,
		&RequestBinding {
			account,
			block_hash: &block_hash,
			nonce: 7,
			audience,
			resource: request.resource,
			query: request.query,
			content_digest: &digest,
		},
	);
	HeaderV2 {
		public: key.public(),
		account: account.clone(),
		block_hash,
		nonce: 7,
		audience: audience.to_vec(),
		resource: request.resource.to_vec(),
		query: request.query.to_vec(),
		content_digest: digest,
		signature: key.sign(&payload),
	}
}

/// Only the resource: no query, an empty body.
fn only(resource: &str) -> Signed<'_> {
	Signed { resource: resource.as_bytes(), query: b"", body: b"" }
}

/// One row of the table: a request and the header it carries.
struct Case {
	name: &'static str,
	method: Method,
	/// The path, with a query if any.
	path: &'static str,
	body: &'static [u8],
	header: HeaderV2,
	/// The verdict expected of both sides (checked against the runtime first).
	expected: Result<(), AuthError>,
}

#[tokio::test]
async fn the_layer_and_the_runtime_give_the_same_verdict_on_every_case() {
	let sr = SessionPair::from_seed_for_tests(CryptoKind::Sr25519, 1);
	let ed = SessionPair::from_seed_for_tests(CryptoKind::Ed25519, 2);
	let ec = SessionPair::from_seed_for_tests(CryptoKind::Ecdsa, 3);
	let revoked = SessionPair::from_seed_for_tests(CryptoKind::Sr25519, 4);
	let expiring = SessionPair::from_seed_for_tests(CryptoKind::Sr25519, 5);
	let ended = SessionPair::from_seed_for_tests(CryptoKind::Ed25519, 6);
	let unknown = SessionPair::from_seed_for_tests(CryptoKind::Sr25519, 7);
	let alice = account(Alice);
	let bob = account(Bob);

	let mut ext = dev_chain();
	let (cases, verdicts, snapshot, blocks, genesis) = ext.execute_with(|| {
		// A session that is over: revoked, then settled when its window ended.
		register(&ended, None, &["*"]);
		next_block();
		revoke(&ended);
		run_to_block(Adjudicator::session(&ended.public()).unwrap().settles_at + 1);
		register(&sr, None, &["GET /orders/*", "GET /quotes", "DELETE /orders/*"]);
		register(&ed, None, &["*"]);
		register(&ec, None, &["GET /*"]);
		register(&revoked, None, &["*"]);
		let validity = header_validity();
		// Enough blocks for a hash to leave the window.
		let first_fresh_built = System::block_number();
		for left in (0..validity + 2).rev() {
			// Expired a block before the verdicts, and still closing then.
			if left == 2 {
				register(&expiring, Some(1), &["*"]);
				revoke(&revoked);
			}
			next_block();
		}
		let now = System::block_number();
		assert!(Adjudicator::session(&expiring.public()).unwrap().expires_at <= now);
		assert!(Adjudicator::session(&revoked.public()).is_some(), "still closing");
		let genesis = Adjudicator::genesis_hash();
		let hash = |n: u32| System::block_hash(n);
		let recent = hash(now - 1);
		let oldest_fresh = hash(now - validity);
		let just_stale = hash(now - validity - 1);
		assert!(first_fresh_built < now - validity - 1);

		let get = Method::GET;
		let sign = |key: &SessionPair, block: H256, resource: &str| {
			signed(key, &alice, block, AUDIENCE, only(resource), genesis)
		};
		let sign_request = |key: &SessionPair, request: Signed<'_>| {
			signed(key, &alice, recent, AUDIENCE, request, genesis)
		};
		let mut cases = vec![
			Case {
				name: "sr25519, in scope",
				method: get.clone(),
				path: "/orders/17",
				body: b"",
				header: sign(&sr, recent, "GET /orders/17"),
				expected: Ok(()),
			},
			Case {
				name: "ed25519, star scope",
				method: Method::POST,
				path: "/anything",
				body: b"",
				header: sign(&ed, recent, "POST /anything"),
				expected: Ok(()),
			},
			Case {
				name: "ecdsa, prefix scope",
				method: get.clone(),
				path: "/x/y",
				body: b"",
				header: sign(&ec, recent, "GET /x/y"),
				expected: Ok(()),
			},
			Case {
				name: "exact scope item",
				method: get.clone(),
				path: "/quotes",
				body: b"",
				header: sign(&sr, recent, "GET /quotes"),
				expected: Ok(()),
			},
			Case {
				name: "percent-encoded letters are decoded",
				method: get.clone(),
				path: "/orders/%31%37",
				body: b"",
				header: sign(&sr, recent, "GET /orders/17"),
				expected: Ok(()),
			},
			Case {
				name: "oldest block of the window",
				method: get.clone(),
				path: "/orders/1",
				body: b"",
				header: sign(&sr, oldest_fresh, "GET /orders/1"),
				expected: Ok(()),
			},
			Case {
				name: "just out of the window",
				method: get.clone(),
				path: "/orders/1",
				body: b"",
				header: sign(&sr, just_stale, "GET /orders/1"),
				expected: Err(AuthError::StaleBlockHash),
			},
			Case {
				name: "a hash of no block",
				method: get.clone(),
				path: "/orders/1",
				body: b"",
				header: sign(&sr, H256::repeat_byte(0x99), "GET /orders/1"),
				expected: Err(AuthError::StaleBlockHash),
			},
			Case {
				name: "the block being built",
				method: get.clone(),
				path: "/orders/1",
				body: b"",
				header: sign(&sr, HEAD_HASH, "GET /orders/1"),
				expected: Err(AuthError::StaleBlockHash),
			},
			Case {
				name: "the zero hash",
				method: get.clone(),
				path: "/orders/1",
				body: b"",
				header: sign(&sr, H256::zero(), "GET /orders/1"),
				expected: Err(AuthError::StaleBlockHash),
			},
			Case {
				name: "another audience",
				method: get.clone(),
				path: "/orders/1",
				body: b"",
				header: signed(
					&sr,
					&alice,
					recent,
					b"other.example",
					only("GET /orders/1"),
					genesis,
				),
				expected: Err(AuthError::BadSignature),
			},
			Case {
				name: "signed for another path",
				method: get.clone(),
				path: "/orders/2",
				body: b"",
				header: sign(&sr, recent, "GET /orders/1"),
				expected: Err(AuthError::BadSignature),
			},
			Case {
				name: "a read replayed as a delete",
				method: Method::DELETE,
				path: "/orders/1",
				body: b"",
				header: sign(&sr, recent, "GET /orders/1"),
				expected: Err(AuthError::BadSignature),
			},
			Case {
				name: "another chain",
				method: get.clone(),
				path: "/orders/1",
				body: b"",
				header: signed(
					&sr,
					&alice,
					recent,
					AUDIENCE,
					only("GET /orders/1"),
					H256::repeat_byte(0x42),
				),
				expected: Err(AuthError::BadSignature),
			},
			Case {
				name: "method outside the scope",
				method: Method::POST,
				path: "/orders/1",
				body: b"",
				header: sign(&sr, recent, "POST /orders/1"),
				expected: Err(AuthError::OutOfScope),
			},
			Case {
				name: "path outside the scope",
				method: get.clone(),
				path: "/accounts/1",
				body: b"",
				header: sign(&sr, recent, "GET /accounts/1"),
				expected: Err(AuthError::OutOfScope),
			},
			Case {
				name: "prefix without its slash",
				method: get.clone(),
				path: "/orders",
				body: b"",
				header: sign(&sr, recent, "GET /orders"),
				expected: Err(AuthError::OutOfScope),
			},
			Case {
				name: "traversal",
				method: get.clone(),
				path: "/orders/../admin",
				body: b"",
				header: sign(&sr, recent, "GET /orders/../admin"),
				expected: Err(AuthError::NonCanonicalResource),
			},
			Case {
				name: "encoded traversal",
				method: get.clone(),
				path: "/orders/%2e%2e/admin",
				body: b"",
				header: sign(&sr, recent, "GET /orders/../admin"),
				expected: Err(AuthError::NonCanonicalResource),
			},
			Case {
				name: "encoded separators",
				method: get.clone(),
				path: "/orders%2F..%2Fadmin",
				body: b"",
				header: sign(&sr, recent, "GET /orders%2F..%2Fadmin"),
				expected: Err(AuthError::NonCanonicalResource),
			},
			Case {
				name: "dot segment",
				method: get.clone(),
				path: "/orders/./17",
				body: b"",
				header: sign(&sr, recent, "GET /orders/./17"),
				expected: Err(AuthError::NonCanonicalResource),
			},
			Case {
				name: "empty segment",
				method: get.clone(),
				path: "/orders//17",
				body: b"",
				header: sign(&sr, recent, "GET /orders//17"),
				expected: Err(AuthError::NonCanonicalResource),
			},
			Case {
				name: "path parameter",
				method: get.clone(),
				path: "/orders/..;/admin",
				body: b"",
				header: sign(&sr, recent, "GET /orders/..;/admin"),
				expected: Err(AuthError::NonCanonicalResource),
			},
			Case {
				name: "encoded path parameter",
				method: get.clone(),
				path: "/orders/..%3B/admin",
				body: b"",
				header: sign(&sr, recent, "GET /orders/..;/admin"),
				expected: Err(AuthError::NonCanonicalResource),
			},
			Case {
				name: "backslash",
				method: get.clone(),
				path: "/orders/..%5Cadmin",
				body: b"",
				header: sign(&sr, recent, "GET /orders/..%5Cadmin"),
				expected: Err(AuthError::NonCanonicalResource),
			},
			Case {
				name: "revoked key",
				method: get.clone(),
				path: "/a",
				body: b"",
				header: sign(&revoked, recent, "GET /a"),
				expected: Err(AuthError::KeyRevoked),
			},
			Case {
				name: "expired key",
				method: get.clone(),
				path: "/a",
				body: b"",
				header: sign(&expiring, recent, "GET /a"),
				expected: Err(AuthError::KeyExpired),
			},
			Case {
				name: "settled key",
				method: get.clone(),
				path: "/a",
				body: b"",
				header: sign(&ended, recent, "GET /a"),
				expected: Err(AuthError::KeyEnded(session_keys_client::EndReason::Revoked)),
			},
			Case {
				name: "unknown key",
				method: get.clone(),
				path: "/a",
				body: b"",
				header: sign(&unknown, recent, "GET /a"),
				expected: Err(AuthError::UnknownKey),
			},
			Case {
				name: "another account",
				method: get.clone(),
				path: "/orders/1",
				body: b"",
				header: signed(&sr, &bob, recent, AUDIENCE, only("GET /orders/1"), genesis),
				expected: Err(AuthError::WrongAccount),
			},
		];
		// What version 2 binds beyond the path: the query (in canonical form) and the body.
		let order = br#"{"qty":1}"#;
		let get_17 =
			|query: &'static [u8]| Signed { resource: b"GET /orders/17", query, body: b"" };
		let post = |body: &'static [u8]| Signed { resource: b"POST /anything", query: b"", body };
		let v2_cases: Vec<(&'static str, Method, &'static str, &'static [u8], HeaderV2, _)> = vec![
			(
				"the signed query",
				Method::GET,
				"/orders/17?b=2&a=1",
				b"",
				sign_request(&sr, get_17(b"a=1&b=2")),
				Ok(()),
			),
			(
				"the signed query, re-spelled",
				Method::GET,
				"/orders/17?a=%31&b=%32",
				b"",
				sign_request(&sr, get_17(b"a=1&b=2")),
				Ok(()),
			),
			(
				"another query",
				Method::GET,
				"/orders/17?a=1&b=3",
				b"",
				sign_request(&sr, get_17(b"a=1&b=2")),
				Err(AuthError::BadSignature),
			),
			(
				"a query added",
				Method::GET,
				"/orders/17?admin=true",
				b"",
				sign(&sr, recent, "GET /orders/17"),
				Err(AuthError::BadSignature),
			),
			(
				"the query dropped",
				Method::GET,
				"/orders/17",
				b"",
				sign_request(&sr, get_17(b"a=1")),
				Err(AuthError::BadSignature),
			),
			(
				"a + read as %2B",
				Method::GET,
				"/orders/17?q=a%2Bb",
				b"",
				sign_request(&sr, get_17(b"q=a+b")),
				Err(AuthError::BadSignature),
			),
			(
				"the raw query signed, not its canonical form",
				Method::GET,
				"/orders/17?b=2&a=1",
				b"",
				sign_request(&sr, get_17(b"b=2&a=1")),
				Err(AuthError::BadSignature),
			),
			(
				"the signed body",
				Method::POST,
				"/anything",
				order,
				sign_request(&ed, post(order)),
				Ok(()),
			),
			(
				"another body",
				Method::POST,
				"/anything",
				br#"{"qty":100000}"#,
				sign_request(&ed, post(order)),
				Err(AuthError::BadSignature),
			),
			(
				"the body dropped",
				Method::POST,
				"/anything",
				b"",
				sign_request(&ed, post(order)),
				Err(AuthError::BadSignature),
			),
			(
				"a body added",
				Method::POST,
				"/anything",
				order,
				sign(&ed, recent, "POST /anything"),
				Err(AuthError::BadSignature),
			),
		];
		for (name, method, path, body, header, expected) in v2_cases {
			cases.push(Case { name, method, path, body, header, expected });
		}
		// A key that binds no one (the identity point): never registered, so unknown on both
		// sides, whatever its signature.
		let mut weak = sign(&sr, recent, "GET /orders/1");
		weak.public = SessionPublic::Sr25519([0; 32].into());
		cases.push(Case {
			name: "a weak key",
			method: get.clone(),
			path: "/orders/1",
			body: b"",
			header: weak,
			expected: Err(AuthError::UnknownKey),
		});
		// Forgeries.
		let mut by_stranger = sign(&sr, recent, "GET /orders/1");
		by_stranger.signature = sign(&unknown, recent, "GET /orders/1").signature;
		let mut tampered = sign(&sr, recent, "GET /orders/1");
		tampered.nonce += 1;
		let mut other_scheme = sign(&ed, recent, "GET /orders/1");
		other_scheme.signature = sign(&ec, recent, "GET /orders/1").signature;
		let mut proof_as_signature = sign(&sr, recent, "GET /orders/1");
		let proof: sp_core::sr25519::Signature =
			codec::Decode::decode(&mut &sr.ownership_proof(&alice)[..]).unwrap();
		proof_as_signature.signature = proof.into();
		let mut state_as_signature = sign(&sr, recent, "GET /orders/1");
		let state = ChannelState { nonce: 7, owed: 0u128, margin: 0 };
		state_as_signature.signature = sr.sign(&state.signing_payload(&genesis, &sr.public()));
		for (name, header) in [
			("signed by another key", by_stranger),
			("a field changed after signing", tampered),
			("a signature of another scheme", other_scheme),
			("the ownership proof as signature", proof_as_signature),
			("a channel-state signature", state_as_signature),
		] {
			cases.push(Case {
				name,
				method: get.clone(),
				path: "/orders/1",
				body: b"",
				header,
				expected: Err(AuthError::BadSignature),
			});
		}

		// The runtime's verdict on what the gateway checks.
		let verdicts: Vec<Result<(), AuthError>> = cases
			.iter()
			.map(|case| {
				let uri: http::Uri = case.path.parse().unwrap();
				let bound =
					BoundRequest::new(case.method.as_str(), uri.path(), uri.query(), case.body)
						.unwrap();
				let mut header = case.header.clone();
				header.audience = AUDIENCE.to_vec();
				header.resource = bound.resource;
				header.query = bound.query;
				header.content_digest = bound.content_digest;
				Runtime::authenticate_v2(header).map(|_| ())
			})
			.collect();

		// What the gateway reads from a node at this block.
		let keys = [&sr, &ed, &ec, &revoked, &expiring, &ended, &unknown]
			.iter()
			.map(|key| {
				let public = key.public();
				// What `key_state` answers: one read.
				(public, Runtime::key_state(public))
			})
			.collect();
		let balances = [(alice.clone(), Balances::free_balance(&alice))].into_iter().collect();
		let blocks: Vec<(u32, H256)> = (now - validity - 3..now).map(|n| (n, hash(n))).collect();
		(cases, verdicts, Snapshot { keys, balances }, (blocks, now, validity), genesis)
	});

	let (blocks, now, validity) = blocks;
	let mut settings = Settings::new(AUDIENCE);
	// Every header names nonce 7: refusing a second use is the gateway's policy, not the
	// shared rule this test compares (the gateway tests cover it).
	settings.one_time_headers = false;
	settings.tiers = vec![Tier {
		name: "all".into(),
		min_balance: 0,
		per_second: NonZeroU32::new(10_000).unwrap(),
		burst: NonZeroU32::new(10_000).unwrap(),
	}];
	let gateway = Arc::new(Gateway::new(snapshot, settings, validity));
	gateway.set_genesis(genesis);
	for (number, hash) in blocks {
		gateway.record_block(NewBlock { number, hash, changed: Vec::new() });
	}
	// The block the runtime's verdicts were made at, whose hash its state does not know.
	gateway.record_block(NewBlock { number: now, hash: HEAD_HASH, changed: Vec::new() });

	let service = tower::service_fn(|_: Request<AuthBody>| async {
		Ok::<_, Infallible>(http::Response::new(String::from("upstream")))
	});
	let layer = SessionAuthLayer::new(gateway.clone());
	let verdict_of = |case: &Case| {
		let request = Request::builder()
			.method(case.method.clone())
			.uri(case.path)
			.header(session_keys_client::HTTP_HEADER, encode_header_v2(&case.header))
			.body(Full::new(Bytes::from_static(case.body)))
			.unwrap();
		let name = case.name;
		let served = layer.layer(service).oneshot(request);
		async move {
			let response = served.await.unwrap();
			let status = response.status();
			let body = response.into_body().collect().await.unwrap().to_bytes();
			match status {
				StatusCode::OK => Ok(()),
				StatusCode::UNAUTHORIZED => {
					let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
					Err(serde_json::from_value::<AuthError>(body["reason"].clone()).unwrap())
				}
				other => {
					panic!("`{name}`: unexpected {other}: {}", String::from_utf8_lossy(&body))
				}
			}
		}
	};
	let mut disagreements = Vec::new();
	for (case, runtime) in cases.iter().zip(&verdicts) {
		assert_eq!(runtime, &case.expected, "the runtime on `{}`", case.name);
		let gateway = verdict_of(case).await;
		if &gateway != runtime {
			disagreements.push(format!("{}: runtime {runtime:?}, gateway {gateway:?}", case.name));
		}
	}
	assert!(disagreements.is_empty(), "disagreements:\n{}", disagreements.join("\n"));

	// Every case at once, in several shuffled rounds: the signatures are verified in batches
	// of good and bad ones together, and every verdict is still the runtime's.
	let batches_before = gateway.metrics.verify_batch_size.get_sample_count();
	let signatures_before = gateway.metrics.verify_batch_size.get_sample_sum();
	for round in 0..4usize {
		let mut order: Vec<usize> = (0..cases.len()).collect();
		order.rotate_left(round * 7 % cases.len());
		if round % 2 == 1 {
			order.reverse();
		}
		let answers =
			futures::future::join_all(order.iter().map(|index| verdict_of(&cases[*index]))).await;
		for (index, gateway) in order.iter().zip(answers) {
			if gateway != verdicts[*index] {
				disagreements.push(format!(
					"round {round}, {}: runtime {:?}, gateway {gateway:?}",
					cases[*index].name, verdicts[*index]
				));
			}
		}
	}
	assert!(disagreements.is_empty(), "disagreements in batches:\n{}", disagreements.join("\n"));
	let batches = gateway.metrics.verify_batch_size.get_sample_count() - batches_before;
	let signatures = gateway.metrics.verify_batch_size.get_sample_sum() - signatures_before;
	assert!(
		signatures / batches as f64 > 2.0,
		"the concurrent rounds verified in batches ({signatures} signatures in {batches} batches)"
	);
	assert!(cases.len() >= 45, "the table covers every reason ({} cases)", cases.len());
}

/// The hash the gateway records for the block the verdicts were made at: no header can name
/// the block being built, whose hash is not known yet.
const HEAD_HASH: H256 = H256::repeat_byte(0xee);

trait FromSeed {
	fn from_seed_for_tests(kind: CryptoKind, seed: u8) -> SessionPair;
}

impl FromSeed for SessionPair {
	fn from_seed_for_tests(kind: CryptoKind, seed: u8) -> SessionPair {
		SessionPair::from_secret(kind, &[seed; 32]).expect("a 32-byte seed")
	}
}
