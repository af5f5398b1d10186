//! Metered calls: with a price (`--price`, `--price-tier`), every authenticated request must
//! carry the next channel state in `x-session-state`
//! ([`session_keys_client::StateHeader`]), signed by the session key of its `x-session-auth`
//! header, with `nonce` one above the last and `owed` at least the last plus the price. The
//! gateway hands the state to the counterpart's watchtower over its HTTP API
//! (`POST /v1/states`) and forwards the request only once the watchtower stored it, so every
//! call served is backed by a state that `checkpoint` can collect on chain.
//!
//! The watchtower is a separate process reached over HTTP rather than a library linked in:
//! the gateway stays free of the watchtower's SQLite store and sealed signing key, and one
//! watchtower can serve several gateways of the same counterpart.
//!
//! The last state of each key is remembered (read from the watchtower, `GET /v1/states/KEY`,
//! the first time the key is seen, or the registration's state on chain if the watchtower
//! holds none). Calls by the same key are metered one at a time. A missing, malformed or short
//! state, or one the watchtower refuses (its reason passed through), is answered `402 Payment
//! Required` with `expectedNonce` and `minOwed`; a watchtower that does not answer in time is
//! `503`.

use std::{num::NonZeroUsize, sync::Arc, time::Duration};

use bytes::Bytes;
use codec::Encode;
use http::{header, HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client as HttpClient};
use hyper_util::rt::TokioExecutor;
use parking_lot::Mutex;
use session_keys_client::{Balance, ChannelState, StateHeader, StateHeaderError};
use session_keys_primitives::SessionPublic;
use sp_core::H256;

use crate::{metrics::Metrics, AuthenticatedRequest};

/// How the gateway prices calls and where its watchtower is.
#[derive(Clone, Debug)]
pub struct MeterSettings {
	/// The price of one call.
	pub price: Balance,
	/// Prices per rate tier (by tier name), overriding [`MeterSettings::price`].
	pub tier_prices: Vec<(String, Balance)>,
	/// The watchtower's base URL (`http://host:port`).
	pub watchtower: Uri,
	/// How long a watchtower request may take before the call is answered 503.
	pub timeout: Duration,
}

impl MeterSettings {
	/// The price of a call by an owner in `tier`.
	pub fn price_for(&self, tier: &str) -> Balance {
		self.tier_prices
			.iter()
			.find(|(name, _)| name == tier)
			.map_or(self.price, |(_, price)| *price)
	}
}

/// Why a metered call was not let through.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PaymentRefusal {
	/// The request carries no `x-session-state`.
	#[error("the request carries no `x-session-state`: send the next state signed by the key")]
	MissingState,
	/// The `x-session-state` value is not one.
	#[error("malformed `x-session-state`: {0}")]
	MalformedState(StateHeaderError),
	/// The state's signature is not the session key's over it for this chain.
	#[error("the state's signature is not the session key's over it for this chain")]
	BadStateSignature,
	/// The state's nonce is not one above the last.
	#[error("the state's nonce is {nonce}, expected {expected}")]
	WrongNonce {
		/// The state's nonce.
		nonce: u64,
		/// The nonce expected.
		expected: u64,
	},
	/// The state owes less than the last state plus the price.
	#[error("the state owes {owed}, less than the {min_owed} this call needs")]
	OwedTooLow {
		/// What the state owes.
		owed: Balance,
		/// The least it must owe.
		min_owed: Balance,
	},
	/// The watchtower refused the state: its reason (`StaleNonce`, `OverSpendingLimit`, ...)
	/// and detail.
	#[error("the watchtower refused the state ({reason}): {detail}")]
	Watchtower {
		/// The watchtower's reason.
		reason: String,
		/// Its detail.
		detail: String,
	},
	/// The watchtower did not answer, or failed (answered 5xx): the call is not served.
	#[error("the watchtower is unavailable: {0}")]
	WatchtowerUnavailable(String),
}

impl PaymentRefusal {
	/// The name under `reason` in the answer and the metric's label; for a watchtower's
	/// refusal, the watchtower's own reason.
	pub fn reason(&self) -> &str {
		match self {
			PaymentRefusal::MissingState => "MissingState",
			PaymentRefusal::MalformedState(error) => error.name(),
			PaymentRefusal::BadStateSignature => "BadStateSignature",
			PaymentRefusal::WrongNonce { .. } => "WrongNonce",
			PaymentRefusal::OwedTooLow { .. } => "OwedTooLow",
			PaymentRefusal::Watchtower { reason, .. } => reason,
			PaymentRefusal::WatchtowerUnavailable(_) => "WatchtowerUnavailable",
		}
	}

