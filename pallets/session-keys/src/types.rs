//! Storage types of the adjudicator pallet.

use codec::{Decode, Encode, MaxEncodedLen};
use core::fmt::Debug;
use frame_support::{traits::fungible, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use scale_info::TypeInfo;
use session_keys_primitives::{ChannelState, RetiredSession};

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
/// A live session as stored by the pallet.
pub type SessionOf<T> = Session<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
	DescriptionOf<T>,
	ScopeOf<T>,
>;
/// A retired session as stored by the pallet.
pub type RetiredOf<T> =
	RetiredSession<<T as frame_system::Config>::AccountId, BlockNumberFor<T>, BalanceOf<T>>;

/// A live session key registration.
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct Session<AccountId, Balance, BlockNumber, Description, Scope> {
	/// The account that registered the key and owns its collateral.
	pub owner: AccountId,
	/// The account the session is opened with.
	pub counterpart: AccountId,
	/// The block the key was registered in: the first block it is valid at.
	pub registered_at: BlockNumber,
	/// The first block at which the key is no longer valid; the session ends in this block's
	/// `on_initialize` (or, under an expiry backlog, in a later one).
	pub expires_at: BlockNumber,
	/// The length of the current term, reused when the key is rotated.
	pub duration: BlockNumber,
	/// The most the session may ever owe its counterpart.
	pub spending_limit: Balance,
	/// Collateral held from the owner for this session.
	pub collateral: Balance,
	/// Storage deposit held from the owner for this session.
	pub deposit: Balance,
	/// What the key is for.
	pub description: Description,
	/// The resources the key may be used for.
	pub scope: Scope,
	/// The latest state the counterpart checkpointed.
	pub state: ChannelState<Balance>,
}

impl<AccountId, Balance, BlockNumber, Description, Scope>
	Session<AccountId, Balance, BlockNumber, Description, Scope>
where
	Balance: sp_runtime::traits::AtLeast32BitUnsigned + Copy,
{
	/// Whether anything is at stake: collateral held, an amount owed, or open positions.
	pub fn has_funds_at_stake(&self) -> bool {
		!self.collateral.is_zero() || !self.state.owed.is_zero() || !self.state.margin.is_zero()
	}

	/// Whether the checkpointed state needs more collateral than is held.
	pub fn is_under_collateralized(&self) -> bool {
		self.state.owed.saturating_add(self.state.margin) > self.collateral
	}
}

/// Marks a block whose `on_initialize` has expiry work: keys scheduled there, a backlog carried
/// from earlier blocks, or both.
#[derive(Clone, Default, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct DueMark<BlockNumber> {
	/// The oldest earlier block whose queue was not fully drained, if any.
	pub carry_from: Option<BlockNumber>,
}
