//! `register`: proofs, never-reuse, limits and holds.

use super::*;
use crate::{Error, ExpiryQueue, OwnerSessions, ProofOf, Sessions};
use codec::{Decode, Encode};
use frame_support::{assert_noop, assert_ok, traits::fungible::Inspect, BoundedVec};
use sp_core::{crypto::Pair, proof_of_possession::ProofOfPossessionGenerator};
use sp_runtime::DispatchError;

fn register(
	owner: AccountId,
	public: SessionPublic,
	proof: crate::ProofOf,
) -> frame_support::dispatch::DispatchResult {
	RegisterCall::of(owner, public, proof).limit(500).submit()
}

#[test]
fn registers_sr25519_key_with_exact_event_and_holds() {
	ExtBuilder::default().build_and_execute(|| {
		let (public, proof) = sr_key(1, ALICE);
		let description: crate::DescriptionOf<Test> =
			b"frontend_session_key".to_vec().try_into().unwrap();
		let scope: crate::ScopeOf<Test> =
			vec![b"orders/".to_vec().try_into().unwrap()].try_into().unwrap();
		let deposit = DEPOSIT_BASE
			+ (description.encoded_size() + scope.encoded_size()) as u64
			+ record_fee();
		assert_ok!(RegisterCall {
			description: description.clone(),
			scope: scope.clone(),
			..RegisterCall::of(ALICE, public, proof).duration(Some(50)).limit(700).collateral(300)
		}
		.submit());
		assert_eq!(
			last_event(),
			Event::SessionRegistered {
				public,
				owner: ALICE,
				counterpart: CLEARING,
				delegate: None,
				expires_at: 51,
				spending_limit: 700,
				collateral: 300,
				deposit,
			}
		);
		assert_eq!(
			Sessions::<Test>::get(public),
			Some(crate::Registration {
				owner: ALICE,
				counterpart: CLEARING,
				delegate: None,
				registered_at: 1,
				expires_at: 51,
				settles_at: 51 + CHALLENGE_PERIOD,
				revoked: false,
				duration: 50,
				spending_limit: 700,
				pending_limit: None,
				collateral: 300,
				deposit,
				description,
				scope,
				state: Default::default(),
			})
		);
		assert_eq!(held(ALICE), 300 + deposit);
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE - 300 - deposit);
		assert_eq!(Adjudicator::keys_of(&ALICE), vec![public]);
		assert!(ExpiryQueue::<Test>::contains_key(51 + CHALLENGE_PERIOD, public));
		assert!(Adjudicator::is_valid_at(&public, 1));
		assert!(Adjudicator::is_valid_at(&public, 50));
		assert!(!Adjudicator::is_valid_at(&public, 51));
	});
}

#[test]
fn registers_ed25519_and_ecdsa_keys() {
	ExtBuilder::default().build_and_execute(|| {
		let ed = ed_pair(2);
		assert_ok!(register(ALICE, ed.public().into(), proof_for(&ed, ALICE)));
		let ec = ecdsa_pair(3);
		assert_ok!(register(ALICE, ec.public().into(), proof_for(&ec, ALICE)));
		assert_eq!(Adjudicator::keys_of(&ALICE).len(), 2);
	});
}

#[test]
fn default_duration_applies_when_none_given() {
	ExtBuilder::default().build_and_execute(|| {
		let public = register_key(ALICE, 1);
		assert_eq!(Sessions::<Test>::get(public).unwrap().expires_at, 1 + DEFAULT_DURATION);
	});
}

#[test]
fn maximum_duration_is_accepted_and_one_more_is_not() {
	ExtBuilder::default().build_and_execute(|| {
		register_with(ALICE, 1, Some(MAX_DURATION), 0);
		let (public, proof) = sr_key(2, ALICE);
		assert_noop!(
			RegisterCall::of(ALICE, public, proof)
				.duration(Some(MAX_DURATION + 1))
				.limit(0)
				.submit(),
			Error::<Test>::DurationTooLong
		);
	});
}

