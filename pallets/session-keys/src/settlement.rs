//! Every ending of a session, in one place: closing (revocation), settlement at once (discontinue,
//! liquidation) or at `settles_at` (from the expiry queue in `on_initialize`), and retirement.
//!
//! Settlement pays the counterpart the last checkpointed `owed` out of the held collateral (never
//! more than the collateral), burns the record fee from the deposit, returns the rest of both to
//! the owner, and writes the retired record that is kept forever, with what was owed and what
//! was paid. Each settlement runs in a storage layer of its own and handles every error: a
//! counterpart that cannot be paid, or a debt above the collateral, is a shortfall the record
//! and the `SettlementShortfall` event name (a payment the counterpart cannot receive stays held
//! from the owner for the counterpart to claim, see [`crate::HeldPayments`]); a hold that cannot be burned or released fails the
//! settlement and changes nothing.

use codec::MaxEncodedLen;
use frame_support::{
	defensive,
	dispatch::DispatchResult,
	storage::with_storage_layer,
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
	BalanceOf, Config, EndReason, Error, Event, HeldPayment, HoldReason, OwnerSessions, Pallet,
	RegistrationOf, RetiredOf, RetiredSession, SessionPublic, Sessions, Shortfall,
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
	/// retired record, kept forever, at no less than what a deposit charges for a record of
	/// its size: `DepositBase + RecordFeePerByte * retired_record_bytes()` (an item and its
	/// bytes; `RecordFeePerByte >= DepositPerByte`, checked in `integrity_test`).
	pub fn record_fee() -> BalanceOf<T> {
		T::DepositBase::get().saturating_add(
			T::RecordFeePerByte::get().saturating_mul(Self::retired_record_bytes().into()),
		)
	}

	/// Closes a live session now, as the owner's revocation: the key expires in this block and
	/// the session settles `period` blocks later (or in the first later block with room, or,
	/// with none in reach, where it was queued before).
	/// Returns the agenda marks read to place it.
	pub(crate) fn close(
		public: SessionPublic,
		mut session: RegistrationOf<T>,
		now: BlockNumberFor<T>,
		period: BlockNumberFor<T>,
	) -> u32 {
		Self::unschedule(&public, session.settles_at);
		let placement =
			Self::schedule_closing(&public, now.saturating_add(period), session.settles_at);
		session.expires_at = now;
		session.settles_at = placement.at;
		session.revoked = true;
		Sessions::<T>::insert(public, session);
		Self::deposit_event(Event::SessionClosing {
			public,
			reason: EndReason::Revoked,
			settles_at: placement.at,
		});
		placement.probes
	}

	/// Settles a live or closing session in this block as its counterpart ends it (discontinue,
	/// liquidation). A closing key stays recorded as invalid from its expiry on.
	pub(crate) fn conclude_now(
		public: SessionPublic,
		session: RegistrationOf<T>,
		reason: EndReason,
	) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let ended_at = now.min(session.expires_at);
		Self::conclude(public, session, reason, ended_at)
	}

	/// Settles a session and retires its key, in a storage layer of its own: unindexes and
	/// unqueues it (and uncounts it from its delegate's totals), pays the counterpart, burns the record fee, returns the rest to the owner and
	/// writes the retired record. If a hold cannot be burned or released nothing changes and
	/// the error is returned. A counterpart that cannot be paid is not an error: the shortfall
	/// is recorded ([`Event::SettlementShortfall`]).
	pub(crate) fn conclude(
		public: SessionPublic,
		session: RegistrationOf<T>,
		reason: EndReason,
		ended_at: BlockNumberFor<T>,
	) -> DispatchResult {
		with_storage_layer(|| {
			Self::unindex(&session.owner, &public);
			Self::unschedule(&public, session.settles_at);
			if let Some(delegate) = &session.delegate {
				Self::uncount_delegate_key(&session.owner, delegate, session.collateral);
			}
			Sessions::<T>::remove(public);
			Self::settle_and_retire(public, session, reason, ended_at)
		})
	}

	/// Makes room in `owner`'s full key index by settling one of its keys whose settlement
	/// block has passed (it waits in the carried-over backlog): such keys no longer count
	/// against `MaxKeysPerOwner`. `Ok(false)` when the index had room, `Ok(true)` when a key
	/// was settled, `TooManyKeys` when every key is live or within its window.
	pub(crate) fn make_room(
		owner: &T::AccountId,
		now: BlockNumberFor<T>,
	) -> Result<bool, DispatchError> {
		let keys = OwnerSessions::<T>::get(owner);
		if (keys.len() as u32) < T::MaxKeysPerOwner::get() {
			return Ok(false);
		}
		for public in keys {
			let Some(session) = Sessions::<T>::get(public) else {
				defensive!("a key in OwnerSessions has no session");
				continue;
			};
			if session.settles_at <= now {
				let (reason, ended_at) = (session.closing_reason(), session.expires_at);
				Self::conclude(public, session, reason, ended_at)?;
				return Ok(true);
			}
		}
		Err(Error::<T>::TooManyKeys.into())
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
	/// counterpart `min(owed, collateral)`, burns the record fee, returns the rest to the owner
	/// and retires the key.
	fn settle_and_retire(
		public: SessionPublic,
		session: RegistrationOf<T>,
		reason: EndReason,
		ended_at: BlockNumberFor<T>,
	) -> DispatchResult {
		let owed = session.state.owed;
		let due = owed.min(session.collateral);
		let paid = match Self::pay_held(&session.owner, &session.counterpart, due) {
			Ok(()) => due,
			Err(error) => {
				log::warn!(
					target: crate::LOG_TARGET,
					"settling {public:?}: the counterpart cannot receive {due:?} ({error:?}); \
					 it stays on hold for the counterpart to claim"
				);
				Zero::zero()
			}
		};
		let shortfall = if paid < due {
			Some(Shortfall::CounterpartCannotReceive)
		} else if due < owed {
			Some(Shortfall::CollateralShort)
		} else {
			None
		};
		// What the counterpart could not receive stays held from the owner, for the
		// counterpart: the owner never gets back what its key signed away.
		let held_for_counterpart = due.saturating_sub(paid);
		if !held_for_counterpart.is_zero() {
			crate::HeldPayments::<T>::insert(
				public,
				HeldPayment {
					owner: session.owner.clone(),
					counterpart: session.counterpart.clone(),
					amount: held_for_counterpart,
				},
			);
			Self::deposit_event(Event::PaymentHeld {
				public,
				counterpart: session.counterpart.clone(),
				amount: held_for_counterpart,
			});
		}
		let rest = session.collateral.saturating_sub(due);
		let record_fee = Self::record_fee().min(session.deposit);
		Self::burn_held(&session.owner, record_fee)?;
		let deposit = session.deposit.saturating_sub(record_fee);
		Self::release(&session.owner, rest.saturating_add(deposit))?;
		let amounts = Amounts { paid, collateral: rest, deposit, record_fee };
		Self::retire(public, &session, reason, ended_at, amounts);
		if let Some(reason) = shortfall {
			Self::deposit_event(Event::SettlementShortfall {
				public,
				counterpart: session.counterpart.clone(),
				owed,
				paid,
				reason,
			});
		}
		Ok(())
	}

	/// Burns the record fee of a key retired without settlement (rotation) from the free
	/// balance of `payer` (the owner, or the delegate that rotates), as the deposit moves on to
	/// the new key.
	pub(crate) fn burn_record_fee(payer: &T::AccountId) -> Result<BalanceOf<T>, DispatchError> {
		let fee = Self::record_fee();
		if fee.is_zero() {
			return Ok(fee);
		}
		T::Currency::burn_from(
			payer,
			fee,
			Preservation::Preserve,
			Precision::Exact,
			Fortitude::Polite,
		)
		.map_err(|_| Error::<T>::InsufficientBalance.into())
	}

	/// Moves `amount` of `owner`'s session hold to `counterpart`, all or nothing (in a storage
	/// layer of its own, so a refused payment leaves no trace).
	pub(crate) fn pay_held(
		owner: &T::AccountId,
		counterpart: &T::AccountId,
		amount: BalanceOf<T>,
	) -> DispatchResult {
		if amount.is_zero() {
			return Ok(());
		}
		with_storage_layer(|| {
			T::Currency::transfer_on_hold(
				&HoldReason::Session.into(),
				owner,
				counterpart,
				amount,
				Precision::Exact,
				Restriction::Free,
				Fortitude::Force,
			)
			.map(|_| ())
		})
	}

	/// Burns exactly `amount` of the owner's session hold.
	fn burn_held(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		if amount.is_zero() {
			return Ok(());
		}
		T::Currency::burn_held(
			&HoldReason::Session.into(),
			who,
			amount,
			Precision::Exact,
			Fortitude::Force,
		)
		.map(|_| ())
	}

	/// Releases exactly `amount` of the owner's session hold.
	fn release(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		if amount.is_zero() {
			return Ok(());
		}
		T::Currency::release(&HoldReason::Session.into(), who, amount, Precision::Exact).map(|_| ())
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
				delegate: session.delegate.clone(),
				registered_at: session.registered_at,
				ended_at,
				reason,
				nonce: session.state.nonce,
				owed: session.state.owed,
				paid: amounts.paid,
			},
		);
		Self::deposit_event(Event::SessionEnded {
			public,
			owner: session.owner.clone(),
			counterpart: session.counterpart.clone(),
			delegate: session.delegate.clone(),
			reason,
			ended_at,
			owed: session.state.owed,
			paid_to_counterpart: amounts.paid,
			collateral_released: amounts.collateral,
			deposit_released: amounts.deposit,
			record_fee: amounts.record_fee,
		});
	}
}
