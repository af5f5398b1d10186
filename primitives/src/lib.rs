//! Types shared by the session-key adjudicator: the pallet, the runtime, the node and clients.
//!
//! # Glossary
//!
//! The terms a newcomer meets across the project (pallet, runtime, node, client, keeper,
//! gateway, watchtower, widget), each in a sentence or two. Items of this crate are linked; items
//! of other crates are named by path.
//!
//! ## Parties and keys
//!
//! - **Adjudicator**: the FRAME pallet `pallet-session-keys` (`Adjudicator` in the runtime, so
//!   its errors read `Adjudicator::KeyRetired`), which holds each session key's registration,
//!   channel state and collateral, and settles and retires it. It protects the counterpart: an
//!   owner can never settle below what its key signed.
//! - **Owner**: the account a session key acts for ([`Registration::owner`]). The ownership
//!   proof is made for it, the collateral and storage deposit are held from it, and request
//!   headers name it as their `account`.
//! - **Counterpart**: the account a session is opened with (a clearing server, an exchange,
//!   the service behind a gateway), never the owner ([`Registration::counterpart`]). Settlement
//!   pays it what the session owes, and only it may checkpoint, liquidate, discontinue or claim
//!   a held payment.
//! - **Delegate**: an account the owner authorized with `authorize_delegate`, within
//!   [`DelegateTerms`], to register keys for it (`register_for`) and to renew, rotate, revoke,
//!   top up and re-limit the keys it made; each such key names it ([`Registration::delegate`]).
//!   The terms bound the running totals in [`DelegateUsage`], and the runtime API returns both
//!   as a [`Delegation`].
//! - **Hot key**: a key kept on a service's machine that signs for an account whose own key
//!   stays elsewhere. The keeper's hot key is the owner's delegate; the watchtower's is the
//!   counterpart's `Counterpart` proxy (the runtime's `ProxyType::Counterpart`), which allows
//!   only the calls that move money toward the counterpart.
//! - **Session key**: a short-lived key pair, sr25519, ed25519 or ecdsa ([`CryptoKind`]), that an
//!   owner registers on chain for one counterpart, and that signs channel states and request
//!   headers ([`SessionPublic`], [`SessionSignature`]; a node's keystore keeps such keys under
//!   [`KEY_TYPE`]). No key is ever registered twice, and a key that binds no one is refused
//!   ([`SessionPublic::check_key`], [`WeakKey`]).
//! - **Ownership proof**: the RFC-0048 proof of possession that polkadot-sdk ships
//!   (`sp_core::proof_of_possession`): the session key's signature over `b"POP_"` followed by the
//!   SCALE-encoded owner account. For a single key the proof is exactly that signature, SCALE
//!   encoded (see [`SessionPublic::verify_ownership`]; [`GeneratedSessionKey`] is a key made in
//!   a node's keystore together with its proof).
//!
//! ## A key's life
//!
//! - **Registration**: the act (`register` by the owner, `register_for` by a delegate) and what
//!   it leaves: the record of a session while it is live or closing ([`Registration`]). The
//!   pallet stores it with a bounded description and scope; the runtime API, the RPC and
//!   clients get its plain form ([`Registration::into_plain`]).
//! - **Expiry**: the first block at which the key is no longer valid, the end of its term or the
//!   block it was revoked in ([`Registration::expires_at`]). Nothing happens on chain at that
//!   block: the session simply stops being live and is closing.
//! - **Live**: the phase of a session whose key is valid, `registered_at <= now < expires_at`
//!   ([`Phase::Live`], [`Registration::is_live_at`]). Only a live key authenticates requests and
//!   can be renewed, rotated, revoked, topped up or have its spending limit changed.
//! - **Closing**: the phase from `expires_at` until the session settles ([`Phase::Closing`],
//!   with the [`EndReason`] it will settle with, `Expired` or `Revoked`). The key is invalid for
//!   everything the owner or the key can do, but the counterpart may still checkpoint newer
//!   states the key signed.
//! - **Closing window, challenge period**: the `ChallengePeriod` blocks a session stays closing
//!   (`pallet_session_keys::Config::ChallengePeriod`: an hour in the runtime, 10 blocks on the
//!   dev chain), the counterpart's time to put the newest signed state on chain. A checkpoint
//!   never extends it, `discontinue` waives the rest of it, and a spending-limit decrease waits
//!   as long.
//! - **`settles_at`**: the block in whose `on_initialize` a closing session settles:
//!   `expires_at` plus the challenge period, or the first later block with room, at most
//!   `MaxSettlementDelay` blocks on ([`Registration::settles_at`]). From it on the session takes
//!   no more checkpoints (`WindowClosed`), and anyone may `settle` it if a backlog delays it.
//! - **Renewal**: `renew` moves a live key's expiry to `now + duration`, at most
//!   `MaxDuration` blocks on, and its `settles_at` with it.
//! - **Revocation**: `revoke` (one key), `revoke_all` (every live key of the owner, the response
//!   to a compromise) or `revoke_delegate` with `close_keys` closes live keys at once. Each
//!   emits `SessionClosing`, and the session settles a challenge period later.
//! - **Rotation**: `rotate` replaces a live key by a new one that carries the session's terms,
//!   only while nothing is at stake ([`Registration::has_funds_at_stake`]: no collateral, nothing
//!   owed, no margin). The old key is retired at once ([`EndReason::Rotated`]).
//! - **Close and settle**: the two ways a session ends, in order. To *close* is to open the
//!   closing window, the key stops being valid and no money moves (at `expires_at`, or at once
//!   by a revocation); to *settle* is to pay the counterpart the last checkpointed `owed` (at
//!   most the collateral), return the rest to the owner and write the retired record, in
//!   `on_initialize` of `settles_at`, by anyone's `settle` after it, or at once by the
//!   counterpart's `liquidate` or `discontinue`.
//! - **Older names for these verbs**: *conclude*, *conclusion*, *end* and *retire* in the code
//!   and docs (`conclude`, `conclude_now`, `settle_and_retire`, `retire`, `end_expired`,
//!   `SessionEnded`, [`KeyView::Ended`]) all mean settle, and so does *expiry* in
//!   `ExpiryQueue`, `ExpiryAgenda`, `MaxExpiriesPerBlock` and `process_expiries`, which count
//!   settlements at `settles_at`, not expiries at `expires_at`; `close` and `SessionClosing`
//!   mean close. The one ending without a settlement is rotation: with nothing at stake the old
//!   key is retired at once, its deposit moves to the new key and its record fee is burned from
//!   the caller's free balance.
//! - **Retired record**: what is kept forever of a session once it settled (or its key was
//!   rotated away), so historical signatures stay verifiable and the key can never be
//!   registered again ([`RetiredSession`], [`RetiredSession::was_valid_at`]; a second
//!   registration fails with `KeyRetired`). Its `ended_at` is the first block the key was no
//!   longer valid, not the block it settled in, and it keeps the [`EndReason`], the last nonce,
//!   what was owed and what was paid.
//!
//! ## Money
//!
//! - **Channel state**: the latest state of a session's channel, as the session key signs it
//!   ([`ChannelState`], over [`ChannelState::signing_payload`] with [`STATE_DOMAIN`] and the
//!   chain's genesis hash). `nonce` increases strictly with each checkpoint (it is not a request
//!   header's nonce), `owed` is the cumulative amount the owner owes the counterpart and never
//!   decreases, and `margin` is the collateral the open positions require.
//! - **Checkpoint**: the counterpart's `checkpoint` call, which records a channel state the
//!   session key signed while the session is live or closing, before `settles_at`. It must have
//!   a higher nonce, owe no less and owe no more than the spending limit that applies
//!   ([`Registration::check_state`], [`StateRejection`]); it may owe more than the collateral,
//!   which makes the session liquidatable.
//! - **Spending limit**: the most a session may owe its counterpart
//!   ([`Registration::spending_limit`]); an increase applies at once and cancels a pending
//!   decrease. A decrease waits a challenge period as a [`PendingLimit`], so it cannot void a
//!   state the key already signed, and never applies below what is owed by then
//!   ([`Registration::limit_at`]).
//! - **Collateral**: what is held from the owner for one session, out of which settlement pays
//!   the counterpart `min(owed, collateral)` and returns the rest ([`Registration::collateral`]).
//!   The owner (or the key's delegate, within its terms) may add to it with `top_up` while the
//!   key is live.
//! - **Storage deposit, record fee**: the storage deposit is held from the owner with each
//!   registration, `DepositBase + DepositPerByte` × the description and scope bytes, plus the
//!   record fee ([`Registration::deposit`]); an authorization of a delegate holds one too. The
//!   record fee, `DepositBase + RecordFeePerByte` × the retired record's bytes
//!   (`pallet_session_keys::Pallet::record_fee`), is burned when the session ends to pay for the
//!   retired record kept forever, and the rest of the deposit is returned.
//! - **Liquidation**: a session is under-collateralized when its checkpointed state needs more
//!   than its collateral, `owed + margin > collateral` ([`Registration::is_under_collateralized`]),
//!   and the owner may cure that with `top_up` while the key is live. While it lasts the
//!   counterpart may `liquidate`: the session settles at once, live or closing
//!   ([`EndReason::Liquidated`]), and the counterpart receives at most the collateral.
//! - **Discontinue**: the counterpart's `discontinue` ends a live or closing session at once,
//!   waiving the rest of its window; the session settles at the last checkpoint
//!   ([`EndReason::Discontinued`]).
//! - **Held payment, claim**: a settlement's payment that the counterpart's account could not
//!   receive (say a new account and an amount below the existential deposit) stays on hold from
//!   the owner as a `pallet_session_keys::HeldPayment` (`PaymentHeld`). The counterpart takes it
//!   with `claim_payment` once its account can receive it (`PaymentClaimed`), and the retired
//!   record's `paid` then counts it.
//!
//! ## Requests
//!
//! - **Resource**: what a request asks for, `METHOD /path`: the method, a space and the path
//!   percent-decoded ([`RequestHeaderV2::resource`]). Only its canonical form is matched
//!   against a scope: no `.`, `..` or empty inner segment, no `%`, `\`, `;` or control byte, and
//!   UTF-8 ([`is_canonical_resource`]; otherwise `NonCanonicalResource`).
//! - **Scope**: the resources a key may be used for ([`Registration::scope`]). An item matches
//!   itself, an item ending in `*` every resource it prefixes (`GET /orders/*`), `*` every
//!   resource and an empty scope none, though such a key still signs channel states
//!   ([`scope_allows`]).
//! - **Canonical query**: the spelling of a query string that a version 2 header signs
//!   ([`canonical_query`]): empty parameters dropped, percent-encoding normalized as RFC 3986
//!   section 6.2.2 does, parameters sorted stably by name. A `%` without two hex digits has no
//!   canonical form ([`MalformedQuery`]), and the runtime refuses a header whose query is not
//!   canonical ([`is_canonical_query`]).
//! - **Request header**: what a client sends with each request, signed by the session key: the
//!   key, the owner's account, a recent block hash, a nonce, the audience and the resource
//!   (HTTP `x-session-auth: v1.…` or `v2.…`). [`check_request`] is the one rule that judges it,
//!   for the runtime (`authenticate`, `authenticate_v2`) and gateways alike, refusing with an
//!   [`AuthError`] or answering with [`Authenticated`] (with the owner's free balance).
//! - **Request header v1 and v2**: version 1 ([`RequestHeader`], [`REQUEST_DOMAIN`]) signs only
//!   `METHOD /path`, so whoever sees one may reuse it with any query or body while it is fresh,
//!   and gateways refuse it unless started with `--accept-v1`. Version 2 ([`RequestHeaderV2`],
//!   [`REQUEST_DOMAIN_V2`]) also binds the canonical query and the SHA-256 digest of the body
//!   ([`content_digest`], RFC 9530's `Content-Digest`), so it is good for exactly one request.
//! - **Audience**: the service a header is addressed to ([`RequestHeader::audience`]). A gateway
//!   fills in its own name (`--audience`) rather than trusting the client's, so a header signed
//!   for another service fails its signature check.
//! - **Header validity**: `HeaderValidity` (`pallet_session_keys::Config::HeaderValidity`, 100
//!   blocks or 5 minutes in the runtime; the runtime API's `header_validity`), the number of
//!   blocks before the checking one whose hash a header may name. An older `block_hash` is
//!   refused as `StaleBlockHash`; clients name the block two behind the best.
//! - **One-time and reusable headers**: a gateway accepts each header once by default, refusing
//!   a `(key, nonce)` it has seen while the header is fresh (`Replayed`, at every replica that
//!   shares its Redis). With `--reusable-headers` a header may be reused while fresh, as KIRA's
//!   KIP_9 allows, and a captured one is then a bearer token for that exact request.
//! - **Key state**: the one answer to "what is this key now": [`KeyRecord`] holds what the chain
//!   has of a key (nothing, its registration or its retired record) in one read (the runtime
//!   API's `key_state`, the RPC's `sessionKeys_keyState`). [`KeyRecord::view`] turns it into the
//!   [`KeyView`] at a block (unknown, ended, closing or live) that [`check_request`] reads, so
//!   every verifier derives it the same way.
//!
//! ## Off-chain parts
//!
//! - **Keeper**: `session-keys-keeper`, the owner's daemon and command line that keeps each
//!   profile covered by a live session key: keys generated locally and sealed at rest before
//!   anything is submitted, then registered, renewed and rotated without a gap. It signs with
//!   the owner's key, or with a hot key the owner made its delegate.
//! - **Profile**: what the keeper keeps covered, by name: counterpart, duration, spending limit,
//!   collateral, scope, description and crypto, with a renew margin and a rotation interval. For
//!   a delegate, `profile add` checks it against the owner's terms ([`DelegateTerms::check_key`])
//!   before anything is sent.
//! - **Gateway**: `session-keys-gateway`, a tower layer (`SessionAuthLayer`) and a reverse proxy
//!   in front of an HTTP API, which authenticates each request with the runtime's own rule
//!   ([`check_request_with`]) from keys read once (`key_state`) and kept current from each
//!   block's events, with no node call per request. It also rate-limits by the owner's free
//!   balance, refuses floods and, with a price, meters calls.
//! - **Watchtower**: `session-keys-watchtower`, the counterpart's side of the closing window: it
//!   takes channel states signed by session keys (`POST /v1/states`), checks them as the chain
//!   does, stores the newest per key durably, and checkpoints, liquidates or settles in time
//!   with no human action.
//! - **Widget**: `<session-key-widget>` (`web/`), KIRA's KIP_9 frontend, which creates an
//!   sr25519 session key in the browser, registers it with a proof made there, renews,
//!   re-creates and revokes it, and keeps its seed only as ciphertext. Its signing worker, pinned
//!   to one chain and the gateway's audience, signs version 2 request headers and, for metered
//!   calls, channel states.
//! - **Metered call**: a call through a gateway that charges per call (`--price`): it carries, in
//!   `x-session-state`, the next channel state signed by the same key (`nonce` one above the
//!   last, `owed` at least the last plus the price). The gateway forwards it only once the
//!   counterpart's watchtower has stored that state, so every call served is backed by a state
//!   `checkpoint` can collect.
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

