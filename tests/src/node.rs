//! A node process started for one test: loopback ports, a log file, a readiness wait that
//! polls the RPC, and a stop that always runs (on drop, on panic too).

use std::{
	fs::File,
	io::{BufRead, BufReader},
	net::TcpListener,
	path::PathBuf,
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

use subxt::{
	config::RpcConfigFor,
	rpcs::{methods::LegacyRpcMethods, RpcClient},
	SubstrateConfig,
};

/// How long a node may take to answer RPC and produce its first finalized block: it compiles
/// the wasm runtime on start.
pub const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a node may take to exit after SIGINT before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// How often readiness is polled.
const POLL: Duration = Duration::from_millis(250);
/// Lines of the node's log printed when a test fails.
const LOG_TAIL: usize = 60;

/// Legacy (`chain_*`, `system_*`) RPC methods for our chain.
pub type Rpc = LegacyRpcMethods<RpcConfigFor<SubstrateConfig>>;

/// The node binary: `SESSION_KEYS_NODE_BIN`, or `session-keys-node` in the target profile
/// directory cargo built the running binary into (test binaries live in its `deps/`).
/// (`SESSION_KEYS_NODE`, for the keeper and the watchtower, is a node's URL.)
pub fn binary() -> PathBuf {
	if let Some(path) = std::env::var_os("SESSION_KEYS_NODE_BIN") {
		return path.into();
	}
	let exe = std::env::current_exe().expect("the running binary has a path");
	let mut dir = exe.parent().expect("binaries live in a directory");
	if dir.ends_with("deps") {
		dir = dir.parent().expect("deps/ lives in the profile directory");
	}
	dir.join("session-keys-node")
}

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
	TcpListener::bind(("127.0.0.1", 0))
		.and_then(|listener| listener.local_addr())
		.map(|addr| addr.port())
		.expect("the OS hands out a free loopback port")
}

/// A running node. Dropping it stops the process; if the test is panicking, the tail of the
/// node's log is printed first so the failure explains itself.
pub struct Node {
	name: String,
	child: Option<Child>,
	args: Vec<String>,
	/// The JSON-RPC port (HTTP and WebSocket) on 127.0.0.1.
	pub rpc_port: u16,
	/// The libp2p port on 127.0.0.1.
	pub p2p_port: u16,
	log: PathBuf,
}

impl Node {
	/// Starts `session-keys-node --dev --tmp` on free loopback ports and waits until it has
	/// produced and finalized a block.
	pub async fn dev(name: &str) -> Node {
		let mut node = Node::spawn(name, &["--dev", "--tmp"]);
		node.wait_until_finalizing(1).await;
		node
	}

	/// Starts the node binary with `args` plus loopback ports, no telemetry, no Prometheus, no
	/// mDNS. Does not wait.
	pub fn spawn(name: &str, args: &[&str]) -> Node {
		let mut node = Node::new(name, args);
		node.start();
		node
	}

	/// A node with `args` and its own free loopback ports, not started yet: its ports are known
	/// before it runs, so peers can name it as a bootnode.
	pub fn new(name: &str, args: &[&str]) -> Node {
		Node {
			name: name.to_string(),
			child: None,
			args: args.iter().map(|arg| arg.to_string()).collect(),
			rpc_port: free_port(),
			p2p_port: free_port(),
			log: std::env::temp_dir().join(format!(
				"session-keys-e2e-{name}-{}-{}.log",
				std::process::id(),
				free_port()
			)),
		}
	}

	/// Adds arguments for every later start.
	pub fn push_args(&mut self, args: impl IntoIterator<Item = String>) {
		self.args.extend(args);
	}

	/// (Re)starts the process with the same arguments, ports and log file.
	pub fn start(&mut self) {
		assert!(self.child.is_none(), "{}: already running", self.name);
		let binary = binary();
		assert!(
			binary.exists(),
			"{} not found: build it first with `cargo build --workspace` (or set \
			 SESSION_KEYS_NODE_BIN)",
			binary.display()
		);
		let log = File::options()
			.create(true)
			.append(true)
			.open(&self.log)
			.expect("the temp dir is writable");
		let child = Command::new(&binary)
			.args(&self.args)
			.args([
				"--rpc-port",
				&self.rpc_port.to_string(),
				"--listen-addr",
				&format!("/ip4/127.0.0.1/tcp/{}", self.p2p_port),
				"--no-prometheus",
				"--no-telemetry",
				"--no-mdns",
			])
			.stdin(Stdio::null())
			.stdout(log.try_clone().expect("log file handle"))
			.stderr(log)
			.spawn()
			.unwrap_or_else(|e| panic!("{}: cannot start {}: {e}", self.name, binary.display()));
		self.child = Some(child);
	}

