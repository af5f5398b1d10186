//! The reverse proxy of `session-keys-gateway`: `/healthz` and `/metrics` answered by the
//! gateway, every other request authenticated by [`crate::SessionAuthLayer`] and, when
//! accepted, forwarded to the upstream with the session header replaced by `X-Session-Owner`,
//! `X-Session-Key` and `X-Session-Tier`; the upstream's answer streams back as it comes.
//! With `--ui`, paths under `/ui` are the browser widget's files ([`crate::ui`]).

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc};

use bytes::Bytes;
use codec::Encode;
use futures::future::BoxFuture;
use http::{
	header, uri::PathAndQuery, HeaderName, HeaderValue, Request, Response, StatusCode, Uri,
};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper_util::{
	client::legacy::{connect::HttpConnector, Client as HttpClient},
	rt::{TokioExecutor, TokioIo},
	server::{conn::auto, graceful::GracefulShutdown},
};
use session_keys_client::HTTP_HEADER;
use tokio::net::TcpListener;
use tower::{Layer, Service, ServiceExt};

use crate::{ui::Ui, Chain, Gateway, Session, SessionAuthLayer};

/// The header naming the authenticated owner (SS58) to the upstream.
pub const OWNER_HEADER: &str = "x-session-owner";
/// The header naming the session key (`0x`-hex of its SCALE encoding, as in JSON-RPC).
pub const KEY_HEADER: &str = "x-session-key";
/// The header naming the owner's rate tier.
pub const TIER_HEADER: &str = "x-session-tier";
/// The client's address, as the gateway saw it (any value the client sent is dropped).
const FORWARDED_FOR: &str = "x-forwarded-for";

/// A body of the proxy's answers: the upstream's, streamed, or the gateway's own.
pub type ProxyBody = Either<Either<Incoming, Full<Bytes>>, Full<Bytes>>;

/// Forwards authenticated requests to one upstream.
#[derive(Clone)]
pub struct Upstream {
	base: Uri,
	client: HttpClient<HttpConnector, Incoming>,
	peer: Option<SocketAddr>,
}

impl Upstream {
	/// Forwards to `base` (`http://host:port`, optionally with a path prefix).
	pub fn new(base: Uri) -> Self {
		let client = HttpClient::builder(TokioExecutor::new()).build_http();
		Self { base, client, peer: None }
	}

	fn for_peer(&self, peer: SocketAddr) -> Self {
		Self { peer: Some(peer), ..self.clone() }
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

fn strip_hop_by_hop(headers: &mut http::HeaderMap) {
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

impl Service<Request<Incoming>> for Upstream {
	type Response = Response<Either<Incoming, Full<Bytes>>>;
	type Error = Infallible;
	type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

	fn poll_ready(
		&mut self,
		_: &mut std::task::Context<'_>,
	) -> std::task::Poll<Result<(), Infallible>> {
		std::task::Poll::Ready(Ok(()))
	}

	fn call(&mut self, request: Request<Incoming>) -> Self::Future {
		let upstream = self.clone();
		Box::pin(async move {
			let (mut parts, body) = request.into_parts();
			let Some(session) = parts.extensions.remove::<Session>() else {
				// Only the layer calls this service, and only with a session.
				return Ok(bad_gateway("no session on an accepted request".into()));
			};
			let uri = match upstream.target(parts.uri.path_and_query()) {
				Ok(uri) => uri,
				Err(error) => {
					return Ok(bad_gateway(format!("cannot build the upstream URI: {error}")))
				}
			};
			let headers = &mut parts.headers;
			strip_hop_by_hop(headers);
			headers.remove(header::HOST);
			// A client must not be able to name an owner itself, in any spelling an upstream
			// might read as ours (CGI-style servers read `X_Session_Owner` as
			// `X-Session-Owner`), nor pass the session header or its own forwarding chain on.
			let ours = [HTTP_HEADER, OWNER_HEADER, KEY_HEADER, TIER_HEADER, FORWARDED_FOR];
			let spoofed: Vec<HeaderName> = headers
				.keys()
				.filter(|name| ours.contains(&name.as_str().replace('_', "-").as_str()))
				.cloned()
				.collect();
			for name in spoofed {
				headers.remove(name);
			}
			let identity = [
				(OWNER_HEADER, session.owner.to_string()),
				(KEY_HEADER, sp_core::bytes::to_hex(&session.key.encode(), false)),
				(TIER_HEADER, session.tier.clone()),
			];
			for (name, value) in identity {
				if let Ok(value) = HeaderValue::try_from(value) {
					headers.insert(name, value);
				}
			}
			if let Some(peer) = upstream.peer {
				if let Ok(value) = HeaderValue::try_from(peer.ip().to_string()) {
					headers.insert(FORWARDED_FOR, value);
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
	request: Request<Incoming>,
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
		_ => SessionAuthLayer::new(gateway).layer(upstream).oneshot(request).await,
	}
}

/// Serves the proxy on `listener` until `shutdown` completes, then lets the open connections
/// finish their requests. With `ui`, the widget's files are served at `/ui/`.
pub async fn serve<C: Chain>(
	listener: TcpListener,
	gateway: Arc<Gateway<C>>,
	upstream: Uri,
	ui: Option<Ui>,
	shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
	let upstream = Upstream::new(upstream);
	let builder = auto::Builder::new(TokioExecutor::new());
	let graceful = GracefulShutdown::new();
	tokio::pin!(shutdown);
	loop {
		let (stream, peer) = tokio::select! {
			accepted = listener.accept() => match accepted {
				Ok(accepted) => accepted,
				Err(error) => {
					// Out of file descriptors, say: keep serving the open connections.
					tracing::warn!(%error, "cannot accept a connection");
					tokio::time::sleep(std::time::Duration::from_millis(50)).await;
					continue;
				},
			},
			() = &mut shutdown => break,
		};
		let gateway = gateway.clone();
		let upstream = upstream.for_peer(peer);
		let ui = ui.clone();
		let service = hyper::service::service_fn(move |request| {
			route(gateway.clone(), upstream.clone(), ui.clone(), request)
		});
		let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
		let connection = graceful.watch(connection);
		tokio::spawn(async move {
			if let Err(error) = connection.await {
				tracing::debug!(%error, %peer, "connection closed with an error");
			}
		});
	}
	tracing::info!("stopping: letting open requests finish");
	tokio::select! {
		() = graceful.shutdown() => {},
		() = tokio::time::sleep(std::time::Duration::from_secs(10)) => {
			tracing::warn!("open connections did not finish within 10 s; closing them");
		},
	}
	Ok(())
}
