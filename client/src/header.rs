//! The HTTP text form of a signed request header.
//!
//! A request carries its session header in the HTTP header [`HTTP_HEADER`]
//! (`x-session-auth`), whose value is
//!
//! ```text
//! v2.<base64url, no padding, of the SCALE-encoded RequestHeaderV2>
//! v1.<base64url, no padding, of the SCALE-encoded RequestHeader>
//! ```
//!
//! Version 2 binds the request's query and body beside its method and path; version 1 binds
//! only `METHOD /path`, and gateways refuse it unless their operator accepts it. The version
//! prefix lets the form change without ambiguity; the SCALE bytes are exactly the runtime's
//! `RequestHeaderV2` (or `RequestHeader`), so a gateway decodes them with the same type the
//! runtime verifies. Parsing refuses anything else, and never panics: values longer than
//! [`MAX_HEADER_LEN`], another prefix, invalid base64, bytes that do not decode as a header,
//! or trailing bytes after one.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use codec::{DecodeAll, Encode};
use session_keys_primitives::{RequestHeader, RequestHeaderV2, SessionPublic};
use sp_core::H256;

use crate::AccountId;

/// The HTTP header that carries a session header (lower case, as HTTP/2 sends names).
pub const HTTP_HEADER: &str = "x-session-auth";

/// The prefix of the version 1 text form.
pub const VERSION_PREFIX: &str = "v1.";

/// The prefix of the version 2 text form.
pub const VERSION_PREFIX_V2: &str = "v2.";

/// The longest value accepted: far above any real header (description-free, an audience and
/// a resource of a few hundred bytes), far below what would cost a gateway to decode.
pub const MAX_HEADER_LEN: usize = 8 * 1024;

/// A version 1 request header on this chain.
pub type Header = RequestHeader<AccountId, H256>;

/// A version 2 request header on this chain.
pub type HeaderV2 = RequestHeaderV2<AccountId, H256>;

/// A request header of either version, as a gateway parses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnyHeader {
	/// Version 1: binds `METHOD /path` only.
	V1(Header),
	/// Version 2: binds the query and the body too.
	V2(HeaderV2),
}

impl AnyHeader {
	/// The key that signed it.
	pub fn public(&self) -> SessionPublic {
		match self {
			AnyHeader::V1(header) => header.public,
			AnyHeader::V2(header) => header.public,
		}
	}

	/// The recent block it names.
	pub fn block_hash(&self) -> H256 {
		match self {
			AnyHeader::V1(header) => header.block_hash,
			AnyHeader::V2(header) => header.block_hash,
		}
	}

	/// Its nonce.
	pub fn nonce(&self) -> u64 {
		match self {
			AnyHeader::V1(header) => header.nonce,
			AnyHeader::V2(header) => header.nonce,
		}
	}

	/// The audience it claims.
	pub fn audience(&self) -> &[u8] {
		match self {
			AnyHeader::V1(header) => &header.audience,
			AnyHeader::V2(header) => &header.audience,
		}
	}

	/// The resource it claims.
	pub fn resource(&self) -> &[u8] {
		match self {
			AnyHeader::V1(header) => &header.resource,
			AnyHeader::V2(header) => &header.resource,
		}
	}
}

/// Why a text form is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderFormatError {
	/// Longer than [`MAX_HEADER_LEN`].
	#[error("the session header is longer than {MAX_HEADER_LEN} bytes")]
	TooLong,
	/// Does not start with a known version prefix ([`VERSION_PREFIX_V2`] or [`VERSION_PREFIX`]).
	#[error(
		"the session header does not start with `{VERSION_PREFIX_V2}` (or `{VERSION_PREFIX}`)"
	)]
	UnknownVersion,
	/// Not base64url without padding.
	#[error("the session header is not base64url (no padding)")]
	NotBase64,
	/// The bytes are not exactly one SCALE-encoded request header.
	#[error("the session header's bytes are not a request header")]
	NotAHeader,
	/// The header's key binds no one (see `SessionPublic::check_key`): whatever its signature,
	/// it proves nothing.
	#[error("the session header's key binds no one")]
	WeakKey,
}

/// The text form of a version 2 `header`, for the [`HTTP_HEADER`] value.
pub fn encode_header_v2(header: &HeaderV2) -> String {
	format!("{VERSION_PREFIX_V2}{}", URL_SAFE_NO_PAD.encode(header.encode()))
}

