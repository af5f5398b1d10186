//! The pallets benchmarked by the node's `benchmark pallet` command.

use alloc::{string::String, vec::Vec};
use frame_benchmarking::{BenchmarkBatch, BenchmarkConfig, BenchmarkList};
use frame_support::traits::StorageInfo;

use crate::*;

pub mod session;

frame_benchmarking::define_benchmarks!(
	[frame_benchmarking, BaselineBench::<Runtime>]
	[frame_system, SystemBench::<Runtime>]
	[pallet_balances, Balances]
	[pallet_timestamp, Timestamp]
	[pallet_sudo, Sudo]
	[pallet_session, SessionBench::<Runtime>]
	[pallet_session_keys, Adjudicator]
	[pallet_proxy, Proxy]
	[pallet_migrations, MultiBlockMigrations]
);

use frame_benchmarking::baseline::Pallet as BaselineBench;
use frame_system_benchmarking::Pallet as SystemBench;
use session::Pallet as SessionBench;

impl frame_benchmarking::baseline::Config for Runtime {}
impl frame_system_benchmarking::Config for Runtime {}

/// The benchmarks this runtime has, and the storage they touch.
pub fn metadata(extra: bool) -> (Vec<BenchmarkList>, Vec<StorageInfo>) {
	use frame_support::traits::StorageInfoTrait;

	let mut list = Vec::<BenchmarkList>::new();
	list_benchmarks!(list, extra);
	(list, AllPalletsWithSystem::storage_info())
}

/// Runs the benchmarks `config` selects.
pub fn dispatch(config: BenchmarkConfig) -> Result<Vec<BenchmarkBatch>, String> {
	use frame_support::traits::WhitelistedStorageKeys;
	use sp_storage::TrackedStorageKey;

	let whitelist: Vec<TrackedStorageKey> = AllPalletsWithSystem::whitelisted_storage_keys();
	let mut batches = Vec::<BenchmarkBatch>::new();
	let params = (&config, &whitelist);
	add_benchmarks!(params, batches);
	Ok(batches)
}
