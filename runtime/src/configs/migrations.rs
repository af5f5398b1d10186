//! Multi-block migrations: pallet-migrations runs them a step a block after a runtime upgrade,
//! while the chain takes no transactions.

use frame_support::{parameter_types, weights::Weight};
use sp_runtime::Perbill;

use crate::{configs::RuntimeBlockWeights, Runtime, RuntimeEvent};

parameter_types! {
	/// Most of a block goes to a migration step while one runs: the block takes no
	/// transactions then, and the rest is left for `on_initialize` (settlements go on).
	pub MbmServiceWeight: Weight = Perbill::from_percent(80) * RuntimeBlockWeights::get().max_block;
}

impl pallet_migrations::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	/// Retired records of storage versions 1 and 2 to the current layout.
	#[cfg(not(feature = "runtime-benchmarks"))]
	type Migrations = (pallet_session_keys::migrations::retired::MigrateRetiredRecords<Runtime>,);
	// Benchmarks need mocked migrations to guarantee that they succeed.
	#[cfg(feature = "runtime-benchmarks")]
	type Migrations = pallet_migrations::mock_helpers::MockedMigrations;
	type CursorMaxLen = frame_support::traits::ConstU32<65_536>;
	type IdentifierMaxLen = frame_support::traits::ConstU32<256>;
	type MigrationStatusHandler = ();
	// A failed migration leaves state that transactions must not touch, so the chain takes
	// none (not even sudo's) until a code substitute repairs it. The retired records' migration
	// fails only if a block's allowance cannot take one record (`runtime/tests/
	// multi_block_migrations.rs` checks that it takes thousands) or its cursor is corrupt.
	type FailedMigrationHandler = frame_support::migrations::FreezeChainOnFailedMigration;
	type MaxServiceWeight = MbmServiceWeight;
	type WeightInfo = pallet_migrations::weights::SubstrateWeight<Runtime>;
}
