//! Metered calls through the tower layer, with a chain in memory and a fake watchtower (a small
//! HTTP server with the watchtower's `/v1/states` API): a call without a state, with a wrong
//! nonce, with too little owed or with another key's signature is answered 402 naming the next
//! state; a good state is stored by the watchtower before the call is served; the watchtower's
//! own refusal is passed through; a watchtower that does not answer gives 503.

use std::{
	collections::HashMap,
	convert::Infallible,
	num::NonZeroUsize,
	sync::{
		atomic::{AtomicBool, AtomicUsize, Ordering},
		Arc,
	},
	time::Duration,
};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use parking_lot::Mutex;
use session_keys_client::{
	AccountId, Balance, BoundRequest, ChannelState, CryptoKind, KeyRecord, MeteredSession,
	Registration, SessionPair, StateHeader, HTTP_HEADER, STATE_HEADER,
};
use session_keys_gateway::{
	AuthBody, Chain, ChainError, Gateway, Meter, MeterSettings, NewBlock, SessionAuthLayer,
	Settings,
};
use session_keys_primitives::SessionPublic;
use sp_core::H256;
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt};

const AUDIENCE: &[u8] = b"api.test";
const GENESIS: H256 = H256::repeat_byte(0x01);

struct MemChain {
	keys: Mutex<HashMap<SessionPublic, KeyRecord>>,
}

impl Chain for MemChain {
	async fn key(&self, public: SessionPublic, _: H256) -> Result<KeyRecord, ChainError> {
		Ok(self.keys.lock().get(&public).cloned().unwrap_or(KeyRecord::Unknown))
	}

	async fn free_balance(&self, _: AccountId, _: H256) -> Result<Balance, ChainError> {
		Ok(1_000)
	}
}

fn block_hash(n: u32) -> H256 {
	H256::from_low_u64_be(1000 + u64::from(n))
}

/// The watchtower's API, faked: stores every state posted (newest per key), refuses states
/// owing more than `limit` with `OverSpendingLimit`, and can be made to hang.
#[derive(Default)]
struct FakeWatchtower {
	states: Mutex<HashMap<String, serde_json::Value>>,
	posts: AtomicUsize,
	hang: AtomicBool,
}

const LIMIT: Balance = 100;

async fn answer(
	tower: Arc<FakeWatchtower>,
	request: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
	let json = |status: u16, body: serde_json::Value| {
		Response::builder().status(status).body(Full::new(Bytes::from(body.to_string()))).unwrap()
	};
	if tower.hang.load(Ordering::SeqCst) {
		std::future::pending::<()>().await;
	}
	let path = request.uri().path().to_owned();
	if let Some(key) = path.strip_prefix("/v1/states/") {
		return match tower.states.lock().get(key) {
			Some(state) => json(200, state.clone()),
			None => json(404, serde_json::json!({"reason": "UnknownState", "detail": "none"})),
		};
	}
	let body = request.into_body().collect().await.unwrap().to_bytes();
	let state: serde_json::Value = serde_json::from_slice(&body).unwrap();
	tower.posts.fetch_add(1, Ordering::SeqCst);
	let owed: Balance = state["owed"].as_str().unwrap().parse().unwrap();
	if owed > LIMIT {
		let detail = format!("owes {owed}, above the spending limit {LIMIT}");
		return json(400, serde_json::json!({"reason": "OverSpendingLimit", "detail": detail}));
	}
	let key = state["public"].as_str().unwrap().to_owned();
	tower.states.lock().insert(key, state.clone());
	json(200, state)
}

struct Setup {
	gateway: Arc<Gateway<Arc<MemChain>>>,
	tower: Arc<FakeWatchtower>,
	key: SessionPair,
	owner: AccountId,
	served: Arc<AtomicUsize>,
	task: tokio::task::JoinHandle<()>,
}

impl Drop for Setup {
	fn drop(&mut self) {
		self.task.abort();
	}
}

