//! Services the tests run as a user would, from Debian's packages (installed by
//! `scripts/setup.sh`): a Redis server and an HAProxy load balancer, each on free loopback
//! ports, in a temporary directory, waited for until they answer, and stopped when dropped.

use std::{
	io::{Read, Write},
	net::TcpStream,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

use crate::node::free_port;

const START_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);

/// The path of the program `name`: on `PATH`, or in `/usr/sbin` (HAProxy's place on Debian,
/// not on an unprivileged user's `PATH`).
pub fn program(name: &str) -> PathBuf {
	let on_path = std::env::var_os("PATH")
		.map(|paths| std::env::split_paths(&paths).map(|dir| dir.join(name)).collect::<Vec<_>>())
		.unwrap_or_default();
	on_path
		.into_iter()
		.chain([Path::new("/usr/sbin").join(name), Path::new("/usr/bin").join(name)])
		.find(|path| path.is_file())
		.unwrap_or_else(|| {
			panic!(
				"`{name}` is not installed: run scripts/setup.sh (Debian's redis-server, haproxy)"
			)
		})
}

/// Stops `child` with SIGTERM, then SIGKILL if it has not ended within 10 s.
fn stop(child: &mut Child) {
	let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
	let deadline = Instant::now() + Duration::from_secs(10);
	while Instant::now() < deadline {
		if let Ok(Some(_)) = child.try_wait() {
			return;
		}
		std::thread::sleep(POLL);
	}
	let _ = child.kill();
	let _ = child.wait();
}

/// A `redis-server` on a free loopback port, persisting every write (append-only file,
/// fsync'd on each), so a restart keeps the used headers and the buckets.
pub struct Redis {
	child: Option<Child>,
	port: u16,
	dir: tempfile::TempDir,
}

impl Redis {
	/// Starts it and waits until it answers `PING`.
	pub fn start() -> Redis {
		let dir = tempfile::tempdir().expect("a temp dir");
		let mut redis = Redis { child: None, port: free_port(), dir };
		redis.restart();
		redis
	}

	/// `redis://127.0.0.1:<port>/0`.
	pub fn url(&self) -> String {
		format!("redis://127.0.0.1:{}/0", self.port)
	}

	/// Stops the server (SIGTERM; it writes what it holds first).
	pub fn stop(&mut self) {
		if let Some(mut child) = self.child.take() {
			stop(&mut child);
		}
	}

	/// Starts the server again on the same port with the same data (stopping it first if it
	/// runs), and waits until it answers.
	pub fn restart(&mut self) {
		self.stop();
		let log = std::fs::File::create(self.dir.path().join("redis.log")).expect("a log file");
		let child = Command::new(program("redis-server"))
			.args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
			.arg("--dir")
			.arg(self.dir.path())
			.args(["--appendonly", "yes", "--appendfsync", "always", "--save", ""])
			.args(["--daemonize", "no", "--protected-mode", "yes"])
			.stdin(Stdio::null())
			.stdout(log.try_clone().expect("log handle"))
			.stderr(log)
			.spawn()
			.expect("redis-server starts");
		self.child = Some(child);
		let deadline = Instant::now() + START_TIMEOUT;
		while !self.answers() {
			if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
				panic!("redis-server exited ({status}): {}", self.log());
			}
			assert!(Instant::now() < deadline, "redis-server did not answer: {}", self.log());
			std::thread::sleep(POLL);
		}
	}

	/// Whether the server answers `PING` with `PONG` (not `LOADING`).
	pub fn answers(&self) -> bool {
		let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
		let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
		if stream.write_all(b"PING\r\n").is_err() {
			return false;
		}
		let mut answer = [0u8; 7];
		stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
	}

	fn log(&self) -> String {
		std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
	}
}

impl Drop for Redis {
	fn drop(&mut self) {
		if std::thread::panicking() {
			eprintln!("--- redis-server log ---\n{}", self.log());
		}
		self.stop();
	}
}

/// An HAProxy load balancer on a free loopback port, with the deployment's configuration
/// (`gateway/deploy/haproxy.cfg`) in front of the given gateways.
pub struct Haproxy {
	child: Option<Child>,
	/// `http://127.0.0.1:<port>`.
	pub url: String,
	dir: tempfile::TempDir,
}

impl Haproxy {
	/// Starts it in front of gateways `a` and `b` (`host:port` each) and waits until it
	/// accepts connections.
	pub fn start(a: &str, b: &str) -> Haproxy {
		let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../gateway/deploy/haproxy.cfg");
		let port = free_port();
		let dir = tempfile::tempdir().expect("a temp dir");
		let log = std::fs::File::create(dir.path().join("haproxy.log")).expect("a log file");
		let binary = program("haproxy");
		let check = Command::new(&binary)
			.arg("-c")
			.arg("-f")
			.arg(&config)
			.envs(Self::env(port, a, b))
			.output();
		let check = check.expect("haproxy runs");
		assert!(
			check.status.success(),
			"haproxy refuses {}: {}",
			config.display(),
			String::from_utf8_lossy(&check.stderr)
		);
		let child = Command::new(&binary)
			.arg("-db")
			.arg("-f")
			.arg(&config)
			.envs(Self::env(port, a, b))
			.stdin(Stdio::null())
			.stdout(log.try_clone().expect("log handle"))
			.stderr(log)
			.spawn()
			.expect("haproxy starts");
		let mut haproxy =
			Haproxy { child: Some(child), url: format!("http://127.0.0.1:{port}"), dir };
		let deadline = Instant::now() + START_TIMEOUT;
		while TcpStream::connect(("127.0.0.1", port)).is_err() {
			if let Some(Ok(Some(status))) = haproxy.child.as_mut().map(Child::try_wait) {
				panic!("haproxy exited ({status}): {}", haproxy.log());
			}
			assert!(Instant::now() < deadline, "haproxy did not listen: {}", haproxy.log());
			std::thread::sleep(POLL);
		}
		haproxy
	}

	/// The variables the configuration reads: where to listen, and the two gateways.
	fn env(port: u16, a: &str, b: &str) -> Vec<(&'static str, String)> {
		vec![
			("LISTEN", format!("127.0.0.1:{port}")),
			("GATEWAY_A", a.to_owned()),
			("GATEWAY_B", b.to_owned()),
		]
	}

	fn log(&self) -> String {
		std::fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_default()
	}
}

impl Drop for Haproxy {
	fn drop(&mut self) {
		if std::thread::panicking() {
			eprintln!("--- haproxy log ---\n{}", self.log());
		}
		if let Some(mut child) = self.child.take() {
			stop(&mut child);
		}
	}
}
