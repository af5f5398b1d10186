//! Public keys that bind no one, refused wherever a key is accepted.
//!
//! Some encodings verify signatures that nobody had to make. The sr25519 identity point (32
//! zero bytes) and the ed25519 points of small order (such as `[1, 0, ..., 0]`) verify the
//! signature `(R = identity, s = 0)` on every message: schnorrkel does not refuse the identity,
//! and sp-io verifies ed25519 under ZIP-215 rules, which accept small-order keys. Such a key
//! would pass the ownership proof with that universal signature, and then anyone could sign
//! states and request headers for it. A non-canonical encoding names the same point as a
//! canonical one under other bytes, so one point could be registered twice.
//!
//! [`SessionPublic::check_key`] refuses all of these; the pallet calls it in `register` and
//! `rotate`, and clients and gateways call it before trusting a key. Decoding uses
//! `curve25519-dalek`, the library schnorrkel and ed25519-dalek are built on.

use codec::{Decode, DecodeWithMemTracking, Encode};
use curve25519_dalek::{
	edwards::CompressedEdwardsY,
	ristretto::{CompressedRistretto, RistrettoPoint},
	traits::Identity,
};
use scale_info::TypeInfo;

use crate::SessionPublic;

/// Why a public key is refused (see [`SessionPublic::check_key`]).
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum WeakKey {
	/// The bytes are not the encoding of a point of the key's scheme (for ecdsa: they do not
	/// start with a compressed point's prefix, 2 or 3; whether the x coordinate is on the
	/// curve is not checked, as no signature verifies for such a key).
	NotAPoint,
	/// The bytes are not the one canonical encoding of a point (for sr25519, whose
	/// decoding refuses every other encoding, this covers all bytes that are not a point).
	NonCanonical,
	/// The point has small order (the identity among them): it verifies signatures that
	/// nobody made.
	SmallOrder,
}

