//! The gateway's behaviour with a chain in memory: the cache and its updates from new blocks,
//! one-time headers, rate tiers, failing closed when the view of the chain is too old, and
//! parsing of arbitrary header bytes.

use std::{
	collections::HashMap,
	num::NonZeroU32,
	sync::{
		atomic::{AtomicUsize, Ordering},
		Arc,
	},
	time::Duration,
};

use http::{HeaderValue, Method};
use parking_lot::Mutex;
use proptest::prelude::*;
use session_keys_client::{
	encode_header, AccountId, AuthError, Balance, ChannelState, CryptoKind, HeaderRequest,
	Registration, SessionPair,
};
use session_keys_gateway::{
	Chain, ChainError, Gateway, KeyState, NewBlock, Refusal, Settings, Tier,
};
use session_keys_primitives::SessionPublic;
use sp_core::H256;

const AUDIENCE: &[u8] = b"api.test";
const GENESIS: H256 = H256::repeat_byte(0x01);
const VALIDITY: u32 = 10;

/// A chain in memory that counts its reads and can be switched off.
#[derive(Default)]
struct MemChain {
	keys: Mutex<HashMap<SessionPublic, KeyState>>,
	balances: Mutex<HashMap<AccountId, Balance>>,
	reads: AtomicUsize,
	down: std::sync::atomic::AtomicBool,
}

impl Chain for MemChain {
	async fn key(&self, public: SessionPublic, _: H256) -> Result<KeyState, ChainError> {
		if self.down.load(Ordering::SeqCst) {
			return Err(ChainError("node down".into()));
		}
		self.reads.fetch_add(1, Ordering::SeqCst);
		Ok(self.keys.lock().get(&public).cloned().unwrap_or(KeyState::Unknown))
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
		self.chain.keys.lock().insert(
			key.public(),
			KeyState::Registered(Box::new(registration(owner(owner_id), false))),
		);
		self.chain.balances.lock().insert(owner(owner_id), balance);
		key
	}

	fn header(&self, key: &SessionPair, owner_id: u8, nonce: u64, path: &str) -> HeaderValue {
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
	) -> Result<session_keys_gateway::Session, Refusal> {
		self.gateway.authenticate(&Method::GET, path, Some(header)).await
	}

	fn next_block(&mut self, changed: Vec<(SessionPublic, Option<KeyState>)>) {
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
	let revoked = KeyState::Registered(Box::new(registration(owner(1), true)));
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
	setup
		.chain
		.keys
		.lock()
		.insert(key.public(), KeyState::Ended(session_keys_client::EndReason::Revoked));
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
	let registered = KeyState::Registered(Box::new(registration(owner(1), false)));
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
	let mut header = SessionPair::generate(CryptoKind::Sr25519).sign_header(
		GENESIS,
		&HeaderRequest {
			account: &owner(1),
			block_hash: block_hash(setup.head - 1),
			nonce: 1,
			audience: AUDIENCE,
			resource: b"GET /a",
		},
	);
	header.public = public;
	header.signature = signature;
	assert!(public.verify(&header.signing_payload(&GENESIS), &header.signature), "it verifies");
	setup
		.chain
		.keys
		.lock()
		.insert(public, KeyState::Registered(Box::new(registration(owner(1), false))));
	setup.chain.balances.lock().insert(owner(1), 100);
	let value = HeaderValue::try_from(encode_header(&header)).unwrap();
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
	let revoked = KeyState::Registered(Box::new(registration(owner(1), true)));
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
		.insert(key.public(), KeyState::Registered(Box::new(registration(owner(1), false))));
	setup.gateway.forget_cached();
	let stale = setup.get("/a", &on_old_branch).await.unwrap_err();
	assert!(refused(AuthError::StaleBlockHash)(&stale), "{stale:?}");
	let on_new_branch = key.sign_header(
		GENESIS,
		&HeaderRequest {
			account: &owner(1),
			block_hash: fork(setup.head - 1),
			nonce: 2,
			audience: AUDIENCE,
			resource: b"GET /a",
		},
	);
	let value = HeaderValue::try_from(encode_header(&on_new_branch)).unwrap();
	assert!(setup.get("/a", &value).await.is_ok());
}

#[tokio::test]
async fn one_time_headers_are_accepted_once() {
	let mut settings = settings();
	settings.one_time_headers = true;
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
	// Reusable headers (the default) are accepted again.
	let reusable = Setup::new(self::settings());
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
	let header = key.sign_header(
		GENESIS,
		&HeaderRequest {
			account: &owner(1),
			block_hash: block_hash(1),
			nonce: 0,
			audience: AUDIENCE,
			resource: b"GET /a",
		},
	);
	let value = HeaderValue::try_from(encode_header(&header)).unwrap();
	assert!(matches!(
		gateway.authenticate(&Method::GET, "/a", Some(&value)).await,
		Err(Refusal::Unavailable(_))
	));
	gateway.set_genesis(GENESIS);
	assert!(matches!(
		gateway.authenticate(&Method::GET, "/a", Some(&value)).await,
		Err(Refusal::Unavailable(_))
	));
	assert_eq!(
		gateway.authenticate(&Method::GET, "/a", None).await.unwrap_err(),
		Refusal::MissingHeader
	);
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(512))]

	/// Whatever the header's bytes, the answer is a refusal (400 for a malformed one), never a
	/// panic; bytes after a valid prefix too.
	#[test]
	fn arbitrary_header_bytes_are_refused_without_a_panic(
		bytes in proptest::collection::vec(any::<u8>(), 0..600),
		prefixed in any::<bool>(),
	) {
		let setup = Setup::new(settings());
		let mut value = if prefixed { b"v1.".to_vec() } else { Vec::new() };
		value.extend(&bytes);
		if let Ok(value) = HeaderValue::from_bytes(&value) {
			let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
			let outcome = runtime.block_on(setup.gateway.authenticate(&Method::GET, "/a", Some(&value)));
			prop_assert!(outcome.is_err());
			let refusal = outcome.unwrap_err();
			prop_assert!(refusal.status().is_client_error(), "{refusal:?}");
		}
	}

	/// A valid base64 body of arbitrary bytes is refused too.
	#[test]
	fn arbitrary_scale_bytes_are_refused_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
		use base64::Engine;
		let setup = Setup::new(settings());
		let text = format!("v1.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes));
		let value = HeaderValue::try_from(text).unwrap();
		let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
		let outcome = runtime.block_on(setup.gateway.authenticate(&Method::GET, "/a", Some(&value)));
		prop_assert!(outcome.is_err());
	}
}
