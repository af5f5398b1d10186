//! The reverse proxy of `session-keys-gateway`: `/healthz` and `/metrics` answered by the
//! gateway, every other request authenticated by [`crate::SessionAuthLayer`] and, when
//! accepted, forwarded to the upstream; the upstream's answer streams back as it comes.
//! With `--ui`, paths under `/ui` are the browser widget's files ([`crate::ui`]).
//!
//! # What the upstream receives
//!
//! Exactly what was authenticated: the method, the path, the **canonical** query and the
//! buffered body the header signed, with `Content-Digest` (RFC 9530, computed by the gateway).
//! The gateway names the session in `X-Session-Owner`, `X-Session-Key`, `X-Session-Tier` and
//! `X-Session-Counterpart`, and the hop in `Forwarded`, `X-Forwarded-For`, `X-Forwarded-Host`
//! and `X-Forwarded-Proto`, all set from what it saw. Every header a client could use to make
//! the upstream run another request than the one authenticated is dropped first, compared
//! case-insensitively with `_` read as `-` (CGI-style servers read `X_Forwarded_Host` as
//! `X-Forwarded-Host`): method overrides ([`STRIPPED`]), URL rewrites, client-made forwarding
//! chains, a client's `Content-Digest`, and any `x-session-*` name. With an allowlist
//! ([`ServeOptions::forward_headers`]) only the listed request headers (and `Content-Type`,
//! `Content-Length`, `Accept`) pass besides the gateway's own.
//!
//! # Floods
//!
//! At most [`ServeOptions::max_connections`] connections are open; the accept loop waits for
//! one to close before it accepts another (the kernel's backlog holds the rest). A connection
//! must send its first request head within [`ServeOptions::header_read_timeout`], and on
//! HTTP/1 each later head within as long after the previous answer (hyper's header-read
//! timer), so a half-sent or idle connection is closed. HTTP/2 connections are pinged and
//! closed when a ping goes unanswered.

use std::{
	collections::HashMap,
	convert::Infallible,
	future::Future,
	net::{IpAddr, SocketAddr},
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc,
	},
	time::Duration,
};

