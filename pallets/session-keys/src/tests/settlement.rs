//! Settlement at every ending: the counterpart gets the last checkpointed `owed` (at most the
//! collateral), the record fee is burned from the deposit, the owner gets the rest back.
//! `liquidate` and `discontinue` settle at once; expiry and revocation after the window, or
//! `settle` by anyone once the window is over. A shortfall (a debt above the collateral, a
//! counterpart that cannot receive) is recorded, never lost.

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
		// An item and its bytes, at no less than a deposit's rates: a record kept forever costs
		// at least what a freed one does.
		assert_eq!(record_fee(), DEPOSIT_BASE + RECORD_FEE_PER_BYTE * bytes as Balance);
		assert!(RECORD_FEE_PER_BYTE >= <Test as crate::Config>::DepositPerByte::get());
		// It is part of every registration's deposit, so a settlement never finds it short.
		assert!(empty_deposit() >= record_fee());
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

#[test]
fn a_state_above_the_collateral_is_liquidated_for_all_the_collateral() {
	ExtBuilder::default().build_and_execute(|| {
		// After a price gap the key signs a state owing more than the collateral (within the
		// limit, 1_000): accepted, and the counterpart takes all the collateral at once.
		let (pair, public) = open(500);
		assert_ok!(checkpoint_by(&pair, public, state(1, 200, 0)));
		assert_ok!(checkpoint_by(&pair, public, state(2, 800, 0)));
		assert_ok!(Adjudicator::liquidate(RuntimeOrigin::signed(CLEARING), public));
		let events = pallet_events();
		let Event::SessionEnded { owed, paid_to_counterpart, collateral_released, .. } =
			events[events.len() - 2]
		else {
			panic!("the session ended before the shortfall was named");
		};
		assert_eq!((owed, paid_to_counterpart, collateral_released), (800, 500, 0));
		assert_eq!(
			last_event(),
			Event::SettlementShortfall {
				public,
				counterpart: CLEARING,
				owed: 800,
				paid: 500,
				reason: crate::Shortfall::CollateralShort,
			}
		);
		let record = Retired::<Test>::get(public).unwrap();
		assert_eq!((record.owed, record.paid), (800, 500), "the record keeps both figures");
		assert_eq!(Balances::balance(&CLEARING), INITIAL_BALANCE + 500);
		assert_eq!(held(ALICE), 0);
	});
}

#[test]
fn a_state_above_the_collateral_that_expires_pays_the_collateral_too() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		assert_ok!(checkpoint_by(&pair, public, state(1, 900, 0)));
		run_to_block(51 + CHALLENGE_PERIOD);
		let record = Retired::<Test>::get(public).unwrap();
		assert_eq!((record.reason, record.owed, record.paid), (EndReason::Expired, 900, 500));
		assert!(pallet_events().contains(&Event::SettlementShortfall {
			public,
			counterpart: CLEARING,
			owed: 900,
			paid: 500,
			reason: crate::Shortfall::CollateralShort,
		}));
	});
}

#[test]
fn a_payment_the_counterpart_cannot_receive_stays_held_until_it_claims_it() {
	const NEWCOMER: AccountId = 77;
	ExtBuilder::default().build_and_execute(|| {
		// The counterpart's account does not exist and the debt is below the existential
		// deposit, so the payment cannot be made.
		ExistentialDeposit::set(10);
		let pair = sr_pair(1);
		let public = registration(ALICE, 1).counterpart(NEWCOMER).collateral(500).register();
		let s = state(1, 7, 0);
		assert_ok!(Adjudicator::checkpoint(
			RuntimeOrigin::signed(NEWCOMER),
			public,
			s,
			sign_state(&pair, s)
		));
		assert_ok!(Adjudicator::discontinue(RuntimeOrigin::signed(NEWCOMER), public));
		assert_eq!(Balances::balance(&NEWCOMER), 0, "nothing arrived");
		assert_eq!(
			last_event(),
			Event::SettlementShortfall {
				public,
				counterpart: NEWCOMER,
				owed: 7,
				paid: 0,
				reason: crate::Shortfall::CounterpartCannotReceive,
			}
		);
		assert!(pallet_events().contains(&Event::PaymentHeld {
			public,
			counterpart: NEWCOMER,
			amount: 7
		}));
		let record = Retired::<Test>::get(public).unwrap();
		assert_eq!((record.owed, record.paid), (7, 0));
		// The owner got the rest of its collateral back, never what its key signed away.
		assert_eq!(held(ALICE), 7);
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE - record_fee() - 7);

		// Only the counterpart claims, and only once its account can receive.
		assert_noop!(
			Adjudicator::claim_payment(RuntimeOrigin::signed(ALICE), public),
			Error::<Test>::NotCounterpart
		);
		assert_noop!(
			Adjudicator::claim_payment(RuntimeOrigin::signed(NEWCOMER), public),
			Error::<Test>::CounterpartCannotReceive
		);
		assert_ok!(Balances::transfer_allow_death(RuntimeOrigin::signed(BOB), NEWCOMER, 10));
		assert_ok!(Adjudicator::claim_payment(RuntimeOrigin::signed(NEWCOMER), public));
		assert_eq!(
			last_event(),
			Event::PaymentClaimed { public, counterpart: NEWCOMER, amount: 7 }
		);
		assert_eq!(Balances::balance(&NEWCOMER), 17);
		assert_eq!(held(ALICE), 0);
		assert_eq!(Retired::<Test>::get(public).unwrap().paid, 7);
		assert_noop!(
			Adjudicator::claim_payment(RuntimeOrigin::signed(NEWCOMER), public),
			Error::<Test>::NothingHeld
		);
		let never_settled = SessionPublic::Sr25519(sp_core::Pair::public(&sr_pair(9)));
		assert_noop!(
			Adjudicator::claim_payment(RuntimeOrigin::signed(NEWCOMER), never_settled),
			Error::<Test>::NothingHeld
		);
	});
}

