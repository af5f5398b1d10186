//! A PostgreSQL server of the tests' own: Debian's PostgreSQL 15 (`postgresql-15`, which
//! `scripts/setup.sh` installs), `initdb` into a temporary directory, listening on a free
//! loopback port with its unix socket in that directory.
//!
//! PostgreSQL refuses to run as root, and CI runs as root: then `initdb` and `postgres` run as
//! `nobody` (through `setpriv`), the directory handed to it. The tests of one binary share a
//! server while any of them holds it ([`server`]); the last one to let go stops it
//! (`pg_ctl stop -m immediate`, then a kill), a panicking test included.

use std::{
	net::TcpListener,
	path::PathBuf,
	process::{Child, Command, Output, Stdio},
	sync::{Arc, Mutex, Weak},
	time::{Duration, Instant},
};

/// Where Debian puts PostgreSQL 15's programs (`PG_BIN` overrides it).
const DEBIAN_BIN: &str = "/usr/lib/postgresql/15/bin";
/// The superuser the tests log in as, and its password (the server asks for it over TCP).
pub const USER: &str = "keeper";
/// [`USER`]'s password.
pub const PASSWORD: &str = "a password for the test server";
/// The unprivileged user the server runs as when the tests run as root.
const NOBODY: u32 = 65534;

/// A running server.
pub struct Server {
	dir: tempfile::TempDir,
	bin: PathBuf,
	/// The loopback port it listens on.
	pub port: u16,
	postmaster: Mutex<Option<Child>>,
	as_nobody: bool,
}

/// The server the test binary shares, started if none runs.
pub fn server() -> Arc<Server> {
	static SHARED: Mutex<Weak<Server>> = Mutex::new(Weak::new());
	let mut shared = SHARED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
	if let Some(server) = shared.upgrade() {
		return server;
	}
	let server = Arc::new(Server::start());
	*shared = Arc::downgrade(&server);
	server
}

fn running_as_root() -> bool {
	use std::os::unix::fs::MetadataExt;
	std::fs::metadata("/proc/self").map(|metadata| metadata.uid() == 0).unwrap_or(false)
}

impl Server {
	fn start() -> Server {
		let bin =
			std::env::var_os("PG_BIN").map_or_else(|| PathBuf::from(DEBIAN_BIN), PathBuf::from);
		assert!(
			bin.join("initdb").exists() && bin.join("postgres").exists(),
			"PostgreSQL's programs are missing from {}: install PostgreSQL 15 (`apt-get install \
			 postgresql-15`, as scripts/setup.sh does), or point PG_BIN at another version's bin \
			 directory, to run the PostgreSQL store's tests",
			bin.display()
		);
		let dir = tempfile::Builder::new().prefix("keeper-pg-").tempdir().unwrap();
		let as_nobody = running_as_root();
		std::fs::write(dir.path().join("password"), PASSWORD).unwrap();
		if as_nobody {
			let chowned = Command::new("chown")
				.args(["-R", &format!("{NOBODY}:{NOBODY}")])
				.arg(dir.path())
				.status()
				.unwrap();
			assert!(chowned.success(), "chown of {} failed", dir.path().display());
		}
		let mut server = Server { bin, port: 0, postmaster: Mutex::new(None), as_nobody, dir };
		let data = server.data();
		let output = server
			.as_server_user("initdb")
			.arg("-D")
			.arg(&data)
			.args(["-U", USER, "-E", "UTF8", "--no-sync", "--auth-local=trust"])
			.args(["--auth-host=scram-sha-256", "--no-instructions"])
			.arg(format!("--pwfile={}", server.dir.path().join("password").display()))
			.output()
			.unwrap();
		assert_success("initdb", &output);
		server.port = free_port();
		let log = std::fs::File::create(server.dir.path().join("server.log")).unwrap();
		let child = server
			.as_server_user("postgres")
			.arg("-D")
			.arg(&data)
			.args(["-p", &server.port.to_string(), "-c", "listen_addresses=127.0.0.1"])
			.arg("-c")
			.arg(format!("unix_socket_directories={}", server.dir.path().display()))
			.args(["-c", "fsync=off", "-c", "max_connections=200"])
			.stdin(Stdio::null())
			.stdout(log.try_clone().unwrap())
			.stderr(log)
			.spawn()
			.unwrap();
		*server.postmaster.get_mut().unwrap() = Some(child);
		server.wait_ready();
		server
	}

