//! Storage types of the adjudicator pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use core::fmt::Debug;
use frame_support::{traits::fungible, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use scale_info::TypeInfo;
use session_keys_primitives::{Registration, RetiredSession};

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
	/// an amount below the existential deposit): the amount stayed with the owner.
	CounterpartCannotReceive,
}