#[test]
fn zero_duration_is_rejected() {
	ExtBuilder::default().build_and_execute(|| {
		let (public, proof) = sr_key(1, ALICE);
		assert_noop!(
			RegisterCall::of(ALICE, public, proof).duration(Some(0)).limit(0).submit(),
			Error::<Test>::ZeroDuration
		);
	});
}

#[test]
fn forged_proof_is_rejected() {
	ExtBuilder::default().build_and_execute(|| {
		let (public, _) = sr_key(1, ALICE);
		assert_noop!(register(ALICE, public, bounded(vec![7u8; 64])), Error::<Test>::InvalidProof);
	});
}

#[test]
fn proof_for_another_owner_is_rejected() {
	ExtBuilder::default().build_and_execute(|| {
		let (public, bobs_proof) = sr_key(1, BOB);
		assert_noop!(register(ALICE, public, bobs_proof), Error::<Test>::InvalidProof);
	});
}

#[test]
fn proof_by_another_key_is_rejected() {
	ExtBuilder::default().build_and_execute(|| {
		let (public, _) = sr_key(1, ALICE);
		let (_, other_keys_proof) = sr_key(2, ALICE);
		assert_noop!(register(ALICE, public, other_keys_proof), Error::<Test>::InvalidProof);
	});
}

#[test]
fn proof_of_another_crypto_is_rejected() {
	ExtBuilder::default().build_and_execute(|| {
		let (public, _) = sr_key(1, ALICE);
		// An ed25519 signature has the sr25519 length but does not verify.
		let ed = ed_pair(1);
		assert_noop!(register(ALICE, public, proof_for(&ed, ALICE)), Error::<Test>::InvalidProof);
		// An ecdsa signature is one byte longer: not an sr25519 proof at all.
		let ec = ecdsa_pair(1);
		assert_noop!(register(ALICE, public, proof_for(&ec, ALICE)), Error::<Test>::MalformedProof);
		// And the other way round: an sr25519 proof for an ed25519 key.
		let sr = sr_pair(4);
		let ed_public: SessionPublic = ed_pair(4).public().into();
		assert_noop!(
			register(ALICE, ed_public, proof_for(&sr, ALICE)),
			Error::<Test>::InvalidProof
		);
	});
}

#[test]
fn truncated_proof_and_trailing_bytes_are_rejected() {
	ExtBuilder::default().build_and_execute(|| {
		let (public, proof) = sr_key(1, ALICE);
		let truncated = bounded(proof[..63].to_vec());
		assert_noop!(register(ALICE, public, truncated), Error::<Test>::MalformedProof);
		let mut long = proof.to_vec();
		long.push(0);
		assert_noop!(register(ALICE, public, bounded(long)), Error::<Test>::MalformedProof);
		assert_noop!(register(ALICE, public, bounded(vec![])), Error::<Test>::MalformedProof);
	});
}

#[test]
fn plain_signature_over_owner_is_not_a_proof() {
	ExtBuilder::default().build_and_execute(|| {
		// Without the `POP_` context a signature is not a proof of possession.
		let pair = sr_pair(1);
		let signature = pair.sign(&ALICE.encode());
		assert_noop!(
			register(ALICE, pair.public().into(), bounded(signature.encode())),
			Error::<Test>::InvalidProof
		);
	});
}

#[test]
fn front_running_with_an_observed_proof_fails() {
	ExtBuilder::default().build_and_execute(|| {
		// Bob sees Alice's key and proof in the pool and submits them first.
		let (public, alices_proof) = sr_key(1, ALICE);
		assert_noop!(register(BOB, public, alices_proof.clone()), Error::<Test>::InvalidProof);
		// Alice's own registration still goes through.
		assert_ok!(register(ALICE, public, alices_proof));
	});
}

