//! Requests signed by session keys, as an API gateway checks them (seeds 002 and 003).
//!
//! A client signs each request with its session key. The header names the owner account, a
//! recent block hash (so a header goes stale after `HeaderValidity` blocks), a nonce (so the
//! gateway can refuse a replay within that window), the audience (the service addressed, so a
//! header made for one service is worthless at another) and the resource asked for (which must be
//! within the key's registered scope).

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;

use crate::{EndReason, SessionPublic, SessionSignature};

/// Domain tag of a signed request header; see [`crate::STATE_DOMAIN`] for the rule.
pub const REQUEST_DOMAIN: [u8; 16] = *b"sadj:request:v1\0";

/// A request header signed by a session key.
#[derive(Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
pub struct RequestHeader<AccountId, Hash> {
	/// The session key that signed the request.
	pub public: SessionPublic,
	/// The account the request acts for: the key's owner.
	pub account: AccountId,
	/// The hash of a recent block, as the client saw it.
	pub block_hash: Hash,
	/// A number the client does not repeat while `block_hash` is fresh; the gateway refuses a
	/// header whose `(public, nonce)` it has already seen in that window.
	pub nonce: u64,
	/// The service the request is addressed to. A gateway fills in its own name rather than
	/// trusting the client's, so a header signed for another service fails its signature check.
	pub audience: Vec<u8>,
	/// The resource requested; it must be within the key's scope.
	pub resource: Vec<u8>,
	/// The session key's signature over [`RequestHeader::signing_payload`].
	pub signature: SessionSignature,
}

impl<AccountId: Encode, Hash: Encode> RequestHeader<AccountId, Hash> {
	/// The bytes the session key signs for this header on the chain with `genesis_hash`:
	/// SCALE of `(REQUEST_DOMAIN, genesis_hash, account, block_hash, nonce, audience, resource)`.
	pub fn signing_payload(&self, genesis_hash: &Hash) -> Vec<u8> {
		request_signing_payload(
			genesis_hash,
			&self.account,
			&self.block_hash,
			self.nonce,
			&self.audience,
			&self.resource,
		)
	}
}

/// The bytes a session key signs for a request header; see [`RequestHeader::signing_payload`].
/// Clients use this to sign before they have a signature to put in a header.
pub fn request_signing_payload<AccountId: Encode, Hash: Encode>(
	genesis_hash: &Hash,
	account: &AccountId,
	block_hash: &Hash,
	nonce: u64,
	audience: &[u8],
	resource: &[u8],
) -> Vec<u8> {
	(REQUEST_DOMAIN, genesis_hash, account, block_hash, nonce, audience, resource).encode()
}

/// Whether `scope` lets a key be used for `resource`.
///
/// Some item must equal the resource, or end in `*` and be followed by it: `orders/*` allows
/// `orders/` and `orders/17`, and `*` allows everything. An empty scope allows nothing: a key
/// meant for every resource says so with `*`, so a client that forgets the scope does not
/// register a master key (such a key still signs channel states, which need no scope).
pub fn scope_allows<Item: AsRef<[u8]>>(scope: &[Item], resource: &[u8]) -> bool {
	scope.iter().any(|item| match item.as_ref().split_last() {
		Some((b'*', prefix)) => resource.starts_with(prefix),
		_ => item.as_ref() == resource,
	})
}

/// What a gateway learns about an authenticated request.
#[derive(Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
	feature = "serde",
	serde(
		rename_all = "camelCase",
		bound(
			serialize = "AccountId: serde::Serialize, Balance: core::fmt::Display, BlockNumber: \
			             serde::Serialize",
			deserialize = "AccountId: serde::Deserialize<'de>, Balance: core::str::FromStr, \
			               BlockNumber: serde::Deserialize<'de>"
		)
	)
)]
pub struct Authenticated<AccountId, Balance, BlockNumber> {
	/// The key's owner, the account the request acts for.
	pub owner: AccountId,
	/// The key's counterpart.
	pub counterpart: AccountId,
	/// The first block at which the key is no longer valid.
	pub expires_at: BlockNumber,
	/// The key's scope (`*` for everything); `0x`-hex items in JSON.
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::hex_scope"))]
	pub scope: Vec<Vec<u8>>,
	/// The owner's free balance, for rate limiting (a decimal string in JSON).
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::decimal"))]
	pub free_balance: Balance,
}

/// Why a request header was refused.
///
/// In JSON, serde's derive names it: `"StaleBlockHash"`, `{"KeyEnded": "Revoked"}`.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AuthError {
	/// No session was ever registered with this key.
	UnknownKey,
	/// The key's session ended, for this reason.
	KeyEnded(EndReason),
	/// The key passed its expiry block; its session is closing.
	KeyExpired,
	/// The owner revoked the key; its session is closing.
	KeyRevoked,
	/// The key is not owned by the header's account.
	WrongAccount,
	/// The block hash is not one of the last `HeaderValidity` blocks.
	StaleBlockHash,
	/// The resource is outside the key's scope.
	OutOfScope,
	/// The signature does not cover this header for this chain, or not by this key.
	BadSignature,
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn empty_scope_allows_nothing() {
		assert!(!scope_allows::<&[u8]>(&[], b"anything"));
		assert!(!scope_allows::<&[u8]>(&[], b""));
		assert!(scope_allows(&[&b"*"[..]], b"anything"));
	}

	#[test]
	fn exact_items_match_only_themselves() {
		let scope = [&b"orders"[..]];
		assert!(scope_allows(&scope, b"orders"));
		assert!(!scope_allows(&scope, b"orders/1"));
		assert!(!scope_allows(&scope, b"order"));
		assert!(!scope_allows(&scope, b""));
	}

	#[test]
	fn star_items_match_their_prefix() {
		let scope = [&b"orders/*"[..], &b"quotes"[..]];
		assert!(scope_allows(&scope, b"orders/"));
		assert!(scope_allows(&scope, b"orders/17"));
		assert!(!scope_allows(&scope, b"orders"));
		assert!(!scope_allows(&scope, b"accounts/1"));
		assert!(scope_allows(&scope, b"quotes"));
		assert!(scope_allows(&[&b"*"[..]], b""));
	}
}
