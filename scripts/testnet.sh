#!/usr/bin/env bash
# Starts a four-validator local testnet on loopback: Alice, Bob, Charlie and Dave of the
# `local_testnet` preset, each node with its own base path, ports and network key, each listing
# the other three as bootnodes. Aura authors in turn, GRANDPA finalizes. The script stays in the
# foreground; Ctrl-C (SIGINT) or SIGTERM stops all four nodes cleanly, and so does any node
# exiting on its own.
#
# Environment (all optional):
#   SESSION_KEYS_NODE_BIN  the node binary; when set, nothing is installed or built. Otherwise
#                      the script installs what is missing (scripts/setup.sh) and builds
#                      exactly as scripts/test.sh does.
#   TESTNET_DIR        where the nodes keep their data and logs (<name>/, <name>.log); kept on
#                      exit. Default: a new temporary directory, removed on exit.
#   TESTNET_RPC_PORT   Alice's RPC port; Bob, Charlie and Dave take the next three (9944).
#   TESTNET_P2P_PORT   Alice's p2p port; the others take the next three (30333).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${SESSION_KEYS_NODE_BIN:-}" ]]; then
	bash scripts/setup.sh
	cargo build --workspace --all-targets
	SESSION_KEYS_NODE_BIN="${CARGO_TARGET_DIR:-target}/debug/session-keys-node"
fi
node=$SESSION_KEYS_NODE_BIN
rpc_base=${TESTNET_RPC_PORT:-9944}
p2p_base=${TESTNET_P2P_PORT:-30333}
if [[ -n "${TESTNET_DIR:-}" ]]; then
	dir=$TESTNET_DIR
	keep=1
	mkdir -p "$dir"
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/session-keys-testnet.XXXXXX")
	keep=0
fi

validators=(alice bob charlie dave)
pids=()

stop() {
	trap - INT TERM EXIT
	echo "testnet: stopping ${#pids[@]} nodes"
	# SIGTERM: a script's background jobs ignore SIGINT. A node that has not shut down after
	# 30 s is killed.
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for _ in $(seq 60); do
		alive=0
		for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		if [[ $alive == 0 ]]; then break; fi
		sleep 0.5
	done
	for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [[ $keep == 0 ]]; then rm -rf "$dir"; fi
	echo "testnet: stopped"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# Fixed network keys make the peer ids, and so every node's bootnode list, known in advance; a
# restarted node keeps its identity.
addresses=()
for i in "${!validators[@]}"; do
	node_keys[i]=$(printf '%064x' $((i + 1)))
	peer_id=$(printf '%s' "${node_keys[i]}" | "$node" key inspect-node-key)
	addresses[i]="/ip4/127.0.0.1/tcp/$((p2p_base + i))/p2p/$peer_id"
done

for i in "${!validators[@]}"; do
	name=${validators[i]}
	bootnodes=()
	for j in "${!validators[@]}"; do
		if [[ $j != "$i" ]]; then bootnodes+=(--bootnodes "${addresses[j]}"); fi
	done
	"$node" --chain local "--$name" \
		--base-path "$dir/$name" \
		--node-key "${node_keys[i]}" \
		--rpc-port $((rpc_base + i)) \
		--listen-addr "/ip4/127.0.0.1/tcp/$((p2p_base + i))" \
		--no-prometheus --no-telemetry --no-mdns \
		"${bootnodes[@]}" >"$dir/$name.log" 2>&1 &
	pids+=($!)
	printf 'testnet: %-8s pid %-7s rpc ws://127.0.0.1:%s  p2p %s  log %s\n' \
		"$name" "$!" $((rpc_base + i)) "${addresses[i]}" "$dir/$name.log"
done
echo "testnet: running in $dir; Ctrl-C stops it"

# Returns when any node exits; the EXIT trap then stops the others.
set +e
wait -n "${pids[@]}"
status=$?
set -e
keep=1
echo "testnet: a node exited on its own (status $status); its log is in $dir"
exit 1
