//! # Session-key adjudicator pallet
//!
//! Owners register short-lived **session keys** on chain, each with a counterpart, a duration,
//! a spending limit, collateral and an RFC-0048 ownership proof; the pallet enforces the key's
//! life.
//!
//! ## Terminology
//!
//! - **Owner**: the account that registers a key, pays its storage deposit and collateral.
//! - **Counterpart**: the account the session is opened with (a clearing server, an exchange).
//! - **Live** session: registered and not yet ended. It is **valid** at block `b` while
//!   `registered_at <= b < expires_at`.
//! - **Retired** record: what is kept of a session after it ended, forever: no key is ever
//!   registered twice, and historical signatures stay attributable.
//! - **Ownership proof**: the key's signature over `b"POP_" ++ owner.encode()`, exactly the
//!   proof-of-possession that `sp_core::proof_of_possession` defines and pallet-session checks.
//!
//! ## Life of a key
//!
//! - [`Pallet::register`] verifies the proof and holds the deposit and collateral;
//! - [`Pallet::renew`] moves the expiry to `now + duration` (at most `now + MaxDuration`);
//! - [`Pallet::revoke`] and [`Pallet::revoke_all`] end keys at once;
//! - [`Pallet::rotate`] replaces a key by a new one while nothing is at stake;
//! - [`Pallet::checkpoint`]: the counterpart records a state `(nonce, owed, margin)` signed by
//!   the session key; a state that leaves the session under-collateralized liquidates it;
//! - [`Pallet::top_up`] and [`Pallet::set_spending_limit`] adjust the terms;
//! - [`Pallet::liquidate`] and [`Pallet::discontinue`]: the counterpart ends the session;
//! - expiry: `on_initialize` of the expiry block ends the key, at most
//!   [`Config::MaxExpiriesPerBlock`] keys per block; the rest carry over to the next blocks and
//!   are never skipped. A block with nothing due costs one storage read.
//!
//! Every ending **settles**: the counterpart receives the last checkpointed `owed` out of the
//! held collateral (never more than the collateral), the owner gets the rest and the deposit
//! back, and the key becomes a retired record.
//!
//! ## Signed payloads
//!
//! A channel state is signed over SCALE `(STATE_DOMAIN, genesis_hash, public, nonce, owed,
//! margin)` ([`ChannelState::signing_payload`]): a signature for another purpose, chain or key
//! is refused.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use session_keys_primitives::{
	ChannelState, EndReason, RetiredSession, SessionPublic, SessionSignature, MAX_PROOF_LEN,
	STATE_DOMAIN,
};

mod authenticate;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod expiry;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
#[cfg(any(feature = "try-runtime", test))]
mod try_state;
pub mod types;
pub mod weights;