use bytes::Bytes;
use codec::Encode;
use futures::future::BoxFuture;
use http::{
	header, uri::PathAndQuery, HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode,
	Uri,
};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper_util::{
	client::legacy::{connect::HttpConnector, Client as HttpClient},
	rt::{TokioExecutor, TokioIo, TokioTimer},
	server::{conn::auto, graceful::GracefulShutdown},
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::{Layer, Service, ServiceExt};

use crate::{ui::Ui, AuthBody, AuthenticatedRequest, Chain, Gateway, PeerAddr, SessionAuthLayer};

/// The header naming the authenticated owner (SS58) to the upstream.
pub const OWNER_HEADER: &str = "x-session-owner";
/// The header naming the session key (`0x`-hex of its SCALE encoding, as in JSON-RPC).
pub const KEY_HEADER: &str = "x-session-key";
/// The header naming the owner's rate tier.
pub const TIER_HEADER: &str = "x-session-tier";
/// The header naming the key's counterpart (SS58).
pub const COUNTERPART_HEADER: &str = "x-session-counterpart";
/// The prefix of every header the gateway sets about the session: a client's own are dropped.
pub const SESSION_PREFIX: &str = "x-session-";

/// Request headers never forwarded (compared lower case, `_` read as `-`): each can make an
/// upstream framework run another method or path than the one authenticated, or trust an
/// address, host or scheme the client made up. The gateway sets `Forwarded`,
/// `X-Forwarded-For`, `X-Forwarded-Host`, `X-Forwarded-Proto` and `Content-Digest` itself.
pub const STRIPPED: [&str; 27] = [
	"x-http-method-override",
	"x-http-method",
	"x-method-override",
	"x-original-method",
	"x-original-url",
	"x-rewrite-url",
	"x-original-uri",
	"x-original-host",
	"x-host",
	"forwarded",
	"x-forwarded",
	"x-forwarded-for",
	"x-forwarded-host",
	"x-forwarded-proto",
	"x-forwarded-port",
	"x-forwarded-prefix",
	"x-forwarded-server",
	"x-forwarded-scheme",
	"x-forwarded-ssl",
	"x-url-scheme",
	"x-real-ip",
	"x-client-ip",
	"x-cluster-client-ip",
	"true-client-ip",
	"cf-connecting-ip",
	"fastly-client-ip",
	"content-digest",
];

/// Request headers an allowlist always lets through: what the body is and what is accepted.
const ALWAYS_FORWARDED: [HeaderName; 3] =
	[header::CONTENT_TYPE, header::CONTENT_LENGTH, header::ACCEPT];

/// A body of the proxy's answers: the upstream's, streamed, or the gateway's own.
pub type ProxyBody = Either<Either<Either<Incoming, Full<Bytes>>, Full<Bytes>>, Full<Bytes>>;

/// How the proxy serves connections and what it forwards.
#[derive(Clone, Debug)]
pub struct ServeOptions {
	/// How long a connection may take to send a request head (and, on HTTP/1, may stay idle
	/// between requests) before it is closed.
	pub header_read_timeout: Duration,
	/// How often an HTTP/2 connection is pinged.
	pub http2_keep_alive_interval: Duration,
	/// How long an HTTP/2 ping may go unanswered before the connection is closed.
	pub http2_keep_alive_timeout: Duration,
	/// The most connections open at once; the accept loop waits beyond it.
	pub max_connections: usize,
	/// The most connections open at once from one address (an IPv6 /64); more are closed as
	/// they are accepted.
	pub max_connections_per_address: usize,
	/// The host names (lower case, with the port if clients send one) the gateway is reached
	/// by: a request naming another is refused (421), and only these are forwarded as
	/// `Forwarded: host=` / `X-Forwarded-Host`. Empty: no host is forwarded.
	pub public_hosts: Vec<String>,
	/// When not empty, the only request headers forwarded (besides `Content-Type`,
	/// `Content-Length`, `Accept` and the gateway's own).
	pub forward_headers: Vec<HeaderName>,
}

impl Default for ServeOptions {
	/// 10 s for a head, HTTP/2 pings every 20 s answered within 10 s, 1024 connections (64
	/// from one address), every header forwarded but the [`STRIPPED`] ones, no public host.
	fn default() -> Self {
		Self {
			header_read_timeout: Duration::from_secs(10),
			http2_keep_alive_interval: Duration::from_secs(20),
			http2_keep_alive_timeout: Duration::from_secs(10),
			max_connections: 1024,
			max_connections_per_address: 64,
			public_hosts: Vec::new(),
			forward_headers: Vec::new(),
		}
	}
}

/// Forwards authenticated requests to one upstream.
#[derive(Clone)]
pub struct Upstream {
	base: Uri,
	client: HttpClient<HttpConnector, AuthBody>,
	allowed: Arc<Vec<HeaderName>>,
	public_hosts: Arc<Vec<String>>,
}

impl Upstream {
	/// Forwards to `base` (`http://host:port`, optionally with a path prefix), every request
	/// header but the [`STRIPPED`] ones, or with `allowed` not empty only those.
	pub fn new(base: Uri, allowed: Vec<HeaderName>) -> Self {
		let client = HttpClient::builder(TokioExecutor::new()).build_http();
		Self { base, client, allowed: Arc::new(allowed), public_hosts: Arc::new(Vec::new()) }
	}

	/// Forwards the request's host (`Forwarded: host=`, `X-Forwarded-Host`) when it is one of
	/// `hosts` (lower case); without any, no host is forwarded: the `Host` header is the
	/// client's word.
	pub fn with_public_hosts(mut self, hosts: Vec<String>) -> Self {
		self.public_hosts = Arc::new(hosts);
		self
	}

	/// Whether a request naming `host` may be served: any host when no public host is set.
	fn serves_host(&self, host: Option<&str>) -> bool {
		self.public_hosts.is_empty()
			|| host.is_some_and(|host| {
				self.public_hosts.iter().any(|public| public.eq_ignore_ascii_case(host))
			})
	}

	/// The upstream URI of a request for `path_and_query`.
	fn target(&self, path_and_query: Option<&PathAndQuery>) -> Result<Uri, http::Error> {
		let prefix = self.base.path().trim_end_matches('/');
		let rest = path_and_query.map_or("/", |p| p.as_str());
		let mut parts = self.base.clone().into_parts();
		parts.path_and_query = Some(format!("{prefix}{rest}").parse()?);
		Ok(Uri::from_parts(parts)?)
	}
}

/// Headers that describe one hop, not the message: never forwarded.
const HOP_BY_HOP: [HeaderName; 7] = [
	header::CONNECTION,
	HeaderName::from_static("keep-alive"),
	HeaderName::from_static("proxy-connection"),
	header::TE,
	header::TRAILER,
	header::TRANSFER_ENCODING,
	header::UPGRADE,
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
	let listed: Vec<HeaderName> = headers
		.get_all(header::CONNECTION)
		.iter()
		.filter_map(|value| value.to_str().ok())
		.flat_map(|value| value.split(','))
		.filter_map(|name| HeaderName::try_from(name.trim()).ok())
		.collect();
	for name in listed.iter().chain(HOP_BY_HOP.iter()) {
		headers.remove(name);
	}
}

/// Whether a request header must not reach the upstream as the client sent it.
pub fn is_stripped(name: &HeaderName) -> bool {
	let folded = name.as_str().to_ascii_lowercase().replace('_', "-");
	folded.starts_with(SESSION_PREFIX)
		|| folded == session_keys_client::HTTP_HEADER
		|| STRIPPED.contains(&folded.as_str())
}

/// Drops every header a client may not pass on ([`is_stripped`]) and, with an allowlist, every
/// header not on it.
fn filter_request_headers(headers: &mut HeaderMap, allowed: &[HeaderName]) {
	let dropped: Vec<HeaderName> = headers
		.keys()
		.filter(|name| {
			is_stripped(name)
				|| (!allowed.is_empty()
					&& !allowed.contains(name)
					&& !ALWAYS_FORWARDED.contains(name))
		})
		.cloned()
		.collect();
	for name in dropped {
		headers.remove(name);
	}
}

/// A `Forwarded` parameter value (RFC 7239): a token as it is, anything else quoted.
fn forwarded_value(value: &str) -> String {
	let token = !value.is_empty()
		&& value
			.bytes()
			.all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte));
	if token {
		value.to_owned()
	} else {
		let escaped: String = value
			.chars()
			.flat_map(|c| if c == '"' || c == '\\' { vec!['\\', c] } else { vec![c] })
			.collect();
		format!("\"{escaped}\"")
	}
}

