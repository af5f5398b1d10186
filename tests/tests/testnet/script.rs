//! `scripts/testnet.sh` starts the four validators, they connect and finalize, and SIGTERM to
//! the script stops every node.

use std::{
	net::{TcpListener, TcpStream},
	path::PathBuf,
	process::{Child, Command},
	time::{Duration, Instant},
};

use session_keys_e2e::{
	node::{binary, free_port, START_TIMEOUT},
	testnet::{heights_at, VALIDATORS},
};
use subxt::rpcs::{rpc_params, RpcClient};

/// How long the script may take to stop its nodes (it kills them after 30 s).
const STOP_TIMEOUT: Duration = Duration::from_secs(45);

/// The first of four consecutive ports on 127.0.0.1 that nothing listens on.
fn four_free_ports() -> u16 {
	loop {
		let first = free_port();
		if first < u16::MAX - 4
			&& (first..first + 4).all(|port| TcpListener::bind(("127.0.0.1", port)).is_ok())
		{
			return first;
		}
	}
}

/// The script's process; dropping it sends SIGTERM and reaps it.
struct Script(Child);

impl Script {
	fn signal(&self, signal: &str) {
		let _ = Command::new("kill").args([signal, &self.0.id().to_string()]).status();
	}
}

impl Drop for Script {
	fn drop(&mut self) {
		if let Ok(None) = self.0.try_wait() {
			self.signal("-TERM");
			let _ = self.0.wait();
		}
	}
}

#[tokio::test]
async fn the_testnet_script_starts_four_validators_and_stops_them_all() {
	let _turn = crate::turn().await;
	let dir = tempfile::tempdir().expect("the temp dir is writable");
	let (rpc_base, p2p_base) = (four_free_ports(), four_free_ports());
	let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/testnet.sh");
	let mut script = Script(
		Command::new("bash")
			.arg(&path)
			.env("SESSION_KEYS_NODE_BIN", binary())
			.env("TESTNET_DIR", dir.path())
			.env("TESTNET_RPC_PORT", rpc_base.to_string())
			.env("TESTNET_P2P_PORT", p2p_base.to_string())
			.spawn()
			.expect("bash runs the script"),
	);

	// Every node finalizes block #2 and has the other three as peers.
	let deadline = Instant::now() + START_TIMEOUT;
	for (i, validator) in VALIDATORS.iter().enumerate() {
		let url = format!("ws://127.0.0.1:{}", rpc_base + i as u16);
		loop {
			assert!(script.0.try_wait().expect("waitable").is_none(), "the script exited early");
			if let Some(heights) = heights_at(&url).await {
				if heights.finalized >= 2 {
					let rpc = RpcClient::from_insecure_url(&url).await.expect("RPC answers");
					let health: serde_json::Value =
						rpc.request("system_health", rpc_params![]).await.expect("health");
					println!("{validator} ({url}): {heights:?}, health {health}");
					if health["peers"] == 3 {
						break;
					}
				}
			}
			assert!(Instant::now() < deadline, "{validator} not finalizing with 3 peers in time");
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
	}

	// SIGTERM: the script stops all four and exits successfully. (Ctrl-C's SIGINT does the same
	// from a terminal, but a test may run with SIGINT ignored, as background jobs do, and bash
	// cannot trap a signal that was ignored when it started.)
	script.signal("-TERM");
	let deadline = Instant::now() + STOP_TIMEOUT;
	let status = loop {
		if let Some(status) = script.0.try_wait().expect("waitable") {
			break status;
		}
		assert!(Instant::now() < deadline, "the script did not stop within {STOP_TIMEOUT:?}");
		tokio::time::sleep(Duration::from_millis(250)).await;
	};
	println!("script exited with {status}");
	assert!(status.success(), "a clean stop, got {status}");
	for i in 0..VALIDATORS.len() as u16 {
		assert!(
			TcpStream::connect(("127.0.0.1", rpc_base + i)).is_err(),
			"{}'s RPC port still open after the script stopped",
			VALIDATORS[usize::from(i)]
		);
	}
	for validator in VALIDATORS {
		let log = std::fs::read_to_string(dir.path().join(format!("{validator}.log")))
			.expect("the script keeps each node's log");
		assert!(log.contains("Local Testnet"), "{validator} ran the local testnet chain");
	}
}
