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
		fungible::{Inspect, Mutate},
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

/// A counterpart account of its own for session `index`, with no balance yet: paying it
/// creates the account, the costliest payment.
fn fresh_counterpart<T: Config>(index: u32) -> T::AccountId {
	account("fresh-counterpart", index, SEED)
}

/// The counterpart checkpoints a state of `public` owing `owed` with `margin`.
fn checkpoint_state<T: Config>(
	public: &SessionPublic,
	counterpart: &T::AccountId,
	owed: BalanceOf<T>,
	margin: BalanceOf<T>,
	nonce: u64,
) {
	let (state, signature) = signed_state::<T>(public, owed, margin, nonce);
	SessionKeys::<T>::checkpoint(
		RawOrigin::Signed(counterpart.clone()).into(),
		*public,
		state,
		signature,
	)
	.expect("valid checkpoint");
}

/// A worst-case session of `kind`: its owner one key short of `MaxKeysPerOwner`, the longest
/// description and scope, a counterpart whose account does not exist yet, and a checkpoint
/// owing half the collateral (more than the existential deposit), so ending it pays a debt.
fn session_in_use<T: Config>(kind: CryptoKind) -> (T::AccountId, SessionPublic, T::AccountId) {
	let owner = owner_near_cap::<T>();
	let counterpart = fresh_counterpart::<T>(0);
	let public = register_with::<T>(&owner, &counterpart, kind, T::MaxDuration::get(), true);
	checkpoint_state::<T>(&public, &counterpart, half::<T>(), 0u32.into(), 1);
	(owner, public, counterpart)
}

/// Half the benchmark collateral.
fn half<T: Config>() -> BalanceOf<T> {
	collateral::<T>() / 2u32.into()
}

/// Moves the chain to `blocks` blocks later (the key stays live: it was registered for
/// `MaxDuration`, and the challenge period is shorter).
fn advance<T: Config>(blocks: BlockNumberFor<T>) {
	let now = frame_system::Pallet::<T>::block_number().saturating_add(blocks);
	frame_system::Pallet::<T>::set_block_number(now);
}

/// A session in use with a spending-limit decrease that has come due but is not folded yet:
/// the next checkpoint or limit change folds it first.
fn session_with_due_decrease<T: Config>(
	kind: CryptoKind,
) -> (T::AccountId, SessionPublic, T::AccountId) {
	let (owner, public, counterpart) = session_in_use::<T>(kind);
	let lower = collateral::<T>().saturating_sub(collateral::<T>() / 8u32.into());
	SessionKeys::<T>::set_spending_limit(RawOrigin::Signed(owner.clone()).into(), public, lower)
		.expect("a valid decrease");
	advance::<T>(SessionKeys::<T>::challenge_period());
	(owner, public, counterpart)
}