	/// The node's name in test output.
	pub fn name(&self) -> &str {
		&self.name
	}

	/// `ws://127.0.0.1:<rpc port>`.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// The node's libp2p address, for `--bootnodes`, given its peer id.
	pub fn multiaddr(&self, peer_id: &str) -> String {
		format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer_id}", self.p2p_port)
	}

	/// Connects an RPC client, retrying until the node listens or `START_TIMEOUT` passes.
	pub async fn rpc_client(&mut self) -> RpcClient {
		let deadline = Instant::now() + START_TIMEOUT;
		loop {
			self.ensure_running();
			match RpcClient::from_insecure_url(self.ws_url()).await {
				Ok(client) => return client,
				Err(_) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
				Err(e) => panic!("{}: RPC did not answer in {START_TIMEOUT:?}: {e}", self.name),
			}
		}
	}

	/// Waits (polling the RPC) until the node's finalized block is at least `height`.
	pub async fn wait_until_finalizing(&mut self, height: u64) {
		let rpc = Rpc::new(self.rpc_client().await);
		let deadline = Instant::now() + START_TIMEOUT;
		loop {
			self.ensure_running();
			if let Some(finalized) = finalized_number(&rpc).await {
				if finalized >= height {
					return;
				}
			}
			assert!(
				Instant::now() < deadline,
				"{}: no finalized block #{height} within {START_TIMEOUT:?}",
				self.name
			);
			tokio::time::sleep(POLL).await;
		}
	}

	/// Panics with the log tail if the process has exited.
	fn ensure_running(&mut self) {
		let child = self.child.as_mut().expect("the node was started");
		if let Ok(Some(status)) = child.try_wait() {
			self.print_log_tail();
			panic!("{}: the node exited early with {status}", self.name);
		}
	}

	/// Stops the node: SIGINT, so it shuts down cleanly, then SIGKILL if it has not exited
	/// within `STOP_TIMEOUT`.
	pub fn stop(&mut self) {
		let Some(mut child) = self.child.take() else { return };
		if let Ok(None) = child.try_wait() {
			let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
			let deadline = Instant::now() + STOP_TIMEOUT;
			while Instant::now() < deadline {
				if let Ok(Some(_)) = child.try_wait() {
					return;
				}
				std::thread::sleep(POLL);
			}
			let _ = child.kill();
		}
		let _ = child.wait();
	}

	/// Whether the process has been started and not stopped or killed.
	pub fn is_running(&self) -> bool {
		self.child.is_some()
	}

	/// Kills the node with SIGKILL, as a crash would.
	pub fn kill(&mut self) {
		if let Some(mut child) = self.child.take() {
			let _ = child.kill();
			let _ = child.wait();
		}
	}

	/// Prints the last lines of the node's log to stderr.
	pub fn print_log_tail(&self) {
		print_log_tail(&self.name, &self.log, LOG_TAIL);
	}
}

/// Prints the last `count` lines of the log file `log` of process `name` to stderr, framed,
/// for a failing test's output.
pub fn print_log_tail(name: &str, log: &std::path::Path, count: usize) {
	let Ok(file) = File::open(log) else { return };
	let lines: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
	eprintln!("----- {name} log ({}), last {count} lines -----", log.display());
	for line in &lines[lines.len().saturating_sub(count)..] {
		eprintln!("{line}");
	}
	eprintln!("----- end of {name} log -----");
}

impl Drop for Node {
	fn drop(&mut self) {
		if std::thread::panicking() {
			self.print_log_tail();
		}
		self.stop();
		if !std::thread::panicking() {
			let _ = std::fs::remove_file(&self.log);
		}
	}
}

/// The number of the node's finalized block, if the RPC answers.
pub async fn finalized_number(rpc: &Rpc) -> Option<u64> {
	let hash = rpc.chain_get_finalized_head().await.ok()?;
	let header = rpc.chain_get_header(Some(hash)).await.ok()??;
	Some(header.number)
}
