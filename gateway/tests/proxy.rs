//! The reverse proxy in process, in front of a recording upstream, with a chain in memory:
//! what the upstream receives (the canonical query, the body, the gateway's own session and
//! forwarding headers, none of a client's override headers), the allowlist mode, answers
//! marked private, 413 beyond the body limit, half-sent and idle connections closed within the
//! header-read timeout, and the connection cap.

use std::{
	collections::HashMap,
	convert::Infallible,
	io::{Read, Write},
	net::SocketAddr,
	sync::Arc,
	time::{Duration, Instant},
};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::{
	client::legacy::Client,
	rt::{TokioExecutor, TokioIo},
};
use parking_lot::Mutex;
use session_keys_client::{
	encode_header_v2, AccountId, Balance, BoundRequest, ChannelState, CryptoKind, HeaderRequestV2,
	KeyRecord, Registration, SessionPair,
};
use session_keys_gateway::{
	proxy::{self, ServeOptions},
	Chain, ChainError, Gateway, NewBlock, Settings,
};
use session_keys_primitives::SessionPublic;
use sp_core::H256;
use tokio::net::TcpListener;

const AUDIENCE: &[u8] = b"api.test";
const GENESIS: H256 = H256::repeat_byte(0x01);

#[derive(Default)]
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

/// A request as the upstream saw it.
#[derive(Clone, Debug)]
struct Seen {
	method: Method,
	uri: String,
	headers: HeaderMap,
	body: Bytes,
}

/// The proxy on a loopback port, its upstream and a key registered for `POST /*` and `GET /*`.
struct Proxy {
	address: SocketAddr,
	seen: Arc<Mutex<Vec<Seen>>>,
	key: SessionPair,
	owner: AccountId,
	counterpart: AccountId,
	nonce: std::sync::atomic::AtomicU64,
	tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Proxy {
	fn drop(&mut self) {
		for task in &self.tasks {
			task.abort();
		}
	}
}

impl Proxy {
	async fn start(settings: Settings, options: ServeOptions) -> Proxy {
		let upstream = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
		let upstream_url = format!("http://{}", upstream.local_addr().unwrap());
		let seen = Arc::new(Mutex::new(Vec::new()));
		let record = seen.clone();
		let upstream_task = tokio::spawn(async move {
			loop {
				let Ok((stream, _)) = upstream.accept().await else { continue };
				let record = record.clone();
				tokio::spawn(async move {
					let service = hyper::service::service_fn(
						move |request: Request<hyper::body::Incoming>| {
							let record = record.clone();
							async move {
								let (parts, body) = request.into_parts();
								let body = body.collect().await.unwrap().to_bytes();
								record.lock().push(Seen {
									method: parts.method,
									uri: parts.uri.to_string(),
									headers: parts.headers,
									body,
								});
								let mut response = Response::new(Full::new(Bytes::from("ok")));
								if parts.uri.path() == "/cached" {
									response.headers_mut().insert(
										"cache-control",
										"public, max-age=60".parse().unwrap(),
									);
								}
								Ok::<_, Infallible>(response)
							}
						},
					);
					let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
						.serve_connection(TokioIo::new(stream), service)
						.await;
				});
			}
		});
		let chain = Arc::new(MemChain::default());
		let key = SessionPair::generate(CryptoKind::Sr25519);
		let (owner, counterpart) = (AccountId::new([1; 32]), AccountId::new([9; 32]));
		chain.keys.lock().insert(
			key.public(),
			KeyRecord::Registered(Registration {
				owner: owner.clone(),
				counterpart: counterpart.clone(),
				delegate: None,
				registered_at: 1,
				expires_at: 10_000,
				settles_at: 20_000,
				revoked: false,
				duration: 10_000,
				spending_limit: 0,
				pending_limit: None,
				collateral: 0,
				deposit: 0,
				description: Vec::new(),
				scope: vec![b"GET /*".to_vec(), b"POST /*".to_vec()],
				state: ChannelState { nonce: 0, owed: 0, margin: 0 },
			}),
		);
		let gateway = Arc::new(Gateway::new(chain, settings, 10));
		gateway.set_genesis(GENESIS);
		for n in 0..=20 {
			gateway.record_block(NewBlock { number: n, hash: block_hash(n), changed: Vec::new() });
		}
		let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
		let address = listener.local_addr().unwrap();
		let proxy_task = tokio::spawn(async move {
			let upstream = upstream_url.parse().unwrap();
			let _ =
				proxy::serve(listener, gateway, upstream, None, options, std::future::pending())
					.await;
		});
		Proxy {
			address,
			seen,
			key,
			owner,
			counterpart,
			nonce: Default::default(),
			tasks: vec![upstream_task, proxy_task],
		}
	}

