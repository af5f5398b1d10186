//! The pallet's invariants, checked by `try_state` and after every test step.
//!
//! 1. What the pallet holds from each owner (with a live or retired key) equals the sum of that
//!    owner's live sessions' collateral and deposits and of the payments held for counterparts
//!    that could not receive them; each held payment belongs to a retired key of that owner and
//!    counterpart, and is not zero.
//! 2. A key is in at most one record, live or retired; the owner index lists exactly the live
//!    keys, within `MaxKeysPerOwner`.
//! 3. Every live or closing session has exactly one queue entry, at its `settles_at`
//!    (`>= expires_at`), every queue entry is such a session, and a session whose `settles_at`
//!    has passed waits in the carried-over backlog.
//! 4. Every block after the current one with queued keys has its agenda mark, which counts
//!    exactly those keys; every mark has work. (Scheduling keeps counts within
//!    `MaxExpiriesPerBlock`, but a runtime upgrade that lowers it leaves fuller blocks, which the
//!    carry-over settles.)
//! 5. Every session's checkpointed `owed` is within the highest spending limit that applied
//!    when it was checkpointed (the stored limit, or the pending decrease once due, which never
//!    applies below `owed`); a pending decrease is below the stored limit. Owed and margin may
//!    exceed the collateral: the session is then liquidatable.
//! 6. Each delegate's running totals for an owner count exactly the live and closing keys it
//!    made for that owner and the collateral they hold; a key names a delegate only if such
//!    totals exist. What the pallet holds from each owner for authorizations equals their
//!    deposits.

