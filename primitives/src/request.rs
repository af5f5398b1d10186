//! Requests signed by session keys, as an API gateway checks them (seeds 002 and 003).
//!
//! A client signs each request with its session key. The header names the owner account, a
//! recent block hash (so a header goes stale after `HeaderValidity` blocks), a nonce (so the
//! gateway can refuse a replay within that window), the audience (the service addressed, so a
//! header made for one service is worthless at another) and the resource asked for (which must be
//! within the key's registered scope).
//!
//! Version 2 ([`RequestHeaderV2`]) binds the whole request: beside the method and path it signs
//! the canonical query ([`crate::canonical_query`]) and the SHA-256 digest of the body (the
//! RFC 9530 `Content-Digest` value; the empty body has one too), so a header seen in transit
//! cannot be reused with another query or body. Version 1 signs only `METHOD /path`.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;

use crate::{is_canonical_query, EndReason, SessionPublic, SessionSignature};

/// Domain tag of a signed version 1 request header; see [`crate::STATE_DOMAIN`] for the rule.
pub const REQUEST_DOMAIN: [u8; 16] = *b"sadj:request:v1\0";

/// Domain tag of a signed version 2 request header.
pub const REQUEST_DOMAIN_V2: [u8; 16] = *b"sadj:request:v2\0";

/// The SHA-256 digest of a request's body, as RFC 9530's `Content-Digest: sha-256=:…:` carries
/// it.
pub type ContentDigest = [u8; 32];

/// The digest of `body` that a version 2 header signs: SHA-256 (of no bytes for an empty body).
pub fn content_digest(body: &[u8]) -> ContentDigest {
	sp_crypto_hashing::sha2_256(body)
}

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

/// A version 2 request header: version 1's fields, plus the request's canonical query and its
/// body's digest, all signed.
#[derive(Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
pub struct RequestHeaderV2<AccountId, Hash> {
	/// The session key that signed the request.
	pub public: SessionPublic,
	/// The account the request acts for: the key's owner.
	pub account: AccountId,
	/// The hash of a recent block, as the client saw it.
	pub block_hash: Hash,
	/// A number the client does not repeat while `block_hash` is fresh.
	pub nonce: u64,
	/// The service the request is addressed to.
	pub audience: Vec<u8>,
	/// `METHOD /path`, the path percent-decoded: what the key's scope is matched against.
	pub resource: Vec<u8>,
	/// The query string in canonical form ([`crate::canonical_query`]), empty if none.
	pub query: Vec<u8>,
	/// The SHA-256 digest of the body ([`content_digest`]).
	pub content_digest: ContentDigest,
	/// The session key's signature over [`RequestHeaderV2::signing_payload`].
	pub signature: SessionSignature,
}

impl<AccountId: Encode, Hash: Encode> RequestHeaderV2<AccountId, Hash> {
	/// The bytes the session key signs for this header on the chain with `genesis_hash`:
	/// SCALE of `(REQUEST_DOMAIN_V2, genesis_hash, account, block_hash, nonce, audience,
	/// resource, query, content_digest)`.
	pub fn signing_payload(&self, genesis_hash: &Hash) -> Vec<u8> {
		request_signing_payload_v2(
			genesis_hash,
			&RequestBinding {
				account: &self.account,
				block_hash: &self.block_hash,
				nonce: self.nonce,
				audience: &self.audience,
				resource: &self.resource,
				query: &self.query,
				content_digest: &self.content_digest,
			},
		)
	}
}

/// What a version 2 header binds, borrowed: the fields its key signs.
#[derive(Clone, Copy, Debug)]
pub struct RequestBinding<'a, AccountId, Hash> {
	/// The key's owner.
	pub account: &'a AccountId,
	/// A recent block's hash.
	pub block_hash: &'a Hash,
	/// A number not repeated while `block_hash` is fresh.
	pub nonce: u64,
	/// The service addressed.
	pub audience: &'a [u8],
	/// `METHOD /path`.
	pub resource: &'a [u8],
	/// The canonical query.
	pub query: &'a [u8],
	/// The body's SHA-256 digest.
	pub content_digest: &'a ContentDigest,
}

