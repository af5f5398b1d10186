//! Storage migrations: v0 -> v1 (sessions gain their closing window and their queue entries move
//! from the expiry block to the settlement block), v1 -> v2 (marks count their keys), v2 -> v3
//! (sessions name the delegate that registered the key). Retired records move to the current
//! layout (what was paid, the delegate) in the multi-block migration after them, which
//! `retired_migration` tests step by step; here it runs to its end.

use super::{retired_migration::migrate_retired_records, *};
use crate::{
	migrations::{
		v1::{v0, MigrateV0ToV1},
		v2::{self, MigrateV1ToV2},
		v3::{self, MigrateV2ToV3},
	},
	ChannelState, ExpiryAgenda, ExpiryQueue, HoldReason, OwnerSessions, Pallet, Sessions,
};
use frame_support::assert_ok;
use frame_support::traits::{
	fungible::MutateHold, GetStorageVersion, OnRuntimeUpgrade, StorageVersion,
};

/// Writes a v0 session of `owner` for the key from `seed`, expiring at `expires_at`, queued
/// there as v0 queued it, with its holds.
fn v0_session(owner: AccountId, seed: u8, expires_at: u64, owed: Balance) -> SessionPublic {
	let (public, _) = sr_key(seed, owner);
	let old = v0::SessionV0 {
		owner,
		counterpart: CLEARING,
		registered_at: 1,
		expires_at,
		duration: expires_at - 1,
		spending_limit: 500,
		collateral: 300,
		deposit: empty_deposit(),
		description: Default::default(),
		scope: Default::default(),
		state: ChannelState { nonce: 2, owed, margin: 10 },
	};
	Balances::hold(&HoldReason::Session.into(), &owner, 300 + empty_deposit()).unwrap();
	v0::Sessions::<Test>::insert(public, old);
	OwnerSessions::<Test>::mutate(owner, |keys| keys.try_push(public).unwrap());
	ExpiryQueue::<Test>::insert(expires_at, public, ());
	v2::v1::ExpiryAgenda::<Test>::insert(expires_at, v2::v1::DueMarkV1::default());
	public
}

#[test]
fn v0_sessions_gain_their_window_and_move_in_the_queue() {
	ExtBuilder::default().build_and_execute(|| {
		StorageVersion::new(0).put::<Pallet<Test>>();
		let a = v0_session(ALICE, 1, 20, 40);
		let b = v0_session(BOB, 2, 30, 0);
		assert!(Adjudicator::do_try_state(1).is_err(), "v0 state is not valid v1 state");

		let weight = MigrateV0ToV1::<Test>::on_runtime_upgrade();
		assert!(weight.ref_time() > 0);
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 1);
		// The runtime runs all of them, in order.
		MigrateV1ToV2::<Test>::on_runtime_upgrade();
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 2);
		MigrateV2ToV3::<Test>::on_runtime_upgrade();
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 3);

		for (public, expires_at, owed) in [(a, 20, 40), (b, 30, 0)] {
			let session = Sessions::<Test>::get(public).unwrap();
			let settles_at = expires_at + CHALLENGE_PERIOD;
			assert_eq!((session.expires_at, session.settles_at), (expires_at, settles_at));
			assert_eq!((session.revoked, session.pending_limit), (false, None));
			assert_eq!((session.collateral, session.spending_limit), (300, 500));
			assert_eq!(session.state, ChannelState { nonce: 2, owed, margin: 10 });
			assert!(!ExpiryQueue::<Test>::contains_key(expires_at, public));
			assert!(ExpiryQueue::<Test>::contains_key(settles_at, public));
		}
		check_invariants();

		// A second run does nothing: the version gates.
		let before = (Sessions::<Test>::get(a), ExpiryAgenda::<Test>::iter().collect::<Vec<_>>());
		MigrateV0ToV1::<Test>::on_runtime_upgrade();
		MigrateV1ToV2::<Test>::on_runtime_upgrade();
		MigrateV2ToV3::<Test>::on_runtime_upgrade();
		assert_eq!((Sessions::<Test>::get(a), ExpiryAgenda::<Test>::iter().collect()), before);

		// The migrated sessions live on: closing after their expiry, settled after the window.
		run_to_block(20);
		assert_ok!(checkpoint_by(&sr_pair(1), a, state(3, 60, 0)));
		run_to_block(20 + CHALLENGE_PERIOD);
		assert_eq!(last_event(), ended(a, ALICE, EndReason::Expired, 20, 60, 300));
	});
}

