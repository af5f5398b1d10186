//! Bounded delegation: what an owner lets another account (a *delegate*, such as a key keeper's
//! hot key) do with its session keys, and the one rule that checks a delegate's request against
//! those terms and what the delegate already holds.
//!
//! The owner sets [`DelegateTerms`] on chain from its own account; the pallet checks every call
//! a delegate makes for the owner against them and against the running [`DelegateUsage`] (the
//! live and closing keys the delegate made, and the collateral they hold), so that many small
//! keys cannot add up past the owner's bound. Off-chain tools (the keeper's `profile add`) use
//! the same [`DelegateTerms::check_key`] to name the term that would refuse a profile before
//! anything is sent.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::traits::{AtLeast32BitUnsigned, Saturating};

/// What an owner allows one delegate to do with its session keys.
///
/// `Counterparts` is the list of accounts: bounded in storage, a plain `Vec` everywhere else
/// ([`PlainDelegateTerms`]).
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
	feature = "serde",
	serde(
		rename_all = "camelCase",
		bound(
			serialize = "Balance: core::fmt::Display, BlockNumber: serde::Serialize, \
			             Counterparts: serde::Serialize",
			deserialize = "Balance: core::str::FromStr, BlockNumber: serde::Deserialize<'de>, \
			               Counterparts: serde::Deserialize<'de>"
		)
	)
)]
pub struct DelegateTerms<Counterparts, Balance, BlockNumber> {
	/// The only counterparts the delegate may name in a registration.
	pub counterparts: Counterparts,
	/// The most collateral one key may hold (a decimal string in JSON).
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::decimal"))]
	pub max_collateral: Balance,
	/// The highest spending limit one key may have (a decimal string in JSON).
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::decimal"))]
	pub max_spending_limit: Balance,
	/// The most collateral held in total by the live and closing keys the delegate made (a
	/// decimal string in JSON).
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::decimal"))]
	pub max_total_collateral: Balance,
	/// The longest duration, in blocks, of a registration or renewal.
	pub max_duration: BlockNumber,
	/// The most live and closing keys the delegate may have made at once.
	pub max_keys: u32,
	/// The first block at which the authorization no longer holds, if it ends.
	pub ends_at: Option<BlockNumber>,
}

/// [`DelegateTerms`] in their plain form, with a `Vec` of counterparts.
pub type PlainDelegateTerms<AccountId, Balance, BlockNumber> =
	DelegateTerms<Vec<AccountId>, Balance, BlockNumber>;

/// What the live and closing keys a delegate made for an owner hold now.
#[derive(
	Clone,
	Copy,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
	feature = "serde",
	serde(
		rename_all = "camelCase",
		bound(
			serialize = "Balance: core::fmt::Display",
			deserialize = "Balance: core::str::FromStr"
		)
	)
)]
pub struct DelegateUsage<Balance> {
	/// Live and closing keys the delegate made.
	pub keys: u32,
	/// Collateral those keys hold in total (a decimal string in JSON).
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::decimal"))]
	pub collateral: Balance,
}

/// An owner's authorization of a delegate as the runtime API returns it: the terms (with a
/// plain list of counterparts), the deposit held for them, and what the delegate's keys hold.
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
pub struct Delegation<AccountId, Balance, BlockNumber> {
	/// The terms, if the authorization still stands (`None` once revoked while keys the
	/// delegate made are still live or closing: they keep counting in `usage`).
	pub terms: Option<PlainDelegateTerms<AccountId, Balance, BlockNumber>>,
	/// The storage deposit held from the owner for the terms (a decimal string in JSON).
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::decimal"))]
	pub deposit: Balance,
	/// What the delegate's live and closing keys hold.
	pub usage: DelegateUsage<Balance>,
}

/// A delegate's request for a key: its terms as a registration (or rotation) would give them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct KeyRequest<'a, AccountId, Balance, BlockNumber> {
	/// The counterpart the key names.
	pub counterpart: &'a AccountId,
	/// Its duration, in blocks.
	pub duration: BlockNumber,
	/// Its spending limit.
	pub spending_limit: Balance,
	/// Its collateral.
	pub collateral: Balance,
	/// Whether the key is new (it counts against `max_keys`), or replaces one the delegate made
	/// (a rotation: the count does not change).
	pub new_key: bool,
}

/// The term of a [`DelegateTerms`] that refuses a delegate's request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TermRefusal {
	/// The authorization ended (`ends_at` has come).
	Ended,
	/// The counterpart is not in the owner's list.
	CounterpartNotAllowed,
	/// The key's collateral is above `max_collateral`.
	CollateralAboveTerms,
	/// The key's spending limit is above `max_spending_limit`.
	SpendingLimitAboveTerms,
	/// The duration is above `max_duration`, or the key would outlive the authorization
	/// (expire after `ends_at`).
	DurationAboveTerms,
	/// The delegate already has `max_keys` live or closing keys.
	TooManyDelegateKeys,
	/// The delegate's keys would hold more than `max_total_collateral` in total.
	TotalCollateralAboveTerms,
}

