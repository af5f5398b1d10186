//! [`SessionAuthLayer`]: session-key authentication for any tower service (axum, hyper, tonic).
//!
//! ```no_run
//! # async fn run() {
//! use std::sync::Arc;
//! use session_keys_gateway::{follow, Gateway, NodeChain, Session, SessionAuthLayer, Settings};
//! use tower::{Layer, Service, ServiceExt};
//!
//! // The window is read from the chain when `follow` connects.
//! let gateway = Arc::new(Gateway::new(NodeChain::new(), Settings::new("api.example"), 100));
//! tokio::spawn(follow(gateway.clone(), "ws://127.0.0.1:9944".into(), Default::default()));
//! let handler = tower::service_fn(|request: http::Request<String>| async move {
//!     // Only authenticated requests get here, with the session as an extension.
//!     let session = request.extensions().get::<Session>().expect("set by the layer").clone();
//!     Ok::<_, std::convert::Infallible>(http::Response::new(format!("hello {}", session.owner)))
//! });
//! let mut service = SessionAuthLayer::new(gateway).layer(handler);
//! let response = service.ready().await.unwrap().call(http::Request::new(String::new())).await;
//! # }
//! ```

use std::{
	sync::Arc,
	task::{Context, Poll},
};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Request, Response};
use http_body_util::{Either, Full};
use session_keys_client::HTTP_HEADER;
use tower::{Layer, Service};

use crate::{Chain, Gateway};

/// Adds session-key authentication in front of a service. An authenticated request reaches the
/// service with a [`crate::Session`] extension (owner, key, tier); any other is answered by
/// the layer itself ([`crate::Refusal::response`]: 400, 401, 403, 429 or 503 with a JSON body).
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

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for SessionAuth<S, C>
where
	S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
	S::Future: Send,
	ReqBody: Send + 'static,
	C: Chain,
{
	type Response = Response<Either<ResBody, Full<Bytes>>>;
	type Error = S::Error;
	type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

	fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
		self.inner.poll_ready(cx)
	}

	fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
		// The clone that was polled ready serves this request (tower's usual swap).
		let clone = self.inner.clone();
		let mut inner = std::mem::replace(&mut self.inner, clone);
		let gateway = self.gateway.clone();
		Box::pin(async move {
			let verdict = gateway
				.authenticate(
					request.method(),
					request.uri().path(),
					request.headers().get(HTTP_HEADER),
				)
				.await;
			match verdict {
				Ok(session) => {
					tracing::debug!(owner = %session.owner, key = ?session.key, tier = %session.tier, path = request.uri().path(), "accepted");
					request.extensions_mut().insert(session);
					Ok(inner.call(request).await?.map(Either::Left))
				}
				Err(refusal) => {
					tracing::debug!(
						reason = refusal.label(),
						path = request.uri().path(),
						"refused: {refusal}"
					);
					Ok(refusal.response().map(Either::Right))
				}
			}
		})
	}
}
