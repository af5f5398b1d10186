//! Types shared by the session-key adjudicator: the pallet, the runtime, the node and clients.
//!
//! # Terminology
//!
//! - **Session key**: a short-lived key pair (sr25519, ed25519 or ecdsa) that an *owner* account
//!   registers on chain for a *counterpart*. Its public half is a [`SessionPublic`].
//! - **Ownership proof**: the RFC-0048 proof of possession that polkadot-sdk ships
//!   (`sp_core::proof_of_possession`): the session key's signature over `b"POP_"` followed by the
//!   SCALE-encoded owner account. For a single key the proof is exactly that signature, SCALE
//!   encoded (see [`SessionPublic::verify_ownership`]).
//! - **Registration**: a key's session while it is live or closing ([`Registration`]): the
//!   record the pallet stores, and (with plain vectors) what the runtime API and RPC return.
//! - **Retired record**: what is kept of a session once it ended, forever, so historical
//!   signatures stay verifiable and the key can never be registered again ([`RetiredSession`]).
//!
//! # Features
//!
//! - `std` (default): the standard library.
//! - `serde`: `Serialize` / `Deserialize` for every type that crosses JSON-RPC, in the shapes
//!   [`serde_helpers`] describes. The RPC server and clients use it; the runtime does not.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::{Decode, DecodeAll, DecodeWithMemTracking, Encode, MaxEncodedLen};
use core::fmt::Debug;
use scale_info::TypeInfo;
use sp_application_crypto::RuntimePublic;
use sp_core::{ecdsa, ed25519, sr25519};

pub use sp_core::crypto::KeyTypeId;

mod api;
mod delegation;
mod generate;
mod key_check;
mod key_record;
mod query;
mod registration;
mod request;
#[cfg(feature = "serde")]
pub mod serde_helpers;

pub use api::*;
pub use delegation::*;
pub use generate::GeneratedSessionKey;
pub use key_check::WeakKey;
pub use key_record::KeyRecord;
pub use query::{canonical_query, is_canonical_query, MalformedQuery};
pub use registration::{Registration, StateRejection};
pub use request::*;

/// Key type under which a node's keystore keeps adjudicator session keys.
pub const KEY_TYPE: KeyTypeId = KeyTypeId(*b"sadj");

/// Upper bound on an encoded ownership proof: the longest single signature (ecdsa, 65 bytes).
pub const MAX_PROOF_LEN: u32 = 65;

/// The signature schemes a session key may use.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum CryptoKind {
	/// Schnorr signatures on Ristretto (the Substrate default).
	Sr25519,
	/// Ed25519 signatures.
	Ed25519,
	/// ECDSA over secp256k1 (compressed public keys).
	Ecdsa,
}

/// A session public key of any supported scheme.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Hash,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
pub enum SessionPublic {
	/// An sr25519 public key.
	Sr25519(sr25519::Public),
	/// An ed25519 public key.
	Ed25519(ed25519::Public),
	/// A compressed ecdsa (secp256k1) public key.
	Ecdsa(ecdsa::Public),
}

#[cfg(feature = "serde")]
serde_helpers::serde_as_scale_hex!(SessionPublic, SessionSignature);

impl From<sr25519::Public> for SessionPublic {
	fn from(key: sr25519::Public) -> Self {
		Self::Sr25519(key)
	}
}

impl From<ed25519::Public> for SessionPublic {
	fn from(key: ed25519::Public) -> Self {
		Self::Ed25519(key)
	}
}

impl From<ecdsa::Public> for SessionPublic {
	fn from(key: ecdsa::Public) -> Self {
		Self::Ecdsa(key)
	}
}

/// Why an ownership proof was refused.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ProofError {
	/// The key binds no one ([`SessionPublic::check_key`]), whatever the proof.
	WeakKey(WeakKey),
	/// The bytes are not exactly one SCALE-encoded signature of the key's scheme.
	Malformed,
	/// The signature does not verify for this key and owner.
	Invalid,
}

impl SessionPublic {
	/// The signature scheme of this key.
	pub fn kind(&self) -> CryptoKind {
		match self {
			Self::Sr25519(_) => CryptoKind::Sr25519,
			Self::Ed25519(_) => CryptoKind::Ed25519,
			Self::Ecdsa(_) => CryptoKind::Ecdsa,
		}
	}

	/// Checks an RFC-0048 ownership proof: the key must bind someone
	/// ([`SessionPublic::check_key`]: weak keys verify a universal signature), and `proof` must
	/// decode (all of it, nothing left over) as one signature of this key's scheme, made over
	/// the proof-of-possession statement for `owner` (the SCALE-encoded owner account).
	///
	/// Verification is `RuntimePublic::verify_proof_of_possession`, the same function
	/// pallet-session uses for `set_keys`, so proofs made by the standard generator verify here.
	pub fn verify_ownership(&self, owner: &[u8], mut proof: &[u8]) -> Result<(), ProofError> {
		self.check_key().map_err(ProofError::WeakKey)?;
		let valid = match self {
			Self::Sr25519(key) => {
				let pop = sr25519::Signature::decode_all(&mut proof)
					.map_err(|_| ProofError::Malformed)?;
				key.verify_proof_of_possession(owner, &pop)
			}
			Self::Ed25519(key) => {
				let pop = ed25519::Signature::decode_all(&mut proof)
					.map_err(|_| ProofError::Malformed)?;
				key.verify_proof_of_possession(owner, &pop)
			}
			Self::Ecdsa(key) => {
				let pop =
					ecdsa::Signature::decode_all(&mut proof).map_err(|_| ProofError::Malformed)?;
				key.verify_proof_of_possession(owner, &pop)
			}
		};
		if valid {
			Ok(())
		} else {
			Err(ProofError::Invalid)
		}
	}
}