/// The bytes a session key signs for a version 2 request header; see
/// [`RequestHeaderV2::signing_payload`].
pub fn request_signing_payload_v2<AccountId: Encode, Hash: Encode>(
	genesis_hash: &Hash,
	binding: &RequestBinding<'_, AccountId, Hash>,
) -> Vec<u8> {
	(
		REQUEST_DOMAIN_V2,
		genesis_hash,
		binding.account,
		binding.block_hash,
		binding.nonce,
		binding.audience,
		binding.resource,
		binding.query,
		binding.content_digest,
	)
		.encode()
}

/// A signed request header of either version, as [`check_request`] reads it.
pub trait SignedRequest<AccountId, Hash> {
	/// The key that signed it.
	fn public(&self) -> &SessionPublic;
	/// The account it acts for.
	fn account(&self) -> &AccountId;
	/// The recent block it names.
	fn block_hash(&self) -> &Hash;
	/// `METHOD /path`, matched against the key's scope.
	fn resource(&self) -> &[u8];
	/// The canonical query it binds: `None` for a version 1 header, which binds none.
	fn query(&self) -> Option<&[u8]>;
	/// Its signature.
	fn signature(&self) -> &SessionSignature;
	/// The bytes its key signed, for the chain with `genesis_hash`.
	fn signed_payload(&self, genesis_hash: &Hash) -> Vec<u8>;
}

impl<AccountId: Encode, Hash: Encode> SignedRequest<AccountId, Hash>
	for RequestHeader<AccountId, Hash>
{
	fn public(&self) -> &SessionPublic {
		&self.public
	}
	fn account(&self) -> &AccountId {
		&self.account
	}
	fn block_hash(&self) -> &Hash {
		&self.block_hash
	}
	fn resource(&self) -> &[u8] {
		&self.resource
	}
	fn query(&self) -> Option<&[u8]> {
		None
	}
	fn signature(&self) -> &SessionSignature {
		&self.signature
	}
	fn signed_payload(&self, genesis_hash: &Hash) -> Vec<u8> {
		self.signing_payload(genesis_hash)
	}
}