/// The host a request named, if it is a plain `host[:port]`.
fn seen_host(headers: &HeaderMap, uri: &Uri) -> Option<String> {
	let host = match headers.get(header::HOST).and_then(|value| value.to_str().ok()) {
		Some(host) => host.to_owned(),
		None => uri.authority()?.as_str().to_owned(),
	};
	let plain = !host.is_empty()
		&& host.bytes().all(|byte| byte.is_ascii_alphanumeric() || b".-:[]".contains(&byte));
	plain.then_some(host)
}

/// The gateway's own forwarding headers, from what it saw: the peer, the host asked for and
/// the scheme it serves (plain HTTP).
fn forwarding_headers(peer: Option<SocketAddr>, host: Option<&str>) -> Vec<(HeaderName, String)> {
	let mut forwarded = Vec::new();
	let mut headers = Vec::new();
	if let Some(peer) = peer {
		let ip = peer.ip();
		// RFC 7239: an IPv6 node is bracketed, and so quoted.
		let node = if ip.is_ipv6() { format!("[{ip}]") } else { ip.to_string() };
		forwarded.push(format!("for={}", forwarded_value(&node)));
		headers.push((HeaderName::from_static("x-forwarded-for"), ip.to_string()));
	}
	if let Some(host) = host {
		forwarded.push(format!("host={}", forwarded_value(host)));
		headers.push((HeaderName::from_static("x-forwarded-host"), host.to_owned()));
	}
	forwarded.push("proto=http".into());
	headers.push((HeaderName::from_static("x-forwarded-proto"), "http".into()));
	headers.push((header::FORWARDED, forwarded.join(";")));
	headers
}

