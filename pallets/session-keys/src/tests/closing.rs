//! The closing window: after a key expires or is revoked, the counterpart has `ChallengePeriod`
//! blocks to checkpoint the newest state the key signed, and the session settles at that state.
//! The owner can never settle below what its key signed.

use super::*;
use crate::{ExpiryQueue, Phase, Retired, Sessions};
use frame_support::{assert_ok, traits::fungible::Inspect};
use session_keys_primitives::{AuthError, RequestHeader};
use sp_core::{crypto::Pair, H256};

/// The start: Alice's key with `CLEARING` as counterpart, collateral 100, limit 60,
/// duration 20; the counterpart checkpoints nonce 1 (owed 5).
fn opened() -> SessionPublic {
	let public = registration(ALICE, 1).duration(Some(20)).limit(60).collateral(100).register();
	assert_ok!(checkpoint_by(&sr_pair(1), public, state(1, 5, 0)));
	public
}

/// Checks the session of `public` settled at `settles_at` (and not before) paying the
/// counterpart 40 of its collateral 100, with `reason`, and that balances moved by exactly that.
fn settles_at_40(public: SessionPublic, settles_at: u64, reason: EndReason, ended_at: u64) {
	let issuance = Balances::total_issuance();
	run_to_block(settles_at - 1);
	assert!(endings().is_empty(), "not settled before the window ends");
	run_to_block(settles_at);
	assert_eq!(endings(), vec![(public, reason, ended_at)]);
	assert_eq!(last_event(), ended(public, ALICE, reason, ended_at, 40, 100));
	assert_eq!(Balances::balance(&CLEARING), INITIAL_BALANCE + 40, "paid what the key signed");
	assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE - 40 - record_fee());
	assert_eq!(held(ALICE), 0);
	assert_eq!(Balances::total_issuance(), issuance - record_fee());
	let record = Retired::<Test>::get(public).unwrap();
	assert_eq!((record.nonce, record.owed, record.reason), (2, 40, reason));
}

#[test]
fn revoke_closes_and_a_newer_state_is_checkpointed_in_the_window() {
	ExtBuilder::default().build_and_execute(|| {
		let public = opened();
		run_to_block(4);
		assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public));
		let settles_at = 4 + CHALLENGE_PERIOD;
		assert_eq!(
			last_event(),
			Event::SessionClosing { public, reason: EndReason::Revoked, settles_at }
		);
		let session = Sessions::<Test>::get(public).unwrap();
		assert_eq!(
			(session.expires_at, session.settles_at, session.revoked),
			(4, settles_at, true)
		);
		assert!(ExpiryQueue::<Test>::contains_key(settles_at, public));
		assert!(!ExpiryQueue::<Test>::contains_key(21 + CHALLENGE_PERIOD, public));
		assert_eq!(
			Adjudicator::registration(&public).unwrap().phase_at(System::block_number()),
			Phase::Closing(EndReason::Revoked)
		);
		assert!(!Adjudicator::is_valid_at(&public, 4));
		assert!(Adjudicator::is_valid_at(&public, 3));
		// The state the key signed before the revocation, checkpointed during the window.
		run_to_block(settles_at - 1);
		assert_ok!(checkpoint_by(&sr_pair(1), public, state(2, 40, 0)));
		settles_at_40(public, settles_at, EndReason::Revoked, 4);
	});
}

#[test]
fn revoke_all_closes_and_a_newer_state_is_checkpointed_in_the_window() {
	ExtBuilder::default().build_and_execute(|| {
		let public = opened();
		let other = register_key(ALICE, 2);
		run_to_block(3);
		assert_ok!(Adjudicator::revoke_all(RuntimeOrigin::signed(ALICE)));
		let settles_at = 3 + CHALLENGE_PERIOD;
		let closing: Vec<_> = pallet_events()
			.into_iter()
			.filter(|e| matches!(e, Event::SessionClosing { .. }))
			.collect();
		assert_eq!(
			closing,
			[public, other].map(|public| Event::SessionClosing {
				public,
				reason: EndReason::Revoked,
				settles_at
			})
		);
		assert_ok!(checkpoint_by(&sr_pair(1), public, state(2, 40, 0)));
		// Nothing live is left to revoke; what is closing stays as it is.
		assert_noop!(
			Adjudicator::revoke_all(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::NoLiveKeys
		);
		run_to_block(settles_at - 1);
		assert!(endings().is_empty());
		run_to_block(settles_at);
		let ended = endings();
		assert_eq!(ended.len(), 2);
		for key in [public, other] {
			assert!(ended.contains(&(key, EndReason::Revoked, 3)));
		}
		assert_eq!(Balances::balance(&CLEARING), INITIAL_BALANCE + 40);
	});
}

#[test]
fn expiry_closes_and_a_newer_state_is_checkpointed_in_the_window() {
	ExtBuilder::default().build_and_execute(|| {
		let public = opened();
		let expires_at = 21;
		run_to_block(expires_at);
		// Nothing happens at the expiry itself: no event, the session is closing.
		assert!(pallet_events()
			.iter()
			.all(|e| !matches!(e, Event::SessionEnded { .. } | Event::SessionClosing { .. })));
		assert_eq!(
			Adjudicator::registration(&public).unwrap().phase_at(System::block_number()),
			Phase::Closing(EndReason::Expired)
		);
		assert_ok!(checkpoint_by(&sr_pair(1), public, state(2, 40, 0)));
		settles_at_40(public, expires_at + CHALLENGE_PERIOD, EndReason::Expired, expires_at);
	});
}

#[test]
fn a_checkpoint_after_the_window_is_refused_and_changes_nothing() {
	ExtBuilder::default().build_and_execute(|| {
		let public = opened();
		assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public));
		run_to_block(2 + CHALLENGE_PERIOD);
		assert_noop!(
			checkpoint_by(&sr_pair(1), public, state(2, 40, 0)),
			Error::<Test>::KeyRetired
		);
		assert_eq!(Balances::balance(&CLEARING), INITIAL_BALANCE + 5);
	});
}

