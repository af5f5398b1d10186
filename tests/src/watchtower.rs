//! The watchtower's binary, run by a test: `init` on a store in a temporary directory, the
//! daemon (`run`) as a process on a free loopback port whose log the test reads, killed
//! (SIGKILL, as a crash) and restarted on the same store, and `POST /v1/states` with states a
//! session key signed.

use std::{
	path::PathBuf,
	process::{Child, Command, Output, Stdio},
	sync::atomic::{AtomicUsize, Ordering},
	time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use session_keys_client::{Balance, ChannelState, SessionPair};
use sp_core::H256;

/// The passphrase every test store is sealed under.
pub const PASSPHRASE: &str = "the watchtower tests' passphrase";
const POLL: Duration = Duration::from_millis(100);

/// The watchtower binary, next to the node binary (`SESSION_KEYS_WATCHTOWER_BIN` overrides).
pub fn binary() -> PathBuf {
	if let Some(path) = std::env::var_os("SESSION_KEYS_WATCHTOWER_BIN") {
		return path.into();
	}
	crate::node::binary().with_file_name("session-keys-watchtower")
}

/// A watchtower's store in a temporary directory, its port, and the commands run on it.
pub struct Watchtower {
	dir: tempfile::TempDir,
	node: String,
	name: String,
	/// The port its HTTP API listens on (on 127.0.0.1).
	pub port: u16,
}

impl Watchtower {
	/// A new store (`init`, with the weakest key derivation the sealer accepts, so the tests
	/// start fast) for the node at `node_ws`, signing with `secret_uri`, as a `Counterpart`
	/// proxy of `proxy_of` (SS58) if given.
	pub fn init(name: &str, node_ws: &str, secret_uri: &str, proxy_of: Option<&str>) -> Watchtower {
		let binary = binary();
		assert!(
			binary.exists(),
			"{} not found: build it first with `cargo build --workspace`",
			binary.display()
		);
		let tower = Watchtower {
			dir: tempfile::tempdir().expect("a temp dir"),
			node: node_ws.into(),
			name: name.into(),
			port: crate::node::free_port(),
		};
		let mut args = vec!["init", "--kdf-memory-kib", "19456"];
		if let Some(account) = proxy_of {
			args.extend(["--proxy-of", account]);
		}
		let output =
			tower.command().env("SESSION_KEYS_WATCHTOWER_SECRET", secret_uri).args(&args).output();
		let output = output.expect("the watchtower runs");
		assert!(
			output.status.success(),
			"{name}: init failed: {}",
			String::from_utf8_lossy(&output.stderr)
		);
		tower
	}

	fn command(&self) -> Command {
		let mut command = Command::new(binary());
		command
			.arg("--store")
			.arg(self.dir.path().join("watchtower.db"))
			.env("SESSION_KEYS_WATCHTOWER_PASSPHRASE", PASSPHRASE)
			.env("SESSION_KEYS_NODE", &self.node)
			.env_remove("SESSION_KEYS_WATCHTOWER_STORE")
			.env_remove("SESSION_KEYS_WATCHTOWER_PASSPHRASE_FILE")
			.stdin(Stdio::null());
		command
	}

	/// Runs a one-shot command (`status`, `export`, ...).
	pub fn run(&self, args: &[&str]) -> Output {
		self.command().args(args).output().expect("the watchtower runs")
	}

	/// Runs a one-shot command; panics unless it succeeds; its standard output.
	pub fn ok(&self, args: &[&str]) -> String {
		let output = self.run(args);
		assert!(
			output.status.success(),
			"{}: {args:?} failed: {}",
			self.name,
			String::from_utf8_lossy(&output.stderr)
		);
		String::from_utf8_lossy(&output.stdout).into_owned()
	}

	/// Starts `run` on its port with `args` added, and waits until its API answers.
	pub async fn start(&self, args: &[&str]) -> Daemon {
		static STARTS: AtomicUsize = AtomicUsize::new(0);
		let start = STARTS.fetch_add(1, Ordering::Relaxed);
		let log = self.dir.path().join(format!("run-{start}.log"));
		let file = std::fs::File::create(&log).expect("the temp dir is writable");
		let child = self
			.command()
			.args(["run", "--listen", &format!("127.0.0.1:{}", self.port)])
			.args(args)
			.env("RUST_LOG", "info,session_keys_client=debug")
			.stdout(file.try_clone().expect("log handle"))
			.stderr(file)
			.spawn()
			.expect("the watchtower starts");
		let daemon =
			Daemon { child: Some(child), log, name: self.name.clone(), started: Instant::now() };
		let deadline = Instant::now() + Duration::from_secs(60);
		loop {
			if self.get("/healthz").await.is_some_and(|(status, _)| status == 200) {
				return daemon;
			}
			assert!(
				Instant::now() < deadline,
				"{}: the API did not answer; log:\n{}",
				self.name,
				daemon.log()
			);
			tokio::time::sleep(POLL).await;
		}
	}

	fn url(&self, path: &str) -> String {
		format!("http://127.0.0.1:{}{path}", self.port)
	}

	/// `GET path`: the status and the body, or `None` if nothing answers.
	pub async fn get(&self, path: &str) -> Option<(u16, String)> {
		let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
		let response = client.get(self.url(path).parse().expect("a valid URL")).await.ok()?;
		let status = response.status().as_u16();
		let body = response.into_body().collect().await.ok()?.to_bytes();
		Some((status, String::from_utf8_lossy(&body).into_owned()))
	}

	/// `POST /v1/states` with `state` signed by `key` for the chain with `genesis`: the status
	/// and the JSON answer.
	pub async fn post_state(
		&self,
		key: &SessionPair,
		genesis: H256,
		state: ChannelState<Balance>,
	) -> (u16, serde_json::Value) {
		let body = serde_json::json!({
			"public": key.public(),
			"nonce": state.nonce,
			"owed": state.owed.to_string(),
			"margin": state.margin.to_string(),
			"signature": key.sign_state(genesis, &state),
		});
		let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
		let request = hyper::Request::post(self.url("/v1/states"))
			.header("content-type", "application/json")
			.body(Full::new(Bytes::from(body.to_string())))
			.expect("a valid request");
		let response = client.request(request).await.expect("the watchtower answers");
		let status = response.status().as_u16();
		let body = response.into_body().collect().await.expect("a body").to_bytes();
		(status, serde_json::from_slice(&body).expect("a JSON answer"))
	}
}

/// A running `session-keys-watchtower run`.
pub struct Daemon {
	child: Option<Child>,
	log: PathBuf,
	name: String,
	/// When it was started.
	pub started: Instant,
}

impl Daemon {
	/// Its log so far.
	pub fn log(&self) -> String {
		std::fs::read_to_string(&self.log).unwrap_or_default()
	}

	/// The log's lines containing every one of `needles`.
	pub fn lines(&self, needles: &[&str]) -> Vec<String> {
		self.log()
			.lines()
			.filter(|line| needles.iter().all(|needle| line.contains(needle)))
			.map(str::to_string)
			.collect()
	}

	/// Kills it with SIGKILL, as a crash would.
	pub fn kill(&mut self) {
		if let Some(mut child) = self.child.take() {
			let _ = child.kill();
			let _ = child.wait();
		}
	}
}

impl Drop for Daemon {
	fn drop(&mut self) {
		if std::thread::panicking() {
			crate::node::print_log_tail(&format!("watchtower {}", self.name), &self.log, 200);
		}
		self.kill();
	}
}
