//! The session-key adjudicator.

use frame_support::parameter_types;

use crate::{
	Balance, Balances, BlockNumber, Runtime, RuntimeHoldReason, DAYS, HOURS, MILLI_UNIT, MINUTES,
};

parameter_types! {
	/// A key lives a day unless registered for less.
	pub const SessionKeyDefaultDuration: BlockNumber = DAYS;
	/// No key is registered or renewed for more than a week ahead.
	pub const SessionKeyMaxDuration: BlockNumber = 7 * DAYS;
	/// A closed session settles an hour after its key expired or was revoked: the counterpart's
	/// time to checkpoint the newest state the key signed. The `development` preset overrides
	/// it with `DEV_CHALLENGE_PERIOD` through the adjudicator's genesis config.
	pub const SessionKeyChallengePeriod: BlockNumber = HOURS;
	/// Live or closing keys per owner.
	pub const SessionKeyMaxKeysPerOwner: u32 = 32;
	/// Keys settled per block, and the most scheduled to settle in one block.
	pub const SessionKeyMaxExpiriesPerBlock: u32 = 128;
	/// Slots a block keeps for revocations beyond the 128: a flood of registrations cannot keep
	/// a revoked key's collateral held to the end of its term.
	pub const SessionKeyClosingReserve: u32 = 32;
	/// A settlement whose block is full goes at most five minutes of blocks later; beyond,
	/// registering fails with `SettlementAgendaFull`.
	pub const SessionKeyMaxSettlementDelay: u32 = 5 * MINUTES;
	/// Counterparts an owner may list in one delegate's terms.
	pub const SessionKeyMaxDelegateCounterparts: u32 = 16;
	/// Bytes of description.
	pub const SessionKeyMaxDescriptionLen: u32 = 128;
	/// Resources in a scope.
	pub const SessionKeyMaxScopeItems: u32 = 16;
	/// Bytes per resource.
	pub const SessionKeyMaxResourceLen: u32 = 64;
	/// Deposit per stored item (a registration, an authorization, a retired record).
	pub const SessionKeyDepositBase: Balance = 10 * MILLI_UNIT;
	/// Deposit per byte of description and scope.
	pub const SessionKeyDepositPerByte: Balance = MILLI_UNIT / 10;
	/// Price per byte of a retired record, kept forever, at the deposit's rate: a record takes
	/// 228 bytes (its storage key and its largest value), so with the item's base 32.8
	/// MILLI_UNIT of each deposit is burned at settlement.
	pub const SessionKeyRecordFeePerByte: Balance = MILLI_UNIT / 10;
	/// A signed request header may name any of the last five minutes of blocks.
	pub const SessionKeyHeaderValidity: BlockNumber = 5 * MINUTES;
}

impl pallet_session_keys::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type DefaultDuration = SessionKeyDefaultDuration;
	type MaxDuration = SessionKeyMaxDuration;
	type ChallengePeriod = SessionKeyChallengePeriod;
	type MaxKeysPerOwner = SessionKeyMaxKeysPerOwner;
	type MaxExpiriesPerBlock = SessionKeyMaxExpiriesPerBlock;
	type ClosingReserve = SessionKeyClosingReserve;
	type MaxSettlementDelay = SessionKeyMaxSettlementDelay;
	type MaxDelegateCounterparts = SessionKeyMaxDelegateCounterparts;
	type MaxDescriptionLen = SessionKeyMaxDescriptionLen;
	type MaxScopeItems = SessionKeyMaxScopeItems;
	type MaxResourceLen = SessionKeyMaxResourceLen;
	type DepositBase = SessionKeyDepositBase;
	type DepositPerByte = SessionKeyDepositPerByte;
	type RecordFeePerByte = SessionKeyRecordFeePerByte;
	type HeaderValidity = SessionKeyHeaderValidity;
	type WeightInfo = pallet_session_keys::weights::SubstrateWeight<Runtime>;
}
