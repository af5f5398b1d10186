//! The owner's changes to a live session's terms: `top_up` and `set_spending_limit` (increases
//! at once, decreases after the challenge period), all refused once the session is closing.

use super::*;
use crate::{PendingLimit, Sessions};
use frame_support::assert_ok;

fn open(collateral: Balance) -> (sp_core::sr25519::Pair, SessionPublic) {
	(sr_pair(1), register_with(ALICE, 1, Some(50), collateral))
}

fn set_limit(public: SessionPublic, limit: Balance) -> DispatchResult {
	Adjudicator::set_spending_limit(RuntimeOrigin::signed(ALICE), public, limit)
}

#[test]
fn top_up_adds_held_collateral() {
	ExtBuilder::default().build_and_execute(|| {
		let (_, public) = open(100);
		assert_ok!(Adjudicator::top_up(RuntimeOrigin::signed(ALICE), public, 50));
		assert_eq!(last_event(), Event::CollateralToppedUp { public, collateral: 150 });
		assert_eq!(held(ALICE), 150 + empty_deposit());
		assert_noop!(
			Adjudicator::top_up(RuntimeOrigin::signed(ALICE), public, 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			Adjudicator::top_up(RuntimeOrigin::signed(ALICE), public, INITIAL_BALANCE),
			Error::<Test>::InsufficientBalance
		);
		only_the_owner(|origin| Adjudicator::top_up(origin, public, 1));
	});
}

#[test]
fn top_up_cures_an_under_collateralized_session() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(100);
		assert_ok!(checkpoint_by(&pair, public, state(1, 60, 50)));
		assert!(Sessions::<Test>::get(public).unwrap().is_under_collateralized());
		assert_ok!(Adjudicator::top_up(RuntimeOrigin::signed(ALICE), public, 10));
		assert!(!Sessions::<Test>::get(public).unwrap().is_under_collateralized());
		assert_noop!(
			Adjudicator::liquidate(RuntimeOrigin::signed(CLEARING), public),
			Error::<Test>::NotUnderCollateralized
		);
	});
}

#[test]
fn an_increase_applies_at_once() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		run_to_block(3);
		assert_ok!(set_limit(public, 1_500));
		assert_eq!(
			last_event(),
			Event::SpendingLimitChanged { public, spending_limit: 1_500, applies_at: 3 }
		);
		assert_ok!(Adjudicator::top_up(RuntimeOrigin::signed(ALICE), public, 2_000));
		assert_ok!(checkpoint_by(&pair, public, state(1, 1_400, 0)));
		only_the_owner(|origin| Adjudicator::set_spending_limit(origin, public, 900));
	});
}

#[test]
fn a_decrease_waits_the_challenge_period() {
	ExtBuilder::default().build_and_execute(|| {
		// Limit 1_000, collateral 500; the owner lowers the limit to 100 at block 2.
		let (pair, public) = open(500);
		run_to_block(2);
		assert_ok!(set_limit(public, 100));
		let applies_at = 2 + CHALLENGE_PERIOD;
		assert_eq!(
			last_event(),
			Event::SpendingLimitChanged { public, spending_limit: 100, applies_at }
		);
		let registration = Adjudicator::registration(&public).unwrap();
		assert_eq!(registration.spending_limit, 1_000);
		assert_eq!(registration.pending_limit, Some(PendingLimit { limit: 100, applies_at }));
		// A state above the new limit but within the old one: accepted before the change...
		run_to_block(applies_at - 1);
		assert_ok!(checkpoint_by(&pair, public, state(1, 150, 0)));
		// ...and a higher one refused after it (the limit never drops below what is owed).
		run_to_block(applies_at);
		// The view is the stored record: the decrease applies by rule, before it is folded.
		let registration = Adjudicator::registration(&public).unwrap();
		assert_eq!(registration.limit_at(applies_at), 150);
		assert_eq!(registration.pending_limit_at(applies_at), None);
		assert_noop!(
			checkpoint_by(&pair, public, state(2, 151, 0)),
			Error::<Test>::OverSpendingLimit
		);
		assert_ok!(checkpoint_by(&pair, public, state(2, 150, 0)));
	});
}

#[test]
fn a_state_within_the_new_limit_is_refused_above_it_once_applied() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		assert_ok!(set_limit(public, 100));
		run_to_block(1 + CHALLENGE_PERIOD);
		assert_noop!(
			checkpoint_by(&pair, public, state(1, 101, 0)),
			Error::<Test>::OverSpendingLimit
		);
		assert_ok!(checkpoint_by(&pair, public, state(1, 100, 0)));
	});
}

#[test]
fn an_increase_cancels_a_pending_decrease() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		assert_ok!(set_limit(public, 100));
		run_to_block(3);
		assert_ok!(set_limit(public, 1_000));
		assert_eq!(Adjudicator::registration(&public).unwrap().pending_limit, None);
		run_to_block(2 + CHALLENGE_PERIOD);
		assert_ok!(checkpoint_by(&pair, public, state(1, 400, 0)));
	});
}

#[test]
fn a_limit_never_goes_below_what_is_owed() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		assert_ok!(checkpoint_by(&pair, public, state(1, 200, 0)));
		assert_noop!(set_limit(public, 199), Error::<Test>::LimitBelowOwed);
		assert_ok!(set_limit(public, 200));
	});
}

#[test]
fn terms_cannot_change_once_closing() {
	ExtBuilder::default().build_and_execute(|| {
		let (_, waiting) = key_waiting_in_backlog(50);
		assert_noop!(
			Adjudicator::top_up(RuntimeOrigin::signed(4), waiting, 1),
			Error::<Test>::Expired
		);
		assert_noop!(
			Adjudicator::set_spending_limit(RuntimeOrigin::signed(4), waiting, 1_000),
			Error::<Test>::Expired
		);
		let (_, public) = open(500);
		assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public));
		assert_noop!(
			Adjudicator::top_up(RuntimeOrigin::signed(ALICE), public, 1),
			Error::<Test>::Revoked
		);
		assert_noop!(set_limit(public, 1), Error::<Test>::Revoked);
		assert_noop!(set_limit(public, 2_000), Error::<Test>::Revoked);
	});
}

#[test]
fn rotation_is_refused_while_anything_is_owed_or_open() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		assert_ok!(checkpoint_by(&pair, public, state(1, 10, 5)));
		let (new, proof) = sr_key(2, ALICE);
		assert_noop!(
			Adjudicator::rotate(RuntimeOrigin::signed(ALICE), public, new, proof),
			Error::<Test>::FundsAtStake
		);
	});
}
