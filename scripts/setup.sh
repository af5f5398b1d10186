#!/usr/bin/env bash
# Installs what building this project needs and a fresh machine may lack: the Rust components
# used by the checks and the `wasm32v1-none` target the runtime is compiled to. Safe to run
# repeatedly; it only installs what is missing.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
	echo "setup: cargo not found; install Rust with rustup first" >&2
	exit 1
fi
for component in rustfmt clippy; do
	if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
		rustup component add "$component"
	fi
done
if ! rustup target list --installed 2>/dev/null | grep -qx "wasm32v1-none"; then
	rustup target add wasm32v1-none
fi