impl SessionPublic {
	/// Checks that this key can bind someone: a canonical encoding of a point that is not of
	/// small order.
	///
	/// - sr25519: a canonical Ristretto encoding (decompression refuses every other one) that
	///   is not the identity, the one small-order element of the prime-order group;
	/// - ed25519: an Edwards point whose encoding is canonical (it compresses back to the same
	///   bytes: no `y >= p`, no negative zero) and whose order is not small;
	/// - ecdsa: a compressed secp256k1 point (prefix 2 or 3). ECDSA verification recovers the
	///   key from the signature, so no signature verifies for a key off the curve and there is
	///   no universal signature to refuse.
	pub fn check_key(&self) -> Result<(), WeakKey> {
		match self {
			Self::Sr25519(key) => {
				let point = CompressedRistretto(key.0).decompress().ok_or(WeakKey::NonCanonical)?;
				if point == RistrettoPoint::identity() {
					return Err(WeakKey::SmallOrder);
				}
				Ok(())
			}
			Self::Ed25519(key) => {
				let encoded = CompressedEdwardsY(key.0);
				let point = encoded.decompress().ok_or(WeakKey::NotAPoint)?;
				if point.compress() != encoded {
					return Err(WeakKey::NonCanonical);
				}
				if point.is_small_order() {
					return Err(WeakKey::SmallOrder);
				}
				Ok(())
			}
			Self::Ecdsa(key) => match key.0[0] {
				2 | 3 => Ok(()),
				_ => Err(WeakKey::NotAPoint),
			},
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::SessionSignature;
	use codec::Encode;
	use sp_core::{crypto::Pair, ecdsa, ed25519, sr25519};

	fn sr(raw: [u8; 32]) -> SessionPublic {
		sr25519::Public::from_raw(raw).into()
	}

	fn ed(raw: [u8; 32]) -> SessionPublic {
		ed25519::Public::from_raw(raw).into()
	}

	/// `[1, 0, ..., 0]`: y = 1, the Edwards identity.
	pub(crate) const ED_IDENTITY: [u8; 32] = {
		let mut raw = [0; 32];
		raw[0] = 1;
		raw
	};

	/// The universal signature `(R = identity, s = 0)` for a scheme whose identity encodes as
	/// `identity`.
	fn universal(identity: [u8; 32]) -> [u8; 64] {
		let mut sig = [0; 64];
		sig[..32].copy_from_slice(&identity);
		sig
	}

	#[test]
	fn generated_keys_pass() {
		// (A zero seed is no secp256k1 secret key.)
		for seed in 1..20u8 {
			let seed = [seed; 32];
			assert_eq!(
				SessionPublic::from(sr25519::Pair::from_seed(&seed).public()).check_key(),
				Ok(())
			);
			assert_eq!(
				SessionPublic::from(ed25519::Pair::from_seed(&seed).public()).check_key(),
				Ok(())
			);
			assert_eq!(
				SessionPublic::from(ecdsa::Pair::from_seed(&seed).public()).check_key(),
				Ok(())
			);
		}
	}

	#[test]
	fn the_weak_keys_really_verify_the_universal_signature() {
		// The attack this module exists for: these keys verify a signature nobody made, on any
		// message. If a library change ever stopped this, the checks would still be right.
		let messages: [&[u8]; 3] = [b"", b"POP_\x07\0\0\0\0\0\0\0", b"any state at all"];
		let sr_id = sr([0; 32]);
		let ed_id = ed(ED_IDENTITY);
		// schnorrkel marks its signatures with the top bit of the last byte; s stays 0.
		let mut sr_raw = universal([0; 32]);
		sr_raw[63] |= 0x80;
		let sr_sig = SessionSignature::Sr25519(sr25519::Signature::from_raw(sr_raw));
		let ed_sig =
			SessionSignature::Ed25519(ed25519::Signature::from_raw(universal(ED_IDENTITY)));
		for message in messages {
			assert!(sr_id.verify(message, &sr_sig), "sr25519 identity verifies");
			assert!(ed_id.verify(message, &ed_sig), "ed25519 identity verifies");
		}
		assert_eq!(sr_id.check_key(), Err(WeakKey::SmallOrder));
		assert_eq!(ed_id.check_key(), Err(WeakKey::SmallOrder));
		// And the ownership proof, which would otherwise pass with that signature.
		let owner = 7u64.to_le_bytes();
		assert_eq!(
			sr_id.verify_ownership(&owner, &sr_sig.encode()[1..]),
			Err(crate::ProofError::WeakKey(WeakKey::SmallOrder))
		);
		assert_eq!(
			ed_id.verify_ownership(&owner, &ed_sig.encode()[1..]),
			Err(crate::ProofError::WeakKey(WeakKey::SmallOrder))
		);
	}

	#[test]
	fn ed25519_small_order_points_are_refused() {
		// The eight torsion points (in canonical encodings), from curve25519-dalek's own table.
		for point in curve25519_dalek::constants::EIGHT_TORSION {
			let key = ed(point.compress().0);
			assert_eq!(key.check_key(), Err(WeakKey::SmallOrder), "{point:?}");
		}
	}

	#[test]
	fn non_canonical_encodings_are_refused() {
		// Negative zero: the identity with the sign bit of x set.
		let mut negative_zero = ED_IDENTITY;
		negative_zero[31] |= 0x80;
		assert_eq!(ed(negative_zero).check_key(), Err(WeakKey::NonCanonical));
		// y = p + 1 = 2^255 - 18: the identity again, with y not reduced.
		let mut unreduced = [0xff; 32];
		unreduced[0] = 0xee;
		unreduced[31] = 0x7f;
		assert_eq!(ed(unreduced).check_key(), Err(WeakKey::NonCanonical));
		// Ristretto: a negative field element (low bit set) is never a canonical encoding.
		let mut odd = [0u8; 32];
		odd[0] = 1;
		assert_eq!(sr(odd).check_key(), Err(WeakKey::NonCanonical));
		assert_eq!(sr([0xff; 32]).check_key(), Err(WeakKey::NonCanonical));
	}

	#[test]
	fn bytes_off_the_curve_are_refused() {
		// y = 2 is not the y of any Edwards point (x^2 would not be a square).
		let mut y2 = [0u8; 32];
		y2[0] = 2;
		assert_eq!(ed(y2).check_key(), Err(WeakKey::NotAPoint));
		let mut off = ecdsa::Public::from_raw([0; 33]);
		assert_eq!(SessionPublic::from(off).check_key(), Err(WeakKey::NotAPoint));
		off.0[0] = 4;
		assert_eq!(SessionPublic::from(off).check_key(), Err(WeakKey::NotAPoint));
	}
}
