//! # Session-key adjudicator pallet
//!
//! Owners register short-lived **session keys** on chain, each with a counterpart, a duration,
//! a spending limit, collateral and an RFC-0048 ownership proof; the pallet enforces the key's
//! life and protects the counterpart: an owner can never settle below what its key signed.
//!
//! ## Terminology
//!
//! - **Owner**: the account that registers a key, pays its storage deposit and collateral.
//! - **Counterpart**: the account the session is opened with (a clearing server, an exchange).
//! - **Live** session: the key is valid, `registered_at <= now < expires_at`.
//! - **Closing** session: the key expired or was revoked (`expires_at <= now < settles_at`,
//!   `settles_at = expires_at + ChallengePeriod`). The key is invalid for everything the owner or
//!   the key can do, but the counterpart may still checkpoint newer states the key signed.
//! - **Retired** record: what is kept of a session after it settled, forever: no key is ever
//!   registered twice, and historical signatures stay attributable.
//! - **Ownership proof**: the key's signature over `b"POP_" ++ owner.encode()`, exactly the
//!   proof-of-possession that `sp_core::proof_of_possession` defines and pallet-session checks.
//!
//! ## Life of a key
//!
//! ```text
//!  register ──► LIVE ──(expires_at reached)──────► CLOSING ──(settles_at)──► settled, RETIRED
//!                │  └──(revoke / revoke_all)──────►   │   on_initialize: reason Expired/Revoked
//!                │ renew, top_up, set_spending_limit  │ checkpoint (newer states only)
//!                │ checkpoint                         │
//!                ├──(rotate, nothing at stake)───────────────────────────► RETIRED (Rotated)
//!                └──(discontinue, liquidate)──────────┴──── at once ─────► RETIRED
//! ```
//!
//! - [`Pallet::register`] verifies the proof and holds the deposit and collateral;
//! - [`Pallet::renew`] moves the expiry to `now + duration` (at most `now + MaxDuration`);
//! - [`Pallet::revoke`] and [`Pallet::revoke_all`] make keys expire at once: the sessions close
//!   and settle `ChallengePeriod` blocks later;
//! - [`Pallet::rotate`] replaces a key by a new one while nothing is at stake;
//! - [`Pallet::checkpoint`]: the counterpart records a state `(nonce, owed, margin)` signed by
//!   the session key, while the session is live or closing; a state that needs more than the
//!   collateral (`owed + margin > collateral`) makes the session liquidatable;
//! - [`Pallet::top_up`] (which can cure an under-collateralized session) and
//!   [`Pallet::set_spending_limit`] (a decrease applies `ChallengePeriod` blocks later) adjust
//!   the terms of a live session;
//! - [`Pallet::liquidate`] (while under-collateralized) and [`Pallet::discontinue`] (any time,
//!   waiving the rest of the window): the counterpart settles the session at once;
//! - settlement: `on_initialize` of `settles_at` settles the session, at most
//!   [`Config::MaxExpiriesPerBlock`] per block; the rest carry over to the next blocks and are
//!   never skipped. A block with nothing due costs one storage read.
//!
//! Every ending **settles** ([`settlement`]): the counterpart receives the last checkpointed
//! `owed` out of the held collateral (never more than the collateral), the owner gets the rest
//! and the deposit back less the record fee, which pays for the retired record that is kept
//! forever ([`Config::RecordFeePerByte`]).
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
	ChannelState, DelegateTerms, DelegateUsage, EndReason, KeyRequest, PendingLimit, Phase,
	Registration, RetiredSession, SessionPublic, SessionSignature, StateRejection, TermRefusal,
	MAX_PROOF_LEN, STATE_DOMAIN,
};

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod delegation;
mod expiry;
pub mod migrations;
#[cfg(test)]
mod mock;
pub mod settlement;
#[cfg(test)]
mod tests;
#[cfg(any(feature = "try-runtime", test))]
mod try_state;
pub mod types;
mod views;
pub mod weights;

pub use types::*;
pub use views::{AuthenticatedOf, DelegationOf, PlainRegistrationOf, RequestHeaderOf};
pub use weights::WeightInfo;

