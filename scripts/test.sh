#!/usr/bin/env bash
# The project's one test command: formatting, lints, docs, feature propagation, then every test
# (unit, runtime and end-to-end against the node binary, and the browser widget's unit and
# headless-Chromium tests), plain and with the `runtime-benchmarks` and `try-runtime` features.
#
# The checks come first because they fail in minutes; the build and the tests take far longer.
# Build cost is the main cost on small machines, so every step of the first pass uses the one
# dev profile and the same package selection (`--workspace`): cargo then resolves features
# once, and the node binary, the unit tests and the end-to-end tests share every compiled
# dependency. The feature pass is the one exception: it selects (`-p`) only the crates whose
# code changes under those features, since `--workspace` would also build the node with
# frame-benchmarking-cli, and skips the wasm build (SKIP_WASM_BUILD=1): the native code is what
# it checks.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --chain

# What only the browser widget needs (Node.js, Chromium, the widget's npm packages from the
# committed lockfile) installs in the background while the Rust checks run: it waits on the
# network, they on the CPU. Its output is shown when the web steps need it.
web_setup_log="$(mktemp)"
(bash scripts/setup.sh && cd web && npm ci --no-audit --no-fund --loglevel=error) >"$web_setup_log" 2>&1 &
web_setup=$!

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== clippy (default features)"
cargo clippy --workspace --all-targets -- -D warnings

# The README sends readers to the rustdoc for the reference, so broken links and missing docs
# fail here.
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# A feature not passed down to a dependency compiles that dependency without the code the
# feature passes are meant to check; .config/zepter.yaml says which features.
echo "== feature propagation (zepter)"
zepter run check

# The browser widget (web/): its type check and unit tests (Node's test runner) take seconds,
# so they come before the long build.
echo "== web: setup (Node.js, Chromium, npm ci), type check, unit tests"
web_setup_status=0
wait "$web_setup" || web_setup_status=$?
cat "$web_setup_log"
rm -f "$web_setup_log"
if [ "$web_setup_status" -ne 0 ]; then
	echo "the widget's setup failed (exit $web_setup_status)" >&2
	exit "$web_setup_status"
fi
(cd web && npm run typecheck && npm test)

echo "== build: node binary, wasm runtime and every test target"
cargo build --workspace --all-targets

echo "== tests (unit, runtime, end-to-end; the randomized model test runs MODEL_CASES, default 10,000)"
cargo test --workspace

echo "== web: the widget in headless Chromium against the dev node and the gateway"
(cd web && npm run test:browser)

# The second pass adds the benchmark suite and the try-runtime paths (the runtime's tests then run
# every pallet's try_state after each block); the model test already ran its full count above,
# so here it runs a shorter count unless MODEL_CASES is set. Without a wasm build there is no
# wasm runtime to check: the first pass ran that test.
#
# Its lints run in the same build: clippy-driver as the workspace crates' compiler wrapper (the
# setup `cargo clippy` itself makes, `CLIPPY_ARGS` holding its lint flags) lints our crates while
# they are compiled for the tests. A separate `cargo clippy` with these features would first
# check every dependency again with them (about 7 minutes on 2 cores).
echo "== clippy and tests (runtime-benchmarks, try-runtime)"
RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings" \
	SKIP_WASM_BUILD=1 MODEL_CASES="${MODEL_CASES:-1000}" cargo test --features runtime-benchmarks,try-runtime \
	-p session-keys-primitives -p pallet-session-keys -p session-keys-runtime \
	-- --skip the_wasm_runtime_is_built
