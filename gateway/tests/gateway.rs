//! The gateway's behaviour with a chain in memory: the cache and its updates from new blocks,
//! one-time headers (the default), version 2 headers bound to the query and the body, version 1
//! refused unless accepted, the counterpart and collateral checks, rate tiers, the per-address
//! limit on unknown keys, one node read per unknown key, node reads that time out, failing
//! closed when the view of the chain is too old, and parsing of arbitrary header bytes.

use std::{
	collections::HashMap,
	num::NonZeroU32,
	sync::{
		atomic::{AtomicUsize, Ordering},
		Arc,
	},
	time::Duration,
};

use http::{HeaderValue, Method, Uri};
use parking_lot::Mutex;
use proptest::prelude::*;
use session_keys_client::{
	encode_header, encode_header_v2, AccountId, AuthError, Balance, BoundRequest, ChannelState,
	CryptoKind, HeaderRequest, HeaderRequestV2, KeyRecord, Registration, SessionPair,
};
use session_keys_gateway::{
	Chain, ChainError, Gateway, HeaderVersion, Inbound, NewBlock, Refusal, Settings, Tier,
};
use session_keys_primitives::SessionPublic;
use sp_core::H256;

const AUDIENCE: &[u8] = b"api.test";
const GENESIS: H256 = H256::repeat_byte(0x01);
const VALIDITY: u32 = 10;

/// A chain in memory that counts its reads, can be slowed down and can be switched off.
#[derive(Default)]
struct MemChain {
	keys: Mutex<HashMap<SessionPublic, KeyRecord>>,
	balances: Mutex<HashMap<AccountId, Balance>>,
	reads: AtomicUsize,
	down: std::sync::atomic::AtomicBool,
	/// How long each key read takes.
	delay: Mutex<Duration>,
}

impl Chain for MemChain {
	async fn key(&self, public: SessionPublic, _: H256) -> Result<KeyRecord, ChainError> {
		if self.down.load(Ordering::SeqCst) {
			return Err(ChainError("node down".into()));
		}
		self.reads.fetch_add(1, Ordering::SeqCst);
		let delay = *self.delay.lock();
		if !delay.is_zero() {
			tokio::time::sleep(delay).await;
		}
		Ok(self.keys.lock().get(&public).cloned().unwrap_or(KeyRecord::Unknown))
	}

	async fn free_balance(&self, owner: AccountId, _: H256) -> Result<Balance, ChainError> {
		if self.down.load(Ordering::SeqCst) {
			return Err(ChainError("node down".into()));
		}
		Ok(self.balances.lock().get(&owner).copied().unwrap_or_default())
	}
}

fn owner(n: u8) -> AccountId {
	AccountId::new([n; 32])
}

fn block_hash(n: u32) -> H256 {
	H256::from_low_u64_be(1000 + u64::from(n))
}

fn registration(owner: AccountId, revoked: bool) -> Registration {
	Registration {
		owner,
		counterpart: AccountId::new([9; 32]),
		delegate: None,
		registered_at: 1,
		expires_at: if revoked { 5 } else { 10_000 },
		settles_at: 20_000,
		revoked,
		duration: 10_000,
		spending_limit: 0,
		pending_limit: None,
		collateral: 0,
		deposit: 0,
		description: Vec::new(),
		scope: vec![b"GET /*".to_vec()],
		state: ChannelState { nonce: 0, owed: 0, margin: 0 },
	}
}

struct Setup {
	chain: Arc<MemChain>,
	gateway: Gateway<Arc<MemChain>>,
	head: u32,
}

impl Setup {
	fn new(settings: Settings) -> Self {
		let chain = Arc::new(MemChain::default());
		let gateway = Gateway::new(chain.clone(), settings, VALIDITY);
		gateway.set_genesis(GENESIS);
		let setup = Setup { chain, gateway, head: 0 };
		for n in 0..=20 {
			setup.gateway.record_block(NewBlock {
				number: n,
				hash: block_hash(n),
				changed: Vec::new(),
			});
		}
		Setup { head: 20, ..setup }
	}

	fn key(&self, owner_id: u8, balance: Balance) -> SessionPair {
		let key = SessionPair::generate(CryptoKind::Sr25519);
		self.chain
			.keys
			.lock()
			.insert(key.public(), KeyRecord::Registered(registration(owner(owner_id), false)));
		self.chain.balances.lock().insert(owner(owner_id), balance);
		key
	}