	/// A version 2 header for `request` (`METHOD /path?query`) with `body`.
	fn header(&self, request: &str, body: &[u8]) -> String {
		let bound = BoundRequest::parse(request, body).unwrap();
		let nonce = self.nonce.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
		encode_header_v2(&self.key.sign_header_v2(
			GENESIS,
			&HeaderRequestV2 {
				account: &self.owner,
				block_hash: block_hash(19),
				nonce,
				audience: AUDIENCE,
				request: &bound,
			},
		))
	}

	async fn send(
		&self,
		method: Method,
		path: &str,
		headers: &[(&str, &str)],
		body: &'static [u8],
	) -> Response<Bytes> {
		let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
		let mut request =
			Request::builder().method(method).uri(format!("http://{}{path}", self.address));
		for (name, value) in headers {
			request = request.header(*name, *value);
		}
		let response =
			client.request(request.body(Full::new(Bytes::from_static(body))).unwrap()).await;
		let (parts, body) = response.expect("the proxy answers").into_parts();
		Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
	}

	fn last_seen(&self) -> Seen {
		self.seen.lock().last().cloned().expect("the upstream saw a request")
	}
}

fn settings() -> Settings {
	let mut settings = Settings::new(AUDIENCE);
	settings.max_body_bytes = 64;
	settings
}

/// What a client sends to reroute the request, in spellings frameworks read.
const OVERRIDES: [(&str, &str); 22] = [
	("X-HTTP-Method-Override", "DELETE"),
	("X-HTTP-Method", "DELETE"),
	("X-Method-Override", "DELETE"),
	("X_HTTP_Method_Override", "DELETE"),
	("X-Original-URL", "/admin/wipe"),
	("X-Rewrite-URL", "/admin/wipe"),
	("X-Original-Method", "DELETE"),
	("Forwarded", "for=10.0.0.1;host=evil.example;proto=https"),
	("X-Forwarded-For", "10.0.0.1"),
	("X_Forwarded_For", "10.0.0.2"),
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
	("X-Session-Anything", "mallory"),
];

#[tokio::test]
async fn the_upstream_sees_exactly_what_was_authenticated() {
	let proxy = Proxy::start(settings(), ServeOptions::default()).await;
	let body = br#"{"qty":1}"#;
	let header = proxy.header("POST /orders/17?b=2&a=%7e", body);
	let mut headers: Vec<(&str, &str)> = OVERRIDES.to_vec();
	headers.push(("x-session-auth", &header));
	headers.push(("x-request-id", "r-1"));
	let answer = proxy.send(Method::POST, "/orders/17?b=2&a=%7e", &headers, body).await;
	assert_eq!(answer.status(), StatusCode::OK, "{:?}", answer.body());
	let seen = proxy.last_seen();
	assert_eq!(seen.method, Method::POST);
	assert_eq!(seen.uri, "/orders/17?a=~&b=2", "the canonical query, as signed");
	assert_eq!(seen.body, &body[..]);
	let stripped: Vec<&str> = OVERRIDES
		.iter()
		.map(|(name, _)| *name)
		.filter(|name| {
			let folded = name.to_ascii_lowercase().replace('_', "-");
			![
				"forwarded",
				"x-forwarded-for",
				"x-forwarded-host",
				"x-forwarded-proto",
				"content-digest",
				"x-session-counterpart",
				"x-session-owner",
			]
			.contains(&folded.as_str())
		})
		.collect();
	for name in stripped {
		assert!(seen.headers.get(name).is_none(), "{name} reached the upstream");
	}
	// Whatever the client sent under the gateway's own names, the values are the gateway's;
	// with no public host named, the client's `Host` (its word, not checked) is not forwarded.
	let value = |name: &str| {
		let values: Vec<_> = seen.headers.get_all(name).iter().collect();
		assert_eq!(values.len(), 1, "{name}: {values:?}");
		values[0].to_str().unwrap().to_owned()
	};
	assert_eq!(value("forwarded"), "for=127.0.0.1;proto=http");
	assert_eq!(value("x-forwarded-for"), "127.0.0.1");
	assert!(seen.headers.get("x-forwarded-host").is_none());
	assert_eq!(value("x-forwarded-proto"), "http");
	assert_eq!(value("x-session-owner"), proxy.owner.to_string());
	assert_eq!(value("x-session-counterpart"), proxy.counterpart.to_string());
	assert_eq!(
		value("content-digest"),
		BoundRequest::parse("POST /", body).unwrap().content_digest_header()
	);
	assert!(seen.headers.get("x-session-anything").is_none());
	assert!(seen.headers.get("x-session-auth").is_none());
	assert_eq!(value("x-request-id"), "r-1", "other headers pass");
	// The answer is the client's alone.
	assert_eq!(answer.headers()["cache-control"], "private");
	assert_eq!(answer.headers()["vary"], "x-session-auth");
	// An upstream that chose its caching keeps it, and still varies on the session header.
	let answer = proxy
		.send(Method::GET, "/cached", &[("x-session-auth", &proxy.header("GET /cached", b""))], b"")
		.await;
	assert_eq!(answer.headers()["cache-control"], "public, max-age=60");
	assert_eq!(answer.headers()["vary"], "x-session-auth");
}

#[tokio::test]
async fn an_allowlist_forwards_only_its_headers() {
	let options = ServeOptions {
		forward_headers: vec![HeaderName::from_static("x-request-id")],
		..ServeOptions::default()
	};
	let proxy = Proxy::start(settings(), options).await;
	let header = proxy.header("GET /a", b"");
	let answer = proxy
		.send(
			Method::GET,
			"/a",
			&[
				("x-session-auth", &header),
				("x-request-id", "r-2"),
				("cookie", "session=1"),
				("accept", "application/json"),
				("x-http-method-override", "DELETE"),
			],
			b"",
		)
		.await;
	assert_eq!(answer.status(), StatusCode::OK);
	let seen = proxy.last_seen();
	assert_eq!(seen.headers["x-request-id"], "r-2");
	assert_eq!(seen.headers["accept"], "application/json");
	assert!(seen.headers.get("cookie").is_none());
	assert!(seen.headers.get("x-http-method-override").is_none());
	assert!(
		seen.headers.get("x-session-owner").is_some() && seen.headers.get("forwarded").is_some()
	);
}

#[tokio::test]
async fn bodies_beyond_the_limit_and_refused_requests_never_reach_the_upstream() {
	let proxy = Proxy::start(settings(), ServeOptions::default()).await;
	let large = &[b'x'; 65][..];
	let header = proxy.header("POST /a", large);
	let answer = proxy.send(Method::POST, "/a", &[("x-session-auth", &header)], large).await;
	assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
	let reason: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
	assert_eq!(reason["reason"], "PayloadTooLarge");
	assert_eq!(answer.headers()["cache-control"], "no-store");
	// Another body than the signed one, a replay, a method override.
	let header = proxy.header("POST /a", b"{}");
	let answer = proxy.send(Method::POST, "/a", &[("x-session-auth", &header)], b"{ }").await;
	assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
	let answer = proxy.send(Method::POST, "/a", &[("x-session-auth", &header)], b"{}").await;
	assert_eq!(answer.status(), StatusCode::OK);
	let answer = proxy.send(Method::POST, "/a", &[("x-session-auth", &header)], b"{}").await;
	assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "a replay");
	let header = proxy.header("GET /a?_method=DELETE", b"");
	let answer =
		proxy.send(Method::GET, "/a?_method=DELETE", &[("x-session-auth", &header)], b"").await;
	assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
	assert_eq!(proxy.seen.lock().len(), 1, "only the accepted request reached the upstream");
}

