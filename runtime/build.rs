//! Builds the runtime's wasm blob with `substrate-wasm-builder` (target `wasm32v1-none`).
//! Set `SKIP_WASM_BUILD=1` to skip it when only native code is needed.

fn main() {
	#[cfg(feature = "std")]
	substrate_wasm_builder::WasmBuilder::build_using_defaults();
}
