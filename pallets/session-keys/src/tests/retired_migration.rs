//! The multi-block migration of retired records (`migrations::retired`): records of versions 1
//! and 2 move to the current layout over several steps, each within its weight, and nothing
//! else is touched.

use super::*;
use crate::{
	migrations::{
		retired::{decode_record, layouts_are_told_apart, Layout, MigrateRetiredRecords},
		v2::{v1::RetiredV1, MigrateV1ToV2},
		v3::{v2::RetiredV2, MigrateV2ToV3},
	},
	Config, Pallet, Retired, RetiredSession, Sessions, WeightInfo,
};
use codec::Encode;
use frame_support::{
	migrations::{SteppedMigration, SteppedMigrationError},
	storage::{unhashed, StoragePrefixedMap},
	traits::{OnRuntimeUpgrade, StorageVersion},
	weights::{Weight, WeightMeter},
};
use session_keys_primitives::KeyRecord;
use sp_core::{ecdsa, ed25519, sr25519};

/// A version 1 record.
type V1 = RetiredV1<AccountId, u64, Balance>;
/// A version 2 record.
type V2 = RetiredV2<AccountId, u64, Balance>;
/// A current record.
type Current = RetiredSession<AccountId, u64, Balance>;

/// Key `i`, of each scheme in turn, so the storage keys differ in length.
fn key(i: u32) -> SessionPublic {
	let mut raw = [0u8; 33];
	raw[..4].copy_from_slice(&i.to_le_bytes());
	let mut short = [0u8; 32];
	short.copy_from_slice(&raw[..32]);
	match i % 3 {
		0 => sr25519::Public::from_raw(short).into(),
		1 => ed25519::Public::from_raw(short).into(),
		_ => ecdsa::Public::from_raw(raw).into(),
	}
}

/// Record `i` as version 1 wrote it.
fn v1(i: u32) -> V1 {
	let i = u64::from(i);
	RetiredV1 {
		owner: ALICE,
		counterpart: CLEARING,
		registered_at: 1,
		ended_at: 10 + i,
		reason: EndReason::Expired,
		nonce: i,
		owed: 100 + i,
	}
}

/// Record `i` as version 2 wrote it: paid less than owed.
fn v2(i: u32) -> V2 {
	let i = u64::from(i);
	RetiredV2 {
		owner: BOB,
		counterpart: CLEARING,
		registered_at: 2,
		ended_at: 20 + i,
		reason: EndReason::Discontinued,
		nonce: i,
		owed: 200 + i,
		paid: 150 + i,
	}
}

/// Record `i` in the current layout, every other one naming a delegate.
fn current(i: u32) -> Current {
	let n = u64::from(i);
	RetiredSession {
		owner: ALICE,
		counterpart: CLEARING,
		delegate: i.is_multiple_of(2).then_some(BOB),
		registered_at: 3,
		ended_at: 30 + n,
		reason: EndReason::Revoked,
		nonce: n,
		owed: 300 + n,
		paid: 300 + n,
	}
}

/// What the migration makes of version 1 record `i`: it paid what it owed, and no delegate.
fn v1_migrated(i: u32) -> Current {
	let old = v1(i);
	RetiredSession {
		owner: old.owner,
		counterpart: old.counterpart,
		delegate: None,
		registered_at: old.registered_at,
		ended_at: old.ended_at,
		reason: old.reason,
		nonce: old.nonce,
		owed: old.owed,
		paid: old.owed,
	}
}

