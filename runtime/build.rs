//! Builds the runtime's wasm blob with `substrate-wasm-builder` (target `wasm32v1-none`).
//! Set `SKIP_WASM_BUILD=1` to skip it when only native code is needed. With the
//! `metadata-hash` feature, the blob embeds the hash of its own metadata for `CheckMetadataHash`.

fn main() {
	#[cfg(all(feature = "std", not(feature = "metadata-hash")))]
	substrate_wasm_builder::WasmBuilder::build_using_defaults();

	#[cfg(all(feature = "std", feature = "metadata-hash"))]
	substrate_wasm_builder::WasmBuilder::init_with_defaults()
		// `TOKEN_SYMBOL` and `TOKEN_DECIMALS` in src/lib.rs: a build script cannot import them.
		.enable_metadata_hash("UNIT", 12)
		.build();
}
