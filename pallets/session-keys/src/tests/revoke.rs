//! `revoke` and `revoke_all`: immediate endings that release every hold.

use super::*;
use crate::{EndReason, Error, ExpiryQueue, OwnerSessions, Retired, RetiredSession, Sessions};
use frame_support::{assert_noop, assert_ok, dispatch::Pays, traits::fungible::Inspect};
use sp_runtime::DispatchError;

#[test]
fn revoke_ends_the_key_at_once_and_releases_holds() {
	ExtBuilder::default().build_and_execute(|| {
		let public = register_with(ALICE, 1, Some(50), 400);
		run_to_block(7);
		assert_ok!(SessionKeys::revoke(RuntimeOrigin::signed(ALICE), public));
		assert_eq!(
			last_event(),
			Event::SessionEnded {
				public,
				owner: ALICE,
				counterpart: CLEARING,
				reason: EndReason::Revoked,
				ended_at: 7,
				paid_to_counterpart: 0,
				collateral_released: 400,
				deposit_released: empty_deposit(),
			}
		);
		assert!(!Sessions::<Test>::contains_key(public));
		assert!(!ExpiryQueue::<Test>::contains_key(51, public));
		assert!(!OwnerSessions::<Test>::contains_key(ALICE));
		assert_eq!(
			Retired::<Test>::get(public),
			Some(RetiredSession {
				owner: ALICE,
				counterpart: CLEARING,
				registered_at: 1,
				ended_at: 7,
				reason: EndReason::Revoked,
				nonce: 0,
				owed: 0,
			})
		);
		assert_eq!(held(ALICE), 0);
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE);
		// Invalid from the revocation block on; its past stays attributable.
		assert!(!SessionKeys::is_valid_at(&public, 7));
		assert!(SessionKeys::is_valid_at(&public, 6));
		// It does not end a second time at its old expiry.
		run_to_block(60);
		assert_eq!(endings().len(), 1);
	});
}

#[test]
fn revoke_errors_change_nothing() {
	ExtBuilder::default().build_and_execute(|| {
		let public = register_key(ALICE, 1);
		assert_noop!(
			SessionKeys::revoke(RuntimeOrigin::signed(BOB), public),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			SessionKeys::revoke(RuntimeOrigin::signed(CLEARING), public),
			Error::<Test>::NotOwner
		);
		let (unknown, _) = sr_key(9, ALICE);
		assert_noop!(
			SessionKeys::revoke(RuntimeOrigin::signed(ALICE), unknown),
			Error::<Test>::NotFound
		);
		for origin in [RuntimeOrigin::root(), RuntimeOrigin::none()] {
			assert_noop!(SessionKeys::revoke(origin, public), DispatchError::BadOrigin);
		}
		assert_ok!(SessionKeys::revoke(RuntimeOrigin::signed(ALICE), public));
		assert_noop!(
			SessionKeys::revoke(RuntimeOrigin::signed(ALICE), public),
			Error::<Test>::KeyRetired
		);
	});
}

#[test]
fn revoke_all_ends_every_key_of_the_caller_only() {
	ExtBuilder::default().build_and_execute(|| {
		let alices: Vec<_> = (1..=3).map(|seed| register_with(ALICE, seed, None, 100)).collect();
		let bobs = register_key(BOB, 9);
		run_to_block(4);
		let info = SessionKeys::revoke_all(RuntimeOrigin::signed(ALICE)).unwrap();
		assert_eq!(
			info.actual_weight,
			Some(<() as crate::WeightInfo>::revoke_all(3)),
			"refunded to the keys actually revoked"
		);
		assert_eq!(info.pays_fee, Pays::Yes);
		let ended = endings();
		assert_eq!(ended.len(), 3);
		for key in &alices {
			assert!(ended.contains(&(*key, EndReason::Revoked, 4)));
			assert!(Retired::<Test>::contains_key(key));
		}
		assert!(SessionKeys::keys_of(&ALICE).is_empty());
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE);
		assert!(Sessions::<Test>::contains_key(bobs));
	});
}

#[test]
fn revoke_all_weight_is_bounded_by_the_cap() {
	ExtBuilder::default().build_and_execute(|| {
		for seed in 0..MaxKeysPerOwner::get() as u8 {
			register_key(ALICE, 20 + seed);
		}
		let info = SessionKeys::revoke_all(RuntimeOrigin::signed(ALICE)).unwrap();
		assert_eq!(
			info.actual_weight,
			Some(<() as crate::WeightInfo>::revoke_all(MaxKeysPerOwner::get()))
		);
	});
}

#[test]
fn revoke_all_errors_change_nothing() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			SessionKeys::revoke_all(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::NoLiveKeys
		);
		register_key(ALICE, 1);
		for origin in [RuntimeOrigin::root(), RuntimeOrigin::none()] {
			assert_noop!(SessionKeys::revoke_all(origin), DispatchError::BadOrigin);
		}
	});
}
