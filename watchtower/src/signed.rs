//! A channel state signed by a session key: what the watchtower takes, stores and checkpoints.

use session_keys_client::{Balance, ChannelState, SessionPublic, SessionSignature};
use sp_core::H256;

/// A [`ChannelState`] with the session key that signed it and the signature, in the JSON shape
/// `POST /v1/states` takes: `{"public", "nonce", "owed", "margin", "signature"}`, the key and the
/// signature as `0x`-hex of their SCALE encoding, the balances as decimal strings (the shapes of
/// `session_keys_primitives::serde_helpers`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignedState {
	/// The session key.
	pub public: SessionPublic,
	/// The state (`nonce`, `owed`, `margin`), flattened into the object.
	#[serde(flatten)]
	pub state: ChannelState<Balance>,
	/// The session key's signature over [`ChannelState::signing_payload`] for the chain's
	/// genesis hash.
	pub signature: SessionSignature,
}

impl SignedState {
	/// Whether the signature is the session key's, over the state for the chain with
	/// `genesis_hash`: the check `checkpoint` makes on chain.
	pub fn signature_is_valid(&self, genesis_hash: &H256) -> bool {
		let payload = self.state.signing_payload(genesis_hash, &self.public);
		self.public.verify(&payload, &self.signature)
	}

	/// Reads the JSON form; the error names what is wrong.
	pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
		serde_json::from_slice(bytes).map_err(|error| error.to_string())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use session_keys_client::{CryptoKind, SessionPair};

	#[test]
	fn the_json_shape_is_flat_with_hex_and_decimal_strings() {
		let pair = SessionPair::from_uri(CryptoKind::Sr25519, "//Alice//wt").unwrap();
		let state =
			ChannelState { nonce: 3, owed: 340282366920938463463374607431768211455, margin: 2 };
		let genesis = H256::repeat_byte(1);
		let signed = SignedState {
			public: pair.public(),
			state,
			signature: pair.sign_state(genesis, &state),
		};
		let json = serde_json::to_value(&signed).unwrap();
		assert_eq!(json["nonce"], 3);
		assert_eq!(json["owed"], "340282366920938463463374607431768211455");
		assert_eq!(json["margin"], "2");
		assert!(json["public"].as_str().unwrap().starts_with("0x00"));
		assert_eq!(json.as_object().unwrap().len(), 5);
		let back = SignedState::from_json(json.to_string().as_bytes()).unwrap();
		assert_eq!(back, signed);
		assert!(back.signature_is_valid(&genesis));
		assert!(!back.signature_is_valid(&H256::repeat_byte(2)), "another chain");
		let mut bad = json.clone();
		bad["owed"] = serde_json::json!(5);
		assert!(
			SignedState::from_json(bad.to_string().as_bytes()).is_err(),
			"a number, not a string"
		);
	}
}
