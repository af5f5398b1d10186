//! Settlement at every ending: the counterpart gets the last checkpointed `owed` (at most the
//! collateral), the record fee is burned from the deposit, the owner gets the rest back.
//! `liquidate` and `discontinue` settle at once; expiry and revocation after the window.

use super::*;
use crate::{Retired, Sessions};
use frame_support::{assert_ok, traits::fungible::Inspect};

fn open(collateral: Balance) -> (sp_core::sr25519::Pair, SessionPublic) {
	(sr_pair(1), register_with(ALICE, 1, Some(50), collateral))
}

#[test]
fn counterpart_liquidates_an_under_collateralized_session_at_once() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		assert_ok!(checkpoint_by(&pair, public, state(1, 300, 201)));
		run_to_block(4);
		only_the_counterpart(|origin| Adjudicator::liquidate(origin, public));
		assert_ok!(Adjudicator::liquidate(RuntimeOrigin::signed(CLEARING), public));
		assert_eq!(last_event(), ended(public, ALICE, EndReason::Liquidated, 4, 300, 500));
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE - 300 - record_fee());
		assert_eq!(Balances::balance(&CLEARING), INITIAL_BALANCE + 300);
		let record = Retired::<Test>::get(public).unwrap();
		assert_eq!((record.nonce, record.owed, record.reason), (1, 300, EndReason::Liquidated));
		// It does not settle a second time.
		run_to_block(70);
		assert_eq!(endings().len(), 1);
	});
}

#[test]
fn liquidate_needs_an_under_collateralized_session() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		assert_noop!(
			Adjudicator::liquidate(RuntimeOrigin::signed(CLEARING), public),
			Error::<Test>::NotUnderCollateralized
		);
		assert_ok!(checkpoint_by(&pair, public, state(1, 100, 400)));
		assert_noop!(
			Adjudicator::liquidate(RuntimeOrigin::signed(CLEARING), public),
			Error::<Test>::NotUnderCollateralized
		);
	});
}

#[test]
fn a_closing_session_can_be_liquidated() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		run_to_block(3);
		assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public));
		run_to_block(5);
		assert_ok!(checkpoint_by(&pair, public, state(1, 100, 401)));
		assert_ok!(Adjudicator::liquidate(RuntimeOrigin::signed(CLEARING), public));
		// Invalid since the revocation, whenever it settled.
		assert_eq!(last_event(), ended(public, ALICE, EndReason::Liquidated, 3, 100, 500));
	});
}

#[test]
fn counterpart_discontinues_and_settles() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		assert_ok!(checkpoint_by(&pair, public, state(3, 80, 10)));
		run_to_block(9);
		only_the_counterpart(|origin| Adjudicator::discontinue(origin, public));
		assert_ok!(Adjudicator::discontinue(RuntimeOrigin::signed(CLEARING), public));
		assert_eq!(last_event(), ended(public, ALICE, EndReason::Discontinued, 9, 80, 500));
		assert_eq!(Balances::balance(&CLEARING), INITIAL_BALANCE + 80);
		assert_noop!(
			Adjudicator::discontinue(RuntimeOrigin::signed(CLEARING), public),
			Error::<Test>::KeyRetired
		);
	});
}

/// Opens a session with collateral 500, checkpoints owed 70, ends it with `end`, and checks
/// the counterpart got 70, the record fee was burned, and the owner got the rest back.
fn settles_on(end: impl FnOnce(SessionPublic), reason: EndReason) {
	ExtBuilder::default().build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let (pair, public) = open(500);
		assert_ok!(checkpoint_by(&pair, public, state(2, 70, 30)));
		end(public);
		let ended = endings();
		assert_eq!(ended.len(), 1);
		assert_eq!(ended[0].1, reason);
		assert!(pallet_events().iter().any(|e| matches!(
			e,
			Event::SessionEnded { paid_to_counterpart: 70, collateral_released: 430, .. }
		)));
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE - 70 - record_fee());
		assert_eq!(Balances::balance(&CLEARING), INITIAL_BALANCE + 70);
		assert_eq!(held(ALICE), 0);
		assert!(!Sessions::<Test>::contains_key(public));
		assert_eq!(Retired::<Test>::get(public).unwrap().owed, 70);
		assert_eq!(Balances::total_issuance(), issuance - record_fee(), "only the fee is burned");
	});
}

#[test]
fn expiry_settles_after_the_window() {
	settles_on(|_| run_to_block(51 + CHALLENGE_PERIOD), EndReason::Expired);
}

#[test]
fn revoke_settles_after_the_window() {
	settles_on(
		|public| {
			assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public));
			run_to_block(1 + CHALLENGE_PERIOD);
		},
		EndReason::Revoked,
	);
}

#[test]
fn revoke_all_settles_after_the_window() {
	settles_on(
		|_| {
			assert_ok!(Adjudicator::revoke_all(RuntimeOrigin::signed(ALICE)));
			run_to_block(1 + CHALLENGE_PERIOD);
		},
		EndReason::Revoked,
	);
}

#[test]
fn discontinue_settles() {
	settles_on(
		|public| {
			assert_ok!(Adjudicator::discontinue(RuntimeOrigin::signed(CLEARING), public));
		},
		EndReason::Discontinued,
	);
}

#[test]
fn liquidation_settles() {
	settles_on(
		|public| {
			assert_ok!(checkpoint_by(&sr_pair(1), public, state(3, 70, 431)));
			assert_ok!(Adjudicator::liquidate(RuntimeOrigin::signed(CLEARING), public));
		},
		EndReason::Liquidated,
	);
}

#[test]
fn the_record_fee_prices_the_retired_record() {
	ExtBuilder::default().build_and_execute(|| {
		// Key and prefixes (48 + 34 bytes) and the record's largest encoding.
		let bytes = 48 + 34 + <crate::RetiredOf<Test> as codec::MaxEncodedLen>::max_encoded_len();
		assert_eq!(Adjudicator::retired_record_bytes() as usize, bytes);
		assert_eq!(record_fee(), RECORD_FEE_PER_BYTE * bytes as Balance);
		assert!(record_fee() <= DEPOSIT_BASE);
	});
}

#[test]
fn counterpart_without_an_account_still_receives_its_due() {
	ExtBuilder::default().build_and_execute(|| {
		let public =
			registration(ALICE, 1).counterpart(PAUPER).limit(100).collateral(100).register();
		assert_ok!(Adjudicator::checkpoint(
			RuntimeOrigin::signed(PAUPER),
			public,
			state(1, 40, 0),
			sign_state(&sr_pair(1), state(1, 40, 0))
		));
		assert_ok!(Adjudicator::discontinue(RuntimeOrigin::signed(PAUPER), public));
		assert_eq!(Balances::balance(&PAUPER), 40);
	});
}