	/// The answer: `402 Payment Required` (503 when the watchtower is unavailable) with
	/// `{"error", "reason", "detail", "expectedNonce", "minOwed", "price"}`, `minOwed` and
	/// `price` as decimal strings, and `refusedBy: "watchtower"` for the watchtower's refusals.
	pub fn response(&self, expected: Option<&Expected>) -> Response<Full<Bytes>> {
		let status = match self {
			PaymentRefusal::WatchtowerUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
			_ => StatusCode::PAYMENT_REQUIRED,
		};
		let mut body = serde_json::json!({
			"error": status.canonical_reason().unwrap_or("Refused"),
			"reason": self.reason(),
			"detail": self.to_string(),
		});
		if let Some(expected) = expected {
			body["expectedNonce"] = expected.nonce.into();
			body["minOwed"] = expected.min_owed.to_string().into();
			body["price"] = expected.price.to_string().into();
		}
		if matches!(self, PaymentRefusal::Watchtower { .. }) {
			body["refusedBy"] = "watchtower".into();
		}
		let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
		*response.status_mut() = status;
		let headers = response.headers_mut();
		headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
		headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
		if status == StatusCode::SERVICE_UNAVAILABLE {
			headers.insert(header::RETRY_AFTER, HeaderValue::from(1));
		}
		response
	}
}

/// What the next call of a key must carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
	/// The state's nonce: one above the last.
	pub nonce: u64,
	/// The least it may owe: the last state's owed plus the price.
	pub min_owed: Balance,
	/// The price of this call.
	pub price: Balance,
}

/// A metering refusal with what the call should have carried (if the gateway got that far).
#[derive(Debug)]
pub struct Refused {
	/// Why.
	pub refusal: PaymentRefusal,
	/// What the next state must be.
	pub expected: Option<Expected>,
}

impl Refused {
	/// The HTTP answer.
	pub fn response(&self) -> Response<Full<Bytes>> {
		self.refusal.response(self.expected.as_ref())
	}
}

/// The last state accepted of one key (`None`: to be read from the watchtower).
type Slot = Arc<tokio::sync::Mutex<Option<ChannelState<Balance>>>>;

/// The metering: the prices, a client of the watchtower and the last state of each key.
pub struct Meter {
	settings: MeterSettings,
	client: HttpClient<HttpConnector, Full<Bytes>>,
	slots: Mutex<lru::LruCache<SessionPublic, Slot>>,
}

impl Meter {
	/// Metering with `settings`, remembering the last state of at most `keys` keys.
	pub fn new(settings: MeterSettings, keys: NonZeroUsize) -> Self {
		let client = HttpClient::builder(TokioExecutor::new()).build_http();
		Self { settings, client, slots: Mutex::new(lru::LruCache::new(keys)) }
	}

	/// The settings.
	pub fn settings(&self) -> &MeterSettings {
		&self.settings
	}

	/// Takes the state `header` carries for the call of `session`: checks it against the last
	/// state of the key and the price of the session's tier, hands it to the watchtower, and
	/// remembers it once stored.
	pub async fn charge(
		&self,
		session: &AuthenticatedRequest,
		header: Option<&HeaderValue>,
		genesis: &H256,
		metrics: &Metrics,
	) -> Result<ChannelState<Balance>, Refused> {
		let outcome = self.charge_inner(session, header, genesis).await;
		match &outcome {
			Ok(_) => metrics.metered_calls.inc(),
			Err(refused) => {
				metrics.metering_refusals.with_label_values(&[refused.refusal.reason()]).inc()
			}
		}
		outcome
	}

	async fn charge_inner(
		&self,
		session: &AuthenticatedRequest,
		header: Option<&HeaderValue>,
		genesis: &H256,
	) -> Result<ChannelState<Balance>, Refused> {
		let price = self.settings.price_for(&session.tier);
		let slot = self.slots.lock().get_or_insert(session.key, Slot::default).clone();
		let mut last = slot.lock().await;
		let known = match *last {
			Some(state) => state,
			None => {
				let held = self.newest(&session.key).await.map_err(|refusal| Refused {
					refusal: PaymentRefusal::WatchtowerUnavailable(refusal),
					expected: None,
				})?;
				// The watchtower's newest, or the chain's if that is newer (or none is held).
				match held {
					Some(held) if held.nonce >= session.state.nonce => held,
					_ => session.state,
				}
			}
		};
		*last = Some(known);
		let expected = Expected {
			nonce: known.nonce.saturating_add(1),
			min_owed: known.owed.saturating_add(price),
			price,
		};
		let refuse = |refusal| Refused { refusal, expected: Some(expected) };
		let text = header.ok_or_else(|| refuse(PaymentRefusal::MissingState))?;
		let text = text
			.to_str()
			.map_err(|_| refuse(PaymentRefusal::MalformedState(StateHeaderError::NotBase64)))?;
		let signed = StateHeader::parse(text)
			.map_err(|error| refuse(PaymentRefusal::MalformedState(error)))?;
		let payload = signed.state.signing_payload(genesis, &session.key);
		if !session.key.verify(&payload, &signed.signature) {
			return Err(refuse(PaymentRefusal::BadStateSignature));
		}
		if signed.state.nonce != expected.nonce {
			return Err(refuse(PaymentRefusal::WrongNonce {
				nonce: signed.state.nonce,
				expected: expected.nonce,
			}));
		}
		if signed.state.owed < expected.min_owed {
			return Err(refuse(PaymentRefusal::OwedTooLow {
				owed: signed.state.owed,
				min_owed: expected.min_owed,
			}));
		}
		match self.store(&session.key, &signed).await {
			Ok(()) => {
				*last = Some(signed.state);
				Ok(signed.state)
			}
			Err(refusal) => {
				// The watchtower may know a newer state than this gateway: read it again.
				*last = None;
				Err(refuse(refusal))
			}
		}
	}

