//! The invariant checks themselves: they pass on good state, catch broken state, and the
//! constants are checked by `integrity_test`.

use super::*;
use crate::{ExpiryQueue, HoldReason, Retired, Sessions};
use frame_support::traits::{fungible::MutateHold, Get, Hooks};

#[test]
fn integrity_test_passes_for_the_mock() {
	ExtBuilder::default().build_and_execute(Adjudicator::integrity_test);
}

#[test]
#[should_panic(expected = "MaxExpiriesPerBlock must be positive")]
fn integrity_test_rejects_a_zero_expiry_bound() {
	ExtBuilder::default().build().execute_with(|| {
		MaxExpiriesPerBlock::set(0);
		Adjudicator::integrity_test();
	});
}

#[test]
#[should_panic(
	expected = "on_initialize at MaxExpiriesPerBlock + ClosingReserve must fit in a block"
)]
fn integrity_test_rejects_an_expiry_bound_that_overflows_a_block() {
	ExtBuilder::default().build().execute_with(|| {
		MaxExpiriesPerBlock::set(1_000_000);
		Adjudicator::integrity_test();
	});
}

#[test]
#[should_panic(expected = "HeaderValidity must not exceed BlockHashCount")]
fn integrity_test_rejects_a_header_window_beyond_the_kept_block_hashes() {
	ExtBuilder::default().build().execute_with(|| {
		let kept = <<Test as frame_system::Config>::BlockHashCount as Get<u64>>::get();
		HeaderValidity::set(kept);
		Adjudicator::integrity_test();
		HeaderValidity::set(kept + 1);
		Adjudicator::integrity_test();
	});
}

#[test]
fn try_state_catches_an_unaccounted_hold() {
	ExtBuilder::default().build().execute_with(|| {
		register_with(ALICE, 1, None, 100);
		check_invariants();
		Balances::hold(&HoldReason::Session.into(), &ALICE, 1).unwrap();
		assert!(Adjudicator::do_try_state(1).is_err());
	});
}

#[test]
fn try_state_catches_a_hold_left_after_the_last_session() {
	ExtBuilder::default().build().execute_with(|| {
		let public = register_key(ALICE, 1);
		frame_support::assert_ok!(Adjudicator::discontinue(
			RuntimeOrigin::signed(CLEARING),
			public
		));
		check_invariants();
		Balances::hold(&HoldReason::Session.into(), &ALICE, 1).unwrap();
		assert!(Adjudicator::do_try_state(1).is_err());
	});
}

#[test]
#[should_panic(expected = "ChallengePeriod must be below MaxDuration")]
fn integrity_test_rejects_a_challenge_period_as_long_as_a_key() {
	ExtBuilder::default().build().execute_with(|| {
		TestChallengePeriod::set(MAX_DURATION);
		Adjudicator::integrity_test();
	});
}

#[test]
#[should_panic(expected = "ChallengePeriod must be positive")]
fn integrity_test_rejects_a_zero_challenge_period() {
	ExtBuilder::default().build().execute_with(|| {
		TestChallengePeriod::set(0);
		Adjudicator::integrity_test();
	});
}

#[test]
fn try_state_catches_owed_beyond_the_limit_not_the_collateral() {
	ExtBuilder::default().build().execute_with(|| {
		let public = register_with(ALICE, 1, None, 100);
		Sessions::<Test>::mutate(public, |s| s.as_mut().unwrap().state.owed = 101);
		assert_eq!(Adjudicator::do_try_state(1), Ok(()), "over collateral: liquidatable, valid");
		Sessions::<Test>::mutate(public, |s| {
			let s = s.as_mut().unwrap();
			s.state.owed = 50;
			s.spending_limit = 49;
		});
		assert!(Adjudicator::do_try_state(1).is_err(), "over limit");
	});
}

#[test]
fn try_state_catches_a_key_both_live_and_retired() {
	ExtBuilder::default().build().execute_with(|| {
		let public = register_key(ALICE, 1);
		let other = register_key(BOB, 2);
		frame_support::assert_ok!(Adjudicator::discontinue(RuntimeOrigin::signed(CLEARING), other));
		Retired::<Test>::insert(public, Retired::<Test>::get(other).unwrap());
		assert!(Adjudicator::do_try_state(1).is_err());
	});
}

#[test]
fn try_state_catches_an_unqueued_or_overdue_key() {
	ExtBuilder::default().build().execute_with(|| {
		let public = register_with(ALICE, 1, Some(5), 0);
		ExpiryQueue::<Test>::remove(6 + CHALLENGE_PERIOD, public);
		assert!(Adjudicator::do_try_state(1).is_err(), "unqueued");
	});
	ExtBuilder::default().build().execute_with(|| {
		let public = register_with(ALICE, 1, Some(5), 0);
		// Queued twice: at its settlement block and at its expiry.
		ExpiryQueue::<Test>::insert(6, public, ());
		assert!(Adjudicator::do_try_state(1).is_err(), "queued twice");
	});
	ExtBuilder::default().build().execute_with(|| {
		let public = register_with(ALICE, 1, Some(5), 0);
		// Closing is fine...
		System::set_block_number(6);
		assert!(Adjudicator::do_try_state(6).is_ok(), "closing");
		// ...but pretend its settlement block passed without its on_initialize.
		System::set_block_number(6 + CHALLENGE_PERIOD);
		assert!(Adjudicator::do_try_state(6 + CHALLENGE_PERIOD).is_err(), "overdue");
		assert!(Sessions::<Test>::contains_key(public));
	});
}
