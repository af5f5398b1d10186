//! Benchmarks of the adjudicator pallet: every call at its worst case, and `on_initialize`.
//!
//! Keys and proofs are made in the keystore through `RuntimePublic`, the way a node makes them,
//! so the benchmarks need a keystore extension (the node's `benchmark pallet` registers one).

use super::*;
use crate::Pallet as SessionKeys;
use alloc::{vec, vec::Vec};
use codec::Encode;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{
		fungible::{Inspect, Mutate, MutateHold},
		tokens::Precision,
		Get, Hooks,
	},
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use session_keys_primitives::{CryptoKind, KEY_TYPE};
use sp_application_crypto::RuntimePublic;
use sp_core::{ecdsa, ed25519, sr25519};
use sp_runtime::traits::{One, Saturating, StaticLookup};

const SEED: u32 = 0;

/// A fresh keystore key of `kind` with its ownership proof for `owner`.
fn new_key<T: Config>(kind: CryptoKind, owner: &T::AccountId) -> (SessionPublic, ProofOf) {
	let owner = owner.encode();
	fn make<P: RuntimePublic>(owner: &[u8]) -> (P, Vec<u8>)
	where
		P::ProofOfPossession: Encode,
	{
		let mut key = P::generate_pair(KEY_TYPE, None);
		let proof = key.generate_proof_of_possession(KEY_TYPE, owner).expect("key is in keystore");
		(key, proof.encode())
	}
	let (public, proof): (SessionPublic, Vec<u8>) = match kind {
		CryptoKind::Sr25519 => {
			let (k, p) = make::<sr25519::Public>(&owner);
			(k.into(), p)
		}
		CryptoKind::Ed25519 => {
			let (k, p) = make::<ed25519::Public>(&owner);
			(k.into(), p)
		}
		CryptoKind::Ecdsa => {
			let (k, p) = make::<ecdsa::Public>(&owner);
			(k.into(), p)
		}
	};
	(public, BoundedVec::try_from(proof).expect("a single signature fits"))
}

/// The keystore's signature by `public` over `message`.
fn sign(public: &SessionPublic, message: &[u8]) -> SessionSignature {
	match public {
		SessionPublic::Sr25519(key) => key.sign(KEY_TYPE, &message).expect("in keystore").into(),
		SessionPublic::Ed25519(key) => key.sign(KEY_TYPE, &message).expect("in keystore").into(),
		SessionPublic::Ecdsa(key) => key.sign(KEY_TYPE, &message).expect("in keystore").into(),
	}
}

/// A state for `public` with its signature by the session key.
fn signed_state<T: Config>(
	public: &SessionPublic,
	owed: BalanceOf<T>,
	margin: BalanceOf<T>,
	nonce: u64,
) -> (ChannelState<BalanceOf<T>>, SessionSignature) {
	let state = ChannelState { nonce, owed, margin };
	let signature = sign(public, &state.signing_payload(&SessionKeys::<T>::genesis_hash(), public));
	(state, signature)
}

fn counterpart<T: Config>() -> T::AccountId {
	account("counterpart", 0, SEED)
}

/// A worst-case session of `kind` with a checkpoint owing half its collateral, and its owner.
fn session_in_use<T: Config>(kind: CryptoKind) -> (T::AccountId, SessionPublic) {
	let owner = owner_near_cap::<T>();
	let public = register_for::<T>(&owner, kind, T::MaxDuration::get(), true);
	let half = collateral::<T>() / 2u32.into();
	let (state, signature) = signed_state::<T>(&public, half, 0u32.into(), 1);
	SessionKeys::<T>::checkpoint(
		RawOrigin::Signed(counterpart::<T>()).into(),
		public,
		state,
		signature,
	)
	.expect("valid checkpoint");
	(owner, public)
}

/// A checkpoint by the counterpart that liquidates the session: the worst case.
fn checkpoint_liquidating<T: Config>(
	kind: CryptoKind,
) -> (SessionPublic, ChannelState<BalanceOf<T>>, SessionSignature) {
	let (_, public) = session_in_use::<T>(kind);
	let (state, signature) = signed_state::<T>(&public, collateral::<T>(), 1u32.into(), 2);
	(public, state, signature)
}

