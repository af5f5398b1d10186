//! Retired records to the current layout, over as many blocks as it takes.
//!
//! `Retired` only grows: every settled key leaves its record there forever, so rewriting all of
//! them in the block of a runtime upgrade would take longer, the longer a chain has run, until
//! the block no longer fits. [`MigrateRetiredRecords`] is a multi-block migration instead
//! (a [`SteppedMigration`] that the runtime's pallet-migrations runs, one step a block within
//! the block's migration weight). It walks the map in storage-key order from its cursor, the raw
//! storage key of the last record done, and rewrites each record still in an older layout:
//!
//! - version 1 (no `paid`, no `delegate`): `paid = owed`, since version 1 never accepted a debt
//!   above the collateral (see [`crate::migrations::v2`]), and `delegate: None`;
//! - version 2 (no `delegate`): `delegate: None`, since every key before version 3 was
//!   registered by its owner (see [`crate::migrations::v3`]).
//!
//! Current records are left as they are, among them those that settlements write while the
//! migration runs (`on_initialize` runs on; transactions wait for the migration to end).
//!
//! The layouts are told apart by their length. The account, block number and balance types
//! encode to a fixed size, so a version 1 record is shorter than a version 2 one (by a
//! balance), which is shorter than a current one (by the `delegate` option's byte, and an
//! account if it names one); [`layouts_are_told_apart`] checks it for a runtime, and the
//! pallet's `integrity_test` asserts it. A record is decoded with `decode_all` (no byte left
//! over) as current first, then as version 2, then as version 1 ([`decode_record`]). A record
//! that is none of these is logged and left as it is, and the migration goes on.
//!
//! Until the migration has rewritten a record, the pallet's reads (`Pallet::retired`,
//! `Pallet::key_state`, `Pallet::is_valid_at` and `try_state`) decode it in whichever layout it
//! has, so the runtime API answers the same during the migration.

use alloc::vec::Vec;
use codec::{Decode, DecodeAll, Encode, MaxEncodedLen};
use core::marker::PhantomData;
use frame_support::{
	migrations::{MigrationId, SteppedMigration, SteppedMigrationError},
	storage::{unhashed, StoragePrefixedMap},
	traits::Get,
	weights::WeightMeter,
	BoundedVec,
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_core::hexdisplay::HexDisplay;
use sp_runtime::{
	traits::{Saturating, TrailingZeroInput, Zero},
	SaturatedConversion,
};

use crate::{
	migrations::{v2::v1::RetiredV1Of, v3::v2::RetiredV2Of},
	BalanceOf, Config, Retired, RetiredOf, SessionPublic, WeightInfo, LOG_TARGET,
};

/// The `pallet_id` part of this migration's identifier.
const MIGRATION_ID: &[u8; 20] = b"session-keys-retired";

/// The layout a stored retired record was found in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Layout {
	/// The current layout (storage version 3).
	Current,
	/// Storage version 2's: no `delegate`.
	V2,
	/// Storage version 1's: no `paid` and no `delegate`.
	V1,
}

/// Decodes a stored retired record in whichever layout it has, in the current layout: as
/// current first, then as version 2, then as version 1, each with `decode_all` (no byte left
/// over). `None` if it is none of them.
pub fn decode_record<T: Config>(raw: &[u8]) -> Option<(Layout, RetiredOf<T>)> {
	if let Ok(record) = RetiredOf::<T>::decode_all(&mut &raw[..]) {
		return Some((Layout::Current, record));
	}
	if let Ok(old) = RetiredV2Of::<T>::decode_all(&mut &raw[..]) {
		return Some((Layout::V2, old.into()));
	}
	let old = RetiredV1Of::<T>::decode_all(&mut &raw[..]).ok()?;
	Some((Layout::V1, RetiredV2Of::<T>::from(old).into()))
}

/// Whether the three layouts have different encoded lengths in runtime `T`, so that
/// [`decode_record`] cannot read a record of one as another: the account, block number and
/// balance types encode to a fixed size (their zero is as long as their longest value), and a
/// version 1 record is shorter than a version 2 one, itself shorter than a current one with no
/// delegate, shorter than one with a delegate.
pub fn layouts_are_told_apart<T: Config>() -> bool {
	/// The length of `zero` encoded, if every value of its type encodes to that length.
	fn fixed<V: Encode + MaxEncodedLen>(zero: V) -> Option<usize> {
		let len = zero.encoded_size();
		(len == V::max_encoded_len()).then_some(len)
	}
	let account = T::AccountId::decode(&mut TrailingZeroInput::zeroes()).ok().and_then(fixed);
	let (Some(account), Some(_), Some(_)) =
		(account, fixed(BlockNumberFor::<T>::zero()), fixed(BalanceOf::<T>::zero()))
	else {
		return false;
	};
	let v1 = RetiredV1Of::<T>::max_encoded_len();
	let v2 = RetiredV2Of::<T>::max_encoded_len();
	let with_delegate = RetiredOf::<T>::max_encoded_len();
	let without_delegate = with_delegate.saturating_sub(account);
	v1 < v2 && v2 < without_delegate && without_delegate < with_delegate
}

/// The longest storage key of `Retired`: the map's 32-byte prefix, the key's 16-byte hash and
/// the key.
pub struct MaxRetiredKeyLen;