pub use authenticate::{AuthenticatedOf, RegistrationOf, RequestHeaderOf};
pub use types::*;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use codec::Encode;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, InspectHold, Mutate, MutateHold},
			tokens::{Fortitude, Precision, Restriction},
		},
	};
	use frame_system::pallet_prelude::*;
	use session_keys_primitives::{CryptoKind, ProofError};
	use sp_runtime::traits::{Saturating, StaticLookup, Zero};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	/// An account lookup source, as calls take it.
	pub type AccountIdLookupOf<T> = <<T as frame_system::Config>::Lookup as StaticLookup>::Source;

	/// An encoded RFC-0048 ownership proof for one key.
	pub type ProofOf = BoundedVec<u8, ConstU32<MAX_PROOF_LEN>>;

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the adjudicator.
	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency that deposits and collateral are held in.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ InspectHold<Self::AccountId>;

		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;

		/// Duration, in blocks, of a key registered or renewed without an explicit duration.
		#[pallet::constant]
		type DefaultDuration: Get<BlockNumberFor<Self>>;

		/// Longest duration, in blocks, a key may be registered or renewed for.
		#[pallet::constant]
		type MaxDuration: Get<BlockNumberFor<Self>>;

		/// Most live keys one owner may have at once.
		#[pallet::constant]
		type MaxKeysPerOwner: Get<u32>;

		/// Most keys ended by expiry in one block; the rest carry over to the next blocks. Also
		/// bounds how many queued blocks one `on_initialize` steps through.
		#[pallet::constant]
		type MaxExpiriesPerBlock: Get<u32>;

		/// Longest description, in bytes.
		#[pallet::constant]
		type MaxDescriptionLen: Get<u32>;

		/// Most resources in a key's scope.
		#[pallet::constant]
		type MaxScopeItems: Get<u32>;

		/// Longest resource identifier in a scope, in bytes.
		#[pallet::constant]
		type MaxResourceLen: Get<u32>;

		/// Storage deposit held per registration.
		#[pallet::constant]
		type DepositBase: Get<BalanceOf<Self>>;

		/// Additional storage deposit per byte of description and scope.
		#[pallet::constant]
		type DepositPerByte: Get<BalanceOf<Self>>;

		/// How many of the latest blocks a signed request header may name, counting the current
		/// one; 5 minutes of blocks by convention. At most frame-system's `BlockHashCount`.
		#[pallet::constant]
		type HeaderValidity: Get<BlockNumberFor<Self>>;

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A session's collateral and its storage deposit, held together from the owner for the
		/// session's life; the session record keeps the two amounts apart. One hold per
		/// registration is cheaper than two: each `fungible` hold and release has a fixed cost.
		#[codec(index = 0)]
		Session,
	}

	/// Live sessions by key.
	#[pallet::storage]
	pub type Sessions<T: Config> =
		StorageMap<_, Blake2_128Concat, SessionPublic, SessionOf<T>, OptionQuery>;

	/// Retired sessions by key, kept forever.
	#[pallet::storage]
	pub type Retired<T: Config> =
		StorageMap<_, Blake2_128Concat, SessionPublic, RetiredOf<T>, OptionQuery>;

	/// The live keys of each owner.
	#[pallet::storage]
	pub type OwnerSessions<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<SessionPublic, T::MaxKeysPerOwner>,
		ValueQuery,
	>;

	/// Blocks whose `on_initialize` has expiry work. Reading it is the only cost of an idle block.
	#[pallet::storage]
	pub type ExpiryAgenda<T: Config> =
		StorageMap<_, Twox64Concat, BlockNumberFor<T>, DueMark<BlockNumberFor<T>>, OptionQuery>;

	/// Live keys by expiry block. A key is removed from here as soon as it ends or is renewed.
	#[pallet::storage]
	pub type ExpiryQueue<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		Blake2_128Concat,
		SessionPublic,
		(),
		OptionQuery,
	>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A session key was registered.
		SessionRegistered {
			/// The session key.
			public: SessionPublic,
			/// Its owner.
			owner: T::AccountId,
			/// Its counterpart.
			counterpart: T::AccountId,
			/// The first block at which it is no longer valid.
			expires_at: BlockNumberFor<T>,
			/// The most the session may owe its counterpart.
			spending_limit: BalanceOf<T>,
			/// Collateral held for it.
			collateral: BalanceOf<T>,
			/// Storage deposit held for it.
			deposit: BalanceOf<T>,
		},
		/// A session key's expiry was moved.
		SessionRenewed {
			/// The session key.
			public: SessionPublic,
			/// The new expiry block.
			expires_at: BlockNumberFor<T>,
		},
		/// A session key was replaced by a new one, which carries the session's terms.
		SessionRotated {
			/// The retired key.
			old: SessionPublic,
			/// The new key.
			new: SessionPublic,
			/// The owner.
			owner: T::AccountId,
			/// The new key's expiry block.
			expires_at: BlockNumberFor<T>,
		},
		/// A session ended; its key is retired for good.
		SessionEnded {
			/// The session key.
			public: SessionPublic,
			/// Its owner.
			owner: T::AccountId,
			/// Its counterpart.
			counterpart: T::AccountId,
			/// Why it ended.
			reason: EndReason,
			/// The first block at which the key was no longer valid.
			ended_at: BlockNumberFor<T>,
			/// Collateral paid to the counterpart: the last checkpointed amount owed.
			paid_to_counterpart: BalanceOf<T>,
			/// Collateral returned to the owner.
			collateral_released: BalanceOf<T>,
			/// Storage deposit returned to the owner.
			deposit_released: BalanceOf<T>,
		},
		/// The counterpart checkpointed a state signed by the session key.
		StateCheckpointed {
			/// The session key.
			public: SessionPublic,
			/// The state's nonce.
			nonce: u64,
			/// Cumulative amount owed to the counterpart.
			owed: BalanceOf<T>,
			/// Collateral the open positions require.
			margin: BalanceOf<T>,
		},
		/// The owner added collateral to a session.
		CollateralToppedUp {
			/// The session key.
			public: SessionPublic,
			/// The session's collateral now.
			collateral: BalanceOf<T>,
		},
		/// The owner changed a session's spending limit.
		SpendingLimitChanged {
			/// The session key.
			public: SessionPublic,
			/// The new limit.
			spending_limit: BalanceOf<T>,
		},
		/// More keys were due than one block may end; the rest carry over to the next block.
		ExpiryCarriedOver {
			/// The oldest expiry block that still has keys waiting.
			from: BlockNumberFor<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The ownership proof is not one signature of the key's scheme (wrong length or
		/// trailing bytes).
		MalformedProof,
		/// The ownership proof does not verify for this key and the calling owner.
		InvalidProof,
		/// The key is already registered and live.
		AlreadyRegistered,
		/// The key belonged to a session that ended; it can never be used again.
		KeyRetired,
		/// No live session has this key.
		NotFound,
		/// The caller does not own this session.
		NotOwner,
		/// The duration is zero.
		ZeroDuration,
		/// The duration is longer than `MaxDuration`.
		DurationTooLong,
		/// The owner already has `MaxKeysPerOwner` live keys.
		TooManyKeys,
		/// The owner cannot pay the storage deposit and collateral.
		InsufficientBalance,
		/// A session cannot have its owner as counterpart.
		CounterpartIsOwner,
		/// The key has expired and waits to be concluded; it can no longer be renewed or
		/// rotated.
		Expired,
		/// Funds are at stake on this session, so its key cannot be rotated.
		FundsAtStake,
		/// The owner has no live keys.
		NoLiveKeys,
		/// The caller is not the session's counterpart.
		NotCounterpart,
		/// The state's nonce is not greater than the last checkpointed one.
		StaleNonce,
		/// The state owes less than an earlier checkpoint did.
		OwedDecreased,
		/// The state owes more than the session's spending limit.
		OverSpendingLimit,
		/// The state owes more than the session's collateral.
		OverCollateral,
		/// The signature is not the session key's over this state on this chain.
		InvalidSignature,
		/// The session is not under-collateralized, so it cannot be liquidated.
		NotUnderCollateralized,
		/// The spending limit cannot be set below what the session already owes.
		LimitBelowOwed,
		/// The amount is zero.
		ZeroAmount,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::process_expiries(now)
		}

		fn integrity_test() {
			assert!(!T::DefaultDuration::get().is_zero(), "DefaultDuration must be positive");
			assert!(
				T::DefaultDuration::get() <= T::MaxDuration::get(),
				"DefaultDuration must not exceed MaxDuration"
			);
			assert!(T::MaxKeysPerOwner::get() > 0, "MaxKeysPerOwner must be positive");
			assert!(T::MaxExpiriesPerBlock::get() > 0, "MaxExpiriesPerBlock must be positive");
			assert!(!T::HeaderValidity::get().is_zero(), "HeaderValidity must be positive");
			assert!(
				T::HeaderValidity::get() <= T::BlockHashCount::get(),
				"HeaderValidity must not exceed BlockHashCount: older hashes are pruned"
			);
			let max = T::MaxExpiriesPerBlock::get();
			assert!(
				T::WeightInfo::on_initialize_expire(max, max)
					.all_lte(T::BlockWeights::get().max_block),
				"on_initialize at MaxExpiriesPerBlock must fit in a block"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(now: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state(now)
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Register a session key.
		///
		/// - origin: signed, the owner.
		/// - `public`: the session key.
		/// - `proof`: its RFC-0048 ownership proof for the owner: the key's signature over
		///   `b"POP_" ++ owner.encode()`, SCALE encoded.
		/// - `counterpart`: the account the session is opened with (not the owner).
		/// - `duration`: blocks until expiry; `None` for `DefaultDuration`; at most
		///   `MaxDuration`.
		/// - `spending_limit`: the most the session may ever owe its counterpart.
		/// - `collateral`: held from the owner for the session's life.
		/// - `description`, `scope`: what the key is for and the resources it may access.
		///
		/// Also holds a storage deposit of `DepositBase + DepositPerByte * (description and
		/// scope bytes)`. Emits `SessionRegistered`.
		///
		/// ## Complexity
		/// O(1): one signature verification and a bounded number of storage accesses.
		#[pallet::call_index(0)]
		#[pallet::weight(Pallet::<T>::register_weight(public.kind()))]
		pub fn register(
			origin: OriginFor<T>,
			public: SessionPublic,
			proof: ProofOf,
			counterpart: AccountIdLookupOf<T>,
			duration: Option<BlockNumberFor<T>>,
			#[pallet::compact] spending_limit: BalanceOf<T>,
			#[pallet::compact] collateral: BalanceOf<T>,
			description: DescriptionOf<T>,
			scope: ScopeOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			let counterpart = T::Lookup::lookup(counterpart)?;
			ensure!(counterpart != owner, Error::<T>::CounterpartIsOwner);
			let duration = Self::checked_duration(duration)?;
			Self::ensure_unused(&public)?;
			Self::verify_ownership(&public, &owner, &proof)?;

			OwnerSessions::<T>::try_mutate(&owner, |keys| keys.try_push(public))
				.map_err(|_| Error::<T>::TooManyKeys)?;

			let deposit = Self::deposit_for(&description, &scope);
			let held = collateral.checked_add(&deposit).ok_or(Error::<T>::InsufficientBalance)?;
			T::Currency::hold(&HoldReason::Session.into(), &owner, held)
				.map_err(|_| Error::<T>::InsufficientBalance)?;

			let now = frame_system::Pallet::<T>::block_number();
			let expires_at = now.saturating_add(duration);
			Self::schedule(&public, expires_at);
			Sessions::<T>::insert(
				public,
				Session {
					owner: owner.clone(),
					counterpart: counterpart.clone(),
					registered_at: now,
					expires_at,
					duration,
					spending_limit,
					collateral,
					deposit,
					description,
					scope,
					state: Default::default(),
				},
			);
			Self::deposit_event(Event::SessionRegistered {
				public,
				owner,
				counterpart,
				expires_at,
				spending_limit,
				collateral,
				deposit,
			});
			Ok(())
		}

		/// Move a live key's expiry to `now + duration`.
		///
		/// - origin: signed, the owner.
		/// - `public`: the session key; it must not have expired.
		/// - `duration`: `None` for `DefaultDuration`; at most `MaxDuration`, so the expiry is
		///   never past `now + MaxDuration`.
		///
		/// Emits `SessionRenewed`.
		///
		/// ## Complexity
		/// O(1): the key's old queue entry is removed directly, no queue is scanned.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::renew())]
		pub fn renew(
			origin: OriginFor<T>,
			public: SessionPublic,
			duration: Option<BlockNumberFor<T>>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			let duration = Self::checked_duration(duration)?;
			let mut session = Self::owned_session(&public, &owner)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(session.expires_at > now, Error::<T>::Expired);

			let expires_at = now.saturating_add(duration);
			Self::unschedule(&public, session.expires_at);
			Self::schedule(&public, expires_at);
			session.expires_at = expires_at;
			session.duration = duration;
			Sessions::<T>::insert(public, session);
			Self::deposit_event(Event::SessionRenewed { public, expires_at });
			Ok(())
		}

		/// End a live session at once; the key is invalid from this block on.
		///
		/// - origin: signed, the owner.
		/// - `public`: the session key.
		///
		/// Settles the session and emits `SessionEnded` with reason `Revoked`.
		///
		/// ## Complexity
		/// O(`MaxKeysPerOwner`) to update the owner's bounded key list.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::revoke())]
		pub fn revoke(origin: OriginFor<T>, public: SessionPublic) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			let session = Self::owned_session(&public, &owner)?;
			Self::conclude_now(public, session, EndReason::Revoked);
			Ok(())
		}

		/// End every live session of the caller at once: the response to a compromise.
		///
		/// - origin: signed, the owner.
		///
		/// Emits `SessionEnded` with reason `Revoked` for each key.
		///
		/// ## Complexity
		/// O(k) for the caller's k live keys, k <= `MaxKeysPerOwner`; charged for
		/// `MaxKeysPerOwner` up front and refunded to k.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::revoke_all(T::MaxKeysPerOwner::get()))]
		pub fn revoke_all(origin: OriginFor<T>) -> DispatchResultWithPostInfo {
			let owner = ensure_signed(origin)?;
			let keys = OwnerSessions::<T>::take(&owner);
			ensure!(!keys.is_empty(), Error::<T>::NoLiveKeys);
			let now = frame_system::Pallet::<T>::block_number();
			let count = keys.len() as u32;
			for public in keys {
				let Some(session) = Sessions::<T>::take(public) else {
					defensive!("a key in OwnerSessions has no live session");
					continue;
				};
				Self::unschedule(&public, session.expires_at);
				Self::settle_and_retire(public, session, EndReason::Revoked, now);
			}
			Ok(Some(T::WeightInfo::revoke_all(count)).into())
		}

		/// Replace a live key by a new one that carries the session's terms (counterpart,
		/// spending limit, description, scope, term length) with a fresh expiry.
		///
		/// Only while nothing is at stake on the session: no collateral held, nothing owed, no
		/// open positions (margin). Otherwise fails with `FundsAtStake` and nothing changes. The old key is retired for good.
		///
		/// - origin: signed, the owner.
		/// - `old`: the live key to replace; it must not have expired.
		/// - `new`: the new key, never registered before.
		/// - `proof`: the new key's RFC-0048 ownership proof for the owner.
		///
		/// Emits `SessionEnded` (reason `Rotated`) for the old key and `SessionRotated`.
		///
		/// ## Complexity
		/// O(`MaxKeysPerOwner`) to update the owner's bounded key list, and one signature
		/// verification.
		#[pallet::call_index(4)]
		#[pallet::weight(Pallet::<T>::rotate_weight(new.kind()))]
		pub fn rotate(
			origin: OriginFor<T>,
			old: SessionPublic,
			new: SessionPublic,
			proof: ProofOf,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			let session = Self::owned_session(&old, &owner)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(session.expires_at > now, Error::<T>::Expired);
			ensure!(!session.has_funds_at_stake(), Error::<T>::FundsAtStake);
			Self::ensure_unused(&new)?;
			Self::verify_ownership(&new, &owner, &proof)?;

			OwnerSessions::<T>::mutate(&owner, |keys| {
				if let Some(slot) = keys.iter_mut().find(|k| **k == old) {
					*slot = new;
				}
			});
			Self::unschedule(&old, session.expires_at);
			Sessions::<T>::remove(old);

			let duration = session.duration.min(T::MaxDuration::get());
			let expires_at = now.saturating_add(duration);
			Self::schedule(&new, expires_at);
			let renewed = Session { registered_at: now, expires_at, duration, ..session.clone() };
			Sessions::<T>::insert(new, renewed);
			// The deposit moves to the new key with the terms; nothing else was held.
			Self::retire(
				old,
				&session,
				EndReason::Rotated,
				now,
				Zero::zero(),
				Zero::zero(),
				Zero::zero(),
			);
			Self::deposit_event(Event::SessionRotated { old, new, owner, expires_at });
			Ok(())
		}

		/// Record the latest channel state, signed by the session key.
		///
		/// - origin: signed, the session's counterpart.
		/// - `public`: the session key; it must be live and not expired.
		/// - `state`: `(nonce, owed, margin)`: the nonce must exceed the last one, `owed` must
		///   not decrease and may exceed neither the spending limit nor the collateral.
		/// - `signature`: the session key's signature over
		///   [`ChannelState::signing_payload`] for this chain's genesis hash.
		///
		/// Emits `StateCheckpointed`. A state that leaves the session under-collateralized
		/// (`owed + margin > collateral`) liquidates it in the same call: `SessionEnded` with
		/// reason `Liquidated`.
		///
		/// ## Complexity
		/// O(`MaxKeysPerOwner`) when it liquidates; one signature verification.
		#[pallet::call_index(5)]
		#[pallet::weight(Pallet::<T>::checkpoint_weight(public.kind()))]
		pub fn checkpoint(
			origin: OriginFor<T>,
			public: SessionPublic,
			state: ChannelState<BalanceOf<T>>,
			signature: SessionSignature,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut session = Self::countered_session(&public, &who)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(session.expires_at > now, Error::<T>::Expired);
			ensure!(state.nonce > session.state.nonce, Error::<T>::StaleNonce);
			ensure!(state.owed >= session.state.owed, Error::<T>::OwedDecreased);
			ensure!(state.owed <= session.spending_limit, Error::<T>::OverSpendingLimit);
			ensure!(state.owed <= session.collateral, Error::<T>::OverCollateral);
			let payload = state.signing_payload(&Self::genesis_hash(), &public);
			ensure!(public.verify(&payload, &signature), Error::<T>::InvalidSignature);

			session.state = state;
			Self::deposit_event(Event::StateCheckpointed {
				public,
				nonce: state.nonce,
				owed: state.owed,
				margin: state.margin,
			});
			if session.is_under_collateralized() {
				Self::conclude_now(public, session, EndReason::Liquidated);
			} else {
				Sessions::<T>::insert(public, session);
			}
			Ok(())
		}

		/// Add collateral to a live session.
		///
		/// - origin: signed, the owner.
		/// - `public`: the session key; it must not have expired.
		/// - `amount`: held from the owner in addition; not zero.
		///
		/// Emits `CollateralToppedUp`.
		///
		/// ## Complexity
		/// O(1).
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::top_up())]
		pub fn top_up(
			origin: OriginFor<T>,
			public: SessionPublic,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
			let mut session = Self::owned_session(&public, &owner)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(session.expires_at > now, Error::<T>::Expired);
			T::Currency::hold(&HoldReason::Session.into(), &owner, amount)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			session.collateral.saturating_accrue(amount);
			let collateral = session.collateral;
			Sessions::<T>::insert(public, session);
			Self::deposit_event(Event::CollateralToppedUp { public, collateral });
			Ok(())
		}

		/// Change a live session's spending limit, never below what it already owes.
		///
		/// - origin: signed, the owner.
		/// - `public`: the session key; it must not have expired.
		/// - `spending_limit`: the new limit.
		///
		/// Emits `SpendingLimitChanged`.
		///
		/// ## Complexity
		/// O(1).
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::set_spending_limit())]
		pub fn set_spending_limit(
			origin: OriginFor<T>,
			public: SessionPublic,
			#[pallet::compact] spending_limit: BalanceOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			let mut session = Self::owned_session(&public, &owner)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(session.expires_at > now, Error::<T>::Expired);
			ensure!(spending_limit >= session.state.owed, Error::<T>::LimitBelowOwed);
			session.spending_limit = spending_limit;
			Sessions::<T>::insert(public, session);
			Self::deposit_event(Event::SpendingLimitChanged { public, spending_limit });
			Ok(())
		}

		/// Liquidate an under-collateralized session: positions closed, channel concluded,
		/// key invalidated.
		///
		/// - origin: signed, the session's counterpart.
		/// - `public`: the session key; its latest checkpoint must leave it under-collateralized
		///   (`owed + margin > collateral`).
		///
		/// A checkpoint that under-collateralizes a session already liquidates it, so this call
		/// is for sessions that reach that state any other way. Emits `SessionEnded` with reason
		/// `Liquidated`.
		///
		/// ## Complexity
		/// O(`MaxKeysPerOwner`) to update the owner's bounded key list.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::liquidate())]
		pub fn liquidate(origin: OriginFor<T>, public: SessionPublic) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let session = Self::countered_session(&public, &who)?;
			ensure!(session.is_under_collateralized(), Error::<T>::NotUnderCollateralized);
			Self::conclude_now(public, session, EndReason::Liquidated);
			Ok(())
		}

		/// End a session as its counterpart (for instance when it stops clearing).
		///
		/// - origin: signed, the session's counterpart.
		/// - `public`: the session key.
		///
		/// Settles the session and emits `SessionEnded` with reason `Discontinued`.
		///
		/// ## Complexity
		/// O(`MaxKeysPerOwner`) to update the owner's bounded key list.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::discontinue())]
		pub fn discontinue(origin: OriginFor<T>, public: SessionPublic) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let session = Self::countered_session(&public, &who)?;
			Self::conclude_now(public, session, EndReason::Discontinued);
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// The live session of `public`, if any.
		pub fn session(public: &SessionPublic) -> Option<SessionOf<T>> {
			Sessions::<T>::get(public)
		}

		/// The retired record of `public`, if its session ended.
		pub fn retired(public: &SessionPublic) -> Option<RetiredOf<T>> {
			Retired::<T>::get(public)
		}

		/// The live keys of `owner`.
		pub fn keys_of(owner: &T::AccountId) -> Vec<SessionPublic> {
			OwnerSessions::<T>::get(owner).into_inner()
		}

		/// Whether `public` was or is valid at `block`: a live key in `[registered_at,
		/// expires_at)`, a retired one in `[registered_at, ended_at)`.
		pub fn is_valid_at(public: &SessionPublic, block: BlockNumberFor<T>) -> bool {
			if let Some(session) = Sessions::<T>::get(public) {
				return session.registered_at <= block && block < session.expires_at;
			}
			Retired::<T>::get(public).is_some_and(|record| record.was_valid_at(block))
		}

		/// The weight of `register` for a key of `kind`.
		pub fn register_weight(kind: CryptoKind) -> Weight {
			match kind {
				CryptoKind::Sr25519 => T::WeightInfo::register_sr25519(),
				CryptoKind::Ed25519 => T::WeightInfo::register_ed25519(),
				CryptoKind::Ecdsa => T::WeightInfo::register_ecdsa(),
			}
		}

		/// The weight of `rotate` to a new key of `kind`.
		pub fn rotate_weight(kind: CryptoKind) -> Weight {
			match kind {
				CryptoKind::Sr25519 => T::WeightInfo::rotate_sr25519(),
				CryptoKind::Ed25519 => T::WeightInfo::rotate_ed25519(),
				CryptoKind::Ecdsa => T::WeightInfo::rotate_ecdsa(),
			}
		}

		/// The weight of `checkpoint` for a key of `kind`, including a liquidation.
		pub fn checkpoint_weight(kind: CryptoKind) -> Weight {
			match kind {
				CryptoKind::Sr25519 => T::WeightInfo::checkpoint_sr25519(),
				CryptoKind::Ed25519 => T::WeightInfo::checkpoint_ed25519(),
				CryptoKind::Ecdsa => T::WeightInfo::checkpoint_ecdsa(),
			}
		}

		/// The hash of this chain's genesis block, which every signed payload commits to.
		pub fn genesis_hash() -> T::Hash {
			frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero())
		}

		/// The storage deposit for a registration with this description and scope.
		pub fn deposit_for(description: &DescriptionOf<T>, scope: &ScopeOf<T>) -> BalanceOf<T> {
			let bytes = (description.encoded_size() + scope.encoded_size()) as u32;
			T::DepositBase::get()
				.saturating_add(T::DepositPerByte::get().saturating_mul(bytes.into()))
		}

		fn checked_duration(
			duration: Option<BlockNumberFor<T>>,
		) -> Result<BlockNumberFor<T>, Error<T>> {
			let duration = duration.unwrap_or_else(T::DefaultDuration::get);
			ensure!(!duration.is_zero(), Error::<T>::ZeroDuration);
			ensure!(duration <= T::MaxDuration::get(), Error::<T>::DurationTooLong);
			Ok(duration)
		}

		/// A key may be registered only if no record, live or retired, ever had it.
		fn ensure_unused(public: &SessionPublic) -> DispatchResult {
			ensure!(!Sessions::<T>::contains_key(public), Error::<T>::AlreadyRegistered);
			ensure!(!Retired::<T>::contains_key(public), Error::<T>::KeyRetired);
			Ok(())
		}

		fn verify_ownership(
			public: &SessionPublic,
			owner: &T::AccountId,
			proof: &ProofOf,
		) -> DispatchResult {
			owner.using_encoded(|owner| public.verify_ownership(owner, proof)).map_err(
				|e| match e {
					ProofError::Malformed => Error::<T>::MalformedProof,
					ProofError::Invalid => Error::<T>::InvalidProof,
				},
			)?;
			Ok(())
		}

		/// The live session of `public`, checked to belong to `owner`.
		fn owned_session(
			public: &SessionPublic,
			owner: &T::AccountId,
		) -> Result<SessionOf<T>, DispatchError> {
			let session = Self::live_session(public)?;
			ensure!(&session.owner == owner, Error::<T>::NotOwner);
			Ok(session)
		}

		/// The live session of `public`, or why there is none.
		fn live_session(public: &SessionPublic) -> Result<SessionOf<T>, Error<T>> {
			Sessions::<T>::get(public).ok_or_else(|| {
				if Retired::<T>::contains_key(public) {
					Error::<T>::KeyRetired
				} else {
					Error::<T>::NotFound
				}
			})
		}

		/// The live session of `public`, checked to have `who` as counterpart.
		fn countered_session(
			public: &SessionPublic,
			who: &T::AccountId,
		) -> Result<SessionOf<T>, DispatchError> {
			let session = Self::live_session(public)?;
			ensure!(&session.counterpart == who, Error::<T>::NotCounterpart);
			Ok(session)
		}

		/// Ends a live session in this block: unindexes and unqueues it, then settles.
		fn conclude_now(public: SessionPublic, session: SessionOf<T>, reason: EndReason) {
			Self::unindex(&session.owner, &public);
			Self::unschedule(&public, session.expires_at);
			Sessions::<T>::remove(public);
			let now = frame_system::Pallet::<T>::block_number();
			Self::settle_and_retire(public, session, reason, now);
		}

		/// Removes `public` from its owner's key list.
		pub(crate) fn unindex(owner: &T::AccountId, public: &SessionPublic) {
			OwnerSessions::<T>::mutate_exists(owner, |keys| {
				if let Some(list) = keys {
					list.retain(|k| k != public);
					if list.is_empty() {
						*keys = None;
					}
				}
			});
		}

		/// Concludes a session already removed from the live set: pays the counterpart what
		/// the last checkpoint owed (at most the collateral), returns the rest of the
		/// collateral and the deposit to the owner, and retires the key.
		pub(crate) fn settle_and_retire(
			public: SessionPublic,
			session: SessionOf<T>,
			reason: EndReason,
			ended_at: BlockNumberFor<T>,
		) {
			let owed = session.state.owed.min(session.collateral);
			let paid = Self::pay_counterpart(&session, owed);
			let rest = session.collateral.saturating_sub(paid);
			let released = Self::release(&session.owner, rest.saturating_add(session.deposit));
			// Only a defensive shortfall makes these differ from `rest` and `deposit`.
			let deposit = released.min(session.deposit);
			let collateral = released.saturating_sub(deposit);
			Self::retire(public, &session, reason, ended_at, paid, collateral, deposit);
		}

		/// Moves `amount` of the session's held collateral to the counterpart; returns what
		/// moved. A payment the counterpart's account cannot receive (below the existential
		/// deposit of a reaped account) stays with the owner.
		fn pay_counterpart(session: &SessionOf<T>, amount: BalanceOf<T>) -> BalanceOf<T> {
			if amount.is_zero() {
				return amount;
			}
			T::Currency::transfer_on_hold(
				&HoldReason::Session.into(),
				&session.owner,
				&session.counterpart,
				amount,
				Precision::Exact,
				Restriction::Free,
				Fortitude::Force,
			)
			.unwrap_or_else(|_| Zero::zero())
		}

		/// Releases `amount` of the owner's session hold; returns what was released.
		fn release(who: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
			if amount.is_zero() {
				return amount;
			}
			match T::Currency::release(
				&HoldReason::Session.into(),
				who,
				amount,
				Precision::BestEffort,
			) {
				Ok(released) => {
					if released != amount {
						defensive!("released less than the session held");
					}
					released
				}
				Err(e) => {
					defensive!("releasing a session hold failed", e);
					Zero::zero()
				}
			}
		}

		/// Writes the retired record and emits `SessionEnded`.
		fn retire(
			public: SessionPublic,
			session: &SessionOf<T>,
			reason: EndReason,
			ended_at: BlockNumberFor<T>,
			paid_to_counterpart: BalanceOf<T>,
			collateral_released: BalanceOf<T>,
			deposit_released: BalanceOf<T>,
		) {
			Retired::<T>::insert(
				public,
				RetiredSession {
					owner: session.owner.clone(),
					counterpart: session.counterpart.clone(),
					registered_at: session.registered_at,
					ended_at,
					reason,
					nonce: session.state.nonce,
					owed: session.state.owed,
				},
			);
			Self::deposit_event(Event::SessionEnded {
				public,
				owner: session.owner.clone(),
				counterpart: session.counterpart.clone(),
				reason,
				ended_at,
				paid_to_counterpart,
				collateral_released,
				deposit_released,
			});
		}
	}
}
