//! The client's one error type.

use sp_runtime::DispatchError;

/// The adjudicator's error type on this runtime.
pub type AdjudicatorError = pallet_session_keys::Error<session_keys_runtime::Runtime>;

/// What can go wrong talking to a node.
#[derive(Debug, thiserror::Error)]
pub enum Error {
	/// The node at `url` could not be reached (or reached again, after a disconnection, within
	/// the reconnection timeout).
	#[error("cannot connect to {url}: {source}")]
	Connect {
		/// The URL dialled.
		url: String,
		/// Why it failed.
		#[source]
		source: Box<dyn std::error::Error + Send + Sync>,
	},
	/// The URL is not a `ws://`, `wss://`, `http://` or `https://` URL.
	#[error("`{0}` is not a node URL: expected ws://, wss://, http:// or https://")]
	InvalidUrl(String),
	/// A JSON-RPC request failed (the node answered with an error, or the connection dropped
	/// while waiting).
	#[error("JSON-RPC `{method}` failed: {source}")]
	Rpc {
		/// The method called.
		method: &'static str,
		/// The transport's or the node's error.
		#[source]
		source: Box<dyn std::error::Error + Send + Sync>,
	},
	/// The transaction pool refused the transaction, or it was dropped or invalidated before
	/// it was included.
	#[error("transaction not included: {0}")]
	Submission(#[source] Box<dyn std::error::Error + Send + Sync>),
	/// The node stopped reporting the transaction's status before it was included (the
	/// connection may have dropped): it may still be included; look for it before resubmitting.
	/// The next call uses a new connection.
	#[error("the transaction's status is unknown: {0}")]
	StatusUnknown(#[source] Box<dyn std::error::Error + Send + Sync>),
	/// The session key binds no one (the sr25519 identity, an ed25519 small-order point, a
	/// non-canonical encoding): it verifies signatures nobody made, and the chain refuses it.
	#[error("the session key binds no one ({0:?}); generate a real key")]
	WeakKey(session_keys_primitives::WeakKey),
	/// An argument does not fit the runtime's bounds (a description, scope or proof too long).
	#[error("{what} is longer than the runtime allows")]
	InvalidArgument {
		/// Which argument.
		what: &'static str,
	},
	/// The extrinsic was included, but its dispatch failed.
	#[error("dispatch failed: {0}")]
	Dispatch(DispatchFailure),
	/// Bytes from the node did not decode as the type expected.
	#[error("cannot decode {what}: {source}")]
	Decode {
		/// What was being decoded.
		what: &'static str,
		/// The codec's error.
		#[source]
		source: codec::Error,
	},
	/// The runtime's metadata hash, which every transaction signs (`CheckMetadataHash`), cannot
	/// be computed from what the node serves.
	#[error("cannot compute the runtime's metadata hash: {0}")]
	MetadataHash(&'static str),
	/// The node's metadata cannot be merkleized (RFC 78) for `CheckMetadataHash`.
	#[error("cannot merkleize the node's metadata for its hash: {0}")]
	MerkleizeMetadata(String),
	/// Something expected is missing on chain (a block, a header).
	#[error("not found on chain: {0}")]
	NotFound(&'static str),
	/// A wait took longer than allowed.
	#[error("timed out after {0:?} waiting for {1}")]
	Timeout(std::time::Duration, &'static str),
}

impl Error {
	/// The adjudicator's error, if this is a dispatch failure of one of its calls.
	pub fn adjudicator(&self) -> Option<&AdjudicatorError> {
		match self {
			Error::Dispatch(failure) => failure.adjudicator.as_ref(),
			_ => None,
		}
	}

	/// The pallet error's name (`KeyRetired`, `InvalidProof`, ...), if this is a dispatch
	/// failure with a module error.
	pub fn error_name(&self) -> Option<&str> {
		match self {
			Error::Dispatch(failure) => failure.name.as_deref(),
			_ => None,
		}
	}

	pub(crate) fn rpc(
		method: &'static str,
		source: impl std::error::Error + Send + Sync + 'static,
	) -> Self {
		Error::Rpc { method, source: Box::new(source) }
	}

	pub(crate) fn submission(source: impl std::error::Error + Send + Sync + 'static) -> Self {
		Error::Submission(Box::new(source))
	}
}

/// A failed dispatch, named.
#[derive(Debug)]
pub struct DispatchFailure {
	/// The runtime's error.
	pub error: DispatchError,
	/// The pallet whose error it is (`Adjudicator`, `Balances`, ...), for a module error.
	pub pallet: Option<String>,
	/// The error's name in that pallet (`KeyRetired`, ...), for a module error.
	pub name: Option<String>,
	/// The adjudicator's error, typed, when the adjudicator failed.
	pub adjudicator: Option<AdjudicatorError>,
}

impl std::fmt::Display for DispatchFailure {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match (&self.pallet, &self.name) {
			(Some(pallet), Some(name)) => write!(f, "{pallet}::{name}"),
			_ => write!(f, "{:?}", self.error),
		}
	}
}

/// The client's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