/// What the migration makes of version 2 record `i`: no delegate.
fn v2_migrated(i: u32) -> Current {
	let old = v2(i);
	RetiredSession {
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

/// Writes `value` raw under key `public` of `Retired`, as an older runtime stored it.
fn put_raw(public: SessionPublic, value: &impl Encode) {
	unhashed::put(&Retired::<Test>::hashed_key_for(public), value);
}

/// The stored bytes of `public`'s record.
fn raw(public: SessionPublic) -> Option<Vec<u8>> {
	unhashed::get_raw(&Retired::<Test>::hashed_key_for(public))
}

/// The weight the migration charges per record.
fn per_record() -> Weight {
	<Test as Config>::WeightInfo::migrate_retired_record()
}

/// Runs the migration to its end, each step with a meter of `limit`, as pallet-migrations runs
/// one step a block; checks that no step goes over it. Returns the number of steps.
fn run_steps(limit: Weight, mut between: impl FnMut(u32)) -> u32 {
	let mut cursor = None;
	for steps in 1..=1_000 {
		let mut meter = WeightMeter::with_limit(limit);
		let next = MigrateRetiredRecords::<Test>::step(cursor, &mut meter).expect("a step");
		assert!(meter.consumed().all_lte(limit), "step {steps} went over its meter");
		match next {
			None => return steps,
			Some(next) => cursor = Some(next),
		}
		between(steps);
	}
	panic!("the migration never ended");
}

/// Runs the migration to its end with no weight limit, as the migration tests of the
/// single-block migrations do after them.
pub(super) fn migrate_retired_records() {
	run_steps(Weight::MAX, |_| {});
}

/// The layout each record of `keys` is stored in.
fn layouts(keys: impl IntoIterator<Item = SessionPublic>) -> Vec<Option<Layout>> {
	keys.into_iter()
		.map(|public| raw(public).and_then(|raw| decode_record::<Test>(&raw)).map(|(l, _)| l))
		.collect()
}

#[test]
fn retired_records_move_over_several_steps_each_within_its_meter() {
	ExtBuilder::default().build_and_execute(|| {
		// Ten records of version 1, ten of version 2 and five current ones.
		for i in 0..10 {
			put_raw(key(i), &v1(i));
			put_raw(key(10 + i), &v2(i));
		}
		for i in 0..5 {
			Retired::<Test>::insert(key(20 + i), current(i));
		}
		let current_before: Vec<_> = (20..25).map(|i| raw(key(i))).collect();

		// A meter that takes four records a step: 25 records and the end of the map in 7.
		let limit = per_record().saturating_mul(4);
		let steps = run_steps(limit, |step| {
			let current = layouts((0..25).map(key))
				.into_iter()
				.filter(|layout| *layout == Some(Layout::Current))
				.count();
			// No step moves more than the four records its meter takes.
			assert!(current <= 5 + 4 * step as usize, "step {step}: {current} current records");
		});
		assert_eq!(steps, 7);

		for i in 0..10 {
			assert_eq!(Retired::<Test>::get(key(i)), Some(v1_migrated(i)));
			assert_eq!(Retired::<Test>::get(key(10 + i)), Some(v2_migrated(i)));
		}
		// Current records are not rewritten.
		assert_eq!((20..25).map(|i| raw(key(i))).collect::<Vec<_>>(), current_before);
		assert!(layouts((0..25).map(key)).iter().all(|l| *l == Some(Layout::Current)));
		assert_eq!(Retired::<Test>::iter_values().count(), 25);

		// Running it again changes nothing.
		let before: Vec<_> = (0..25).map(|i| raw(key(i))).collect();
		migrate_retired_records();
		assert_eq!((0..25).map(|i| raw(key(i))).collect::<Vec<_>>(), before);
	});
}

#[test]
fn a_record_in_no_known_layout_does_not_stop_the_migration() {
	ExtBuilder::default().build_and_execute(|| {
		for i in 0..6 {
			put_raw(key(i), &v1(i));
			put_raw(key(10 + i), &v2(i));
		}
		// Too short for any layout, and a version 1 record with a byte left over.
		let (junk, trailing) = (key(30), key(31));
		unhashed::put_raw(&Retired::<Test>::hashed_key_for(junk), &[1, 2, 3]);
		let mut long = v1(31).encode();
		long.push(0);
		unhashed::put_raw(&Retired::<Test>::hashed_key_for(trailing), &long);
		assert_eq!(layouts([junk, trailing]), vec![None, None]);

		let steps = run_steps(per_record().saturating_mul(3), |_| {});
		// 14 records and the end of the map, three a step.
		assert_eq!(steps, 5);
		for i in 0..6 {
			assert_eq!(Retired::<Test>::get(key(i)), Some(v1_migrated(i)));
			assert_eq!(Retired::<Test>::get(key(10 + i)), Some(v2_migrated(i)));
		}
		assert_eq!(raw(junk), Some(vec![1, 2, 3]));
		assert_eq!(raw(trailing), Some(long));
		// They are not read as records either.
		assert_eq!(Adjudicator::retired(&junk), None);
	});
}

#[test]
fn settlements_during_the_migration_write_current_records_it_leaves_alone() {
	ExtBuilder::default().build_and_execute(|| {
		let settling = register_with(ALICE, 1, Some(5), 40);
		let settles_at = Sessions::<Test>::get(settling).unwrap().settles_at;
		// Two records a step, one step a block: the key settles while the migration runs.
		for i in 0..40 {
			put_raw(key(i), &v1(i));
		}
		let mut settled = None;
		run_steps(per_record().saturating_mul(2), |step| {
			// `on_initialize` runs on while the migration goes, a step a block.
			run_to_block(System::block_number() + 1);
			if System::block_number() == settles_at {
				settled = raw(settling);
				assert!(settled.is_some(), "settled at block {settles_at}, step {step}");
			}
		});
		let record = Retired::<Test>::get(settling).expect("settled in the current layout");
		assert_eq!(
			(record.owner, record.reason, record.delegate),
			(ALICE, EndReason::Expired, None)
		);
		assert_eq!(raw(settling), settled, "the settlement's record is left as it was written");
		for i in 0..40 {
			assert_eq!(Retired::<Test>::get(key(i)), Some(v1_migrated(i)));
		}
	});
}

#[test]
fn a_step_needs_room_for_one_record_and_a_cursor_into_the_map() {
	ExtBuilder::default().build_and_execute(|| {
		put_raw(key(0), &v1(0));
		let required = per_record();
		let mut meter = WeightMeter::with_limit(required.saturating_sub(Weight::from_parts(1, 0)));
		assert_eq!(
			MigrateRetiredRecords::<Test>::step(None, &mut meter),
			Err(SteppedMigrationError::InsufficientWeight { required })
		);
		assert_eq!(meter.consumed(), Weight::zero());
		assert_eq!(layouts([key(0)]), vec![Some(Layout::V1)]);

		// A cursor outside the map would end the walk at once.
		let outside = frame_support::BoundedVec::truncate_from(
			crate::Sessions::<Test>::final_prefix().to_vec(),
		);
		assert_eq!(
			MigrateRetiredRecords::<Test>::step(Some(outside), &mut WeightMeter::new()),
			Err(SteppedMigrationError::InvalidCursor)
		);

		// With room for exactly one record, the step takes it and returns its key.
		let mut meter = WeightMeter::with_limit(required);
		let cursor = MigrateRetiredRecords::<Test>::step(None, &mut meter).unwrap();
		assert_eq!(cursor.map(|c| c.into_inner()), Some(Retired::<Test>::hashed_key_for(key(0))));
		assert_eq!(meter.consumed(), required);
		assert_eq!(Retired::<Test>::get(key(0)), Some(v1_migrated(0)));
	});
}

#[test]
fn an_empty_map_takes_one_step() {
	ExtBuilder::default().build_and_execute(|| {
		let mut meter = WeightMeter::with_limit(per_record());
		assert_eq!(MigrateRetiredRecords::<Test>::step(None, &mut meter), Ok(None));
	});
}

#[test]
fn the_layouts_differ_in_length() {
	// The mock's accounts, block numbers and balances are all `u64`.
	assert_eq!(v1(0).encode().len(), 49);
	assert_eq!(v2(0).encode().len(), 57);
	assert_eq!(current(1).encode().len(), 58);
	assert_eq!(current(0).encode().len(), 66);
	assert!(layouts_are_told_apart::<Test>());
	// Each decodes as itself and as nothing newer.
	for (bytes, layout) in [
		(v1(0).encode(), Layout::V1),
		(v2(0).encode(), Layout::V2),
		(current(0).encode(), Layout::Current),
		(current(1).encode(), Layout::Current),
	] {
		assert_eq!(decode_record::<Test>(&bytes).map(|(l, _)| l), Some(layout));
	}
}

#[test]
fn single_block_migrations_leave_retired_records_to_the_stepped_one() {
	ExtBuilder::default().build_and_execute(|| {
		let weights = |records: u32| {
			for i in 0..records {
				put_raw(key(i), &v1(i));
			}
			StorageVersion::new(1).put::<Pallet<Test>>();
			let weight = MigrateV1ToV2::<Test>::on_runtime_upgrade()
				.saturating_add(MigrateV2ToV3::<Test>::on_runtime_upgrade());
			assert_eq!(
				layouts((0..records).map(key)),
				vec![Some(Layout::V1); records as usize],
				"the records are left in version 1's layout"
			);
			weight
		};
		// The upgrade block's work does not grow with the chain's history.
		assert_eq!(weights(0), weights(500));
		migrate_retired_records();
		assert!(layouts((0..500).map(key)).iter().all(|l| *l == Some(Layout::Current)));
	});
}

#[test]
fn reads_see_old_records_before_the_migration_reaches_them() {
	ExtBuilder::default().build_and_execute(|| {
		put_raw(key(0), &v1(0));
		put_raw(key(1), &v2(1));
		assert_eq!(Retired::<Test>::get(key(0)), None, "not in the current layout yet");
		assert_eq!(Adjudicator::retired(&key(0)), Some(v1_migrated(0)));
		assert_eq!(Adjudicator::retired(&key(1)), Some(v2_migrated(1)));
		assert_eq!(Adjudicator::key_state(&key(1)), KeyRecord::Retired(v2_migrated(1)));
		assert!(Adjudicator::is_valid_at(&key(0), 5) && !Adjudicator::is_valid_at(&key(0), 10));
		check_invariants();
	});
}

/// The migration's `pre_upgrade` and `post_upgrade` checks, as pallet-migrations runs them
/// under `try-runtime`.
#[cfg(feature = "try-runtime")]
#[test]
fn try_runtime_checks_pass_once_every_record_moved() {
	ExtBuilder::default().build_and_execute(|| {
		for i in 0..5 {
			put_raw(key(i), &v1(i));
			put_raw(key(10 + i), &v2(i));
			Retired::<Test>::insert(key(20 + i), current(i));
		}
		unhashed::put_raw(&Retired::<Test>::hashed_key_for(key(30)), &[7]);
		let state = MigrateRetiredRecords::<Test>::pre_upgrade().unwrap();
		assert!(MigrateRetiredRecords::<Test>::post_upgrade(state.clone()).is_err());
		run_steps(per_record().saturating_mul(4), |_| {});
		assert_eq!(MigrateRetiredRecords::<Test>::post_upgrade(state), Ok(()));
	});
}

#[test]
fn a_claimed_payment_counts_on_a_record_the_migration_has_not_reached() {
	use frame_support::{
		assert_ok,
		traits::fungible::{Inspect, MutateHold},
	};
	ExtBuilder::default().build_and_execute(|| {
		// A settlement held 50 from BOB for CLEARING, then the chain upgraded: the key's
		// record is still in the version 2 layout when the counterpart claims.
		let public = key(1);
		put_raw(public, &v2(1));
		assert_ok!(Balances::hold(&crate::HoldReason::Session.into(), &BOB, 50));
		crate::HeldPayments::<Test>::insert(
			public,
			crate::HeldPayment { owner: BOB, counterpart: CLEARING, amount: 50 },
		);
		let before = Balances::balance(&CLEARING);
		assert_ok!(Adjudicator::claim_payment(RuntimeOrigin::signed(CLEARING), public));
		assert_eq!(Balances::balance(&CLEARING), before + 50);
		// The record is kept (a key is never reused), in the current layout, paid in full.
		let expected = Current { paid: v2(1).paid + 50, ..v2_migrated(1) };
		assert_eq!(Retired::<Test>::get(public), Some(expected.clone()));
		assert_eq!(Adjudicator::key_state(&public), KeyRecord::Retired(expected));
	});
}
