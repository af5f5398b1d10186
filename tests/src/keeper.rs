//! The key keeper's binary, run by a test: one-shot commands against a store in a temporary
//! directory, and the daemon as a process whose log the test reads, killed (SIGKILL, as a
//! crash) or stopped (SIGTERM), and always stopped on drop.

use std::{
	path::{Path, PathBuf},
	process::{Child, Command, ExitStatus, Output, Stdio},
	sync::atomic::{AtomicUsize, Ordering},
	time::{Duration, Instant},
};

/// The passphrase every test store is sealed under.
pub const PASSPHRASE: &str = "the keeper tests' passphrase";
const POLL: Duration = Duration::from_millis(100);

/// The keeper binary, next to the node binary (`SESSION_KEYS_KEEPER_BIN` overrides).
pub fn binary() -> PathBuf {
	if let Some(path) = std::env::var_os("SESSION_KEYS_KEEPER_BIN") {
		return path.into();
	}
	crate::node::binary().with_file_name("session-keys-keeper")
}

/// A store (in a temporary directory, or a PostgreSQL database), and the commands run on it.
pub struct Keeper {
	dir: tempfile::TempDir,
	node: String,
	/// `--store`: the SQLite file in `dir`, or a PostgreSQL URL.
	store: String,
	/// Variables every command gets (`PGPASSWORD`).
	env: Vec<(&'static str, String)>,
}

impl Keeper {
	/// A new store (`init`) for the node at `node_ws`.
	pub fn init(node_ws: &str) -> Keeper {
		let binary = binary();
		assert!(
			binary.exists(),
			"{} not found: build it first with `cargo build --workspace`",
			binary.display()
		);
		let dir = tempfile::tempdir().expect("a temp dir");
		let store = dir.path().join("keeper.db").to_str().expect("a UTF-8 path").to_owned();
		let keeper = Keeper { dir, node: node_ws.into(), store, env: Vec::new() };
		keeper.ok(&["init"]);
		keeper
	}

	/// A new store (`init`) in the PostgreSQL database at `url`, logged in with `password`,
	/// for the node at `node_ws`.
	pub fn init_postgres(node_ws: &str, url: &str, password: &str) -> Keeper {
		let keeper = Keeper {
			dir: tempfile::tempdir().expect("a temp dir"),
			node: node_ws.into(),
			store: url.into(),
			env: vec![("PGPASSWORD", password.into())],
		};
		keeper.ok(&["init"]);
		keeper
	}

	/// The store's file (of a store made with [`Keeper::init`]).
	pub fn store(&self) -> PathBuf {
		self.dir.path().join("keeper.db")
	}

	/// Every byte of the store's files: the database, its WAL, its shared memory and journal.
	pub fn store_bytes(&self) -> Vec<u8> {
		let mut bytes = Vec::new();
		for suffix in ["", "-wal", "-shm", "-journal"] {
			if let Ok(contents) = std::fs::read(format!("{}{suffix}", self.store().display())) {
				bytes.extend(contents);
			}
		}
		bytes
	}

	fn command(&self, passphrase: &str) -> Command {
		let mut command = Command::new(binary());
		command
			.arg("--store")
			.arg(&self.store)
			.envs(self.env.iter().map(|(name, value)| (name, value)))
			.env("SESSION_KEYS_KEEPER_PASSPHRASE", passphrase)
			.env("SESSION_KEYS_NODE", &self.node)
			.env_remove("SESSION_KEYS_KEEPER_STORE")
			.stdin(Stdio::null());
		command
	}

	/// Runs `args` with `passphrase`.
	pub fn run_with(&self, passphrase: &str, args: &[&str]) -> Output {
		self.command(passphrase).args(args).output().expect("the keeper runs")
	}

	/// Runs `args` with `input` on its standard input; its output.
	pub fn run_with_input(&self, passphrase: &str, args: &[&str], input: &str) -> Output {
		use std::io::Write;
		let mut child = self
			.command(passphrase)
			.args(args)
			.stdin(Stdio::piped())
			.stdout(Stdio::piped())
			.stderr(Stdio::piped())
			.spawn()
			.expect("the keeper runs");
		child
			.stdin
			.take()
			.expect("a piped stdin")
			.write_all(input.as_bytes())
			.expect("the keeper reads its input");
		child.wait_with_output().expect("the keeper exits")
	}

	/// `owner import --stdin` of `secret_uri` with `args` added (`--delegate-of …`): the
	/// secret goes through standard input, never the command line. Panics unless it succeeds;
	/// its standard output.
	pub fn import_owner(&self, secret_uri: &str, args: &[&str]) -> String {
		let mut all = vec!["owner", "import", "--stdin"];
		all.extend_from_slice(args);
		let output = self.run_with_input(PASSPHRASE, &all, &format!("{secret_uri}\n"));
		let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
		assert!(
			output.status.success(),
			"keeper owner import failed: {stdout}{}",
			String::from_utf8_lossy(&output.stderr)
		);
		stdout
	}

