//! Collateral channels: checkpoints, top-up, spending limit, liquidation, discontinuation and
//! settlement at every ending.

use super::*;
use crate::{EndReason, Error, HoldReason, Retired, Sessions};
use codec::Encode;
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, MutateHold},
};
use sp_core::{crypto::Pair, H256};
use sp_runtime::DispatchError;

/// Alice's sr25519 key from seed 1, registered with `CLEARING`, limit 1_000.
fn open(collateral: Balance) -> (sp_core::sr25519::Pair, SessionPublic) {
	let public = register_with(ALICE, 1, Some(50), collateral);
	(sr_pair(1), public)
}

fn checkpoint(
	public: SessionPublic,
	s: crate::ChannelState<Balance>,
	sig: crate::SessionSignature,
) -> frame_support::dispatch::DispatchResult {
	SessionKeys::checkpoint(RuntimeOrigin::signed(CLEARING), public, s, sig)
}

#[test]
fn counterpart_checkpoints_a_signed_state() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		let s = state(1, 120, 200);
		assert_ok!(checkpoint(public, s, sign_state(&pair, s)));
		assert_eq!(
			last_event(),
			Event::StateCheckpointed { public, nonce: 1, owed: 120, margin: 200 }
		);
		assert_eq!(Sessions::<Test>::get(public).unwrap().state, s);
		// Nonces may skip; owed may stay.
		let s = state(7, 120, 0);
		assert_ok!(checkpoint(public, s, sign_state(&pair, s)));
	});
}

#[test]
fn ed25519_and_ecdsa_keys_sign_states_too() {
	ExtBuilder::default().build_and_execute(|| {
		let ed = ed_pair(2);
		let ec = ecdsa_pair(3);
		for (public, proof) in [
			(SessionPublic::from(ed.public()), proof_for(&ed, ALICE)),
			(SessionPublic::from(ec.public()), proof_for(&ec, ALICE)),
		] {
			assert_ok!(SessionKeys::register(
				RuntimeOrigin::signed(ALICE),
				public,
				proof,
				CLEARING,
				None,
				100,
				100,
				Default::default(),
				Default::default()
			));
		}
		let s = state(1, 10, 10);
		assert_ok!(checkpoint(ed.public().into(), s, sign_state(&ed, s)));
		assert_ok!(checkpoint(ec.public().into(), s, sign_state(&ec, s)));
		// A signature of the wrong scheme never verifies.
		let s2 = state(2, 10, 10);
		assert_noop!(
			checkpoint(ed.public().into(), s2, sign_state_for(&ec, ed.public().into(), s2)),
			Error::<Test>::InvalidSignature
		);
	});
}

#[test]
fn only_the_counterpart_checkpoints() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		let s = state(1, 10, 0);
		for who in [ALICE, BOB] {
			assert_noop!(
				SessionKeys::checkpoint(
					RuntimeOrigin::signed(who),
					public,
					s,
					sign_state(&pair, s)
				),
				Error::<Test>::NotCounterpart
			);
		}
		for origin in [RuntimeOrigin::root(), RuntimeOrigin::none()] {
			assert_noop!(
				SessionKeys::checkpoint(origin, public, s, sign_state(&pair, s)),
				DispatchError::BadOrigin
			);
		}
	});
}

#[test]
fn nonce_must_grow_and_owed_must_not_shrink() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		let s = state(5, 100, 0);
		assert_ok!(checkpoint(public, s, sign_state(&pair, s)));
		// The very same signed state, replayed.
		assert_noop!(checkpoint(public, s, sign_state(&pair, s)), Error::<Test>::StaleNonce);
		let older = state(4, 150, 0);
		assert_noop!(
			checkpoint(public, older, sign_state(&pair, older)),
			Error::<Test>::StaleNonce
		);
		let less = state(6, 99, 0);
		assert_noop!(
			checkpoint(public, less, sign_state(&pair, less)),
			Error::<Test>::OwedDecreased
		);
	});
}

#[test]
fn owed_is_bounded_by_limit_and_collateral() {
	ExtBuilder::default().build_and_execute(|| {
		// Limit 1_000, collateral 600.
		let (pair, public) = open(600);
		let over_collateral = state(1, 601, 0);
		assert_noop!(
			checkpoint(public, over_collateral, sign_state(&pair, over_collateral)),
			Error::<Test>::OverCollateral
		);
		let at_collateral = state(1, 600, 0);
		assert_ok!(checkpoint(public, at_collateral, sign_state(&pair, at_collateral)));
		assert_ok!(SessionKeys::top_up(RuntimeOrigin::signed(ALICE), public, 1_000));
		let over_limit = state(2, 1_001, 0);
		assert_noop!(
			checkpoint(public, over_limit, sign_state(&pair, over_limit)),
			Error::<Test>::OverSpendingLimit
		);
		let at_limit = state(2, 1_000, 0);
		assert_ok!(checkpoint(public, at_limit, sign_state(&pair, at_limit)));
	});
}