	/// One request to the watchtower, within the timeout: the status and the JSON body.
	async fn request(
		&self,
		request: Request<Full<Bytes>>,
	) -> Result<(StatusCode, serde_json::Value), String> {
		let timeout = self.settings.timeout;
		let exchange = async {
			let response = self.client.request(request).await.map_err(|e| e.to_string())?;
			let status = response.status();
			let body = response.into_body().collect().await.map_err(|e| e.to_string())?;
			let json = serde_json::from_slice(&body.to_bytes()).unwrap_or_default();
			Ok::<_, String>((status, json))
		};
		tokio::time::timeout(timeout, exchange)
			.await
			.map_err(|_| format!("no answer within {timeout:?}"))?
	}

	fn url(&self, path: &str) -> Result<Uri, String> {
		let base = self.settings.watchtower.to_string();
		format!("{}{path}", base.trim_end_matches('/')).parse().map_err(|e| format!("{e}"))
	}

	/// The newest state the watchtower holds for `key` (`None`: it holds none).
	async fn newest(&self, key: &SessionPublic) -> Result<Option<ChannelState<Balance>>, String> {
		let path = format!("/v1/states/{}", sp_core::bytes::to_hex(&key.encode(), false));
		let request = Request::get(self.url(&path)?)
			.body(Full::new(Bytes::new()))
			.map_err(|e| e.to_string())?;
		let (status, body) = self.request(request).await?;
		match status {
			StatusCode::NOT_FOUND => Ok(None),
			StatusCode::OK => {
				let state: ChannelState<Balance> = serde_json::from_value(body)
					.map_err(|e| format!("the watchtower's state is unreadable: {e}"))?;
				Ok(Some(state))
			}
			status => Err(format!("GET {path} answered {status}")),
		}
	}

	/// Hands `signed` to the watchtower: `Ok` once it stored it.
	async fn store(&self, key: &SessionPublic, signed: &StateHeader) -> Result<(), PaymentRefusal> {
		let body = serde_json::json!({
			"public": key,
			"nonce": signed.state.nonce,
			"owed": signed.state.owed.to_string(),
			"margin": signed.state.margin.to_string(),
			"signature": signed.signature,
		});
		let request =
			Request::post(self.url("/v1/states").map_err(PaymentRefusal::WatchtowerUnavailable)?)
				.header(header::CONTENT_TYPE, "application/json")
				.body(Full::new(Bytes::from(body.to_string())))
				.map_err(|e| PaymentRefusal::WatchtowerUnavailable(e.to_string()))?;
		let (status, body) =
			self.request(request).await.map_err(PaymentRefusal::WatchtowerUnavailable)?;
		if status == StatusCode::OK {
			return Ok(());
		}
		let text = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
		if status.is_client_error() {
			let reason = match text("reason") {
				reason if reason.is_empty() => format!("Watchtower{}", status.as_u16()),
				reason => reason,
			};
			Err(PaymentRefusal::Watchtower { reason, detail: text("detail") })
		} else {
			Err(PaymentRefusal::WatchtowerUnavailable(format!(
				"POST /v1/states answered {status}: {}",
				text("detail")
			)))
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn tiers_have_their_own_price() {
		let settings = MeterSettings {
			price: 2,
			tier_prices: vec![("gold".into(), 1)],
			watchtower: Uri::from_static("http://127.0.0.1:1"),
			timeout: Duration::from_secs(1),
		};
		assert_eq!(settings.price_for("gold"), 1);
		assert_eq!(settings.price_for("base"), 2);
	}

	#[test]
	fn refusals_name_the_next_state() {
		let expected = Expected { nonce: 4, min_owed: 12, price: 1 };
		let response =
			PaymentRefusal::OwedTooLow { owed: 11, min_owed: 12 }.response(Some(&expected));
		assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
		let bytes = futures::executor::block_on(response.into_body().collect()).unwrap().to_bytes();
		let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
		assert_eq!(body["reason"], "OwedTooLow");
		assert_eq!(body["expectedNonce"], 4);
		assert_eq!(body["minOwed"], "12");
		let watchtower = PaymentRefusal::Watchtower {
			reason: "OverSpendingLimit".into(),
			detail: "owes 9".into(),
		};
		assert_eq!(watchtower.reason(), "OverSpendingLimit");
		assert_eq!(
			PaymentRefusal::WatchtowerUnavailable("down".into()).response(None).status(),
			StatusCode::SERVICE_UNAVAILABLE
		);
		assert_eq!(
			PaymentRefusal::MalformedState(StateHeaderError::NotBase64).reason(),
			"StateHeaderNotBase64"
		);
	}
}
