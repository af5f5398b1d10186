//! Benchmarks of the adjudicator pallet: every call at its worst case, and `on_initialize`.
//!
//! Keys and proofs are made in the keystore through `RuntimePublic`, the way a node makes them,
//! so the benchmarks need a keystore extension (the node's `benchmark pallet` registers one).
//!
//! The worst cases of the endings (`liquidate`, `discontinue`, settlement in `on_initialize`):
//! each session has the largest record (longest description and scope, a checkpointed state, a
//! pending limit decrease), owes half its collateral (well above the existential deposit) to a
//! counterpart of its own whose account the payment creates, burns the record fee, and belongs
//! to an owner whose key index is full, so removing the key from it decodes, searches and
//! re-encodes the largest list. `revoke` and `revoke_all` close sessions loaded the same way.
//!
//! Every session the benchmarks make is registered by a delegate of its owner (`register_for`),
//! so each ending also updates the delegate's running totals, and the calls a delegate may make
//! on its keys (`renew`, `revoke`, `rotate`, `top_up`, `set_spending_limit`) are measured signed
//! by the delegate, which reads the owner's authorization (and, for `top_up` and `rotate`, the
//! totals) on top of what the owner's own call does.

use super::*;
use crate::Pallet as Adjudicator;
use alloc::{vec, vec::Vec};
use codec::Encode;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{
		fungible::{Inspect, Mutate, MutateHold},
		Get, Hooks,
	},
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use session_keys_primitives::{CryptoKind, KEY_TYPE};
use sp_application_crypto::RuntimePublic;
use sp_core::{ecdsa, ed25519, sr25519};
use sp_runtime::traits::{One, Saturating, StaticLookup, Zero};

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
	let signature = sign(public, &state.signing_payload(&Adjudicator::<T>::genesis_hash(), public));
	(state, signature)
}

/// The counterpart of the sessions whose ending is not measured (the other keys of an owner
/// near the cap).
fn counterpart<T: Config>() -> T::AccountId {
	account("counterpart", 0, SEED)
}

/// A counterpart account of its own for session `index`, with no balance yet: paying it
/// creates the account, the costliest payment.
fn fresh_counterpart<T: Config>(index: u32) -> T::AccountId {
	account("fresh-counterpart", index, SEED)
}

/// The benchmark collateral: a hundred existential deposits.
fn collateral<T: Config>() -> BalanceOf<T> {
	T::Currency::minimum_balance().saturating_mul(100u32.into())
}

/// Half the benchmark collateral: the debt every measured ending pays, fifty existential
/// deposits, so the payment can create the counterpart's account.
fn half<T: Config>() -> BalanceOf<T> {
	collateral::<T>() / 2u32.into()
}

/// Seven eighths of the benchmark collateral: the first, pending, limit decrease.
fn seven_eighths<T: Config>() -> BalanceOf<T> {
	collateral::<T>().saturating_sub(collateral::<T>() / 8u32.into())
}

/// The largest description and scope the configuration allows.
fn max_terms<T: Config>() -> (DescriptionOf<T>, ScopeOf<T>) {
	let description = vec![b'd'; T::MaxDescriptionLen::get() as usize].try_into().unwrap();
	let resource: ResourceOf<T> = vec![b'r'; T::MaxResourceLen::get() as usize].try_into().unwrap();
	let scope = vec![resource; T::MaxScopeItems::get() as usize].try_into().unwrap();
	(description, scope)
}

/// The storage deposit of a registration with the largest terms.
fn max_deposit<T: Config>() -> BalanceOf<T> {
	let (description, scope) = max_terms::<T>();
	Adjudicator::<T>::deposit_for(&description, &scope)
}

/// An account funded for `keys` registrations at the worst case, a record fee (`rotate` burns
/// one from the free balance) and some spare.
fn funded<T: Config>(name: &'static str, index: u32, keys: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, SEED);
	let per_key = max_deposit::<T>().saturating_add(collateral::<T>());
	let amount = per_key
		.saturating_mul(keys.saturating_add(1).into())
		.saturating_add(Adjudicator::<T>::record_fee())
		.saturating_add(Adjudicator::<T>::authorization_deposit(&wide_terms::<T>()))
		.saturating_add(T::Currency::minimum_balance().saturating_mul(10u32.into()));
	T::Currency::set_balance(&who, amount);
	who
}

