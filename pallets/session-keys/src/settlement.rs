//! Every ending of a session, in one place: closing (revocation), settlement at once (discontinue,
//! liquidation) or at `settles_at` (from the expiry queue in `on_initialize`), and retirement.
//!
//! Settlement pays the counterpart the last checkpointed `owed` out of the held collateral (never
//! more than the collateral), burns the record fee from the deposit, returns the rest of both to
//! the owner, and writes the retired record that is kept forever.

use codec::MaxEncodedLen;
use frame_support::{
	defensive,
	traits::{
		fungible::{Mutate, MutateHold},
		tokens::{Fortitude, Precision, Preservation, Restriction},
		Get,
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::{
	traits::{Saturating, Zero},
	DispatchError,
};

use crate::{
	BalanceOf, Config, EndReason, Error, Event, HoldReason, OwnerSessions, Pallet, RegistrationOf,
	RetiredOf, RetiredSession, SessionPublic, Sessions,
};

/// Bytes of storage key a retired record takes besides the key itself: the pallet and storage
/// prefixes (16 bytes each) and the `Blake2_128Concat` hash (16 bytes).
const RETIRED_KEY_OVERHEAD: usize = 48;

/// What a settlement moved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Amounts<Balance> {
	/// Collateral paid to the counterpart.
	pub paid: Balance,
	/// Collateral returned to the owner.
	pub collateral: Balance,
	/// Deposit returned to the owner.
	pub deposit: Balance,
	/// Deposit burned for the retired record.
	pub record_fee: Balance,
}

impl<T: Config> Pallet<T> {
	/// Bytes a retired record takes in the state forever: its full storage key and the most its
	/// value can encode to.
	pub fn retired_record_bytes() -> u32 {
		(RETIRED_KEY_OVERHEAD
			+ SessionPublic::max_encoded_len()
			+ RetiredOf::<T>::max_encoded_len()) as u32
	}

	/// The part of a session's deposit that is not returned when it ends: the price of its
	/// retired record, `RecordFeePerByte * retired_record_bytes()`.
	pub fn record_fee() -> BalanceOf<T> {
		T::RecordFeePerByte::get().saturating_mul(Self::retired_record_bytes().into())
	}

	/// Closes a live session now, as the owner's revocation: the key expires in this block and
	/// the session settles `period` blocks later.
	pub(crate) fn close(
		public: SessionPublic,
		mut session: RegistrationOf<T>,
		now: BlockNumberFor<T>,
		period: BlockNumberFor<T>,
	) {
		let settles_at = now.saturating_add(period);
		Self::reschedule(&public, session.settles_at, settles_at);
		session.expires_at = now;
		session.settles_at = settles_at;
		session.revoked = true;
		Sessions::<T>::insert(public, session);
		Self::deposit_event(Event::SessionClosing {
			public,
			reason: EndReason::Revoked,
			settles_at,
		});
	}

	/// Settles a live or closing session in this block (discontinue, liquidation): unindexes
	/// and unqueues it, then settles and retires it. A closing key stays recorded as invalid
	/// from its expiry on.
	pub(crate) fn conclude_now(
		public: SessionPublic,
		session: RegistrationOf<T>,
		reason: EndReason,
	) {
		Self::unindex(&session.owner, &public);
		Self::unschedule(&public, session.settles_at);
		Sessions::<T>::remove(public);
		let now = frame_system::Pallet::<T>::block_number();
		let ended_at = now.min(session.expires_at);
		Self::settle_and_retire(public, session, reason, ended_at);
	}

	/// Removes `public` from its owner's key list.
	pub(crate) fn unindex(owner: &T::AccountId, public: &SessionPublic) {
		OwnerSessions::<T>::mutate_exists(owner, |keys| {
			if let Some(list) = keys {
				list.retain(|k| k != public);
				if list.is_empty() {
					*keys = None;
				}
			}
		});
	}

	/// Settles a session already removed from the session set and its indexes: pays the
	/// counterpart, burns the record fee, returns the rest to the owner and retires the key.
	pub(crate) fn settle_and_retire(
		public: SessionPublic,
		session: RegistrationOf<T>,
		reason: EndReason,
		ended_at: BlockNumberFor<T>,
	) {
		let owed = session.state.owed.min(session.collateral);
		let paid = Self::pay_counterpart(&session, owed);
		let rest = session.collateral.saturating_sub(paid);
		let record_fee = Self::burn_held(&session.owner, Self::record_fee().min(session.deposit));
		let deposit_due = session.deposit.saturating_sub(record_fee);
		let released = Self::release(&session.owner, rest.saturating_add(deposit_due));
		// Only a defensive shortfall makes these differ from `rest` and `deposit_due`.
		let deposit = released.min(deposit_due);
		let collateral = released.saturating_sub(deposit);
		let amounts = Amounts { paid, collateral, deposit, record_fee };
		Self::retire(public, &session, reason, ended_at, amounts);
	}

	/// Burns the record fee of a key retired without settlement (rotation) from the owner's
	/// free balance, as its deposit moves on to the new key.
	pub(crate) fn burn_record_fee(owner: &T::AccountId) -> Result<BalanceOf<T>, DispatchError> {
		let fee = Self::record_fee();
		if fee.is_zero() {
			return Ok(fee);
		}
		T::Currency::burn_from(
			owner,
			fee,
			Preservation::Preserve,
			Precision::Exact,
			Fortitude::Polite,
		)
		.map_err(|_| Error::<T>::InsufficientBalance.into())
	}

	/// Moves `amount` of the session's held collateral to the counterpart; returns what
	/// moved. A payment the counterpart's account cannot receive (below the existential
	/// deposit of a reaped account) stays with the owner.
	fn pay_counterpart(session: &RegistrationOf<T>, amount: BalanceOf<T>) -> BalanceOf<T> {
		if amount.is_zero() {
			return amount;
		}
		T::Currency::transfer_on_hold(
			&HoldReason::Session.into(),
			&session.owner,
			&session.counterpart,
			amount,
			Precision::Exact,
			Restriction::Free,
			Fortitude::Force,
		)
		.unwrap_or_else(|_| Zero::zero())
	}

	/// Burns `amount` of the owner's session hold; returns what was burned.
	fn burn_held(who: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
		if amount.is_zero() {
			return amount;
		}
		T::Currency::burn_held(
			&HoldReason::Session.into(),
			who,
			amount,
			Precision::BestEffort,
			Fortitude::Force,
		)
		.unwrap_or_else(|e| {
			defensive!("burning the record fee from a session hold failed", e);
			Zero::zero()
		})
	}

	/// Releases `amount` of the owner's session hold; returns what was released.
	fn release(who: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
		if amount.is_zero() {
			return amount;
		}
		match T::Currency::release(&HoldReason::Session.into(), who, amount, Precision::BestEffort)
		{
			Ok(released) => {
				if released != amount {
					defensive!("released less than the session held");
				}
				released
			}
			Err(e) => {
				defensive!("releasing a session hold failed", e);
				Zero::zero()
			}
		}
	}

	/// Writes the retired record and emits `SessionEnded`.
	pub(crate) fn retire(
		public: SessionPublic,
		session: &RegistrationOf<T>,
		reason: EndReason,
		ended_at: BlockNumberFor<T>,
		amounts: Amounts<BalanceOf<T>>,
	) {
		crate::Retired::<T>::insert(
			public,
			RetiredSession {
				owner: session.owner.clone(),
				counterpart: session.counterpart.clone(),
				registered_at: session.registered_at,
				ended_at,
				reason,
				nonce: session.state.nonce,
				owed: session.state.owed,
			},
		);
		Self::deposit_event(Event::SessionEnded {
			public,
			owner: session.owner.clone(),
			counterpart: session.counterpart.clone(),
			reason,
			ended_at,
			paid_to_counterpart: amounts.paid,
			collateral_released: amounts.collateral,
			deposit_released: amounts.deposit,
			record_fee: amounts.record_fee,
		});
	}
}
