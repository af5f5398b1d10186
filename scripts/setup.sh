#!/usr/bin/env bash
# Installs what building this project needs and a fresh machine may lack: the Rust components
# used by the checks, the `wasm32v1-none` target the runtime is compiled to, `zepter` (the
# feature-propagation check in scripts/test.sh), and `protoc` (Debian's protobuf-compiler),
# which the node's networking (litep2p) needs at build time.
# Safe to run repeatedly; it only installs what is missing.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
	echo "setup: cargo not found; install Rust with rustup first (https://rustup.rs)" >&2
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

# Pinned so every machine runs the same check; .config/zepter.yaml names this version.
ZEPTER_VERSION=1.88.2
if ! command -v zepter >/dev/null 2>&1; then
	echo "setup: installing zepter $ZEPTER_VERSION (a few minutes, once)"
	cargo install --locked --quiet "zepter@$ZEPTER_VERSION"
fi

if ! command -v protoc >/dev/null 2>&1; then
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "setup: protoc not found and apt-get is not available; install the protobuf" \
			"compiler (protoc) with your package manager, or set PROTOC to its path" >&2
		exit 1
	fi
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		sudo="sudo"
	fi
	echo "setup: installing protoc (Debian package protobuf-compiler)"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq protobuf-compiler >/dev/null
fi
