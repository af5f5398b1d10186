//! `checkpoint`: the counterpart records states signed by the session key, while the session is
//! live or closing; the rules on their own ([`crate::Registration::check_state`]); signatures that
//! must not cross keys, chains or purposes.

use super::*;
use crate::{ChannelState, Sessions, StateRejection};
use codec::Encode;
use frame_support::assert_ok;
use sp_core::{crypto::Pair, H256};

/// Alice's sr25519 key from seed 1, registered with `CLEARING`, limit 1_000, duration 50.
fn open(collateral: Balance) -> (sp_core::sr25519::Pair, SessionPublic) {
	let public = register_with(ALICE, 1, Some(50), collateral);
	(sr_pair(1), public)
}

#[test]
fn counterpart_checkpoints_a_signed_state() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		let s = state(1, 120, 200);
		assert_ok!(checkpoint_by(&pair, public, s));
		assert_eq!(
			last_event(),
			Event::StateCheckpointed { public, nonce: 1, owed: 120, margin: 200 }
		);
		assert_eq!(Sessions::<Test>::get(public).unwrap().state, s);
		// Nonces may skip; owed may stay.
		assert_ok!(checkpoint_by(&pair, public, state(7, 120, 0)));
	});
}

#[test]
fn a_checkpoint_is_operational_so_normal_transactions_cannot_crowd_it_out() {
	use frame_support::dispatch::{DispatchClass, GetDispatchInfo, Pays};
	let call = crate::Call::<Test>::checkpoint {
		public: SessionPublic::Sr25519(sr_pair(1).public()),
		state: state(1, 0, 0),
		signature: session_keys_primitives::SessionSignature::Sr25519(Default::default()),
	};
	let info = call.get_dispatch_info();
	assert_eq!(info.class, DispatchClass::Operational);
	assert_eq!(info.pays_fee, Pays::Yes, "it still pays its fee");
	// Every other adjudicator call is an ordinary one.
	let revoke =
		crate::Call::<Test>::revoke { public: SessionPublic::Sr25519(sr_pair(1).public()) };
	assert_eq!(revoke.get_dispatch_info().class, DispatchClass::Normal);
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
			RegisterCall::of(ALICE, public, proof).limit(100).collateral(100).register();
		}
		let s = state(1, 10, 10);
		assert_ok!(checkpoint_by(&ed, ed.public().into(), s));
		assert_ok!(checkpoint_by(&ec, ec.public().into(), s));
		// A signature of the wrong scheme never verifies.
		assert_noop!(
			checkpoint_by(&ec, ed.public().into(), state(2, 10, 10)),
			Error::<Test>::InvalidSignature
		);
	});
}

#[test]
fn only_the_counterpart_checkpoints() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		let s = state(1, 10, 0);
		only_the_counterpart(|origin| {
			Adjudicator::checkpoint(origin, public, s, sign_state(&pair, s))
		});
	});
}

#[test]
fn nonce_must_grow_and_owed_must_not_shrink() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		assert_ok!(checkpoint_by(&pair, public, state(5, 100, 0)));
		// The very same signed state, replayed.
		assert_noop!(checkpoint_by(&pair, public, state(5, 100, 0)), Error::<Test>::StaleNonce);
		assert_noop!(checkpoint_by(&pair, public, state(4, 150, 0)), Error::<Test>::StaleNonce);
		assert_noop!(checkpoint_by(&pair, public, state(6, 99, 0)), Error::<Test>::OwedDecreased);
	});
}