	/// Runs `args`; panics unless it succeeds; its standard output.
	pub fn ok(&self, args: &[&str]) -> String {
		self.ok_with_stderr(args).0
	}

	/// Runs `args`; panics unless it succeeds; its standard output and standard error.
	pub fn ok_with_stderr(&self, args: &[&str]) -> (String, String) {
		let output = self.run_with(PASSPHRASE, args);
		let (stdout, stderr) = (
			String::from_utf8_lossy(&output.stdout).into_owned(),
			String::from_utf8_lossy(&output.stderr).into_owned(),
		);
		assert!(output.status.success(), "keeper {args:?} failed: {stdout}{stderr}");
		(stdout, stderr)
	}

	/// Runs `args`; panics if it succeeds; its standard error.
	pub fn fails(&self, passphrase: &str, args: &[&str]) -> String {
		let output = self.run_with(passphrase, args);
		assert!(
			!output.status.success(),
			"keeper {args:?} succeeded: {}",
			String::from_utf8_lossy(&output.stdout)
		);
		String::from_utf8_lossy(&output.stderr).into_owned()
	}

	/// Starts `run` with `args` added (`--halt-after stored`, ...).
	pub fn daemon(&self, args: &[&str]) -> Daemon {
		static STARTS: AtomicUsize = AtomicUsize::new(0);
		let start = STARTS.fetch_add(1, Ordering::Relaxed);
		let log = self.dir.path().join(format!("daemon-{start}.log"));
		let file = std::fs::File::create(&log).expect("the temp dir is writable");
		let child = self
			.command(PASSPHRASE)
			.args(["run", "--poll-ms", "250"])
			.args(args)
			.env("RUST_LOG", "info")
			.stdout(file.try_clone().expect("log handle"))
			.stderr(file)
			.spawn()
			.expect("the keeper starts");
		Daemon { child: Some(child), log, started: Instant::now() }
	}
}

/// A running `session-keys-keeper run`.
pub struct Daemon {
	child: Option<Child>,
	log: PathBuf,
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

	/// Waits until `count` log lines contain all of `needles`, at most `timeout`; those lines.
	pub async fn wait_for(&self, needles: &[&str], count: usize, timeout: Duration) -> Vec<String> {
		let deadline = Instant::now() + timeout;
		loop {
			let lines = self.lines(needles);
			if lines.len() >= count {
				return lines;
			}
			assert!(
				Instant::now() < deadline,
				"the keeper did not log {needles:?} {count} time(s) within {timeout:?}; log:\n{}",
				self.log()
			);
			tokio::time::sleep(POLL).await;
		}
	}

	/// Its process id, while it runs.
	pub fn pid(&self) -> Option<u32> {
		self.child.as_ref().map(Child::id)
	}

	/// Sends it `signal` (`STOP`, `CONT`, ...).
	pub fn signal(&self, signal: &str) {
		if let Some(pid) = self.pid() {
			let sent = Command::new("kill")
				.args([&format!("-{signal}"), &pid.to_string()])
				.status()
				.expect("kill runs");
			assert!(sent.success(), "kill -{signal} {pid} failed");
		}
	}

	/// Whether it is still running (not exited, not killed).
	pub fn is_running(&mut self) -> bool {
		self.child.as_mut().is_some_and(|child| matches!(child.try_wait(), Ok(None)))
	}

	/// Kills it with SIGKILL, as a crash would.
	pub fn kill(&mut self) {
		if let Some(mut child) = self.child.take() {
			let _ = child.kill();
			let _ = child.wait();
		}
	}

	/// Stops it with SIGTERM and waits for it to exit (killing it after 30 s).
	pub fn terminate(&mut self) -> Option<ExitStatus> {
		let mut child = self.child.take()?;
		let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
		let deadline = Instant::now() + Duration::from_secs(30);
		while Instant::now() < deadline {
			if let Ok(Some(status)) = child.try_wait() {
				return Some(status);
			}
			std::thread::sleep(POLL);
		}
		let _ = child.kill();
		child.wait().ok()
	}

	/// Where its log is.
	pub fn log_path(&self) -> &Path {
		&self.log
	}
}

impl Drop for Daemon {
	fn drop(&mut self) {
		if std::thread::panicking() {
			crate::node::print_log_tail("keeper", &self.log, usize::MAX);
		}
		self.kill();
	}
}
