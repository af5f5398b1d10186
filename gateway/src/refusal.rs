//! Why a request was not let through, and the HTTP answer for each reason.
//!
//! Every answer has a JSON body `{"error": ..., "reason": ..., "detail": ...}`. For a header the
//! chain's rule refuses, `reason` is the runtime's `AuthError` as serde names it
//! (`"KeyRevoked"`, `{"KeyEnded": "Revoked"}`), so a client reads the same names from the
//! gateway as from `sessionKeys_authenticate`.

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use session_keys_client::{AuthError, Balance, HeaderFormatError};

/// Why the gateway did not authenticate a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
	/// The request has no session header.
	#[error("the request has no `x-session-auth` header")]
	MissingHeader,
	/// The session header is not one (see the client library's text form).
	#[error("malformed session header: {0}")]
	Malformed(HeaderFormatError),
	/// The chain's rule refuses the header.
	#[error("not authenticated: {reason:?}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
	NotAuthenticated {
		/// The runtime's reason.
		reason: AuthError,
		/// A hint for the client, when the gateway can tell more (what the header was
		/// signed for, say).
		detail: Option<String>,
	},
	/// A version 1 header (which binds only `METHOD /path`), and the operator did not pass
	/// `--accept-v1`.
	#[error(
		"version 1 session headers are refused here: they bind neither the query nor the body; \
		 sign a version 2 header (`SessionPair::sign_header_v2`, text form `v2.`)"
	)]
	VersionOneRefused,
	/// The query string has a `%` not followed by two hex digits: it has no canonical form, so
	/// no header can bind it.
	#[error("the query string has a `%` not followed by two hex digits")]
	MalformedQuery,
	/// The query names a `_method` parameter (any case), which frameworks read as another
	/// method than the one authenticated.
	#[error(
		"the query names `{0}`, a method override: send the request with the method you mean \
		 and sign that"
	)]
	MethodOverride(String),
	/// The body is longer than `--max-body-bytes`.
	#[error("the body is longer than the {limit} bytes this gateway accepts")]
	PayloadTooLarge {
		/// The limit, in bytes.
		limit: usize,
	},
	/// The body could not be read (the client stopped sending it, say).
	#[error("the request's body could not be read: {0}")]
	BodyUnreadable(String),
	/// The body did not arrive within `--body-read-timeout`: a client may not hold a
	/// connection and its buffer by sending its body slowly.
	#[error("the request's body did not arrive within {0:?}")]
	BodyTimeout(std::time::Duration),
	/// The key is live, but its counterpart is not one this gateway serves (`--counterpart`).
	#[error(
		"the key's counterpart {counterpart} is not one this service accepts; register a key \
		 whose counterpart is one of: {accepted}"
	)]
	WrongCounterpart {
		/// The key's counterpart (SS58).
		counterpart: String,
		/// The counterparts accepted (SS58, comma separated).
		accepted: String,
	},
	/// The key is live, but holds less collateral than `--min-collateral`.
	#[error("the key holds {collateral} in collateral, below the {min_collateral} required here")]
	CollateralTooLow {
		/// What the key holds.
		collateral: Balance,
		/// What the gateway requires.
		min_collateral: Balance,
	},
	/// Too many headers by keys the gateway has not seen yet came from this address
	/// (`--unknown-key-rate`): each costs a node read.
	#[error("too many requests by new keys from this address; retry in {retry_after:?}")]
	UnknownKeyRateLimited {
		/// When a token is back.
		retry_after: Duration,
	},
	/// Every node read slot stayed busy for `--node-read-timeout`.
	#[error("the node is busy: no read slot became free within {0:?}; try again")]
	ReadSlotTimeout(Duration),
	/// The node did not answer a read within `--node-read-timeout`.
	#[error("the node did not answer within {0:?}; try again")]
	NodeReadTimeout(Duration),
	/// The header's `(key, nonce)` was accepted before (one-time headers, the default).
	#[error("this header was used before; sign a new one with another nonce")]
	Replayed,
	/// The owner's bucket is empty.
	#[error("rate limited in tier {tier}; retry in {retry_after:?}")]
	RateLimited {
		/// The owner's tier.
		tier: String,
		/// When a token is back.
		retry_after: Duration,
	},
	/// The owner's free balance reaches no tier.
	#[error("the owner's free balance is below the lowest tier's minimum of {min_balance}")]
	BelowLowestTier {
		/// The lowest tier's minimum.
		min_balance: Balance,
	},
	/// The gateway cannot tell: it has no recent enough view of the chain. It fails closed.
	#[error("unavailable: {0}")]
	Unavailable(String),
	/// The state the replicas share (Redis: the rate buckets and the used headers) cannot be
	/// reached, and the gateway fails closed rather than accept a header another replica may
	/// have accepted, or exceed an owner's rate.
	#[error("unavailable: the shared state (Redis) cannot be reached: {0}")]
	SharedStateUnavailable(String),
}

