//! Storage version 2 to 3: registrations and retired records name the delegate that registered
//! the key.
//!
//! Version 3 adds bounded delegation: an owner authorizes a delegate with terms
//! (`Delegations`), and each key records the delegate that made it, if any, so that the
//! delegate's running totals (`DelegateUsages`) and the audit trail can be kept. Every key
//! registered before version 3 was registered by its owner (or a proxy acting as the owner), so
//! the migration writes `delegate: None` into every session. Retired records gain
//! `delegate: None` too, but not here: the set only grows, so the multi-block migration
//! [`crate::migrations::retired`] rewrites them after the upgrade. The new maps start empty.
//! Holds, queues and owners' indexes are unchanged.
//!
//! It runs in one block, reading and writing every session once. That suits the chains running
//! version 2 (development and test networks); a chain with many live sessions would run it as a
//! multi-block migration instead.

use codec::{Decode, Encode, MaxEncodedLen};
use core::marker::PhantomData;
use frame_support::{
	migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
};
use scale_info::TypeInfo;

use crate::{Config, Pallet, Registration, Sessions};

#[cfg(feature = "try-runtime")]
use alloc::vec::Vec;

/// The storage layout of versions 1 and 2 that version 3 changed.
pub mod v2 {
	use super::*;
	use crate::{BalanceOf, ChannelState, DescriptionOf, EndReason, PendingLimit, ScopeOf};
	use frame_system::pallet_prelude::BlockNumberFor;

	/// A v2 registration: no `delegate`.
	#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
	pub struct RegistrationV2<AccountId, Balance, BlockNumber, Description, Scope> {
		/// The owner.
		pub owner: AccountId,
		/// The counterpart.
		pub counterpart: AccountId,
		/// The first valid block.
		pub registered_at: BlockNumber,
		/// The first invalid block.
		pub expires_at: BlockNumber,
		/// The settlement block.
		pub settles_at: BlockNumber,
		/// Whether the owner revoked the key.
		pub revoked: bool,
		/// The term length.
		pub duration: BlockNumber,
		/// The spending limit.
		pub spending_limit: Balance,
		/// A pending decrease.
		pub pending_limit: Option<PendingLimit<Balance, BlockNumber>>,
		/// The collateral held.
		pub collateral: Balance,
		/// The deposit held.
		pub deposit: Balance,
		/// What the key is for.
		pub description: Description,
		/// What it may access.
		pub scope: Scope,
		/// The last checkpointed state.
		pub state: ChannelState<Balance>,
	}

	/// A v2 registration of runtime `T`.
	pub type RegistrationV2Of<T> = RegistrationV2<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		BlockNumberFor<T>,
		DescriptionOf<T>,
		ScopeOf<T>,
	>;

	/// A v2 retired record: no `delegate`.
	#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
	pub struct RetiredV2<AccountId, BlockNumber, Balance> {
		/// The owner.
		pub owner: AccountId,
		/// The counterpart.
		pub counterpart: AccountId,
		/// The first valid block.
		pub registered_at: BlockNumber,
		/// The first invalid block.
		pub ended_at: BlockNumber,
		/// Why it ended.
		pub reason: EndReason,
		/// The last checkpointed nonce.
		pub nonce: u64,
		/// What was owed.
		pub owed: Balance,
		/// What was paid.
		pub paid: Balance,
	}

	impl<AccountId, BlockNumber, Balance> From<RetiredV2<AccountId, BlockNumber, Balance>>
		for crate::RetiredSession<AccountId, BlockNumber, Balance>
	{
		/// No key of version 2 had a delegate.
		fn from(old: RetiredV2<AccountId, BlockNumber, Balance>) -> Self {
			Self {
				owner: old.owner,
				counterpart: old.counterpart,
				delegate: None,
				registered_at: old.registered_at,
				ended_at: old.ended_at,
				reason: old.reason,
				nonce: old.nonce,
				owed: old.owed,
				paid: old.paid,
			}
		}
	}

	/// A v2 retired record of runtime `T`.
	pub type RetiredV2Of<T> =
		RetiredV2<<T as frame_system::Config>::AccountId, BlockNumberFor<T>, BalanceOf<T>>;

	/// The `Sessions` map of versions 1 and 2: their migrations write it.
	#[frame_support::storage_alias]
	pub(crate) type Sessions<T: Config> = StorageMap<
		Pallet<T>,
		Blake2_128Concat,
		crate::SessionPublic,
		RegistrationV2Of<T>,
		OptionQuery,
	>;

	/// The `Retired` map of version 2: tests write version 2 records into it.
	#[cfg(test)]
	#[frame_support::storage_alias]
	pub(crate) type Retired<T: Config> =
		StorageMap<Pallet<T>, Blake2_128Concat, crate::SessionPublic, RetiredV2Of<T>, OptionQuery>;
}

/// The migration's work, without the version check; use [`MigrateV2ToV3`].
pub struct InnerMigrateV2ToV3<T>(PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV2ToV3<T> {
	fn on_runtime_upgrade() -> Weight {
		let mut sessions = 0u64;
		Sessions::<T>::translate::<v2::RegistrationV2Of<T>, _>(|_, old| {
			sessions += 1;
			Some(Registration {
				owner: old.owner,
				counterpart: old.counterpart,
				delegate: None,
				registered_at: old.registered_at,
				expires_at: old.expires_at,
				settles_at: old.settles_at,
				revoked: old.revoked,
				duration: old.duration,
				spending_limit: old.spending_limit,
				pending_limit: old.pending_limit,
				collateral: old.collateral,
				deposit: old.deposit,
				description: old.description,
				scope: old.scope,
				state: old.state,
			})
		});
		// Retired records are left to `migrations::retired`, over as many blocks as it takes.
		T::DbWeight::get().reads_writes(sessions, sessions)
	}

	#[cfg(feature = "try-runtime")]
	fn pre_upgrade() -> Result<Vec<u8>, sp_runtime::TryRuntimeError> {
		Ok((v2::Sessions::<T>::iter_values().count() as u64).encode())
	}

	#[cfg(feature = "try-runtime")]
	fn post_upgrade(state: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
		let sessions = u64::decode(&mut &state[..])
			.map_err(|_| sp_runtime::TryRuntimeError::Other("pre_upgrade state"))?;
		ensure!(Sessions::<T>::iter_values().count() as u64 == sessions, "sessions lost");
		ensure!(
			Sessions::<T>::iter_values().all(|s| s.delegate.is_none()),
			"a migrated session names a delegate"
		);
		// Retired records may still be in older layouts: `try_state` reads them in any.
		Pallet::<T>::do_try_state(frame_system::Pallet::<T>::block_number())
	}
}

/// Migrates the adjudicator from storage version 2 to 3, once: a runtime lists it after
/// [`crate::migrations::v2::MigrateV1ToV2`], and it does nothing on a chain already at version 3.
pub type MigrateV2ToV3<T> = VersionedMigration<
	2,
	3,
	InnerMigrateV2ToV3<T>,
	Pallet<T>,
	<T as frame_system::Config>::DbWeight,
>;