fn bad_gateway(message: String) -> Response<Either<Incoming, Full<Bytes>>> {
	let body =
		serde_json::json!({ "error": "Bad Gateway", "reason": "Upstream", "detail": message });
	let mut response = Response::new(Either::Right(Full::new(Bytes::from(body.to_string()))));
	*response.status_mut() = StatusCode::BAD_GATEWAY;
	response
		.headers_mut()
		.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
	response
}

impl Service<Request<AuthBody>> for Upstream {
	type Response = Response<Either<Incoming, Full<Bytes>>>;
	type Error = Infallible;
	type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

	fn poll_ready(
		&mut self,
		_: &mut std::task::Context<'_>,
	) -> std::task::Poll<Result<(), Infallible>> {
		std::task::Poll::Ready(Ok(()))
	}

	fn call(&mut self, request: Request<AuthBody>) -> Self::Future {
		let upstream = self.clone();
		Box::pin(async move {
			let (mut parts, body) = request.into_parts();
			let Some(session) = parts.extensions.remove::<AuthenticatedRequest>() else {
				// Only the layer calls this service, and only with what it authenticated.
				return Ok(bad_gateway("no authenticated request on an accepted request".into()));
			};
			// The layer put the canonical query in the URI.
			let uri = match upstream.target(parts.uri.path_and_query()) {
				Ok(uri) => uri,
				Err(error) => {
					return Ok(bad_gateway(format!("cannot build the upstream URI: {error}")))
				}
			};
			// Only a host the operator named is forwarded: `Host` is the client's word.
			let host = seen_host(&parts.headers, &parts.uri).filter(|host| {
				!upstream.public_hosts.is_empty() && upstream.serves_host(Some(host))
			});
			let peer = parts.extensions.get::<PeerAddr>().map(|peer| peer.0);
			let headers = &mut parts.headers;
			strip_hop_by_hop(headers);
			headers.remove(header::HOST);
			filter_request_headers(headers, &upstream.allowed);
			let ours = [
				(HeaderName::from_static(OWNER_HEADER), session.owner.to_string()),
				(
					HeaderName::from_static(KEY_HEADER),
					sp_core::bytes::to_hex(&session.key.encode(), false),
				),
				(HeaderName::from_static(TIER_HEADER), session.tier.clone()),
				(HeaderName::from_static(COUNTERPART_HEADER), session.counterpart.to_string()),
				(
					HeaderName::from_static("content-digest"),
					session.request.content_digest_header(),
				),
			];
			for (name, value) in ours.into_iter().chain(forwarding_headers(peer, host.as_deref())) {
				if let Ok(value) = HeaderValue::try_from(value) {
					headers.insert(name, value);
				}
			}
			parts.uri = uri;
			match upstream.client.request(Request::from_parts(parts, body)).await {
				Ok(response) => {
					let (mut parts, body) = response.into_parts();
					strip_hop_by_hop(&mut parts.headers);
					Ok(Response::from_parts(parts, Either::Left(body)))
				}
				Err(error) => {
					tracing::warn!(%error, "upstream request failed");
					Ok(bad_gateway(format!("the upstream did not answer: {error}")))
				}
			}
		})
	}
}

fn plain(status: StatusCode, content_type: &'static str, body: String) -> Response<ProxyBody> {
	let mut response = Response::new(Either::Right(Full::new(Bytes::from(body))));
	*response.status_mut() = status;
	response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
	response
}