/// Parses the text form made by [`encode_header_v2`], and refuses a header whose key binds no
/// one ([`HeaderFormatError::WeakKey`]).
pub fn decode_header_v2(text: &str) -> Result<HeaderV2, HeaderFormatError> {
	match parse_any_header(text)? {
		AnyHeader::V2(header) => {
			header.public.check_key().map_err(|_| HeaderFormatError::WeakKey)?;
			Ok(header)
		}
		AnyHeader::V1(_) => Err(HeaderFormatError::UnknownVersion),
	}
}

/// Parses either text form without checking the key (see [`parse_header`]): what a gateway
/// reads from a request.
pub fn parse_any_header(text: &str) -> Result<AnyHeader, HeaderFormatError> {
	if text.len() > MAX_HEADER_LEN {
		return Err(HeaderFormatError::TooLong);
	}
	if let Some(body) = text.strip_prefix(VERSION_PREFIX_V2) {
		let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| HeaderFormatError::NotBase64)?;
		return HeaderV2::decode_all(&mut &bytes[..])
			.map(AnyHeader::V2)
			.map_err(|_| HeaderFormatError::NotAHeader);
	}
	parse_header(text).map(AnyHeader::V1)
}

/// The text form of a version 1 `header`, for the [`HTTP_HEADER`] value.
pub fn encode_header(header: &Header) -> String {
	format!("{VERSION_PREFIX}{}", URL_SAFE_NO_PAD.encode(header.encode()))
}

/// Parses the version 1 text form made by [`encode_header`], and refuses a header whose key binds no one
/// ([`HeaderFormatError::WeakKey`]).
pub fn decode_header(text: &str) -> Result<Header, HeaderFormatError> {
	let header = parse_header(text)?;
	header.public.check_key().map_err(|_| HeaderFormatError::WeakKey)?;
	Ok(header)
}