#[test]
fn signatures_for_another_key_chain_or_session_are_rejected() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		let other = register_with(BOB, 2, Some(50), 500);
		let s = state(1, 10, 0);
		// Signed by another key.
		assert_noop!(
			checkpoint(public, s, sign_state(&sr_pair(2), s)),
			Error::<Test>::InvalidSignature
		);
		// Signed for another chain.
		let foreign = pair.sign(&s.signing_payload(&H256::repeat_byte(0xAB), &public));
		assert_noop!(checkpoint(public, s, foreign.into()), Error::<Test>::InvalidSignature);
		// A valid state of one session submitted for another.
		assert_noop!(checkpoint(other, s, sign_state(&pair, s)), Error::<Test>::InvalidSignature);
		// The other key signing a payload that names this session.
		assert_noop!(
			checkpoint(public, s, sign_state_for(&sr_pair(2), public, s)),
			Error::<Test>::InvalidSignature
		);
		// A signature over the same fields without the domain tag.
		let untagged = pair.sign(&(System::block_hash(0), public, 1u64, 10u64, 0u64).encode());
		assert_noop!(checkpoint(public, s, untagged.into()), Error::<Test>::InvalidSignature);
	});
}

#[test]
fn ownership_proofs_and_state_signatures_do_not_cross() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		// An ownership proof is not a state signature...
		let proof = pair.generate_proof_of_possession_for(CLEARING);
		assert_noop!(
			checkpoint(public, state(1, 0, 0), proof.into()),
			Error::<Test>::InvalidSignature
		);
		// ...and a state signature is not an ownership proof.
		let fresh = sr_pair(3);
		let fresh_public: SessionPublic = fresh.public().into();
		let s = state(1, 0, 0);
		let crate::SessionSignature::Sr25519(state_sig) = sign_state(&fresh, s) else {
			unreachable!()
		};
		assert_noop!(
			SessionKeys::register(
				RuntimeOrigin::signed(ALICE),
				fresh_public,
				bounded(state_sig.encode()),
				CLEARING,
				None,
				0,
				0,
				Default::default(),
				Default::default()
			),
			Error::<Test>::InvalidProof
		);
	});
}

trait ProofFor {
	fn generate_proof_of_possession_for(&self, owner: AccountId) -> sp_core::sr25519::Signature;
}
impl ProofFor for sp_core::sr25519::Pair {
	fn generate_proof_of_possession_for(&self, owner: AccountId) -> sp_core::sr25519::Signature {
		use sp_core::proof_of_possession::ProofOfPossessionGenerator;
		self.clone().generate_proof_of_possession(&owner.encode())
	}
}

#[test]
fn no_state_after_expiry_or_revocation() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		let s = state(1, 10, 0);
		let signature = sign_state(&pair, s);
		assert_ok!(SessionKeys::revoke(RuntimeOrigin::signed(ALICE), public));
		assert_noop!(checkpoint(public, s, signature), Error::<Test>::KeyRetired);

		let expiring = register_with(BOB, 4, Some(3), 100);
		let pair = sr_pair(4);
		run_to_block(4);
		let s = state(1, 10, 0);
		assert_noop!(checkpoint(expiring, s, sign_state(&pair, s)), Error::<Test>::KeyRetired);
		let (unknown, _) = sr_key(9, ALICE);
		assert_noop!(checkpoint(unknown, s, sign_state(&sr_pair(9), s)), Error::<Test>::NotFound);
	});
}

#[test]
fn no_state_while_expired_in_the_backlog() {
	ExtBuilder::default().build_and_execute(|| {
		let (seed, waiting) = key_waiting_in_backlog(50);
		let s = state(1, 1, 0);
		assert_noop!(
			SessionKeys::checkpoint(
				RuntimeOrigin::signed(CLEARING),
				waiting,
				s,
				sign_state(&sr_pair(seed), s)
			),
			Error::<Test>::Expired
		);
	});
}

