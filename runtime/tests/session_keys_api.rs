//! `SessionKeysApi`: keys generated in the keystore with their proofs register through real
//! runtime dispatch; queries see them; a proof for another owner fails.

mod common;

use common::*;
use pallet_session_keys::Error;
use session_keys_primitives::{
	runtime_decl_for_session_keys_api::SessionKeysApiV5, CryptoKind, EndReason,
	GeneratedSessionKey, Phase, ProofError, KEY_TYPE,
};
use session_keys_runtime::{AccountId, Adjudicator, Runtime, RuntimeCall, System};
use sp_keyring::Sr25519Keyring::{Alice, Bob, Charlie};
use sp_runtime::{traits::Dispatchable, DispatchError};

fn generate(owner: AccountId, crypto: CryptoKind, seed: Option<&str>) -> GeneratedSessionKey {
	Runtime::generate_session_key(owner, crypto, seed.map(|s| s.as_bytes().to_vec()))
		.expect("the keystore makes a proof")
}

fn register_call(key: &GeneratedSessionKey, counterpart: AccountId) -> RuntimeCall {
	RuntimeCall::Adjudicator(pallet_session_keys::Call::register {
		public: key.public,
		proof: key.proof.clone().try_into().expect("a proof fits"),
		counterpart: counterpart.into(),
		duration: None,
		spending_limit: 0,
		collateral: 0,
		description: b"api test".to_vec().try_into().unwrap(),
		scope: Default::default(),
	})
}

fn module_error(error: Error<Runtime>) -> DispatchError {
	DispatchError::from(error)
}

#[test]
fn generated_keys_of_every_kind_register_through_signed_extrinsics() {
	dev_chain().execute_with(|| {
		for crypto in [CryptoKind::Sr25519, CryptoKind::Ed25519, CryptoKind::Ecdsa] {
			let key = generate(account(Alice), crypto, None);
			assert_eq!(key.public.kind(), crypto);
			assert_eq!(
				Runtime::verify_ownership(key.public, account(Alice), key.proof.clone()),
				Ok(())
			);
			assert_eq!(apply_signed(Alice, register_call(&key, account(Bob))), Ok(Ok(())));
			let registration = Runtime::registration(key.public).expect("registered");
			assert_eq!(registration.owner, account(Alice));
			assert_eq!(registration.counterpart, account(Bob));
			assert_eq!(registration.description, b"api test".to_vec());
		}
		let keys = Runtime::keys_of(account(Alice));
		assert_eq!(keys.len(), 3);
	});
}

#[test]
fn the_key_lives_in_the_keystore_under_the_project_key_type() {
	dev_chain().execute_with(|| {
		let key = generate(account(Alice), CryptoKind::Sr25519, None);
		let session_keys_primitives::SessionPublic::Sr25519(public) = key.public else {
			panic!("sr25519 requested")
		};
		let stored = sp_io::crypto::sr25519_public_keys(KEY_TYPE);
		assert!(stored.contains(&public), "the private half is kept under `sadj`");
	});
}

#[test]
fn a_seed_makes_the_key_deterministic() {
	dev_chain().execute_with(|| {
		let a = generate(account(Alice), CryptoKind::Sr25519, Some("//Alice//session"));
		let b = generate(account(Bob), CryptoKind::Sr25519, Some("//Alice//session"));
		assert_eq!(a.public, b.public);
		assert_ne!(a.proof, b.proof, "each proof names its owner");
	});
}

#[test]
fn a_proof_for_another_owner_is_refused_and_changes_nothing() {
	dev_chain().execute_with(|| {
		let key = generate(account(Alice), CryptoKind::Sr25519, None);
		assert_eq!(
			Runtime::verify_ownership(key.public, account(Bob), key.proof.clone()),
			Err(ProofError::Invalid)
		);
		// Bob front-runs with Alice's key and proof: refused.
		let result = apply_signed(Bob, register_call(&key, account(Charlie)));
		assert_eq!(result, Ok(Err(module_error(Error::<Runtime>::InvalidProof))));
		assert!(Runtime::registration(key.public).is_none());
		// A malformed proof is named as such.
		let mut bad = register_call(&key, account(Bob));
		if let RuntimeCall::Adjudicator(pallet_session_keys::Call::register { proof, .. }) =
			&mut bad
		{
			*proof = vec![1, 2, 3].try_into().unwrap();
		}
		assert_eq!(
			apply_signed(Alice, bad),
			Ok(Err(module_error(Error::<Runtime>::MalformedProof)))
		);
		// The right owner still registers it.
		assert_eq!(apply_signed(Alice, register_call(&key, account(Bob))), Ok(Ok(())));
	});
}

#[test]
fn retired_records_are_queryable_and_the_key_is_never_reused() {
	dev_chain().execute_with(|| {
		let key = generate(account(Alice), CryptoKind::Ed25519, None);
		assert_eq!(apply_signed(Alice, register_call(&key, account(Bob))), Ok(Ok(())));
		let revoke =
			RuntimeCall::Adjudicator(pallet_session_keys::Call::revoke { public: key.public });
		assert_eq!(apply_signed(Alice, revoke), Ok(Ok(())));
		// Closing first: the registration says so, with the block it settles at.
		let closing = Runtime::registration(key.public).expect("closing");
		assert_eq!(closing.phase_at(System::block_number()), Phase::Closing(EndReason::Revoked));
		assert_eq!(closing.settles_at, System::block_number() + Adjudicator::challenge_period());
		assert_eq!(
			apply_signed(Alice, register_call(&key, account(Bob))),
			Ok(Err(module_error(Error::<Runtime>::AlreadyRegistered)))
		);
		run_to_block(closing.settles_at);
		assert!(Runtime::registration(key.public).is_none());
		let retired = Runtime::retired(key.public).expect("retired");
		assert_eq!(retired.reason, EndReason::Revoked);
		assert_eq!(retired.owner, account(Alice));
		assert!(Runtime::keys_of(account(Alice)).is_empty());
		assert_eq!(
			apply_signed(Alice, register_call(&key, account(Bob))),
			Ok(Err(module_error(Error::<Runtime>::KeyRetired)))
		);
	});
}

#[test]
fn unsigned_origins_cannot_register() {
	dev_chain().execute_with(|| {
		let key = generate(account(Alice), CryptoKind::Sr25519, None);
		let result =
			register_call(&key, account(Bob)).dispatch(session_keys_runtime::RuntimeOrigin::none());
		assert_eq!(result.map_err(|e| e.error), Err(DispatchError::BadOrigin));
	});
}