/// The log target of this pallet.
pub const LOG_TARGET: &str = "runtime::session-keys";

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use crate::delegation::Actor;
	use codec::Encode;
	use frame_support::{
		pallet_prelude::*,
		traits::fungible::{Inspect, InspectHold, Mutate, MutateHold},
	};
	use frame_system::pallet_prelude::*;
	use session_keys_primitives::{CryptoKind, ProofError};
	use sp_runtime::traits::{Saturating, StaticLookup, Zero};

	/// The in-code storage version: 1 added the closing window (`settles_at`, `revoked`) and
	/// delayed limit decreases (`pending_limit`), see [`crate::migrations::v1`]; 2 counts the
	/// keys due per block and records what each settlement paid, see [`crate::migrations::v2`];
	/// 3 records the delegate that registered a key, see [`crate::migrations::v3`]. Retired
	/// records of versions 1 and 2 move to the current layout in the multi-block migration
	/// [`crate::migrations::retired`].
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(3);

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

		/// Blocks a session stays closing after its key expired or was revoked: the
		/// counterpart's time to checkpoint the newest state the key signed, and the delay of a
		/// spending-limit decrease. Positive and below `MaxDuration`. A chain's genesis may
		/// override it ([`GenesisConfig::challenge_period`]), as the development preset does.
		#[pallet::constant]
		type ChallengePeriod: Get<BlockNumberFor<Self>>;

		/// Most live or closing keys one owner may have at once.
		#[pallet::constant]
		type MaxKeysPerOwner: Get<u32>;

		/// Most sessions settled in one block's `on_initialize`; the rest carry over to the next
		/// blocks. Also the most keys scheduled to settle in one block (a key whose block is
		/// full goes to the next block with room), and the bound on how many queued blocks one
		/// `on_initialize` steps through.
		#[pallet::constant]
		type MaxExpiriesPerBlock: Get<u32>;

		/// Slots per block beyond `MaxExpiriesPerBlock` that only revocations take, once every
		/// block in reach is full to the cap: a revoked key still settles within
		/// `MaxSettlementDelay` blocks of `ChallengePeriod` after its revocation, rather than at
		/// the end of its term. `on_initialize` settles up to `MaxExpiriesPerBlock` plus this
		/// many keys a block, and is weighed for it.
		#[pallet::constant]
		type ClosingReserve: Get<u32>;

		/// Most blocks past its due block a settlement is placed when the blocks before are
		/// full: scheduling reads at most `MaxSettlementDelay + 1` agenda marks, and `register`,
		/// `renew` and `rotate` fail with `SettlementAgendaFull` when none has room.
		#[pallet::constant]
		type MaxSettlementDelay: Get<u32>;

		/// Most counterparts an owner may list in one delegate's terms.
		#[pallet::constant]
		type MaxDelegateCounterparts: Get<u32>;

		/// Longest description, in bytes.
		#[pallet::constant]
		type MaxDescriptionLen: Get<u32>;

		/// Most resources in a key's scope.
		#[pallet::constant]
		type MaxScopeItems: Get<u32>;

		/// Longest resource identifier in a scope, in bytes.
		#[pallet::constant]
		type MaxResourceLen: Get<u32>;

		/// Storage deposit per stored item: a registration, a delegate's authorization, and the
		/// retired record a session leaves forever (whose price, the record fee, is part of a
		/// registration's deposit and kept from it when the session ends).
		#[pallet::constant]
		type DepositBase: Get<BalanceOf<Self>>;

		/// Additional storage deposit per byte of description and scope.
		#[pallet::constant]
		type DepositPerByte: Get<BalanceOf<Self>>;

		/// Price per byte of a retired record, which is kept forever: when a session ends,
		/// `DepositBase + RecordFeePerByte * retired_record_bytes()` of its deposit is burned
		/// instead of returned (see [`Pallet::record_fee`]). At least `DepositPerByte`: a
		/// record that is never freed costs no less than one that is.
		#[pallet::constant]
		type RecordFeePerByte: Get<BalanceOf<Self>>;

		/// How many of the latest blocks before the current one a signed request header may name
		/// (the current block's own hash is not known yet); 5 minutes of blocks by convention. At
		/// most frame-system's `BlockHashCount`.
		#[pallet::constant]
		type HeaderValidity: Get<BlockNumberFor<Self>>;

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A session's collateral and its storage deposit, held together from the owner for the
		/// session's life; the session record keeps the two amounts apart. One hold instead of
		/// two took `register` from 203 to 157 µs in the benchmarks (each `fungible` hold and
		/// release has a fixed cost).
		#[codec(index = 0)]
		Session,
		/// The storage deposit for an owner's authorization of a delegate, held while the
		/// authorization stands.
		#[codec(index = 1)]
		Delegation,
	}

	/// Live and closing sessions by key.
	#[pallet::storage]
	pub type Sessions<T: Config> =
		StorageMap<_, Blake2_128Concat, SessionPublic, RegistrationOf<T>, OptionQuery>;

	/// Retired sessions by key, kept forever.
	#[pallet::storage]
	pub type Retired<T: Config> =
		StorageMap<_, Blake2_128Concat, SessionPublic, RetiredOf<T>, OptionQuery>;

	/// The live and closing keys of each owner.
	#[pallet::storage]
	pub type OwnerSessions<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<SessionPublic, T::MaxKeysPerOwner>,
		ValueQuery,
	>;

	/// What each owner allows each delegate to do: `(owner, delegate) -> terms and deposit`.
	/// Written only by the owner's own `authorize_delegate`; removed by `revoke_delegate`.
	#[pallet::storage]
	pub type Delegations<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		Blake2_128Concat,
		T::AccountId,
		AuthorizationOf<T>,
		OptionQuery,
	>;

	/// What the live and closing keys each delegate made for each owner hold: `(owner,
	/// delegate) -> keys and collateral`, the running totals the terms bound. Present while any
	/// such key is live or closing, also after the authorization was revoked.
	#[pallet::storage]
	pub type DelegateUsages<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		Blake2_128Concat,
		T::AccountId,
		DelegateUsageOf<T>,
		OptionQuery,
	>;

	/// Blocks whose `on_initialize` has settlement work. Reading it is the only cost of an idle
	/// block.
	#[pallet::storage]
	pub type ExpiryAgenda<T: Config> =
		StorageMap<_, Twox64Concat, BlockNumberFor<T>, DueMark<BlockNumberFor<T>>, OptionQuery>;

	/// Sessions by settlement block (`settles_at`). A key is removed from here as soon as it
	/// settles or its settlement block moves (renewal, revocation).
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

	/// Payments settled to a counterpart that could not receive them, by the ended key: still
	/// held from the owner, for the counterpart to claim (`claim_payment`). An entry lives only
	/// until it is claimed.
	#[pallet::storage]
	pub type HeldPayments<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		SessionPublic,
		HeldPayment<T::AccountId, BalanceOf<T>>,
		OptionQuery,
	>;

	/// Keys registered under storage version 1 with an empty scope, which version 1 read as
	/// every resource. The version 1 to 2 migration spelled their scope out as `*` and listed
	/// them here: they keep that scope until they expire as registered, but are neither renewed
	/// nor rotated ([`Error::LegacyWildcardScope`]), so no master key outlives the expiry it
	/// had at the upgrade. Their owners register keys that name their scope. (Entries stay once
	/// the key settles: keys are never reused, and no new entry is ever made.)
	#[pallet::storage]
	pub type LegacyWildcardKeys<T: Config> =
		StorageMap<_, Blake2_128Concat, SessionPublic, (), OptionQuery>;

	/// The challenge period chosen at genesis, when it differs from `Config::ChallengePeriod`.
	/// Only the `development` preset sets it (to a few blocks), so a chain spec built from any
	/// other preset gets the runtime's value. Read through [`Pallet::challenge_period`].
	#[pallet::storage]
	pub type ChallengePeriodOverride<T: Config> = StorageValue<_, BlockNumberFor<T>, OptionQuery>;

	/// Genesis configuration of the adjudicator.
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// A challenge period for this chain other than `Config::ChallengePeriod`: for
		/// development chains, whose tests cannot wait an hour. Positive and below
		/// `MaxDuration`.
		pub challenge_period: Option<BlockNumberFor<T>>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			if let Some(period) = self.challenge_period {
				assert!(
					!period.is_zero() && period < T::MaxDuration::get(),
					"challenge_period must be positive and below MaxDuration"
				);
				ChallengePeriodOverride::<T>::put(period);
			}
		}
	}

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
			/// The delegate that registered it for the owner, if the owner did not.
			delegate: Option<T::AccountId>,
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
		/// The owner revoked a key: it is invalid from this block on, and the session settles at
		/// `settles_at` unless the counterpart settles it earlier. (A key that simply expires
		/// closes without an event: nothing happens on chain at its expiry.)
		SessionClosing {
			/// The session key.
			public: SessionPublic,
			/// How the session will end.
			reason: EndReason,
			/// The block whose `on_initialize` settles it.
			settles_at: BlockNumberFor<T>,
		},
		/// A session was settled; its key is retired for good.
		SessionEnded {
			/// The session key.
			public: SessionPublic,
			/// Its owner.
			owner: T::AccountId,
			/// Its counterpart.
			counterpart: T::AccountId,
			/// The delegate that registered it for the owner, if the owner did not.
			delegate: Option<T::AccountId>,
			/// Why it ended.
			reason: EndReason,
			/// The first block at which the key was no longer valid.
			ended_at: BlockNumberFor<T>,
			/// What the last checkpointed state owed the counterpart.
			owed: BalanceOf<T>,
			/// Collateral paid to the counterpart: `owed`, unless there was a shortfall
			/// (`SettlementShortfall` then names it).
			paid_to_counterpart: BalanceOf<T>,
			/// Collateral returned to the owner.
			collateral_released: BalanceOf<T>,
			/// Storage deposit returned to the owner.
			deposit_released: BalanceOf<T>,
			/// Storage deposit burned for the retired record kept forever.
			record_fee: BalanceOf<T>,
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
		/// A checkpointed state needs more than the session's collateral (`owed + margin >
		/// collateral`): the counterpart may liquidate, the owner may top up.
		SessionUnderCollateralized {
			/// The session key.
			public: SessionPublic,
			/// What the state needs: owed plus margin.
			required: BalanceOf<T>,
			/// The collateral held.
			collateral: BalanceOf<T>,
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
			/// The first block at which it applies: this one for an increase, `ChallengePeriod`
			/// blocks later for a decrease.
			applies_at: BlockNumberFor<T>,
		},
		/// More sessions were due than one block may settle; the rest carry over to the next
		/// block.
		ExpiryCarriedOver {
			/// The oldest settlement block that still has sessions waiting.
			from: BlockNumberFor<T>,
		},
		/// A settlement paid the counterpart less than the session owed: nothing is lost
		/// without a trace. The retired record keeps both figures.
		SettlementShortfall {
			/// The session key.
			public: SessionPublic,
			/// The counterpart.
			counterpart: T::AccountId,
			/// What the session owed.
			owed: BalanceOf<T>,
			/// What the counterpart received.
			paid: BalanceOf<T>,
			/// Why it received less.
			reason: Shortfall,
		},
		/// An owner authorized a delegate, or changed its terms: from this block on the delegate
		/// may register keys for the owner (`register_for`) and manage the keys it made, within
		/// these terms.
		DelegateAuthorized {
			/// The owner.
			owner: T::AccountId,
			/// The delegate.
			delegate: T::AccountId,
			/// What the delegate may do.
			terms: DelegateTermsOf<T>,
			/// The storage deposit held from the owner for the terms.
			deposit: BalanceOf<T>,
		},
		/// An owner revoked a delegate's authorization: every call the delegate makes for the
		/// owner is refused from this block on.
		DelegateRevoked {
			/// The owner.
			owner: T::AccountId,
			/// The delegate.
			delegate: T::AccountId,
			/// How many live keys the delegate made were revoked with it (each also emits
			/// `SessionClosing`).
			keys_closed: u32,
		},
		/// A settlement could not pay the counterpart (its account cannot receive the amount):
		/// the amount stays on hold from the owner until the counterpart claims it.
		PaymentHeld {
			/// The ended key.
			public: SessionPublic,
			/// The counterpart it is owed to.
			counterpart: T::AccountId,
			/// How much is held.
			amount: BalanceOf<T>,
		},
		/// A counterpart took a payment held for it.
		PaymentClaimed {
			/// The ended key.
			public: SessionPublic,
			/// The counterpart, now paid.
			counterpart: T::AccountId,
			/// How much it received.
			amount: BalanceOf<T>,
		},
		/// A settlement in `on_initialize` failed and changed nothing (a hold could not be
		/// burned or released); the session waits again and is retried at `retry_at`.
		SettlementFailed {
			/// The session key.
			public: SessionPublic,
			/// What failed.
			error: DispatchError,
			/// The block whose `on_initialize` retries it.
			retry_at: BlockNumberFor<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The ownership proof is not one signature of the key's scheme (wrong length or
		/// trailing bytes).
		MalformedProof,
		/// The ownership proof does not verify for this key and the calling owner.
		InvalidProof,
		/// The key is already registered (live or closing).
		AlreadyRegistered,
		/// The key belonged to a session that was settled; it can never be used again.
		KeyRetired,
		/// No session has this key.
		NotFound,
		/// The caller does not own this session.
		NotOwner,
		/// The duration is zero.
		ZeroDuration,
		/// The duration is longer than `MaxDuration`.
		DurationTooLong,
		/// The owner already has `MaxKeysPerOwner` live or closing keys.
		TooManyKeys,
		/// The owner cannot pay the storage deposit and collateral (or, for `rotate`, the old
		/// key's record fee).
		InsufficientBalance,
		/// A session cannot have its owner as counterpart.
		CounterpartIsOwner,
		/// The key passed its expiry: its session is closing. Returned by `renew`, `revoke`,
		/// `rotate`, `top_up` and `set_spending_limit` (`revoke_all` skips such keys).
		Expired,
		/// The key was revoked: its session is closing, so the key can no longer be renewed,
		/// rotated, revoked again, topped up or have its limit changed.
		Revoked,
		/// The session's closing window is over: it waits to be settled and takes no more
		/// states.
		WindowClosed,
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
		/// The state owes more than the spending limit that applies now.
		OverSpendingLimit,
		/// No longer returned: since storage version 2 a state owing more than the collateral
		/// is accepted and makes the session liquidatable. Kept so that the errors after it
		/// keep their indices.
		OverCollateral,
		/// The signature is not the session key's over this state on this chain.
		InvalidSignature,
		/// The session is not under-collateralized, so it cannot be liquidated.
		NotUnderCollateralized,
		/// The spending limit cannot be set below what the session already owes.
		LimitBelowOwed,
		/// The amount is zero.
		ZeroAmount,
		/// Every block within `MaxSettlementDelay` of the session's settlement block already
		/// has `MaxExpiriesPerBlock` keys due: choose another duration.
		SettlementAgendaFull,
		/// The session's closing window has not ended, so it cannot be settled yet.
		SettlementNotDue,
		/// The key binds no one: not a canonical encoding of a point, or a point of small order
		/// (the sr25519 identity, ed25519 small-order points), which verifies a signature nobody
		/// made. Refused whatever the proof.
		WeakKey,
		/// An owner cannot be its own delegate.
		DelegateIsOwner,
		/// A delegate's terms cannot list the delegate itself as a counterpart: it could then
		/// collect what the keys it made owe.
		CounterpartIsDelegate,
		/// The caller is not a delegate of this owner: the owner never authorized it, or
		/// revoked it.
		NotDelegate,
		/// The delegate's authorization has ended (its `ends_at` has come), or the terms given
		/// to `authorize_delegate` end before the current block.
		DelegationEnded,
		/// The owner's terms do not list this counterpart.
		CounterpartNotAllowed,
		/// The key's collateral would be above the terms' `max_collateral`.
		CollateralAboveTerms,
		/// The key's spending limit would be above the terms' `max_spending_limit`.
		SpendingLimitAboveTerms,
		/// The duration is above the terms' `max_duration`.
		DurationAboveTerms,
		/// The delegate already has the terms' `max_keys` live or closing keys.
		TooManyDelegateKeys,
		/// The delegate's live and closing keys would hold more collateral in total than the
		/// terms' `max_total_collateral`.
		TotalCollateralAboveTerms,
		/// A decrease of this key's limit waits for its period: a delegate cannot set a limit
		/// above it (only the owner can cancel it with an increase).
		DecreasePending,
		/// No payment is held for this key.
		NothingHeld,
		/// The counterpart's account still cannot receive the held payment (for instance it
		/// does not exist and the amount is below the existential deposit).
		CounterpartCannotReceive,
		/// The key was registered under storage version 1 with an empty scope (every resource,
		/// then): it runs until its expiry, but is not renewed or rotated. Register a key that
		/// names its scope.
		LegacyWildcardScope,
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
			assert!(!T::ChallengePeriod::get().is_zero(), "ChallengePeriod must be positive");
			assert!(
				T::ChallengePeriod::get() < T::MaxDuration::get(),
				"ChallengePeriod must be below MaxDuration"
			);
			assert!(T::MaxKeysPerOwner::get() > 0, "MaxKeysPerOwner must be positive");
			assert!(T::MaxExpiriesPerBlock::get() > 0, "MaxExpiriesPerBlock must be positive");
			assert!(!T::HeaderValidity::get().is_zero(), "HeaderValidity must be positive");
			assert!(
				T::HeaderValidity::get() <= T::BlockHashCount::get(),
				"HeaderValidity must not exceed BlockHashCount: older hashes are pruned"
			);
			assert!(
				crate::migrations::retired::layouts_are_told_apart::<T>(),
				"the retired records' layouts must differ in length for their migration to tell \
				 them apart"
			);
			assert!(
				T::RecordFeePerByte::get() >= T::DepositPerByte::get(),
				"a record kept forever must cost at least a deposit's price per byte"
			);
			let max = Self::settlements_per_block();
			let max_block = T::BlockWeights::get().max_block;
			assert!(
				T::WeightInfo::on_initialize_expire(max, max).all_lte(max_block),
				"on_initialize at MaxExpiriesPerBlock + ClosingReserve must fit in a block"
			);
			assert!(
				Self::revoke_all_weight(T::MaxKeysPerOwner::get()).all_lte(max_block)
					&& Self::register_weight(CryptoKind::Sr25519).all_lte(max_block),
				"the worst-case placement searches (MaxSettlementDelay) must fit in a block"
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
		/// - `spending_limit`: the most the session may owe its counterpart.
		/// - `collateral`: held from the owner for the session's life.
		/// - `description`, `scope`: what the key is for and the resources it may access.
		///
		///   The scope is explicit: an empty scope authenticates no request (the key can still
		///   sign channel states), and `*` allows every resource.
		///
		/// Refused with `WeakKey` for a key that binds no one (the sr25519 identity, ed25519
		/// small-order points, non-canonical encodings), whatever the proof. Also holds a
		/// storage deposit of `DepositBase + DepositPerByte * (description and scope bytes)`;
		/// the record fee is kept from it when the session ends. The session settles
		/// `ChallengePeriod` blocks after it expires, or in the first later block with room
		/// (`MaxExpiriesPerBlock` keys a block, `SettlementAgendaFull` beyond
		/// `MaxSettlementDelay`). If the owner's key index is full, a key of its whose
		/// settlement block has passed (waiting in the backlog) is settled first to make room.
		/// Emits `SessionRegistered`.
		///
		/// ## Complexity
		/// O(1): one signature verification and a bounded number of storage accesses. The
		/// weight also prepays the session's settlement in `on_initialize`; the worst-case
		/// placement search and room-making are charged up front and refunded when not used.
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
		) -> DispatchResultWithPostInfo {
			let owner = ensure_signed(origin)?;
			let counterpart = T::Lookup::lookup(counterpart)?;
			ensure!(counterpart != owner, Error::<T>::CounterpartIsOwner);
			let duration = Self::checked_duration(duration)?;
			let terms = NewKey {
				public,
				proof,
				counterpart,
				duration,
				spending_limit,
				collateral,
				description,
				scope,
			};
			let weight = Self::do_register(owner, None, terms)?;
			Ok(Some(weight).into())
		}

		/// Move a live key's expiry to `now + duration`.
		///
		/// - origin: signed, the owner, or the delegate that registered the key: only as it could
		///   register the key now (a listed counterpart, the limit and the duration within the
		///   terms, an expiry no later than the authorization's `ends_at`).
		/// - `public`: the session key; it must be live (not closing).
		/// - `duration`: `None` for `DefaultDuration`; at most `MaxDuration`, so the expiry is
		///   never past `now + MaxDuration`. A shorter duration may bring the expiry closer; the
		///   closing window that follows it is always the full `ChallengePeriod`.
		///
		/// The session's settlement moves with it, to the first block with room from
		/// `expires_at + ChallengePeriod` on (`SettlementAgendaFull` if none within
		/// `MaxSettlementDelay`). Emits `SessionRenewed`.
		///
		/// ## Complexity
		/// O(1): the key's old queue entry is removed directly, no queue is scanned; the
		/// worst-case placement search is charged up front and refunded when not used.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::renew().saturating_add(Pallet::<T>::max_placement_weight()).saturating_add(T::DbWeight::get().reads(1)))]
		pub fn renew(
			origin: OriginFor<T>,
			public: SessionPublic,
			duration: Option<BlockNumberFor<T>>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let duration = Self::checked_duration(duration)?;
			let (mut session, now, actor) = Self::live_session_for(&public, &who)?;
			Self::ensure_scope_named(&public, &session)?;
			if let Actor::Delegate { authorization, .. } = &actor {
				// Renewed only as it could be registered now: listed counterpart, limit and
				// duration within the terms, and no later than the authorization's end.
				let request = KeyRequest {
					counterpart: &session.counterpart,
					duration,
					spending_limit: session.spending_limit,
					collateral: Zero::zero(),
					new_key: false,
				};
				// No new key and no collateral added: the running totals are not read.
				let usage = Default::default();
				authorization.terms.check_key(now, request, &usage).map_err(Self::term_error)?;
			}

			let expires_at = now.saturating_add(duration);
			let due = expires_at.saturating_add(Self::challenge_period());
			let placement = Self::reschedule(&public, session.settles_at, due)?;
			session.expires_at = expires_at;
			session.settles_at = placement.at;
			session.duration = duration;
			Sessions::<T>::insert(public, session);
			Self::deposit_event(Event::SessionRenewed { public, expires_at });
			Ok(Some(
				T::WeightInfo::renew().saturating_add(Self::placement_weight(placement.probes)),
			)
			.into())
		}

		/// Revoke a live key: it is invalid from this block on, for everything the owner or the
		/// key can do. Its session closes and settles `ChallengePeriod` blocks later, so the
		/// counterpart can still checkpoint the newest state the key signed; the counterpart may
		/// also settle at once with `discontinue`.
		///
		/// - origin: signed, the owner, or the delegate that registered the key.
		/// - `public`: the session key; it must be live (a closing key fails with `Revoked` or
		///   `Expired` and nothing changes).
		///
		/// Emits `SessionClosing` with reason `Revoked` and the block the session settles in
		/// (the first with room from `ChallengePeriod` blocks on; a revocation never fails for
		/// want of room).
		///
		/// ## Complexity
		/// O(1): the key's queue entry moves directly; the worst-case placement search is
		/// charged up front and refunded when not used.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::revoke().saturating_add(Pallet::<T>::max_placement_weight()))]
		pub fn revoke(origin: OriginFor<T>, public: SessionPublic) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let (session, now, _) = Self::live_session_for(&public, &who)?;
			let probes = Self::close(public, session, now, Self::challenge_period());
			Ok(Some(T::WeightInfo::revoke().saturating_add(Self::placement_weight(probes))).into())
		}

		/// Revoke every live key of the caller at once: the response to a compromise. Each
		/// session closes as with `revoke`; keys already closing are left as they are.
		///
		/// - origin: signed, the owner.
		///
		/// Emits `SessionClosing` with reason `Revoked` for each key.
		///
		/// ## Complexity
		/// O(k) for the caller's k keys, k <= `MaxKeysPerOwner`; charged for `MaxKeysPerOwner`
		/// keys and their worst-case placements up front and refunded to what was done.
		#[pallet::call_index(3)]
		#[pallet::weight(Pallet::<T>::revoke_all_weight(T::MaxKeysPerOwner::get()))]
		pub fn revoke_all(origin: OriginFor<T>) -> DispatchResultWithPostInfo {
			let owner = ensure_signed(origin)?;
			let keys = OwnerSessions::<T>::get(&owner);
			let now = frame_system::Pallet::<T>::block_number();
			let period = Self::challenge_period();
			let mut revoked = 0u32;
			let mut probes = 0u32;
			for public in keys.iter() {
				let Some(session) = Sessions::<T>::get(public) else {
					defensive!("a key in OwnerSessions has no session");
					continue;
				};
				if session.is_live_at(now) {
					let read = Self::close(*public, session, now, period);
					probes.saturating_accrue(read.saturating_sub(1));
					revoked += 1;
				}
			}
			ensure!(revoked > 0, Error::<T>::NoLiveKeys);
			let weight = T::WeightInfo::revoke_all(keys.len() as u32)
				.saturating_add(Self::placement_weight(probes.saturating_add(1)));
			Ok(Some(weight).into())
		}

		/// Replace a live key by a new one that carries the session's terms (counterpart,
		/// spending limit, description, scope, term length) with a fresh expiry.
		///
		/// Only while nothing is at stake on the session: no collateral held, nothing owed, no
		/// open positions (margin). Otherwise fails with `FundsAtStake` and nothing changes. The
		/// old key is retired for good at once (with nothing at stake there is nothing for a
		/// closing window to protect); its record fee is burned from the caller's free balance,
		/// as the deposit moves to the new key.
		///
		/// - origin: signed, the owner, or the delegate that registered the key: the session's
		///   counterpart, limit and term length must still be within the delegate's terms.
		/// - `old`: the live key to replace.
		/// - `new`: the new key, never registered before.
		/// - `proof`: the new key's RFC-0048 ownership proof for the owner (also when a delegate
		///   rotates).
		///
		/// Emits `SessionEnded` (reason `Rotated`) for the old key and `SessionRotated`.
		///
		/// ## Complexity
		/// O(`MaxKeysPerOwner`) to update the owner's bounded key list, and one signature
		/// verification; the worst-case placement search is charged up front and refunded when
		/// not used.
		#[pallet::call_index(4)]
		#[pallet::weight(Pallet::<T>::rotate_weight(new.kind()).saturating_add(Pallet::<T>::max_placement_weight()).saturating_add(T::DbWeight::get().reads(1)))]
		pub fn rotate(
			origin: OriginFor<T>,
			old: SessionPublic,
			new: SessionPublic,
			proof: ProofOf,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let (session, now, actor) = Self::live_session_for(&old, &who)?;
			Self::ensure_scope_named(&old, &session)?;
			ensure!(!session.has_funds_at_stake(), Error::<T>::FundsAtStake);
			let duration = session.duration.min(T::MaxDuration::get());
			if let Actor::Delegate { delegate, authorization } = &actor {
				let request = KeyRequest {
					counterpart: &session.counterpart,
					duration,
					spending_limit: session.spending_limit,
					collateral: Zero::zero(),
					new_key: false,
				};
				let usage = Self::delegate_usage(&session.owner, delegate);
				authorization.terms.check_key(now, request, &usage).map_err(Self::term_error)?;
			}
			let owner = session.owner.clone();
			Self::ensure_unused(&new)?;
			Self::verify_ownership(&new, &owner, &proof)?;
			let record_fee = Self::burn_record_fee(&who)?;

			OwnerSessions::<T>::mutate(&owner, |keys| {
				if let Some(slot) = keys.iter_mut().find(|k| **k == old) {
					*slot = new;
				}
			});
			Self::unschedule(&old, session.settles_at);
			Sessions::<T>::remove(old);

			let expires_at = now.saturating_add(duration);
			let placement =
				Self::schedule(&new, expires_at.saturating_add(Self::challenge_period()))?;
			let settles_at = placement.at;
			let mut renewed = Registration {
				registered_at: now,
				expires_at,
				settles_at,
				duration,
				..session.clone()
			};
			renewed.apply_due_limit(now);
			Sessions::<T>::insert(new, renewed);
			// The deposit moves to the new key with the terms; nothing else was held.
			let zero = Zero::zero();
			let amounts =
				settlement::Amounts { paid: zero, collateral: zero, deposit: zero, record_fee };
			Self::retire(old, &session, EndReason::Rotated, now, amounts);
			Self::deposit_event(Event::SessionRotated { old, new, owner, expires_at });
			let weight = Self::rotate_weight(new.kind())
				.saturating_add(Self::placement_weight(placement.probes));
			Ok(Some(weight).into())
		}

		/// Record the latest channel state, signed by the session key.
		///
		/// - origin: signed, the session's counterpart.
		/// - `public`: the session key; its session must be live or closing (before
		///   `settles_at`). A checkpoint never extends the closing window.
		/// - `state`: `(nonce, owed, margin)`: the nonce must exceed the last one, `owed` must
		///   not decrease and may not exceed the spending limit that applies now
		///   ([`Registration::check_state`](session_keys_primitives::Registration::check_state));
		///   it may exceed the collateral (after a price gap).
		/// - `signature`: the session key's signature over
		///   [`ChannelState::signing_payload`] for this chain's genesis hash. A key that binds no
		///   one (registered before such keys were refused) is refused with `WeakKey`: anyone
		///   could sign for it.
		///
		/// Emits `StateCheckpointed`. A state that needs more than the collateral (`owed + margin
		/// > collateral`) also emits `SessionUnderCollateralized`: the counterpart may then
		/// `liquidate` (and receives at most the collateral), and the owner may `top_up` while
		/// the key is live.
		///
		/// Dispatched in the operational class: it goes ahead of ordinary transactions and has
		/// block space they cannot fill, so stuffing blocks with normal transactions cannot keep
		/// a counterpart's state out of its closing window. It pays its fee as usual.
		///
		/// ## Complexity
		/// O(1): one signature verification.
		#[pallet::call_index(5)]
		#[pallet::weight((Pallet::<T>::checkpoint_weight(public.kind()), DispatchClass::Operational))]
		pub fn checkpoint(
			origin: OriginFor<T>,
			public: SessionPublic,
			state: ChannelState<BalanceOf<T>>,
			signature: SessionSignature,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut session = Self::countered_session(&public, &who)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(now < session.settles_at, Error::<T>::WindowClosed);
			session.check_state(&state, now).map_err(|rejection| match rejection {
				StateRejection::StaleNonce => Error::<T>::StaleNonce,
				StateRejection::OwedDecreased => Error::<T>::OwedDecreased,
				StateRejection::OverSpendingLimit => Error::<T>::OverSpendingLimit,
			})?;
			public.check_key().map_err(|_| Error::<T>::WeakKey)?;
			let payload = state.signing_payload(&Self::genesis_hash(), &public);
			ensure!(public.verify(&payload, &signature), Error::<T>::InvalidSignature);

			session.apply_due_limit(now);
			session.state = state;
			Self::deposit_event(Event::StateCheckpointed {
				public,
				nonce: state.nonce,
				owed: state.owed,
				margin: state.margin,
			});
			if session.is_under_collateralized() {
				Self::deposit_event(Event::SessionUnderCollateralized {
					public,
					required: state.owed.saturating_add(state.margin),
					collateral: session.collateral,
				});
			}
			Sessions::<T>::insert(public, session);
			Ok(())
		}

		/// Add collateral to a live session; this cures an under-collateralized one. The
		/// collateral is always held from the owner.
		///
		/// - origin: signed, the owner, or the delegate that registered the key: while its
		///   counterpart is listed, the key's collateral then stays within the terms'
		///   `max_collateral`, and what the delegate's keys hold in total within
		///   `max_total_collateral`.
		/// - `public`: the session key; it must be live (not closing).
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
			let who = ensure_signed(origin)?;
			ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
			let (mut session, now, actor) = Self::live_session_for(&public, &who)?;
			if let Actor::Delegate { delegate, authorization } = &actor {
				let usage = Self::delegate_usage(&session.owner, delegate);
				authorization
					.terms
					.check_top_up(now, &session.counterpart, session.collateral, amount, &usage)
					.map_err(Self::term_error)?;
			}
			T::Currency::hold(&HoldReason::Session.into(), &session.owner, amount)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			session.collateral.saturating_accrue(amount);
			if let Some(delegate) = &session.delegate {
				Self::count_delegate_collateral(&session.owner, delegate, amount);
			}
			let collateral = session.collateral;
			Sessions::<T>::insert(public, session);
			Self::deposit_event(Event::CollateralToppedUp { public, collateral });
			Ok(())
		}

		/// Change a live session's spending limit, never below what it already owes.
		///
		/// An increase applies at once and cancels a pending decrease. A decrease applies
		/// `ChallengePeriod` blocks later (until then checkpoints are held to the old limit), so
		/// it cannot void a state the key already signed; when it applies it never goes below
		/// what the session owes by then. A second decrease replaces a pending one and waits
		/// its own period.
		///
		/// - origin: signed, the owner, or the delegate that registered the key: while its
		///   counterpart is listed, a limit at most the terms' `max_spending_limit`, and never
		///   above a decrease still waiting (`DecreasePending`).
		/// - `public`: the session key; it must be live (not closing).
		/// - `spending_limit`: the new limit.
		///
		/// Emits `SpendingLimitChanged` with the block the limit applies from.
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
			let who = ensure_signed(origin)?;
			let (mut session, now, actor) = Self::live_session_for(&public, &who)?;
			if let Actor::Delegate { authorization, .. } = &actor {
				ensure!(
					authorization.terms.allows_counterpart(&session.counterpart),
					Error::<T>::CounterpartNotAllowed
				);
				ensure!(
					spending_limit <= authorization.terms.max_spending_limit,
					Error::<T>::SpendingLimitAboveTerms
				);
				// A delegate cannot undo a decrease waiting for its period (the owner's, say).
				ensure!(
					session
						.pending_limit_at(now)
						.is_none_or(|pending| spending_limit <= pending.limit),
					Error::<T>::DecreasePending
				);
			}
			ensure!(spending_limit >= session.state.owed, Error::<T>::LimitBelowOwed);
			session.apply_due_limit(now);
			let applies_at = if spending_limit >= session.spending_limit {
				session.spending_limit = spending_limit;
				session.pending_limit = None;
				now
			} else {
				let applies_at = now.saturating_add(Self::challenge_period());
				session.pending_limit = Some(PendingLimit { limit: spending_limit, applies_at });
				applies_at
			};
			Sessions::<T>::insert(public, session);
			Self::deposit_event(Event::SpendingLimitChanged { public, spending_limit, applies_at });
			Ok(())
		}

		/// Liquidate an under-collateralized session at once: positions closed, channel
		/// concluded, key invalidated. No window is needed: the state that justifies it is
		/// already on chain.
		///
		/// - origin: signed, the session's counterpart.
		/// - `public`: the session key, live or closing; its latest checkpoint must need more
		///   than the collateral (`owed + margin > collateral`).
		///
		/// The counterpart receives the checkpointed `owed`, at most the collateral (a shortfall
		/// is named by `SettlementShortfall`). Emits `SessionEnded` with reason `Liquidated`.
		///
		/// ## Complexity
		/// O(`MaxKeysPerOwner`) to update the owner's bounded key list.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::liquidate())]
		pub fn liquidate(origin: OriginFor<T>, public: SessionPublic) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let session = Self::countered_session(&public, &who)?;
			ensure!(session.is_under_collateralized(), Error::<T>::NotUnderCollateralized);
			Self::conclude_now(public, session, EndReason::Liquidated)
		}

		/// End a session as its counterpart (for instance when it stops clearing), live or
		/// closing: the counterpart waives the rest of its window and the session settles at
		/// once at the last checkpoint.
		///
		/// - origin: signed, the session's counterpart.
		/// - `public`: the session key.
		///
		/// Emits `SessionEnded` with reason `Discontinued`.
		///
		/// ## Complexity
		/// O(`MaxKeysPerOwner`) to update the owner's bounded key list.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::discontinue())]
		pub fn discontinue(origin: OriginFor<T>, public: SessionPublic) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let session = Self::countered_session(&public, &who)?;
			Self::conclude_now(public, session, EndReason::Discontinued)
		}

		/// Settle a session whose closing window has ended, as `on_initialize` would: for
		/// anyone (the owner waiting for its collateral, the counterpart for its payment) when
		/// settlements carry over behind a backlog. The caller pays the settlement's weight.
		///
		/// - origin: signed, anyone.
		/// - `public`: the session key; its `settles_at` must have passed (`SettlementNotDue`
		///   otherwise).
		///
		/// Emits `SessionEnded` with the reason the session closed with (`Expired` or
		/// `Revoked`).
		///
		/// ## Complexity
		/// O(`MaxKeysPerOwner`) to update the owner's bounded key list.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::settle())]
		pub fn settle(origin: OriginFor<T>, public: SessionPublic) -> DispatchResult {
			ensure_signed(origin)?;
			let session = Self::registered_session(&public)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(session.settles_at <= now, Error::<T>::SettlementNotDue);
			let (reason, ended_at) = (session.closing_reason(), session.expires_at);
			Self::conclude(public, session, reason, ended_at)
		}

		/// Authorize `delegate` to register and manage session keys for the caller, within
		/// `terms`, or replace the terms of an authorization already given (at once; keys the
		/// delegate made keep counting against the new terms).
		///
		/// This is how a key keeper's hot key is bounded: whoever holds the delegate's key can
		/// name only the listed counterparts, lock at most `max_collateral` per key and
		/// `max_total_collateral` across its live and closing keys, set limits up to
		/// `max_spending_limit`, durations up to `max_duration`, hold at most `max_keys` keys,
		/// and nothing after `ends_at`. The runtime refuses this call through every proxy type,
		/// so only the owner's own key can widen what a delegate may do.
		///
		/// - origin: signed, the owner.
		/// - `delegate`: the account allowed to act (not the owner).
		/// - `terms`: the bounds; the delegate is not among the counterparts, nor the owner, and
		///   `ends_at`, if any, is after the current block.
		///
		/// Holds a storage deposit of `DepositBase + DepositPerByte * (encoded terms)` from the
		/// owner (the difference, when terms are replaced). Emits `DelegateAuthorized`.
		///
		/// ## Complexity
		/// O(`MaxDelegateCounterparts`) to check the list.
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::authorize_delegate())]
		pub fn authorize_delegate(
			origin: OriginFor<T>,
			delegate: AccountIdLookupOf<T>,
			terms: DelegateTermsOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			let delegate = T::Lookup::lookup(delegate)?;
			ensure!(delegate != owner, Error::<T>::DelegateIsOwner);
			ensure!(!terms.allows_counterpart(&delegate), Error::<T>::CounterpartIsDelegate);
			ensure!(!terms.allows_counterpart(&owner), Error::<T>::CounterpartIsOwner);
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(terms.is_in_force_at(now), Error::<T>::DelegationEnded);

			let deposit = Self::authorization_deposit(&terms);
			let previous =
				Delegations::<T>::get(&owner, &delegate).map_or(Zero::zero(), |a| a.deposit);
			let reason = HoldReason::Delegation.into();
			if deposit > previous {
				T::Currency::hold(&reason, &owner, deposit.saturating_sub(previous))
					.map_err(|_| Error::<T>::InsufficientBalance)?;
			} else if previous > deposit {
				T::Currency::release(
					&reason,
					&owner,
					previous.saturating_sub(deposit),
					frame_support::traits::tokens::Precision::Exact,
				)?;
			}
			Delegations::<T>::insert(
				&owner,
				&delegate,
				Authorization { terms: terms.clone(), deposit },
			);
			Self::deposit_event(Event::DelegateAuthorized { owner, delegate, terms, deposit });
			Ok(())
		}

		/// Revoke `delegate`'s authorization at once: every call it makes for the caller is
		/// refused from this block on, and the deposit is returned.
		///
		/// - origin: signed, the owner.
		/// - `delegate`: the delegate.
		/// - `close_keys`: also revoke every live key the delegate made (each closes as with
		///   `revoke`, so its counterpart keeps its window). Keys left open stay valid until
		///   they expire, and the owner can still revoke them one by one.
		///
		/// Emits `SessionClosing` for each key closed, then `DelegateRevoked`.
		///
		/// ## Complexity
		/// O(k) for the owner's k keys, k <= `MaxKeysPerOwner`, when `close_keys`; charged for
		/// `MaxKeysPerOwner` keys and their worst-case placements up front and refunded to what
		/// was done.
		#[pallet::call_index(12)]
		#[pallet::weight(Pallet::<T>::revoke_delegate_weight(T::MaxKeysPerOwner::get()))]
		pub fn revoke_delegate(
			origin: OriginFor<T>,
			delegate: AccountIdLookupOf<T>,
			close_keys: bool,
		) -> DispatchResultWithPostInfo {
			let owner = ensure_signed(origin)?;
			let delegate = T::Lookup::lookup(delegate)?;
			let authorization =
				Delegations::<T>::take(&owner, &delegate).ok_or(Error::<T>::NotDelegate)?;
			T::Currency::release(
				&HoldReason::Delegation.into(),
				&owner,
				authorization.deposit,
				frame_support::traits::tokens::Precision::Exact,
			)?;
			let (mut keys_closed, mut probes, mut read) = (0u32, 0u32, 0u32);
			if close_keys {
				let now = frame_system::Pallet::<T>::block_number();
				let period = Self::challenge_period();
				for public in OwnerSessions::<T>::get(&owner) {
					read.saturating_inc();
					let Some(session) = Sessions::<T>::get(public) else {
						defensive!("a key in OwnerSessions has no session");
						continue;
					};
					if session.delegate.as_ref() == Some(&delegate) && session.is_live_at(now) {
						let used = Self::close(public, session, now, period);
						probes.saturating_accrue(used.saturating_sub(1));
						keys_closed.saturating_inc();
					}
				}
			}
			Self::deposit_event(Event::DelegateRevoked { owner, delegate, keys_closed });
			let weight = T::WeightInfo::revoke_delegate(read)
				.saturating_add(Self::placement_weight(probes.saturating_add(1)));
			Ok(Some(weight).into())
		}

		/// Register a session key for `owner`, as its delegate, within the owner's terms.
		///
		/// The same registration as `register`, with the owner's collateral and deposit, and
		/// the key's proof made for the owner; the key records the delegate, which may then
		/// renew, rotate, revoke, top up and change the limit of it within the terms.
		///
		/// - origin: signed, a delegate `owner` authorized (`NotDelegate` otherwise) whose
		///   authorization is in force (`DelegationEnded` from its `ends_at` on).
		/// - `owner`: the account the key is registered for.
		/// - the rest as `register`. The counterpart must be in the terms' list, the duration,
		///   spending limit and collateral within their bounds, the delegate's live and closing
		///   keys fewer than `max_keys`, and their collateral with this key's within
		///   `max_total_collateral`; each refusal names its term, and nothing changes.
		///
		/// Emits `SessionRegistered` naming the delegate.
		///
		/// ## Complexity
		/// As `register`, with the authorization and the delegate's running totals read and
		/// the totals written.
		#[pallet::call_index(13)]
		#[pallet::weight(Pallet::<T>::register_for_weight(public.kind()))]
		pub fn register_for(
			origin: OriginFor<T>,
			owner: AccountIdLookupOf<T>,
			public: SessionPublic,
			proof: ProofOf,
			counterpart: AccountIdLookupOf<T>,
			duration: Option<BlockNumberFor<T>>,
			#[pallet::compact] spending_limit: BalanceOf<T>,
			#[pallet::compact] collateral: BalanceOf<T>,
			description: DescriptionOf<T>,
			scope: ScopeOf<T>,
		) -> DispatchResultWithPostInfo {
			let delegate = ensure_signed(origin)?;
			let owner = T::Lookup::lookup(owner)?;
			let counterpart = T::Lookup::lookup(counterpart)?;
			ensure!(counterpart != owner, Error::<T>::CounterpartIsOwner);
			let duration = Self::checked_duration(duration)?;
			let now = frame_system::Pallet::<T>::block_number();
			let authorization = Self::authorization_in_force(&owner, &delegate, now)?;
			let request = KeyRequest {
				counterpart: &counterpart,
				duration,
				spending_limit,
				collateral,
				new_key: true,
			};
			let usage = Self::delegate_usage(&owner, &delegate);
			authorization.terms.check_key(now, request, &usage).map_err(Self::term_error)?;
			let terms = NewKey {
				public,
				proof,
				counterpart,
				duration,
				spending_limit,
				collateral,
				description,
				scope,
			};
			let weight = Self::do_register(owner, Some(delegate), terms)?;
			Ok(Some(weight.saturating_add(Self::delegate_overhead())).into())
		}

		/// Take a payment that a settlement could not make to the counterpart.
		///
		/// When a session settled, the counterpart's account could not receive what it was
		/// owed (for instance it did not exist and the amount was below the existential
		/// deposit). The amount stayed on hold from the owner, and the counterpart takes it
		/// here once its account can receive it.
		///
		/// - origin: signed, the ended session's counterpart.
		/// - `public`: the ended session's key.
		///
		/// Emits `PaymentClaimed`; the key's retired record then counts it as paid.
		///
		/// ## Complexity
		/// O(1): one transfer from hold.
		#[pallet::call_index(14)]
		#[pallet::weight(T::WeightInfo::claim_payment())]
		pub fn claim_payment(origin: OriginFor<T>, public: SessionPublic) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let held = HeldPayments::<T>::get(public).ok_or(Error::<T>::NothingHeld)?;
			ensure!(held.counterpart == who, Error::<T>::NotCounterpart);
			Self::pay_held(&held.owner, &held.counterpart, held.amount)
				.map_err(|_| Error::<T>::CounterpartCannotReceive)?;
			HeldPayments::<T>::remove(public);
			// Read in any layout (the retired-record migration may not have reached it yet) and
			// written in the current one: a typed `mutate` would take an old record for none and
			// remove it, and the key could be registered again.
			if let Some(mut record) = Self::retired(&public) {
				record.paid.saturating_accrue(held.amount);
				Retired::<T>::insert(public, record);
			}
			Self::deposit_event(Event::PaymentClaimed {
				public,
				counterpart: held.counterpart,
				amount: held.amount,
			});
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Registers `key` for `owner` (by `delegate`, if any, whose terms the caller checked):
		/// verifies the proof, makes room in a full key index, holds the deposit and collateral,
		/// schedules the settlement, and counts the key against the delegate's totals. Returns
		/// the weight to charge.
		fn do_register(
			owner: T::AccountId,
			delegate: Option<T::AccountId>,
			key: NewKey<T>,
		) -> Result<Weight, DispatchError> {
			let NewKey {
				public,
				proof,
				counterpart,
				duration,
				spending_limit,
				collateral,
				description,
				scope,
			} = key;
			Self::ensure_unused(&public)?;
			Self::verify_ownership(&public, &owner, &proof)?;

			let now = frame_system::Pallet::<T>::block_number();
			let made_room = Self::make_room(&owner, now)?;
			OwnerSessions::<T>::try_mutate(&owner, |keys| keys.try_push(public))
				.map_err(|_| Error::<T>::TooManyKeys)?;

			let deposit = Self::deposit_for(&description, &scope);
			let held = collateral.checked_add(&deposit).ok_or(Error::<T>::InsufficientBalance)?;
			T::Currency::hold(&HoldReason::Session.into(), &owner, held)
				.map_err(|_| Error::<T>::InsufficientBalance)?;

			let expires_at = now.saturating_add(duration);
			let placement =
				Self::schedule(&public, expires_at.saturating_add(Self::challenge_period()))?;
			let settles_at = placement.at;
			if let Some(delegate) = &delegate {
				Self::count_delegate_key(&owner, delegate, collateral);
			}
			Sessions::<T>::insert(
				public,
				Registration {
					owner: owner.clone(),
					counterpart: counterpart.clone(),
					delegate: delegate.clone(),
					registered_at: now,
					expires_at,
					settles_at,
					revoked: false,
					duration,
					spending_limit,
					pending_limit: None,
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
				delegate,
				expires_at,
				spending_limit,
				collateral,
				deposit,
			});
			Ok(Self::register_base_weight(public.kind())
				.saturating_add(Self::settlement_weight())
				.saturating_add(Self::placement_weight(placement.probes))
				.saturating_add(if made_room { Self::room_weight() } else { Weight::zero() }))
		}

		/// What `register_for` costs beyond `register`: the authorization and the delegate's
		/// running totals (measured as `register_for` less `register` of an sr25519 key).
		pub fn delegate_overhead() -> Weight {
			T::WeightInfo::register_for().saturating_sub(T::WeightInfo::register_sr25519())
		}

		/// The weight charged up front for `register_for` of a key of `kind`.
		pub fn register_for_weight(kind: CryptoKind) -> Weight {
			Self::register_weight(kind).saturating_add(Self::delegate_overhead())
		}

		/// The weight charged up front for `revoke_delegate` closing up to `k` keys, each placed
		/// after a full search.
		pub fn revoke_delegate_weight(k: u32) -> Weight {
			T::WeightInfo::revoke_delegate(k)
				.saturating_add(Self::max_placement_weight().saturating_mul(k.into()))
		}

		/// The weight charged up front for `register` of a key of `kind`: the call at its worst
		/// (a full placement search and a key settled to make room) and the session's own
		/// settlement in `on_initialize`, which the registration prepays.
		pub fn register_weight(kind: CryptoKind) -> Weight {
			Self::register_base_weight(kind)
				.saturating_add(Self::settlement_weight())
				.saturating_add(Self::max_placement_weight())
				.saturating_add(Self::room_weight())
		}

		/// The weight of one session's settlement in `on_initialize` (per key beyond a block's
		/// fixed cost).
		pub fn settlement_weight() -> Weight {
			T::WeightInfo::on_initialize_expire(1, 0)
				.saturating_sub(T::WeightInfo::on_initialize_expire(0, 0))
		}

		/// The weight of making room in a full key index: reading its sessions and settling
		/// one.
		pub fn room_weight() -> Weight {
			T::DbWeight::get()
				.reads(T::MaxKeysPerOwner::get().into())
				.saturating_add(T::WeightInfo::settle())
		}

		/// The weight charged up front for `revoke_all` of `k` keys, each placed after a full
		/// search.
		pub fn revoke_all_weight(k: u32) -> Weight {
			T::WeightInfo::revoke_all(k)
				.saturating_add(Self::max_placement_weight().saturating_mul(k.into()))
		}

		/// The measured weight of `register` for a key of `kind`, its placement in the first
		/// block probed.
		pub fn register_base_weight(kind: CryptoKind) -> Weight {
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

		/// The weight of `checkpoint` for a key of `kind`.
		pub fn checkpoint_weight(kind: CryptoKind) -> Weight {
			match kind {
				CryptoKind::Sr25519 => T::WeightInfo::checkpoint_sr25519(),
				CryptoKind::Ed25519 => T::WeightInfo::checkpoint_ed25519(),
				CryptoKind::Ecdsa => T::WeightInfo::checkpoint_ecdsa(),
			}
		}

		/// The challenge period in force: the genesis override if any, else the runtime's.
		pub fn challenge_period() -> BlockNumberFor<T> {
			ChallengePeriodOverride::<T>::get().unwrap_or_else(T::ChallengePeriod::get)
		}

		/// The hash of this chain's genesis block, which every signed payload commits to.
		pub fn genesis_hash() -> T::Hash {
			frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero())
		}

		/// The storage deposit for a registration with this description and scope:
		/// `DepositBase + DepositPerByte × (description and scope bytes)`, plus the record fee
		/// ([`Pallet::record_fee`]) kept when the session ends.
		pub fn deposit_for(description: &DescriptionOf<T>, scope: &ScopeOf<T>) -> BalanceOf<T> {
			// The registration's own deposit, and the price of the retired record it will
			// leave, paid up front so that a settlement never finds the deposit short of it.
			Self::deposit_for_bytes(description.encoded_size() + scope.encoded_size())
				.saturating_add(Self::record_fee())
		}

		/// The storage deposit for a record of `bytes` variable bytes: `DepositBase` and
		/// `DepositPerByte` for each byte (registrations and authorizations alike).
		pub(crate) fn deposit_for_bytes(bytes: usize) -> BalanceOf<T> {
			let bytes = bytes as u32;
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
					ProofError::WeakKey(_) => Error::<T>::WeakKey,
					ProofError::Malformed => Error::<T>::MalformedProof,
					ProofError::Invalid => Error::<T>::InvalidProof,
				},
			)?;
			Ok(())
		}

		/// The session of `public`, checked to be live and acted on by `who` (its owner, or the
		/// delegate that made it under an authorization in force), with the current block and
		/// who `who` is to it.
		fn live_session_for(
			public: &SessionPublic,
			who: &T::AccountId,
		) -> Result<(RegistrationOf<T>, BlockNumberFor<T>, Actor<T>), DispatchError> {
			let session = Self::registered_session(public)?;
			let now = frame_system::Pallet::<T>::block_number();
			let actor = Self::actor(&session, who, now)?;
			if !session.is_live_at(now) {
				return Err(if session.revoked {
					Error::<T>::Revoked
				} else {
					Error::<T>::Expired
				}
				.into());
			}
			Ok((session, now, actor))
		}

		/// Refuses to extend a key version 1 registered with an empty scope
		/// ([`LegacyWildcardKeys`]); only a scope of exactly `*` is looked up.
		fn ensure_scope_named(
			public: &SessionPublic,
			session: &RegistrationOf<T>,
		) -> Result<(), Error<T>> {
			let wildcard = matches!(&session.scope[..], [item] if &item[..] == b"*");
			if wildcard && LegacyWildcardKeys::<T>::contains_key(public) {
				return Err(Error::<T>::LegacyWildcardScope);
			}
			Ok(())
		}

		/// The session (live or closing) of `public`, or why there is none.
		fn registered_session(public: &SessionPublic) -> Result<RegistrationOf<T>, Error<T>> {
			Sessions::<T>::get(public).ok_or_else(|| {
				if Retired::<T>::contains_key(public) {
					Error::<T>::KeyRetired
				} else {
					Error::<T>::NotFound
				}
			})
		}

		/// The session (live or closing) of `public`, checked to have `who` as counterpart.
		fn countered_session(
			public: &SessionPublic,
			who: &T::AccountId,
		) -> Result<RegistrationOf<T>, DispatchError> {
			let session = Self::registered_session(public)?;
			ensure!(&session.counterpart == who, Error::<T>::NotCounterpart);
			Ok(session)
		}
	}
}