impl Get<u32> for MaxRetiredKeyLen {
	fn get() -> u32 {
		SessionPublic::max_encoded_len().saturating_add(48).saturated_into()
	}
}

/// The migration's cursor: the raw storage key of the last record done.
pub type RetiredCursor = BoundedVec<u8, MaxRetiredKeyLen>;

/// Rewrites every retired record of versions 1 and 2 in the current layout, over as many blocks
/// as it takes: a runtime lists it in pallet-migrations' `Migrations`. See the [module
/// docs](self).
pub struct MigrateRetiredRecords<T>(PhantomData<T>);

impl<T: Config> MigrateRetiredRecords<T> {
	/// Migrates the first record whose storage key comes after `after` (the map's prefix to
	/// start), and returns its key; `None` once no record is left.
	pub(crate) fn migrate_after(after: &[u8]) -> Option<Vec<u8>> {
		let prefix = Retired::<T>::final_prefix();
		let key = sp_io::storage::next_key(after).filter(|key| key.starts_with(&prefix))?;
		match unhashed::get_raw(&key).as_deref().and_then(decode_record::<T>) {
			Some((Layout::Current, _)) => {}
			Some((_, record)) => unhashed::put(&key, &record),
			None => log::error!(
				target: LOG_TARGET,
				"retired record 0x{} is in no known layout: left as it is",
				HexDisplay::from(&key)
			),
		}
		Some(key)
	}

	/// Every stored record's layout (`None` for none known), by raw key.
	#[cfg(feature = "try-runtime")]
	fn layouts() -> impl Iterator<Item = Option<Layout>> {
		let prefix = Retired::<T>::final_prefix().to_vec();
		frame_support::storage::PrefixIterator::<Option<Layout>>::new(
			prefix.clone(),
			prefix,
			|_, raw| Ok(decode_record::<T>(raw).map(|(layout, _)| layout)),
		)
	}
}

impl<T: Config> SteppedMigration for MigrateRetiredRecords<T> {
	type Cursor = RetiredCursor;
	type Identifier = MigrationId<20>;

	fn id() -> Self::Identifier {
		// Records of storage versions 1 and 2 to version 3's layout.
		MigrationId { pallet_id: *MIGRATION_ID, version_from: 1, version_to: 3 }
	}

	/// No limit: the map has no bound, and every step migrates at least one record (or fails
	/// for want of weight), so the migration ends.
	fn max_steps() -> Option<u32> {
		None
	}

	fn migrating_prefixes() -> Option<impl IntoIterator<Item = Vec<u8>>> {
		Some([Retired::<T>::final_prefix().to_vec()])
	}

	fn step(
		cursor: Option<Self::Cursor>,
		meter: &mut WeightMeter,
	) -> Result<Option<Self::Cursor>, SteppedMigrationError> {
		let required = T::WeightInfo::migrate_retired_record();
		// pallet-migrations retries in the next block, or fails the migration if a whole
		// block's allowance cannot take one record.
		if !meter.can_consume(required) {
			return Err(SteppedMigrationError::InsufficientWeight { required });
		}
		let prefix = Retired::<T>::final_prefix();
		let mut last = match cursor {
			// Anything else would end the walk at once or walk another map.
			Some(cursor) if !cursor.starts_with(&prefix) => {
				return Err(SteppedMigrationError::InvalidCursor)
			}
			Some(cursor) => cursor.into_inner(),
			None => prefix.to_vec(),
		};
		let mut done = 0u32;
		// Each record is paid for before it is read; the last payment finds the end of the map.
		while meter.try_consume(required).is_ok() {
			match Self::migrate_after(&last) {
				Some(key) => last = key,
				None => {
					log::info!(target: LOG_TARGET, "retired records migrated ({done} in the last step)");
					return Ok(None);
				}
			}
			done.saturating_inc();
		}
		log::debug!(target: LOG_TARGET, "{done} retired records migrated in this step");
		// Every key `Retired` writes fits the bound; a longer one could only be written raw, and
		// resuming from its first bytes reads a few records again, which changes nothing.
		Ok(Some(BoundedVec::truncate_from(last)))
	}

	#[cfg(feature = "try-runtime")]
	fn pre_upgrade() -> Result<Vec<u8>, sp_runtime::TryRuntimeError> {
		let (mut known, mut unknown) = (0u64, 0u64);
		for layout in Self::layouts() {
			match layout {
				Some(_) => known.saturating_inc(),
				None => unknown.saturating_inc(),
			}
		}
		Ok((known, unknown).encode())
	}

	#[cfg(feature = "try-runtime")]
	fn post_upgrade(state: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
		let (known, unknown) = <(u64, u64)>::decode(&mut &state[..])
			.map_err(|_| sp_runtime::TryRuntimeError::Other("pre_upgrade state"))?;
		let (mut current, mut unknown_after) = (0u64, 0u64);
		for layout in Self::layouts() {
			match layout {
				Some(Layout::Current) => current.saturating_inc(),
				Some(_) => return Err("a retired record is left in an older layout".into()),
				None => unknown_after.saturating_inc(),
			}
		}
		// Settlements during the migration add records; none goes away.
		frame_support::ensure!(current >= known, "retired records lost");
		frame_support::ensure!(unknown_after == unknown, "records of no known layout changed");
		Ok(())
	}
}