	/// A version 2 header for `GET path` (the path may carry a query) with an empty body.
	fn header(&self, key: &SessionPair, owner_id: u8, nonce: u64, path: &str) -> HeaderValue {
		self.header_for(key, owner_id, nonce, &format!("GET {path}"), b"")
	}

	/// A version 2 header for `request` (`METHOD /path?query`) with `body`.
	fn header_for(
		&self,
		key: &SessionPair,
		owner_id: u8,
		nonce: u64,
		request: &str,
		body: &[u8],
	) -> HeaderValue {
		let bound = BoundRequest::parse(request, body).unwrap();
		let header = key.sign_header_v2(
			GENESIS,
			&HeaderRequestV2 {
				account: &owner(owner_id),
				block_hash: block_hash(self.head - 1),
				nonce,
				audience: AUDIENCE,
				request: &bound,
			},
		);
		HeaderValue::try_from(encode_header_v2(&header)).unwrap()
	}

	/// A version 1 header for `GET path`.
	fn header_v1(&self, key: &SessionPair, owner_id: u8, nonce: u64, path: &str) -> HeaderValue {
		let header = key.sign_header(
			GENESIS,
			&HeaderRequest {
				account: &owner(owner_id),
				block_hash: block_hash(self.head - 1),
				nonce,
				audience: AUDIENCE,
				resource: format!("GET {path}").as_bytes(),
			},
		);
		HeaderValue::try_from(encode_header(&header)).unwrap()
	}

	async fn get(
		&self,
		path: &str,
		header: &HeaderValue,
	) -> Result<session_keys_gateway::AuthenticatedRequest, Refusal> {
		self.send(Method::GET, path, header, b"", None).await
	}

	async fn send(
		&self,
		method: Method,
		path: &str,
		header: &HeaderValue,
		body: &[u8],
		peer: Option<std::net::IpAddr>,
	) -> Result<session_keys_gateway::AuthenticatedRequest, Refusal> {
		let uri: Uri = path.parse().unwrap();
		let inbound = Inbound::new(&method, &uri, Some(header), body).from_peer(peer);
		self.gateway.authenticate(&inbound).await
	}

	fn next_block(&mut self, changed: Vec<(SessionPublic, Option<KeyRecord>)>) {
		self.head += 1;
		self.gateway.record_block(NewBlock {
			number: self.head,
			hash: block_hash(self.head),
			changed,
		});
	}
}

fn tiers(list: &[(&str, Balance, u32, u32)]) -> Vec<Tier> {
	list.iter()
		.map(|(name, min_balance, per_second, burst)| Tier {
			name: (*name).into(),
			min_balance: *min_balance,
			per_second: NonZeroU32::new(*per_second).unwrap(),
			burst: NonZeroU32::new(*burst).unwrap(),
		})
		.collect()
}

fn settings() -> Settings {
	let mut settings = Settings::new(AUDIENCE);
	settings.tiers = tiers(&[("all", 0, 1000, 1000)]);
	settings
}

fn refused(reason: AuthError) -> impl Fn(&Refusal) -> bool {
	move |refusal| matches!(refusal, Refusal::NotAuthenticated { reason: r, .. } if *r == reason)
}

#[tokio::test]
async fn a_key_is_read_once_then_served_from_the_cache() {
	let setup = Setup::new(settings());
	let key = setup.key(1, 100);
	let session = setup.get("/orders/1", &setup.header(&key, 1, 1, "/orders/1")).await.unwrap();
	assert_eq!(session.owner, owner(1));
	assert_eq!(session.key, key.public());
	assert_eq!(session.free_balance, 100);
	assert_eq!(session.tier, "all");
	for nonce in 2..10 {
		setup.get("/orders/1", &setup.header(&key, 1, nonce, "/orders/1")).await.unwrap();
	}
	assert_eq!(setup.chain.reads.load(Ordering::SeqCst), 1);
	assert_eq!(setup.gateway.metrics.cache_hits.get(), 8);
	assert_eq!(setup.gateway.metrics.cache_misses.get(), 1);
}

