//! `revoke` and `revoke_all`: the key is invalid at once; the session closes and settles when
//! the closing window ends, releasing every hold.

use super::*;
use crate::{ExpiryQueue, OwnerSessions, Retired, RetiredSession, Sessions};
use frame_support::{assert_ok, dispatch::Pays, traits::fungible::Inspect};

#[test]
fn revoke_closes_at_once_and_settles_after_the_window() {
	ExtBuilder::default().build_and_execute(|| {
		let public = register_with(ALICE, 1, Some(50), 400);
		run_to_block(7);
		assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public));
		let settles_at = 7 + CHALLENGE_PERIOD;
		assert_eq!(
			last_event(),
			Event::SessionClosing { public, reason: EndReason::Revoked, settles_at }
		);
		assert!(!ExpiryQueue::<Test>::contains_key(51 + CHALLENGE_PERIOD, public));
		assert!(ExpiryQueue::<Test>::contains_key(settles_at, public));
		// Invalid from the revocation block on; held until it settles.
		assert!(!Adjudicator::is_valid_at(&public, 7));
		assert!(Adjudicator::is_valid_at(&public, 6));
		assert_eq!(held(ALICE), 400 + empty_deposit());
		run_to_block(settles_at);
		assert_eq!(last_event(), ended(public, ALICE, EndReason::Revoked, 7, 0, 400));
		assert!(!Sessions::<Test>::contains_key(public));
		assert!(!OwnerSessions::<Test>::contains_key(ALICE));
		assert_eq!(
			Retired::<Test>::get(public),
			Some(RetiredSession {
				owner: ALICE,
				counterpart: CLEARING,
				delegate: None,
				registered_at: 1,
				ended_at: 7,
				reason: EndReason::Revoked,
				nonce: 0,
				owed: 0,
				paid: 0,
			})
		);
		assert_eq!(held(ALICE), 0);
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE - record_fee());
		// Its past stays attributable, and it does not end a second time at its old expiry.
		assert!(Adjudicator::is_valid_at(&public, 6));
		run_to_block(70);
		assert_eq!(endings().len(), 1);
	});
}

#[test]
fn revoke_errors_change_nothing() {
	ExtBuilder::default().build_and_execute(|| {
		let public = register_key(ALICE, 1);
		only_the_owner(|origin| unit(Adjudicator::revoke(origin, public)));
		let (unknown, _) = sr_key(9, ALICE);
		assert_noop!(
			Adjudicator::revoke(RuntimeOrigin::signed(ALICE), unknown),
			Error::<Test>::NotFound
		);
		assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public));
		assert_noop!(
			Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public),
			Error::<Test>::Revoked
		);
		run_to_block(1 + CHALLENGE_PERIOD);
		assert_noop!(
			Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public),
			Error::<Test>::KeyRetired
		);
	});
}

#[test]
fn revoke_all_closes_every_live_key_of_the_caller_only() {
	ExtBuilder::default().build_and_execute(|| {
		let alices: Vec<_> = (1..=3).map(|seed| register_with(ALICE, seed, None, 100)).collect();
		let bobs = register_key(BOB, 9);
		run_to_block(4);
		let info = Adjudicator::revoke_all(RuntimeOrigin::signed(ALICE)).unwrap();
		assert_eq!(
			info.actual_weight,
			Some(<() as crate::WeightInfo>::revoke_all(3)),
			"refunded to the keys actually revoked"
		);
		assert_eq!(info.pays_fee, Pays::Yes);
		for key in &alices {
			assert_eq!(Adjudicator::session(key).unwrap().expires_at, 4);
		}
		run_to_block(4 + CHALLENGE_PERIOD);
		let ended = endings();
		assert_eq!(ended.len(), 3);
		for key in &alices {
			assert!(ended.contains(&(*key, EndReason::Revoked, 4)));
			assert!(Retired::<Test>::contains_key(key));
		}
		assert!(Adjudicator::keys_of(&ALICE).is_empty());
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE - 3 * record_fee());
		assert!(Sessions::<Test>::contains_key(bobs));
	});
}

#[test]
fn revoke_all_weight_is_bounded_by_the_cap() {
	ExtBuilder::default().build_and_execute(|| {
		for seed in 0..MaxKeysPerOwner::get() as u8 {
			register_key(ALICE, 20 + seed);
		}
		let info = Adjudicator::revoke_all(RuntimeOrigin::signed(ALICE)).unwrap();
		// Three keys fit the block a revocation settles in (the cap); the fourth read one more
		// mark to find the next block, and only that search is charged.
		assert_eq!(
			info.actual_weight,
			Some(
				<() as crate::WeightInfo>::revoke_all(MaxKeysPerOwner::get())
					+ Adjudicator::placement_weight(2)
			)
		);
		assert!(
			Adjudicator::revoke_all_weight(MaxKeysPerOwner::get()).ref_time()
				> info.actual_weight.unwrap().ref_time(),
			"the worst-case search is charged up front"
		);
	});
}

#[test]
fn revoke_all_errors_change_nothing() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			Adjudicator::revoke_all(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::NoLiveKeys
		);
		register_key(ALICE, 1);
		for origin in [RuntimeOrigin::root(), RuntimeOrigin::none()] {
			assert_noop!(Adjudicator::revoke_all(origin), DispatchError::BadOrigin);
		}
	});
}