#[test]
fn live_key_cannot_be_registered_twice() {
	ExtBuilder::default().build_and_execute(|| {
		let public = register_key(ALICE, 1);
		let (_, proof) = sr_key(1, ALICE);
		assert_noop!(register(ALICE, public, proof), Error::<Test>::AlreadyRegistered);
		let (_, bobs) = sr_key(1, BOB);
		assert_noop!(register(BOB, public, bobs), Error::<Test>::AlreadyRegistered);
	});
}

#[test]
fn retired_key_can_never_be_registered_again() {
	ExtBuilder::default().build_and_execute(|| {
		let public = register_key(ALICE, 1);
		assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(ALICE), public));
		// Closing: still registered.
		let (_, proof) = sr_key(1, ALICE);
		assert_noop!(register(ALICE, public, proof), Error::<Test>::AlreadyRegistered);
		run_to_block(1 + CHALLENGE_PERIOD);
		for owner in [ALICE, BOB] {
			let (_, proof) = sr_key(1, owner);
			assert_noop!(register(owner, public, proof), Error::<Test>::KeyRetired);
		}
		// Still refused much later.
		run_to_block(5_000);
		let (_, proof) = sr_key(1, ALICE);
		assert_noop!(register(ALICE, public, proof), Error::<Test>::KeyRetired);
	});
}

#[test]
fn per_owner_cap_is_enforced_at_its_bound() {
	ExtBuilder::default().build_and_execute(|| {
		let cap = MaxKeysPerOwner::get();
		for seed in 0..cap as u8 {
			register_key(ALICE, 10 + seed);
		}
		let (public, proof) = sr_key(99, ALICE);
		assert_noop!(register(ALICE, public, proof.clone()), Error::<Test>::TooManyKeys);
		// Another owner is unaffected; a closing key still takes its slot until it settles, and
		// a freed slot can be used again.
		register_key(BOB, 98);
		let first = Adjudicator::keys_of(&ALICE)[0];
		assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(ALICE), first));
		assert_noop!(register(ALICE, public, proof.clone()), Error::<Test>::TooManyKeys);
		run_to_block(1 + CHALLENGE_PERIOD);
		assert_ok!(register(ALICE, public, proof));
		assert_eq!(OwnerSessions::<Test>::get(ALICE).len() as u32, cap);
	});
}

#[test]
fn collateral_beyond_free_balance_is_rejected() {
	ExtBuilder::default().build_and_execute(|| {
		let (public, proof) = sr_key(1, ALICE);
		let all_free = INITIAL_BALANCE - empty_deposit();
		assert_noop!(
			RegisterCall::of(ALICE, public, proof.clone())
				.limit(0)
				.collateral(all_free + 1)
				.submit(),
			Error::<Test>::InsufficientBalance
		);
	});
}

#[test]
fn collateral_whose_sum_with_the_deposit_overflows_is_rejected() {
	ExtBuilder::default().build_and_execute(|| {
		let (public, proof) = sr_key(1, ALICE);
		assert_noop!(
			RegisterCall::of(ALICE, public, proof).limit(0).collateral(Balance::MAX).submit(),
			Error::<Test>::InsufficientBalance
		);
	});
}

#[test]
fn owner_without_funds_cannot_pay_the_deposit() {
	ExtBuilder::default().with_balance(PAUPER, 5).build_and_execute(|| {
		let (public, proof) = sr_key(1, PAUPER);
		assert_noop!(register(PAUPER, public, proof), Error::<Test>::InsufficientBalance);
	});
}

#[test]
fn counterpart_must_differ_from_owner() {
	ExtBuilder::default().build_and_execute(|| {
		let (public, proof) = sr_key(1, ALICE);
		assert_noop!(
			RegisterCall::of(ALICE, public, proof).counterpart(ALICE).limit(0).submit(),
			Error::<Test>::CounterpartIsOwner
		);
	});
}

