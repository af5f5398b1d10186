#!/usr/bin/env bash
# Installs what building and testing this project needs and a fresh machine may lack:
# - for the chain (always): the Rust components used by the checks, the `wasm32v1-none` target
#   the runtime is compiled to, `zepter` (the feature-propagation check in scripts/test.sh),
#   and `protoc` (Debian's protobuf-compiler), which the node's networking (litep2p) needs at
#   build time;
# - for the browser widget (web/): Node.js and npm (Debian's nodejs and npm, when `node` is
#   missing), and for its browser test Debian's `chromium`.
# `--chain` installs only the first part (scripts/dev.sh), `--web` the first and Node.js
# (scripts/widget.sh); no argument installs everything (scripts/test.sh).
# Safe to run repeatedly; it only installs what is missing.
set -euo pipefail

part="${1:-all}"
case "$part" in
	all | --chain | --web) ;;
	*)
		echo "usage: scripts/setup.sh [--chain | --web]" >&2
		exit 2
		;;
esac

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
apt_updated=""
# Installs Debian packages, or says what to install where there is no apt-get.
apt_install() {
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "setup: apt-get is not available; install $* with your package manager" >&2
		exit 1
	fi
	if [ -z "$apt_updated" ]; then
		$sudo apt-get update -qq
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

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

if ! command -v protoc >/dev/null 2>&1 && [ -z "${PROTOC:-}" ]; then
	echo "setup: installing protoc (Debian package protobuf-compiler)"
	apt_install protobuf-compiler
fi

if [ "$part" = "--chain" ]; then
	exit 0
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "setup: installing Node.js and npm (Debian packages nodejs, npm)"
	apt_install nodejs npm
fi

if [ "$part" = "--web" ]; then
	exit 0
fi
# The widget's browser test drives this Chromium (puppeteer-core downloads no browser).
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
	echo "setup: installing Chromium (Debian package chromium) for the widget's browser test"
	apt_install chromium
fi
# Services the tests start themselves, each on a free loopback port or in a temporary directory,
# and always stop: Redis (the gateway's shared state across replicas), HAProxy (the replicas'
# load balancer in the deployment test), SoftHSM2 (the keeper's PKCS#11 sealer), PostgreSQL
# (the keeper's PostgreSQL store; the tests run their own server with initdb and pg_dump).
services=()
command -v redis-server >/dev/null 2>&1 || services+=(redis-server)
command -v haproxy >/dev/null 2>&1 || command -v /usr/sbin/haproxy >/dev/null 2>&1 || services+=(haproxy)
command -v softhsm2-util >/dev/null 2>&1 || services+=(softhsm2)
[ -x /usr/lib/postgresql/15/bin/initdb ] || services+=(postgresql-15)
if [ "${#services[@]}" -gt 0 ]; then
	echo "setup: installing ${services[*]} (Debian packages) for the service tests"
	apt_install "${services[@]}"
fi