impl TermRefusal {
	/// The term's name, as the keeper and the pallet's errors say it.
	pub fn term(&self) -> &'static str {
		match self {
			TermRefusal::Ended => "endsAt",
			TermRefusal::CounterpartNotAllowed => "counterparts",
			TermRefusal::CollateralAboveTerms => "maxCollateral",
			TermRefusal::SpendingLimitAboveTerms => "maxSpendingLimit",
			TermRefusal::DurationAboveTerms => "maxDuration",
			TermRefusal::TooManyDelegateKeys => "maxKeys",
			TermRefusal::TotalCollateralAboveTerms => "maxTotalCollateral",
		}
	}
}

impl<Counterparts, Balance, BlockNumber> DelegateTerms<Counterparts, Balance, BlockNumber> {
	/// The plain form: the same terms with a `Vec` of counterparts.
	pub fn into_plain<AccountId>(self) -> PlainDelegateTerms<AccountId, Balance, BlockNumber>
	where
		Counterparts: IntoIterator<Item = AccountId>,
	{
		DelegateTerms {
			counterparts: self.counterparts.into_iter().collect(),
			max_collateral: self.max_collateral,
			max_spending_limit: self.max_spending_limit,
			max_total_collateral: self.max_total_collateral,
			max_duration: self.max_duration,
			max_keys: self.max_keys,
			ends_at: self.ends_at,
		}
	}
}

impl<Counterparts, Balance, BlockNumber> DelegateTerms<Counterparts, Balance, BlockNumber>
where
	Balance: AtLeast32BitUnsigned + Copy,
	BlockNumber: PartialOrd + Copy + Saturating,
{
	/// Whether the authorization holds at `now`.
	pub fn is_in_force_at(&self, now: BlockNumber) -> bool {
		self.ends_at.is_none_or(|ends_at| now < ends_at)
	}

	/// Whether the terms allow `counterpart`.
	pub fn allows_counterpart<AccountId: PartialEq>(&self, counterpart: &AccountId) -> bool
	where
		Counterparts: AsRef<[AccountId]>,
	{
		self.counterparts.as_ref().contains(counterpart)
	}

	/// The one rule for a key a delegate makes (or rotates) at `now`, given what its keys
	/// already hold: every term, in the order a reader checks them.
	pub fn check_key<AccountId: PartialEq>(
		&self,
		now: BlockNumber,
		request: KeyRequest<'_, AccountId, Balance, BlockNumber>,
		usage: &DelegateUsage<Balance>,
	) -> Result<(), TermRefusal>
	where
		Counterparts: AsRef<[AccountId]>,
	{
		if !self.is_in_force_at(now) {
			return Err(TermRefusal::Ended);
		}
		if !self.allows_counterpart(request.counterpart) {
			return Err(TermRefusal::CounterpartNotAllowed);
		}
		let outlives = self.ends_at.is_some_and(|end| now.saturating_add(request.duration) > end);
		if request.duration > self.max_duration || outlives {
			return Err(TermRefusal::DurationAboveTerms);
		}
		if request.spending_limit > self.max_spending_limit {
			return Err(TermRefusal::SpendingLimitAboveTerms);
		}
		if request.collateral > self.max_collateral {
			return Err(TermRefusal::CollateralAboveTerms);
		}
		if request.new_key && usage.keys >= self.max_keys {
			return Err(TermRefusal::TooManyDelegateKeys);
		}
		self.check_added_collateral(usage, request.collateral)
	}

	/// Whether the delegate's keys may hold `added` more collateral in total (adding nothing is
	/// always allowed, even past a total the owner lowered since).
	pub fn check_added_collateral(
		&self,
		usage: &DelegateUsage<Balance>,
		added: Balance,
	) -> Result<(), TermRefusal> {
		if added.is_zero() {
			return Ok(());
		}
		let total = usage.collateral.checked_add(&added);
		if total.is_none_or(|total| total > self.max_total_collateral) {
			return Err(TermRefusal::TotalCollateralAboveTerms);
		}
		Ok(())
	}

	/// Whether one key of the delegate, with `counterpart`, may hold `collateral` after a top-up
	/// of `added`: the counterpart must still be listed (the owner may have dropped it since).
	pub fn check_top_up<AccountId: PartialEq>(
		&self,
		now: BlockNumber,
		counterpart: &AccountId,
		collateral: Balance,
		added: Balance,
		usage: &DelegateUsage<Balance>,
	) -> Result<(), TermRefusal>
	where
		Counterparts: AsRef<[AccountId]>,
	{
		if !self.is_in_force_at(now) {
			return Err(TermRefusal::Ended);
		}
		if !self.allows_counterpart(counterpart) {
			return Err(TermRefusal::CounterpartNotAllowed);
		}
		if collateral.saturating_add(added) > self.max_collateral {
			return Err(TermRefusal::CollateralAboveTerms);
		}
		self.check_added_collateral(usage, added)
	}
}