#[test]
fn anyone_settles_a_session_whose_window_is_over() {
	ExtBuilder::default().build_and_execute(|| {
		let (_, waiting) = key_waiting_in_backlog(50);
		let session = Sessions::<Test>::get(waiting).unwrap();
		assert!(session.settles_at <= System::block_number());
		// Not the owner, not the counterpart: a passer-by pays for it.
		assert_ok!(Adjudicator::settle(RuntimeOrigin::signed(BOB), waiting));
		assert_eq!(endings().last(), Some(&(waiting, EndReason::Expired, 3)));
		assert!(!Sessions::<Test>::contains_key(waiting));
		assert_noop!(
			Adjudicator::settle(RuntimeOrigin::signed(BOB), waiting),
			Error::<Test>::KeyRetired
		);
		// The backlog goes on without it.
		run_to_block(System::block_number() + 2);
		assert!(Sessions::<Test>::iter().next().is_none());
	});
}

#[test]
fn settle_refuses_a_session_within_its_window_and_unknown_keys() {
	ExtBuilder::default().build_and_execute(|| {
		let (_, public) = open(500);
		assert_noop!(
			Adjudicator::settle(RuntimeOrigin::signed(BOB), public),
			Error::<Test>::SettlementNotDue
		);
		assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public));
		run_to_block(CHALLENGE_PERIOD);
		assert_noop!(
			Adjudicator::settle(RuntimeOrigin::signed(BOB), public),
			Error::<Test>::SettlementNotDue
		);
		let (unknown, _) = sr_key(9, ALICE);
		assert_noop!(
			Adjudicator::settle(RuntimeOrigin::signed(BOB), unknown),
			Error::<Test>::NotFound
		);
		for origin in [RuntimeOrigin::root(), RuntimeOrigin::none()] {
			assert_noop!(Adjudicator::settle(origin, public), DispatchError::BadOrigin);
		}
	});
}

#[test]
fn keys_past_their_settlement_block_do_not_count_against_the_owner_cap() {
	ExtBuilder::default().build_and_execute(|| {
		// Account 4's index is full (4 keys), one of them overdue in the backlog.
		let (_, waiting) = key_waiting_in_backlog(0);
		let max = MaxKeysPerOwner::get() as usize;
		while Adjudicator::keys_of(&4).len() < max {
			let seed = 60 + Adjudicator::keys_of(&4).len() as u8;
			register_with(4, seed, Some(500), 0);
		}
		// Registering settles the overdue key first, then takes its place.
		let fresh = registration(4, 90).submit_with_info(RuntimeOrigin::signed(4)).unwrap();
		assert!(Retired::<Test>::contains_key(waiting));
		assert_eq!(Adjudicator::keys_of(&4).len(), max);
		assert_eq!(
			fresh.actual_weight,
			Some(
				Adjudicator::register_base_weight(session_keys_primitives::CryptoKind::Sr25519)
					+ Adjudicator::settlement_weight()
					+ Adjudicator::room_weight()
			)
		);
		// With no key overdue, the cap holds.
		assert_noop!(registration(4, 91).submit(), Error::<Test>::TooManyKeys);
	});
}

#[test]
fn registration_prepays_its_settlement() {
	ExtBuilder::default().build_and_execute(|| {
		let kind = session_keys_primitives::CryptoKind::Sr25519;
		let info = registration(ALICE, 1).submit_with_info(RuntimeOrigin::signed(ALICE)).unwrap();
		let settling = <() as crate::WeightInfo>::on_initialize_expire(1, 0)
			- <() as crate::WeightInfo>::on_initialize_expire(0, 0);
		assert!(settling.ref_time() > 0);
		assert_eq!(info.actual_weight, Some(Adjudicator::register_base_weight(kind) + settling));
		assert!(Adjudicator::register_weight(kind).all_gte(info.actual_weight.unwrap()));
	});
}
