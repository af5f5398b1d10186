//! Storage version 0 to 1: the closing window and delayed limit decreases.
//!
//! A v0 session ended in the `on_initialize` of its expiry block and had no pending limit. A v1
//! session stays closing for the challenge period after its expiry, so this migration gives
//! every session `settles_at = expires_at + challenge period`, `revoked: false` (v0 settled a
//! revoked key at once, so none is waiting) and no pending limit, and moves its queue entry from
//! `expires_at` to `settles_at`. Retired records, holds and owners' indexes are unchanged.
//!
//! It runs in one block: every session is read and written once, with two queue writes and an
//! agenda write. That suits the chains running v0 (development and test networks); a chain with
//! a large v0 state would run it as a multi-block migration instead.

use codec::{Decode, Encode, MaxEncodedLen};
use core::marker::PhantomData;
use frame_support::{
	migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
};
use scale_info::TypeInfo;
use sp_runtime::traits::Saturating;

use crate::{
	migrations::v3::v2::{RegistrationV2, Sessions},
	Config, ExpiryQueue, Pallet,
};

#[cfg(feature = "try-runtime")]
use alloc::vec::Vec;

/// The storage layout of version 0.
pub mod v0 {
	use super::*;
	use crate::{BalanceOf, ChannelState, DescriptionOf, ScopeOf};
	use frame_system::pallet_prelude::BlockNumberFor;

	/// A v0 session: a v1 registration without `settles_at`, `revoked` and `pending_limit`.
	#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
	pub struct SessionV0<AccountId, Balance, BlockNumber, Description, Scope> {
		/// The owner.
		pub owner: AccountId,
		/// The counterpart.
		pub counterpart: AccountId,
		/// The registration block.
		pub registered_at: BlockNumber,
		/// The expiry block, where v0 queued the key.
		pub expires_at: BlockNumber,
		/// The term's length.
		pub duration: BlockNumber,
		/// The spending limit.
		pub spending_limit: Balance,
		/// Held collateral.
		pub collateral: Balance,
		/// Held deposit.
		pub deposit: Balance,
		/// The description.
		pub description: Description,
		/// The scope.
		pub scope: Scope,
		/// The last checkpoint.
		pub state: ChannelState<Balance>,
	}

	/// A v0 session of runtime `T`.
	pub type SessionV0Of<T> = SessionV0<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		BlockNumberFor<T>,
		DescriptionOf<T>,
		ScopeOf<T>,
	>;

	/// v0's `Sessions` map: `pre_upgrade` counts it, and tests write v0 state into it.
	#[cfg(any(test, feature = "try-runtime"))]
	#[frame_support::storage_alias]
	pub(crate) type Sessions<T: Config> =
		StorageMap<Pallet<T>, Blake2_128Concat, crate::SessionPublic, SessionV0Of<T>, OptionQuery>;
}

/// The migration's work, without the version check; use [`MigrateV0ToV1`].
pub struct InnerMigrateV0ToV1<T>(PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV0ToV1<T> {
	fn on_runtime_upgrade() -> Weight {
		let period = Pallet::<T>::challenge_period();
		let mut migrated = 0u64;
		Sessions::<T>::translate::<v0::SessionV0Of<T>, _>(|public, old| {
			migrated += 1;
			ExpiryQueue::<T>::remove(old.expires_at, public);
			// v1 had no per-block cap: it is version 2's, and its migration counts the queues.
			let settles_at = old.expires_at.saturating_add(period);
			ExpiryQueue::<T>::insert(settles_at, public, ());
			crate::migrations::v2::v1::ExpiryAgenda::<T>::mutate(settles_at, |mark| {
				mark.get_or_insert_with(Default::default);
			});
			Some(RegistrationV2 {
				owner: old.owner,
				counterpart: old.counterpart,
				registered_at: old.registered_at,
				expires_at: old.expires_at,
				settles_at,
				revoked: false,
				duration: old.duration,
				spending_limit: old.spending_limit,
				pending_limit: None,
				collateral: old.collateral,
				deposit: old.deposit,
				description: old.description,
				scope: old.scope,
				state: old.state,
			})
		});
		// Per session: the session read and written, the old queue entry removed, the new one
		// written, and the agenda mark read and written. Plus the override read once.
		T::DbWeight::get().reads_writes(2 * migrated + 1, 4 * migrated)
	}

	#[cfg(feature = "try-runtime")]
	fn pre_upgrade() -> Result<Vec<u8>, sp_runtime::TryRuntimeError> {
		Ok((v0::Sessions::<T>::iter_keys().count() as u64).encode())
	}

	#[cfg(feature = "try-runtime")]
	fn post_upgrade(state: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
		let before = u64::decode(&mut &state[..])
			.map_err(|_| sp_runtime::TryRuntimeError::Other("pre_upgrade state"))?;
		let period = Pallet::<T>::challenge_period();
		let mut after = 0u64;
		for (public, session) in Sessions::<T>::iter() {
			after += 1;
			ensure!(
				session.settles_at == session.expires_at.saturating_add(period),
				"a migrated session does not settle one challenge period after its expiry"
			);
			ensure!(
				ExpiryQueue::<T>::contains_key(session.settles_at, public),
				"a migrated session is not queued at its settlement block"
			);
		}
		ensure!(before == after, "the migration lost or added sessions");
		Ok(())
	}
}

/// Migrates the adjudicator from storage version 0 to 1, once: a runtime lists it in its
/// migrations, and it does nothing on a chain already at version 1.
pub type MigrateV0ToV1<T> = VersionedMigration<
	0,
	1,
	InnerMigrateV0ToV1<T>,
	Pallet<T>,
	<T as frame_system::Config>::DbWeight,
>;
