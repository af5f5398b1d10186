//! How the shared types appear in JSON (the `serde` feature): balances as decimal strings (a
//! `u128` does not fit a JSON number that JavaScript reads exactly), bytes as `0x`-hex, keys and
//! signatures as `0x`-hex of their SCALE encoding (the bytes extrinsics take), enums by serde's
//! derive (`"Revoked"`, `{"Closing": "Expired"}`, `{"KeyEnded": "Rotated"}`).

use alloc::{format, string::String, vec::Vec};
use codec::{Decode, DecodeAll, Encode};
use core::{fmt::Display, str::FromStr};
use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

/// A number as a decimal string.
pub mod decimal {
	use super::*;

	/// Writes `value` as a decimal string.
	pub fn serialize<T: Display, S: Serializer>(
		value: &T,
		serializer: S,
	) -> Result<S::Ok, S::Error> {
		serializer.collect_str(value)
	}

	/// Reads a decimal string.
	pub fn deserialize<'de, T: FromStr, D: Deserializer<'de>>(
		deserializer: D,
	) -> Result<T, D::Error> {
		let text = String::deserialize(deserializer)?;
		text.parse().map_err(|_| D::Error::custom(format!("`{text}` is not a decimal amount")))
	}
}

/// Bytes as a `0x`-hex string.
pub mod hex_bytes {
	use super::*;

	/// Writes `bytes` as `0x`-hex.
	pub fn serialize<T: AsRef<[u8]>, S: Serializer>(
		bytes: &T,
		serializer: S,
	) -> Result<S::Ok, S::Error> {
		sp_core::bytes::serialize(bytes.as_ref(), serializer)
	}

	/// Reads `0x`-hex.
	pub fn deserialize<'de, T: From<Vec<u8>>, D: Deserializer<'de>>(
		deserializer: D,
	) -> Result<T, D::Error> {
		sp_core::bytes::deserialize(deserializer).map(Into::into)
	}
}

/// A list of byte strings (a scope), each as a `0x`-hex string.
pub mod hex_scope {
	use super::*;
	use serde::ser::SerializeSeq;

	/// Writes each item as `0x`-hex.
	pub fn serialize<T: ScopeLike, S: Serializer>(
		scope: &T,
		serializer: S,
	) -> Result<S::Ok, S::Error> {
		let items = scope.items();
		let mut seq = serializer.serialize_seq(Some(items.len()))?;
		for item in items {
			seq.serialize_element(&sp_core::Bytes(item.to_vec()))?;
		}
		seq.end()
	}

	/// Reads a list of `0x`-hex strings.
	pub fn deserialize<'de, T: ScopeLike, D: Deserializer<'de>>(
		deserializer: D,
	) -> Result<T, D::Error> {
		let items = Vec::<sp_core::Bytes>::deserialize(deserializer)?;
		Ok(T::from_items(items.into_iter().map(|item| item.0).collect()))
	}
}

/// A scope container that (de)serializes as a list of hex strings.
pub trait ScopeLike: Sized {
	/// The items, in order.
	fn items(&self) -> Vec<&[u8]>;
	/// A scope of these items.
	fn from_items(items: Vec<Vec<u8>>) -> Self;
}

impl ScopeLike for Vec<Vec<u8>> {
	fn items(&self) -> Vec<&[u8]> {
		self.iter().map(Vec::as_slice).collect()
	}
	fn from_items(items: Vec<Vec<u8>>) -> Self {
		items
	}
}

/// A SCALE-encodable value as `0x`-hex of its encoding; decoding must use every byte.
pub mod scale_hex {
	use super::*;

	/// Writes `value`'s SCALE encoding as `0x`-hex.
	pub fn serialize<T: Encode, S: Serializer>(
		value: &T,
		serializer: S,
	) -> Result<S::Ok, S::Error> {
		sp_core::bytes::serialize(&value.encode(), serializer)
	}

	/// Reads `0x`-hex and decodes it as SCALE, refusing trailing bytes.
	pub fn deserialize<'de, T: Decode, D: Deserializer<'de>>(
		deserializer: D,
	) -> Result<T, D::Error> {
		let bytes = sp_core::bytes::deserialize(deserializer)?;
		T::decode_all(&mut &bytes[..])
			.map_err(|e| D::Error::custom(format!("not a valid SCALE encoding: {e}")))
	}
}

/// Implements `Serialize` / `Deserialize` for a SCALE type as `0x`-hex of its encoding.
macro_rules! serde_as_scale_hex {
	($($ty:ty),* $(,)?) => {$(
		impl serde::Serialize for $ty {
			fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
				$crate::serde_helpers::scale_hex::serialize(self, serializer)
			}
		}
		impl<'de> serde::Deserialize<'de> for $ty {
			fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
				$crate::serde_helpers::scale_hex::deserialize(deserializer)
			}
		}
	)*};
}
pub(crate) use serde_as_scale_hex;

