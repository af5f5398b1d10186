#!/usr/bin/env bash
# The project's one test command: formatting, feature propagation, lints, docs, then every test
# (unit, runtime and end-to-end against the node binary, and the browser widget's unit and
# headless-Chromium tests), plain and with the `runtime-benchmarks` and `try-runtime` features.
#
# Build cost is the main cost on small machines, so:
# - Every step of the first pass uses the one dev profile and the same package selection
#   (`--workspace`): cargo then resolves features once, and the node binary, the unit tests
#   and the end-to-end tests share every compiled dependency.
# - Clippy lints the workspace's crates while they are compiled for the tests: clippy-driver
#   is their compiler wrapper (the setup `cargo clippy` itself makes, `CLIPPY_ARGS` holding its
#   lint flags), so the dependencies are compiled once, not also checked for a separate
#   `cargo clippy`.
# - The end-to-end tests mostly wait on 3-second blocks: they run on more threads than there
#   are cores, and the rustdoc build and the feature pass's build run beside them at the
#   lowest CPU priority (`nice`), taking the time the tests leave idle.
# - The feature pass selects (`-p`) only the crates whose code changes under those features,
#   since `--workspace` would also build the node with frame-benchmarking-cli, and skips the
#   wasm build (SKIP_WASM_BUILD=1): the native code is what it checks.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --chain

# Each background job runs in its own process group (job control on), so that it ends with the
# script however the script ends, with every process it started (cargo, rustc, rustdoc).
set -m
scratch="$(mktemp -d)"
cleanup() {
	for job in $(jobs -p); do kill -- "-$job" 2>/dev/null || true; done
	rm -rf "$scratch"
}
trap cleanup EXIT

# What only the browser widget needs (Node.js, Chromium, the widget's npm packages from the
# committed lockfile) installs in the background while the Rust checks run: it waits on the
# network, they on the CPU. Its output is shown when the web steps need it.
web_setup_log="$scratch/web-setup.log"
(bash scripts/setup.sh && cd web && npm ci --no-audit --no-fund --loglevel=error) >"$web_setup_log" 2>&1 &
web_setup=$!

echo "== cargo fmt --check"
cargo fmt --all -- --check

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
if [ "$web_setup_status" -ne 0 ]; then
	echo "the widget's setup failed (exit $web_setup_status)" >&2
	exit "$web_setup_status"
fi
(cd web && npm run typecheck && npm test)

# Every cargo command from here on compiles the workspace's crates through clippy-driver, the
# same way, so none of them rebuilds what another built.
RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)"
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings"

echo "== build and clippy (-D warnings): node binary, wasm runtime and every test target"
cargo build --workspace --all-targets

features=(--features runtime-benchmarks,try-runtime -p session-keys-primitives -p pallet-session-keys -p session-keys-runtime)

echo "== tests (unit, runtime, end-to-end; the randomized model test runs MODEL_CASES, default 10,000)"
# The background builds start once this run's own (no-op) build has released cargo's lock on
# the target directory, which it does before it runs the first test binary (or once the run
# has ended, whichever comes first).
test_log="$scratch/tests.log"
tests_done="$scratch/tests.done"
background_log="$scratch/background.log"
: >"$test_log"
(
	until grep -q 'Running ' "$test_log" || [ -e "$tests_done" ]; do sleep 1; done
	# The README sends readers to the rustdoc for the reference, so broken links and missing
	# docs fail here.
	echo "== cargo doc (-D warnings)"
	RUSTDOCFLAGS="-D warnings" nice -n 19 cargo doc --workspace --no-deps
	echo "== build for the feature pass (runtime-benchmarks, try-runtime)"
	SKIP_WASM_BUILD=1 nice -n 19 cargo test "${features[@]}" --no-run
) >"$background_log" 2>&1 &
background=$!
# Whatever fails first, what the background builds said so far is shown too.
show_background() { echo "== (background) rustdoc and feature-pass build, so far:"; cat "$background_log"; }
trap 'status=$?; [ "$status" -ne 0 ] && show_background; cleanup; exit "$status"' EXIT
cargo test --workspace -- --test-threads=6 2>&1 | tee "$test_log"
touch "$tests_done"

echo "== web: the widget in headless Chromium against the dev node and the gateway"
(cd web && npm run test:browser)

background_status=0
wait "$background" || background_status=$?
trap cleanup EXIT
cat "$background_log"
if [ "$background_status" -ne 0 ]; then
	echo "the rustdoc build or the feature pass's build failed (exit $background_status)" >&2
	exit "$background_status"
fi

# The second pass adds the benchmark suite and the try-runtime paths (the runtime's tests then run
# every pallet's try_state after each block); the model test already ran its full count above,
# so here it runs a shorter count unless MODEL_CASES is set. Without a wasm build there is no
# wasm runtime to check: the first pass ran that test.
echo "== tests (runtime-benchmarks, try-runtime)"
SKIP_WASM_BUILD=1 MODEL_CASES="${MODEL_CASES:-1000}" cargo test "${features[@]}" \
	-- --skip the_wasm_runtime_is_built