#[test]
fn owed_is_bounded_by_the_limit_not_by_the_collateral() {
	ExtBuilder::default().build_and_execute(|| {
		// Limit 1_000, collateral 600: after a price gap the key may sign more than the
		// collateral; the state is accepted and flags the session (see the settlement tests).
		let (pair, public) = open(600);
		assert_ok!(checkpoint_by(&pair, public, state(1, 601, 0)));
		assert_eq!(
			last_event(),
			Event::SessionUnderCollateralized { public, required: 601, collateral: 600 }
		);
		assert_ok!(Adjudicator::top_up(RuntimeOrigin::signed(ALICE), public, 1_000));
		assert_noop!(
			checkpoint_by(&pair, public, state(2, 1_001, 0)),
			Error::<Test>::OverSpendingLimit
		);
		assert_ok!(checkpoint_by(&pair, public, state(2, 1_000, 0)));
	});
}

#[test]
fn signatures_for_another_key_chain_or_session_are_rejected() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		let other = register_with(BOB, 2, Some(50), 500);
		let s = state(1, 10, 0);
		let checkpoint = |public, signature| {
			Adjudicator::checkpoint(RuntimeOrigin::signed(CLEARING), public, s, signature)
		};
		// Signed by another key.
		assert_noop!(
			checkpoint(public, sign_state(&sr_pair(2), s)),
			Error::<Test>::InvalidSignature
		);
		// Signed for another chain.
		let foreign = pair.sign(&s.signing_payload(&H256::repeat_byte(0xAB), &public));
		assert_noop!(checkpoint(public, foreign.into()), Error::<Test>::InvalidSignature);
		// A valid state of one session submitted for another.
		assert_noop!(checkpoint(other, sign_state(&pair, s)), Error::<Test>::InvalidSignature);
		// The other key signing a payload that names this session.
		assert_noop!(
			checkpoint(public, sign_state_for(&sr_pair(2), public, s)),
			Error::<Test>::InvalidSignature
		);
		// A signature over the same fields without the domain tag.
		let untagged = pair.sign(&(System::block_hash(0), public, 1u64, 10u64, 0u64).encode());
		assert_noop!(checkpoint(public, untagged.into()), Error::<Test>::InvalidSignature);
	});
}

#[test]
fn ownership_proofs_and_state_signatures_do_not_cross() {
	ExtBuilder::default().build_and_execute(|| {
		use sp_core::proof_of_possession::ProofOfPossessionGenerator;
		let (pair, public) = open(500);
		// An ownership proof is not a state signature...
		let proof = pair.clone().generate_proof_of_possession(&CLEARING.encode());
		assert_noop!(
			Adjudicator::checkpoint(
				RuntimeOrigin::signed(CLEARING),
				public,
				state(1, 0, 0),
				proof.into()
			),
			Error::<Test>::InvalidSignature
		);
		// ...and a state signature is not an ownership proof.
		let fresh = sr_pair(3);
		let crate::SessionSignature::Sr25519(state_sig) = sign_state(&fresh, state(1, 0, 0)) else {
			unreachable!()
		};
		assert_noop!(
			registration(ALICE, 3).proof(bounded(state_sig.encode())).submit(),
			Error::<Test>::InvalidProof
		);
	});
}

#[test]
fn under_collateralizing_state_is_recorded_and_the_session_stays() {
	ExtBuilder::default().build_and_execute(|| {
		let (pair, public) = open(500);
		assert_ok!(checkpoint_by(&pair, public, state(1, 300, 201)));
		let events = pallet_events();
		assert_eq!(
			events[events.len() - 2],
			Event::StateCheckpointed { public, nonce: 1, owed: 300, margin: 201 }
		);
		assert_eq!(
			last_event(),
			Event::SessionUnderCollateralized { public, required: 501, collateral: 500 }
		);
		let session = Sessions::<Test>::get(public).unwrap();
		assert!(session.is_under_collateralized());
		assert!(endings().is_empty(), "recording a state never ends the session");
		// Exactly at the collateral is healthy: no event.
		assert_ok!(checkpoint_by(&pair, public, state(2, 300, 200)));
		assert_eq!(
			last_event(),
			Event::StateCheckpointed { public, nonce: 2, owed: 300, margin: 200 }
		);
	});
}