#[cfg(test)]
mod tests {
	use crate::{
		AuthError, ChannelState, CryptoKind, DelegateTerms, DelegateUsage, Delegation, EndReason,
		PendingLimit, Phase, Registration, SessionPublic,
	};
	use alloc::{format, vec};
	use serde_json::json;
	use sp_core::sr25519;

	fn registration() -> Registration<u64, u128, u32> {
		Registration {
			owner: 1,
			counterpart: 2,
			delegate: Some(14),
			registered_at: 3,
			expires_at: 4,
			settles_at: 5,
			revoked: true,
			duration: 6,
			spending_limit: u128::MAX,
			pending_limit: Some(PendingLimit { limit: 7, applies_at: 8 }),
			collateral: 9,
			deposit: 10,
			description: b"api".to_vec(),
			scope: vec![b"orders/*".to_vec()],
			state: ChannelState { nonce: 11, owed: 12, margin: 13 },
		}
	}

	#[test]
	fn a_registration_has_one_json_shape_and_round_trips() {
		let expected = json!({
			"owner": 1, "counterpart": 2, "delegate": 14, "registeredAt": 3, "expiresAt": 4, "settlesAt": 5,
			"revoked": true, "duration": 6,
			"spendingLimit": "340282366920938463463374607431768211455",
			"pendingLimit": {"limit": "7", "appliesAt": 8},
			"collateral": "9", "deposit": "10",
			"description": "0x617069", "scope": ["0x6f72646572732f2a"],
			"state": {"nonce": 11, "owed": "12", "margin": "13"},
		});
		assert_eq!(serde_json::to_value(registration()).unwrap(), expected);
		let back: Registration<u64, u128, u32> = serde_json::from_value(expected).unwrap();
		assert_eq!(back, registration());
	}

	#[test]
	fn a_delegation_has_one_json_shape_and_round_trips() {
		let delegation = Delegation::<u64, u128, u32> {
			terms: Some(DelegateTerms {
				counterparts: vec![3],
				max_collateral: 4,
				max_spending_limit: 5,
				max_total_collateral: 6,
				max_duration: 7,
				max_keys: 8,
				ends_at: None,
			}),
			deposit: 9,
			usage: DelegateUsage { keys: 1, collateral: 2 },
		};
		let expected = json!({
			"terms": {
				"counterparts": [3], "maxCollateral": "4", "maxSpendingLimit": "5",
				"maxTotalCollateral": "6", "maxDuration": 7, "maxKeys": 8, "endsAt": null,
			},
			"deposit": "9",
			"usage": {"keys": 1, "collateral": "2"},
		});
		assert_eq!(serde_json::to_value(&delegation).unwrap(), expected);
		let back: Delegation<u64, u128, u32> = serde_json::from_value(expected).unwrap();
		assert_eq!(back, delegation);
	}

	#[test]
	fn enums_are_named_by_serde() {
		assert_eq!(serde_json::to_value(CryptoKind::Sr25519).unwrap(), json!("sr25519"));
		assert_eq!(serde_json::to_value(EndReason::Revoked).unwrap(), json!("Revoked"));
		let closing = Phase::Closing(EndReason::Expired);
		assert_eq!(serde_json::to_value(closing).unwrap(), json!({"Closing": "Expired"}));
		let ended = AuthError::KeyEnded(EndReason::Rotated);
		assert_eq!(serde_json::to_value(ended).unwrap(), json!({"KeyEnded": "Rotated"}));
		assert_eq!(
			serde_json::to_value(AuthError::StaleBlockHash).unwrap(),
			json!("StaleBlockHash")
		);
		assert!(serde_json::from_value::<CryptoKind>(json!("rsa")).is_err());
	}

	#[test]
	fn keys_are_hex_scale_and_bad_bytes_are_refused() {
		let key = SessionPublic::Sr25519(sr25519::Public::from_raw([1; 32]));
		let text = serde_json::to_value(key).unwrap();
		assert_eq!(text, json!(format!("0x00{}", "01".repeat(32))));
		assert_eq!(serde_json::from_value::<SessionPublic>(text).unwrap(), key);
		for bad in [
			json!(format!("0x00{}00", "01".repeat(32))), // trailing byte
			json!("0x09"),                               // no such scheme
			json!("not hex"),
			json!(7),
		] {
			assert!(serde_json::from_value::<SessionPublic>(bad.clone()).is_err(), "{bad}");
		}
		assert!(serde_json::from_value::<Registration<u64, u128, u32>>(json!({})).is_err());
	}
}
