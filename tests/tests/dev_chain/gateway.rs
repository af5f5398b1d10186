//! The gateway binary in front of a real upstream, on a dev chain: an accepted request reaches
//! the upstream with the owner named, every refusal carries its reason, a richer owner gets the
//! higher rate, a revoke is refused from the block after its inclusion at the latest, and the
//! gateway serves from its cache while the node is away, fails closed after `--max-head-age`
//! and serves again once the node is back. Version 2 headers bind the query and the body, the
//! upstream sees none of the override or forwarding headers a client sends, the counterpart is
//! checked, a half-sent request is closed within the header-read timeout, and a random-key
//! flood from one address stays within its limit while a new key from another is served.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use session_keys_client::{
	encode_header, encode_header_v2, BoundRequest, HeaderRequest, HeaderRequestV2, Wait,
};
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

/// The text form of a version 2 header signed by `key` for `account` and `request`
/// (`METHOD /path?query`) with an empty body.
fn header(
	key: &SessionPair,
	genesis: H256,
	account: &AccountId,
	block: H256,
	nonce: u64,
	audience: &[u8],
	request: &str,
) -> String {
	header_with_body(key, genesis, account, block, nonce, audience, request, b"")
}

/// The text form of a version 2 header for `request` with `body`.
#[allow(clippy::too_many_arguments)]
fn header_with_body(
	key: &SessionPair,
	genesis: H256,
	account: &AccountId,
	block: H256,
	nonce: u64,
	audience: &[u8],
	request: &str,
	body: &[u8],
) -> String {
	let bound = BoundRequest::parse(request, body).expect("a request line");
	encode_header_v2(&key.sign_header_v2(
		genesis,
		&HeaderRequestV2 { account, block_hash: block, nonce, audience, request: &bound },
	))
}

