//! `pallet_session`'s calls benchmarked for this runtime.
//!
//! pallet-session's own benchmarks (the `pallet-session-benchmarking` crate) set up a validator
//! through pallet-staking, which this runtime does not have. These are the same two benchmarks
//! with the setup this runtime needs: a funded account that already has keys, so `set_keys` takes
//! its worst path (the old keys' owners removed, the new ones written) after verifying the
//! ownership proof, the check that makes it the counterpart of our `register`.

use alloc::vec::Vec;
use codec::Encode;
use frame_benchmarking::v2::*;
use frame_support::{
	assert_ok,
	traits::fungible::{Inspect, Mutate},
};
use frame_system::RawOrigin;
use pallet_session::Call;

/// The benchmarks' pallet: `pallet_session` seen through this module's [`Config`].
pub struct Pallet<T: Config>(pallet_session::Pallet<T>);

/// What the benchmarks need from the runtime.
pub trait Config:
	pallet_session::Config<ValidatorId = <Self as frame_system::Config>::AccountId>
	+ pallet_balances::Config
{
	/// New session keys in the keystore and their ownership proof for `owner`, as the node's
	/// `author_rotateKeysWithOwner` makes them.
	fn keys_and_proof(owner: &Self::AccountId) -> (Self::Keys, Vec<u8>);
}

impl Config for crate::Runtime {
	fn keys_and_proof(owner: &Self::AccountId) -> (Self::Keys, Vec<u8>) {
		let generated = crate::SessionKeys::generate(&owner.encode(), None);
		(generated.keys, generated.proof.encode())
	}
}

/// An account with funds and keys already set.
fn validator_with_keys<T: Config>() -> T::AccountId {
	let who: T::AccountId = account("validator", 0, 0);
	let funds = pallet_balances::Pallet::<T>::minimum_balance() * 1_000_000u32.into();
	pallet_balances::Pallet::<T>::set_balance(&who, funds);
	let (keys, proof) = T::keys_and_proof(&who);
	assert_ok!(pallet_session::Pallet::<T>::set_keys(
		RawOrigin::Signed(who.clone()).into(),
		keys,
		proof
	));
	who
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn set_keys() {
		let who = validator_with_keys::<T>();
		let (keys, proof) = T::keys_and_proof(&who);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), keys.clone(), proof);

		assert_eq!(pallet_session::NextKeys::<T>::get(&who), Some(keys));
	}

	#[benchmark]
	fn purge_keys() {
		let who = validator_with_keys::<T>();

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));

		assert_eq!(pallet_session::NextKeys::<T>::get(&who), None);
	}
}