/// A signature made by a session key, of any supported scheme.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub enum SessionSignature {
	/// An sr25519 signature.
	Sr25519(sr25519::Signature),
	/// An ed25519 signature.
	Ed25519(ed25519::Signature),
	/// An ecdsa signature.
	Ecdsa(ecdsa::Signature),
}

impl From<sr25519::Signature> for SessionSignature {
	fn from(signature: sr25519::Signature) -> Self {
		Self::Sr25519(signature)
	}
}

impl From<ed25519::Signature> for SessionSignature {
	fn from(signature: ed25519::Signature) -> Self {
		Self::Ed25519(signature)
	}
}

impl From<ecdsa::Signature> for SessionSignature {
	fn from(signature: ecdsa::Signature) -> Self {
		Self::Ecdsa(signature)
	}
}

impl SessionPublic {
	/// Whether `signature` is this key's signature over `message`. A signature of another
	/// scheme never verifies.
	pub fn verify(&self, message: &[u8], signature: &SessionSignature) -> bool {
		match (self, signature) {
			(Self::Sr25519(key), SessionSignature::Sr25519(sig)) => key.verify(&message, sig),
			(Self::Ed25519(key), SessionSignature::Ed25519(sig)) => key.verify(&message, sig),
			(Self::Ecdsa(key), SessionSignature::Ecdsa(sig)) => key.verify(&message, sig),
			_ => false,
		}
	}
}

/// Domain tag of a signed channel state. Every signed payload starts with a tag of its own
/// purpose, then the chain's genesis hash, so a signature is worthless for another purpose or
/// chain. (Ownership proofs use sp-core's `POP_` statement, which no tag here starts with.)
pub const STATE_DOMAIN: [u8; 16] = *b"sadj:state:v1\0\0\0";

/// The latest state of a session's channel, as signed by the session key.
#[derive(
	Clone,
	Copy,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
	feature = "serde",
	serde(bound(
		serialize = "Balance: core::fmt::Display",
		deserialize = "Balance: core::str::FromStr"
	))
)]
pub struct ChannelState<Balance> {
	/// Strictly increasing with every checkpoint; 0 before the first.
	pub nonce: u64,
	/// Cumulative amount the owner owes the counterpart; never decreases (a decimal string in
	/// JSON, as are all balances).
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::decimal"))]
	pub owed: Balance,
	/// Collateral the open positions require.
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::decimal"))]
	pub margin: Balance,
}

impl<Balance: Encode> ChannelState<Balance> {
	/// The bytes a session key signs to attest this state on the chain with `genesis_hash`:
	/// SCALE of `(STATE_DOMAIN, genesis_hash, public, nonce, owed, margin)`.
	pub fn signing_payload<Hash: Encode>(
		&self,
		genesis_hash: &Hash,
		public: &SessionPublic,
	) -> Vec<u8> {
		(STATE_DOMAIN, genesis_hash, public, self.nonce, &self.owed, &self.margin).encode()
	}
}

/// How a session ended. Every ending is kept in the key's [`RetiredSession`] record.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum EndReason {
	/// The key reached its expiry block and the session was settled when its closing window
	/// ended.
	Expired,
	/// The owner revoked the key (alone, or with all its other keys) and the session was settled
	/// when its closing window ended.
	Revoked,
	/// The owner replaced the key by a new one.
	Rotated,
	/// The counterpart ended the session.
	Discontinued,
	/// The counterpart liquidated a session whose checkpointed state left it
	/// under-collateralized (owed + margin > collateral).
	Liquidated,
}

/// Where a registered session is in its life.
///
/// A session is *live* while `now < expires_at`; it is *closing* from `expires_at` (or from the
/// block its key was revoked in) until `settles_at`, when `on_initialize` settles it. While it is
/// closing the key is invalid for everything the owner or the key can do, and the counterpart may
/// still checkpoint newer states the key signed.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Phase {
	/// The key is valid.
	Live,
	/// The key expired or was revoked (the reason the session will end with); the session
	/// settles at `settles_at`.
	Closing(EndReason),
}

