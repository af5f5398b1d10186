//! The watchtower's HTTP API:
//!
//! - `POST /v1/states`: a signed state, `{"public", "nonce", "owed", "margin", "signature"}`;
//!   `200` with `{"public", "nonce", "owed", "unbanked", "duplicate"}` once it is on disk, a
//!   4xx with `{"reason", "detail"}` when it is refused ([`crate::StateRefusal`]), `503` when
//!   the chain cannot be read, `500` when the store fails;
//! - `GET /v1/states/0x<key>`: the newest state held for the key (`404` `UnknownState` if none),
//!   with the nonce and owed checkpointed on chain as the watchtower last read them;
//! - `GET /metrics` (Prometheus) and `GET /healthz`.

use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use codec::Decode;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Method, Request, Response};
use hyper_util::rt::TokioIo;
use session_keys_client::SessionPublic;
use tokio::net::TcpListener;

use crate::{refusal::StateRefusal, tower::Watchtower, SignedState};

/// The largest body `POST /v1/states` reads.
pub const MAX_BODY: usize = 16 * 1024;

fn json(status: u16, body: &serde_json::Value) -> Response<Full<Bytes>> {
	Response::builder()
		.status(status)
		.header("content-type", "application/json")
		.body(Full::new(Bytes::from(body.to_string())))
		.unwrap_or_default()
}

fn refusal(status: u16, reason: &str, detail: impl std::fmt::Display) -> Response<Full<Bytes>> {
	json(status, &serde_json::json!({ "reason": reason, "detail": detail.to_string() }))
}

/// Answers one request.
pub async fn handle(
	tower: Arc<Watchtower>,
	request: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
	let path = request.uri().path().to_string();
	match (request.method().clone(), path.as_str()) {
		(Method::POST, "/v1/states") => {
			let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
				Ok(body) => body.to_bytes(),
				Err(error) => {
					return refusal(
						413,
						"Malformed",
						format!("unreadable or over {MAX_BODY} bytes: {error}"),
					)
				}
			};
			let signed = match SignedState::from_json(&body) {
				Ok(signed) => signed,
				Err(error) => {
					let refused = StateRefusal::Malformed(error);
					tower.metrics.states_refused.with_label_values(&[refused.name()]).inc();
					return json(refused.status(), &refused.to_json());
				}
			};
			match tower.submit_state(signed).await {
				Ok(accepted) => json(200, &serde_json::to_value(&accepted).unwrap_or_default()),
				Err(error) => {
					let (status, body) = error.to_http();
					json(status, &body)
				}
			}
		}
		(Method::GET, path) if path.starts_with("/v1/states/") => {
			let key = &path["/v1/states/".len()..];
			let public = match parse_key(key) {
				Ok(public) => public,
				Err(error) => return refusal(400, "Malformed", error),
			};
			match tower.newest(&public) {
				None => refusal(404, "UnknownState", "no state is held for this key"),
				Some(signed) => {
					let on_chain = tower
						.view(&public)
						.and_then(|view| view.registration().map(|reg| reg.state));
					let mut body = serde_json::to_value(&signed).unwrap_or_default();
					body["onChain"] = serde_json::to_value(on_chain).unwrap_or_default();
					json(200, &body)
				}
			}
		}
		(Method::GET, "/metrics") => Response::builder()
			.header("content-type", "text/plain; version=0.0.4")
			.body(Full::new(Bytes::from(tower.metrics.render())))
			.unwrap_or_default(),
		(Method::GET, "/healthz") => {
			json(200, &serde_json::json!({"best": tower.best(), "keys": tower.held().len()}))
		}
		_ => refusal(404, "NotFound", format!("no route for {path}")),
	}
}

/// A session key from `0x`-hex of its SCALE encoding (the form JSON-RPC uses).
pub fn parse_key(text: &str) -> Result<SessionPublic, String> {
	let hex = text.strip_prefix("0x").ok_or_else(|| format!("`{text}`: expected 0x-hex"))?;
	if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
		return Err(format!("`{text}` is not hex"));
	}
	let bytes: Vec<u8> = (0..hex.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("checked hex digits"))
		.collect();
	let mut input = &bytes[..];
	let public = SessionPublic::decode(&mut input).map_err(|e| format!("`{text}`: {e}"))?;
	if !input.is_empty() {
		return Err(format!("`{text}`: trailing bytes after the key"));
	}
	Ok(public)
}

/// Serves the API on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, tower: Arc<Watchtower>) {
	loop {
		let stream = match listener.accept().await {
			Ok((stream, _)) => stream,
			Err(error) => {
				tracing::warn!(%error, "cannot accept a connection");
				tokio::time::sleep(std::time::Duration::from_millis(100)).await;
				continue;
			}
		};
		let tower = tower.clone();
		tokio::spawn(async move {
			let service = service_fn(move |request| {
				let tower = tower.clone();
				async move { Ok::<_, Infallible>(handle(tower, request).await) }
			});
			let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
		});
	}
}

/// Binds `address` for [`serve`].
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
	TcpListener::bind(address).await
}
