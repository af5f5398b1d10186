//! Two gateway replicas sharing their state through a real Redis (`--redis`), behind a real
//! HAProxy with the deployment's configuration (`gateway/deploy/haproxy.cfg`): an owner's
//! requests across both stay within one rate, a header used at one replica is refused at the
//! other, both fail closed while Redis is down (and say so on `/healthz`), and serve again,
//! with every used header still refused, once it is back.

use std::time::{Duration, Instant};

use http::StatusCode;
use session_keys_client::{encode_header_v2, BoundRequest, HeaderRequestV2};
use session_keys_e2e::{
	account_of, build,
	gateway::{Answer, Gateway, Upstream},
	services::{Haproxy, Redis},
	Chain, Node, SessionPair, Terms,
};
use session_keys_primitives::CryptoKind;
use sp_core::H256;
use subxt_signer::sr25519::{dev, Keypair};

const AUDIENCE: &[u8] = b"api.test";
/// The one tier: 4 requests a second, bursts of 4.
const RATE: f64 = 4.0;
const BURST: f64 = 4.0;

async fn register(chain: &Chain, owner: &Keypair) -> SessionPair {
	let key = SessionPair::generate(CryptoKind::Sr25519);
	let terms = Terms {
		counterpart: account_of(&dev::bob()),
		duration: None,
		spending_limit: 0,
		collateral: 0,
		description: b"replicas e2e".to_vec(),
		scope: vec![b"GET /*".to_vec()],
	};
	let call =
		build::register(key.public(), key.ownership_proof(&account_of(owner)), &terms).unwrap();
	chain.submit(owner, call).await.expect("register");
	key
}

/// Signs version 2 headers for one key, each with a new nonce.
struct Signer {
	key: SessionPair,
	owner: Keypair,
	genesis: H256,
	block: H256,
	nonce: u64,
}

impl Signer {
	fn sign(&mut self, request: &str) -> String {
		self.nonce += 1;
		let bound = BoundRequest::parse(request, b"").expect("a request line");
		let account = account_of(&self.owner);
		encode_header_v2(&self.key.sign_header_v2(
			self.genesis,
			&HeaderRequestV2 {
				account: &account,
				block_hash: self.block,
				nonce: self.nonce,
				audience: AUDIENCE,
				request: &bound,
			},
		))
	}
}