/// The largest description and scope the configuration allows.
fn max_terms<T: Config>() -> (DescriptionOf<T>, ScopeOf<T>) {
	let description = vec![b'd'; T::MaxDescriptionLen::get() as usize].try_into().unwrap();
	let resource: ResourceOf<T> = vec![b'r'; T::MaxResourceLen::get() as usize].try_into().unwrap();
	let scope = vec![resource; T::MaxScopeItems::get() as usize].try_into().unwrap();
	(description, scope)
}

fn collateral<T: Config>() -> BalanceOf<T> {
	T::Currency::minimum_balance().saturating_mul(100u32.into())
}

/// An account funded for `keys` registrations at the worst case.
fn funded<T: Config>(name: &'static str, index: u32, keys: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, SEED);
	let (description, scope) = max_terms::<T>();
	let per_key =
		SessionKeys::<T>::deposit_for(&description, &scope).saturating_add(collateral::<T>());
	let amount = per_key
		.saturating_mul(keys.saturating_add(1).into())
		.saturating_add(T::Currency::minimum_balance().saturating_mul(10u32.into()));
	T::Currency::set_balance(&who, amount);
	who
}

/// Registers a worst-case session for `owner` through the real call.
fn register_for<T: Config>(
	owner: &T::AccountId,
	kind: CryptoKind,
	duration: BlockNumberFor<T>,
	with_collateral: bool,
) -> SessionPublic {
	let (public, proof) = new_key::<T>(kind, owner);
	let counterpart = counterpart::<T>();
	let (description, scope) = max_terms::<T>();
	let collateral = if with_collateral { collateral::<T>() } else { 0u32.into() };
	SessionKeys::<T>::register(
		RawOrigin::Signed(owner.clone()).into(),
		public,
		proof,
		T::Lookup::unlookup(counterpart),
		Some(duration),
		collateral,
		collateral,
		description,
		scope,
	)
	.expect("benchmark registration is valid");
	public
}

/// An owner holding `MaxKeysPerOwner - 1` keys, so the next one fills the bounded index.
fn owner_near_cap<T: Config>() -> T::AccountId {
	let max = T::MaxKeysPerOwner::get();
	let owner = funded::<T>("owner", 0, max);
	for _ in 1..max {
		register_for::<T>(&owner, CryptoKind::Sr25519, T::DefaultDuration::get(), true);
	}
	owner
}

/// The arguments of a worst-case `register`: the owner's index is one short of its bound, the
/// description and scope are at their maximum, the key and proof are fresh.
struct RegisterArgs<T: Config> {
	owner: T::AccountId,
	public: SessionPublic,
	proof: ProofOf,
	counterpart: AccountIdLookupOf<T>,
	collateral: BalanceOf<T>,
	description: DescriptionOf<T>,
	scope: ScopeOf<T>,
}

fn register_worst<T: Config>(kind: CryptoKind) -> RegisterArgs<T> {
	let owner = owner_near_cap::<T>();
	let (public, proof) = new_key::<T>(kind, &owner);
	let counterpart = T::Lookup::unlookup(account("counterpart", 0, SEED));
	let (description, scope) = max_terms::<T>();
	RegisterArgs {
		owner,
		public,
		proof,
		counterpart,
		collateral: collateral::<T>(),
		description,
		scope,
	}
}

fn rotate_setup<T: Config>(
	kind: CryptoKind,
) -> (T::AccountId, SessionPublic, SessionPublic, ProofOf) {
	let owner = owner_near_cap::<T>();
	let old = register_for::<T>(&owner, CryptoKind::Sr25519, T::DefaultDuration::get(), false);
	let (new, proof) = new_key::<T>(kind, &owner);
	(owner, old, new, proof)
}

fn assert_last_event<T: Config>(event: Event<T>) {
	frame_system::Pallet::<T>::assert_last_event(<T as frame_system::Config>::RuntimeEvent::from(
		event,
	));
}