#[test]
fn unknown_and_settled_keys_take_no_state() {
	ExtBuilder::default().build_and_execute(|| {
		let expiring = register_with(BOB, 4, Some(3), 100);
		let pair = sr_pair(4);
		run_to_block(4 + CHALLENGE_PERIOD);
		assert_noop!(checkpoint_by(&pair, expiring, state(1, 10, 0)), Error::<Test>::KeyRetired);
		let (unknown, _) = sr_key(9, ALICE);
		assert_noop!(checkpoint_by(&sr_pair(9), unknown, state(1, 10, 0)), Error::<Test>::NotFound);
	});
}

#[test]
fn no_state_once_the_window_is_over_even_in_the_backlog() {
	ExtBuilder::default().build_and_execute(|| {
		let (seed, waiting) = key_waiting_in_backlog(50);
		assert_noop!(
			Adjudicator::checkpoint(
				RuntimeOrigin::signed(CLEARING),
				waiting,
				state(1, 1, 0),
				sign_state(&sr_pair(seed), state(1, 1, 0))
			),
			Error::<Test>::WindowClosed
		);
	});
}

/// A session of the pure rule tests: limit 100, collateral 80, last state (3, 20, 0), and a
/// pending decrease to 50 from block 10 when `pending`.
fn rule_session(pending: bool) -> crate::RegistrationOf<Test> {
	let mut session = crate::Registration {
		owner: ALICE,
		counterpart: CLEARING,
		delegate: None,
		registered_at: 1,
		expires_at: 20,
		settles_at: 30,
		revoked: false,
		duration: 19,
		spending_limit: 100,
		pending_limit: None,
		collateral: 80,
		deposit: 0,
		description: Default::default(),
		scope: Default::default(),
		state: ChannelState { nonce: 3, owed: 20, margin: 0 },
	};
	if pending {
		session.pending_limit = Some(crate::PendingLimit { limit: 50, applies_at: 10 });
	}
	session
}

#[test]
fn checkpoint_rules_on_their_own() {
	let session = rule_session(false);
	let check = |nonce, owed| session.check_state(&state(nonce, owed, 999), 5);
	assert_eq!(check(4, 20), Ok(()), "owed may stay, margin is free");
	assert_eq!(check(3, 30), Err(StateRejection::StaleNonce));
	assert_eq!(check(2, 30), Err(StateRejection::StaleNonce));
	assert_eq!(check(4, 19), Err(StateRejection::OwedDecreased));
	assert_eq!(check(4, 80), Ok(()), "at the collateral");
	assert_eq!(check(4, 81), Ok(()), "above the collateral: liquidatable, not refused");
	let mut rich = rule_session(false);
	rich.collateral = 1_000;
	assert_eq!(rich.check_state(&state(4, 100, 0), 5), Ok(()), "at the limit");
	assert_eq!(rich.check_state(&state(4, 101, 0), 5), Err(StateRejection::OverSpendingLimit));
}

#[test]
fn a_pending_decrease_binds_from_its_block_and_never_below_owed() {
	let session = rule_session(true);
	// Before block 10 the old limit (100) applies, from block 10 the new one (50).
	assert_eq!(session.limit_at(9), 100);
	assert_eq!(session.limit_at(10), 50);
	assert_eq!(session.check_state(&state(4, 70, 0), 9), Ok(()));
	assert_eq!(session.check_state(&state(4, 70, 0), 10), Err(StateRejection::OverSpendingLimit));
	// A state checkpointed in time keeps its amount valid: the decrease stops at it.
	let mut owing = rule_session(true);
	owing.state.owed = 70;
	assert_eq!(owing.limit_at(10), 70);
	owing.apply_due_limit(9);
	assert!(owing.pending_limit.is_some(), "not folded before its block");
	owing.apply_due_limit(10);
	assert_eq!((owing.spending_limit, owing.pending_limit), (70, None));
}
