//! Storage types of the adjudicator pallet.

use codec::{Decode, Encode, MaxEncodedLen};
use core::fmt::Debug;
use frame_support::{traits::fungible, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use scale_info::TypeInfo;
use session_keys_primitives::{ChannelState, EndReason, PendingLimit, Phase, RetiredSession};
use sp_runtime::traits::AtLeast32BitUnsigned;

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

/// A registered session (live or closing) as stored by the pallet.
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct Session<AccountId, Balance, BlockNumber, Description, Scope> {
	/// The account that registered the key and owns its collateral.
	pub owner: AccountId,
	/// The account the session is opened with.
	pub counterpart: AccountId,
	/// The block the key was registered in: the first block it is valid at.
	pub registered_at: BlockNumber,
	/// The first block at which the key is no longer valid: its expiry, or the block it was
	/// revoked in. From here on the session is closing.
	pub expires_at: BlockNumber,
	/// The block in whose `on_initialize` the session settles (or, under a backlog, a later
	/// one): `expires_at` plus the challenge period. The session's queue entry sits here.
	pub settles_at: BlockNumber,
	/// Whether the owner revoked the key (the session then ends as `Revoked`, else `Expired`).
	pub revoked: bool,
	/// The length of the current term, reused when the key is rotated.
	pub duration: BlockNumber,
	/// The most the session may owe its counterpart (until a pending decrease applies).
	pub spending_limit: Balance,
	/// A lower limit that applies from a later block.
	pub pending_limit: Option<PendingLimit<Balance, BlockNumber>>,
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

/// Why a channel state cannot be checkpointed (see [`Session::check_state`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StateRejection {
	/// The nonce is not above the last checkpointed one.
	StaleNonce,
	/// The state owes less than the last checkpoint.
	OwedDecreased,
	/// The state owes more than the spending limit that applies.
	OverSpendingLimit,
	/// The state owes more than the collateral.
	OverCollateral,
}

impl<AccountId, Balance, BlockNumber, Description, Scope>
	Session<AccountId, Balance, BlockNumber, Description, Scope>
where
	Balance: AtLeast32BitUnsigned + Copy,
	BlockNumber: PartialOrd + Copy,
{
	/// Whether anything is at stake: collateral held, an amount owed, or open positions.
	pub fn has_funds_at_stake(&self) -> bool {
		!self.collateral.is_zero() || !self.state.owed.is_zero() || !self.state.margin.is_zero()
	}

	/// Whether the checkpointed state needs more collateral than is held: the counterpart may
	/// then liquidate, and the owner may cure it with a top-up while the key is live.
	pub fn is_under_collateralized(&self) -> bool {
		self.state.owed.saturating_add(self.state.margin) > self.collateral
	}

	/// Whether the key is valid at `now` (the session is live, not closing).
	pub fn is_live_at(&self, now: BlockNumber) -> bool {
		now < self.expires_at
	}

	/// Why the session will end (or ends) when its closing window runs out.
	pub fn closing_reason(&self) -> EndReason {
		if self.revoked {
			EndReason::Revoked
		} else {
			EndReason::Expired
		}
	}

	/// The session's phase at `now`.
	pub fn phase_at(&self, now: BlockNumber) -> Phase {
		if self.is_live_at(now) {
			Phase::Live
		} else {
			Phase::Closing(self.closing_reason())
		}
	}

	/// The spending limit that applies at `now`. A pending decrease applies from its block on,
	/// and never below what the session owes by then: a state the key signed under the old
	/// limit and checkpointed in time stays valid.
	pub fn limit_at(&self, now: BlockNumber) -> Balance {
		match self.pending_limit {
			Some(pending) if pending.applies_at <= now => pending.limit.max(self.state.owed),
			_ => self.spending_limit,
		}
	}

	/// Folds a pending decrease whose block has come into `spending_limit`.
	pub fn apply_due_limit(&mut self, now: BlockNumber) {
		if self.pending_limit.is_some_and(|pending| pending.applies_at <= now) {
			self.spending_limit = self.limit_at(now);
			self.pending_limit = None;
		}
	}

	/// The checkpoint rules, on their own: `state` may follow the checkpointed one at `now` when
	/// its nonce is higher, it owes no less, and it owes no more than the limit that applies
	/// nor than the collateral. (Margin is free: a state that needs more than the collateral is
	/// accepted and makes the session liquidatable.) Phase, origin and signature are the
	/// caller's checks.
	pub fn check_state(
		&self,
		state: &ChannelState<Balance>,
		now: BlockNumber,
	) -> Result<(), StateRejection> {
		if state.nonce <= self.state.nonce {
			return Err(StateRejection::StaleNonce);
		}
		if state.owed < self.state.owed {
			return Err(StateRejection::OwedDecreased);
		}
		if state.owed > self.limit_at(now) {
			return Err(StateRejection::OverSpendingLimit);
		}
		if state.owed > self.collateral {
			return Err(StateRejection::OverCollateral);
		}
		Ok(())
	}
}

/// Marks a block whose `on_initialize` has expiry work: keys scheduled there, a backlog carried
/// from earlier blocks, or both.
#[derive(Clone, Default, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct DueMark<BlockNumber> {
	/// The oldest earlier block whose queue was not fully drained, if any.
	pub carry_from: Option<BlockNumber>,
}
