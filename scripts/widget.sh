#!/usr/bin/env bash
# Serves the browser widget for the dev chain that scripts/dev.sh runs: builds web/ (npm, esbuild)
# and starts the gateway at http://127.0.0.1:8080 with the widget at /ui/, in front of a small
# demo API (web/scripts/demo-api.mjs on 127.0.0.1:3000) that echoes who called it.
# Open http://127.0.0.1:8080/ui/ in a browser; Ctrl-C stops the gateway and the demo API.
# Settings: NODE_URL (default ws://127.0.0.1:9944), GATEWAY_PORT (8080), API_PORT (3000),
# AUDIENCE (demo-api); extra arguments go to the gateway (e.g. --tier base:0:2:4).
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_URL="${NODE_URL:-ws://127.0.0.1:9944}"
GATEWAY_PORT="${GATEWAY_PORT:-8080}"
API_PORT="${API_PORT:-3000}"
AUDIENCE="${AUDIENCE:-demo-api}"

bash scripts/setup.sh --web
# The same build as scripts/dev.sh and scripts/test.sh, so it is done already after either.
cargo build --workspace --all-targets
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build)

node web/scripts/demo-api.mjs "$API_PORT" &
api=$!
trap 'kill "$api" 2>/dev/null || true' EXIT
echo "widget: http://127.0.0.1:$GATEWAY_PORT/ui/  (the node at $NODE_URL must be running: scripts/dev.sh)"
"${CARGO_TARGET_DIR:-target}/debug/session-keys-gateway" \
	--listen "127.0.0.1:$GATEWAY_PORT" \
	--upstream "http://127.0.0.1:$API_PORT" \
	--node "$NODE_URL" \
	--audience "$AUDIENCE" \
	--ui web/dist \
	"$@"
