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
//! - expiry: `on_initialize` of the expiry block ends the key, at most
//!   [`Config::MaxExpiriesPerBlock`] keys per block; the rest carry over to the next blocks and
//!   are never skipped. A block with nothing due costs one storage read.
//!
//! Every ending releases the session's holds and writes the retired record.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use session_keys_primitives::{EndReason, RetiredSession, SessionPublic, MAX_PROOF_LEN};

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
			tokens::Precision,
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

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Collateral posted for a session.
		#[codec(index = 0)]
		Collateral,
		/// Storage deposit for a session's registration.
		#[codec(index = 1)]
		SessionDeposit,
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
			/// Collateral returned to the owner.
			collateral_released: BalanceOf<T>,
			/// Storage deposit returned to the owner.
			deposit_released: BalanceOf<T>,
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
			T::Currency::hold(&HoldReason::SessionDeposit.into(), &owner, deposit)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			T::Currency::hold(&HoldReason::Collateral.into(), &owner, collateral)
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
		/// Releases the session's holds and emits `SessionEnded` with reason `Revoked`.
		///
		/// ## Complexity
		/// O(`MaxKeysPerOwner`) to update the owner's bounded key list.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::revoke())]
		pub fn revoke(origin: OriginFor<T>, public: SessionPublic) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			let session = Self::owned_session(&public, &owner)?;
			Self::unindex(&owner, &public);
			Self::unschedule(&public, session.expires_at);
			Sessions::<T>::remove(public);
			let now = frame_system::Pallet::<T>::block_number();
			Self::settle_and_retire(public, session, EndReason::Revoked, now);
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
		/// Only while nothing is at stake on the session: no collateral held. Otherwise fails
		/// with `FundsAtStake` and nothing changes. The old key is retired for good.
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
			ensure!(session.collateral.is_zero(), Error::<T>::FundsAtStake);
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
			Self::retire(old, &session, EndReason::Rotated, now, Zero::zero(), Zero::zero());
			Self::deposit_event(Event::SessionRotated { old, new, owner, expires_at });
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
			let Some(session) = Sessions::<T>::get(public) else {
				return Err(if Retired::<T>::contains_key(public) {
					Error::<T>::KeyRetired
				} else {
					Error::<T>::NotFound
				}
				.into());
			};
			ensure!(&session.owner == owner, Error::<T>::NotOwner);
			Ok(session)
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

		/// Concludes a session already removed from the live set: returns its collateral and
		/// deposit to the owner and retires the key.
		pub(crate) fn settle_and_retire(
			public: SessionPublic,
			session: SessionOf<T>,
			reason: EndReason,
			ended_at: BlockNumberFor<T>,
		) {
			let collateral =
				Self::release(HoldReason::Collateral, &session.owner, session.collateral);
			let deposit =
				Self::release(HoldReason::SessionDeposit, &session.owner, session.deposit);
			Self::retire(public, &session, reason, ended_at, collateral, deposit);
		}

		fn release(reason: HoldReason, who: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
			if amount.is_zero() {
				return amount;
			}
			match T::Currency::release(&reason.into(), who, amount, Precision::BestEffort) {
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
				},
			);
			Self::deposit_event(Event::SessionEnded {
				public,
				owner: session.owner.clone(),
				counterpart: session.counterpart.clone(),
				reason,
				ended_at,
				collateral_released,
				deposit_released,
			});
		}
	}
}
