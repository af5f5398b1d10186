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
	/// The header's `(key, nonce)` was accepted before (`--one-time-headers`).
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
}

impl Refusal {
	/// The status code of the answer.
	pub fn status(&self) -> StatusCode {
		match self {
			Refusal::Malformed(_) => StatusCode::BAD_REQUEST,
			Refusal::MissingHeader | Refusal::NotAuthenticated { .. } | Refusal::Replayed => {
				StatusCode::UNAUTHORIZED
			}
			Refusal::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
			Refusal::BelowLowestTier { .. } => StatusCode::FORBIDDEN,
			Refusal::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
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
			Refusal::Replayed => "Replayed".into(),
			Refusal::RateLimited { .. } => "RateLimited".into(),
			Refusal::BelowLowestTier { .. } => "BelowLowestTier".into(),
			Refusal::Unavailable(_) => "Unavailable".into(),
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
			Refusal::Replayed => "Replayed",
			Refusal::RateLimited { .. } => "RateLimited",
			Refusal::BelowLowestTier { .. } => "BelowLowestTier",
			Refusal::Unavailable(_) => "Unavailable",
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
		if let Refusal::RateLimited { retry_after, .. } = self {
			let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
			headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
		}
		if matches!(self, Refusal::MissingHeader | Refusal::NotAuthenticated { .. }) {
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