#[test]
fn during_closing_only_a_strictly_newer_state_is_taken() {
	ExtBuilder::default().build_and_execute(|| {
		let public = opened();
		assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public));
		let pair = sr_pair(1);
		assert_noop!(checkpoint_by(&pair, public, state(1, 40, 0)), Error::<Test>::StaleNonce);
		assert_noop!(checkpoint_by(&pair, public, state(0, 40, 0)), Error::<Test>::StaleNonce);
		assert_noop!(checkpoint_by(&pair, public, state(2, 4, 0)), Error::<Test>::OwedDecreased);
		assert_noop!(
			checkpoint_by(&pair, public, state(2, 61, 0)),
			Error::<Test>::OverSpendingLimit
		);
		// A checkpoint never extends the window.
		assert_ok!(checkpoint_by(&pair, public, state(2, 40, 0)));
		assert_eq!(Sessions::<Test>::get(public).unwrap().settles_at, 1 + CHALLENGE_PERIOD);
	});
}

#[test]
fn discontinue_during_closing_settles_at_once_and_only_once() {
	ExtBuilder::default().build_and_execute(|| {
		let public = opened();
		run_to_block(2);
		assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public));
		run_to_block(5);
		assert_ok!(checkpoint_by(&sr_pair(1), public, state(2, 40, 0)));
		assert_ok!(Adjudicator::discontinue(RuntimeOrigin::signed(CLEARING), public));
		assert_eq!(last_event(), ended(public, ALICE, EndReason::Discontinued, 2, 40, 100));
		assert!(!ExpiryQueue::<Test>::contains_key(2 + CHALLENGE_PERIOD, public));
		run_to_block(5 + 2 * CHALLENGE_PERIOD);
		assert_eq!(endings().len(), 1, "not settled a second time");
		assert_eq!(Balances::balance(&CLEARING), INITIAL_BALANCE + 40);
	});
}

#[test]
fn a_lowered_limit_cannot_void_a_signed_state() {
	ExtBuilder::default().build_and_execute(|| {
		let public = opened();
		assert_ok!(Adjudicator::set_spending_limit(RuntimeOrigin::signed(ALICE), public, 5));
		// The key signed nonce 2 (owed 40) under limit 60: still accepted.
		assert_ok!(checkpoint_by(&sr_pair(1), public, state(2, 40, 0)));
		assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public));
		settles_at_40(public, 1 + CHALLENGE_PERIOD, EndReason::Revoked, 1);
	});
}

#[test]
fn a_closing_key_is_invalid_for_everything_the_owner_or_the_key_does() {
	ExtBuilder::default().build_and_execute(|| {
		let public = opened();
		let expiring = register_with(ALICE, 2, Some(3), 0);
		assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public));
		run_to_block(4);
		let origin = || RuntimeOrigin::signed(ALICE);
		for (key, error) in [(public, Error::<Test>::Revoked), (expiring, Error::<Test>::Expired)] {
			let error = DispatchError::from(error);
			assert_noop!(Adjudicator::revoke(origin(), key), error);
			assert_noop!(Adjudicator::renew(origin(), key, None), error);
			assert_noop!(Adjudicator::top_up(origin(), key, 1), error);
			assert_noop!(Adjudicator::set_spending_limit(origin(), key, 100), error);
			let (new, proof) = sr_key(9, ALICE);
			assert_noop!(Adjudicator::rotate(origin(), key, new, proof), error);
		}
		// And for request authentication, with the reason (checked before the block hash).
		let current = H256::repeat_byte(7);
		let header = |public: SessionPublic, pair: sp_core::sr25519::Pair| {
			let mut header = RequestHeader {
				public,
				account: ALICE,
				block_hash: current,
				nonce: 1,
				audience: b"api".to_vec(),
				resource: b"orders".to_vec(),
				signature: pair.sign(b"").into(),
			};
			header.signature = pair.sign(&header.signing_payload(&System::block_hash(0))).into();
			header
		};
		let revoked = header(public, sr_pair(1));
		assert_eq!(Adjudicator::authenticate(&revoked), Err(AuthError::KeyRevoked));
		let expired = header(expiring, sr_pair(2));
		assert_eq!(Adjudicator::authenticate(&expired), Err(AuthError::KeyExpired));
	});
}

#[test]
fn a_short_renewal_never_shortens_the_window() {
	ExtBuilder::default().build_and_execute(|| {
		let public = opened();
		run_to_block(5);
		assert_ok!(Adjudicator::renew(RuntimeOrigin::signed(ALICE), public, Some(1)));
		let session = Sessions::<Test>::get(public).unwrap();
		assert_eq!((session.expires_at, session.settles_at), (6, 6 + CHALLENGE_PERIOD));
		run_to_block(6);
		assert_ok!(checkpoint_by(&sr_pair(1), public, state(2, 40, 0)));
		run_to_block(5 + CHALLENGE_PERIOD);
		assert_ok!(checkpoint_by(&sr_pair(1), public, state(3, 41, 0)));
		run_to_block(6 + CHALLENGE_PERIOD);
		assert_eq!(endings(), vec![(public, EndReason::Expired, 6)]);
	});
}
