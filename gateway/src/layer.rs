//! [`SessionAuthLayer`]: session-key authentication for any tower service (axum, hyper, tonic).
//!
//! The layer reads the whole request body (up to [`crate::Settings::max_body_bytes`], 413
//! beyond it) because a version 2 header signs its digest. The inner service then receives the
//! request with that body buffered ([`AuthBody`]), its query in canonical form (what was
//! signed), a `Content-Digest` header computed by the layer (any the client sent is replaced)
//! and an [`crate::AuthenticatedRequest`] extension. Its answers get `Cache-Control: private`
//! (unless they set their own) and `Vary: x-session-auth`.
//!
//! ```no_run
//! # async fn run() {
//! use std::sync::Arc;
//! use session_keys_gateway::{
//!     follow, AuthBody, AuthenticatedRequest, Gateway, NodeChain, SessionAuthLayer, Settings,
//! };
//! use tower::{Layer, Service, ServiceExt};
//!
//! // The window is read from the chain when `follow` connects.
//! let gateway = Arc::new(Gateway::new(NodeChain::new(), Settings::new("api.example"), 100));
//! tokio::spawn(follow(gateway.clone(), "ws://127.0.0.1:9944".into(), Default::default()));
//! let handler = tower::service_fn(|request: http::Request<AuthBody>| async move {
//!     // Only authenticated requests get here, with what was authenticated as an extension.
//!     let authenticated =
//!         request.extensions().get::<AuthenticatedRequest>().expect("set by the layer").clone();
//!     Ok::<_, std::convert::Infallible>(http::Response::new(format!(
//!         "hello {}",
//!         authenticated.owner
//!     )))
//! });
//! let mut service = SessionAuthLayer::new(gateway).layer(handler);
//! let request = http::Request::new(http_body_util::Full::new(bytes::Bytes::new()));
//! let response = service.oneshot(request).await;
//! # }
//! ```

use std::{
	net::SocketAddr,
	sync::Arc,
	task::{Context, Poll},
};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{header, uri::PathAndQuery, HeaderMap, HeaderValue, Request, Response, Uri};
use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use session_keys_client::{HTTP_HEADER, STATE_HEADER};
use tower::{Layer, Service};

use crate::{Chain, Gateway, Inbound, Refusal};

/// The body the inner service receives: the request's body, read whole.
pub type AuthBody = Full<Bytes>;

/// The address a request came from, as a request extension. The layer limits headers by keys
/// it has not cached per address ([`crate::Settings::unknown_key_rate`]); the proxy sets it,
/// and an embedder sets it from its server's connection info. Without it every request shares
/// one bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// Adds session-key authentication in front of a service. An authenticated request reaches the
/// service with an [`crate::AuthenticatedRequest`] extension (owner, key, counterpart, tier, what
/// was signed); any other is answered by the layer itself ([`crate::Refusal::response`]: 400, 401, 403,
/// 413, 429 or 503 with a JSON body).
pub struct SessionAuthLayer<C> {
	gateway: Arc<Gateway<C>>,
}

impl<C> SessionAuthLayer<C> {
	/// A layer authenticating with `gateway`.
	pub fn new(gateway: Arc<Gateway<C>>) -> Self {
		Self { gateway }
	}
}

impl<C> Clone for SessionAuthLayer<C> {
	fn clone(&self) -> Self {
		Self { gateway: self.gateway.clone() }
	}
}

impl<S, C> Layer<S> for SessionAuthLayer<C> {
	type Service = SessionAuth<S, C>;

	fn layer(&self, inner: S) -> Self::Service {
		SessionAuth { inner, gateway: self.gateway.clone() }
	}
}

/// The service [`SessionAuthLayer`] makes.
pub struct SessionAuth<S, C> {
	inner: S,
	gateway: Arc<Gateway<C>>,
}

impl<S: Clone, C> Clone for SessionAuth<S, C> {
	fn clone(&self) -> Self {
		Self { inner: self.inner.clone(), gateway: self.gateway.clone() }
	}
}

/// The request's declared length, if it declares one.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
	headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// `uri` with its query replaced by `query` (none if empty).
fn with_query(uri: &Uri, query: &[u8]) -> Option<Uri> {
	let path = uri.path();
	let path_and_query = if query.is_empty() {
		PathAndQuery::try_from(path).ok()?
	} else {
		let query = std::str::from_utf8(query).ok()?;
		PathAndQuery::try_from(format!("{path}?{query}")).ok()?
	};
	let mut parts = uri.clone().into_parts();
	parts.path_and_query = Some(path_and_query);
	Uri::from_parts(parts).ok()
}

