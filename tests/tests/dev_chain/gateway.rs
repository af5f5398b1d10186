//! The gateway binary in front of a real upstream, on a dev chain: an accepted request reaches
//! the upstream with the owner named, every refusal carries its reason, a richer owner gets the
//! higher rate, a revoke is refused from the block after its inclusion at the latest, and the
//! gateway serves from its cache while the node is away, fails closed after `--max-head-age`
//! and serves again once the node is back.

use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use session_keys_client::{encode_header, HeaderRequest, Wait};
use session_keys_e2e::{
	account_of, build,
	gateway::{Gateway, Upstream},
	Chain, Node, SessionPair, Terms,
};
use session_keys_primitives::CryptoKind;
use session_keys_runtime::{AccountId, BlockNumber, RuntimeCall, UNIT};
use sp_core::H256;
use subxt_signer::{sr25519::dev, sr25519::Keypair, SecretUri};

const AUDIENCE: &[u8] = b"api.test";

fn terms(scope: &[&str], duration: Option<BlockNumber>) -> Terms {
	Terms {
		counterpart: account_of(&dev::bob()),
		duration,
		spending_limit: 0,
		collateral: 0,
		description: b"gateway e2e".to_vec(),
		scope: scope.iter().map(|item| item.as_bytes().to_vec()).collect(),
	}
}

async fn register(chain: &Chain, owner: &Keypair, scope: &[&str]) -> SessionPair {
	register_for(chain, owner, scope, None).await
}

async fn register_for(
	chain: &Chain,
	owner: &Keypair,
	scope: &[&str],
	duration: Option<BlockNumber>,
) -> SessionPair {
	let key = SessionPair::generate(CryptoKind::Sr25519);
	let terms = terms(scope, duration);
	let call =
		build::register(key.public(), key.ownership_proof(&account_of(owner)), &terms).unwrap();
	chain.submit(owner, call).await.expect("register");
	key
}

/// Funds a fresh account (`//<name>`) with `units` from Alice.
async fn funded(chain: &Chain, name: &str, units: u128) -> Keypair {
	let pair = Keypair::from_uri(&format!("//{name}").parse::<SecretUri>().unwrap()).unwrap();
	let fund = RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
		dest: account_of(&pair).into(),
		value: units * UNIT,
	});
	chain.submit(&dev::alice(), fund).await.expect("fund");
	pair
}

