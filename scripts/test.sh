#!/usr/bin/env bash
# The project's one test command: formatting, lints and every test, plain and with the
# `runtime-benchmarks` and `try-runtime` features (which add the benchmark test suite and
# compile the try-state paths as a runtime would). The default pass builds the wasm runtime;
# the feature passes skip it (SKIP_WASM_BUILD=1), as the native code is what they check.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== clippy (default features)"
cargo clippy --workspace --all-targets -- -D warnings

echo "== clippy (runtime-benchmarks, try-runtime)"
SKIP_WASM_BUILD=1 cargo clippy --workspace --all-targets --features runtime-benchmarks,try-runtime \
	-- -D warnings

echo "== tests (default features; the randomized model test runs MODEL_CASES, default 10,000)"
cargo test --workspace

# The second pass adds the benchmark suite and the try-runtime paths; the model test already
# ran its full count above, so here it runs a shorter count unless MODEL_CASES is set.
echo "== tests (runtime-benchmarks, try-runtime)"
SKIP_WASM_BUILD=1 MODEL_CASES="${MODEL_CASES:-1000}" cargo test --features runtime-benchmarks,try-runtime \
	-p session-keys-primitives -p pallet-session-keys
