//! Generating a session key in the keystore together with its ownership proof.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;
use sp_application_crypto::RuntimePublic;
use sp_core::{ecdsa, ed25519, sr25519};

use crate::{CryptoKind, SessionPublic, KEY_TYPE};

/// A freshly generated session key and its RFC-0048 ownership proof for one owner: exactly what
/// `register` takes.
#[derive(Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GeneratedSessionKey {
	/// The new key's public half; the private half stays in the keystore under [`KEY_TYPE`].
	pub public: SessionPublic,
	/// The SCALE-encoded proof of possession for the owner (`0x`-hex in JSON).
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::hex_bytes"))]
	pub proof: Vec<u8>,
}

impl GeneratedSessionKey {
	/// Generates a key of `kind` in the keystore of the current externalities (the node's, when
	/// called through the runtime API) and proves it for `owner`, the SCALE-encoded owner account.
	///
	/// `seed`, if given, must be valid UTF-8 (a secret URI such as `//Alice`) and makes the key
	/// deterministic, for development. Returns `None` if the keystore cannot make the proof.
	///
	/// This is what `SessionKeys::generate_session_keys` does for consensus keys, under this
	/// project's key type: `RuntimePublic::generate_pair`, then
	/// `RuntimePublic::generate_proof_of_possession`.
	pub fn generate(kind: CryptoKind, owner: &[u8], seed: Option<Vec<u8>>) -> Option<Self> {
		match kind {
			CryptoKind::Sr25519 => Self::generate_with::<sr25519::Public>(owner, seed),
			CryptoKind::Ed25519 => Self::generate_with::<ed25519::Public>(owner, seed),
			CryptoKind::Ecdsa => Self::generate_with::<ecdsa::Public>(owner, seed),
		}
	}

	fn generate_with<P>(owner: &[u8], seed: Option<Vec<u8>>) -> Option<Self>
	where
		P: RuntimePublic + Into<SessionPublic>,
		P::ProofOfPossession: Encode,
	{
		let mut public = P::generate_pair(KEY_TYPE, seed);
		let proof = public.generate_proof_of_possession(KEY_TYPE, owner)?;
		Some(Self { public: public.into(), proof: proof.encode() })
	}
}
