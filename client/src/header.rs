//! The HTTP text form of a signed request header.
//!
//! A request carries its session header in the HTTP header [`HTTP_HEADER`]
//! (`x-session-auth`), whose value is
//!
//! ```text
//! v1.<base64url, no padding, of the SCALE-encoded RequestHeader>
//! ```
//!
//! The version prefix lets the form change without ambiguity; the SCALE bytes are exactly
//! the runtime's `RequestHeader`, so a gateway decodes them with the same type the runtime
//! verifies. Parsing refuses anything else, and never panics: values longer than
//! [`MAX_HEADER_LEN`], another prefix, invalid base64, bytes that do not decode as a header,
//! or trailing bytes after one.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use codec::{DecodeAll, Encode};
use session_keys_primitives::RequestHeader;
use sp_core::H256;

use crate::AccountId;

/// The HTTP header that carries a session header (lower case, as HTTP/2 sends names).
pub const HTTP_HEADER: &str = "x-session-auth";

/// The prefix of the current text form.
pub const VERSION_PREFIX: &str = "v1.";

/// The longest value accepted: far above any real header (description-free, an audience and
/// a resource of a few hundred bytes), far below what would cost a gateway to decode.
pub const MAX_HEADER_LEN: usize = 8 * 1024;

/// A request header on this chain.
pub type Header = RequestHeader<AccountId, H256>;

/// Why a text form is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderFormatError {
	/// Longer than [`MAX_HEADER_LEN`].
	#[error("the session header is longer than {MAX_HEADER_LEN} bytes")]
	TooLong,
	/// Does not start with [`VERSION_PREFIX`].
	#[error("the session header does not start with `{VERSION_PREFIX}`")]
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

/// The text form of `header`, for the [`HTTP_HEADER`] value.
pub fn encode_header(header: &Header) -> String {
	format!("{VERSION_PREFIX}{}", URL_SAFE_NO_PAD.encode(header.encode()))
}

/// Parses the text form made by [`encode_header`], and refuses a header whose key binds no one
/// ([`HeaderFormatError::WeakKey`]).
pub fn decode_header(text: &str) -> Result<Header, HeaderFormatError> {
	let header = parse_header(text)?;
	header.public.check_key().map_err(|_| HeaderFormatError::WeakKey)?;
	Ok(header)
}

/// Parses the text form without checking the key: for verifiers that check it themselves, as
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
	use crate::{keys::HeaderRequest, SessionPair};
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

	#[test]
	fn malformed_text_is_refused_with_its_reason() {
		let text = encode_header(&header(CryptoKind::Sr25519, 1, b"orders/1"));
		let body = &text[VERSION_PREFIX.len()..];
		assert_eq!(decode_header(body), Err(HeaderFormatError::UnknownVersion));
		assert_eq!(decode_header(&format!("v2.{body}")), Err(HeaderFormatError::UnknownVersion));
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