impl<AccountId: Encode, Hash: Encode> SignedRequest<AccountId, Hash>
	for RequestHeaderV2<AccountId, Hash>
{
	fn public(&self) -> &SessionPublic {
		&self.public
	}
	fn account(&self) -> &AccountId {
		&self.account
	}
	fn block_hash(&self) -> &Hash {
		&self.block_hash
	}
	fn resource(&self) -> &[u8] {
		&self.resource
	}
	fn query(&self) -> Option<&[u8]> {
		Some(&self.query)
	}
	fn signature(&self) -> &SessionSignature {
		&self.signature
	}
	fn signed_payload(&self, genesis_hash: &Hash) -> Vec<u8> {
		self.signing_payload(genesis_hash)
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

/// Whether `resource` is in canonical form, the only form a verifier matches against a scope.
///
/// A resource is split at `/` into segments. It is canonical when no segment is `.` or `..`, no
/// segment but the first and the last is empty (no `//`), it holds no `%`, no `\`, no `;`
/// and no control byte, and it is UTF-8 (an overlong `C0 AE` is a `.` to legacy decoders).
/// So `orders/17`, `GET /orders/17` and `orders/` are canonical, and
/// `orders/../admin`, `orders//17`, `orders/%2e%2e/admin`, `orders\..\admin` and
/// `orders/..;/admin` are not: matched raw, each would pass a prefix scope such as `orders/*`
/// while a server that normalizes paths (or, for `;`, strips path parameters, as Java servlet
/// containers do) serves something else. A gateway decodes percent-encoding before it
/// derives the resource, so an encoded separator or dot segment reaches this check decoded.
pub fn is_canonical_resource(resource: &[u8]) -> bool {
	if resource.iter().any(|byte| matches!(byte, b'%' | b'\\' | b';') || byte.is_ascii_control()) {
		return false;
	}
	// Only UTF-8: an overlong form such as `C0 AE` (`%C0%AE` in a path) is no character here,
	// but a legacy decoder reads it as `.`, and `%C0%AE%C0%AE` as `..`.
	if core::str::from_utf8(resource).is_err() {
		return false;
	}
	let segments = resource.split(|byte| *byte == b'/').count();
	resource.split(|byte| *byte == b'/').enumerate().all(|(index, segment)| match segment {
		b"." | b".." => false,
		b"" => index == 0 || index + 1 == segments,
		_ => true,
	})
}

/// What a verifier knows of a header's key, from the chain: the runtime reads it from storage,
/// a gateway from its cache of the same records.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyView<'a, AccountId, Item> {
	/// No session was ever registered with the key.
	Unknown,
	/// The key's session ended, for this reason.
	Ended(EndReason),
	/// The key's session is closing: revoked, or past its expiry block.
	Closing {
		/// Whether the owner revoked it (otherwise it expired).
		revoked: bool,
	},
	/// The key is live.
	Live {
		/// The key's owner.
		owner: &'a AccountId,
		/// The key's scope.
		scope: &'a [Item],
	},
}

/// Checks a request header against what the chain says of its key: the rule of
/// `SessionKeysApi::authenticate`, shared by the runtime and gateways so both give the same
/// verdict on every header.
///
/// The checks run in this order, and the first that fails names the refusal: the key is live
/// (`UnknownKey`, `KeyEnded`, `KeyRevoked`, `KeyExpired`), owned by the header's account
/// (`WrongAccount`), the block hash is fresh (`is_recent`, else `StaleBlockHash`), the
/// resource is canonical (`NonCanonicalResource`, see [`is_canonical_resource`]), a version 2
/// header's query is canonical (`NonCanonicalQuery`), the resource is within the scope
/// (`OutOfScope`), and the key binds someone and signed exactly this header for the chain
/// of `genesis_hash` (`BadSignature`). The signature comes last because it is the costly check.
pub fn check_request<AccountId, Hash, Item>(
	header: &impl SignedRequest<AccountId, Hash>,
	key: KeyView<'_, AccountId, Item>,
	is_recent: impl FnOnce(&Hash) -> bool,
	genesis_hash: &Hash,
) -> Result<(), AuthError>
where
	AccountId: Encode + PartialEq,
	Hash: Encode,
	Item: AsRef<[u8]>,
{
	check_request_with(header, key, is_recent, genesis_hash, |public| public.check_key().is_ok())
}

/// [`check_request`] with the answer of [`SessionPublic::check_key`] for the header's key
/// supplied by the caller: a gateway that checked a cached key once passes that answer rather
/// than decompress the key's point again for every request. `key_binds` is asked only for a
/// live key, just before the signature is verified.
pub fn check_request_with<AccountId, Hash, Item>(
	header: &impl SignedRequest<AccountId, Hash>,
	key: KeyView<'_, AccountId, Item>,
	is_recent: impl FnOnce(&Hash) -> bool,
	genesis_hash: &Hash,
	key_binds: impl FnOnce(&SessionPublic) -> bool,
) -> Result<(), AuthError>
where
	AccountId: Encode + PartialEq,
	Hash: Encode,
	Item: AsRef<[u8]>,
{
	let payload = check_request_claims(header, key, is_recent, genesis_hash, key_binds)?;
	if !header.public().verify(&payload, header.signature()) {
		return Err(AuthError::BadSignature);
	}
	Ok(())
}

/// Every check of [`check_request_with`] but the signature's, in the same order; on success,
/// the payload the header's signature must verify against (its key and signature are
/// [`SignedRequest::public`] and [`SignedRequest::signature`]). A gateway that verifies many
/// headers' signatures together (batch verification) runs this, then verifies, and refuses a
/// header whose signature fails with [`AuthError::BadSignature`]: the verdict is then the
/// same as [`check_request_with`]'s.
pub fn check_request_claims<AccountId, Hash, Item>(
	header: &impl SignedRequest<AccountId, Hash>,
	key: KeyView<'_, AccountId, Item>,
	is_recent: impl FnOnce(&Hash) -> bool,
	genesis_hash: &Hash,
	key_binds: impl FnOnce(&SessionPublic) -> bool,
) -> Result<Vec<u8>, AuthError>
where
	AccountId: Encode + PartialEq,
	Hash: Encode,
	Item: AsRef<[u8]>,
{
	let (owner, scope) = match key {
		KeyView::Unknown => return Err(AuthError::UnknownKey),
		KeyView::Ended(reason) => return Err(AuthError::KeyEnded(reason)),
		KeyView::Closing { revoked: true } => return Err(AuthError::KeyRevoked),
		KeyView::Closing { revoked: false } => return Err(AuthError::KeyExpired),
		KeyView::Live { owner, scope } => (owner, scope),
	};
	if owner != header.account() {
		return Err(AuthError::WrongAccount);
	}
	if !is_recent(header.block_hash()) {
		return Err(AuthError::StaleBlockHash);
	}
	if !is_canonical_resource(header.resource()) {
		return Err(AuthError::NonCanonicalResource);
	}
	if header.query().is_some_and(|query| !is_canonical_query(query)) {
		return Err(AuthError::NonCanonicalQuery);
	}
	if !scope_allows(scope, header.resource()) {
		return Err(AuthError::OutOfScope);
	}
	// A key that binds no one (registered before such keys were refused) proves nothing,
	// whatever its signature.
	if !key_binds(header.public()) {
		return Err(AuthError::BadSignature);
	}
	Ok(header.signed_payload(genesis_hash))
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
	/// The resource is not in canonical form (a `.` or `..` segment, `//`, `%`, `\`, `;` or
	/// a control byte; see [`is_canonical_resource`]), so it is not matched against the scope.
	NonCanonicalResource,
	/// A version 2 header's query is not in canonical form ([`crate::canonical_query`]): no
	/// gateway could have derived it from a request.
	NonCanonicalQuery,
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn canonical_resources_are_accepted() {
		for resource in [
			&b""[..],
			b"/",
			b"orders",
			b"orders/",
			b"orders/17",
			b"/orders/17",
			b"GET /orders/17",
			b"GET /",
			b"orders/..17/.x/x.",
			b"caf\xc3\xa9/x",
		] {
			assert!(is_canonical_resource(resource), "{:?}", core::str::from_utf8(resource));
		}
	}

	#[test]
	fn traversal_and_ambiguous_forms_are_not_canonical() {
		for resource in [
			&b"orders/../admin"[..],
			b"orders/./17",
			b"orders/..",
			b"..",
			b"./orders",
			b"GET /orders/../admin",
			b"orders//17",
			b"//orders",
			b"orders//",
			b"orders/%2e%2e/admin",
			b"orders%2F..%2Fadmin",
			b"orders\\..\\admin",
			b"orders/17\0",
			b"orders/17\n",
			b"orders/\x7f",
			b"orders/..;/admin",
			b"orders/17;jsessionid=1",
			// Not UTF-8: overlong dots a legacy decoder reads as `..`, a stray byte.
			b"orders/\xc0\xae\xc0\xae/admin",
			b"caf\xc3\xa9/\xff",
		] {
			assert!(!is_canonical_resource(resource), "{:?}", core::str::from_utf8(resource));
		}
	}

	#[test]
	fn a_traversal_is_refused_before_the_scope_is_matched() {
		// Matched raw, `orders/*` would allow it.
		assert!(scope_allows(&[&b"orders/*"[..]], b"orders/../admin"));
		let header = RequestHeader::<u64, u64> {
			public: SessionPublic::Sr25519([0; 32].into()),
			account: 1,
			block_hash: 7,
			nonce: 0,
			audience: b"api".to_vec(),
			resource: b"orders/../admin".to_vec(),
			signature: SessionSignature::Sr25519([0; 64].into()),
		};
		let scope = [&b"orders/*"[..]];
		let live = KeyView::Live { owner: &1, scope: &scope[..] };
		assert_eq!(
			check_request(&header, live, |_| true, &0),
			Err(AuthError::NonCanonicalResource)
		);
		// The checks before it still come first.
		assert_eq!(check_request(&header, live, |_| false, &0), Err(AuthError::StaleBlockHash));
		let other = KeyView::Live { owner: &2, scope: &scope[..] };
		assert_eq!(check_request(&header, other, |_| true, &0), Err(AuthError::WrongAccount));
		let canonical = RequestHeader { resource: b"orders/17".to_vec(), ..header };
		assert_eq!(check_request(&canonical, live, |_| true, &0), Err(AuthError::BadSignature));
	}

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