use alloc::collections::btree_map::BTreeMap;
use frame_support::{
	ensure,
	storage::{PrefixIterator, StoragePrefixedMap},
	traits::fungible::InspectHold,
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::{
	traits::{One, Saturating, Zero},
	TryRuntimeError,
};

use crate::{
	migrations::retired::decode_record, BalanceOf, Config, DelegateUsageOf, DelegateUsages,
	Delegations, ExpiryAgenda, ExpiryQueue, HeldPayments, HoldReason, LegacyWildcardKeys,
	OwnerSessions, Pallet, Retired, Sessions,
};

impl<T: Config> Pallet<T> {
	/// Checks every invariant of the pallet at block `now` (after its `on_initialize`).
	pub fn do_try_state(now: BlockNumberFor<T>) -> Result<(), TryRuntimeError> {
		let backlog_from =
			ExpiryAgenda::<T>::get(now.saturating_add(One::one())).and_then(|mark| mark.carry_from);
		let mut owed_holds: BTreeMap<T::AccountId, (BalanceOf<T>, u32)> = BTreeMap::new();
		let mut delegate_usage: BTreeMap<(T::AccountId, T::AccountId), DelegateUsageOf<T>> =
			BTreeMap::new();

		for public in LegacyWildcardKeys::<T>::iter_keys() {
			ensure!(
				Sessions::<T>::contains_key(public) || Retired::<T>::contains_key(public),
				"a legacy wildcard key was never registered"
			);
		}
		for (public, session) in Sessions::<T>::iter() {
			ensure!(!Retired::<T>::contains_key(public), "a key is both live and retired");
			ensure!(
				ExpiryQueue::<T>::contains_key(session.settles_at, public),
				"a session is not queued at its settlement block"
			);
			ensure!(
				session.settles_at >= session.expires_at,
				"a session settles before it expires"
			);
			ensure!(
				OwnerSessions::<T>::get(&session.owner).contains(&public),
				"a live key is missing from its owner's index"
			);
			ensure!(
				session.state.owed <= session.spending_limit.max(session.limit_at(now)),
				"a session owes more than its spending limit"
			);
			ensure!(
				session.pending_limit.is_none_or(|pending| pending.limit < session.spending_limit),
				"a pending limit is not a decrease"
			);
			if session.settles_at <= now {
				ensure!(
					backlog_from.is_some_and(|from| from <= session.settles_at),
					"a session past its settlement block is outside the carried-over backlog"
				);
			}
			if let Some(delegate) = &session.delegate {
				delegate_usage
					.entry((session.owner.clone(), delegate.clone()))
					.or_default()
					.add_key(session.collateral);
			}
			let entry = owed_holds.entry(session.owner.clone()).or_insert((Zero::zero(), 0));
			entry.0.saturating_accrue(session.collateral.saturating_add(session.deposit));
			entry.1 += 1;
		}

		for (owner, keys) in OwnerSessions::<T>::iter() {
			let live = owed_holds.get(&owner).map_or(0, |(_, count)| *count);
			ensure!(keys.len() as u32 == live, "an owner's index lists keys that are not live");
		}

		// Owners whose sessions all ended must have nothing left on hold but what is held for
		// their counterparts. Records are read in any layout: the multi-block migration may not
		// have reached them yet.
		let prefix = Retired::<T>::final_prefix().to_vec();
		let records = PrefixIterator::<_>::new(prefix.clone(), prefix, |_, raw| {
			Ok(decode_record::<T>(raw).map(|(_, record)| record))
		});
		for record in records.flatten() {
			owed_holds.entry(record.owner).or_insert((Zero::zero(), 0));
		}
		for (public, held) in HeldPayments::<T>::iter() {
			let record =
				Pallet::<T>::retired(&public).ok_or("a held payment for a key not retired")?;
			ensure!(
				record.owner == held.owner && record.counterpart == held.counterpart,
				"a held payment names another owner or counterpart than its key's record"
			);
			ensure!(!held.amount.is_zero(), "a held payment of nothing");
			owed_holds
				.entry(held.owner)
				.or_insert((Zero::zero(), 0))
				.0
				.saturating_accrue(held.amount);
		}

		for (owner, (held, _)) in owed_holds {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::Session.into(), &owner) == held,
				"held funds differ from the owner's live collateral and deposits and held payments"
			);
		}

		Self::check_delegations(delegate_usage)?;

		let mut queued: BTreeMap<BlockNumberFor<T>, u32> = BTreeMap::new();
		for (at, public, ()) in ExpiryQueue::<T>::iter() {
			ensure!(
				Sessions::<T>::get(public).is_some_and(|s| s.settles_at == at),
				"a queue entry is not a session settling at that block"
			);
			if at > now {
				*queued.entry(at).or_default() += 1;
			}
		}
		for (at, count) in &queued {
			ensure!(
				ExpiryAgenda::<T>::get(at).is_some_and(|mark| mark.queued == *count),
				"a block with queued keys has no mark, or its mark miscounts them"
			);
		}
		for (at, mark) in ExpiryAgenda::<T>::iter() {
			ensure!(at > now, "a mark of a block whose on_initialize ran");
			ensure!(!mark.is_empty(), "a mark with no work");
			ensure!(
				mark.queued == queued.get(&at).copied().unwrap_or(0),
				"a mark counts keys its block does not queue"
			);
		}
		Ok(())
	}

	/// Invariant 6: the delegates' running totals equal what their keys hold (`counted`, from
	/// the sessions), and the authorizations' holds their deposits.
	fn check_delegations(
		counted: BTreeMap<(T::AccountId, T::AccountId), DelegateUsageOf<T>>,
	) -> Result<(), TryRuntimeError> {
		let mut stored = 0usize;
		for (owner, delegate, usage) in DelegateUsages::<T>::iter() {
			stored += 1;
			ensure!(!usage.is_empty(), "a delegate's totals are kept with no key left");
			ensure!(
				counted.get(&(owner, delegate)) == Some(&usage),
				"a delegate's totals differ from the keys it made and their collateral"
			);
		}
		ensure!(stored == counted.len(), "a delegate's keys are not counted in its totals");

		let mut deposits: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (owner, _, authorization) in Delegations::<T>::iter() {
			deposits
				.entry(owner)
				.or_insert_with(Zero::zero)
				.saturating_accrue(authorization.deposit);
		}
		for (owner, deposit) in deposits {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::Delegation.into(), &owner) == deposit,
				"an owner's authorization hold differs from the deposits of its authorizations"
			);
		}
		Ok(())
	}
}
