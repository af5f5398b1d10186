//! Blocks stuffed with normal transactions cannot keep a counterpart's `checkpoint` out of its
//! closing window: the call is operational, and fees rise with congestion.

mod common;

use codec::Encode;
use common::*;
use frame_support::dispatch::DispatchClass;
use session_keys_primitives::{ChannelState, SessionPublic};
use session_keys_runtime::{Adjudicator, Runtime, RuntimeCall, System, TransactionPayment};
use sp_core::{proof_of_possession::ProofOfPossessionGenerator, sr25519, Pair};
use sp_keyring::Sr25519Keyring::{Alice, Bob};
use sp_runtime::{
	transaction_validity::{InvalidTransaction, TransactionValidityError},
	FixedPointNumber,
};

/// Fills the normal class of the current block to its limit, as a stuffing attacker would.
fn fill_normal_class() {
	let weights = <Runtime as frame_system::Config>::BlockWeights::get();
	let max_normal = weights.get(DispatchClass::Normal).max_total.expect("a normal limit");
	System::register_extra_weight_unchecked(max_normal, DispatchClass::Normal);
}

#[test]
fn a_full_normal_class_does_not_keep_a_checkpoint_out() {
	dev_chain().execute_with(|| {
		next_block();
		// Alice registers a key with Bob as counterpart; the key signs a state.
		let mut pair = sr25519::Pair::from_seed(&[9; 32]);
		let public: SessionPublic = pair.public().into();
		let proof = pair.generate_proof_of_possession(&account(Alice).encode());
		let register = RuntimeCall::Adjudicator(pallet_session_keys::Call::register {
			public,
			proof: proof.encode().try_into().unwrap(),
			counterpart: account(Bob).into(),
			duration: None,
			spending_limit: 1_000,
			collateral: 1_000,
			description: Default::default(),
			scope: Default::default(),
		});
		assert_eq!(apply_signed(Alice, register), Ok(Ok(())));
		let state = ChannelState { nonce: 1, owed: 10u128, margin: 0 };
		let signature =
			pair.sign(&state.signing_payload(&Adjudicator::genesis_hash(), &public)).into();

		fill_normal_class();
		// An ordinary transaction no longer fits...
		let transfer = RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
			dest: account(Alice).into(),
			value: 1_000_000_000_000,
		});
		assert_eq!(
			apply_signed(Bob, transfer),
			Err(TransactionValidityError::Invalid(InvalidTransaction::ExhaustsResources))
		);
		// ...and the counterpart's checkpoint still does.
		let checkpoint = RuntimeCall::Adjudicator(pallet_session_keys::Call::checkpoint {
			public,
			state,
			signature,
		});
		assert_eq!(apply_signed(Bob, checkpoint), Ok(Ok(())));
		assert_eq!(Adjudicator::session(&public).unwrap().state, state);
	});
}

#[test]
fn fees_rise_while_blocks_are_full_and_never_fall_below_the_base() {
	dev_chain().execute_with(|| {
		next_block();
		assert_eq!(TransactionPayment::next_fee_multiplier(), 1.into());
		// Ten full blocks: the multiplier rises every block.
		let mut last = TransactionPayment::next_fee_multiplier();
		for _ in 0..10 {
			fill_normal_class();
			next_block();
			let now = TransactionPayment::next_fee_multiplier();
			assert!(now > last, "{now:?} after {last:?}");
			last = now;
		}
		// Empty blocks bring it down again, to the base and no further.
		for _ in 0..200 {
			next_block();
		}
		assert_eq!(TransactionPayment::next_fee_multiplier(), 1.into());
		assert!(last.saturating_mul_int(1_000_000u128) > 1_000_000);
	});
}