async fn setup(price: Balance) -> Setup {
	let tower = Arc::new(FakeWatchtower::default());
	let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
	let url = format!("http://{}", listener.local_addr().unwrap());
	let serving = tower.clone();
	let task = tokio::spawn(async move {
		loop {
			let Ok((stream, _)) = listener.accept().await else { continue };
			let tower = serving.clone();
			tokio::spawn(async move {
				let service = hyper::service::service_fn(move |request| {
					let tower = tower.clone();
					async move { Ok::<_, Infallible>(answer(tower, request).await) }
				});
				let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
					.serve_connection(TokioIo::new(stream), service)
					.await;
			});
		}
	});
	let key = SessionPair::generate(CryptoKind::Sr25519);
	let owner = AccountId::new([1; 32]);
	let chain = Arc::new(MemChain { keys: Mutex::new(HashMap::new()) });
	chain.keys.lock().insert(
		key.public(),
		KeyRecord::Registered(Registration {
			owner: owner.clone(),
			counterpart: AccountId::new([9; 32]),
			delegate: None,
			registered_at: 1,
			expires_at: 10_000,
			settles_at: 20_000,
			revoked: false,
			duration: 10_000,
			spending_limit: LIMIT,
			pending_limit: None,
			collateral: 0,
			deposit: 0,
			description: Vec::new(),
			scope: vec![b"GET /*".to_vec()],
			state: ChannelState { nonce: 0, owed: 0, margin: 0 },
		}),
	);
	let meter = Meter::new(
		MeterSettings {
			price,
			tier_prices: Vec::new(),
			watchtower: url.parse().unwrap(),
			timeout: Duration::from_millis(300),
		},
		NonZeroUsize::new(100).unwrap(),
	);
	let gateway = Arc::new(Gateway::new(chain, Settings::new(AUDIENCE), 10).with_meter(meter));
	gateway.set_genesis(GENESIS);
	for n in 0..=20 {
		gateway.record_block(NewBlock { number: n, hash: block_hash(n), changed: Vec::new() });
	}
	Setup { gateway, tower, key, owner, served: Default::default(), task }
}

impl Setup {
	fn session(&self, price: Balance) -> MeteredSession {
		let key = SessionPair::from_secret(self.key.kind(), &self.key.secret()).unwrap();
		MeteredSession::new(key, self.owner.clone(), GENESIS, AUDIENCE.to_vec(), price)
	}

	/// Sends `GET /data` with `headers` through the layer: the status and the JSON body (if
	/// any).
	async fn call(&self, headers: &[(&str, &str)]) -> (StatusCode, serde_json::Value) {
		let served = self.served.clone();
		let inner = tower::service_fn(move |_: Request<AuthBody>| {
			served.fetch_add(1, Ordering::SeqCst);
			async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("{}")))) }
		});
		let mut request = Request::get("/data");
		for (name, value) in headers {
			request = request.header(*name, *value);
		}
		let request = request.body(Full::new(Bytes::new())).unwrap();
		let response = SessionAuthLayer::new(self.gateway.clone())
			.layer(inner)
			.oneshot(request)
			.await
			.unwrap();
		let status = response.status();
		let body = response.into_body().collect().await.unwrap().to_bytes();
		(status, serde_json::from_slice(&body).unwrap_or_default())
	}

	/// A metered call by `session`, with its state header replaced by `state` if given.
	async fn metered(
		&self,
		session: &mut MeteredSession,
		state: Option<Option<&str>>,
	) -> (StatusCode, serde_json::Value) {
		let call =
			session.sign_call(block_hash(19), &BoundRequest::parse("GET /data", b"").unwrap());
		let state = match state {
			Some(replaced) => replaced,
			None => Some(call.state.as_str()),
		};
		let mut headers = vec![(HTTP_HEADER, call.auth.as_str())];
		if let Some(state) = state {
			headers.push((STATE_HEADER, state));
		}
		self.call(&headers).await
	}

	fn stored(&self) -> Option<(u64, String)> {
		let key = sp_core::bytes::to_hex(&codec::Encode::encode(&self.key.public()), false);
		let states = self.tower.states.lock();
		let state = states.get(&key)?;
		Some((state["nonce"].as_u64().unwrap(), state["owed"].as_str().unwrap().to_owned()))
	}
}

#[tokio::test]
async fn a_missing_state_gets_402_naming_the_next_one() {
	let setup = setup(2).await;
	let mut session = setup.session(2);
	let (status, body) = setup.metered(&mut session, Some(None)).await;
	assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
	assert_eq!(body["reason"], "MissingState");
	assert_eq!(body["expectedNonce"], 1);
	assert_eq!(body["minOwed"], "2");
	assert_eq!(body["price"], "2");
	assert_eq!(setup.served.load(Ordering::SeqCst), 0);
	let (status, body) = setup.metered(&mut session, Some(Some("v1.@@@"))).await;
	assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
	assert_eq!(body["reason"], "StateHeaderNotBase64");
	assert_eq!(setup.tower.posts.load(Ordering::SeqCst), 0, "nothing reached the watchtower");
}

