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
/// The one tier: 2 requests a second, bursts of 2.
const RATE: f64 = 2.0;
const BURST: f64 = 2.0;

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
	let dave = dev::dave();
	let dave_key = register(&chain, &dave).await;

	let redis_url = redis.url();
	let args = [
		"--audience",
		"api.test",
		"--redis",
		&redis_url,
		"--redis-timeout",
		"500",
		"--tier",
		"base:0:2:2",
	];
	let a = Gateway::start("replica-a", &node.ws_url(), &upstream.url, &args).await;
	let b = Gateway::start("replica-b", &node.ws_url(), &upstream.url, &args).await;
	assert_eq!(a.health().await["shared_state"]["kind"], "redis");

	// The balancer in front of both, from the start: it must follow Redis' outage and return.
	let balancer = Haproxy::start(a.address(), b.address());
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

	// Requests alternating between the replicas, as fast as they answer, for 3 s: the ones
	// accepted stay within one rate and burst (each replica on its own would allow as much).
	// An answer 503 (a slow Redis call on a loaded machine) counts as neither.
	let (mut accepted_count, mut limited) = (1.0, 0);
	let mut turn = 0;
	while started.elapsed() < Duration::from_secs(3) {
		let gateway = if turn % 2 == 0 { &b } else { &a };
		turn += 1;
		let header = signer.sign("GET /rate");
		let answer = gateway.get("/rate", &header).await;
		match answer.status {
			StatusCode::OK => accepted_count += 1.0,
			StatusCode::TOO_MANY_REQUESTS => limited += 1,
			StatusCode::SERVICE_UNAVAILABLE => {}
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

	// Redis stops: both replicas see it on their own (a probe a second), say so on /healthz,
	// and refuse (503 SharedStateUnavailable).
	let used_before = accepted(&a, &mut signer, "/kept").await;
	redis.stop();
	for gateway in [&a, &b] {
		let deadline = Instant::now() + Duration::from_secs(20);
		loop {
			let health = gateway.try_health().await.expect("healthz answers");
			if health["shared_state"]["up"] == false {
				assert_eq!(health["serving"], false, "{health}");
				break;
			}
			assert!(Instant::now() < deadline, "Redis' outage not seen: {health}");
			tokio::time::sleep(Duration::from_millis(200)).await;
		}
		let answer = gateway.get("/down", &signer.sign("GET /down")).await;
		assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
		assert_eq!(reason(&answer), "SharedStateUnavailable");
	}
	assert!(a.metric("session_keys_gateway_redis_errors_total").await >= 1.0);
	assert_eq!(a.metric("session_keys_gateway_redis_up").await, 0.0);

	// Redis back (with its data): service resumes through the balancer with no request sent
	// to a replica directly (their probes see Redis back, the balancer's health checks them),
	// and a header used before the outage is still used.
	redis.restart();
	let mut charlie_signer = Signer { key: charlie_key, owner: charlie, genesis, block, nonce: 0 };
	let deadline = Instant::now() + Duration::from_secs(30);
	loop {
		let header = charlie_signer.sign("GET /back");
		let answer = Gateway::get_via(&balancer.url, "/back", &header).await;
		if answer.status == StatusCode::OK {
			break;
		}
		assert!(Instant::now() < deadline, "service did not resume: {answer:?}");
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
	assert_eq!(b.health().await["shared_state"]["up"], true);
	let replayed = b.get("/kept", &used_before).await;
	assert_eq!(reason(&replayed), "Replayed", "{replayed:?}");

	// The deployment: each request to the next replica, until both have served (a replica
	// just back is put back in by the balancer's next health check).
	let accepted_before = [a.metric(ACCEPTED).await, b.metric(ACCEPTED).await];
	let mut dave_signer = Signer { key: dave_key, owner: dave, genesis, block, nonce: 0 };
	let mut headers = Vec::new();
	let deadline = Instant::now() + Duration::from_secs(30);
	loop {
		let header = dave_signer.sign("GET /balanced");
		let answer = Gateway::get_via(&balancer.url, "/balanced", &header).await;
		match answer.status {
			StatusCode::OK => headers.push(header),
			// Dave's bucket (2 a second) refills; or, just after Redis' outage, the balancer
			// has no replica back in yet (its health checks run every second).
			StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
				tokio::time::sleep(Duration::from_millis(250)).await
			}
			_ => panic!("{answer:?}"),
		}
		let accepted_after = [a.metric(ACCEPTED).await, b.metric(ACCEPTED).await];
		if accepted_after[0] > accepted_before[0] && accepted_after[1] > accepted_before[1] {
			break;
		}
		assert!(
			Instant::now() < deadline,
			"both replicas serve through the balancer: {accepted_before:?} -> {accepted_after:?}"
		);
	}
	// Whichever replica a replay reaches, it is refused.
	for header in &headers {
		let answer = Gateway::get_via(&balancer.url, "/balanced", header).await;
		assert_eq!(reason(&answer), "Replayed", "{answer:?}");
	}
}

const ACCEPTED: &str = "session_keys_gateway_requests_total{outcome=\"accepted\"}";

/// The admission script against a real Redis, step by step: a bucket allows its burst and
/// then one request per interval, a replay is refused without taking a token, a block's
/// headers go stale once its lifetime (fixed at its first use) has passed, and the script
/// is loaded again after Redis forgets it.
#[tokio::test]
async fn the_admission_script_keeps_bursts_replays_and_lifetimes_in_redis() {
	use session_keys_gateway::{
		admission::{Admission, OneTime, RedisAdmission, RedisSettings},
		metrics::Metrics,
		Refusal, Tier,
	};
	use std::num::NonZeroU32;

	let mut redis = Redis::start();
	let tier = Tier {
		name: "base".into(),
		min_balance: 10,
		per_second: NonZeroU32::new(5).unwrap(),
		burst: NonZeroU32::new(3).unwrap(),
	};
	let admission = Admission::Redis(Box::new(
		RedisAdmission::new(RedisSettings::new(redis.url(), AUDIENCE), vec![tier]).unwrap(),
	));
	let metrics = Metrics::new();
	let owner = account_of(&dev::alice());
	let key = SessionPair::generate(CryptoKind::Sr25519).public();
	let block = H256::repeat_byte(7);
	let once = |nonce: u64, lifetime_ms: u64| OneTime {
		public: key,
		nonce,
		block,
		fresh_until: 0,
		lifetime: Duration::from_millis(lifetime_ms),
	};
	let admit = |one_time: Option<OneTime>| admission.admit(&owner, 100, one_time, &metrics);

	// The burst, then a wait of about one interval (200 ms).
	for nonce in 1..=3 {
		assert_eq!(admit(Some(once(nonce, 60_000))).await.unwrap(), "base", "nonce {nonce}");
	}
	match admit(Some(once(4, 60_000))).await {
		Err(Refusal::RateLimited { tier, retry_after }) => {
			assert_eq!(tier, "base");
			assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_millis(200));
		}
		other => panic!("expected a rate limit, got {other:?}"),
	}
	// Below the lowest tier: refused without Redis' say.
	assert!(matches!(
		admission.admit(&owner, 9, None, &metrics).await,
		Err(Refusal::BelowLowestTier { min_balance: 10 })
	));
	tokio::time::sleep(Duration::from_millis(250)).await;
	// A replay is refused, and takes no token: the next new header still passes.
	assert!(matches!(admit(Some(once(2, 60_000))).await, Err(Refusal::Replayed)));
	assert!(admit(Some(once(5, 60_000))).await.is_ok());

	// Another block, given a 300 ms lifetime at its first use: stale after it, for every
	// replica, whatever lifetime a later one proposes.
	let short = H256::repeat_byte(8);
	let on_short =
		|nonce: u64, lifetime_ms: u64| OneTime { block: short, ..once(nonce, lifetime_ms) };
	tokio::time::sleep(Duration::from_millis(250)).await;
	assert!(admit(Some(on_short(10, 300))).await.is_ok());
	tokio::time::sleep(Duration::from_millis(400)).await;
	match admit(Some(on_short(11, 60_000))).await {
		Err(Refusal::NotAuthenticated { reason, .. }) => {
			assert_eq!(reason, session_keys_client::AuthError::StaleBlockHash)
		}
		other => panic!("expected stale, got {other:?}"),
	}
	// The used header is still refused as stale (not accepted) after its own key expired.
	tokio::time::sleep(Duration::from_millis(1_200)).await;
	assert!(matches!(
		admit(Some(on_short(10, 60_000))).await,
		Err(Refusal::NotAuthenticated { .. })
	));

	// Redis forgets its scripts (a restart does the same): the script is loaded again.
	let mut stream = std::net::TcpStream::connect(
		redis.url().trim_start_matches("redis://").trim_end_matches("/0"),
	)
	.unwrap();
	std::io::Write::write_all(&mut stream, b"SCRIPT FLUSH\r\n").unwrap();
	let mut answer = [0u8; 5];
	std::io::Read::read_exact(&mut stream, &mut answer).unwrap();
	assert_eq!(&answer, b"+OK\r\n");
	assert!(admit(Some(once(20, 60_000))).await.is_ok());
	assert!(admission.health().up);

	// Redis gone: a request fails closed at once, but only the probe takes the replica's
	// health down (a request failing on a connection being replaced must not take it out of
	// its balancer); an answer brings it back up.
	let Admission::Redis(inner) = &admission else { unreachable!() };
	redis.stop();
	assert!(matches!(admit(Some(once(21, 60_000))).await, Err(Refusal::SharedStateUnavailable(_))));
	assert!(admission.health().up, "a request's failure leaves the health to the probe");
	inner.probe_once(&metrics).await;
	assert!(!admission.health().up, "the probe takes it down");
	redis.restart();
	let deadline = std::time::Instant::now() + Duration::from_secs(30);
	while !admission.health().up {
		assert!(std::time::Instant::now() < deadline, "Redis did not answer again in 30 s");
		inner.probe_once(&metrics).await;
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
	assert!(admit(Some(once(22, 60_000))).await.is_ok());
}