#[tokio::test]
async fn a_revocation_is_refused_from_the_block_that_includes_it() {
	let mut setup = Setup::new(settings());
	let key = setup.key(1, 100);
	setup.get("/a", &setup.header(&key, 1, 1, "/a")).await.unwrap();
	let revoked = KeyRecord::Registered(registration(owner(1), true));
	setup.chain.keys.lock().insert(key.public(), revoked.clone());
	// Until the block is recorded the cache still says live...
	assert!(setup.get("/a", &setup.header(&key, 1, 2, "/a")).await.is_ok());
	// ...and from then on it is refused, without another read.
	setup.next_block(vec![(key.public(), Some(revoked))]);
	let refusal = setup.get("/a", &setup.header(&key, 1, 3, "/a")).await.unwrap_err();
	assert!(refused(AuthError::KeyRevoked)(&refusal), "{refusal:?}");
	assert_eq!(setup.chain.reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_changed_key_whose_state_could_not_be_read_is_read_again() {
	let mut setup = Setup::new(settings());
	let key = setup.key(1, 100);
	setup.get("/a", &setup.header(&key, 1, 1, "/a")).await.unwrap();
	let retired = session_keys_client::Retired {
		owner: owner(1),
		counterpart: owner(9),
		delegate: None,
		registered_at: 1,
		ended_at: 5,
		reason: session_keys_client::EndReason::Revoked,
		nonce: 0,
		owed: 0,
		paid: 0,
	};
	setup.chain.keys.lock().insert(key.public(), KeyRecord::Retired(retired));
	setup.next_block(vec![(key.public(), None)]);
	let refusal = setup.get("/a", &setup.header(&key, 1, 2, "/a")).await.unwrap_err();
	assert!(refused(AuthError::KeyEnded(session_keys_client::EndReason::Revoked))(&refusal));
	assert_eq!(setup.chain.reads.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_key_registered_after_it_was_seen_unknown_is_accepted_from_its_block() {
	let mut setup = Setup::new(settings());
	let key = SessionPair::generate(CryptoKind::Sr25519);
	let refusal = setup.get("/a", &setup.header(&key, 1, 1, "/a")).await.unwrap_err();
	assert!(refused(AuthError::UnknownKey)(&refusal));
	let registered = KeyRecord::Registered(registration(owner(1), false));
	setup.chain.keys.lock().insert(key.public(), registered.clone());
	setup.chain.balances.lock().insert(owner(1), 5);
	setup.next_block(vec![(key.public(), Some(registered))]);
	assert!(setup.get("/a", &setup.header(&key, 1, 2, "/a")).await.is_ok());
}

#[tokio::test]
async fn a_weak_key_left_registered_is_refused_even_with_a_signature_that_verifies() {
	let setup = Setup::new(settings());
	// The identity point and the signature every message verifies under it (schnorrkel's
	// marker bit set): a key that binds no one, registered before such keys were refused.
	let public = SessionPublic::Sr25519([0; 32].into());
	let mut universal = [0u8; 64];
	universal[63] = 0x80;
	let signature = session_keys_primitives::SessionSignature::Sr25519(universal.into());
	let bound = BoundRequest::parse("GET /a", b"").unwrap();
	let mut header = SessionPair::generate(CryptoKind::Sr25519).sign_header_v2(
		GENESIS,
		&HeaderRequestV2 {
			account: &owner(1),
			block_hash: block_hash(setup.head - 1),
			nonce: 1,
			audience: AUDIENCE,
			request: &bound,
		},
	);
	header.public = public;
	header.signature = signature;
	assert!(public.verify(&header.signing_payload(&GENESIS), &header.signature), "it verifies");
	setup.chain.keys.lock().insert(public, KeyRecord::Registered(registration(owner(1), false)));
	setup.chain.balances.lock().insert(owner(1), 100);
	let value = HeaderValue::try_from(encode_header_v2(&header)).unwrap();
	for _ in 0..2 {
		// Read from the chain, then from the cache: refused both times.
		let refusal = setup.get("/a", &value).await.unwrap_err();
		assert!(refused(AuthError::BadSignature)(&refusal), "{refusal:?}");
	}
}

#[tokio::test]
async fn a_reorganization_forgets_the_cache_and_the_retracted_blocks() {
	let setup = Setup::new(settings());
	let key = setup.key(1, 100);
	let on_old_branch = setup.header(&key, 1, 1, "/a");
	assert!(setup.get("/a", &on_old_branch).await.is_ok());
	// The new branch revoked the key; its blocks have other hashes from #15 on.
	let revoked = KeyRecord::Registered(registration(owner(1), true));
	setup.chain.keys.lock().insert(key.public(), revoked);
	let fork = |n: u32| H256::from_low_u64_be(5000 + u64::from(n));
	let window = (10..=setup.head).map(|n| (n, if n < 15 { block_hash(n) } else { fork(n) }));
	setup.gateway.replace_window(window.collect());
	// The retracted block is no longer fresh, and the key is read again.
	let refusal = setup.get("/a", &on_old_branch).await.unwrap_err();
	assert!(refused(AuthError::KeyRevoked)(&refusal), "{refusal:?}");
	assert_eq!(setup.chain.reads.load(Ordering::SeqCst), 2);
	setup
		.chain
		.keys
		.lock()
		.insert(key.public(), KeyRecord::Registered(registration(owner(1), false)));
	setup.gateway.forget_cached();
	let stale = setup.get("/a", &on_old_branch).await.unwrap_err();
	assert!(refused(AuthError::StaleBlockHash)(&stale), "{stale:?}");
	let bound = BoundRequest::parse("GET /a", b"").unwrap();
	let on_new_branch = key.sign_header_v2(
		GENESIS,
		&HeaderRequestV2 {
			account: &owner(1),
			block_hash: fork(setup.head - 1),
			nonce: 2,
			audience: AUDIENCE,
			request: &bound,
		},
	);
	let value = HeaderValue::try_from(encode_header_v2(&on_new_branch)).unwrap();
	assert!(setup.get("/a", &value).await.is_ok());
}

#[tokio::test]
async fn headers_are_accepted_once_by_default() {
	let settings = settings();
	assert!(settings.one_time_headers, "one-time headers are the default");
	let mut setup = Setup::new(settings);
	let key = setup.key(1, 100);
	let header = setup.header(&key, 1, 1, "/a");
	assert!(setup.get("/a", &header).await.is_ok());
	assert_eq!(setup.get("/a", &header).await.unwrap_err(), Refusal::Replayed);
	assert!(setup.get("/a", &setup.header(&key, 1, 2, "/a")).await.is_ok());
	// Once its block leaves the window the header is stale, and the gateway forgets it.
	for _ in 0..VALIDITY {
		setup.next_block(Vec::new());
	}
	let refusal = setup.get("/a", &header).await.unwrap_err();
	assert!(refused(AuthError::StaleBlockHash)(&refusal), "{refusal:?}");
	// Reusable headers (`--reusable-headers`, KIP_9) are accepted again.
	let mut reusable_settings = self::settings();
	reusable_settings.one_time_headers = false;
	let reusable = Setup::new(reusable_settings);
	let key = reusable.key(1, 100);
	let header = reusable.header(&key, 1, 1, "/a");
	assert!(reusable.get("/a", &header).await.is_ok());
	assert!(reusable.get("/a", &header).await.is_ok());
}

#[tokio::test]
async fn a_richer_owner_gets_a_higher_rate() {
	let mut settings = Settings::new(AUDIENCE);
	settings.tiers = tiers(&[("base", 10, 1, 2), ("gold", 1_000, 100, 20)]);
	let setup = Setup::new(settings);
	let poor = setup.key(1, 50);
	let rich = setup.key(2, 5_000);
	let broke = setup.key(3, 5);
	let mut outcomes = Vec::new();
	for nonce in 0..5 {
		outcomes.push(setup.get("/a", &setup.header(&poor, 1, nonce, "/a")).await);
	}
	assert!(outcomes[..2].iter().all(|outcome| outcome.as_ref().is_ok_and(|s| s.tier == "base")));
	match &outcomes[2] {
		Err(Refusal::RateLimited { tier, retry_after }) => {
			assert_eq!(tier, "base");
			assert!(*retry_after <= Duration::from_secs(1));
		}
		other => panic!("expected 429, got {other:?}"),
	}
	for nonce in 0..20 {
		let session = setup.get("/a", &setup.header(&rich, 2, nonce, "/a")).await.unwrap();
		assert_eq!(session.tier, "gold");
	}
	let refusal = setup.get("/a", &setup.header(&broke, 3, 0, "/a")).await.unwrap_err();
	assert_eq!(refusal, Refusal::BelowLowestTier { min_balance: 10 });
}

#[tokio::test]
async fn a_balance_read_at_a_new_block_moves_the_owner_to_its_tier() {
	let mut settings = Settings::new(AUDIENCE);
	settings.tiers = tiers(&[("base", 0, 1, 1), ("gold", 1_000, 100, 100)]);
	let mut setup = Setup::new(settings);
	let key = setup.key(1, 10);
	assert_eq!(setup.get("/a", &setup.header(&key, 1, 0, "/a")).await.unwrap().tier, "base");
	assert_eq!(setup.gateway.take_active_owners(), vec![owner(1)]);
	setup.next_block(Vec::new());
	setup.gateway.record_balance(owner(1), 2_000, setup.head);
	assert_eq!(setup.get("/a", &setup.header(&key, 1, 1, "/a")).await.unwrap().tier, "gold");
}

#[tokio::test]
async fn the_gateway_fails_closed_when_its_newest_block_is_too_old() {
	let mut settings = settings();
	settings.max_head_age = Duration::from_millis(200);
	let mut setup = Setup::new(settings);
	let key = setup.key(1, 100);
	assert!(setup.get("/a", &setup.header(&key, 1, 0, "/a")).await.is_ok());
	setup.chain.down.store(true, Ordering::SeqCst);
	// Served from the cache while the head is young enough...
	assert!(setup.get("/a", &setup.header(&key, 1, 1, "/a")).await.is_ok());
	// ...a key not in the cache cannot be read: refused, not accepted.
	let other = setup.key(2, 100);
	assert!(matches!(
		setup.get("/a", &setup.header(&other, 2, 0, "/a")).await,
		Err(Refusal::Unavailable(_))
	));
	tokio::time::sleep(Duration::from_millis(300)).await;
	assert!(matches!(
		setup.get("/a", &setup.header(&key, 1, 2, "/a")).await,
		Err(Refusal::Unavailable(_))
	));
	assert!(!setup.gateway.health().serving);
	setup.chain.down.store(false, Ordering::SeqCst);
	setup.next_block(Vec::new());
	assert!(setup.get("/a", &setup.header(&key, 1, 3, "/a")).await.is_ok());
	assert!(setup.gateway.health().serving);
}

#[tokio::test]
async fn without_a_block_or_a_genesis_nothing_is_accepted() {
	let chain = Arc::new(MemChain::default());
	let gateway = Gateway::new(chain, settings(), VALIDITY);
	let key = SessionPair::generate(CryptoKind::Sr25519);
	let bound = BoundRequest::parse("GET /a", b"").unwrap();
	let header = key.sign_header_v2(
		GENESIS,
		&HeaderRequestV2 {
			account: &owner(1),
			block_hash: block_hash(1),
			nonce: 0,
			audience: AUDIENCE,
			request: &bound,
		},
	);
	let value = HeaderValue::try_from(encode_header_v2(&header)).unwrap();
	let uri = Uri::from_static("/a");
	let request = Inbound::new(&Method::GET, &uri, Some(&value), b"");
	assert!(matches!(gateway.authenticate(&request).await, Err(Refusal::Unavailable(_))));
	gateway.set_genesis(GENESIS);
	assert!(matches!(gateway.authenticate(&request).await, Err(Refusal::Unavailable(_))));
	let bare = Inbound::new(&Method::GET, &uri, None, b"");
	assert_eq!(gateway.authenticate(&bare).await.unwrap_err(), Refusal::MissingHeader);
}

#[tokio::test]
async fn a_v2_header_is_good_for_its_query_and_body_only() {
	let setup = Setup::new(settings());
	let key = setup.key(1, 100);
	setup.chain.keys.lock().insert(key.public(), {
		let mut registration = registration(owner(1), false);
		registration.scope = vec![b"GET /*".to_vec(), b"POST /orders/*".to_vec()];
		KeyRecord::Registered(registration)
	});
	// The query is signed in canonical form: another spelling of it is the same query.
	let header = setup.header(&key, 1, 1, "/orders/17?b=2&a=%7e");
	let session = setup.get("/orders/17?a=~&b=2", &header).await.unwrap();
	assert_eq!(session.request.query, b"a=~&b=2");
	assert_eq!(session.version, HeaderVersion::V2);
	// Another query: refused, and the detail names the query.
	for other in ["/orders/17?a=~&b=3", "/orders/17?a=~&b=2&admin=true", "/orders/17"] {
		let header = setup.header(&key, 1, 2, "/orders/17?b=2&a=%7e");
		match setup.get(other, &header).await.unwrap_err() {
			Refusal::NotAuthenticated { reason: AuthError::BadSignature, detail: Some(detail) } => {
				assert!(detail.contains("query differs"), "{other}: {detail}")
			}
			refusal => panic!("{other}: {refusal:?}"),
		}
	}
	// Another body: refused, and the detail names the body.
	let post = setup.header_for(&key, 1, 3, "POST /orders/17", br#"{"qty":1}"#);
	let refusal = setup
		.send(Method::POST, "/orders/17", &post, br#"{"qty":100000}"#, None)
		.await
		.unwrap_err();
	match refusal {
		Refusal::NotAuthenticated { reason: AuthError::BadSignature, detail: Some(detail) } => {
			assert!(detail.contains("body differs") && detail.contains("14 bytes"), "{detail}")
		}
		refusal => panic!("{refusal:?}"),
	}
	let session = setup.send(Method::POST, "/orders/17", &post, br#"{"qty":1}"#, None).await;
	assert_eq!(
		session.unwrap().request.content_digest,
		session_keys_primitives::content_digest(br#"{"qty":1}"#)
	);
	// An empty body has its digest too: a header for one is not good for a body.
	let empty = setup.header_for(&key, 1, 4, "POST /orders/18", b"");
	let refusal = setup.send(Method::POST, "/orders/18", &empty, b"x", None).await.unwrap_err();
	assert!(refused(AuthError::BadSignature)(&refusal), "{refusal:?}");
}

#[tokio::test]
async fn a_method_override_or_a_malformed_query_is_refused_by_name() {
	let setup = Setup::new(settings());
	let key = setup.key(1, 100);
	for (nonce, path) in [
		(1, "/orders/1?_method=DELETE"),
		(2, "/orders/1?_METHOD=delete"),
		(3, "/orders/1?%5Fmethod=PUT"),
	] {
		let header = setup.header(&key, 1, nonce, path);
		let refusal = setup.get(path, &header).await.unwrap_err();
		assert!(matches!(refusal, Refusal::MethodOverride(_)), "{path}: {refusal:?}");
		assert_eq!(refusal.status(), http::StatusCode::BAD_REQUEST);
	}
	let header = setup.header(&key, 1, 4, "/orders/1");
	assert_eq!(setup.get("/orders/1?a=%zz", &header).await.unwrap_err(), Refusal::MalformedQuery);
}

#[tokio::test]
async fn a_version_1_header_is_refused_unless_the_operator_accepts_it() {
	let setup = Setup::new(settings());
	let key = setup.key(1, 100);
	let v1 = setup.header_v1(&key, 1, 1, "/a");
	let refusal = setup.get("/a", &v1).await.unwrap_err();
	assert_eq!(refusal, Refusal::VersionOneRefused);
	assert_eq!(refusal.status(), http::StatusCode::UNAUTHORIZED);
	assert!(refusal.to_string().contains("version 2"), "{refusal}");
	let mut accepting = settings();
	accepting.accept_v1 = true;
	let setup = Setup::new(accepting);
	let key = setup.key(1, 100);
	let session = setup.get("/a?any=thing", &setup.header_v1(&key, 1, 1, "/a")).await.unwrap();
	assert_eq!(session.version, HeaderVersion::V1);
	// The upstream still gets the canonical query.
	assert_eq!(session.request.query, b"any=thing");
}

#[tokio::test]
async fn a_key_for_another_counterpart_or_with_too_little_collateral_is_refused() {
	let mut settings = settings();
	let service = AccountId::new([9; 32]);
	settings.counterparts = vec![AccountId::new([8; 32]), service.clone()];
	settings.min_collateral = Some(500);
	let setup = Setup::new(settings);
	let with = |counterpart: AccountId, collateral: Balance| {
		let key = SessionPair::generate(CryptoKind::Sr25519);
		let mut registration = registration(owner(1), false);
		registration.counterpart = counterpart;
		registration.collateral = collateral;
		setup.chain.keys.lock().insert(key.public(), KeyRecord::Registered(registration));
		key
	};
	setup.chain.balances.lock().insert(owner(1), 100);
	// The client's own second account as counterpart.
	let own = with(owner(2), 1_000);
	let refusal = setup.get("/a", &setup.header(&own, 1, 1, "/a")).await.unwrap_err();
	assert!(
		matches!(&refusal, Refusal::WrongCounterpart { counterpart, .. } if *counterpart == owner(2).to_string()),
		"{refusal:?}"
	);
	assert_eq!(refusal.status(), http::StatusCode::FORBIDDEN);
	let poor = with(service.clone(), 499);
	let refusal = setup.get("/a", &setup.header(&poor, 1, 1, "/a")).await.unwrap_err();
	assert_eq!(refusal, Refusal::CollateralTooLow { collateral: 499, min_collateral: 500 });
	let right = with(service.clone(), 500);
	let session = setup.get("/a", &setup.header(&right, 1, 1, "/a")).await.unwrap();
	assert_eq!(session.counterpart, service);
	// Without a list, any counterpart is served.
	let open = Setup::new(self::settings());
	let key = open.key(1, 100);
	assert!(open.get("/a", &open.header(&key, 1, 1, "/a")).await.is_ok());
}

#[tokio::test]
async fn unknown_keys_are_limited_per_address_and_read_once_each() {
	let mut settings = settings();
	settings.unknown_key_rate = NonZeroU32::new(1).unwrap();
	settings.unknown_key_burst = NonZeroU32::new(5).unwrap();
	let setup = Setup::new(settings);
	let flooder: std::net::IpAddr = "192.0.2.1".parse().unwrap();
	let mut limited = 0;
	for nonce in 0..50 {
		let made_up = SessionPair::generate(CryptoKind::Sr25519);
		let header = setup.header(&made_up, 1, nonce, "/a");
		match setup.send(Method::GET, "/a", &header, b"", Some(flooder)).await.unwrap_err() {
			Refusal::UnknownKeyRateLimited { retry_after } => {
				assert!(retry_after <= Duration::from_secs(1));
				limited += 1;
			}
			refusal => assert!(refused(AuthError::UnknownKey)(&refusal), "{refusal:?}"),
		}
	}
	let reads = setup.chain.reads.load(Ordering::SeqCst);
	assert!((5..=6).contains(&reads), "{reads} node reads for 50 made-up keys");
	assert_eq!(limited, 50 - reads);
	// A new key from another address is served meanwhile; a known key from the flooder too.
	let key = setup.key(1, 100);
	let header = setup.header(&key, 1, 1, "/a");
	let other: std::net::IpAddr = "192.0.2.2".parse().unwrap();
	assert!(setup.send(Method::GET, "/a", &header, b"", Some(other)).await.is_ok());
	let header = setup.header(&key, 1, 2, "/a");
	assert!(setup.send(Method::GET, "/a", &header, b"", Some(flooder)).await.is_ok());

	// Requests by one key not yet cached share one read.
	*setup.chain.delay.lock() = Duration::from_millis(100);
	let fresh = setup.key(2, 100);
	let before = setup.chain.reads.load(Ordering::SeqCst);
	let headers: Vec<HeaderValue> =
		(0..5).map(|nonce| setup.header(&fresh, 2, nonce, "/a")).collect();
	let third: std::net::IpAddr = "192.0.2.3".parse().unwrap();
	let outcomes = futures::future::join_all(
		headers.iter().map(|header| setup.send(Method::GET, "/a", header, b"", Some(third))),
	)
	.await;
	assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
	assert_eq!(setup.chain.reads.load(Ordering::SeqCst) - before, 1, "one read for five requests");
	assert_eq!(setup.gateway.metrics.coalesced_reads.get(), 4);
}

#[tokio::test]
async fn a_node_read_that_takes_too_long_is_answered_503() {
	let mut settings = settings();
	settings.node_read_timeout = Duration::from_millis(100);
	let setup = Setup::new(settings);
	*setup.chain.delay.lock() = Duration::from_secs(5);
	let key = setup.key(1, 100);
	let started = std::time::Instant::now();
	let refusal = setup.get("/a", &setup.header(&key, 1, 1, "/a")).await.unwrap_err();
	assert_eq!(refusal, Refusal::NodeReadTimeout(Duration::from_millis(100)));
	assert_eq!(refusal.status(), http::StatusCode::SERVICE_UNAVAILABLE);
	assert!(started.elapsed() < Duration::from_secs(1));
	// With every read slot held and more requests queued for them, a request waits at most
	// the timeout for one. Reads of 600 ms at most: 32 hold the slots from 0 ms (until they
	// time out at 600 ms), 32 more queue from 200 ms (and hold the slots from 600 ms), the
	// probe queues at 400 ms behind them and gives up at 1000 ms.
	let timeout = Duration::from_millis(600);
	let mut slow = settings_with_timeout(timeout);
	slow.unknown_key_burst = NonZeroU32::new(1000).unwrap();
	let setup = Arc::new(Setup::new(slow));
	*setup.chain.delay.lock() = Duration::from_secs(5);
	let batch = |first: u64| {
		(first..first + 32)
			.map(|nonce| {
				let setup = setup.clone();
				tokio::spawn(async move {
					let key = SessionPair::generate(CryptoKind::Sr25519);
					let header = setup.header(&key, 1, nonce, "/a");
					setup.get("/a", &header).await
				})
			})
			.collect::<Vec<_>>()
	};
	let holders = batch(0);
	tokio::time::sleep(Duration::from_millis(200)).await;
	let queued = batch(100);
	tokio::time::sleep(Duration::from_millis(200)).await;
	let key = setup.key(1, 100);
	let refusal = setup.get("/a", &setup.header(&key, 1, 1, "/a")).await.unwrap_err();
	assert_eq!(refusal, Refusal::ReadSlotTimeout(timeout));
	assert_eq!(refusal.status(), http::StatusCode::SERVICE_UNAVAILABLE);
	for holder in holders.into_iter().chain(queued) {
		assert_eq!(holder.await.unwrap().unwrap_err(), Refusal::NodeReadTimeout(timeout));
	}
}

fn settings_with_timeout(timeout: Duration) -> Settings {
	let mut settings = settings();
	settings.node_read_timeout = timeout;
	settings
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(512))]

	/// Whatever the header's bytes, the answer is a refusal (400 for a malformed one), never a
	/// panic; bytes after a valid prefix too.
	#[test]
	fn arbitrary_header_bytes_are_refused_without_a_panic(
		bytes in proptest::collection::vec(any::<u8>(), 0..600),
		prefix in 0u8..3,
	) {
		let setup = Setup::new(settings());
		let mut value = match prefix { 0 => b"v1.".to_vec(), 1 => b"v2.".to_vec(), _ => Vec::new() };
		value.extend(&bytes);
		if let Ok(value) = HeaderValue::from_bytes(&value) {
			let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
			let uri = Uri::from_static("/a");
			let request = Inbound::new(&Method::GET, &uri, Some(&value), b"");
			let outcome = runtime.block_on(setup.gateway.authenticate(&request));
			prop_assert!(outcome.is_err());
			let refusal = outcome.unwrap_err();
			prop_assert!(refusal.status().is_client_error(), "{refusal:?}");
		}
	}

	/// A valid base64 body of arbitrary bytes is refused too.
	#[test]
	fn arbitrary_scale_bytes_are_refused_without_a_panic(
		bytes in proptest::collection::vec(any::<u8>(), 0..400),
		version in prop_oneof![Just("v1."), Just("v2.")],
		accept_v1 in any::<bool>(),
	) {
		use base64::Engine;
		let mut settings = settings();
		settings.accept_v1 = accept_v1;
		let setup = Setup::new(settings);
		let text = format!("{version}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes));
		let value = HeaderValue::try_from(text).unwrap();
		let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
		let uri = Uri::from_static("/a");
		let request = Inbound::new(&Method::GET, &uri, Some(&value), b"");
		let outcome = runtime.block_on(setup.gateway.authenticate(&request));
		prop_assert!(outcome.is_err());
	}
}
