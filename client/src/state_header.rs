//! The HTTP text form of a signed channel state: what a metered call carries in
//! [`STATE_HEADER`] (`x-session-state`) beside its `x-session-auth` header.
//!
//! ```text
//! v1.<base64url, no padding, of the SCALE-encoded (ChannelState<Balance>, SessionSignature)>
//! ```
//!
//! The session key is not repeated: it is the key of the request's `x-session-auth` header,
//! and the signature must be that key's over [`ChannelState::signing_payload`] for the chain's
//! genesis hash ([`crate::SessionPair::sign_state`]), exactly what `checkpoint` verifies on
//! chain. An sr25519 state is 82 bytes of SCALE, 113 characters of text. Parsing refuses
//! anything else by name and never panics: values longer than [`MAX_STATE_HEADER_LEN`],
//! another prefix, invalid base64, bytes that do not decode, or trailing bytes.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use codec::{DecodeAll, Encode};
use session_keys_primitives::{ChannelState, SessionSignature};

use crate::Balance;

/// The HTTP header that carries a signed channel state (lower case, as HTTP/2 sends names).
pub const STATE_HEADER: &str = "x-session-state";

/// The prefix of the version 1 text form.
pub const STATE_VERSION_PREFIX: &str = "v1.";

/// The longest value accepted: an ECDSA state (the largest signature) is under 200 characters.
pub const MAX_STATE_HEADER_LEN: usize = 512;

/// A channel state with the session key's signature over it, as a metered call carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateHeader {
	/// The next state: `nonce` one above the last, `owed` at least the last plus the price.
	pub state: ChannelState<Balance>,
	/// The session key's signature over [`ChannelState::signing_payload`].
	pub signature: SessionSignature,
}

/// Why an `x-session-state` value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateHeaderError {
	/// Longer than [`MAX_STATE_HEADER_LEN`].
	#[error("the state header is longer than {MAX_STATE_HEADER_LEN} bytes")]
	TooLong,
	/// Does not start with [`STATE_VERSION_PREFIX`].
	#[error("the state header does not start with `{STATE_VERSION_PREFIX}`")]
	UnknownVersion,
	/// Not base64url without padding.
	#[error("the state header is not base64url (no padding)")]
	NotBase64,
	/// The bytes are not exactly one SCALE-encoded `(ChannelState, SessionSignature)`.
	#[error("the state header's bytes are not a SCALE-encoded (state, signature)")]
	NotAState,
}

impl StateHeaderError {
	/// The error's name, as a gateway's refusal names it.
	pub fn name(&self) -> &'static str {
		match self {
			StateHeaderError::TooLong => "StateHeaderTooLong",
			StateHeaderError::UnknownVersion => "StateHeaderUnknownVersion",
			StateHeaderError::NotBase64 => "StateHeaderNotBase64",
			StateHeaderError::NotAState => "StateHeaderNotAState",
		}
	}
}

impl StateHeader {
	/// The text form, for the [`STATE_HEADER`] value.
	pub fn encode(&self) -> String {
		format!(
			"{STATE_VERSION_PREFIX}{}",
			URL_SAFE_NO_PAD.encode((&self.state, &self.signature).encode())
		)
	}

	/// Parses the text form made by [`StateHeader::encode`]. The signature is not checked
	/// here: the verifier knows the key and the genesis hash.
	pub fn parse(text: &str) -> Result<Self, StateHeaderError> {
		if text.len() > MAX_STATE_HEADER_LEN {
			return Err(StateHeaderError::TooLong);
		}
		let body =
			text.strip_prefix(STATE_VERSION_PREFIX).ok_or(StateHeaderError::UnknownVersion)?;
		let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| StateHeaderError::NotBase64)?;
		let (state, signature) =
			<(ChannelState<Balance>, SessionSignature)>::decode_all(&mut &bytes[..])
				.map_err(|_| StateHeaderError::NotAState)?;
		Ok(Self { state, signature })
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{CryptoKind, SessionPair};
	use sp_core::H256;

	fn signed(kind: CryptoKind) -> (SessionPair, StateHeader) {
		let pair = SessionPair::from_uri(kind, "//Alice//state").unwrap();
		let state = ChannelState { nonce: 7, owed: u128::MAX, margin: 3 };
		let signature = pair.sign_state(H256::repeat_byte(1), &state);
		(pair, StateHeader { state, signature })
	}

	#[test]
	fn round_trips_and_the_signature_verifies() {
		for kind in [CryptoKind::Sr25519, CryptoKind::Ed25519, CryptoKind::Ecdsa] {
			let (pair, header) = signed(kind);
			let text = header.encode();
			assert!(text.starts_with("v1."));
			assert!(text.len() < MAX_STATE_HEADER_LEN, "{kind:?}: {}", text.len());
			let back = StateHeader::parse(&text).unwrap();
			assert_eq!(back, header);
			let payload = back.state.signing_payload(&H256::repeat_byte(1), &pair.public());
			assert!(pair.public().verify(&payload, &back.signature));
		}
	}

	/// Made by the widget (`web/src/codec.ts` `encodeStateHeader`, `keys.ts` `signState`) for the
	/// seed `[5; 32]`, the state `{nonce: 3, owed: 9, margin: 0}` and the genesis `[1; 32]`.
	const WIDGET_STATE: &str = "v1.AwAAAAAAAAAJAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABoBb0HH_2JLBnpWPZspSXHAYXqmeJ18Tlh0mv5a82RWhxE8LsjfXVABOIrpy_shMK157ovfPk8yoFb66zfweKN";

	#[test]
	fn a_state_signed_in_the_widget_parses_and_verifies() {
		let header = StateHeader::parse(WIDGET_STATE).unwrap();
		assert_eq!(header.state, ChannelState { nonce: 3, owed: 9, margin: 0 });
		let public = SessionPair::from_secret(CryptoKind::Sr25519, &[5; 32]).unwrap().public();
		let payload = header.state.signing_payload(&H256::repeat_byte(1), &public);
		assert!(public.verify(&payload, &header.signature));
		assert_eq!(header.encode(), WIDGET_STATE);
	}

	#[test]
	fn malformed_values_are_refused_by_name() {
		let (_, header) = signed(CryptoKind::Sr25519);
		let text = header.encode();
		let body = &text[3..];
		assert_eq!(
			StateHeader::parse(&format!("v2.{body}")),
			Err(StateHeaderError::UnknownVersion)
		);
		assert_eq!(StateHeader::parse(body), Err(StateHeaderError::UnknownVersion));
		assert_eq!(StateHeader::parse("v1.not base64!"), Err(StateHeaderError::NotBase64));
		assert_eq!(StateHeader::parse(&format!("{text}=")), Err(StateHeaderError::NotBase64));
		assert_eq!(
			StateHeader::parse(&format!("v1.{}", URL_SAFE_NO_PAD.encode([0u8; 10]))),
			Err(StateHeaderError::NotAState)
		);
		let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
		bytes.push(0);
		assert_eq!(
			StateHeader::parse(&format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes))),
			Err(StateHeaderError::NotAState),
			"trailing bytes"
		);
		assert_eq!(
			StateHeader::parse(&format!("v1.{}", "A".repeat(MAX_STATE_HEADER_LEN))),
			Err(StateHeaderError::TooLong)
		);
		assert_eq!(StateHeaderError::NotAState.name(), "StateHeaderNotAState");
	}
}