/// A decrease of a session's spending limit that waits for the challenge period, so that it
/// cannot void a state the key already signed.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
	feature = "serde",
	serde(
		rename_all = "camelCase",
		bound(
			serialize = "Balance: core::fmt::Display, BlockNumber: serde::Serialize",
			deserialize = "Balance: core::str::FromStr, BlockNumber: serde::Deserialize<'de>"
		)
	)
)]
pub struct PendingLimit<Balance, BlockNumber> {
	/// The lower limit (a decimal string in JSON).
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::decimal"))]
	pub limit: Balance,
	/// The first block at which it applies.
	pub applies_at: BlockNumber,
}

/// What is kept of a session after it ended: forever, so that the key can never be registered
/// again and signatures it made while valid stay attributable.
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
	feature = "serde",
	serde(
		rename_all = "camelCase",
		bound(
			serialize = "AccountId: serde::Serialize, BlockNumber: serde::Serialize, Balance: \
			             core::fmt::Display",
			deserialize = "AccountId: serde::Deserialize<'de>, BlockNumber: \
			               serde::Deserialize<'de>, Balance: core::str::FromStr"
		)
	)
)]
pub struct RetiredSession<AccountId, BlockNumber, Balance> {
	/// The account that registered the key.
	pub owner: AccountId,
	/// The counterpart the session was opened with.
	pub counterpart: AccountId,
	/// The delegate that registered the key for the owner, if the owner did not register it
	/// itself.
	pub delegate: Option<AccountId>,
	/// The first block at which the key was valid.
	pub registered_at: BlockNumber,
	/// The first block at which the key was no longer valid.
	pub ended_at: BlockNumber,
	/// Why the session ended.
	pub reason: EndReason,
	/// The nonce of the last checkpointed state (0 if none).
	pub nonce: u64,
	/// What the session owed its counterpart when it ended (a decimal string in JSON).
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::decimal"))]
	pub owed: Balance,
	/// What the counterpart was paid: `owed`, unless the collateral fell short of it or the
	/// counterpart's account could not receive the payment (the difference is the shortfall
	/// the `SettlementShortfall` event names). A decimal string in JSON.
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::decimal"))]
	pub paid: Balance,
}

impl<AccountId, BlockNumber: PartialOrd, Balance> RetiredSession<AccountId, BlockNumber, Balance> {
	/// Whether the key was valid at `block` (historical validity).
	pub fn was_valid_at(&self, block: BlockNumber) -> bool {
		self.registered_at <= block && block < self.ended_at
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::{crypto::Pair, proof_of_possession::ProofOfPossessionGenerator};

	const OWNER: [u8; 8] = 7u64.to_le_bytes();

	#[test]
	fn each_scheme_verifies_its_standard_proof() {
		let mut sr = sr25519::Pair::from_seed(&[1; 32]);
		let mut ed = ed25519::Pair::from_seed(&[2; 32]);
		let mut ec = ecdsa::Pair::from_seed(&[3; 32]);
		let cases = [
			(SessionPublic::from(sr.public()), sr.generate_proof_of_possession(&OWNER).encode()),
			(SessionPublic::from(ed.public()), ed.generate_proof_of_possession(&OWNER).encode()),
			(SessionPublic::from(ec.public()), ec.generate_proof_of_possession(&OWNER).encode()),
		];
		for (public, proof) in cases {
			assert_eq!(public.verify_ownership(&OWNER, &proof), Ok(()));
			assert_eq!(
				public.verify_ownership(&8u64.to_le_bytes(), &proof),
				Err(ProofError::Invalid),
				"proof for another owner"
			);
			let mut long = proof.clone();
			long.push(0);
			assert_eq!(public.verify_ownership(&OWNER, &long), Err(ProofError::Malformed));
			assert_eq!(
				public.verify_ownership(&OWNER, &proof[..proof.len() - 1]),
				Err(ProofError::Malformed)
			);
		}
	}

	#[test]
	fn proof_is_the_pop_statement_signature() {
		// The statement is `POP_ ++ owner`: a plain signature over it is a valid proof, and a
		// signature over the bare owner bytes is not.
		let pair = sr25519::Pair::from_seed(&[9; 32]);
		let public = SessionPublic::from(pair.public());
		let statement = [&b"POP_"[..], &OWNER[..]].concat();
		assert_eq!(public.verify_ownership(&OWNER, &pair.sign(&statement).encode()), Ok(()));
		assert_eq!(
			public.verify_ownership(&OWNER, &pair.sign(&OWNER).encode()),
			Err(ProofError::Invalid)
		);
	}

	#[test]
	fn encoded_key_is_bounded() {
		assert_eq!(SessionPublic::max_encoded_len(), 34);
		assert!(ecdsa::Signature::max_encoded_len() as u32 <= MAX_PROOF_LEN);
	}

	#[test]
	fn retired_validity_window_is_half_open() {
		let r = RetiredSession {
			owner: 1u64,
			counterpart: 2u64,
			delegate: None,
			registered_at: 5u32,
			ended_at: 9u32,
			reason: EndReason::Revoked,
			nonce: 0,
			owed: 0u64,
			paid: 0u64,
		};
		assert!(!r.was_valid_at(4));
		assert!(r.was_valid_at(5));
		assert!(r.was_valid_at(8));
		assert!(!r.was_valid_at(9));
	}
}