#[tokio::test]
async fn a_good_state_is_stored_then_the_call_served() {
	let setup = setup(2).await;
	let mut session = setup.session(2);
	for n in 1..=3u64 {
		let (status, body) = setup.metered(&mut session, None).await;
		assert_eq!(status, StatusCode::OK, "{body}");
		assert_eq!(setup.stored(), Some((n, (2 * n).to_string())));
	}
	assert_eq!(setup.served.load(Ordering::SeqCst), 3);
	let metrics = setup.gateway.metrics.render();
	assert!(metrics.contains("session_keys_gateway_metered_calls_total 3"), "{metrics}");
}

#[tokio::test]
async fn short_owed_wrong_nonce_and_another_keys_signature_get_402() {
	let setup = setup(2).await;
	// Owes only 1 more than the last: short.
	let mut cheap = setup.session(1);
	let (status, body) = setup.metered(&mut cheap, None).await;
	assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
	assert_eq!(body["reason"], "OwedTooLow");
	assert_eq!((body["expectedNonce"].clone(), body["minOwed"].clone()), (1.into(), "2".into()));
	// Skips a nonce.
	let mut skipping = setup.session(2);
	skipping.resume_from(ChannelState { nonce: 1, owed: 0, margin: 0 });
	let (status, body) = setup.metered(&mut skipping, None).await;
	assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
	assert_eq!(body["reason"], "WrongNonce");
	assert_eq!(body["expectedNonce"], 1);
	// The right state, signed by another key.
	let mut session = setup.session(2);
	let other = SessionPair::generate(CryptoKind::Sr25519);
	let next = ChannelState { nonce: 1, owed: 2, margin: 0 };
	let forged = StateHeader { state: next, signature: other.sign_state(GENESIS, &next) }.encode();
	let (status, body) = setup.metered(&mut session, Some(Some(&forged))).await;
	assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
	assert_eq!(body["reason"], "BadStateSignature");
	assert_eq!(setup.served.load(Ordering::SeqCst), 0);
	assert_eq!(setup.stored(), None);
	// The session that signed the right state then goes through.
	let mut session = setup.session(2);
	let (status, _) = setup.metered(&mut session, None).await;
	assert_eq!(status, StatusCode::OK);
	let metrics = setup.gateway.metrics.render();
	assert!(
		metrics.contains("session_keys_gateway_metering_refusals_total{reason=\"OwedTooLow\"} 1"),
		"{metrics}"
	);
}

#[tokio::test]
async fn the_watchtowers_refusal_is_passed_through_and_a_silent_one_is_503() {
	let setup = setup(60).await;
	let mut session = setup.session(60);
	assert_eq!(setup.metered(&mut session, None).await.0, StatusCode::OK);
	let (status, body) = setup.metered(&mut session, None).await;
	assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
	assert_eq!(body["reason"], "OverSpendingLimit");
	assert_eq!(body["refusedBy"], "watchtower");
	assert_eq!((body["expectedNonce"].clone(), body["minOwed"].clone()), (2.into(), "120".into()));
	assert_eq!(setup.served.load(Ordering::SeqCst), 1);
	setup.tower.hang.store(true, Ordering::SeqCst);
	let mut again = setup.session(60);
	again.resume_from(ChannelState { nonce: 1, owed: 60, margin: 0 });
	let (status, body) = setup.metered(&mut again, None).await;
	assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
	assert_eq!(body["reason"], "WatchtowerUnavailable");
	assert_eq!(setup.served.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_last_state_is_read_from_the_watchtower_on_first_sight() {
	let setup = setup(1).await;
	let key = sp_core::bytes::to_hex(&codec::Encode::encode(&setup.key.public()), false);
	setup.tower.states.lock().insert(
		key,
		serde_json::json!({"public": "x", "nonce": 7, "owed": "30", "margin": "0", "signature": "x"}),
	);
	let mut session = setup.session(1);
	let (status, body) = setup.metered(&mut session, None).await;
	assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
	assert_eq!((body["expectedNonce"].clone(), body["minOwed"].clone()), (8.into(), "31".into()));
	session.resume_from(ChannelState { nonce: 7, owed: 30, margin: 0 });
	assert_eq!(setup.metered(&mut session, None).await.0, StatusCode::OK);
	assert_eq!(setup.stored(), Some((8, "31".into())));
}
