//! After a runtime upgrade, pallet-migrations moves the retired records of storage versions 1
//! and 2 to the current layout over several blocks, each within `MbmServiceWeight`, while the
//! chain takes only inherents.
//!
//! Under `runtime-benchmarks` the runtime lists mocked migrations instead, so this file is
//! empty then.

#![cfg(not(feature = "runtime-benchmarks"))]

mod common;

use codec::Encode;
use common::*;
use frame_support::{
	migrations::{MultiStepMigrator, SteppedMigration},
	storage::unhashed,
	traits::Get,
	weights::Weight,
};
use pallet_session_keys::{
	migrations::{
		retired::{decode_record, layouts_are_told_apart, Layout, MigrateRetiredRecords},
		v2::v1::RetiredV1,
		v3::v2::RetiredV2,
	},
	EndReason, Retired, SessionPublic, WeightInfo,
};
use session_keys_runtime::{
	configs::MbmServiceWeight, AccountId, Balance, BlockNumber, Executive, MultiBlockMigrations,
	Runtime, RuntimeEvent, System, VERSION,
};
use sp_keyring::Sr25519Keyring;

type MigrationsWeights = <Runtime as pallet_migrations::Config>::WeightInfo;

/// The weight the migration charges per record.
fn per_record() -> Weight {
	<Runtime as pallet_session_keys::Config>::WeightInfo::migrate_retired_record()
}

/// How many records one block's step takes: the service weight, less what pallet-migrations
/// spends around the step, in records.
fn records_per_block() -> u64 {
	use pallet_migrations::WeightInfo as _;
	let room = MbmServiceWeight::get()
		.saturating_sub(MigrationsWeights::progress_mbms_none())
		.saturating_sub(MultiBlockMigrations::exec_migration_max_weight());
	let per_record = per_record();
	(room.ref_time() / per_record.ref_time()).min(room.proof_size() / per_record.proof_size())
}

/// Key `i`.
fn key(i: u32) -> SessionPublic {
	let mut raw = [0u8; 32];
	raw[..4].copy_from_slice(&i.to_le_bytes());
	sp_core::sr25519::Public::from_raw(raw).into()
}

/// The records of `n` keys, as versions 1 (even keys) and 2 (odd keys) wrote them.
fn write_old_records(n: u32) {
	let (owner, counterpart) = (account(Sr25519Keyring::Alice), account(Sr25519Keyring::Bob));
	for i in 0..n {
		let stored = Retired::<Runtime>::hashed_key_for(key(i));
		let (owed, ended_at): (Balance, BlockNumber) = (i.into(), i + 10);
		if i.is_multiple_of(2) {
			let old = RetiredV1::<AccountId, BlockNumber, Balance> {
				owner: owner.clone(),
				counterpart: counterpart.clone(),
				registered_at: 1,
				ended_at,
				reason: EndReason::Expired,
				nonce: 1,
				owed,
			};
			unhashed::put(&stored, &old);
		} else {
			let old = RetiredV2::<AccountId, BlockNumber, Balance> {
				owner: owner.clone(),
				counterpart: counterpart.clone(),
				registered_at: 1,
				ended_at,
				reason: EndReason::Discontinued,
				nonce: 2,
				owed,
				paid: owed / 2,
			};
			unhashed::put(&stored, &old);
		}
	}
}

/// How many of the `n` records are in the current layout.
fn current_records(n: u32) -> u64 {
	(0..n)
		.filter_map(|i| unhashed::get_raw(&Retired::<Runtime>::hashed_key_for(key(i))))
		.filter(|raw| matches!(decode_record::<Runtime>(raw), Some((Layout::Current, _))))
		.count() as u64
}

/// Ends the current block as a block builder does with no transaction to add (inherents
/// applied, then finalized), and starts the next. Returns the finished block's weight and its
/// pallet-migrations events.
fn finish_block() -> (Weight, Vec<pallet_migrations::Event<Runtime>>) {
	Executive::inherents_applied();
	let weight = System::block_weight().total();
	let events = System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::MultiBlockMigrations(event) => Some(event),
			_ => None,
		})
		.collect();
	next_block();
	(weight, events)
}