impl<Balance: AtLeast32BitUnsigned + Copy> DelegateUsage<Balance> {
	/// Counts a new key holding `collateral`.
	pub fn add_key(&mut self, collateral: Balance) {
		self.keys = self.keys.saturating_add(1);
		self.collateral.saturating_accrue(collateral);
	}

	/// Forgets a key that held `collateral` when it ended.
	pub fn remove_key(&mut self, collateral: Balance) {
		self.keys = self.keys.saturating_sub(1);
		self.collateral.saturating_reduce(collateral);
	}

	/// Whether no key counts any more.
	pub fn is_empty(&self) -> bool {
		self.keys == 0 && self.collateral.is_zero()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn terms() -> PlainDelegateTerms<u64, u64, u32> {
		DelegateTerms {
			counterparts: vec![3, 4],
			max_collateral: 100,
			max_spending_limit: 500,
			max_total_collateral: 250,
			max_duration: 50,
			max_keys: 3,
			ends_at: Some(90),
		}
	}

	fn request(counterpart: &u64) -> KeyRequest<'_, u64, u64, u32> {
		KeyRequest {
			counterpart,
			duration: 50,
			spending_limit: 500,
			collateral: 100,
			new_key: true,
		}
	}

	#[test]
	fn a_request_at_every_bound_is_allowed() {
		let usage = DelegateUsage { keys: 2, collateral: 150 };
		// From block 40, the 50-block key expires at the authorization's end block, 90.
		assert_eq!(terms().check_key(40, request(&3), &usage), Ok(()));
	}

	#[test]
	fn each_term_refuses_one_past_its_bound() {
		let terms = terms();
		let usage = DelegateUsage { keys: 0, collateral: 0 };
		let cases = [
			(90, KeyRequest { ..request(&3) }, usage, TermRefusal::Ended),
			(1, request(&5), usage, TermRefusal::CounterpartNotAllowed),
			(1, KeyRequest { duration: 51, ..request(&3) }, usage, TermRefusal::DurationAboveTerms),
			(
				1,
				KeyRequest { spending_limit: 501, ..request(&3) },
				usage,
				TermRefusal::SpendingLimitAboveTerms,
			),
			(
				1,
				KeyRequest { collateral: 101, ..request(&3) },
				usage,
				TermRefusal::CollateralAboveTerms,
			),
			(
				1,
				request(&3),
				DelegateUsage { keys: 3, collateral: 0 },
				TermRefusal::TooManyDelegateKeys,
			),
			(
				1,
				request(&3),
				DelegateUsage { keys: 1, collateral: 151 },
				TermRefusal::TotalCollateralAboveTerms,
			),
		];
		for (now, request, usage, refusal) in cases {
			assert_eq!(terms.check_key(now, request, &usage), Err(refusal), "{refusal:?}");
		}
	}

	#[test]
	fn a_key_may_not_outlive_the_authorization() {
		let usage = DelegateUsage { keys: 0, collateral: 0 };
		// Ends at 90: a 50-block key from block 40 expires at 90, one from 41 at 91.
		assert_eq!(terms().check_key(40, request(&3), &usage), Ok(()));
		assert_eq!(
			terms().check_key(41, request(&3), &usage),
			Err(TermRefusal::DurationAboveTerms)
		);
	}

	#[test]
	fn a_rotation_does_not_count_as_a_new_key() {
		let usage = DelegateUsage { keys: 3, collateral: 0 };
		let rotation = KeyRequest { collateral: 0, new_key: false, ..request(&3) };
		assert_eq!(terms().check_key(1, rotation, &usage), Ok(()));
	}

	#[test]
	fn top_ups_are_bounded_per_key_and_in_total_without_overflow() {
		let terms = terms();
		let usage = DelegateUsage { keys: 2, collateral: 200 };
		assert_eq!(terms.check_top_up(1, &3, 60, 40, &usage), Ok(()));
		assert_eq!(
			terms.check_top_up(1, &3, 60, 41, &usage),
			Err(TermRefusal::CollateralAboveTerms)
		);
		assert_eq!(
			terms.check_top_up(1, &3, 0, 51, &usage),
			Err(TermRefusal::TotalCollateralAboveTerms)
		);
		assert_eq!(
			terms.check_top_up(1, &5, 0, 1, &usage),
			Err(TermRefusal::CounterpartNotAllowed)
		);
		let full = DelegateUsage { keys: 1, collateral: u64::MAX };
		assert_eq!(
			terms.check_added_collateral(&full, 1),
			Err(TermRefusal::TotalCollateralAboveTerms)
		);
		assert_eq!(terms.check_top_up(90, &3, 0, 1, &usage), Err(TermRefusal::Ended));
		// Adding nothing passes a total the owner lowered below what is held.
		assert_eq!(terms.check_added_collateral(&full, 0), Ok(()));
	}

	#[test]
	fn terms_without_an_end_never_end() {
		let terms = DelegateTerms { ends_at: None, ..terms() };
		assert!(terms.is_in_force_at(u32::MAX));
	}
}
