//! The registration of a session key: the record the pallet stores while the session is live or
//! closing, and its plain form that the runtime API, the RPC and clients use.
//!
//! There is one definition. The pallet stores `Registration` with bounded terms (`BoundedVec`
//! description and scope, so the record has a `MaxEncodedLen`); [`Registration::into_plain`]
//! turns it into the plain form with `Vec`s, which is what leaves the runtime. Everything a
//! caller derives from a record (its [`Phase`], the spending limit that applies at a block, the
//! checkpoint rules) is a method here, so the pallet and its clients compute it the same way.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::traits::AtLeast32BitUnsigned;

use crate::{ChannelState, EndReason, PendingLimit, Phase};

/// A registered session (live or closing).
///
/// `Description` and `Scope` are the containers of the terms: bounded in storage, plain `Vec`s
/// (the defaults) everywhere else.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
	feature = "serde",
	serde(
		rename_all = "camelCase",
		bound(
			serialize = "AccountId: serde::Serialize, Balance: core::fmt::Display, BlockNumber: \
			             serde::Serialize, Description: AsRef<[u8]>, Scope: crate::serde_helpers::ScopeLike",
			deserialize = "AccountId: serde::Deserialize<'de>, Balance: core::str::FromStr, \
			               BlockNumber: serde::Deserialize<'de>, Description: From<Vec<u8>>, \
			               Scope: crate::serde_helpers::ScopeLike"
		)
	)
)]
pub struct Registration<
	AccountId,
	Balance,
	BlockNumber,
	Description = Vec<u8>,
	Scope = Vec<Vec<u8>>,
> {
	/// The account the key acts for, whose collateral and deposit are held (it registered the
	/// key, or its delegate did with `register_for`).
	pub owner: AccountId,
	/// The account the session is opened with.
	pub counterpart: AccountId,
	/// The delegate that registered the key for the owner under the owner's terms, if the owner
	/// did not register it itself. It may renew, rotate, revoke, top up and change the limit of
	/// this key within those terms.
	pub delegate: Option<AccountId>,
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
	/// The most the session may owe its counterpart, until a pending decrease applies (see
	/// [`Registration::limit_at`]). A decimal string in JSON.
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::decimal"))]
	pub spending_limit: Balance,
	/// A lower limit that applies from a later block. It is folded into `spending_limit` by the
	/// next call that changes the record, so it may already apply.
	pub pending_limit: Option<PendingLimit<Balance, BlockNumber>>,
	/// Collateral held from the owner for this session. A decimal string in JSON.
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::decimal"))]
	pub collateral: Balance,
	/// Storage deposit held from the owner for this session. A decimal string in JSON.
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::decimal"))]
	pub deposit: Balance,
	/// What the key is for (seed 002's use case). `0x`-hex in JSON.
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::hex_bytes"))]
	pub description: Description,
	/// The resources the key may be used for ([`crate::scope_allows`]: empty allows none, `*`
	/// every one). `0x`-hex items in JSON.
	#[cfg_attr(feature = "serde", serde(with = "crate::serde_helpers::hex_scope"))]
	pub scope: Scope,
	/// The latest state the counterpart checkpointed.
	pub state: ChannelState<Balance>,
}

/// Why a channel state cannot be checkpointed (see [`Registration::check_state`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StateRejection {
	/// The nonce is not above the last checkpointed one.
	StaleNonce,
	/// The state owes less than the last checkpoint.
	OwedDecreased,
	/// The state owes more than the spending limit that applies.
	OverSpendingLimit,
}

impl<AccountId, Balance, BlockNumber, Description, Scope>
	Registration<AccountId, Balance, BlockNumber, Description, Scope>
{
	/// The plain form: the same record with `Vec`s for description and scope.
	pub fn into_plain<Item>(self) -> Registration<AccountId, Balance, BlockNumber>
	where
		Description: Into<Vec<u8>>,
		Scope: IntoIterator<Item = Item>,
		Item: Into<Vec<u8>>,
	{
		Registration {
			owner: self.owner,
			counterpart: self.counterpart,
			delegate: self.delegate,
			registered_at: self.registered_at,
			expires_at: self.expires_at,
			settles_at: self.settles_at,
			revoked: self.revoked,
			duration: self.duration,
			spending_limit: self.spending_limit,
			pending_limit: self.pending_limit,
			collateral: self.collateral,
			deposit: self.deposit,
			description: self.description.into(),
			scope: self.scope.into_iter().map(Into::into).collect(),
			state: self.state,
		}
	}
}

impl<AccountId, Balance, BlockNumber, Description, Scope>
	Registration<AccountId, Balance, BlockNumber, Description, Scope>
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

	/// The session's phase at `now`: live while `now < expires_at`, then closing.
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

	/// The decrease still waiting at `now`, if any (one whose block has come already applies).
	pub fn pending_limit_at(&self, now: BlockNumber) -> Option<PendingLimit<Balance, BlockNumber>> {
		self.pending_limit.filter(|pending| pending.applies_at > now)
	}

	/// Folds a pending decrease whose block has come into `spending_limit`.
	pub fn apply_due_limit(&mut self, now: BlockNumber) {
		if self.pending_limit.is_some_and(|pending| pending.applies_at <= now) {
			self.spending_limit = self.limit_at(now);
			self.pending_limit = None;
		}
	}

	/// The checkpoint rules, on their own: `state` may follow the checkpointed one at `now` when
	/// its nonce is higher, it owes no less, and it owes no more than the limit that applies.
	/// The collateral does not bound it: after a price gap the key may sign a state that owes
	/// (or needs, with its margin) more than the collateral; it is accepted, makes the session
	/// liquidatable, and settlement pays `min(owed, collateral)` and records the shortfall.
	/// Phase, origin and signature are the caller's checks.
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
		Ok(())
	}
}
