//! Storage types of the adjudicator pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use core::fmt::Debug;
use frame_support::{traits::fungible, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use scale_info::TypeInfo;
use session_keys_primitives::{DelegateTerms, DelegateUsage, Registration, RetiredSession};

use crate::Config;

/// The balance type of the pallet's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// A free-text description of what a key is for (seed 002's "use case").
pub type DescriptionOf<T> = BoundedVec<u8, <T as Config>::MaxDescriptionLen>;
/// One resource identifier in a key's capability scope.
pub type ResourceOf<T> = BoundedVec<u8, <T as Config>::MaxResourceLen>;
/// The capability scope of a key: the resources it may be used for.
pub type ScopeOf<T> = BoundedVec<ResourceOf<T>, <T as Config>::MaxScopeItems>;
/// A registration (live or closing) as stored by the pallet: the shared record with bounded
/// terms.
pub type RegistrationOf<T> = Registration<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
	DescriptionOf<T>,
	ScopeOf<T>,
>;
/// A retired session as stored by the pallet.
pub type RetiredOf<T> =
	RetiredSession<<T as frame_system::Config>::AccountId, BlockNumberFor<T>, BalanceOf<T>>;

/// The counterparts a delegate may name, as stored.
pub type CounterpartsOf<T> =
	BoundedVec<<T as frame_system::Config>::AccountId, <T as Config>::MaxDelegateCounterparts>;
/// What an owner allows a delegate, as stored and as `authorize_delegate` takes it.
pub type DelegateTermsOf<T> = DelegateTerms<CounterpartsOf<T>, BalanceOf<T>, BlockNumberFor<T>>;
/// What the live and closing keys a delegate made for an owner hold.
pub type DelegateUsageOf<T> = DelegateUsage<BalanceOf<T>>;
/// An owner's authorization of a delegate, as stored.
pub type AuthorizationOf<T> = Authorization<DelegateTermsOf<T>, BalanceOf<T>>;

/// An owner's authorization of one delegate: the terms, and the storage deposit held from the
/// owner for them (returned when the owner revokes them).
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct Authorization<Terms, Balance> {
	/// What the delegate may do.
	pub terms: Terms,
	/// The deposit held for this record.
	pub deposit: Balance,
}

/// Marks a block whose `on_initialize` has settlement work: keys scheduled there, a backlog
/// carried from earlier blocks, or both.
#[derive(Clone, Default, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct DueMark<BlockNumber> {
	/// The oldest earlier block whose queue was not fully drained, if any.
	pub carry_from: Option<BlockNumber>,
	/// How many keys are queued to settle in this block: scheduling keeps it at most
	/// `MaxExpiriesPerBlock` (only the retry of a settlement that failed, a defensive path, may
	/// go over it).
	pub queued: u32,
}

impl<BlockNumber> DueMark<BlockNumber> {
	/// Whether the mark records no work: nothing queued, no backlog.
	pub fn is_empty(&self) -> bool {
		self.queued == 0 && self.carry_from.is_none()
	}
}

/// Why a settlement paid the counterpart less than the session owed.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
pub enum Shortfall {
	/// The session owed more than its collateral (a state signed after a price gap): the
	/// counterpart received the whole collateral.
	CollateralShort,
	/// The counterpart's account could not receive the payment (for instance a new account and
	/// an amount below the existential deposit): the amount stays on hold from the owner for
	/// the counterpart, who takes it with `claim_payment` once its account can receive it.
	CounterpartCannotReceive,
}

/// A settlement's payment the counterpart could not receive, still held from the owner for the
/// counterpart until it claims it (`claim_payment`).
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct HeldPayment<AccountId, Balance> {
	/// The owner it is held from (under `HoldReason::Session`).
	pub owner: AccountId,
	/// The counterpart it is owed to.
	pub counterpart: AccountId,
	/// How much.
	pub amount: Balance,
}

/// A key to register, with its checked terms: what `register` and `register_for` share.
pub(crate) struct NewKey<T: Config> {
	/// The session key.
	pub public: crate::SessionPublic,
	/// Its ownership proof for the owner.
	pub proof: crate::ProofOf,
	/// The counterpart (not the owner).
	pub counterpart: <T as frame_system::Config>::AccountId,
	/// The duration, checked against `MaxDuration`.
	pub duration: BlockNumberFor<T>,
	/// The spending limit.
	pub spending_limit: BalanceOf<T>,
	/// The collateral to hold.
	pub collateral: BalanceOf<T>,
	/// What the key is for.
	pub description: DescriptionOf<T>,
	/// The resources it may be used for.
	pub scope: ScopeOf<T>,
}