/// The worst checkpoint: it folds a due limit decrease and records a state that needs more
/// than the collateral (two events).
fn checkpoint_worst<T: Config>(
	kind: CryptoKind,
) -> (SessionPublic, T::AccountId, ChannelState<BalanceOf<T>>, SessionSignature) {
	let (_, public, counterpart) = session_with_due_decrease::<T>(kind);
	let owed = collateral::<T>() / 2u32.into() + collateral::<T>() / 4u32.into();
	let (state, signature) = signed_state::<T>(&public, owed, collateral::<T>(), 2);
	(public, counterpart, state, signature)
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

/// An account funded for `keys` registrations at the worst case and a record fee.
fn funded<T: Config>(name: &'static str, index: u32, keys: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, SEED);
	let (description, scope) = max_terms::<T>();
	let per_key =
		SessionKeys::<T>::deposit_for(&description, &scope).saturating_add(collateral::<T>());
	let amount = per_key
		.saturating_mul(keys.saturating_add(1).into())
		.saturating_add(SessionKeys::<T>::record_fee())
		.saturating_add(T::Currency::minimum_balance().saturating_mul(10u32.into()));
	T::Currency::set_balance(&who, amount);
	who
}

/// Registers a worst-case session for `owner` with the shared counterpart through the real
/// call.
fn register_for<T: Config>(
	owner: &T::AccountId,
	kind: CryptoKind,
	duration: BlockNumberFor<T>,
	with_collateral: bool,
) -> SessionPublic {
	register_with::<T>(owner, &counterpart::<T>(), kind, duration, with_collateral)
}

/// Registers a worst-case session for `owner` with `counterpart` through the real call: the
/// spending limit and the collateral are both `collateral()` (or zero).
fn register_with<T: Config>(
	owner: &T::AccountId,
	counterpart: &T::AccountId,
	kind: CryptoKind,
	duration: BlockNumberFor<T>,
	with_collateral: bool,
) -> SessionPublic {
	let (public, proof) = new_key::<T>(kind, owner);
	let (description, scope) = max_terms::<T>();
	let collateral = if with_collateral { collateral::<T>() } else { 0u32.into() };
	SessionKeys::<T>::register(
		RawOrigin::Signed(owner.clone()).into(),
		public,
		proof,
		T::Lookup::unlookup(counterpart.clone()),
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

/// Fills `owner`'s key index up to `MaxKeysPerOwner` with placeholder keys, so removing a key
/// from it decodes, searches and re-encodes the largest list. (Cheaper than registering them,
/// which matters in benchmarks that set up `MaxExpiriesPerBlock` owners.)
fn fill_index<T: Config>(owner: &T::AccountId) {
	OwnerSessions::<T>::mutate(owner, |keys| {
		let mut filler = 0u32;
		while !keys.is_full() {
			let mut raw = [0u8; 32];
			raw[..4].copy_from_slice(&filler.to_le_bytes());
			raw[4] = 0xEE;
			let _ = keys.try_insert(0, SessionPublic::Sr25519(sr25519::Public::from_raw(raw)));
			filler += 1;
		}
	});
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

	/// Closing a session in use: its queue entry moves to the end of the window.
	#[benchmark]
	fn revoke() {
		let (owner, public, _) = session_in_use::<T>(CryptoKind::Sr25519);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), public);
		let now = frame_system::Pallet::<T>::block_number();
		let settles_at = now.saturating_add(SessionKeys::<T>::challenge_period());
		assert_last_event::<T>(Event::SessionClosing {
			public,
			reason: EndReason::Revoked,
			settles_at,
		});
	}

	/// Closing `k` sessions in use, each with a debt to its own counterpart.
	#[benchmark]
	fn revoke_all(k: Linear<1, { T::MaxKeysPerOwner::get() }>) {
		let owner = funded::<T>("owner", 0, k);
		let keys: Vec<_> = (0..k)
			.map(|i| {
				let counterpart = fresh_counterpart::<T>(i);
				let public = register_with::<T>(
					&owner,
					&counterpart,
					CryptoKind::Sr25519,
					T::MaxDuration::get(),
					true,
				);
				checkpoint_state::<T>(&public, &counterpart, half::<T>(), 0u32.into(), 1);
				public
			})
			.collect();
		#[extrinsic_call]
		_(RawOrigin::Signed(owner.clone()));
		let now = frame_system::Pallet::<T>::block_number();
		assert!(keys.iter().all(|key| Sessions::<T>::get(key).is_some_and(|s| !s.is_live_at(now))));
	}

	#[benchmark]
	fn checkpoint_sr25519() {
		let (public, counterpart, state, signature) = checkpoint_worst::<T>(CryptoKind::Sr25519);
		#[extrinsic_call]
		checkpoint(RawOrigin::Signed(counterpart), public, state, signature);
		assert!(Sessions::<T>::get(public).is_some_and(|s| s.is_under_collateralized()));
	}

	#[benchmark]
	fn checkpoint_ed25519() {
		let (public, counterpart, state, signature) = checkpoint_worst::<T>(CryptoKind::Ed25519);
		#[extrinsic_call]
		checkpoint(RawOrigin::Signed(counterpart), public, state, signature);
		assert!(Sessions::<T>::get(public).is_some_and(|s| s.is_under_collateralized()));
	}

	#[benchmark]
	fn checkpoint_ecdsa() {
		let (public, counterpart, state, signature) = checkpoint_worst::<T>(CryptoKind::Ecdsa);
		#[extrinsic_call]
		checkpoint(RawOrigin::Signed(counterpart), public, state, signature);
		assert!(Sessions::<T>::get(public).is_some_and(|s| s.is_under_collateralized()));
	}

	#[benchmark]
	fn top_up() {
		let (owner, public, _) = session_in_use::<T>(CryptoKind::Sr25519);
		let amount = collateral::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), public, amount);
		let collateral = collateral::<T>().saturating_add(amount);
		assert_last_event::<T>(Event::CollateralToppedUp { public, collateral });
	}

	/// A decrease that first folds a due one, then waits the challenge period itself.
	#[benchmark]
	fn set_spending_limit() {
		let (owner, public, _) = session_with_due_decrease::<T>(CryptoKind::Sr25519);
		let limit = half::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), public, limit);
		let now = frame_system::Pallet::<T>::block_number();
		let applies_at = now.saturating_add(SessionKeys::<T>::challenge_period());
		assert_last_event::<T>(Event::SpendingLimitChanged {
			public,
			spending_limit: limit,
			applies_at,
		});
	}

	/// The counterpart liquidates a session whose checkpointed state needs more than its
	/// collateral: the debt is paid to a counterpart account created by the payment.
	#[benchmark]
	fn liquidate() {
		let (_, public, counterpart) = session_in_use::<T>(CryptoKind::Sr25519);
		checkpoint_state::<T>(&public, &counterpart, half::<T>(), collateral::<T>(), 2);
		fill_index::<T>(&Sessions::<T>::get(public).expect("registered").owner);
		#[extrinsic_call]
		_(RawOrigin::Signed(counterpart), public);
		assert_eq!(Retired::<T>::get(public).map(|r| r.reason), Some(EndReason::Liquidated));
	}

	#[benchmark]
	fn discontinue() {
		let (owner, public, counterpart) = session_in_use::<T>(CryptoKind::Sr25519);
		fill_index::<T>(&owner);
		#[extrinsic_call]
		_(RawOrigin::Signed(counterpart), public);
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

	/// `k` sessions due at the current block, reached after stepping past `s` empty blocks of
	/// a carried-over backlog. Each session has an owner of its own whose key index is full, and
	/// a debt to a counterpart of its own whose account the payment creates; each settlement
	/// pays it, burns the record fee and releases the rest of the collateral and the deposit.
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
				let counterpart = fresh_counterpart::<T>(i);
				let public =
					register_with::<T>(&owner, &counterpart, CryptoKind::Sr25519, duration, true);
				checkpoint_state::<T>(&public, &counterpart, half::<T>(), 0u32.into(), 1);
				fill_index::<T>(&owner);
				public
			})
			.collect();
		let now =
			start.saturating_add(duration).saturating_add(SessionKeys::<T>::challenge_period());
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
