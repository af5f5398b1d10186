#!/usr/bin/env bash
# Starts a single-validator development chain (Alice authors and finalizes every block) with
# RPC on 127.0.0.1:9944. Installs what is missing first (scripts/setup.sh), then builds with
# exactly the command scripts/test.sh builds with (same profile, same package selection, so the
# same features): whichever of the two runs first, the other finds everything compiled.
# Extra arguments go to the node, e.g. `scripts/dev.sh --rpc-port 9955`.
# State lives in a temporary directory removed on exit; Ctrl-C stops the chain.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --chain
cargo build --workspace --all-targets
exec "${CARGO_TARGET_DIR:-target}/debug/session-keys-node" --dev "$@"
