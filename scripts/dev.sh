#!/usr/bin/env bash
# Starts a single-validator development chain (Alice authors and finalizes every block) with
# RPC on 127.0.0.1:9944. Installs what is missing first (scripts/setup.sh), then builds the
# node in the same profile the tests use, so a machine that ran scripts/test.sh starts at once.
# Extra arguments go to the node, e.g. `scripts/dev.sh --rpc-port 9955`.
# State lives in a temporary directory removed on exit; Ctrl-C stops the chain.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
exec cargo run -p session-keys-node -- --dev "$@"