#[test]
fn under_collateralizing_checkpoint_liquidates_at_once() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		let s = state(1, 300, 201);
		assert_ok!(checkpoint(public, s, sign_state(&pair, s)));
		let events = pallet_events();
		assert_eq!(
			events[events.len() - 2],
			Event::StateCheckpointed { public, nonce: 1, owed: 300, margin: 201 }
		);
		assert_eq!(
			last_event(),
			Event::SessionEnded {
				public,
				owner: ALICE,
				counterpart: CLEARING,
				reason: EndReason::Liquidated,
				ended_at: 1,
				paid_to_counterpart: 300,
				collateral_released: 200,
				deposit_released: empty_deposit(),
			}
		);
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE - 300);
		assert_eq!(Balances::balance(&CLEARING), INITIAL_BALANCE + 300);
		let record = Retired::<Test>::get(public).unwrap();
		assert_eq!((record.nonce, record.owed, record.reason), (1, 300, EndReason::Liquidated));
		// Exactly at the collateral is still healthy.
		let (pair, healthy) = (sr_pair(2), register_with(BOB, 2, None, 500));
		let s = state(1, 300, 200);
		assert_ok!(checkpoint(healthy, s, sign_state(&pair, s)));
		assert!(Sessions::<Test>::contains_key(healthy));
	});
}

#[test]
fn liquidate_needs_an_under_collateralized_session() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		let s = state(1, 100, 100);
		assert_ok!(checkpoint(public, s, sign_state(&pair, s)));
		assert_noop!(
			SessionKeys::liquidate(RuntimeOrigin::signed(CLEARING), public),
			Error::<Test>::NotUnderCollateralized
		);
		assert_noop!(
			SessionKeys::liquidate(RuntimeOrigin::signed(ALICE), public),
			Error::<Test>::NotCounterpart
		);
		assert_noop!(
			SessionKeys::liquidate(RuntimeOrigin::root(), public),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn counterpart_liquidates_a_session_whose_collateral_fell_short() {
	ExtBuilder::default().build().execute_with(|| {
		let (pair, public) = open(500);
		let s = state(1, 100, 350);
		assert_ok!(checkpoint(public, s, sign_state(&pair, s)));
		// Collateral shrinks outside the checkpoint path (e.g. a governance intervention).
		Balances::release(
			&HoldReason::Session.into(),
			&ALICE,
			100,
			frame_support::traits::tokens::Precision::Exact,
		)
		.unwrap();
		Sessions::<Test>::mutate(public, |s| s.as_mut().unwrap().collateral = 400);
		assert_ok!(SessionKeys::liquidate(RuntimeOrigin::signed(CLEARING), public));
		assert_eq!(endings(), vec![(public, EndReason::Liquidated, 1)]);
		assert_eq!(Balances::balance(&CLEARING), INITIAL_BALANCE + 100);
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE - 100);
		check_invariants();
	});
}

#[test]
fn counterpart_discontinues_and_settles() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		let s = state(3, 80, 10);
		assert_ok!(checkpoint(public, s, sign_state(&pair, s)));
		run_to_block(9);
		assert_noop!(
			SessionKeys::discontinue(RuntimeOrigin::signed(ALICE), public),
			Error::<Test>::NotCounterpart
		);
		assert_noop!(
			SessionKeys::discontinue(RuntimeOrigin::none(), public),
			DispatchError::BadOrigin
		);
		assert_ok!(SessionKeys::discontinue(RuntimeOrigin::signed(CLEARING), public));
		assert_eq!(
			last_event(),
			Event::SessionEnded {
				public,
				owner: ALICE,
				counterpart: CLEARING,
				reason: EndReason::Discontinued,
				ended_at: 9,
				paid_to_counterpart: 80,
				collateral_released: 420,
				deposit_released: empty_deposit(),
			}
		);
		assert_eq!(Balances::balance(&CLEARING), INITIAL_BALANCE + 80);
		assert_noop!(
			SessionKeys::discontinue(RuntimeOrigin::signed(CLEARING), public),
			Error::<Test>::KeyRetired
		);
	});
}

/// Opens a session with collateral 500, checkpoints owed 70, ends it with `end`, and checks
/// the counterpart got 70 and the owner the rest back.
fn settles_on(end: impl FnOnce(SessionPublic), reason: EndReason) {
	ExtBuilder::default().build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let (pair, public) = open(500);
		let s = state(2, 70, 30);
		assert_ok!(checkpoint(public, s, sign_state(&pair, s)));
		end(public);
		let ended = endings();
		assert_eq!(ended.len(), 1);
		assert_eq!(ended[0].1, reason);
		assert!(pallet_events().iter().any(|e| matches!(
			e,
			Event::SessionEnded { paid_to_counterpart: 70, collateral_released: 430, .. }
		)));
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE - 70);
		assert_eq!(Balances::balance(&CLEARING), INITIAL_BALANCE + 70);
		assert_eq!(held(ALICE), 0);
		assert_eq!(Retired::<Test>::get(public).unwrap().owed, 70);
		assert_eq!(Balances::total_issuance(), issuance, "no unit created or lost");
	});
}

