//! System, time, balances, fees and sudo.

use frame_support::{
	derive_impl,
	dispatch::DispatchClass,
	parameter_types,
	traits::{ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
	weights::{
		constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		IdentityFee, Weight,
	},
};
use frame_system::limits::{BlockLength, BlockWeights};
use pallet_transaction_payment::{FungibleAdapter, Multiplier, TargetedFeeAdjustment};
use sp_runtime::{
	traits::{Bounded, One},
	FixedPointNumber, Perbill, Perquintill,
};
use sp_version::RuntimeVersion;

use crate::{
	AccountId, Aura, Balance, Balances, Block, BlockNumber, Hash, Nonce, PalletInfo, Runtime,
	RuntimeCall, RuntimeEvent, RuntimeFreezeReason, RuntimeHoldReason, RuntimeOrigin, RuntimeTask,
	EXISTENTIAL_DEPOSIT, SLOT_DURATION, VERSION,
};

/// Share of a block's weight and length that normal extrinsics may use.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);
/// Largest block, in bytes.
const MAX_BLOCK_LENGTH: u32 = 5 * 1024 * 1024;

parameter_types! {
	/// Block hashes kept in state: more than any window that refers back to a recent block
	/// (`HeaderValidity`).
	pub const BlockHashCount: BlockNumber = 2400;
	/// The runtime's version.
	pub const Version: RuntimeVersion = VERSION;
	/// One second of compute per three-second block.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	/// At most 5 MiB per block.
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(MAX_BLOCK_LENGTH)
		.modify_max_length_for_class(DispatchClass::Normal, |max| *max = NORMAL_DISPATCH_RATIO * *max)
		.build();
	/// The generic Substrate SS58 prefix.
	pub const SS58Prefix: u8 = 42;
	/// The share of the normal class's block weight that fees aim at: above it the fee
	/// multiplier rises, below it the multiplier falls (never under
	/// [`MinimumMultiplier`]).
	pub const TargetBlockFullness: Perquintill = Perquintill::from_percent(25);
	/// How fast the multiplier moves: with the normal class full it grows by about 0.075% a
	/// block, so stuffing blocks for a whole closing window (1,200 blocks) costs about 2.5 times
	/// what it costs at the base price, and keeps costing more the longer it goes on.
	pub AdjustmentVariable: Multiplier = Multiplier::saturating_from_rational(1, 1_000);
	/// Fees never fall below the base price (weight and length at face value).
	pub MinimumMultiplier: Multiplier = Multiplier::one();
	/// No ceiling: congestion priced without bound.
	pub MaximumMultiplier: Multiplier = Bounded::max_value();
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	// The node's only database is ParityDb.
	type DbWeight = ParityDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
	// Multi-block migrations run through pallet-migrations, which pauses transactions meanwhile.
	type MultiBlockMigrator = crate::MultiBlockMigrations;
}

impl pallet_timestamp::Config for Runtime {
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type RuntimeEvent = RuntimeEvent;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = frame_system::Pallet<Runtime>;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = IdentityFee<Balance>;
	// Fees rise with congestion (as polkadot-sdk's relay runtimes price it), so stuffing blocks
	// to crowd out the adjudicator's calls grows dearer by the block; `checkpoint` is in the
	// operational class on top, which normal transactions cannot fill.
	type FeeMultiplierUpdate = TargetedFeeAdjustment<
		Self,
		TargetBlockFullness,
		AdjustmentVariable,
		MinimumMultiplier,
		MaximumMultiplier,
	>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}