#[test]
fn register_requires_a_signed_origin() {
	ExtBuilder::default().build_and_execute(|| {
		let (public, proof) = sr_key(1, ALICE);
		for origin in [RuntimeOrigin::root(), RuntimeOrigin::none()] {
			assert_noop!(
				RegisterCall::of(ALICE, public, proof.clone()).limit(0).submit_as(origin),
				DispatchError::BadOrigin
			);
		}
	});
}

#[test]
fn oversized_description_scope_and_proof_do_not_decode() {
	use codec::Decode;
	ExtBuilder::default().build_and_execute(|| {
		let (public, proof) = sr_key(1, ALICE);
		// Encode the call with unbounded vectors one past each bound; decoding must fail.
		let encode = |description: Vec<u8>, scope: Vec<Vec<u8>>, proof: Vec<u8>| {
			let mut call = vec![2u8, 0u8]; // pallet index, call index
			call.extend(public.encode());
			call.extend(proof.encode());
			call.extend(CLEARING.encode());
			call.extend(None::<u64>.encode());
			call.extend(codec::Compact(0u64).encode());
			call.extend(codec::Compact(0u64).encode());
			call.extend(description.encode());
			call.extend(scope.encode());
			call
		};
		let ok = encode(vec![1; 32], vec![vec![1; 16]; 4], proof.to_vec());
		assert!(RuntimeCall::decode(&mut &ok[..]).is_ok(), "at the bounds the call decodes");
		for bad in [
			encode(vec![1; 33], vec![], proof.to_vec()),
			encode(vec![], vec![vec![1; 17]], proof.to_vec()),
			encode(vec![], vec![vec![1; 1]; 5], proof.to_vec()),
			encode(vec![], vec![], vec![0; crate::MAX_PROOF_LEN as usize + 1]),
		] {
			assert!(RuntimeCall::decode(&mut &bad[..]).is_err());
		}
	});
}

#[test]
fn deposit_grows_with_description_and_scope() {
	ExtBuilder::default().build_and_execute(|| {
		let (public, proof) = sr_key(1, ALICE);
		let description: crate::DescriptionOf<Test> = BoundedVec::try_from(vec![b'x'; 32]).unwrap();
		assert_ok!(RegisterCall { description, ..RegisterCall::of(ALICE, public, proof).limit(0) }
			.submit());
		// 32 bytes + 1 length byte for the description, 1 length byte for the empty scope, and
		// the retired record's price.
		assert_eq!(held(ALICE), DEPOSIT_BASE + 34 + record_fee());
	});
}

#[test]
fn keystore_generated_key_and_proof_register() {
	use sp_application_crypto::RuntimePublic;
	use sp_core::sr25519;
	ExtBuilder::default().build_and_execute(|| {
		// The path a node takes: generate in the keystore, prove with the runtime API helper.
		let mut key = sr25519::Public::generate_pair(session_keys_primitives::KEY_TYPE, None);
		let proof = key
			.generate_proof_of_possession(session_keys_primitives::KEY_TYPE, &ALICE.encode())
			.expect("key is in the keystore");
		assert_ok!(register(ALICE, key.into(), bounded(proof.encode())));
		// The same proof is worthless for Bob.
		let mut other = sr25519::Public::generate_pair(session_keys_primitives::KEY_TYPE, None);
		let alices = other
			.generate_proof_of_possession(session_keys_primitives::KEY_TYPE, &ALICE.encode())
			.unwrap();
		assert_noop!(
			register(BOB, other.into(), bounded(alices.encode())),
			Error::<Test>::InvalidProof
		);
	});
}

#[test]
fn standard_generator_proof_equals_a_pop_statement_signature() {
	// sr25519 signatures are randomised, so compare by verification of the statement.
	let mut pair = sr_pair(1);
	let proof = pair.generate_proof_of_possession(&ALICE.encode());
	let statement = [&b"POP_"[..], &ALICE.encode()[..]].concat();
	assert!(sp_core::sr25519::Pair::verify(&proof, statement, &pair.public()));
}