/// Marks an answer to an authenticated request as one client's: `Cache-Control: private`
/// unless the service chose its own, and `Vary: x-session-auth` in any case, so no shared
/// cache hands it to another client.
pub fn mark_private(headers: &mut HeaderMap) {
	if !headers.contains_key(header::CACHE_CONTROL) {
		headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
	}
	let varies = headers
		.get_all(header::VARY)
		.iter()
		.filter_map(|value| value.to_str().ok())
		.flat_map(|value| value.split(','))
		.any(|name| name.trim() == "*" || name.trim().eq_ignore_ascii_case(HTTP_HEADER));
	if !varies {
		headers.append(header::VARY, HeaderValue::from_static(HTTP_HEADER));
	}
}

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for SessionAuth<S, C>
where
	S: Service<Request<AuthBody>, Response = Response<ResBody>> + Clone + Send + 'static,
	S::Future: Send,
	ReqBody: http_body::Body + Send + 'static,
	ReqBody::Data: Send,
	ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
	C: Chain,
{
	type Response = Response<Either<ResBody, Full<Bytes>>>;
	type Error = S::Error;
	type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

	fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
		self.inner.poll_ready(cx)
	}

	fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
		// The clone that was polled ready serves this request (tower's usual swap).
		let clone = self.inner.clone();
		let mut inner = std::mem::replace(&mut self.inner, clone);
		let gateway = self.gateway.clone();
		Box::pin(async move {
			let (mut parts, body) = request.into_parts();
			let path = parts.uri.path().to_owned();
			let refuse = |refusal: Refusal, counted: bool| {
				if !counted {
					gateway.count_refusal(&refusal);
				}
				tracing::debug!(reason = refusal.label(), path, "refused: {refusal}");
				Ok(refusal.response().map(Either::Right))
			};
			// What can be refused without the body is refused before reading it: a missing,
			// malformed or unaccepted header, a declared length over the limit.
			let parsed = match gateway.parse_header(parts.headers.get(HTTP_HEADER)) {
				Ok(parsed) => parsed,
				Err(refusal) => return refuse(refusal, false),
			};
			let limit = gateway.settings().max_body_bytes;
			if declared_length(&parts.headers).is_some_and(|length| length > limit as u64) {
				return refuse(Refusal::PayloadTooLarge { limit }, false);
			}
			// A body sent slowly would hold the connection and its buffer: it has a deadline.
			let deadline = gateway.settings().body_read_timeout;
			let body = match tokio::time::timeout(deadline, Limited::new(body, limit).collect())
				.await
			{
				Err(_) => return refuse(Refusal::BodyTimeout(deadline), false),
				Ok(Ok(collected)) => collected.to_bytes(),
				Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
					return refuse(Refusal::PayloadTooLarge { limit }, false)
				}
				Ok(Err(error)) => return refuse(Refusal::BodyUnreadable(error.to_string()), false),
			};
			let peer = parts.extensions.get::<PeerAddr>().map(|peer| peer.0.ip());
			let inbound =
				Inbound::new(&parts.method, &parts.uri, parts.headers.get(HTTP_HEADER), &body)
					.from_peer(peer)
					.with_parsed(&parsed);
			let session = match gateway.authenticate(&inbound).await {
				Ok(session) => session,
				Err(refusal) => return refuse(refusal, true),
			};
			tracing::debug!(owner = %session.owner, key = ?session.key, tier = %session.tier, path = parts.uri.path(), "accepted");
			// A metered call is served only once its state is stored by the watchtower.
			if let (Some(meter), Some(genesis)) = (gateway.meter(), gateway.genesis()) {
				let state = parts.headers.get(STATE_HEADER);
				if let Err(refused) =
					meter.charge(&session, state, &genesis, &gateway.metrics).await
				{
					tracing::debug!(
						reason = refused.refusal.reason(),
						path,
						"payment refused: {}",
						refused.refusal
					);
					return Ok(refused.response().map(Either::Right));
				}
			}
			// The service sees what was signed: the canonical query and the body's digest.
			match with_query(&parts.uri, &session.request.query) {
				Some(uri) => parts.uri = uri,
				None => return refuse(Refusal::MalformedQuery, false),
			}
			parts.headers.remove("content-digest");
			if let Ok(digest) = HeaderValue::try_from(session.request.content_digest_header()) {
				parts.headers.insert("content-digest", digest);
			}
			parts.extensions.insert(session);
			let mut response = inner.call(Request::from_parts(parts, Full::new(body))).await?;
			mark_private(response.headers_mut());
			Ok(response.map(Either::Left))
		})
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn answers_are_private_and_vary_on_the_session_header() {
		let mut plain = HeaderMap::new();
		mark_private(&mut plain);
		assert_eq!(plain[header::CACHE_CONTROL], "private");
		assert_eq!(plain[header::VARY], HTTP_HEADER);
		let mut own = HeaderMap::new();
		own.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
		own.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
		mark_private(&mut own);
		assert_eq!(own[header::CACHE_CONTROL], "public, max-age=60");
		let vary: Vec<_> = own.get_all(header::VARY).iter().collect();
		assert_eq!(vary, ["Accept-Encoding", HTTP_HEADER]);
		let mut already = HeaderMap::new();
		already.insert(header::VARY, HeaderValue::from_static("X-Session-Auth"));
		mark_private(&mut already);
		assert_eq!(already.get_all(header::VARY).iter().count(), 1);
	}

	#[test]
	fn the_query_is_replaced_by_its_canonical_form() {
		let uri: Uri = "/orders/17?b=2&a=%7e".parse().unwrap();
		assert_eq!(with_query(&uri, b"a=~&b=2").unwrap(), "/orders/17?a=~&b=2");
		assert_eq!(with_query(&uri, b"").unwrap(), "/orders/17");
		let absolute: Uri = "http://api.example/x?y".parse().unwrap();
		assert_eq!(with_query(&absolute, b"y").unwrap(), "http://api.example/x?y");
		assert_eq!(declared_length(&HeaderMap::new()), None);
	}
}