/// Sends new headers for `GET path` to `gateway` until one is accepted (the bucket refills),
/// at most 30 s; the header accepted.
async fn accepted(gateway: &Gateway, signer: &mut Signer, path: &str) -> String {
	let deadline = Instant::now() + Duration::from_secs(30);
	loop {
		let header = signer.sign(&format!("GET {path}"));
		let answer = gateway.get(path, &header).await;
		if answer.status == StatusCode::OK {
			return header;
		}
		assert!(
			matches!(
				answer.status,
				StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
			),
			"{answer:?}"
		);
		assert!(Instant::now() < deadline, "never accepted: {answer:?}");
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
}

fn reason(answer: &Answer) -> String {
	answer.reason().as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn two_replicas_behind_haproxy_share_limits_and_headers_through_redis() {
	let mut redis = Redis::start();
	let mut node = Node::dev("replicas").await;
	let chain = Chain::connect(&mut node).await;
	let upstream = Upstream::counting().await;
	let alice = dev::alice();
	let charlie = dev::charlie();
	let alice_key = register(&chain, &alice).await;
	let charlie_key = register(&chain, &charlie).await;

	let redis_url = redis.url();
	let args = [
		"--audience",
		"api.test",
		"--redis",
		&redis_url,
		"--redis-timeout",
		"300",
		"--tier",
		"base:0:4:4",
	];
	let a = Gateway::start("replica-a", &node.ws_url(), &upstream.url, &args).await;
	let b = Gateway::start("replica-b", &node.ws_url(), &upstream.url, &args).await;
	assert_eq!(a.health().await["shared_state"]["kind"], "redis");

	// With shared used headers, freshness is bounded by time too: a header must name a block
	// whose arrival the replicas saw, so wait for two blocks after both started.
	let started_at = a.head().await.max(b.head().await);
	for gateway in [&a, &b] {
		let deadline = Instant::now() + Duration::from_secs(60);
		while gateway.head().await < started_at + 3 {
			assert!(Instant::now() < deadline, "no new blocks");
			tokio::time::sleep(Duration::from_millis(200)).await;
		}
	}
	let block = chain.header_block_hash().await;
	let genesis = chain.genesis_hash();
	let mut signer = Signer { key: alice_key, owner: alice, genesis, block, nonce: 0 };

	// A header used at replica A is refused at replica B, and again at A.
	let started = Instant::now();
	let once = signer.sign("GET /once");
	assert_eq!(a.get("/once", &once).await.status, StatusCode::OK);
	let replayed = b.get("/once", &once).await;
	assert_eq!(
		(replayed.status, reason(&replayed).as_str()),
		(StatusCode::UNAUTHORIZED, "Replayed")
	);
	assert_eq!(reason(&a.get("/once", &once).await), "Replayed");

	// Requests alternating between the replicas, as fast as they answer, for 2 s: the ones
	// accepted stay within one rate and burst (each replica on its own would allow as much).
	let (mut accepted_count, mut limited) = (1.0, 0);
	let mut turn = 0;
	while started.elapsed() < Duration::from_secs(2) {
		let gateway = if turn % 2 == 0 { &b } else { &a };
		turn += 1;
		let header = signer.sign("GET /rate");
		let answer = gateway.get("/rate", &header).await;
		match answer.status {
			StatusCode::OK => accepted_count += 1.0,
			StatusCode::TOO_MANY_REQUESTS => limited += 1,
			_ => panic!("{answer:?}"),
		}
	}
	let elapsed = started.elapsed().as_secs_f64();
	let bound = RATE * elapsed + BURST;
	assert!(
		accepted_count <= bound,
		"{accepted_count} accepted in {elapsed:.2} s across two replicas, above {bound:.1}"
	);
	assert!(accepted_count >= BURST, "only {accepted_count} accepted");
	assert!(limited > 0, "never rate limited");

	// Redis stops: both replicas refuse (503 SharedStateUnavailable) and say so on /healthz.
	let used_before = accepted(&a, &mut signer, "/kept").await;
	redis.stop();
	for gateway in [&a, &b] {
		let answer = gateway.get("/down", &signer.sign("GET /down")).await;
		assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
		assert_eq!(reason(&answer), "SharedStateUnavailable");
		let health = gateway.try_health().await.expect("healthz answers");
		assert_eq!(health["serving"], false, "{health}");
		assert_eq!(health["shared_state"]["up"], false, "{health}");
	}
	assert!(a.metric("session_keys_gateway_redis_errors_total").await >= 1.0);

	// Redis back (with its data): both serve again, and a header used before is still used.
	redis.restart();
	accepted(&a, &mut signer, "/back").await;
	accepted(&b, &mut signer, "/back").await;
	assert_eq!(b.health().await["shared_state"]["up"], true);
	let replayed = b.get("/kept", &used_before).await;
	assert_eq!(reason(&replayed), "Replayed", "{replayed:?}");

	// The deployment: HAProxy in front of both, each request to the next replica.
	let balancer = Haproxy::start(a.address(), b.address());
	let accepted_before = [a.metric(ACCEPTED).await, b.metric(ACCEPTED).await];
	let mut charlie_signer = Signer { key: charlie_key, owner: charlie, genesis, block, nonce: 0 };
	let mut headers = Vec::new();
	for _ in 0..4 {
		let header = charlie_signer.sign("GET /balanced");
		let answer = Gateway::get_via(&balancer.url, "/balanced", &header).await;
		assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
		headers.push(header);
	}
	let accepted_after = [a.metric(ACCEPTED).await, b.metric(ACCEPTED).await];
	assert!(
		accepted_after[0] > accepted_before[0] && accepted_after[1] > accepted_before[1],
		"both replicas served through the balancer: {accepted_before:?} -> {accepted_after:?}"
	);
	// Whichever replica a replay reaches, it is refused.
	for header in &headers {
		let answer = Gateway::get_via(&balancer.url, "/balanced", header).await;
		assert_eq!(reason(&answer), "Replayed", "{answer:?}");
	}
}

const ACCEPTED: &str = "session_keys_gateway_requests_total{outcome=\"accepted\"}";