/// Parses the version 1 text form without checking the key: for verifiers that check it themselves, as
/// `session_keys_primitives::check_request` does (it refuses a weak key as `BadSignature`,
/// like the runtime), so the key's point is not decompressed twice per request.
pub fn parse_header(text: &str) -> Result<Header, HeaderFormatError> {
	if text.len() > MAX_HEADER_LEN {
		return Err(HeaderFormatError::TooLong);
	}
	let body = text.strip_prefix(VERSION_PREFIX).ok_or(HeaderFormatError::UnknownVersion)?;
	let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| HeaderFormatError::NotBase64)?;
	Header::decode_all(&mut &bytes[..]).map_err(|_| HeaderFormatError::NotAHeader)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{
		keys::{HeaderRequest, HeaderRequestV2},
		request::BoundRequest,
		SessionPair,
	};
	use proptest::prelude::*;
	use session_keys_primitives::{CryptoKind, SessionPublic};

	fn header(kind: CryptoKind, nonce: u64, resource: &[u8]) -> Header {
		let account = AccountId::from([7; 32]);
		SessionPair::from_uri(kind, "//Alice//header").expect("a dev key").sign_header(
			H256::repeat_byte(1),
			&HeaderRequest {
				account: &account,
				block_hash: H256::repeat_byte(2),
				nonce,
				audience: b"api.example",
				resource,
			},
		)
	}

	#[test]
	fn the_text_form_round_trips_for_every_scheme() {
		for kind in [CryptoKind::Sr25519, CryptoKind::Ed25519, CryptoKind::Ecdsa] {
			let header = header(kind, 9, b"orders/1");
			let text = encode_header(&header);
			assert!(text.starts_with("v1."));
			assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
			assert_eq!(decode_header(&text), Ok(header));
		}
	}

	fn header_v2(kind: CryptoKind, request: &BoundRequest) -> HeaderV2 {
		let account = AccountId::from([7; 32]);
		SessionPair::from_uri(kind, "//Alice//header").expect("a dev key").sign_header_v2(
			H256::repeat_byte(1),
			&HeaderRequestV2 {
				account: &account,
				block_hash: H256::repeat_byte(2),
				nonce: 3,
				audience: b"api.example",
				request,
			},
		)
	}

	#[test]
	fn the_v2_text_form_round_trips_and_binds_query_and_body() {
		let request = BoundRequest::parse("POST /orders/17?qty=1", b"{}").expect("valid");
		for kind in [CryptoKind::Sr25519, CryptoKind::Ed25519, CryptoKind::Ecdsa] {
			let header = header_v2(kind, &request);
			let text = encode_header_v2(&header);
			assert!(text.starts_with("v2."));
			assert_eq!(decode_header_v2(&text), Ok(header.clone()));
			assert_eq!(parse_any_header(&text), Ok(AnyHeader::V2(header.clone())));
			let genesis = H256::repeat_byte(1);
			assert!(header.public.verify(&header.signing_payload(&genesis), &header.signature));
			// Another query or body is another payload: the signature does not cover it.
			for other in [
				BoundRequest::parse("POST /orders/17?qty=100000", b"{}").unwrap(),
				BoundRequest::parse("POST /orders/17?qty=1", b"{\"x\":1}").unwrap(),
			] {
				let moved = HeaderV2 {
					query: other.query,
					content_digest: other.content_digest,
					..header.clone()
				};
				assert!(!moved.public.verify(&moved.signing_payload(&genesis), &moved.signature));
			}
		}
		let v1 = header(CryptoKind::Sr25519, 1, b"orders/1");
		assert_eq!(parse_any_header(&encode_header(&v1)), Ok(AnyHeader::V1(v1)));
	}

	#[test]
	fn malformed_text_is_refused_with_its_reason() {
		let text = encode_header(&header(CryptoKind::Sr25519, 1, b"orders/1"));
		let body = &text[VERSION_PREFIX.len()..];
		assert_eq!(decode_header(body), Err(HeaderFormatError::UnknownVersion));
		assert_eq!(decode_header(&format!("v3.{body}")), Err(HeaderFormatError::UnknownVersion));
		// A version 1 body behind the version 2 prefix is not a version 2 header.
		assert_eq!(decode_header_v2(&format!("v2.{body}")), Err(HeaderFormatError::NotAHeader));
		assert_eq!(decode_header_v2(&text), Err(HeaderFormatError::UnknownVersion));
		assert_eq!(decode_header(&format!("{text}=")), Err(HeaderFormatError::NotBase64));
		assert_eq!(decode_header(&format!("{text}!")), Err(HeaderFormatError::NotBase64));
		assert_eq!(decode_header("v1."), Err(HeaderFormatError::NotAHeader));
		// A header by the sr25519 identity, with the signature that verifies for it anywhere.
		let mut weak = header(CryptoKind::Sr25519, 1, b"orders/1");
		weak.public = SessionPublic::Sr25519(sp_core::sr25519::Public::from_raw([0; 32]));
		let mut universal = [0u8; 64];
		universal[63] = 0x80;
		weak.signature = sp_core::sr25519::Signature::from_raw(universal).into();
		let message = weak.signing_payload(&H256::repeat_byte(1));
		assert!(weak.public.verify(&message, &weak.signature), "the forgery verifies");
		assert_eq!(decode_header(&encode_header(&weak)), Err(HeaderFormatError::WeakKey));
		let mut long = header(CryptoKind::Sr25519, 1, b"orders/1").encode();
		long.push(0);
		let trailing = format!("v1.{}", URL_SAFE_NO_PAD.encode(&long));
		assert_eq!(decode_header(&trailing), Err(HeaderFormatError::NotAHeader));
		let huge = format!("v1.{}", "A".repeat(MAX_HEADER_LEN));
		assert_eq!(decode_header(&huge), Err(HeaderFormatError::TooLong));
	}

	proptest! {
		#[test]
		fn arbitrary_text_never_panics(text in ".{0,512}") {
			let _ = decode_header(&text);
		}

		#[test]
		fn arbitrary_text_after_the_prefix_never_panics(text in "v1\\.[ -~]{0,600}") {
			match decode_header(&text) {
				Ok(header) => prop_assert_eq!(encode_header(&header), text),
				Err(error) => prop_assert!(error != HeaderFormatError::UnknownVersion),
			}
		}

		#[test]
		fn arbitrary_bytes_after_the_prefix_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
			let text = format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes));
			match decode_header(&text) {
				Ok(header) => prop_assert_eq!(header.encode(), bytes),
				Err(error) => prop_assert_eq!(error, HeaderFormatError::NotAHeader),
			}
		}

		#[test]
		fn any_signed_header_round_trips(nonce in any::<u64>(), resource in proptest::collection::vec(any::<u8>(), 0..256)) {
			let header = header(CryptoKind::Ed25519, nonce, &resource);
			prop_assert_eq!(decode_header(&encode_header(&header)), Ok(header));
		}
	}
}
