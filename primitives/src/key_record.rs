//! One answer to "what is this key now?": the record the chain holds of a session key, read in
//! one call, and the view every verifier derives from it the same way.

use alloc::vec::Vec;
use codec::{Decode, Encode};
use scale_info::TypeInfo;

use crate::{KeyView, Phase, Registration, RetiredSession};

/// What the chain holds of a session key: nothing, its registration (live or closing), or its
/// retired record. The runtime API's `key_state` returns it, so a verifier needs one read.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
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
pub enum KeyRecord<AccountId, Balance, BlockNumber> {
	/// No session was ever registered with the key.
	Unknown,
	/// The key's session is live or closing: its registration in plain form.
	Registered(Registration<AccountId, Balance, BlockNumber>),
	/// The key's session ended: what is kept of it forever.
	Retired(RetiredSession<AccountId, BlockNumber, Balance>),
}

impl<AccountId, Balance, BlockNumber> KeyRecord<AccountId, Balance, BlockNumber>
where
	Balance: sp_runtime::traits::AtLeast32BitUnsigned + Copy,
	BlockNumber: PartialOrd + Copy,
{
	/// The session's phase at `now`, if the key is registered.
	pub fn phase_at(&self, now: BlockNumber) -> Option<Phase> {
		match self {
			KeyRecord::Registered(registration) => Some(registration.phase_at(now)),
			_ => None,
		}
	}

	/// What a request verifier knows of the key at `now` (see [`crate::check_request`]).
	pub fn view(&self, now: BlockNumber) -> KeyView<'_, AccountId, Vec<u8>> {
		match self {
			KeyRecord::Unknown => KeyView::Unknown,
			KeyRecord::Retired(record) => KeyView::Ended(record.reason),
			KeyRecord::Registered(registration) => match registration.phase_at(now) {
				Phase::Live => {
					KeyView::Live { owner: &registration.owner, scope: &registration.scope[..] }
				}
				Phase::Closing(reason) => {
					KeyView::Closing { revoked: reason == crate::EndReason::Revoked }
				}
			},
		}
	}

	/// The registration, if the key's session is live or closing.
	pub fn registration(&self) -> Option<&Registration<AccountId, Balance, BlockNumber>> {
		match self {
			KeyRecord::Registered(registration) => Some(registration),
			_ => None,
		}
	}
}