#[test]
fn a_block_takes_thousands_of_records_and_the_layouts_differ_in_length() {
	assert!(records_per_block() > 1_000, "{} records a block", records_per_block());
	assert!(layouts_are_told_apart::<Runtime>());
	// The cursor and the identifier fit pallet-migrations' bounds.
	type Cursor = <MigrateRetiredRecords<Runtime> as SteppedMigration>::Cursor;
	type Id = <MigrateRetiredRecords<Runtime> as SteppedMigration>::Identifier;
	use codec::MaxEncodedLen;
	let cursor_max: u32 = <Runtime as pallet_migrations::Config>::CursorMaxLen::get();
	let id_max: u32 = <Runtime as pallet_migrations::Config>::IdentifierMaxLen::get();
	assert!(Cursor::max_encoded_len() <= cursor_max as usize);
	assert!(Id::max_encoded_len() <= id_max as usize);
}

#[test]
fn retired_records_move_over_several_blocks_after_an_upgrade() {
	dev_chain().execute_with(|| {
		// Two and a half blocks' worth of records in the layouts of versions 1 and 2.
		let per_block = records_per_block();
		let n = u32::try_from(per_block * 5 / 2).unwrap();
		write_old_records(n);
		assert_eq!(current_records(n), 0);

		// The next block runs a new runtime version: its upgrade hooks start the migration.
		let mut before = VERSION;
		before.spec_version -= 1;
		frame_system::LastRuntimeUpgrade::<Runtime>::put(
			frame_system::LastRuntimeUpgradeInfo::from(before.clone()),
		);
		next_block();
		assert!(MultiBlockMigrations::ongoing(), "the upgrade started the migration");

		let max_block = <Runtime as frame_system::Config>::BlockWeights::get().max_block;
		let mut blocks = Vec::new();
		while MultiBlockMigrations::ongoing() {
			assert!(blocks.len() < 10, "the migration never ended");
			let (weight, events) = finish_block();
			assert!(weight.all_lte(max_block), "block {}: {weight:?}", blocks.len());
			blocks.push((current_records(n), events));
		}

		// Three blocks: a block's worth of records in each of the first two, the rest in the
		// third, which ends the migration and the upgrade.
		let done: Vec<u64> = blocks.iter().map(|(done, _)| *done).collect();
		assert_eq!(done, vec![per_block, 2 * per_block, u64::from(n)]);
		use pallet_migrations::Event;
		assert!(matches!(
			blocks[0].1[..],
			[Event::UpgradeStarted { migrations: 1 }, Event::MigrationAdvanced { index: 0, .. }]
		));
		assert!(matches!(blocks[1].1[..], [Event::MigrationAdvanced { index: 0, .. }]));
		assert!(matches!(
			blocks[2].1[..],
			[Event::MigrationCompleted { index: 0, .. }, Event::UpgradeCompleted]
		));

		// Every record reads as what its version wrote, in the current layout.
		for i in [0, 1, n / 2, n / 2 + 1, n - 2, n - 1] {
			let record = Retired::<Runtime>::get(key(i)).expect("current layout");
			let (owed, paid) = if i.is_multiple_of(2) { (i, i) } else { (i, i / 2) };
			assert_eq!((record.owed, record.paid), (owed.into(), paid.into()));
			assert_eq!((record.delegate, record.ended_at), (None, i + 10));
		}
		assert_eq!(Retired::<Runtime>::iter_keys().count() as u64, u64::from(n));

		// It is done for good: the next upgrade skips it.
		let id = MigrateRetiredRecords::<Runtime>::id().encode();
		assert!(pallet_migrations::Historic::<Runtime>::contains_key(
			frame_support::BoundedVec::try_from(id).unwrap()
		));
		frame_system::LastRuntimeUpgrade::<Runtime>::put(
			frame_system::LastRuntimeUpgradeInfo::from(before),
		);
		next_block();
		let (_, events) = finish_block();
		assert!(matches!(
			events[..],
			[
				Event::UpgradeStarted { migrations: 1 },
				Event::MigrationSkipped { index: 0 },
				Event::UpgradeCompleted
			]
		));
		assert!(!MultiBlockMigrations::ongoing());
	});
}