#[test]
fn expiry_settles() {
	settles_on(|_| run_to_block(51), EndReason::Expired);
}

#[test]
fn revoke_settles() {
	settles_on(
		|public| {
			assert_ok!(SessionKeys::revoke(RuntimeOrigin::signed(ALICE), public));
		},
		EndReason::Revoked,
	);
}

#[test]
fn revoke_all_settles() {
	settles_on(
		|_| {
			assert_ok!(SessionKeys::revoke_all(RuntimeOrigin::signed(ALICE)));
		},
		EndReason::Revoked,
	);
}

#[test]
fn discontinue_settles() {
	settles_on(
		|public| {
			assert_ok!(SessionKeys::discontinue(RuntimeOrigin::signed(CLEARING), public));
		},
		EndReason::Discontinued,
	);
}

#[test]
fn liquidation_settles() {
	settles_on(
		|public| {
			let s = state(3, 70, 431);
			assert_ok!(checkpoint(public, s, sign_state(&sr_pair(1), s)));
		},
		EndReason::Liquidated,
	);
}

#[test]
fn top_up_adds_held_collateral() {
	ExtBuilder::default().build_and_execute(|| {
		let (_, public) = open(100);
		assert_ok!(SessionKeys::top_up(RuntimeOrigin::signed(ALICE), public, 50));
		assert_eq!(last_event(), Event::CollateralToppedUp { public, collateral: 150 });
		assert_eq!(held(ALICE), 150 + empty_deposit());
		assert_noop!(
			SessionKeys::top_up(RuntimeOrigin::signed(ALICE), public, 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			SessionKeys::top_up(RuntimeOrigin::signed(ALICE), public, INITIAL_BALANCE),
			Error::<Test>::InsufficientBalance
		);
		assert_noop!(
			SessionKeys::top_up(RuntimeOrigin::signed(CLEARING), public, 1),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			SessionKeys::top_up(RuntimeOrigin::root(), public, 1),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn spending_limit_changes_but_never_below_owed() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		let s = state(1, 200, 0);
		assert_ok!(checkpoint(public, s, sign_state(&pair, s)));
		assert_noop!(
			SessionKeys::set_spending_limit(RuntimeOrigin::signed(ALICE), public, 199),
			Error::<Test>::LimitBelowOwed
		);
		assert_ok!(SessionKeys::set_spending_limit(RuntimeOrigin::signed(ALICE), public, 200));
		assert_eq!(last_event(), Event::SpendingLimitChanged { public, spending_limit: 200 });
		let more = state(2, 201, 0);
		assert_noop!(
			checkpoint(public, more, sign_state(&pair, more)),
			Error::<Test>::OverSpendingLimit
		);
		assert_noop!(
			SessionKeys::set_spending_limit(RuntimeOrigin::signed(CLEARING), public, 900),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			SessionKeys::set_spending_limit(RuntimeOrigin::none(), public, 900),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn terms_cannot_change_after_expiry() {
	ExtBuilder::default().build_and_execute(|| {
		let (_, waiting) = key_waiting_in_backlog(50);
		assert_noop!(
			SessionKeys::top_up(RuntimeOrigin::signed(4), waiting, 1),
			Error::<Test>::Expired
		);
		assert_noop!(
			SessionKeys::set_spending_limit(RuntimeOrigin::signed(4), waiting, 1),
			Error::<Test>::Expired
		);
	});
}

#[test]
fn rotation_is_refused_while_anything_is_owed_or_open() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		let s = state(1, 10, 5);
		assert_ok!(checkpoint(public, s, sign_state(&pair, s)));
		let (new, proof) = sr_key(2, ALICE);
		assert_noop!(
			SessionKeys::rotate(RuntimeOrigin::signed(ALICE), public, new, proof),
			Error::<Test>::FundsAtStake
		);
	});
}

#[test]
fn counterpart_without_an_account_still_receives_its_due() {
	ExtBuilder::default().build_and_execute(|| {
		let (public, proof) = sr_key(1, ALICE);
		assert_ok!(SessionKeys::register(
			RuntimeOrigin::signed(ALICE),
			public,
			proof,
			PAUPER,
			None,
			100,
			100,
			Default::default(),
			Default::default()
		));
		let s = state(1, 40, 0);
		assert_ok!(SessionKeys::checkpoint(
			RuntimeOrigin::signed(PAUPER),
			public,
			s,
			sign_state(&sr_pair(1), s)
		));
		assert_ok!(SessionKeys::revoke(RuntimeOrigin::signed(ALICE), public));
		assert_eq!(Balances::balance(&PAUPER), 40);
	});
}
