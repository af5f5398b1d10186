//! Prints, as JSON, the runtime constants the benchmark report (`scripts/bench/report.py`)
//! needs to turn benchmark results into block shares: the database weights, the block's
//! ref_time limits and `MaxExpiriesPerBlock`. Read from the runtime's own types, so the report
//! cannot drift from the runtime.
//!
//! ```sh
//! cargo build --workspace --bins
//! target/debug/session-keys-bench-constants > target/bench/constants.json
//! ```

use frame_support::{dispatch::DispatchClass, weights::RuntimeDbWeight};
use session_keys_runtime::{configs::RuntimeBlockWeights, Runtime};

fn main() {
	let db: RuntimeDbWeight = <Runtime as frame_system::Config>::DbWeight::get();
	let weights = RuntimeBlockWeights::get();
	let normal =
		weights.get(DispatchClass::Normal).max_total.unwrap_or(weights.max_block).ref_time();
	let max_expiries: u32 = <Runtime as pallet_session_keys::Config>::MaxExpiriesPerBlock::get();
	let constants = serde_json::json!({
		"db_read_ps": db.read,
		"db_write_ps": db.write,
		"max_block_ps": weights.max_block.ref_time(),
		"normal_block_ps": normal,
		"max_expiries_per_block": max_expiries,
	});
	println!("{constants:#}");
}