impl Refusal {
	/// The status code of the answer.
	pub fn status(&self) -> StatusCode {
		match self {
			Refusal::Malformed(_)
			| Refusal::MalformedQuery
			| Refusal::MethodOverride(_)
			| Refusal::BodyUnreadable(_) => StatusCode::BAD_REQUEST,
			Refusal::MissingHeader
			| Refusal::NotAuthenticated { .. }
			| Refusal::VersionOneRefused
			| Refusal::Replayed => StatusCode::UNAUTHORIZED,
			Refusal::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
			Refusal::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
			Refusal::RateLimited { .. } | Refusal::UnknownKeyRateLimited { .. } => {
				StatusCode::TOO_MANY_REQUESTS
			}
			Refusal::BelowLowestTier { .. }
			| Refusal::WrongCounterpart { .. }
			| Refusal::CollateralTooLow { .. } => StatusCode::FORBIDDEN,
			Refusal::Unavailable(_)
			| Refusal::SharedStateUnavailable(_)
			| Refusal::ReadSlotTimeout(_)
			| Refusal::NodeReadTimeout(_) => StatusCode::SERVICE_UNAVAILABLE,
		}
	}

	/// The reason's name, as the JSON body and the metrics give it.
	pub fn reason(&self) -> serde_json::Value {
		match self {
			Refusal::MissingHeader => "MissingHeader".into(),
			Refusal::Malformed(_) => "MalformedHeader".into(),
			Refusal::NotAuthenticated { reason, .. } => {
				serde_json::to_value(reason).unwrap_or_else(|_| "NotAuthenticated".into())
			}
			other => other.label().into(),
		}
	}

