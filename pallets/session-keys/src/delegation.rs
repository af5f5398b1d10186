//! Bounded delegation, the pallet's side: who may act on a key (its owner, or the delegate that
//! made it while the owner's authorization stands), the running totals the owner's terms bound,
//! and the authorization's deposit.
//!
//! The rule that checks a request against the terms is
//! [`DelegateTerms::check_key`](session_keys_primitives::DelegateTerms::check_key), shared with
//! off-chain tools; this module only reads and writes what it needs.

use codec::Encode;
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::Saturating;

use crate::{
	AuthorizationOf, BalanceOf, Config, DelegateTermsOf, DelegateUsageOf, DelegateUsages,
	Delegations, Error, Pallet, RegistrationOf, TermRefusal,
};

/// Who acts on a key.
pub(crate) enum Actor<T: Config> {
	/// The key's owner.
	Owner,
	/// The delegate that registered the key, under an authorization in force.
	Delegate {
		/// The delegate's account.
		delegate: T::AccountId,
		/// The owner's authorization of it.
		authorization: AuthorizationOf<T>,
	},
}

impl<T: Config> Pallet<T> {
	/// Who `who` is to `session` at `now`: its owner, or the delegate that made it with the
	/// owner's authorization still in force (`NotDelegate` once revoked, `DelegationEnded`
	/// after its end block); anyone else is `NotOwner`.
	pub(crate) fn actor(
		session: &RegistrationOf<T>,
		who: &T::AccountId,
		now: BlockNumberFor<T>,
	) -> Result<Actor<T>, Error<T>> {
		if &session.owner == who {
			return Ok(Actor::Owner);
		}
		if session.delegate.as_ref() == Some(who) {
			let authorization = Self::authorization_in_force(&session.owner, who, now)?;
			return Ok(Actor::Delegate { delegate: who.clone(), authorization });
		}
		Err(Error::<T>::NotOwner)
	}

	/// The authorization `owner` gave `delegate`, if it is in force at `now`.
	pub(crate) fn authorization_in_force(
		owner: &T::AccountId,
		delegate: &T::AccountId,
		now: BlockNumberFor<T>,
	) -> Result<AuthorizationOf<T>, Error<T>> {
		let authorization =
			Delegations::<T>::get(owner, delegate).ok_or(Error::<T>::NotDelegate)?;
		frame_support::ensure!(
			authorization.terms.is_in_force_at(now),
			Error::<T>::DelegationEnded
		);
		Ok(authorization)
	}

	/// What the live and closing keys `delegate` made for `owner` hold.
	pub(crate) fn delegate_usage(
		owner: &T::AccountId,
		delegate: &T::AccountId,
	) -> DelegateUsageOf<T> {
		DelegateUsages::<T>::get(owner, delegate).unwrap_or_default()
	}

	/// Counts a new key of `delegate`'s holding `collateral`.
	pub(crate) fn count_delegate_key(
		owner: &T::AccountId,
		delegate: &T::AccountId,
		collateral: BalanceOf<T>,
	) {
		DelegateUsages::<T>::mutate(owner, delegate, |usage| {
			usage.get_or_insert_with(Default::default).add_key(collateral)
		});
	}

	/// Adds `amount` to the collateral `delegate`'s keys hold.
	pub(crate) fn count_delegate_collateral(
		owner: &T::AccountId,
		delegate: &T::AccountId,
		amount: BalanceOf<T>,
	) {
		DelegateUsages::<T>::mutate(owner, delegate, |usage| {
			usage.get_or_insert_with(Default::default).collateral.saturating_accrue(amount)
		});
	}

	/// Forgets a key of `delegate`'s that ended holding `collateral`; the record goes with its
	/// last key.
	pub(crate) fn uncount_delegate_key(
		owner: &T::AccountId,
		delegate: &T::AccountId,
		collateral: BalanceOf<T>,
	) {
		DelegateUsages::<T>::mutate_exists(owner, delegate, |usage| {
			if let Some(counted) = usage {
				counted.remove_key(collateral);
				if counted.is_empty() {
					*usage = None;
				}
			}
		});
	}

	/// The storage deposit for an authorization with `terms`: `DepositBase` and `DepositPerByte`
	/// for each byte of the terms, the scale of a registration's deposit.
	pub fn authorization_deposit(terms: &DelegateTermsOf<T>) -> BalanceOf<T> {
		Self::deposit_for_bytes(terms.encoded_size())
	}

	/// The pallet's error for the term that refused a delegate's request.
	pub(crate) fn term_error(refusal: TermRefusal) -> Error<T> {
		match refusal {
			TermRefusal::Ended => Error::<T>::DelegationEnded,
			TermRefusal::CounterpartNotAllowed => Error::<T>::CounterpartNotAllowed,
			TermRefusal::CollateralAboveTerms => Error::<T>::CollateralAboveTerms,
			TermRefusal::SpendingLimitAboveTerms => Error::<T>::SpendingLimitAboveTerms,
			TermRefusal::DurationAboveTerms => Error::<T>::DurationAboveTerms,
			TermRefusal::TooManyDelegateKeys => Error::<T>::TooManyDelegateKeys,
			TermRefusal::TotalCollateralAboveTerms => Error::<T>::TotalCollateralAboveTerms,
		}
	}
}
