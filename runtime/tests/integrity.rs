//! The runtime's constants pass every pallet's `integrity_test`, and the wasm blob was built.

use frame_support::traits::IntegrityTest;
use session_keys_runtime::AllPalletsWithSystem;

#[test]
fn every_pallet_accepts_the_runtime_constants() {
	sp_io::TestExternalities::default().execute_with(AllPalletsWithSystem::integrity_test);
}

#[test]
fn the_wasm_runtime_is_built() {
	// Fails under `SKIP_WASM_BUILD=1`, which is for pallet-only work (`-p pallet-session-keys`).
	let wasm = session_keys_runtime::WASM_BINARY.expect("the wasm runtime is built");
	assert!(wasm.len() > 100_000, "a runtime blob, {} bytes", wasm.len());
}
