//! Storage version 1 to 2: per-block settlement counts and retired records that say what was
//! paid.
//!
//! Version 2 caps the keys due in one block at scheduling time, so each agenda mark counts the
//! keys queued in its block (`DueMark::queued`); this migration counts every marked block's
//! queue, and drops the marks left with no work (v1 kept a block's mark when its keys moved).
//! A v1 session with an empty scope could be used for every resource; version 2 reads an empty
//! scope as none, so the migration spells such a scope out as `*` and the key keeps what its
//! owner registered it for (its deposit, taken for the shorter scope, is left as it was), until
//! its expiry: such keys are listed in `LegacyWildcardKeys`, and neither renewed nor rotated,
//! so that no master key outlives the expiry it had at the upgrade.
//!
//! Retired records gain `paid` beside `owed` (`paid = owed`: version 1 never accepted a state
//! owing more than the collateral, and a payment its settlement dropped because the
//! counterpart could not receive it left no trace to recover). They are not rewritten here:
//! the set only grows, so the multi-block migration [`crate::migrations::retired`] rewrites
//! them after the upgrade. Holds and owners' indexes are unchanged.
//!
//! It runs in one block, reading every mark, queue entry and session once. That suits the
//! chains running version 1 (development and test networks); a chain with many live sessions
//! would run it as a multi-block migration instead.

use codec::{Decode, Encode, MaxEncodedLen};
use core::marker::PhantomData;
use frame_support::{
	migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
};
use scale_info::TypeInfo;

use crate::{
	migrations::v3::v2::Sessions, Config, DueMark, ExpiryAgenda, ExpiryQueue, LegacyWildcardKeys,
	Pallet,
};

#[cfg(feature = "try-runtime")]
use alloc::vec::Vec;

/// The storage layout of version 1 that version 2 changed.
pub mod v1 {
	use super::*;
	use frame_system::pallet_prelude::BlockNumberFor;

	/// A v1 agenda mark: no count.
	#[derive(Clone, Default, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
	pub struct DueMarkV1<BlockNumber> {
		/// The oldest earlier block whose queue was not fully drained, if any.
		pub carry_from: Option<BlockNumber>,
	}

	/// A v1 retired record: no `paid`.
	#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
	pub struct RetiredV1<AccountId, BlockNumber, Balance> {
		/// The owner.
		pub owner: AccountId,
		/// The counterpart.
		pub counterpart: AccountId,
		/// The first valid block.
		pub registered_at: BlockNumber,
		/// The first invalid block.
		pub ended_at: BlockNumber,
		/// Why it ended.
		pub reason: crate::EndReason,
		/// The last checkpointed nonce.
		pub nonce: u64,
		/// What was owed.
		pub owed: Balance,
	}

	impl<AccountId, BlockNumber, Balance: Clone> From<RetiredV1<AccountId, BlockNumber, Balance>>
		for crate::migrations::v3::v2::RetiredV2<AccountId, BlockNumber, Balance>
	{
		/// Version 1 never accepted a debt above the collateral: every settlement paid it all.
		fn from(old: RetiredV1<AccountId, BlockNumber, Balance>) -> Self {
			Self {
				owner: old.owner,
				counterpart: old.counterpart,
				registered_at: old.registered_at,
				ended_at: old.ended_at,
				reason: old.reason,
				nonce: old.nonce,
				paid: old.owed.clone(),
				owed: old.owed,
			}
		}
	}

	/// A v1 retired record of runtime `T`.
	pub type RetiredV1Of<T> =
		RetiredV1<<T as frame_system::Config>::AccountId, BlockNumberFor<T>, crate::BalanceOf<T>>;

	/// v1's `ExpiryAgenda`: the v0 to v1 migration writes it, and tests write v1 state into it.
	#[frame_support::storage_alias]
	pub(crate) type ExpiryAgenda<T: Config> = StorageMap<
		Pallet<T>,
		Twox64Concat,
		BlockNumberFor<T>,
		DueMarkV1<BlockNumberFor<T>>,
		OptionQuery,
	>;

	/// v1's `Retired`: tests write v1 records into it.
	#[cfg(test)]
	#[frame_support::storage_alias]
	pub(crate) type Retired<T: Config> =
		StorageMap<Pallet<T>, Blake2_128Concat, crate::SessionPublic, RetiredV1Of<T>, OptionQuery>;
}

/// The migration's work, without the version check; use [`MigrateV1ToV2`].
pub struct InnerMigrateV1ToV2<T>(PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV1ToV2<T> {
	fn on_runtime_upgrade() -> Weight {
		let (mut marks, mut entries) = (0u64, 0u64);
		ExpiryAgenda::<T>::translate::<v1::DueMarkV1<_>, _>(|at, old| {
			marks += 1;
			let queued = ExpiryQueue::<T>::iter_key_prefix(at).count() as u32;
			entries += u64::from(queued);
			// v1 left a block's mark when its keys moved away; version 2 drops such marks.
			let mark = DueMark { carry_from: old.carry_from, queued };
			(!mark.is_empty()).then_some(mark)
		});
		let (mut sessions, mut wildcards) = (0u64, 0u64);
		Sessions::<T>::translate::<crate::migrations::v3::v2::RegistrationV2Of<T>, _>(
			|public, mut session| {
				sessions += 1;
				if session.scope.is_empty() {
					// Only a runtime whose `MaxScopeItems` is zero has no room for it.
					let _ = session.scope.try_push(BoundedVec::truncate_from(b"*".to_vec()));
					LegacyWildcardKeys::<T>::insert(public, ());
					wildcards += 1;
				}
				Some(session)
			},
		);
		// Retired records are left to `migrations::retired`, over as many blocks as it takes.
		// Each mark read and written with its queue read; each session read (and written).
		T::DbWeight::get()
			.reads_writes(2 * marks + entries + sessions, marks + sessions + wildcards)
	}

	#[cfg(feature = "try-runtime")]
	fn pre_upgrade() -> Result<Vec<u8>, sp_runtime::TryRuntimeError> {
		Ok((Sessions::<T>::iter_keys().count() as u64).encode())
	}

	#[cfg(feature = "try-runtime")]
	fn post_upgrade(state: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
		let sessions = u64::decode(&mut &state[..])
			.map_err(|_| sp_runtime::TryRuntimeError::Other("pre_upgrade state"))?;
		ensure!(Sessions::<T>::iter().count() as u64 == sessions, "sessions lost");
		for (at, mark) in ExpiryAgenda::<T>::iter() {
			ensure!(
				mark.queued as usize == ExpiryQueue::<T>::iter_key_prefix(at).count(),
				"a mark does not count its block's queue"
			);
		}
		// The pallet's invariants are checked in the current layout, after the v2 to v3
		// migration that follows this one.
		Ok(())
	}
}

/// Migrates the adjudicator from storage version 1 to 2, once: a runtime lists it after
/// [`crate::migrations::v1::MigrateV0ToV1`], and it does nothing on a chain already at version 2.
pub type MigrateV1ToV2<T> = VersionedMigration<
	1,
	2,
	InnerMigrateV1ToV2<T>,
	Pallet<T>,
	<T as frame_system::Config>::DbWeight,
>;