/// Opens a connection to `address`, sends `sent`, and returns how long until the proxy closed
/// it (`None`: still open after `limit`).
async fn closed_after(
	address: SocketAddr,
	sent: &'static [u8],
	limit: Duration,
) -> Option<Duration> {
	tokio::task::spawn_blocking(move || {
		let mut stream = std::net::TcpStream::connect(address).unwrap();
		stream.write_all(sent).unwrap();
		let opened = Instant::now();
		stream.set_read_timeout(Some(limit)).unwrap();
		let mut rest = Vec::new();
		match stream.read_to_end(&mut rest) {
			Err(error)
				if matches!(
					error.kind(),
					std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
				) =>
			{
				None
			}
			_ => Some(opened.elapsed()),
		}
	})
	.await
	.unwrap()
}

#[tokio::test]
async fn half_sent_silent_and_idle_connections_are_closed_within_the_header_read_timeout() {
	let timeout = Duration::from_secs(1);
	let options = ServeOptions { header_read_timeout: timeout, ..ServeOptions::default() };
	let proxy = Proxy::start(settings(), options).await;
	let limit = timeout * 4;
	let half = closed_after(proxy.address, b"GET /a HTTP/1.1\r\nHost: x\r\nx-sess", limit).await;
	let silent = closed_after(proxy.address, b"", limit).await;
	let line = closed_after(proxy.address, b"GET /a HT", limit).await;
	for (what, closed) in
		[("half-sent headers", half), ("nothing sent", silent), ("half a request line", line)]
	{
		let closed = closed.unwrap_or_else(|| panic!("{what}: still open after {limit:?}"));
		assert!(closed <= timeout + Duration::from_millis(500), "{what}: closed after {closed:?}");
	}
	// A kept-alive connection idle after a whole request is closed too.
	let header = proxy.header("GET /a", b"");
	let request: &'static [u8] = Box::leak(
		format!("GET /a HTTP/1.1\r\nHost: x\r\nx-session-auth: {header}\r\n\r\n")
			.into_bytes()
			.into_boxed_slice(),
	);
	let idle = closed_after(proxy.address, request, limit).await.expect("closed");
	assert!(idle <= timeout + Duration::from_millis(500), "idle: closed after {idle:?}");
	assert_eq!(proxy.seen.lock().len(), 1, "the whole request was served");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
	let timeout = Duration::from_secs(1);
	let options = ServeOptions {
		header_read_timeout: timeout,
		max_connections: 2,
		..ServeOptions::default()
	};
	let proxy = Proxy::start(settings(), options).await;
	// Two silent connections take both slots until the timeout closes them.
	let holders: Vec<_> =
		(0..2).map(|_| std::net::TcpStream::connect(proxy.address).unwrap()).collect();
	tokio::time::sleep(Duration::from_millis(100)).await;
	let started = Instant::now();
	let header = proxy.header("GET /a", b"");
	let answer = proxy.send(Method::GET, "/a", &[("x-session-auth", &header)], b"").await;
	let waited = started.elapsed();
	assert_eq!(answer.status(), StatusCode::OK);
	assert!(
		waited >= Duration::from_millis(500),
		"served after {waited:?}, before a slot was free"
	);
	assert!(waited <= timeout + Duration::from_millis(500), "served after {waited:?}");
	drop(holders);
}