	fn data(&self) -> PathBuf {
		self.dir.path().join("data")
	}

	/// `program` of the server's, run as the server's user.
	fn as_server_user(&self, program: &str) -> Command {
		let path = self.bin.join(program);
		if self.as_nobody {
			let mut command = Command::new("setpriv");
			command
				.args(["--reuid", &NOBODY.to_string(), "--regid", &NOBODY.to_string()])
				.arg("--clear-groups")
				.arg(path);
			command
		} else {
			Command::new(path)
		}
	}

	/// Waits until `pg_isready` says the server accepts connections (polling; a server that
	/// exits is a failure at once, with its log).
	fn wait_ready(&self) {
		let deadline = Instant::now() + Duration::from_secs(60);
		loop {
			let ready = Command::new(self.bin.join("pg_isready"))
				.args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
				.status()
				.unwrap();
			if ready.success() {
				return;
			}
			let exited = self
				.postmaster
				.lock()
				.unwrap()
				.as_mut()
				.and_then(|child| child.try_wait().unwrap());
			if let Some(status) = exited {
				panic!("postgres exited ({status}) before it was ready:\n{}", self.log());
			}
			assert!(Instant::now() < deadline, "postgres not ready in 60 s:\n{}", self.log());
			std::thread::sleep(Duration::from_millis(50));
		}
	}

	fn log(&self) -> String {
		std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
	}

	/// A new, empty database of its own: its URL (without the password).
	pub fn database(&self, name: &str) -> String {
		self.psql("postgres", &format!("CREATE DATABASE {name}"));
		self.url(name)
	}

	/// The URL of database `name` (without the password).
	pub fn url(&self, name: &str) -> String {
		format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port)
	}

	/// Runs `sql` in database `name` with `psql` (as someone with the database's password but
	/// not the keeper's passphrase would); its output, unaligned.
	pub fn psql(&self, name: &str, sql: &str) -> String {
		let output = self
			.client("psql")
			.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", name, "-c", sql])
			.output()
			.unwrap();
		assert_success(&format!("psql {sql:?}"), &output);
		String::from_utf8(output.stdout).unwrap()
	}

	/// `pg_dump` of database `name`, in its plain SQL form.
	pub fn pg_dump(&self, name: &str) -> Vec<u8> {
		let output = self.client("pg_dump").args(["--no-owner", name]).output().unwrap();
		assert_success("pg_dump", &output);
		output.stdout
	}

	/// A client program of the server's, logged in over TCP with the password.
	fn client(&self, program: &str) -> Command {
		let mut command = Command::new(self.bin.join(program));
		command
			.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
			.env("PGPASSWORD", PASSWORD)
			.env_remove("PGSERVICE");
		command
	}
}

impl Drop for Server {
	fn drop(&mut self) {
		let _ = self
			.as_server_user("pg_ctl")
			.arg("stop")
			.arg("-D")
			.arg(self.data())
			.args(["-m", "immediate", "-w", "-t", "20"])
			.stdout(Stdio::null())
			.stderr(Stdio::null())
			.status();
		let postmaster = self.postmaster.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
		if let Some(mut postmaster) = postmaster.take() {
			let _ = postmaster.kill();
			let _ = postmaster.wait();
		}
	}
}

fn assert_success(what: &str, output: &Output) {
	assert!(
		output.status.success(),
		"{what} failed ({}):\n{}\n{}",
		output.status,
		String::from_utf8_lossy(&output.stdout),
		String::from_utf8_lossy(&output.stderr)
	);
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