/// Keys that bind no one, each with the signature `(R = identity, s = 0)` that verifies on
/// every message for it: the attack is real (the signature verifies), and `register` refuses the
/// key anyway.
pub(crate) fn weak_keys() -> Vec<(SessionPublic, ProofOf)> {
	use sp_core::{ecdsa, ed25519, sr25519};
	let universal = |identity: [u8; 32]| {
		let mut signature = [0u8; 64];
		signature[..32].copy_from_slice(&identity);
		signature
	};
	let mut ed_identity = [0u8; 32];
	ed_identity[0] = 1;
	// The identity with x's sign bit set: negative zero, a non-canonical encoding.
	let mut ed_negative_zero = ed_identity;
	ed_negative_zero[31] |= 0x80;
	let sr = sr25519::Public::from_raw([0; 32]);
	// schnorrkel marks its signatures with the top bit of the last byte; s stays 0.
	let mut sr_raw = universal([0; 32]);
	sr_raw[63] |= 0x80;
	let sr_sig = sr25519::Signature::from_raw(sr_raw);
	let ed = ed25519::Public::from_raw(ed_identity);
	let ed_sig = ed25519::Signature::from_raw(universal(ed_identity));
	let ed_neg = ed25519::Public::from_raw(ed_negative_zero);
	let ed_neg_sig = ed25519::Signature::from_raw(universal(ed_negative_zero));
	let statement = [&b"POP_"[..], &ALICE.encode()[..]].concat();
	assert!(SessionPublic::from(sr).verify(&statement, &sr_sig.into()), "universal sr25519");
	assert!(SessionPublic::from(ed).verify(&statement, &ed_sig.into()), "universal ed25519");
	vec![
		(sr.into(), bounded(sr_sig.encode())),
		(ed.into(), bounded(ed_sig.encode())),
		(ed_neg.into(), bounded(ed_neg_sig.encode())),
		(ecdsa::Public::from_raw([0; 33]).into(), bounded(vec![0; 65])),
	]
}

#[test]
fn keys_that_bind_no_one_are_refused_whatever_the_proof() {
	ExtBuilder::default().build_and_execute(|| {
		for (public, proof) in weak_keys() {
			assert_noop!(
				RegisterCall::of(ALICE, public, proof.clone()).submit(),
				Error::<Test>::WeakKey
			);
			// Nor for another owner, with any proof at all.
			assert_noop!(
				RegisterCall::of(BOB, public, bounded(vec![])).submit(),
				Error::<Test>::WeakKey
			);
		}
	});
}

#[test]
fn a_weak_key_left_from_before_the_check_signs_nothing() {
	// A chain upgraded from a runtime that did not refuse weak keys may hold one: neither its
	// states nor its request headers are accepted, whatever the universal signature says.
	ExtBuilder::default().build().execute_with(|| {
		let real = registration(ALICE, 1).scope(&[b"*"]).register();
		let mut session = Sessions::<Test>::get(real).unwrap();
		session.counterpart = CLEARING;
		let (weak, proof) = weak_keys().remove(0);
		Sessions::<Test>::insert(weak, session);
		let universal: crate::SessionSignature =
			sp_core::sr25519::Signature::decode(&mut &proof[..]).unwrap().into();
		let s = state(1, 10, 0);
		assert!(weak.verify(&s.signing_payload(&System::block_hash(0), &weak), &universal));
		assert_noop!(
			Adjudicator::checkpoint(RuntimeOrigin::signed(CLEARING), weak, s, universal.clone()),
			Error::<Test>::WeakKey
		);
		let header = crate::RequestHeaderOf::<Test> {
			public: weak,
			account: ALICE,
			block_hash: System::block_hash(0),
			nonce: 1,
			audience: b"api".to_vec(),
			resource: b"orders".to_vec(),
			signature: universal.clone(),
		};
		assert!(weak.verify(&header.signing_payload(&System::block_hash(0)), &universal));
		assert_eq!(
			Adjudicator::authenticate(&header),
			Err(session_keys_primitives::AuthError::BadSignature)
		);
	});
}