#[test]
fn migration_of_an_empty_pallet_only_sets_the_version() {
	ExtBuilder::default().build_and_execute(|| {
		StorageVersion::new(0).put::<Pallet<Test>>();
		MigrateV0ToV1::<Test>::on_runtime_upgrade();
		MigrateV1ToV2::<Test>::on_runtime_upgrade();
		MigrateV2ToV3::<Test>::on_runtime_upgrade();
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 3);
		assert_eq!(Sessions::<Test>::iter().count(), 0);
	});
}

/// The migration's `pre_upgrade` and `post_upgrade` checks, as `try-runtime` runs them.
#[cfg(feature = "try-runtime")]
#[test]
fn try_runtime_checks_pass_on_a_real_migration() {
	ExtBuilder::default().build_and_execute(|| {
		StorageVersion::new(0).put::<Pallet<Test>>();
		v0_session(ALICE, 1, 20, 40);
		v0_session(BOB, 2, 30, 0);
		assert_ok!(MigrateV0ToV1::<Test>::try_on_runtime_upgrade(true));
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 1);
		assert_ok!(MigrateV1ToV2::<Test>::try_on_runtime_upgrade(true));
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 2);
		assert_ok!(MigrateV2ToV3::<Test>::try_on_runtime_upgrade(true));
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 3);
	});
}

#[test]
fn v1_marks_are_counted_and_v1_records_say_what_was_paid() {
	ExtBuilder::default().build_and_execute(|| {
		// Three v1 sessions, two due at block 40, one at 50 with a carried backlog mark, and a
		// v1 retired record.
		let keys: Vec<SessionPublic> = [(ALICE, 1, 30), (BOB, 2, 30), (ALICE, 3, 40)]
			.into_iter()
			.map(|(owner, seed, duration)| register_with(owner, seed, Some(duration), 0))
			.collect();
		let settles: Vec<u64> =
			keys.iter().map(|k| Sessions::<Test>::get(k).unwrap().settles_at).collect();
		assert_eq!(settles, vec![41, 41, 51]);
		rewrite_sessions_as_v2();
		let _ = ExpiryAgenda::<Test>::clear(u32::MAX, None);
		v2::v1::ExpiryAgenda::<Test>::insert(41, v2::v1::DueMarkV1 { carry_from: None });
		v2::v1::ExpiryAgenda::<Test>::insert(51, v2::v1::DueMarkV1 { carry_from: Some(45) });
		let (retired, _) = sr_key(9, ALICE);
		v2::v1::Retired::<Test>::insert(
			retired,
			v2::v1::RetiredV1 {
				owner: ALICE,
				counterpart: CLEARING,
				registered_at: 1,
				ended_at: 5,
				reason: EndReason::Discontinued,
				nonce: 3,
				owed: 70,
			},
		);
		StorageVersion::new(1).put::<Pallet<Test>>();

		let v1_record = frame_support::storage::unhashed::get_raw(
			&crate::Retired::<Test>::hashed_key_for(retired),
		);
		MigrateV1ToV2::<Test>::on_runtime_upgrade();
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 2);
		MigrateV2ToV3::<Test>::on_runtime_upgrade();
		// The retired record is left to the multi-block migration, which runs after the upgrade.
		assert_eq!(
			frame_support::storage::unhashed::get_raw(&crate::Retired::<Test>::hashed_key_for(
				retired
			)),
			v1_record
		);
		migrate_retired_records();
		assert_eq!(
			ExpiryAgenda::<Test>::get(41),
			Some(crate::DueMark { carry_from: None, queued: 2 })
		);
		assert_eq!(
			ExpiryAgenda::<Test>::get(51),
			Some(crate::DueMark { carry_from: Some(45), queued: 1 })
		);
		let record = crate::Retired::<Test>::get(retired).unwrap();
		assert_eq!((record.owed, record.paid, record.nonce), (70, 70, 3));
		// An empty v1 scope meant every resource: it is spelled out, and the key runs until its
		// expiry but is neither renewed nor rotated.
		for key in &keys {
			let scope = Sessions::<Test>::get(key).unwrap().scope;
			assert_eq!(scope.iter().map(|i| i.to_vec()).collect::<Vec<_>>(), vec![b"*".to_vec()]);
			assert!(crate::LegacyWildcardKeys::<Test>::contains_key(key));
		}
		check_invariants();
		let (owner, old) = (ALICE, keys[0]);
		frame_support::assert_noop!(
			Adjudicator::renew(RuntimeOrigin::signed(owner), old, None),
			crate::Error::<Test>::LegacyWildcardScope
		);
		let (new, proof) = sr_key(7, ALICE);
		frame_support::assert_noop!(
			Adjudicator::rotate(RuntimeOrigin::signed(owner), old, new, proof),
			crate::Error::<Test>::LegacyWildcardScope
		);
		// A key registered since, with a scope of `*` its owner chose, renews as any.
		let chosen = registration(BOB, 8).scope(&[b"*"]).register();
		assert_ok!(Adjudicator::renew(RuntimeOrigin::signed(BOB), chosen, None));
		// The migrated agenda keeps working under the cap.
		ExpiryAgenda::<Test>::mutate(51, |m| m.as_mut().unwrap().carry_from = None);
		run_to_block(51);
		assert_eq!(endings().len(), 3);
	});
}