	/// A short label for the metrics (`KeyEnded` without its reason, say).
	pub fn label(&self) -> &'static str {
		match self {
			Refusal::MissingHeader => "MissingHeader",
			Refusal::Malformed(_) => "MalformedHeader",
			Refusal::NotAuthenticated { reason, .. } => match reason {
				AuthError::UnknownKey => "UnknownKey",
				AuthError::KeyEnded(_) => "KeyEnded",
				AuthError::KeyExpired => "KeyExpired",
				AuthError::KeyRevoked => "KeyRevoked",
				AuthError::WrongAccount => "WrongAccount",
				AuthError::StaleBlockHash => "StaleBlockHash",
				AuthError::OutOfScope => "OutOfScope",
				AuthError::BadSignature => "BadSignature",
				AuthError::NonCanonicalResource => "NonCanonicalResource",
				AuthError::NonCanonicalQuery => "NonCanonicalQuery",
			},
			Refusal::VersionOneRefused => "VersionOneRefused",
			Refusal::MalformedQuery => "MalformedQuery",
			Refusal::MethodOverride(_) => "MethodOverride",
			Refusal::PayloadTooLarge { .. } => "PayloadTooLarge",
			Refusal::BodyUnreadable(_) => "BodyUnreadable",
			Refusal::BodyTimeout(_) => "BodyTimeout",
			Refusal::WrongCounterpart { .. } => "WrongCounterpart",
			Refusal::CollateralTooLow { .. } => "CollateralTooLow",
			Refusal::UnknownKeyRateLimited { .. } => "UnknownKeyRateLimited",
			Refusal::ReadSlotTimeout(_) => "ReadSlotTimeout",
			Refusal::NodeReadTimeout(_) => "NodeReadTimeout",
			Refusal::Replayed => "Replayed",
			Refusal::RateLimited { .. } => "RateLimited",
			Refusal::BelowLowestTier { .. } => "BelowLowestTier",
			Refusal::Unavailable(_) => "Unavailable",
			Refusal::SharedStateUnavailable(_) => "SharedStateUnavailable",
		}
	}

	/// The HTTP answer: the status, a JSON body and, when rate limited, `Retry-After` (whole
	/// seconds, rounded up).
	pub fn response(&self) -> Response<Full<Bytes>> {
		let body = serde_json::json!({
			"error": self.status().canonical_reason().unwrap_or("Refused"),
			"reason": self.reason(),
			"detail": self.to_string(),
		});
		let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
		*response.status_mut() = self.status();
		let headers = response.headers_mut();
		headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
		// A refusal is about this request alone: no cache keeps it.
		headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
		match self {
			Refusal::RateLimited { retry_after, .. }
			| Refusal::UnknownKeyRateLimited { retry_after } => {
				let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
				headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
			}
			Refusal::ReadSlotTimeout(_) | Refusal::NodeReadTimeout(_) => {
				headers.insert(header::RETRY_AFTER, HeaderValue::from(1));
			}
			_ => {}
		}
		if matches!(
			self,
			Refusal::MissingHeader | Refusal::NotAuthenticated { .. } | Refusal::VersionOneRefused
		) {
			headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("SessionKey"));
		}
		response
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use session_keys_client::EndReason;

	fn body(refusal: &Refusal) -> serde_json::Value {
		use http_body_util::BodyExt;
		let response = refusal.response();
		let bytes = futures::executor::block_on(response.into_body().collect()).unwrap().to_bytes();
		serde_json::from_slice(&bytes).unwrap()
	}

	#[test]
	fn reasons_are_the_runtimes_names() {
		let revoked = Refusal::NotAuthenticated { reason: AuthError::KeyRevoked, detail: None };
		assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);
		assert_eq!(body(&revoked)["reason"], "KeyRevoked");
		let ended = Refusal::NotAuthenticated {
			reason: AuthError::KeyEnded(EndReason::Revoked),
			detail: None,
		};
		assert_eq!(body(&ended)["reason"], serde_json::json!({"KeyEnded": "Revoked"}));
		assert_eq!(ended.label(), "KeyEnded");
	}

	#[test]
	fn each_kind_has_its_status() {
		assert_eq!(
			Refusal::Malformed(HeaderFormatError::NotBase64).status(),
			StatusCode::BAD_REQUEST
		);
		assert_eq!(Refusal::Unavailable("x".into()).status(), StatusCode::SERVICE_UNAVAILABLE);
		assert_eq!(Refusal::BelowLowestTier { min_balance: 1 }.status(), StatusCode::FORBIDDEN);
		assert_eq!(Refusal::VersionOneRefused.status(), StatusCode::UNAUTHORIZED);
		assert_eq!(Refusal::PayloadTooLarge { limit: 1 }.status(), StatusCode::PAYLOAD_TOO_LARGE);
		assert_eq!(Refusal::MalformedQuery.status(), StatusCode::BAD_REQUEST);
		assert_eq!(Refusal::MethodOverride("_method".into()).status(), StatusCode::BAD_REQUEST);
		let wrong = Refusal::WrongCounterpart { counterpart: "a".into(), accepted: "b".into() };
		assert_eq!(
			(wrong.status(), body(&wrong)["reason"].clone()),
			(StatusCode::FORBIDDEN, "WrongCounterpart".into())
		);
		let low = Refusal::CollateralTooLow { collateral: 1, min_collateral: 2 };
		assert_eq!(
			(low.status(), body(&low)["reason"].clone()),
			(StatusCode::FORBIDDEN, "CollateralTooLow".into())
		);
		let slow = Refusal::NodeReadTimeout(Duration::from_secs(2));
		assert_eq!(slow.status(), StatusCode::SERVICE_UNAVAILABLE);
		assert_eq!(slow.response().headers()[header::RETRY_AFTER], "1");
		let flood = Refusal::UnknownKeyRateLimited { retry_after: Duration::from_millis(10) };
		assert_eq!(flood.status(), StatusCode::TOO_MANY_REQUESTS);
		assert_eq!(body(&flood)["reason"], "UnknownKeyRateLimited");
	}

	#[test]
	fn rate_limited_says_when_to_retry_in_whole_seconds() {
		let limited =
			Refusal::RateLimited { tier: "base".into(), retry_after: Duration::from_millis(1_200) };
		let response = limited.response();
		assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
		assert_eq!(response.headers()[header::RETRY_AFTER], "2");
		let soon = Refusal::RateLimited { tier: "base".into(), retry_after: Duration::ZERO };
		assert_eq!(soon.response().headers()[header::RETRY_AFTER], "1");
	}
}
