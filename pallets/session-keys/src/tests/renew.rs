//! `renew`: moves the expiry, bounded by `MaxDuration`, without scanning any queue.

use super::*;
use crate::{Error, ExpiryQueue, Sessions};
use frame_support::{assert_noop, assert_ok};
use sp_runtime::DispatchError;

#[test]
fn renew_moves_expiry_and_queue_entry() {
	ExtBuilder::default().build_and_execute(|| {
		let public = register_with(ALICE, 1, Some(10), 0);
		run_to_block(5);
		assert_ok!(Adjudicator::renew(RuntimeOrigin::signed(ALICE), public, Some(20)));
		assert_eq!(last_event(), Event::SessionRenewed { public, expires_at: 25 });
		assert_eq!(Sessions::<Test>::get(public).unwrap().expires_at, 25);
		assert!(!ExpiryQueue::<Test>::contains_key(11 + CHALLENGE_PERIOD, public));
		assert!(ExpiryQueue::<Test>::contains_key(25 + CHALLENGE_PERIOD, public));
	});
}

#[test]
fn renewed_key_does_not_end_at_its_old_expiry() {
	ExtBuilder::default().build_and_execute(|| {
		let public = register_with(ALICE, 1, Some(10), 0);
		assert_ok!(Adjudicator::renew(RuntimeOrigin::signed(ALICE), public, Some(30)));
		run_to_block(11 + CHALLENGE_PERIOD);
		assert!(Sessions::<Test>::contains_key(public));
		assert!(endings().is_empty());
		run_to_block(31 + CHALLENGE_PERIOD);
		assert_eq!(endings(), vec![(public, crate::EndReason::Expired, 31)]);
	});
}

#[test]
fn renew_without_duration_uses_the_default() {
	ExtBuilder::default().build_and_execute(|| {
		let public = register_with(ALICE, 1, Some(10), 0);
		run_to_block(4);
		assert_ok!(Adjudicator::renew(RuntimeOrigin::signed(ALICE), public, None));
		assert_eq!(Sessions::<Test>::get(public).unwrap().expires_at, 4 + DEFAULT_DURATION);
	});
}

#[test]
fn renew_never_goes_past_now_plus_maximum() {
	ExtBuilder::default().build_and_execute(|| {
		let public = register_with(ALICE, 1, Some(10), 0);
		run_to_block(3);
		assert_noop!(
			Adjudicator::renew(RuntimeOrigin::signed(ALICE), public, Some(MAX_DURATION + 1)),
			Error::<Test>::DurationTooLong
		);
		assert_ok!(Adjudicator::renew(RuntimeOrigin::signed(ALICE), public, Some(MAX_DURATION)));
		assert_eq!(Sessions::<Test>::get(public).unwrap().expires_at, 3 + MAX_DURATION);
		assert_noop!(
			Adjudicator::renew(RuntimeOrigin::signed(ALICE), public, Some(0)),
			Error::<Test>::ZeroDuration
		);
	});
}

#[test]
fn only_the_owner_renews() {
	ExtBuilder::default().build_and_execute(|| {
		let public = register_key(ALICE, 1);
		assert_noop!(
			Adjudicator::renew(RuntimeOrigin::signed(BOB), public, None),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			Adjudicator::renew(RuntimeOrigin::signed(CLEARING), public, None),
			Error::<Test>::NotOwner
		);
		for origin in [RuntimeOrigin::root(), RuntimeOrigin::none()] {
			assert_noop!(Adjudicator::renew(origin, public, None), DispatchError::BadOrigin);
		}
	});
}

#[test]
fn unknown_and_ended_keys_cannot_be_renewed() {
	ExtBuilder::default().build_and_execute(|| {
		let (unknown, _) = sr_key(7, ALICE);
		assert_noop!(
			Adjudicator::renew(RuntimeOrigin::signed(ALICE), unknown, None),
			Error::<Test>::NotFound
		);
		let public = register_with(ALICE, 1, Some(2), 0);
		run_to_block(3);
		assert_noop!(
			Adjudicator::renew(RuntimeOrigin::signed(ALICE), public, None),
			Error::<Test>::Expired
		);
		run_to_block(3 + CHALLENGE_PERIOD);
		assert_noop!(
			Adjudicator::renew(RuntimeOrigin::signed(ALICE), public, None),
			Error::<Test>::KeyRetired
		);
	});
}

#[test]
fn expired_key_waiting_in_the_backlog_cannot_be_renewed() {
	ExtBuilder::default().build_and_execute(|| {
		// More keys settle at one block than it may settle; the last waits a block.
		let (_, waiting) = key_waiting_in_backlog(0);
		assert_noop!(
			Adjudicator::renew(RuntimeOrigin::signed(4), waiting, None),
			Error::<Test>::Expired
		);
		assert!(!Adjudicator::is_valid_at(&waiting, 3));
		assert!(Adjudicator::is_valid_at(&waiting, 2));
	});
}
