//! Validators: pallet-session manages the authority set of Aura (blocks) and GRANDPA (finality).
//! A validator rotates its consensus keys with `session.set_keys(keys, proof)`; the proof is the
//! RFC-0048 ownership proof `author_rotateKeysWithOwner` returns, and the keys take effect at the
//! next session change.

use frame_support::{
	parameter_types,
	traits::{ConstBool, ConstU32, ConstU64},
};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_runtime::traits::ConvertInto;

use crate::{AccountId, Balance, Balances, BlockNumber, Runtime, RuntimeEvent, SessionKeys};

/// Most validators the consensus pallets accept.
pub const MAX_AUTHORITIES: u32 = 32;

parameter_types! {
	/// Blocks per session: a key change is seen within half a minute on a dev chain.
	pub const SessionPeriod: BlockNumber = 10;
	/// The first session change happens at block `SessionOffset`.
	pub const SessionOffset: BlockNumber = 0;
	/// Held from a validator while its keys are set.
	pub const SessionKeyDeposit: Balance = 0;
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = ConstU32<MAX_AUTHORITIES>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<MAX_AUTHORITIES>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_session::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	// Validators are plain accounts; there is no staking.
	type ValidatorId = AccountId;
	type ValidatorIdOf = ConvertInto;
	type ShouldEndSession = pallet_session::PeriodicSessions<SessionPeriod, SessionOffset>;
	type NextSessionRotation = pallet_session::PeriodicSessions<SessionPeriod, SessionOffset>;
	// The validator set is the genesis set; only their keys change.
	type SessionManager = ();
	type SessionHandler = <SessionKeys as sp_runtime::traits::OpaqueKeys>::KeyTypeIdProviders;
	type Keys = SessionKeys;
	type DisablingStrategy = ();
	type WeightInfo = pallet_session::weights::SubstrateWeight<Runtime>;
	type Currency = Balances;
	type KeyDeposit = SessionKeyDeposit;
}