/// Polls until the gateway's head is at least `number`.
async fn wait_for_head(gateway: &Gateway, number: BlockNumber) {
	let deadline = Instant::now() + Duration::from_secs(60);
	while gateway.head().await < u64::from(number) {
		assert!(Instant::now() < deadline, "the gateway never reached block #{number}");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

/// The text form of a header signed by `key` for `account`.
fn header(
	key: &SessionPair,
	genesis: H256,
	account: &AccountId,
	block: H256,
	nonce: u64,
	audience: &[u8],
	resource: &str,
) -> String {
	encode_header(&key.sign_header(
		genesis,
		&HeaderRequest {
			account,
			block_hash: block,
			nonce,
			audience,
			resource: resource.as_bytes(),
		},
	))
}

#[tokio::test]
async fn the_gateway_authenticates_rate_limits_and_sees_a_revocation_within_a_block() {
	let mut node = Node::dev("gateway").await;
	let chain = Chain::connect(&mut node).await;
	let upstream = Upstream::start().await;
	let genesis = chain.genesis_hash();
	let (alice_pair, alice) = (dev::alice(), account_of(&dev::alice()));
	let key = register(&chain, &alice_pair, &["GET /*", "POST /orders/*"]).await;

	// A poor owner (20 units, against Alice's million) and one below every tier (10 units).
	let poor_pair = funded(&chain, "GatewayPoor", 20).await;
	let poor = account_of(&poor_pair);
	let poor_key = register(&chain, &poor_pair, &["GET /*"]).await;
	let broke_pair = funded(&chain, "GatewayBroke", 10).await;
	let broke_key = register(&chain, &broke_pair, &["GET /*"]).await;
	// A key that expires in two blocks, and one its counterpart ends at once.
	let expiring = register_for(&chain, &alice_pair, &["GET /*"], Some(2)).await;
	let expires_at = chain.registration(&expiring.public()).await.expect("registered").expires_at;
	let ended = register(&chain, &alice_pair, &["GET /*"]).await;
	let discontinue = chain.submit(&dev::bob(), build::discontinue(ended.public())).await;
	let discontinued_at = discontinue.expect("discontinue").block_number;

	let gold = (1_000 * UNIT).to_string();
	let gateway = Gateway::start(
		"main",
		&node.ws_url(),
		&upstream.url,
		&[
			"--audience",
			"api.test",
			"--one-time-headers",
			"--tier",
			&format!("base:{}:1:3", 15 * UNIT),
			"--tier",
			&format!("gold:{gold}:200:100"),
		],
	)
	.await;

	// Accepted: the upstream gets the request with the owner, not the session header, and not
	// an owner header the client tried to set itself.
	let recent = chain.header_block_hash().await;
	let valid = header(&key, genesis, &alice, recent, 1, AUDIENCE, "GET /orders/17");
	let answer = gateway
		.send(
			Method::GET,
			"/orders/17?x=1",
			&[("x-session-auth", &valid), ("x-session-owner", "mallory")],
		)
		.await
		.unwrap();
	assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
	assert_eq!(answer.body, "upstream: /orders/17?x=1");
	let seen = upstream.seen();
	assert_eq!(seen.len(), 1);
	assert_eq!(seen[0].headers["x-session-owner"], alice.to_string().as_str());
	assert_eq!(seen[0].headers["x-session-tier"], "gold");
	assert!(seen[0].headers["x-session-key"].to_str().unwrap().starts_with("0x00"));
	assert!(seen[0].headers.get("x-session-auth").is_none());

	// Each refusal, with its reason; none reaches the upstream.
	let bob = account_of(&dev::bob());
	let stranger = SessionPair::generate(CryptoKind::Sr25519);
	let cases: Vec<(&str, Method, &str, Option<String>, StatusCode, serde_json::Value)> = vec![
		(
			"no header",
			Method::GET,
			"/orders/1",
			None,
			StatusCode::UNAUTHORIZED,
			"MissingHeader".into(),
		),
		(
			"garbage",
			Method::GET,
			"/orders/1",
			Some("v1.!!!".into()),
			StatusCode::BAD_REQUEST,
			"MalformedHeader".into(),
		),
		(
			"another audience",
			Method::GET,
			"/orders/1",
			Some(header(&key, genesis, &alice, recent, 2, b"other.api", "GET /orders/1")),
			StatusCode::UNAUTHORIZED,
			"BadSignature".into(),
		),
		(
			"another path",
			Method::GET,
			"/orders/2",
			Some(header(&key, genesis, &alice, recent, 3, AUDIENCE, "GET /orders/1")),
			StatusCode::UNAUTHORIZED,
			"BadSignature".into(),
		),
		(
			"out of scope",
			Method::POST,
			"/accounts/1",
			Some(header(&key, genesis, &alice, recent, 4, AUDIENCE, "POST /accounts/1")),
			StatusCode::UNAUTHORIZED,
			"OutOfScope".into(),
		),
		(
			"traversal",
			Method::POST,
			"/orders/../accounts/1",
			Some(header(&key, genesis, &alice, recent, 5, AUDIENCE, "POST /orders/../accounts/1")),
			StatusCode::UNAUTHORIZED,
			"NonCanonicalResource".into(),
		),
		(
			"encoded traversal",
			Method::POST,
			"/orders/%2e%2e/accounts/1",
			Some(header(&key, genesis, &alice, recent, 6, AUDIENCE, "POST /orders/../accounts/1")),
			StatusCode::UNAUTHORIZED,
			"NonCanonicalResource".into(),
		),
		(
			"made-up block",
			Method::GET,
			"/orders/1",
			Some(header(
				&key,
				genesis,
				&alice,
				H256::repeat_byte(0x42),
				7,
				AUDIENCE,
				"GET /orders/1",
			)),
			StatusCode::UNAUTHORIZED,
			"StaleBlockHash".into(),
		),
		(
			"another account",
			Method::GET,
			"/orders/1",
			Some(header(&key, genesis, &bob, recent, 8, AUDIENCE, "GET /orders/1")),
			StatusCode::UNAUTHORIZED,
			"WrongAccount".into(),
		),
		(
			"unknown key",
			Method::GET,
			"/orders/1",
			Some(header(&stranger, genesis, &alice, recent, 9, AUDIENCE, "GET /orders/1")),
			StatusCode::UNAUTHORIZED,
			"UnknownKey".into(),
		),
		(
			"another chain",
			Method::GET,
			"/orders/1",
			Some(header(&key, H256::repeat_byte(7), &alice, recent, 10, AUDIENCE, "GET /orders/1")),
			StatusCode::UNAUTHORIZED,
			"BadSignature".into(),
		),
	];
	for (what, method, path, value, status, reason) in cases {
		let headers: Vec<(&str, &str)> =
			value.iter().map(|value| ("x-session-auth", value.as_str())).collect();
		let answer = gateway.send(method, path, &headers).await.unwrap();
		println!("{what}: {} {}", answer.status, String::from_utf8_lossy(&answer.body));
		assert_eq!((answer.status, answer.reason()), (status, reason), "{what}");
	}
	// A header is accepted once (`--one-time-headers`).
	let replay = gateway.get("/orders/17", &valid).await;
	assert_eq!((replay.status, replay.reason()), (StatusCode::UNAUTHORIZED, "Replayed".into()));
	// An owner below every tier.
	let broke = account_of(&broke_pair);
	let answer = gateway
		.get("/a", &header(&broke_key, genesis, &broke, recent, 1, AUDIENCE, "GET /a"))
		.await;
	assert_eq!((answer.status, answer.reason()), (StatusCode::FORBIDDEN, "BelowLowestTier".into()));
	// A key past its expiry (closing) and a key whose session ended.
	wait_for_head(&gateway, expires_at.max(discontinued_at)).await;
	let answer =
		gateway.get("/a", &header(&expiring, genesis, &alice, recent, 1, AUDIENCE, "GET /a")).await;
	assert_eq!((answer.status, answer.reason()), (StatusCode::UNAUTHORIZED, "KeyExpired".into()));
	let answer =
		gateway.get("/a", &header(&ended, genesis, &alice, recent, 1, AUDIENCE, "GET /a")).await;
	assert_eq!(
		(answer.status, answer.reason()),
		(StatusCode::UNAUTHORIZED, serde_json::json!({"KeyEnded": "Discontinued"}))
	);
	assert_eq!(upstream.seen().len(), 1, "no refused request reached the upstream");

	// Rates by balance: the poor owner's bucket holds 3, Alice's 100.
	let mut poor_statuses = Vec::new();
	for nonce in 0..6 {
		let value = header(&poor_key, genesis, &poor, recent, nonce, AUDIENCE, "GET /a");
		let answer = gateway.get("/a", &value).await;
		if answer.status == StatusCode::TOO_MANY_REQUESTS {
			assert_eq!(answer.reason(), "RateLimited");
			let retry: u64 = answer.headers["retry-after"].to_str().unwrap().parse().unwrap();
			assert!((1..=2).contains(&retry), "Retry-After {retry}");
		}
		poor_statuses.push(answer.status);
	}
	let mut rich_statuses = Vec::new();
	for nonce in 100..130 {
		let value = header(&key, genesis, &alice, recent, nonce, AUDIENCE, "GET /a");
		rich_statuses.push(gateway.get("/a", &value).await.status);
	}
	println!("poor owner (base: 1/s, burst 3): {poor_statuses:?}");
	println!(
		"rich owner (gold: 200/s, burst 100): {} of 30 accepted",
		rich_statuses.iter().filter(|s| **s == StatusCode::OK).count()
	);
	assert!(poor_statuses[..3].iter().all(|s| *s == StatusCode::OK));
	assert!(poor_statuses.contains(&StatusCode::TOO_MANY_REQUESTS));
	assert!(rich_statuses.iter().all(|s| *s == StatusCode::OK));

	// Revocation: accepted up to the revoke, refused from the block after its inclusion at the
	// latest.
	let revoke = chain.client.submit(&alice_pair, build::revoke(key.public()), Wait::InBlock);
	let included = revoke.await.expect("revoke");
	let revoked_at = included.block_number;
	let started = Instant::now();
	let mut nonce = 1_000;
	let (refused_at_head, refused_after) = loop {
		nonce += 1;
		let best_before = chain.client.best_number().await.expect("best");
		let value = header(&key, genesis, &alice, recent, nonce, AUDIENCE, "GET /orders/1");
		let answer = gateway.get("/orders/1", &value).await;
		if answer.status == StatusCode::UNAUTHORIZED {
			assert_eq!(answer.reason(), "KeyRevoked");
			break (gateway.head().await, started.elapsed());
		}
		assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
		assert!(
			best_before <= revoked_at,
			"accepted while the node's best block was #{best_before}, after the revoke's #{revoked_at}"
		);
		assert!(started.elapsed() < Duration::from_secs(30), "never refused");
		tokio::time::sleep(Duration::from_millis(100)).await;
	};
	println!(
		"revoke included in block #{revoked_at}; refused by the gateway at its head #{refused_at_head}, \
		 {refused_after:?} after the client saw the inclusion"
	);
	assert!(refused_at_head <= u64::from(revoked_at) + 1);
	let metrics = gateway.metrics().await;
	assert!(
		metrics.contains("session_keys_gateway_requests_total{outcome=\"KeyRevoked\"}"),
		"{metrics}"
	);
	assert!(metrics.contains("session_keys_gateway_auth_seconds_bucket"));
}

#[tokio::test]
async fn the_gateway_serves_from_its_cache_then_fails_closed_while_the_node_is_away() {
	let base = tempfile::tempdir().expect("a temp dir");
	let base_path = base.path().to_str().expect("a UTF-8 temp path").to_string();
	let mut node = Node::spawn("gateway-away", &["--dev", "--base-path", &base_path]);
	node.wait_until_finalizing(1).await;
	let chain = Chain::connect(&mut node).await;
	let upstream = Upstream::start().await;
	let genesis = chain.genesis_hash();
	let alice = account_of(&dev::alice());
	let key = register(&chain, &dev::alice(), &["*"]).await;
	let max_head_age = Duration::from_secs(10);
	let gateway = Gateway::start(
		"away",
		&node.ws_url(),
		&upstream.url,
		&["--audience", "api.test", "--max-head-age", &max_head_age.as_secs().to_string()],
	)
	.await;
	let recent = chain.header_block_hash().await;
	let value = header(&key, genesis, &alice, recent, 1, AUDIENCE, "GET /a");
	assert_eq!(gateway.get("/a", &value).await.status, StatusCode::OK);

	node.stop();
	let stopped = Instant::now();
	let answer = gateway.get("/a", &value).await;
	println!("node stopped: {} {}", answer.status, String::from_utf8_lossy(&answer.body));
	assert_eq!(answer.status, StatusCode::OK, "served from the cache while the head is young");
	let closed_after = loop {
		let answer = gateway.get("/a", &value).await;
		if answer.status == StatusCode::SERVICE_UNAVAILABLE {
			assert_eq!(answer.reason(), "Unavailable");
			break stopped.elapsed();
		}
		assert_eq!(answer.status, StatusCode::OK);
		assert!(stopped.elapsed() < max_head_age + Duration::from_secs(5), "never failed closed");
		tokio::time::sleep(Duration::from_millis(200)).await;
	};
	println!(
		"failed closed {closed_after:?} after the node stopped (--max-head-age {max_head_age:?})"
	);
	assert!(closed_after <= max_head_age + Duration::from_secs(1));
	let health = gateway.health().await;
	assert_eq!(health["serving"], false, "{health}");

	node.start();
	node.wait_until_finalizing(2).await;
	gateway.wait_until_serving(Duration::from_secs(90)).await;
	let recent = chain.header_block_hash().await;
	let value = header(&key, genesis, &alice, recent, 2, AUDIENCE, "GET /a");
	let answer = gateway.get("/a", &value).await;
	assert_eq!(answer.status, StatusCode::OK, "accepted again: {answer:?}");
}