/// Rewrites every session in the layout of versions 1 and 2 (no `delegate`), as a chain before
/// version 3 stored it.
fn rewrite_sessions_as_v2() {
	for (public, s) in Sessions::<Test>::iter().collect::<Vec<_>>() {
		assert_eq!(s.delegate, None, "keys before version 3 had no delegate");
		v3::v2::Sessions::<Test>::insert(
			public,
			v3::v2::RegistrationV2 {
				owner: s.owner,
				counterpart: s.counterpart,
				registered_at: s.registered_at,
				expires_at: s.expires_at,
				settles_at: s.settles_at,
				revoked: s.revoked,
				duration: s.duration,
				spending_limit: s.spending_limit,
				pending_limit: s.pending_limit,
				collateral: s.collateral,
				deposit: s.deposit,
				description: s.description,
				scope: s.scope,
				state: s.state,
			},
		);
	}
}

#[test]
fn v2_sessions_and_records_name_no_delegate_in_v3() {
	ExtBuilder::default().build_and_execute(|| {
		let live = register_with(ALICE, 1, Some(30), 100);
		let closed = register_with(BOB, 2, Some(30), 0);
		assert_ok!(Adjudicator::discontinue(RuntimeOrigin::signed(CLEARING), closed));
		let (live_before, ended_before) =
			(Sessions::<Test>::get(live).unwrap(), crate::Retired::<Test>::get(closed).unwrap());
		rewrite_sessions_as_v2();
		v3::v2::Retired::<Test>::insert(
			closed,
			v3::v2::RetiredV2 {
				owner: ended_before.owner,
				counterpart: ended_before.counterpart,
				registered_at: ended_before.registered_at,
				ended_at: ended_before.ended_at,
				reason: ended_before.reason,
				nonce: ended_before.nonce,
				owed: ended_before.owed,
				paid: ended_before.paid,
			},
		);
		StorageVersion::new(2).put::<Pallet<Test>>();
		assert!(Sessions::<Test>::get(live).is_none(), "v2 state does not decode as v3");

		let weight = MigrateV2ToV3::<Test>::on_runtime_upgrade();
		// The session and the storage version: the record is left to the multi-block migration.
		assert_eq!(weight, <Test as frame_system::Config>::DbWeight::get().reads_writes(2, 2));
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 3);
		assert_eq!(Sessions::<Test>::get(live), Some(live_before));
		assert_eq!(crate::Retired::<Test>::get(closed), None, "still in version 2's layout");
		migrate_retired_records();
		assert_eq!(crate::Retired::<Test>::get(closed), Some(ended_before));
		check_invariants();
		// The migrated key lives on and settles as before.
		run_to_block(31 + CHALLENGE_PERIOD);
		assert_eq!(last_event(), ended(live, ALICE, EndReason::Expired, 31, 0, 100));
	});
}