/// The text form of a version 1 header (`METHOD /path` only).
fn header_v1(
	key: &SessionPair,
	genesis: H256,
	account: &AccountId,
	block: H256,
	nonce: u64,
	resource: &str,
) -> String {
	encode_header(&key.sign_header(
		genesis,
		&HeaderRequest {
			account,
			block_hash: block,
			nonce,
			audience: AUDIENCE,
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
	let valid = header(&key, genesis, &alice, recent, 1, AUDIENCE, "GET /orders/17?x=1");
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
	// A header is accepted once (the default).
	let replay = gateway.get("/orders/17?x=1", &valid).await;
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
	// Each header is accepted once: every request signs a new nonce.
	let mut nonce = 0;
	let mut value = || {
		nonce += 1;
		header(&key, genesis, &alice, recent, nonce, AUDIENCE, "GET /a")
	};
	assert_eq!(gateway.get("/a", &value()).await.status, StatusCode::OK);

	node.stop();
	let stopped = Instant::now();
	let answer = gateway.get("/a", &value()).await;
	println!("node stopped: {} {}", answer.status, String::from_utf8_lossy(&answer.body));
	assert_eq!(answer.status, StatusCode::OK, "served from the cache while the head is young");
	let closed_after = loop {
		let answer = gateway.get("/a", &value()).await;
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
	let value = header(&key, genesis, &alice, recent, 1_000, AUDIENCE, "GET /a");
	let answer = gateway.get("/a", &value).await;
	assert_eq!(answer.status, StatusCode::OK, "accepted again: {answer:?}");
}

/// Every header a client could use to make the upstream run another request, or trust an
/// address, host or scheme the client made up, in the spellings frameworks read.
const OVERRIDES: [(&str, &str); 20] = [
	("X-HTTP-Method-Override", "DELETE"),
	("X-HTTP-Method", "DELETE"),
	("X-Method-Override", "DELETE"),
	("X_HTTP_Method_Override", "DELETE"),
	("X-Original-URL", "/admin/wipe"),
	("X-Rewrite-URL", "/admin/wipe"),
	("X-Original-Method", "DELETE"),
	("Forwarded", "for=10.0.0.1;host=evil.example;proto=https"),
	("X-Forwarded-For", "10.0.0.1"),
	("X-Forwarded-Host", "evil.example"),
	("X-Forwarded-Proto", "https"),
	("X-Forwarded-Port", "443"),
	("X-Forwarded-Prefix", "/admin"),
	("X-Real-IP", "10.0.0.1"),
	("X-Client-IP", "10.0.0.1"),
	("True-Client-IP", "10.0.0.1"),
	("CF-Connecting-IP", "10.0.0.1"),
	("Content-Digest", "sha-256=:AAAA:"),
	("X-Session-Counterpart", "mallory"),
	("X_Session_Owner", "mallory"),
];

#[tokio::test]
async fn the_upstream_sees_only_what_was_authenticated_and_floods_stay_bounded() {
	let mut node = Node::dev("gateway-hardening").await;
	let chain = Chain::connect(&mut node).await;
	let upstream = Upstream::start().await;
	let genesis = chain.genesis_hash();
	let (alice_pair, alice) = (dev::alice(), account_of(&dev::alice()));
	let bob = account_of(&dev::bob());
	let key = register(&chain, &alice_pair, &["GET /*", "POST /orders/*"]).await;
	// A key whose counterpart is the client's own second account (Charlie here).
	let own = SessionPair::generate(CryptoKind::Sr25519);
	let own_terms = Terms { counterpart: account_of(&dev::charlie()), ..terms(&["GET /*"], None) };
	let call = build::register(own.public(), own.ownership_proof(&alice), &own_terms).unwrap();
	chain.submit(&alice_pair, call).await.expect("register");
	// Keys no one has sent yet, for the flood's legitimate client.
	let newcomer = register(&chain, &alice_pair, &["GET /*"]).await;
	let (rate, burst) = (5u32, 10u32);
	let header_read_timeout = Duration::from_secs(2);
	let gateway = Gateway::start(
		"hardening",
		&node.ws_url(),
		&upstream.url,
		&[
			"--audience",
			"api.test",
			"--counterpart",
			&bob.to_string(),
			"--max-body-bytes",
			"1024",
			"--header-read-timeout",
			&header_read_timeout.as_secs().to_string(),
			"--unknown-key-rate",
			&rate.to_string(),
			"--unknown-key-burst",
			&burst.to_string(),
		],
	)
	.await;
	let recent = chain.header_block_hash().await;
	let sign =
		|nonce: u64, request: &str| header(&key, genesis, &alice, recent, nonce, AUDIENCE, request);

	// Every override header is dropped; the forwarding headers are the gateway's own.
	let valid = sign(1, "GET /orders/17?b=2&a=%7e");
	let mut headers: Vec<(&str, &str)> = OVERRIDES.to_vec();
	headers.push(("x-session-auth", &valid));
	let answer = gateway.send(Method::GET, "/orders/17?b=2&a=%7e", &headers).await.unwrap();
	assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
	assert_eq!(answer.headers["cache-control"], "private");
	assert_eq!(answer.headers["vary"], "x-session-auth");
	let seen = upstream.seen();
	let seen = seen.last().expect("the request reached the upstream");
	assert_eq!(seen.method, Method::GET);
	assert_eq!(seen.uri, "/orders/17?a=~&b=2", "the canonical query, as signed");
	for (name, _) in OVERRIDES {
		let value = seen.headers.get(name).map(|value| value.to_str().unwrap_or("?").to_owned());
		let ours = [
			"forwarded",
			"x-forwarded-for",
			"x-forwarded-proto",
			"content-digest",
			"x-session-counterpart",
		];
		if ours.contains(&name.to_ascii_lowercase().as_str()) {
			assert!(
				value.as_deref().is_some_and(|v| !v.contains("10.0.0.1")
					&& !v.contains("evil")
					&& !v.contains("mallory")
					&& v != "https" && v != "sha-256=:AAAA:"),
				"{name}: {value:?}"
			);
		} else {
			assert_eq!(value, None, "{name} reached the upstream");
		}
	}
	for name in
		["x-http-method-override", "x_http_method_override", "x_session_owner", "x-original-url"]
	{
		assert!(seen.headers.get(name).is_none(), "{name}");
	}
	// No `--public-host`: the client's `Host` is its own word, and is not forwarded.
	assert_eq!(seen.headers["forwarded"], "for=127.0.0.1;proto=http");
	assert_eq!(seen.headers["x-forwarded-for"], "127.0.0.1");
	assert!(seen.headers.get("x-forwarded-host").is_none());
	assert_eq!(seen.headers["x-forwarded-proto"], "http");
	assert_eq!(seen.headers["x-session-counterpart"], bob.to_string().as_str());
	assert_eq!(seen.headers["x-session-owner"], alice.to_string().as_str());
	assert_eq!(
		seen.headers["content-digest"],
		"sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
	);

	// What was signed, and nothing else: the query, the body, once.
	let reused = gateway.get("/orders/17?b=2&a=%7e", &valid).await;
	assert_eq!((reused.status, reused.reason()), (StatusCode::UNAUTHORIZED, "Replayed".into()));
	let other_query = gateway.get("/orders/17?a=~&b=3", &sign(2, "GET /orders/17?a=~&b=2")).await;
	assert_eq!(
		(other_query.status, other_query.reason()),
		(StatusCode::UNAUTHORIZED, "BadSignature".into())
	);
	assert!(other_query.json()["detail"].as_str().unwrap().contains("query differs"));
	let post = header_with_body(
		&key,
		genesis,
		&alice,
		recent,
		3,
		AUDIENCE,
		"POST /orders/17",
		br#"{"qty":1}"#,
	);
	let other_body = gateway
		.send_body(
			Method::POST,
			"/orders/17",
			&[("x-session-auth", &post)],
			Bytes::from_static(br#"{"qty":100000}"#),
		)
		.await
		.unwrap();
	assert_eq!(
		(other_body.status, other_body.reason()),
		(StatusCode::UNAUTHORIZED, "BadSignature".into())
	);
	assert!(other_body.json()["detail"].as_str().unwrap().contains("body differs"));
	let signed_body = gateway
		.send_body(
			Method::POST,
			"/orders/17",
			&[("x-session-auth", &post)],
			Bytes::from_static(br#"{"qty":1}"#),
		)
		.await
		.unwrap();
	assert_eq!(signed_body.status, StatusCode::OK, "{signed_body:?}");
	let overridden =
		gateway.get("/orders/17?_method=DELETE", &sign(4, "GET /orders/17?_method=DELETE")).await;
	assert_eq!(
		(overridden.status, overridden.reason()),
		(StatusCode::BAD_REQUEST, "MethodOverride".into())
	);
	let large = vec![b'x'; 2048];
	let big =
		header_with_body(&key, genesis, &alice, recent, 5, AUDIENCE, "POST /orders/1", &large);
	let too_large = gateway
		.send_body(Method::POST, "/orders/1", &[("x-session-auth", &big)], Bytes::from(large))
		.await
		.unwrap();
	assert_eq!(
		(too_large.status, too_large.reason()),
		(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge".into())
	);
	let v1 = header_v1(&key, genesis, &alice, recent, 6, "GET /orders/1");
	let refused_v1 = gateway.get("/orders/1", &v1).await;
	assert_eq!(
		(refused_v1.status, refused_v1.reason()),
		(StatusCode::UNAUTHORIZED, "VersionOneRefused".into())
	);
	// The counterpart: a key naming the client's own account is refused.
	let wrong =
		gateway.get("/a", &header(&own, genesis, &alice, recent, 1, AUDIENCE, "GET /a")).await;
	assert_eq!((wrong.status, wrong.reason()), (StatusCode::FORBIDDEN, "WrongCounterpart".into()));

	// A half-sent request, and a connection that sends nothing, are closed within the
	// header-read timeout.
	for (what, sent) in [
		("half-sent request", &b"GET /orders/1 HTTP/1.1\r\nHost: x\r\nx-sess"[..]),
		("silent connection", b""),
	] {
		let address = gateway.address().to_owned();
		let limit = header_read_timeout * 3;
		let (read, rest, closed_after) = tokio::task::spawn_blocking(move || {
			use std::io::{Read, Write};
			let mut stream = std::net::TcpStream::connect(address).unwrap();
			stream.write_all(sent).unwrap();
			let opened = Instant::now();
			stream.set_read_timeout(Some(limit)).unwrap();
			let mut rest = Vec::new();
			// Ok at end of stream (or a reset): closed; a timeout: still open.
			let read = match stream.read_to_end(&mut rest) {
				Err(error)
					if matches!(
						error.kind(),
						std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
					) =>
				{
					Err(error)
				}
				_ => Ok(()),
			};
			(read, rest, opened.elapsed())
		})
		.await
		.unwrap();
		println!("{what}: closed after {closed_after:?} ({} bytes answered)", rest.len());
		assert!(read.is_ok(), "{what} still open after {limit:?}");
		assert!(
			closed_after <= header_read_timeout + Duration::from_secs(1),
			"{what}: {closed_after:?}"
		);
	}

	// A flood of headers by made-up keys from 127.0.0.1: the node reads stay within the
	// address's bucket, and a new key from 127.0.0.2 is served meanwhile.
	let reads_before = gateway.metric("session_keys_gateway_node_reads_total{kind=\"key\"}").await;
	let flood_started = Instant::now();
	let flood_for = Duration::from_secs(4);
	let flooding = {
		let url = gateway.url.clone();
		tokio::spawn(async move {
			let client: hyper_util::client::legacy::Client<_, http_body_util::Full<Bytes>> =
				hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
					.build_http();
			let mut tasks = tokio::task::JoinSet::new();
			for worker in 0..8u64 {
				let (client, url) = (client.clone(), url.clone());
				tasks.spawn(async move {
					let mut statuses = Vec::new();
					let mut nonce = worker * 1_000_000;
					while flood_started.elapsed() < flood_for {
						nonce += 1;
						let made_up = SessionPair::generate(CryptoKind::Sr25519);
						let value = header(
							&made_up,
							genesis,
							&account_of(&dev::alice()),
							recent,
							nonce,
							AUDIENCE,
							"GET /a",
						);
						let request = http::Request::get(format!("{url}/a"))
							.header("x-session-auth", value)
							.body(http_body_util::Full::new(Bytes::new()))
							.unwrap();
						if let Ok(response) = client.request(request).await {
							statuses.push(response.status());
						}
					}
					statuses
				});
			}
			let mut statuses = Vec::new();
			while let Some(done) = tasks.join_next().await {
				statuses.extend(done.unwrap());
			}
			statuses
		})
	};
	tokio::time::sleep(Duration::from_secs(1)).await;
	let legit = header(&newcomer, genesis, &alice, recent, 1, AUDIENCE, "GET /a");
	let sent = Instant::now();
	let served = gateway
		.send_from(
			"127.0.0.2".parse().unwrap(),
			Method::GET,
			"/a",
			&[("x-session-auth", &legit)],
			Bytes::new(),
		)
		.await
		.unwrap();
	let latency = sent.elapsed();
	let statuses = flooding.await.unwrap();
	let flood_seconds = flood_started.elapsed().as_secs_f64();
	let reads =
		gateway.metric("session_keys_gateway_node_reads_total{kind=\"key\"}").await - reads_before;
	let limited =
		statuses.iter().filter(|status| **status == StatusCode::TOO_MANY_REQUESTS).count();
	let unknown = statuses.iter().filter(|status| **status == StatusCode::UNAUTHORIZED).count();
	println!(
		"flood: {} requests by made-up keys from one address in {flood_seconds:.1} s ({:.0}/s): \
		 {unknown} read and refused UnknownKey, {limited} refused 429 before any read; {reads} key \
		 reads of the node ({:.1}/s, {:.3} per flood request); the new key from another address \
		 was served in {latency:?}",
		statuses.len(),
		statuses.len() as f64 / flood_seconds,
		reads / flood_seconds,
		reads / statuses.len().max(1) as f64,
	);
	assert_eq!(served.status, StatusCode::OK, "{served:?}");
	assert!(latency < Duration::from_millis(500), "the new key waited {latency:?}");
	// The bucket: `burst` at once, then `rate` a second (one more for the new key, one for
	// rounding).
	let allowed = f64::from(burst) + f64::from(rate) * flood_seconds + 2.0;
	assert!(reads <= allowed, "{reads} node reads, more than the {allowed} the limit allows");
	assert!(limited > 0 && statuses.len() > limited, "{statuses:?}");

	// With --accept-v1, the operator takes version 1 headers.
	let lenient = Gateway::start(
		"accept-v1",
		&node.ws_url(),
		&upstream.url,
		&["--audience", "api.test", "--accept-v1"],
	)
	.await;
	let v1 = header_v1(&key, genesis, &alice, recent, 7, "GET /orders/1");
	let accepted = lenient.get("/orders/1", &v1).await;
	assert_eq!(accepted.status, StatusCode::OK, "{accepted:?}");
}
