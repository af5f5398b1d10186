//! Validators rotate consensus keys by extrinsic: `SessionKeys::generate_session_keys(owner, seed)`
//! (what `author_rotateKeysWithOwner` calls) returns keys with an RFC-0048 proof that
//! `session.set_keys` accepts for that owner only, and the keys take over at a session change.

mod common;

use codec::{Decode, Encode};
use common::*;
use session_keys_runtime::{
	configs::SessionPeriod, Grandpa, Runtime, RuntimeCall, Session, SessionKeys,
};
use sp_keyring::Sr25519Keyring::{Alice, Bob};
use sp_runtime::DispatchError;
use sp_session::runtime_decl_for_session_keys::SessionKeysV2;

fn rotate_keys_with_owner(owner: &session_keys_runtime::AccountId) -> (SessionKeys, Vec<u8>) {
	let generated = Runtime::generate_session_keys(owner.encode(), None);
	let keys = SessionKeys::decode(&mut &generated.keys[..]).expect("keys decode");
	(keys, generated.proof)
}

fn set_keys(keys: SessionKeys, proof: Vec<u8>) -> RuntimeCall {
	RuntimeCall::Session(pallet_session::Call::set_keys { keys, proof })
}

#[test]
fn generated_keys_are_accepted_for_their_owner_and_take_over_at_a_session_change() {
	dev_chain().execute_with(|| {
		let (keys, proof) = rotate_keys_with_owner(&account(Alice));
		let decoded = Runtime::decode_session_keys(keys.encode()).expect("decodes");
		assert_eq!(decoded.len(), 2, "aura and grandpa");

		assert_eq!(apply_signed(Alice, set_keys(keys.clone(), proof)), Ok(Ok(())));
		assert_eq!(pallet_session::NextKeys::<Runtime>::get(account(Alice)), Some(keys.clone()));
		assert_ne!(
			pallet_aura::Authorities::<Runtime>::get().into_inner(),
			vec![keys.aura.clone()]
		);

		// Queued at the next session change, active at the one after.
		let period: u32 = <SessionPeriod as frame_support::traits::Get<u32>>::get();
		run_to_block(2 * period + 1);
		assert_eq!(Session::current_index(), 2);
		assert_eq!(
			pallet_aura::Authorities::<Runtime>::get().into_inner(),
			vec![keys.aura.clone()]
		);
		assert_eq!(Grandpa::grandpa_authorities(), vec![(keys.grandpa.clone(), 1)]);
	});
}

#[test]
fn the_same_keys_and_proof_are_refused_for_another_account() {
	dev_chain().execute_with(|| {
		let (keys, proof) = rotate_keys_with_owner(&account(Alice));
		assert_eq!(
			apply_signed(Bob, set_keys(keys.clone(), proof.clone())),
			Ok(Err(DispatchError::from(pallet_session::Error::<Runtime>::InvalidProof)))
		);
		assert_eq!(pallet_session::NextKeys::<Runtime>::get(account(Bob)), None);
		// A truncated proof is refused too.
		assert_eq!(
			apply_signed(Alice, set_keys(keys.clone(), proof[..proof.len() - 1].to_vec())),
			Ok(Err(DispatchError::from(pallet_session::Error::<Runtime>::InvalidProof)))
		);
		assert_eq!(apply_signed(Alice, set_keys(keys, proof)), Ok(Ok(())));
	});
}
