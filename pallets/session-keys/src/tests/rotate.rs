//! `rotate`: a new key carries the terms, only while nothing is at stake.

use super::*;
use crate::{EndReason, Error, ExpiryQueue, Retired, Sessions};
use frame_support::{assert_noop, assert_ok};
use sp_core::crypto::Pair;
use sp_runtime::DispatchError;

#[test]
fn rotate_replaces_the_key_and_keeps_the_terms() {
	ExtBuilder::default().build_and_execute(|| {
		let old = register_with(ALICE, 1, Some(40), 0);
		let before = Sessions::<Test>::get(old).unwrap();
		run_to_block(10);
		let (new, proof) = sr_key(2, ALICE);
		assert_ok!(Adjudicator::rotate(RuntimeOrigin::signed(ALICE), old, new, proof));
		assert_eq!(last_event(), Event::SessionRotated { old, new, owner: ALICE, expires_at: 50 });
		assert_eq!(endings(), vec![(old, EndReason::Rotated, 10)]);

		let after = Sessions::<Test>::get(new).unwrap();
		assert_eq!(after.counterpart, before.counterpart);
		assert_eq!(after.spending_limit, before.spending_limit);
		assert_eq!(after.description, before.description);
		assert_eq!(after.scope, before.scope);
		assert_eq!(after.deposit, before.deposit);
		assert_eq!((after.registered_at, after.expires_at), (10, 50));
		assert_eq!(Adjudicator::keys_of(&ALICE), vec![new]);
		assert!(!ExpiryQueue::<Test>::contains_key(41 + CHALLENGE_PERIOD, old));
		assert!(ExpiryQueue::<Test>::contains_key(50 + CHALLENGE_PERIOD, new));
		// The deposit moved with the terms: still held once.
		assert_eq!(held(ALICE), before.collateral + before.deposit);
		assert_eq!(Retired::<Test>::get(old).unwrap().reason, EndReason::Rotated);
		// Signatures of the old key stay attributable to its validity window.
		assert!(Adjudicator::is_valid_at(&old, 9));
		assert!(!Adjudicator::is_valid_at(&old, 10));
	});
}

#[test]
fn rotation_is_rejected_while_collateral_is_held() {
	ExtBuilder::default().build_and_execute(|| {
		let old = register_with(ALICE, 1, None, 1);
		let (new, proof) = sr_key(2, ALICE);
		assert_noop!(
			Adjudicator::rotate(RuntimeOrigin::signed(ALICE), old, new, proof),
			Error::<Test>::FundsAtStake
		);
	});
}

#[test]
fn retired_key_cannot_come_back_through_rotation() {
	ExtBuilder::default().build_and_execute(|| {
		let old = register_key(ALICE, 1);
		let (new, proof) = sr_key(2, ALICE);
		assert_ok!(Adjudicator::rotate(RuntimeOrigin::signed(ALICE), old, new, proof));
		// Rotating back to the retired key, or registering it, fails.
		let (_, back) = sr_key(1, ALICE);
		assert_noop!(
			Adjudicator::rotate(RuntimeOrigin::signed(ALICE), new, old, back.clone()),
			Error::<Test>::KeyRetired
		);
		assert_noop!(
			RegisterCall::of(ALICE, old, back).limit(0).submit(),
			Error::<Test>::KeyRetired
		);
		// And the old key cannot be rotated again.
		let (third, proof) = sr_key(3, ALICE);
		assert_noop!(
			Adjudicator::rotate(RuntimeOrigin::signed(ALICE), old, third, proof),
			Error::<Test>::KeyRetired
		);
	});
}

#[test]
fn rotation_to_a_live_key_or_to_itself_fails() {
	ExtBuilder::default().build_and_execute(|| {
		let old = register_key(ALICE, 1);
		let other = register_key(BOB, 2);
		let (_, proof) = sr_key(2, ALICE);
		assert_noop!(
			Adjudicator::rotate(RuntimeOrigin::signed(ALICE), old, other, proof),
			Error::<Test>::AlreadyRegistered
		);
		let (_, own) = sr_key(1, ALICE);
		assert_noop!(
			Adjudicator::rotate(RuntimeOrigin::signed(ALICE), old, old, own),
			Error::<Test>::AlreadyRegistered
		);
	});
}

#[test]
fn rotation_needs_a_valid_proof_for_the_owner() {
	ExtBuilder::default().build_and_execute(|| {
		let old = register_key(ALICE, 1);
		let (new, bobs_proof) = sr_key(2, BOB);
		assert_noop!(
			Adjudicator::rotate(RuntimeOrigin::signed(ALICE), old, new, bobs_proof),
			Error::<Test>::InvalidProof
		);
		let (_, old_keys_proof) = sr_key(1, ALICE);
		assert_noop!(
			Adjudicator::rotate(RuntimeOrigin::signed(ALICE), old, new, old_keys_proof),
			Error::<Test>::InvalidProof
		);
		assert_noop!(
			Adjudicator::rotate(RuntimeOrigin::signed(ALICE), old, new, bounded(vec![1; 10])),
			Error::<Test>::MalformedProof
		);
		// An ed25519 key with its proof is fine.
		let ed = ed_pair(5);
		assert_ok!(Adjudicator::rotate(
			RuntimeOrigin::signed(ALICE),
			old,
			ed.public().into(),
			proof_for(&ed, ALICE)
		));
	});
}

#[test]
fn rotation_errors_for_origin_owner_and_state() {
	ExtBuilder::default().build_and_execute(|| {
		let old = register_with(ALICE, 1, Some(2), 0);
		let (new, proof) = sr_key(2, ALICE);
		let (_, bobs) = sr_key(2, BOB);
		assert_noop!(
			Adjudicator::rotate(RuntimeOrigin::signed(BOB), old, new, bobs),
			Error::<Test>::NotOwner
		);
		for origin in [RuntimeOrigin::root(), RuntimeOrigin::none()] {
			assert_noop!(
				Adjudicator::rotate(origin, old, new, proof.clone()),
				DispatchError::BadOrigin
			);
		}
		let (unknown, _) = sr_key(8, ALICE);
		assert_noop!(
			Adjudicator::rotate(RuntimeOrigin::signed(ALICE), unknown, new, proof.clone()),
			Error::<Test>::NotFound
		);
	});
}

#[test]
fn expired_key_waiting_in_the_backlog_cannot_be_rotated() {
	ExtBuilder::default().build_and_execute(|| {
		let (_, waiting) = key_waiting_in_backlog(0);
		let (new, proof) = sr_key(50, 4);
		assert_noop!(
			Adjudicator::rotate(RuntimeOrigin::signed(4), waiting, new, proof),
			Error::<Test>::Expired
		);
	});
}

#[test]
fn rotation_to_a_key_that_binds_no_one_is_refused() {
	ExtBuilder::default().build_and_execute(|| {
		let old = register_key(ALICE, 1);
		for (new, proof) in super::register::weak_keys() {
			assert_noop!(
				Adjudicator::rotate(RuntimeOrigin::signed(ALICE), old, new, proof),
				Error::<Test>::WeakKey
			);
		}
		assert!(Sessions::<Test>::contains_key(old));
	});
}
