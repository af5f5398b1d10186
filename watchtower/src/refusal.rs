//! What the intake answers: a stored state ([`Accepted`]), a named refusal ([`StateRefusal`]),
//! or a failure of the watchtower's own ([`SubmitError::Unavailable`], [`SubmitError::Store`]).

use session_keys_client::{AccountId, Balance, BlockNumber, EndReason, SessionPublic, WeakKey};

/// A state the watchtower stored durably before answering.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Accepted {
	/// The session key.
	pub public: SessionPublic,
	/// The stored state's nonce: the newest the watchtower holds for the key.
	pub nonce: u64,
	/// What it owes (a decimal string in JSON).
	#[serde(with = "session_keys_primitives::serde_helpers::decimal")]
	pub owed: Balance,
	/// What it owes beyond the state checkpointed on chain (a decimal string in JSON).
	#[serde(with = "session_keys_primitives::serde_helpers::decimal")]
	pub unbanked: Balance,
	/// Whether this exact state was stored already (a repeated submission: nothing changed).
	pub duplicate: bool,
}

/// Why a state was refused. Each has a name (`reason` in JSON) and an HTTP status (4xx).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateRefusal {
	/// The body is not a signed state (bad JSON, hex, SCALE or decimal).
	#[error("not a signed state: {0}")]
	Malformed(String),
	/// The session key binds no one: anyone could sign for it, and the chain refuses it.
	#[error("the session key binds no one ({0:?})")]
	WeakKey(WeakKey),
	/// The signature is not the session key's over this state for this chain.
	#[error("the signature is not the session key's over this state for this chain")]
	BadSignature,
	/// No session was ever registered with the key.
	#[error("no session is registered with this key")]
	UnknownKey,
	/// The key's session is with another counterpart.
	#[error("the key's session is with {counterpart}, not this watchtower's counterpart")]
	WrongCounterpart {
		/// The session's counterpart.
		counterpart: AccountId,
	},
	/// The key is closing: it signs nothing new (the watchtower still checkpoints what it holds).
	#[error("the key is closing (revoked or expired) and settles at block {settles_at}")]
	KeyClosing {
		/// When the session settles.
		settles_at: BlockNumber,
	},
	/// The key's session ended.
	#[error("the key's session ended ({0:?})")]
	KeyEnded(EndReason),
	/// The nonce is not above the newest state stored here or checkpointed on chain.
	#[error("nonce {nonce} is not above the newest one, {newest}")]
	StaleNonce {
		/// The state's nonce.
		nonce: u64,
		/// The newest nonce stored or on chain.
		newest: u64,
	},
	/// The state owes less than the newest stored or checkpointed one.
	#[error("owes {owed}, less than the newest state's {newest}")]
	OwedDecreased {
		/// What the state owes.
		owed: Balance,
		/// What the newest state owes.
		newest: Balance,
	},
	/// The state owes more than the session's spending limit that applies now.
	#[error("owes {owed}, above the spending limit {limit}")]
	OverSpendingLimit {
		/// What the state owes.
		owed: Balance,
		/// The limit that applies.
		limit: Balance,
	},
}

impl StateRefusal {
	/// The refusal's name, as `reason` in JSON and as the metric's label.
	pub fn name(&self) -> &'static str {
		match self {
			StateRefusal::Malformed(_) => "Malformed",
			StateRefusal::WeakKey(_) => "WeakKey",
			StateRefusal::BadSignature => "BadSignature",
			StateRefusal::UnknownKey => "UnknownKey",
			StateRefusal::WrongCounterpart { .. } => "WrongCounterpart",
			StateRefusal::KeyClosing { .. } => "KeyClosing",
			StateRefusal::KeyEnded(_) => "KeyEnded",
			StateRefusal::StaleNonce { .. } => "StaleNonce",
			StateRefusal::OwedDecreased { .. } => "OwedDecreased",
			StateRefusal::OverSpendingLimit { .. } => "OverSpendingLimit",
		}
	}

	/// The HTTP status `POST /v1/states` answers with.
	pub fn status(&self) -> u16 {
		match self {
			StateRefusal::Malformed(_) => 400,
			StateRefusal::WrongCounterpart { .. } => 403,
			StateRefusal::UnknownKey => 404,
			StateRefusal::KeyClosing { .. }
			| StateRefusal::StaleNonce { .. }
			| StateRefusal::OwedDecreased { .. } => 409,
			StateRefusal::KeyEnded(_) => 410,
			StateRefusal::WeakKey(_)
			| StateRefusal::BadSignature
			| StateRefusal::OverSpendingLimit { .. } => 422,
		}
	}

	/// The JSON body of the refusal: `{"reason": name, "detail": text}`.
	pub fn to_json(&self) -> serde_json::Value {
		serde_json::json!({ "reason": self.name(), "detail": self.to_string() })
	}
}

/// Why [`crate::Watchtower::submit_state`] did not store a state.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
	/// The state is refused, by name.
	#[error("refused: {0}")]
	Refused(#[from] StateRefusal),
	/// The chain could not be read to check the state: try again (HTTP 503).
	#[error("the chain cannot be read to check the state: {0}")]
	Unavailable(String),
	/// The store failed to write: the state is not stored (HTTP 500).
	#[error("the store failed: {0}")]
	Store(String),
}

impl SubmitError {
	/// The HTTP status and the JSON body `{"reason", "detail"}`.
	pub fn to_http(&self) -> (u16, serde_json::Value) {
		match self {
			SubmitError::Refused(refusal) => (refusal.status(), refusal.to_json()),
			SubmitError::Unavailable(detail) => {
				(503, serde_json::json!({"reason": "ChainUnavailable", "detail": detail}))
			}
			SubmitError::Store(detail) => {
				(500, serde_json::json!({"reason": "StoreFailed", "detail": detail}))
			}
		}
	}
}