/// Registers a worst-case session for `owner` with the shared counterpart through the real
/// call.
fn register_shared<T: Config>(
	owner: &T::AccountId,
	kind: CryptoKind,
	duration: BlockNumberFor<T>,
	with_collateral: bool,
) -> SessionPublic {
	register_with::<T>(owner, &counterpart::<T>(), kind, duration, with_collateral)
}

/// Registers a worst-case session for `owner` with `counterpart` through the real call, made by
/// the owner's delegate ([`delegate_for`]): the longest description and scope; the spending
/// limit and the collateral are both `collateral()` (or zero).
fn register_with<T: Config>(
	owner: &T::AccountId,
	counterpart: &T::AccountId,
	kind: CryptoKind,
	duration: BlockNumberFor<T>,
	with_collateral: bool,
) -> SessionPublic {
	let delegate = delegate_for::<T>(owner, counterpart);
	let (public, proof) = new_key::<T>(kind, owner);
	let (description, scope) = max_terms::<T>();
	let collateral = if with_collateral { collateral::<T>() } else { 0u32.into() };
	Adjudicator::<T>::register_for(
		RawOrigin::Signed(delegate).into(),
		T::Lookup::unlookup(owner.clone()),
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

/// The counterpart checkpoints a state of `public` owing `owed` with `margin`.
fn checkpoint_state<T: Config>(
	public: &SessionPublic,
	counterpart: &T::AccountId,
	owed: BalanceOf<T>,
	margin: BalanceOf<T>,
	nonce: u64,
) {
	let (state, signature) = signed_state::<T>(public, owed, margin, nonce);
	Adjudicator::<T>::checkpoint(
		RawOrigin::Signed(counterpart.clone()).into(),
		*public,
		state,
		signature,
	)
	.expect("valid checkpoint");
}

/// Gives a freshly registered session (collateral `collateral()`) its costliest record and
/// ending, through the real calls: the counterpart checkpoints a debt of `half()` (nonce 1), and
/// the owner asks for a limit decrease to `seven_eighths()`, which stays pending for the
/// challenge period (the session record at its largest). The counterpart has no account yet.
fn load_session<T: Config>(
	owner: &T::AccountId,
	public: &SessionPublic,
	counterpart: &T::AccountId,
) {
	assert!(
		T::Currency::balance(counterpart).is_zero(),
		"the payment must create the counterpart's account"
	);
	checkpoint_state::<T>(public, counterpart, half::<T>(), Zero::zero(), 1);
	Adjudicator::<T>::set_spending_limit(
		RawOrigin::Signed(owner.clone()).into(),
		*public,
		seven_eighths::<T>(),
	)
	.expect("a valid decrease");
}

/// An owner holding `MaxKeysPerOwner - 1` live keys (registered through the real call), so the
/// next one fills the bounded index.
fn owner_near_cap<T: Config>() -> T::AccountId {
	let max = T::MaxKeysPerOwner::get();
	let owner = funded::<T>("owner", 0, max);
	for _ in 1..max {
		register_shared::<T>(&owner, CryptoKind::Sr25519, T::DefaultDuration::get(), true);
	}
	owner
}

/// Whether `owner`'s key index holds `MaxKeysPerOwner` keys.
fn index_full<T: Config>(owner: &T::AccountId) -> bool {
	OwnerSessions::<T>::get(owner).len() as u32 == T::MaxKeysPerOwner::get()
}

/// A worst-case session of `kind`, registered for `MaxDuration` (so it stays live while the
/// benchmarks move the block number by a challenge period): its owner's index is full with it,
/// and it is loaded by [`load_session`] for a counterpart of its own.
fn session_in_use<T: Config>(kind: CryptoKind) -> (T::AccountId, SessionPublic, T::AccountId) {
	let owner = owner_near_cap::<T>();
	let counterpart = fresh_counterpart::<T>(0);
	let public = register_with::<T>(&owner, &counterpart, kind, T::MaxDuration::get(), true);
	load_session::<T>(&owner, &public, &counterpart);
	assert!(index_full::<T>(&owner));
	(owner, public, counterpart)
}

/// Moves the chain to `blocks` blocks later.
fn advance<T: Config>(blocks: BlockNumberFor<T>) {
	let now = frame_system::Pallet::<T>::block_number().saturating_add(blocks);
	frame_system::Pallet::<T>::set_block_number(now);
}

/// A session in use whose limit decrease has come due but is not folded yet: the next
/// checkpoint or limit change folds it first.
fn session_with_due_decrease<T: Config>(
	kind: CryptoKind,
) -> (T::AccountId, SessionPublic, T::AccountId) {
	let (owner, public, counterpart) = session_in_use::<T>(kind);
	advance::<T>(Adjudicator::<T>::challenge_period());
	let now = frame_system::Pallet::<T>::block_number();
	let session = Sessions::<T>::get(public).expect("registered");
	assert!(session.is_live_at(now));
	assert!(session.pending_limit.is_some_and(|pending| pending.applies_at <= now));
	(owner, public, counterpart)
}

/// The worst checkpoint: it folds a due limit decrease and records a state that needs more
/// than the collateral (two events), without ending the session.
fn checkpoint_worst<T: Config>(
	kind: CryptoKind,
) -> (SessionPublic, T::AccountId, ChannelState<BalanceOf<T>>, SessionSignature) {
	let (_, public, counterpart) = session_with_due_decrease::<T>(kind);
	let owed = half::<T>() + collateral::<T>() / 4u32.into();
	let (state, signature) = signed_state::<T>(&public, owed, collateral::<T>(), 2);
	(public, counterpart, state, signature)
}

/// Checks that the worst checkpoint recorded `state`, folded the due decrease, and flagged the
/// session as under-collateralized (the last event) without ending it.
fn assert_checkpointed<T: Config>(public: SessionPublic, state: ChannelState<BalanceOf<T>>) {
	let session = Sessions::<T>::get(public).expect("a checkpoint ends nothing");
	assert_eq!(session.state, state);
	assert_eq!((session.spending_limit, session.pending_limit), (seven_eighths::<T>(), None));
	assert_last_event::<T>(Event::SessionUnderCollateralized {
		public,
		required: state.owed.saturating_add(state.margin),
		collateral: collateral::<T>(),
	});
}

/// Fills `owner`'s key index up to `MaxKeysPerOwner` with placeholder keys, so removing a key
/// from it decodes, searches and re-encodes the largest list. Only `on_initialize_expire` uses
/// it: registering `MaxKeysPerOwner - 1` real keys for each of `MaxExpiriesPerBlock` owners
/// (4,000 registrations in the runtime) would make every setup take seconds, and settlement
/// reads nothing of the owner's other keys but this list.
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
	let counterpart = T::Lookup::unlookup(counterpart::<T>());
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

/// Checks that `register` for `owner` with the worst-case arguments registered `public`.
fn assert_registered<T: Config>(public: SessionPublic, owner: T::AccountId) {
	let expires_at =
		frame_system::Pallet::<T>::block_number().saturating_add(T::MaxDuration::get());
	assert_last_event::<T>(Event::SessionRegistered {
		public,
		owner: owner.clone(),
		counterpart: counterpart::<T>(),
		delegate: None,
		expires_at,
		spending_limit: collateral::<T>(),
		collateral: collateral::<T>(),
		deposit: max_deposit::<T>(),
	});
	assert!(index_full::<T>(&owner));
}

/// An owner near the cap with a live key of no collateral (rotation needs nothing at stake), the
/// last in its full index, and a fresh key of `kind` with its proof.
fn rotate_setup<T: Config>(
	kind: CryptoKind,
) -> (T::AccountId, SessionPublic, SessionPublic, ProofOf) {
	let owner = owner_near_cap::<T>();
	let old = register_shared::<T>(&owner, CryptoKind::Sr25519, T::DefaultDuration::get(), false);
	let (new, proof) = new_key::<T>(kind, &owner);
	(owner, old, new, proof)
}

/// Checks that `rotate` replaced `old` by `new` for `owner`.
fn assert_rotated<T: Config>(owner: T::AccountId, old: SessionPublic, new: SessionPublic) {
	let expires_at =
		frame_system::Pallet::<T>::block_number().saturating_add(T::DefaultDuration::get());
	assert_last_event::<T>(Event::SessionRotated { old, new, owner, expires_at });
	assert_eq!(Retired::<T>::get(old).map(|r| r.reason), Some(EndReason::Rotated));
}

/// The `SessionEnded` event of a session loaded by [`load_session`]: `half()` paid to the
/// counterpart, the rest of the collateral released, the deposit released less the record fee.
fn ended_event<T: Config>(
	public: SessionPublic,
	owner: T::AccountId,
	counterpart: T::AccountId,
	reason: EndReason,
	ended_at: BlockNumberFor<T>,
) -> Event<T> {
	let deposit = max_deposit::<T>();
	let record_fee = Adjudicator::<T>::record_fee().min(deposit);
	Event::SessionEnded {
		public,
		owner,
		counterpart,
		delegate: Some(delegate::<T>()),
		reason,
		ended_at,
		owed: half::<T>(),
		paid_to_counterpart: half::<T>(),
		collateral_released: collateral::<T>().saturating_sub(half::<T>()),
		deposit_released: deposit.saturating_sub(record_fee),
		record_fee,
	}
}

/// Checks that a session loaded by [`load_session`] ended, last, with `reason` in this block,
/// and that its payment created the counterpart's account.
fn assert_ended_now<T: Config>(
	public: SessionPublic,
	owner: T::AccountId,
	counterpart: T::AccountId,
	reason: EndReason,
) {
	let now = frame_system::Pallet::<T>::block_number();
	assert_eq!(T::Currency::balance(&counterpart), half::<T>());
	assert_eq!(Retired::<T>::get(public).map(|r| r.reason), Some(reason));
	assert!(!Sessions::<T>::contains_key(public));
	assert_last_event::<T>(ended_event::<T>(public, owner, counterpart, reason, now));
}

/// Terms that allow the shared counterpart and `fresh_counterpart`s, listing
/// `MaxDelegateCounterparts` accounts in all (the longest list to search), with room for every
/// benchmark key.
fn wide_terms<T: Config>() -> DelegateTermsOf<T> {
	let max = T::MaxDelegateCounterparts::get();
	let mut counterparts = vec![counterpart::<T>()];
	counterparts.extend((0..max.saturating_sub(1)).map(fresh_counterpart::<T>));
	let plenty =
		collateral::<T>().saturating_mul(T::MaxKeysPerOwner::get().saturating_add(1).into());
	DelegateTerms {
		counterparts: counterparts.try_into().expect("MaxDelegateCounterparts accounts fit"),
		max_collateral: collateral::<T>().saturating_mul(2u32.into()),
		max_spending_limit: collateral::<T>(),
		max_total_collateral: plenty,
		max_duration: T::MaxDuration::get(),
		max_keys: T::MaxKeysPerOwner::get(),
		ends_at: None,
	}
}

/// The delegate of every owner in the benchmarks.
fn delegate<T: Config>() -> T::AccountId {
	account("delegate", 0, SEED)
}

/// `owner`'s delegate, authorized through the real call with [`wide_terms`] that also list
/// `counterpart` (in place of the last listed one when it is not listed yet; the delegate's
/// running totals are kept), and funded for a rotation's record fee.
fn delegate_for<T: Config>(owner: &T::AccountId, counterpart: &T::AccountId) -> T::AccountId {
	let delegate = delegate::<T>();
	if T::Currency::balance(&delegate).is_zero() {
		funded::<T>("delegate", 0, 0);
	}
	let current = Delegations::<T>::get(owner, &delegate).map(|a| a.terms);
	if current.as_ref().is_some_and(|terms| terms.allows_counterpart(counterpart)) {
		return delegate;
	}
	let mut terms = current.unwrap_or_else(wide_terms::<T>);
	if !terms.counterparts.is_empty() && terms.counterparts.is_full() {
		terms.counterparts.pop();
	}
	terms.counterparts.try_push(counterpart.clone()).expect("room was made");
	Adjudicator::<T>::authorize_delegate(
		RawOrigin::Signed(owner.clone()).into(),
		T::Lookup::unlookup(delegate.clone()),
		terms,
	)
	.expect("valid terms");
	delegate
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
			RawOrigin::Signed(a.owner.clone()),
			a.public,
			a.proof,
			a.counterpart,
			Some(T::MaxDuration::get()),
			a.collateral,
			a.collateral,
			a.description,
			a.scope,
		);
		assert_registered::<T>(a.public, a.owner);
	}

	#[benchmark]
	fn register_ed25519() {
		let a = register_worst::<T>(CryptoKind::Ed25519);
		#[extrinsic_call]
		register(
			RawOrigin::Signed(a.owner.clone()),
			a.public,
			a.proof,
			a.counterpart,
			Some(T::MaxDuration::get()),
			a.collateral,
			a.collateral,
			a.description,
			a.scope,
		);
		assert_registered::<T>(a.public, a.owner);
	}

	#[benchmark]
	fn register_ecdsa() {
		let a = register_worst::<T>(CryptoKind::Ecdsa);
		#[extrinsic_call]
		register(
			RawOrigin::Signed(a.owner.clone()),
			a.public,
			a.proof,
			a.counterpart,
			Some(T::MaxDuration::get()),
			a.collateral,
			a.collateral,
			a.description,
			a.scope,
		);
		assert_registered::<T>(a.public, a.owner);
	}

	/// Renewing a loaded session of an owner at the cap: its queue entry moves.
	#[benchmark]
	fn renew() {
		let (_, public, _) = session_in_use::<T>(CryptoKind::Sr25519);
		let duration = T::MaxDuration::get();
		#[extrinsic_call]
		_(RawOrigin::Signed(delegate::<T>()), public, Some(duration));
		let expires_at = frame_system::Pallet::<T>::block_number().saturating_add(duration);
		assert_last_event::<T>(Event::SessionRenewed { public, expires_at });
	}

	/// Closing a loaded session (collateral, a debt, a pending decrease) of an owner at the cap:
	/// it does not settle, its queue entry moves to the end of the window.
	#[benchmark]
	fn revoke() {
		let (_, public, _) = session_in_use::<T>(CryptoKind::Sr25519);
		#[extrinsic_call]
		_(RawOrigin::Signed(delegate::<T>()), public);
		let now = frame_system::Pallet::<T>::block_number();
		let settles_at = now.saturating_add(Adjudicator::<T>::challenge_period());
		assert_last_event::<T>(Event::SessionClosing {
			public,
			reason: EndReason::Revoked,
			settles_at,
		});
		let session = Sessions::<T>::get(public).expect("closing, not settled");
		assert!(!session.is_live_at(now) && session.revoked && session.settles_at == settles_at);
	}

	/// Closing `k` loaded sessions, each with a debt to a counterpart of its own (at `k =
	/// MaxKeysPerOwner` the owner's index is full), each queued in a block of its own so that
	/// every closing reads and recounts a mark of its own.
	#[benchmark]
	fn revoke_all(k: Linear<1, { T::MaxKeysPerOwner::get() }>) {
		let owner = funded::<T>("owner", 0, k);
		let keys: Vec<_> = (0..k)
			.map(|i| {
				let counterpart = fresh_counterpart::<T>(i);
				let duration = T::MaxDuration::get().saturating_sub(i.into());
				let public =
					register_with::<T>(&owner, &counterpart, CryptoKind::Sr25519, duration, true);
				load_session::<T>(&owner, &public, &counterpart);
				public
			})
			.collect();
		#[extrinsic_call]
		_(RawOrigin::Signed(owner.clone()));
		let now = frame_system::Pallet::<T>::block_number();
		let due = now.saturating_add(Adjudicator::<T>::challenge_period());
		// Keys beyond a block's cap settle in the next blocks with room.
		assert!(keys.iter().all(|key| Sessions::<T>::get(key)
			.is_some_and(|s| !s.is_live_at(now) && s.revoked && s.settles_at >= due)));
		let public = *keys.last().expect("k >= 1");
		let settles_at = Sessions::<T>::get(public).expect("closing").settles_at;
		assert_last_event::<T>(Event::SessionClosing {
			public,
			reason: EndReason::Revoked,
			settles_at,
		});
	}

	#[benchmark]
	fn checkpoint_sr25519() {
		let (public, counterpart, state, signature) = checkpoint_worst::<T>(CryptoKind::Sr25519);
		#[extrinsic_call]
		checkpoint(RawOrigin::Signed(counterpart), public, state, signature);
		assert_checkpointed::<T>(public, state);
	}

	#[benchmark]
	fn checkpoint_ed25519() {
		let (public, counterpart, state, signature) = checkpoint_worst::<T>(CryptoKind::Ed25519);
		#[extrinsic_call]
		checkpoint(RawOrigin::Signed(counterpart), public, state, signature);
		assert_checkpointed::<T>(public, state);
	}

	#[benchmark]
	fn checkpoint_ecdsa() {
		let (public, counterpart, state, signature) = checkpoint_worst::<T>(CryptoKind::Ecdsa);
		#[extrinsic_call]
		checkpoint(RawOrigin::Signed(counterpart), public, state, signature);
		assert_checkpointed::<T>(public, state);
	}

	#[benchmark]
	fn top_up() {
		let (_, public, _) = session_in_use::<T>(CryptoKind::Sr25519);
		let amount = collateral::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(delegate::<T>()), public, amount);
		let collateral = collateral::<T>().saturating_add(amount);
		assert_last_event::<T>(Event::CollateralToppedUp { public, collateral });
	}

	/// A decrease that first folds a due one, then waits the challenge period itself.
	#[benchmark]
	fn set_spending_limit() {
		let (_, public, _) = session_with_due_decrease::<T>(CryptoKind::Sr25519);
		let limit = half::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(delegate::<T>()), public, limit);
		let now = frame_system::Pallet::<T>::block_number();
		let applies_at = now.saturating_add(Adjudicator::<T>::challenge_period());
		assert_last_event::<T>(Event::SpendingLimitChanged {
			public,
			spending_limit: limit,
			applies_at,
		});
		let session = Sessions::<T>::get(public).expect("registered");
		assert_eq!(session.spending_limit, seven_eighths::<T>(), "the due decrease was folded");
		assert_eq!(
			session.pending_limit.map(|p| (p.limit, p.applies_at)),
			Some((limit, applies_at))
		);
	}

	/// The counterpart checkpoints a state that needs more than the collateral (margin), then
	/// liquidates: the debt is paid to a counterpart account created by the payment, the record
	/// fee burned, the rest released, the key removed from its owner's full index.
	#[benchmark]
	fn liquidate() {
		let (owner, public, counterpart) = session_in_use::<T>(CryptoKind::Sr25519);
		checkpoint_state::<T>(&public, &counterpart, half::<T>(), collateral::<T>(), 2);
		assert!(Sessions::<T>::get(public).is_some_and(|s| s.is_under_collateralized()));
		#[extrinsic_call]
		_(RawOrigin::Signed(counterpart.clone()), public);
		assert_ended_now::<T>(public, owner, counterpart, EndReason::Liquidated);
	}

	/// The counterpart ends a loaded session at once: the same settlement as `liquidate`.
	#[benchmark]
	fn discontinue() {
		let (owner, public, counterpart) = session_in_use::<T>(CryptoKind::Sr25519);
		#[extrinsic_call]
		_(RawOrigin::Signed(counterpart.clone()), public);
		assert_ended_now::<T>(public, owner, counterpart, EndReason::Discontinued);
	}

	/// Anyone settles a loaded session whose settlement block has passed (it waits in a
	/// backlog): the same settlement as `discontinue`, and its block's mark is still counted.
	#[benchmark]
	fn settle() {
		let owner = owner_near_cap::<T>();
		let counterpart = fresh_counterpart::<T>(0);
		let duration = Adjudicator::<T>::challenge_period();
		let public = register_with::<T>(&owner, &counterpart, CryptoKind::Sr25519, duration, true);
		load_session::<T>(&owner, &public, &counterpart);
		assert!(index_full::<T>(&owner));
		let session = Sessions::<T>::get(public).expect("registered");
		frame_system::Pallet::<T>::set_block_number(session.settles_at);
		let caller: T::AccountId = whitelisted_caller();
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), public);
		assert_eq!(T::Currency::balance(&counterpart), half::<T>());
		assert_last_event::<T>(ended_event::<T>(
			public,
			owner,
			counterpart,
			EndReason::Expired,
			session.expires_at,
		));
	}

	/// A counterpart takes a payment a settlement held for it: the transfer from hold creates
	/// its account (the costliest transfer), the held entry goes and the retired record counts
	/// the payment.
	#[benchmark]
	fn claim_payment() {
		let (owner, public, counterpart) = session_in_use::<T>(CryptoKind::Sr25519);
		// The settlement as it goes when the counterpart cannot receive: discontinued, and the
		// owed amount moved into a held payment instead of to the counterpart.
		let session = Sessions::<T>::get(public).expect("registered");
		let claimer = fresh_counterpart::<T>(7);
		let amount = session.state.owed;
		Adjudicator::<T>::discontinue(RawOrigin::Signed(counterpart).into(), public)
			.expect("discontinued");
		T::Currency::hold(&HoldReason::Session.into(), &owner, amount).expect("funded");
		HeldPayments::<T>::insert(
			public,
			HeldPayment { owner, counterpart: claimer.clone(), amount },
		);
		assert_eq!(T::Currency::balance(&claimer), Zero::zero());
		let paid_before = Retired::<T>::get(public).expect("retired").paid;
		#[extrinsic_call]
		_(RawOrigin::Signed(claimer.clone()), public);
		assert_eq!(T::Currency::balance(&claimer), amount);
		assert!(!HeldPayments::<T>::contains_key(public));
		assert_eq!(Retired::<T>::get(public).expect("retired").paid, paid_before + amount);
	}

	#[benchmark]
	fn rotate_sr25519() {
		let (owner, old, new, proof) = rotate_setup::<T>(CryptoKind::Sr25519);
		#[extrinsic_call]
		rotate(RawOrigin::Signed(delegate::<T>()), old, new, proof);
		assert_rotated::<T>(owner, old, new);
	}

	#[benchmark]
	fn rotate_ed25519() {
		let (owner, old, new, proof) = rotate_setup::<T>(CryptoKind::Ed25519);
		#[extrinsic_call]
		rotate(RawOrigin::Signed(delegate::<T>()), old, new, proof);
		assert_rotated::<T>(owner, old, new);
	}

	#[benchmark]
	fn rotate_ecdsa() {
		let (owner, old, new, proof) = rotate_setup::<T>(CryptoKind::Ecdsa);
		#[extrinsic_call]
		rotate(RawOrigin::Signed(delegate::<T>()), old, new, proof);
		assert_rotated::<T>(owner, old, new);
	}

	/// A block with nothing due.
	#[benchmark]
	fn on_initialize_idle() {
		let owner = funded::<T>("owner", 0, 1);
		register_shared::<T>(&owner, CryptoKind::Sr25519, T::MaxDuration::get(), true);
		let now = frame_system::Pallet::<T>::block_number().saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(now);
		#[block]
		{
			Adjudicator::<T>::on_initialize(now);
		}
		assert_eq!(Adjudicator::<T>::keys_of(&owner).len(), 1);
	}

	/// `k` sessions due at the current block, reached after stepping past `s` empty blocks of
	/// a carried-over backlog. Each session is loaded by `load_session` and has an owner of its
	/// own whose key index is full and a counterpart of its own whose account the payment
	/// creates; each settlement pays the debt, burns the record fee and releases the rest of
	/// the collateral and the deposit.
	#[benchmark]
	fn on_initialize_expire(
		k: Linear<0, { Pallet::<T>::settlements_per_block() }>,
		s: Linear<0, { Pallet::<T>::settlements_per_block() }>,
	) {
		let start = frame_system::Pallet::<T>::block_number();
		let duration: BlockNumberFor<T> = (s + 1).into();
		let sessions: Vec<_> = (0..k)
			.map(|i| {
				let owner = funded::<T>("expiring", i, 1);
				let counterpart = fresh_counterpart::<T>(i);
				let public =
					register_with::<T>(&owner, &counterpart, CryptoKind::Sr25519, duration, true);
				load_session::<T>(&owner, &public, &counterpart);
				fill_index::<T>(&owner);
				(public, owner, counterpart)
			})
			.collect();
		let expires_at = start.saturating_add(duration);
		let now = expires_at.saturating_add(Adjudicator::<T>::challenge_period());
		// Keys beyond `MaxExpiriesPerBlock` were placed in later blocks; a block also holds
		// its closing reserve (revocations into a full block): they join `now`'s block, as
		// such revocations would.
		for (public, ..) in &sessions {
			let mut session = Sessions::<T>::get(public).expect("registered");
			if session.settles_at != now {
				Adjudicator::<T>::unschedule(public, session.settles_at);
				Adjudicator::<T>::queue_at(public, now);
				session.settles_at = now;
				Sessions::<T>::insert(public, session);
			}
		}
		if s > 0 {
			// A backlog from `s` blocks back, whose blocks are already drained.
			let from = now.saturating_sub(s.into());
			ExpiryAgenda::<T>::mutate(now, |mark| {
				mark.get_or_insert_with(DueMark::default).carry_from = Some(from);
			});
		}
		frame_system::Pallet::<T>::set_block_number(now);
		#[block]
		{
			Adjudicator::<T>::on_initialize(now);
		}
		let events = frame_system::Pallet::<T>::events();
		for (public, owner, counterpart) in sessions {
			assert_eq!(T::Currency::balance(&counterpart), half::<T>());
			assert_eq!(OwnerSessions::<T>::get(&owner).len() as u32, T::MaxKeysPerOwner::get() - 1);
			let ended: <T as frame_system::Config>::RuntimeEvent =
				ended_event::<T>(public, owner, counterpart, EndReason::Expired, expires_at).into();
			assert!(events.iter().any(|record| record.event == ended));
		}
	}

	/// Replacing an authorization with the longest counterpart list: the old record is read,
	/// the deposit's difference held.
	#[benchmark]
	fn authorize_delegate() {
		let owner = funded::<T>("owner", 0, 1);
		let delegate: T::AccountId = account("delegate", 0, SEED);
		let narrow = DelegateTerms {
			counterparts: vec![counterpart::<T>()].try_into().expect("one fits"),
			..wide_terms::<T>()
		};
		Adjudicator::<T>::authorize_delegate(
			RawOrigin::Signed(owner.clone()).into(),
			T::Lookup::unlookup(delegate.clone()),
			narrow,
		)
		.expect("valid terms");
		let terms = wide_terms::<T>();
		let deposit = Adjudicator::<T>::authorization_deposit(&terms);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner.clone()), T::Lookup::unlookup(delegate.clone()), terms.clone());
		assert_last_event::<T>(Event::DelegateAuthorized { owner, delegate, terms, deposit });
	}

	/// Revoking a delegate and closing the `k` live keys it made (at `k = MaxKeysPerOwner` the
	/// owner's index is full), each with a debt and queued in a block of its own, as
	/// `revoke_all`.
	#[benchmark]
	fn revoke_delegate(k: Linear<1, { T::MaxKeysPerOwner::get() }>) {
		let owner = funded::<T>("owner", 0, k);
		let delegate = delegate::<T>();
		for i in 0..k {
			let counterpart = counterpart::<T>();
			let duration = T::MaxDuration::get().saturating_sub(i.into());
			let public =
				register_with::<T>(&owner, &counterpart, CryptoKind::Sr25519, duration, true);
			checkpoint_state::<T>(&public, &counterpart, half::<T>(), Zero::zero(), 1);
		}
		#[extrinsic_call]
		_(RawOrigin::Signed(owner.clone()), T::Lookup::unlookup(delegate.clone()), true);
		assert_last_event::<T>(Event::DelegateRevoked { owner, delegate, keys_closed: k });
	}

	/// `register` through a delegate: the worst `register` (an owner one key short of the cap,
	/// the largest terms), with the authorization read, its counterpart list searched to the
	/// end, and the delegate's running totals read and written.
	#[benchmark]
	fn register_for() {
		let a = register_worst::<T>(CryptoKind::Sr25519);
		// The last counterpart the terms list: the search goes through the whole list.
		let counterpart = fresh_counterpart::<T>(T::MaxKeysPerOwner::get());
		let delegate = delegate_for::<T>(&a.owner, &counterpart);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(delegate.clone()),
			T::Lookup::unlookup(a.owner.clone()),
			a.public,
			a.proof,
			T::Lookup::unlookup(counterpart.clone()),
			Some(T::MaxDuration::get()),
			a.collateral,
			a.collateral,
			a.description,
			a.scope,
		);
		let expires_at =
			frame_system::Pallet::<T>::block_number().saturating_add(T::MaxDuration::get());
		assert_last_event::<T>(Event::SessionRegistered {
			public: a.public,
			owner: a.owner.clone(),
			counterpart,
			delegate: Some(delegate),
			expires_at,
			spending_limit: collateral::<T>(),
			collateral: collateral::<T>(),
			deposit: max_deposit::<T>(),
		});
		assert!(index_full::<T>(&a.owner));
	}

	/// One record of the multi-block migration of retired records, at its worst: a version 1
	/// record under the longest key (ecdsa), which the current and version 2 layouts fail to
	/// decode before version 1's does, rewritten in the current layout.
	#[benchmark]
	fn migrate_retired_record() {
		use crate::migrations::{retired::MigrateRetiredRecords, v2::v1::RetiredV1};
		use frame_support::storage::{unhashed, StoragePrefixedMap};

		// The record is the first after the map's prefix.
		let _ = Retired::<T>::clear(u32::MAX, None);
		let public = SessionPublic::Ecdsa(ecdsa::Public::from_raw([7; 33]));
		let owed = collateral::<T>();
		let key = Retired::<T>::hashed_key_for(public);
		let old = RetiredV1 {
			owner: account("owner", 0, SEED),
			counterpart: counterpart::<T>(),
			registered_at: One::one(),
			ended_at: T::MaxDuration::get(),
			reason: EndReason::Discontinued,
			nonce: u64::MAX,
			owed,
		};
		unhashed::put(&key, &old);
		let start = Retired::<T>::final_prefix();
		let done;
		#[block]
		{
			done = MigrateRetiredRecords::<T>::migrate_after(&start);
		}
		assert_eq!(done, Some(key));
		let record = Retired::<T>::get(public).expect("rewritten in the current layout");
		assert_eq!((record.owner, record.paid, record.delegate), (old.owner, owed, None));
	}

	impl_benchmark_test_suite!(
		Adjudicator,
		crate::mock::ExtBuilder::default().build(),
		crate::mock::Test
	);
}
