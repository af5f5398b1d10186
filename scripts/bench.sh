#!/usr/bin/env bash
# Runs the runtime's FRAME benchmarks with the node's `benchmark pallet` command, regenerates
# pallets/session-keys/src/weights.rs from them, and writes a markdown report of every call's
# ref_time and proof size with the ratios the performance targets name (scripts/bench/report.py).
#
#   scripts/bench.sh                 # full run: STEPS=50 REPEAT=20
#   STEPS=10 REPEAT=5 scripts/bench.sh   # a quicker, coarser run
#
# Environment (all optional):
#   STEPS, REPEAT        benchmark sampling (default 50 and 20, as polkadot-sdk's own weights)
#   BENCH_NODE           a node binary built with `runtime-benchmarks` (its wbuild/ directory
#                        holds the runtime measured); when set, nothing is built
#   BENCH_OUT            where raw results and the report go (default target/bench)
#   REPORT               the report's path (default $BENCH_OUT/report.md)
#
# It builds the node in release mode with `runtime-benchmarks` (target/release/session-keys-node):
# a cold build takes most of an hour on two cores; later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."

steps=${STEPS:-50}
repeat=${REPEAT:-20}
out=${BENCH_OUT:-target/bench}
report=${REPORT:-$out/report.md}
mkdir -p "$out"

# Weights are measured with an optimized node, as polkadot-sdk measures its own: in a debug
# build the host side of every storage access and signature check is several times slower.
target=${CARGO_TARGET_DIR:-target}
if [[ -z "${BENCH_NODE:-}" ]]; then
	bash scripts/setup.sh
	cargo build --release --workspace --bins --features session-keys-node/runtime-benchmarks
	BENCH_NODE="$target/release/session-keys-node"
fi
wbuild="$(dirname "$BENCH_NODE")/wbuild/session-keys-runtime"
runtime="$wbuild/session_keys_runtime.compact.compressed.wasm"
test -f "$runtime" || runtime="$wbuild/session_keys_runtime.wasm"
test -f "$runtime" || { echo "bench: no wasm runtime in $wbuild" >&2; exit 1; }

# measure PALLET EXTRINSICS ARGS...: runs the benchmarks, keeping the raw results in
# $out/PALLET.raw.json; ARGS say what to write from them.
measure() {
	local pallet=$1 extrinsics=$2
	shift 2
	echo "bench: $pallet ($extrinsics), steps $steps, repeat $repeat"
	"$BENCH_NODE" benchmark pallet \
		--runtime "$runtime" --genesis-builder=runtime \
		--pallet "$pallet" --extrinsic "$extrinsics" \
		--steps "$steps" --repeat "$repeat" \
		--json-file "$out/$pallet.raw.json" "$@" >"$out/$pallet.log"
}
analysis=(--template scripts/bench/analysis-template.hbs)

# Our pallet's weights.rs comes from the measuring run, so its header names that command; the
# analysis for the report is then made from the same raw results (without storage info, so
# report.py takes the proof sizes from weights.rs).
measure pallet_session_keys '*' \
	--output pallets/session-keys/src/weights.rs --template scripts/bench/weight-template.hbs
"$BENCH_NODE" benchmark pallet \
	--runtime "$runtime" --genesis-builder=runtime \
	--pallet pallet_session_keys --extrinsic '*' --steps "$steps" --repeat "$repeat" \
	--json-input "$out/pallet_session_keys.raw.json" \
	--output "$out/pallet_session_keys.json" "${analysis[@]}" >/dev/null
# The reference calls the ratios compare with.
measure frame_benchmarking sr25519_verification --output "$out/frame_benchmarking.json" "${analysis[@]}"
measure pallet_balances transfer_keep_alive --output "$out/pallet_balances.json" "${analysis[@]}"
measure pallet_session set_keys,purge_keys --output "$out/pallet_session.json" "${analysis[@]}"

# The report's runtime constants (database weights, block limits) from the runtime itself.
cargo build --quiet --workspace --bins
"$target/debug/session-keys-bench-constants" >"$out/constants.json"
python3 scripts/bench/report.py "$out" pallets/session-keys/src/weights.rs >"$report"
echo "bench: weights in pallets/session-keys/src/weights.rs, report in $report"
