//! `POST /v1/states`, `GET /v1/states/KEY`, `/metrics` and `/healthz` over a real socket.

use std::sync::Arc;

use session_keys_client::{
	AccountId, ChannelState, CryptoKind, KeyRecord, Registration, SessionPair,
};
use session_keys_keeper::sealer::{KdfParams, SALT_LEN};
use session_keys_watchtower::{
	http,
	metrics::Metrics,
	store::{hex, Identity, Store},
	FixedChain, SignedState, Watchtower,
};
use sp_core::H256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GENESIS: H256 = H256::repeat_byte(7);

/// One HTTP/1.1 request on a fresh connection: the status and the body.
async fn request(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
	let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
	let text = format!(
		"{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: \
		 application/json\r\ncontent-length: {}\r\n\r\n{body}",
		body.len()
	);
	stream.write_all(text.as_bytes()).await.unwrap();
	let mut answer = String::new();
	stream.read_to_string(&mut answer).await.unwrap();
	let status = answer[9..12].parse().unwrap();
	let body = answer.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default();
	(status, body)
}

#[tokio::test]
async fn the_api_stores_refuses_by_name_and_reports() {
	let dir = tempfile::tempdir().unwrap();
	let counterpart = AccountId::from([2; 32]);
	let kdf = KdfParams {
		memory_kib: KdfParams::MIN_MEMORY_KIB,
		iterations: KdfParams::MIN_ITERATIONS,
		parallelism: 1,
		salt: [3; SALT_LEN],
	};
	let identity = Identity { counterpart: counterpart.clone(), via_proxy: false };
	let store = Store::create(&dir.path().join("w.db"), b"p", &kdf, &identity, b"//Bob").unwrap();
	let chain = Arc::new(FixedChain::new(10));
	let key = SessionPair::generate(CryptoKind::Sr25519);
	chain.set(
		key.public(),
		KeyRecord::Registered(Registration {
			owner: AccountId::from([1; 32]),
			counterpart: counterpart.clone(),
			delegate: None,
			registered_at: 1,
			expires_at: 100,
			settles_at: 110,
			revoked: false,
			duration: 99,
			spending_limit: 100,
			pending_limit: None,
			collateral: 100,
			deposit: 1,
			description: Vec::new(),
			scope: Vec::new(),
			state: ChannelState::default(),
		}),
	);
	let tower = Arc::new(Watchtower::new(
		counterpart,
		GENESIS,
		store.writer(100).unwrap(),
		chain,
		Vec::new(),
		Arc::new(Metrics::new()),
	));
	let listener = http::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
	let port = listener.local_addr().unwrap().port();
	tokio::spawn(http::serve(listener, tower));

	let state = ChannelState { nonce: 1, owed: 7, margin: 0 };
	let signed =
		SignedState { public: key.public(), state, signature: key.sign_state(GENESIS, &state) };
	let body = serde_json::to_string(&signed).unwrap();
	let (status, answer) = request(port, "POST", "/v1/states", &body).await;
	assert_eq!(status, 200, "{answer}");
	let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
	assert_eq!((answer["nonce"].clone(), answer["owed"].clone()), (1.into(), "7".into()));
	assert_eq!(answer["duplicate"], false);
	// The same body again: stored already, accepted.
	let (status, answer) = request(port, "POST", "/v1/states", &body).await;
	assert_eq!(status, 200);
	assert!(answer.contains("\"duplicate\":true"), "{answer}");

	let (status, answer) = request(port, "POST", "/v1/states", "{\"public\": 1}").await;
	assert_eq!(status, 400);
	let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
	assert_eq!(answer["reason"], "Malformed");
	assert!(answer["detail"].as_str().unwrap().contains("hex string"), "{answer}");

	let mut tampered = signed.clone();
	tampered.state.owed = 8;
	let (status, answer) =
		request(port, "POST", "/v1/states", &serde_json::to_string(&tampered).unwrap()).await;
	assert_eq!(status, 422);
	assert!(answer.contains("\"reason\":\"BadSignature\""), "{answer}");

	let key_hex = hex(&codec::Encode::encode(&key.public()));
	let (status, answer) = request(port, "GET", &format!("/v1/states/{key_hex}"), "").await;
	assert_eq!(status, 200);
	let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
	assert_eq!(answer["nonce"], 1);
	assert_eq!(answer["onChain"]["nonce"], 0);
	let (status, answer) = request(port, "GET", "/v1/states/0x00", "").await;
	assert_eq!(status, 400, "{answer}");
	let other = hex(&codec::Encode::encode(&SessionPair::generate(CryptoKind::Sr25519).public()));
	let (status, answer) = request(port, "GET", &format!("/v1/states/{other}"), "").await;
	assert_eq!((status, answer.contains("UnknownState")), (404, true));

	let (status, metrics) = request(port, "GET", "/metrics", "").await;
	assert_eq!(status, 200);
	assert!(metrics.contains("session_keys_watchtower_states_stored_total 1"), "{metrics}");
	assert!(
		metrics.contains("session_keys_watchtower_states_refused_total{reason=\"BadSignature\"} 1")
	);
	assert!(
		metrics.contains("session_keys_watchtower_states_refused_total{reason=\"Malformed\"} 1")
	);
	let (status, health) = request(port, "GET", "/healthz", "").await;
	assert_eq!((status, health.contains("\"keys\":1")), (200, true), "{health}");
	let (status, _) = request(port, "DELETE", "/v1/states", "").await;
	assert_eq!(status, 404);
}