#[tokio::test]
async fn only_a_public_host_is_served_and_forwarded() {
	let options =
		ServeOptions { public_hosts: vec!["api.example".into()], ..ServeOptions::default() };
	let proxy = Proxy::start(settings(), options).await;
	let header = proxy.header("GET /a", b"");
	// A client naming another host (to poison reset links or reach another tenant) is refused
	// before anything is authenticated or forwarded.
	let answer = proxy
		.send(Method::GET, "/a", &[("x-session-auth", &header), ("host", "evil.example")], b"")
		.await;
	assert_eq!(answer.status(), StatusCode::MISDIRECTED_REQUEST);
	assert!(proxy.seen.lock().is_empty());
	let answer = proxy
		.send(Method::GET, "/a", &[("x-session-auth", &header), ("host", "API.example")], b"")
		.await;
	assert_eq!(answer.status(), StatusCode::OK, "{:?}", answer.body());
	let seen = proxy.last_seen();
	assert_eq!(seen.headers["x-forwarded-host"], "API.example");
	assert_eq!(seen.headers["forwarded"], "for=127.0.0.1;host=API.example;proto=http");
}

#[tokio::test]
async fn a_body_sent_slowly_is_cut_off_at_the_body_read_timeout() {
	let mut settings = settings();
	settings.body_read_timeout = Duration::from_secs(1);
	let proxy = Proxy::start(settings, ServeOptions::default()).await;
	// A well-formed header and a declared body of 10 bytes (within the limit), of which 3 arrive.
	let header = proxy.header("POST /a", b"");
	let request: &'static [u8] = Box::leak(
		format!(
			"POST /a HTTP/1.1\r\nHost: x\r\nx-session-auth: {header}\r\nContent-Length: 10\r\n\r\nabc"
		)
		.into_bytes()
		.into_boxed_slice(),
	);
	let answer = tokio::task::spawn_blocking(move || {
		let mut stream = std::net::TcpStream::connect(proxy.address).unwrap();
		stream.write_all(request).unwrap();
		let sent = Instant::now();
		stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
		let mut answer = vec![0; 512];
		let read = stream.read(&mut answer).unwrap_or(0);
		(String::from_utf8_lossy(&answer[..read]).into_owned(), sent.elapsed())
	})
	.await
	.unwrap();
	assert!(answer.0.starts_with("HTTP/1.1 408"), "{}", answer.0);
	assert!(answer.0.contains("BodyTimeout"), "{}", answer.0);
	assert!(answer.1 <= Duration::from_millis(1500), "answered after {:?}", answer.1);
}