impl CryptoKind {
	/// Every scheme, in the order of the variants.
	pub const ALL: [CryptoKind; 3] = [CryptoKind::Sr25519, CryptoKind::Ed25519, CryptoKind::Ecdsa];

	/// The scheme's name, as stored, as given on command lines and in JSON: `sr25519`,
	/// `ed25519` or `ecdsa`.
	pub const fn name(self) -> &'static str {
		match self {
			CryptoKind::Sr25519 => "sr25519",
			CryptoKind::Ed25519 => "ed25519",
			CryptoKind::Ecdsa => "ecdsa",
		}
	}
}

impl core::fmt::Display for CryptoKind {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		f.write_str(self.name())
	}
}

/// A name that is not a scheme's ([`CryptoKind::name`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UnknownCryptoKind(pub alloc::string::String);

impl core::fmt::Display for UnknownCryptoKind {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		write!(f, "unknown crypto `{}` (sr25519, ed25519 or ecdsa)", self.0)
	}
}

#[cfg(feature = "std")]
impl std::error::Error for UnknownCryptoKind {}

impl core::str::FromStr for CryptoKind {
	type Err = UnknownCryptoKind;

	/// The scheme named `name`, exactly as [`CryptoKind::name`] spells it.
	fn from_str(name: &str) -> Result<Self, Self::Err> {
		CryptoKind::ALL
			.into_iter()
			.find(|kind| kind.name() == name)
			.ok_or_else(|| UnknownCryptoKind(name.into()))
	}
}

#[cfg(feature = "clap")]
impl clap::ValueEnum for CryptoKind {
	fn value_variants<'a>() -> &'a [Self] {
		&CryptoKind::ALL
	}

	fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
		Some(clap::builder::PossibleValue::new(self.name()))
	}
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
	/// The account the key acted for (it registered the key, or its delegate did).
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
	fn each_scheme_is_named_as_its_serde_form_and_read_back_from_its_name_only() {
		use core::str::FromStr;
		for kind in CryptoKind::ALL {
			assert_eq!(CryptoKind::from_str(kind.name()), Ok(kind));
			assert_eq!(alloc::format!("{kind}"), kind.name());
			#[cfg(feature = "serde")]
			assert_eq!(serde_json::to_string(&kind).unwrap(), alloc::format!("\"{kind}\""));
		}
		for name in ["", "Sr25519", "SR25519", "sr25519 ", "ed448", "secp256k1"] {
			assert_eq!(
				CryptoKind::from_str(name),
				Err(UnknownCryptoKind(name.into())),
				"{name:?} is not a name"
			);
		}
		assert_eq!(
			UnknownCryptoKind("rsa".into()).to_string(),
			"unknown crypto `rsa` (sr25519, ed25519 or ecdsa)"
		);
	}

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