#[benchmarks(where <T as frame_system::Config>::RuntimeEvent: From<Event<T>>)]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register_sr25519() {
		let a = register_worst::<T>(CryptoKind::Sr25519);
		#[extrinsic_call]
		register(
			RawOrigin::Signed(a.owner),
			a.public,
			a.proof,
			a.counterpart,
			Some(T::MaxDuration::get()),
			a.collateral,
			a.collateral,
			a.description,
			a.scope,
		);
		assert!(Sessions::<T>::contains_key(a.public));
	}

	#[benchmark]
	fn register_ed25519() {
		let a = register_worst::<T>(CryptoKind::Ed25519);
		#[extrinsic_call]
		register(
			RawOrigin::Signed(a.owner),
			a.public,
			a.proof,
			a.counterpart,
			Some(T::MaxDuration::get()),
			a.collateral,
			a.collateral,
			a.description,
			a.scope,
		);
		assert!(Sessions::<T>::contains_key(a.public));
	}

	#[benchmark]
	fn register_ecdsa() {
		let a = register_worst::<T>(CryptoKind::Ecdsa);
		#[extrinsic_call]
		register(
			RawOrigin::Signed(a.owner),
			a.public,
			a.proof,
			a.counterpart,
			Some(T::MaxDuration::get()),
			a.collateral,
			a.collateral,
			a.description,
			a.scope,
		);
		assert!(Sessions::<T>::contains_key(a.public));
	}

	#[benchmark]
	fn renew() {
		let owner = owner_near_cap::<T>();
		// Due in the same block as the owner's other keys: renewal takes it out of the fullest
		// queue entry. (A short duration would also let the key expire if the harness moves the
		// block number between setup and call, as the node's does.)
		let public =
			register_for::<T>(&owner, CryptoKind::Sr25519, T::DefaultDuration::get(), true);
		let duration = T::MaxDuration::get();
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), public, Some(duration));
		let expires_at = frame_system::Pallet::<T>::block_number().saturating_add(duration);
		assert_last_event::<T>(Event::SessionRenewed { public, expires_at });
	}

	#[benchmark]
	fn revoke() {
		let owner = owner_near_cap::<T>();
		let public = register_for::<T>(&owner, CryptoKind::Sr25519, T::MaxDuration::get(), true);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), public);
		assert!(Retired::<T>::contains_key(public));
	}

	#[benchmark]
	fn revoke_all(k: Linear<1, { T::MaxKeysPerOwner::get() }>) {
		let owner = funded::<T>("owner", 0, k);
		let keys: Vec<_> = (0..k)
			.map(|_| register_for::<T>(&owner, CryptoKind::Sr25519, T::MaxDuration::get(), true))
			.collect();
		#[extrinsic_call]
		_(RawOrigin::Signed(owner.clone()));
		assert!(keys.iter().all(Retired::<T>::contains_key));
		assert!(SessionKeys::<T>::keys_of(&owner).is_empty());
	}

	#[benchmark]
	fn checkpoint_sr25519() {
		let (public, state, signature) = checkpoint_liquidating::<T>(CryptoKind::Sr25519);
		#[extrinsic_call]
		checkpoint(RawOrigin::Signed(counterpart::<T>()), public, state, signature);
		assert_eq!(Retired::<T>::get(public).map(|r| r.reason), Some(EndReason::Liquidated));
	}

	#[benchmark]
	fn checkpoint_ed25519() {
		let (public, state, signature) = checkpoint_liquidating::<T>(CryptoKind::Ed25519);
		#[extrinsic_call]
		checkpoint(RawOrigin::Signed(counterpart::<T>()), public, state, signature);
		assert_eq!(Retired::<T>::get(public).map(|r| r.reason), Some(EndReason::Liquidated));
	}

	#[benchmark]
	fn checkpoint_ecdsa() {
		let (public, state, signature) = checkpoint_liquidating::<T>(CryptoKind::Ecdsa);
		#[extrinsic_call]
		checkpoint(RawOrigin::Signed(counterpart::<T>()), public, state, signature);
		assert_eq!(Retired::<T>::get(public).map(|r| r.reason), Some(EndReason::Liquidated));
	}

	#[benchmark]
	fn top_up() {
		let (owner, public) = session_in_use::<T>(CryptoKind::Sr25519);
		let amount = collateral::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), public, amount);
		let collateral = collateral::<T>().saturating_add(amount);
		assert_last_event::<T>(Event::CollateralToppedUp { public, collateral });
	}

	#[benchmark]
	fn set_spending_limit() {
		let (owner, public) = session_in_use::<T>(CryptoKind::Sr25519);
		let limit = collateral::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), public, limit);
		assert_last_event::<T>(Event::SpendingLimitChanged { public, spending_limit: limit });
	}

	#[benchmark]
	fn liquidate() {
		let (owner, public) = session_in_use::<T>(CryptoKind::Sr25519);
		// Collateral falls below what the checkpoint owes plus its margin, outside this pallet.
		let shortfall = collateral::<T>() / 4u32.into();
		T::Currency::release(&HoldReason::Session.into(), &owner, shortfall, Precision::Exact)
			.expect("held");
		Sessions::<T>::mutate(public, |s| {
			let s = s.as_mut().expect("live");
			s.collateral = s.collateral.saturating_sub(shortfall);
			s.state.margin = s.collateral;
		});
		#[extrinsic_call]
		_(RawOrigin::Signed(counterpart::<T>()), public);
		assert_eq!(Retired::<T>::get(public).map(|r| r.reason), Some(EndReason::Liquidated));
	}

	#[benchmark]
	fn discontinue() {
		let (_, public) = session_in_use::<T>(CryptoKind::Sr25519);
		#[extrinsic_call]
		_(RawOrigin::Signed(counterpart::<T>()), public);
		assert_eq!(Retired::<T>::get(public).map(|r| r.reason), Some(EndReason::Discontinued));
	}

	#[benchmark]
	fn rotate_sr25519() {
		let (owner, old, new, proof) = rotate_setup::<T>(CryptoKind::Sr25519);
		#[extrinsic_call]
		rotate(RawOrigin::Signed(owner), old, new, proof);
		assert!(Sessions::<T>::contains_key(new));
	}

	#[benchmark]
	fn rotate_ed25519() {
		let (owner, old, new, proof) = rotate_setup::<T>(CryptoKind::Ed25519);
		#[extrinsic_call]
		rotate(RawOrigin::Signed(owner), old, new, proof);
		assert!(Sessions::<T>::contains_key(new));
	}

	#[benchmark]
	fn rotate_ecdsa() {
		let (owner, old, new, proof) = rotate_setup::<T>(CryptoKind::Ecdsa);
		#[extrinsic_call]
		rotate(RawOrigin::Signed(owner), old, new, proof);
		assert!(Sessions::<T>::contains_key(new));
	}

	/// A block with nothing due.
	#[benchmark]
	fn on_initialize_idle() {
		let owner = funded::<T>("owner", 0, 1);
		register_for::<T>(&owner, CryptoKind::Sr25519, T::MaxDuration::get(), true);
		let now = frame_system::Pallet::<T>::block_number().saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(now);
		#[block]
		{
			SessionKeys::<T>::on_initialize(now);
		}
		assert_eq!(SessionKeys::<T>::keys_of(&owner).len(), 1);
	}

	/// `k` keys due at the current block, reached after stepping past `s` empty blocks of a
	/// carried-over backlog. Each key's ending pays its counterpart what it owes and releases
	/// the rest of its collateral and its deposit.
	#[benchmark]
	fn on_initialize_expire(
		k: Linear<0, { T::MaxExpiriesPerBlock::get() }>,
		s: Linear<0, { T::MaxExpiriesPerBlock::get() }>,
	) {
		let start = frame_system::Pallet::<T>::block_number();
		let duration: BlockNumberFor<T> = (s + 1).into();
		let keys: Vec<_> = (0..k)
			.map(|i| {
				let owner = funded::<T>("expiring", i, 1);
				let public = register_for::<T>(&owner, CryptoKind::Sr25519, duration, true);
				// Something owed, so the ending pays the counterpart too.
				let half = collateral::<T>() / 2u32.into();
				let (state, signature) = signed_state::<T>(&public, half, 0u32.into(), 1);
				SessionKeys::<T>::checkpoint(
					RawOrigin::Signed(counterpart::<T>()).into(),
					public,
					state,
					signature,
				)
				.expect("valid checkpoint");
				public
			})
			.collect();
		let now = start.saturating_add(duration);
		if s > 0 {
			// A backlog from `s` blocks back, whose blocks are already drained.
			let from = now.saturating_sub(s.into());
			ExpiryAgenda::<T>::insert(now, DueMark { carry_from: Some(from) });
		}
		frame_system::Pallet::<T>::set_block_number(now);
		#[block]
		{
			SessionKeys::<T>::on_initialize(now);
		}
		assert!(keys.iter().all(Retired::<T>::contains_key));
	}

	impl_benchmark_test_suite!(
		SessionKeys,
		crate::mock::ExtBuilder::default().build(),
		crate::mock::Test
	);
}