#[tokio::test]
async fn a_malformed_header_is_refused_before_its_body_is_read() {
	let proxy = Proxy::start(settings(), ServeOptions::default()).await;
	let request: &'static [u8] =
		b"POST /a HTTP/1.1\r\nHost: x\r\nx-session-auth: junk\r\nContent-Length: 10\r\n\r\n";
	// No body is sent at all: the refusal comes without waiting for it.
	let answer = tokio::task::spawn_blocking(move || {
		let mut stream = std::net::TcpStream::connect(proxy.address).unwrap();
		stream.write_all(request).unwrap();
		stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
		let mut answer = vec![0; 512];
		let read = stream.read(&mut answer).unwrap_or(0);
		String::from_utf8_lossy(&answer[..read]).into_owned()
	})
	.await
	.unwrap();
	assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
	assert!(answer.contains("MalformedHeader"), "{answer}");
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
	let options = ServeOptions {
		header_read_timeout: Duration::from_secs(5),
		max_connections_per_address: 2,
		..ServeOptions::default()
	};
	let proxy = Proxy::start(settings(), options).await;
	let holders: Vec<_> =
		(0..2).map(|_| std::net::TcpStream::connect(proxy.address).unwrap()).collect();
	tokio::time::sleep(Duration::from_millis(200)).await;
	// A third from the same address is closed at once, long before the header-read timeout.
	let third = closed_after(proxy.address, b"", Duration::from_secs(3)).await;
	let closed = third.expect("the third connection is closed");
	assert!(closed <= Duration::from_millis(500), "closed after {closed:?}");
	// Once one closes, the address may connect again.
	drop(holders);
	tokio::time::sleep(Duration::from_millis(200)).await;
	let header = proxy.header("GET /a", b"");
	let answer = proxy.send(Method::GET, "/a", &[("x-session-auth", &header)], b"").await;
	assert_eq!(answer.status(), StatusCode::OK);
}