/// Answers one request: the gateway's own endpoints (and the widget's files, if served), or
/// authenticate and forward.
async fn route<C: Chain>(
	gateway: Arc<Gateway<C>>,
	upstream: Upstream,
	ui: Option<Ui>,
	peer: SocketAddr,
	mut request: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
	if let Some(ui) = ui.as_ref().filter(|_| Ui::serves(request.uri().path())) {
		return Ok(ui.answer(request).await.map(Either::Right));
	}
	match request.uri().path() {
		"/healthz" => {
			let health = gateway.health();
			let status =
				if health.serving { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
			let body = serde_json::to_string(&health).unwrap_or_default();
			Ok(plain(status, "application/json", body))
		}
		"/metrics" => {
			gateway.health();
			Ok(plain(StatusCode::OK, "text/plain; version=0.0.4", gateway.metrics.render()))
		}
		_ if !upstream.serves_host(seen_host(request.headers(), request.uri()).as_deref()) => {
			let body = serde_json::json!({
				"error": "Misdirected Request",
				"reason": "UnknownHost",
				"detail": "this gateway serves only the hosts its operator named (--public-host)",
			});
			Ok(plain(StatusCode::MISDIRECTED_REQUEST, "application/json", body.to_string()))
		}
		_ => {
			request.extensions_mut().insert(PeerAddr(peer));
			let answer = SessionAuthLayer::new(gateway).layer(upstream).oneshot(request).await;
			answer.map(|response| response.map(Either::Left))
		}
	}
}

/// A connection counted against its address; uncounted when dropped.
struct AddressSlot {
	open: Arc<parking_lot::Mutex<HashMap<IpAddr, usize>>>,
	address: IpAddr,
}

impl Drop for AddressSlot {
	fn drop(&mut self) {
		let mut open = self.open.lock();
		if let Some(count) = open.get_mut(&self.address) {
			*count = count.saturating_sub(1);
			if *count == 0 {
				open.remove(&self.address);
			}
		}
	}
}

/// Serves the proxy on `listener` until `shutdown` completes, then lets the open connections
/// finish their requests. With `ui`, the widget's files are served at `/ui/`.
pub async fn serve<C: Chain>(
	listener: TcpListener,
	gateway: Arc<Gateway<C>>,
	upstream: Uri,
	ui: Option<Ui>,
	options: ServeOptions,
	shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
	let upstream = Upstream::new(upstream, options.forward_headers.clone())
		.with_public_hosts(options.public_hosts.clone());
	let mut builder = auto::Builder::new(TokioExecutor::new());
	builder
		.http1()
		.timer(TokioTimer::new())
		.header_read_timeout(options.header_read_timeout)
		.http2()
		.timer(TokioTimer::new())
		// Each stream may buffer a body up to the limit: a few per connection, not hyper's 200.
		.max_concurrent_streams(32)
		.keep_alive_interval(options.http2_keep_alive_interval)
		.keep_alive_timeout(options.http2_keep_alive_timeout);
	let graceful = GracefulShutdown::new();
	let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
	let per_address = Arc::new(parking_lot::Mutex::new(HashMap::<IpAddr, usize>::new()));
	let first_head = options.header_read_timeout;
	tokio::pin!(shutdown);
	loop {
		// Beyond the cap, connections wait in the kernel's backlog until one closes.
		let slot = tokio::select! {
			slot = slots.clone().acquire_owned() => match slot {
				Ok(slot) => slot,
				Err(_) => break,
			},
			() = &mut shutdown => break,
		};
		let (stream, peer) = tokio::select! {
			accepted = listener.accept() => match accepted {
				Ok(accepted) => accepted,
				Err(error) => {
					// Out of file descriptors, say: keep serving the open connections.
					tracing::warn!(%error, "cannot accept a connection");
					tokio::time::sleep(Duration::from_millis(50)).await;
					continue;
				},
			},
			() = &mut shutdown => break,
		};
		// One client may not take every slot: beyond its share, its connections are closed.
		let address = crate::limit::bucket_of(peer.ip());
		{
			let mut open = per_address.lock();
			let count = open.entry(address).or_insert(0);
			if *count >= options.max_connections_per_address.max(1) {
				tracing::debug!(%peer, "too many connections from this address; closed");
				continue;
			}
			*count += 1;
		}
		let address_slot = AddressSlot { open: per_address.clone(), address };
		let gateway = gateway.clone();
		let upstream = upstream.clone();
		let ui = ui.clone();
		let metrics_gateway = gateway.clone();
		// Set once a request head has been read: hyper's own timer covers what follows.
		let started = Arc::new(AtomicBool::new(false));
		let seen = started.clone();
		let service = hyper::service::service_fn(move |request| {
			seen.store(true, Ordering::Relaxed);
			route(gateway.clone(), upstream.clone(), ui.clone(), peer, request)
		});
		let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
		let connection = graceful.watch(connection);
		tokio::spawn(async move {
			let (_slot, _address_slot) = (slot, address_slot);
			metrics_gateway.metrics.connections.inc();
			// Before its first head a connection is still being told apart (HTTP/1 or 2), which
			// hyper does not time: the gateway does.
			let no_head = async {
				tokio::time::sleep(first_head).await;
				if started.load(Ordering::Relaxed) {
					std::future::pending::<()>().await;
				}
			};
			tokio::select! {
				served = connection => if let Err(error) = served {
					tracing::debug!(%error, %peer, "connection closed with an error");
				},
				() = no_head => tracing::debug!(%peer, "no request head in time; closed"),
			}
			metrics_gateway.metrics.connections.dec();
		});
	}
	tracing::info!("stopping: letting open requests finish");
	tokio::select! {
		() = graceful.shutdown() => {},
		() = tokio::time::sleep(Duration::from_secs(10)) => {
			tracing::warn!("open connections did not finish within 10 s; closing them");
		},
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn override_and_forwarding_headers_are_stripped_in_any_spelling() {
		for name in [
			"X-HTTP-Method-Override",
			"x_http_method_override",
			"X-Original-URL",
			"x_rewrite_url",
			"Forwarded",
			"X-Forwarded-Host",
			"X_Real_IP",
			"CF-Connecting-IP",
			"Content-Digest",
			"X-Session-Owner",
			"x_session_anything",
			"x-session-auth",
		] {
			assert!(is_stripped(&HeaderName::try_from(name).unwrap()), "{name}");
		}
		for name in ["content-type", "authorization", "x-request-id", "accept"] {
			assert!(!is_stripped(&HeaderName::try_from(name).unwrap()), "{name}");
		}
	}

	#[test]
	fn an_allowlist_keeps_only_its_names_and_the_body_headers() {
		let mut headers = HeaderMap::new();
		for name in [
			"content-type",
			"content-length",
			"accept",
			"x-request-id",
			"cookie",
			"x-forwarded-for",
		] {
			headers.insert(HeaderName::try_from(name).unwrap(), HeaderValue::from_static("v"));
		}
		filter_request_headers(&mut headers, &[HeaderName::from_static("x-request-id")]);
		let mut kept: Vec<_> = headers.keys().map(|name| name.as_str()).collect();
		kept.sort();
		assert_eq!(kept, ["accept", "content-length", "content-type", "x-request-id"]);
	}

	#[test]
	fn forwarded_quotes_ipv6_and_ports() {
		let v4: SocketAddr = "192.0.2.7:5000".parse().unwrap();
		let v6: SocketAddr = "[2001:db8::1]:5000".parse().unwrap();
		let headers = forwarding_headers(Some(v4), Some("api.example"));
		let forwarded = &headers.iter().find(|(name, _)| name == header::FORWARDED).unwrap().1;
		assert_eq!(forwarded, "for=192.0.2.7;host=api.example;proto=http");
		let headers = forwarding_headers(Some(v6), Some("127.0.0.1:8080"));
		let forwarded = &headers.iter().find(|(name, _)| name == header::FORWARDED).unwrap().1;
		assert_eq!(forwarded, "for=\"[2001:db8::1]\";host=\"127.0.0.1:8080\";proto=http");
		let host = HeaderValue::from_static("evil\"host");
		let mut map = HeaderMap::new();
		map.insert(header::HOST, host);
		assert_eq!(seen_host(&map, &Uri::from_static("/")), None);
	}
}
