//! One suite, run against both of the store's backends: an SQLite file, and a PostgreSQL
//! database on a server of the tests' own ([`support`]). The same calls, the same answers, the
//! same refusals; each key's state change one transaction; and the same sealed rows, which move
//! between the backends unopened (`export`, `import`) and open there with the same passphrase.
//!
//! Then, on PostgreSQL only: a round trip SQLite → PostgreSQL → SQLite through the command
//! line, and a scan of `pg_dump`'s output for every secret the store holds.

mod support;

use std::{
	path::Path,
	process::{Command, Stdio},
	sync::Arc,
};

use codec::Encode;
use session_keys_client::{AccountId, CryptoKind, SessionPair, SessionPublic};
use session_keys_keeper::{
	rusqlite::Connection,
	sealer::{KdfParams, PassphraseSealer, SealError, Sealer, SealerSettings, MAC_LEN, SALT_LEN},
	store::{
		hex, KeyStatus, Lease, Location, OwnerRecord, PostgresTarget, Profile, Store, StoreError,
	},
};
use support::Server;
use zeroize::Zeroizing;

const PASSPHRASE: &[u8] = b"a passphrase for the backend tests";

/// The weakest accepted derivation, so the tests stay fast.
fn fast() -> KdfParams {
	KdfParams {
		memory_kib: KdfParams::MIN_MEMORY_KIB,
		iterations: KdfParams::MIN_ITERATIONS,
		parallelism: 1,
		salt: [5; SALT_LEN],
	}
}

fn profile(name: &str) -> Profile {
	Profile {
		name: name.into(),
		counterpart: AccountId::from([2; 32]),
		duration: 100,
		spending_limit: 5_000_000_000_000_000_000_000,
		collateral: 7,
		scope: vec![b"GET /*".to_vec()],
		description: "api access".into(),
		crypto: CryptoKind::Sr25519,
		renew_margin: 25,
		rotation_interval: 100,
	}
}

fn public(byte: u8) -> SessionPublic {
	SessionPublic::Sr25519(sp_core::sr25519::Public::from_raw([byte; 32]))
}

/// One store, on one backend, and a way in that bypasses the keeper (as someone with write
/// access to the file or the database, but not the passphrase, would change it).
struct Harness {
	location: Location,
	backend: &'static str,
	_dir: tempfile::TempDir,
	server: Option<(Arc<Server>, String)>,
}

impl Harness {
	fn sqlite() -> Self {
		let dir = tempfile::tempdir().unwrap();
		let location = Location::Sqlite(dir.path().join("keeper.db"));
		Harness { location, backend: "sqlite", _dir: dir, server: None }
	}

	/// A database of its own (named after the test) on the shared server.
	fn postgres(name: &str) -> Self {
		let server = support::server();
		let url = server.database(name);
		Harness {
			location: postgres_location(&url),
			backend: "postgres",
			_dir: tempfile::tempdir().unwrap(),
			server: Some((server, name.into())),
		}
	}

	fn create(&self) -> Store {
		Store::create_at_with(&self.location, PASSPHRASE, fast()).unwrap()
	}

	fn open(&self) -> Result<Store, StoreError> {
		Store::open_at(&self.location, PASSPHRASE)
	}

	/// Runs `sqlite` on an SQLite store's file, `postgres` in a PostgreSQL store's database.
	fn raw(&self, sqlite: &str, postgres: &str) {
		match &self.server {
			None => Connection::open(self.location.path().unwrap())
				.unwrap()
				.execute_batch(sqlite)
				.unwrap(),
			Some((server, database)) => {
				server.psql(database, postgres);
			}
		}
	}

	/// Runs the same `sql` on either backend.
	fn raw_both(&self, sql: &str) {
		self.raw(sql, sql)
	}
}

/// A PostgreSQL store at `url`, logged in with the test server's password.
fn postgres_location(url: &str) -> Location {
	Location::Postgres(
		PostgresTarget::new(url.into()).with_password(Zeroizing::new(support::PASSWORD.into())),
	)
}

/// Each case, once on each backend.
macro_rules! on_both_backends {
	($($case:ident),* $(,)?) => {
		mod sqlite {
			$(#[test] fn $case() { super::$case(&super::Harness::sqlite()) })*
		}
		mod postgres {
			$(#[test] fn $case() { super::$case(&super::Harness::postgres(stringify!($case))) })*
		}
	};
}

on_both_backends!(
	a_store_reopens_and_keeps_everything,
	a_wrong_passphrase_is_refused_and_changes_nothing,
	rows_changed_outside_the_keeper_are_refused_by_name,
	profiles_and_keys_follow_the_same_rules,
	a_key_and_its_sealed_secret_are_one_transaction,
	the_pause_is_seen_and_lifted,
	a_new_passphrase_reseals_every_row_in_place,
	one_daemon_per_store,
	missing_existing_and_newer_stores_are_refused,
	the_sealed_rows_open_on_the_other_backend,
);

fn a_store_reopens_and_keeps_everything(h: &Harness) {
	let mut store = h.create();
	store.add_profile(&profile("api")).unwrap();
	let owner = OwnerRecord { signer: AccountId::from([1; 32]), delegate_of: None };
	store.set_owner(&owner, "//Alice").unwrap();
	let key = store.add_pending_key("api", public(9), &[42; 64], 1_700_000_000).unwrap();
	assert_eq!((key.status, key.created_at), (KeyStatus::Pending, 1_700_000_000));
	store.update_key(key.id, KeyStatus::Live, Some(10), Some(110), None).unwrap();
	// What is not given stays.
	store.update_key(key.id, KeyStatus::Live, None, Some(120), None).unwrap();
	drop(store);

	let store = h.open().unwrap();
	assert_eq!(store.location(), &h.location);
	assert_eq!(store.profiles().unwrap(), vec![profile("api")]);
	let (read_owner, uri) = store.owner_secret().unwrap();
	assert_eq!((read_owner, uri.as_str()), (owner, "//Alice"));
	let [stored] = <[_; 1]>::try_from(store.keys().unwrap()).unwrap();
	assert_eq!(
		(stored.status, stored.registered_at, stored.expires_at, stored.ended_reason.clone()),
		(KeyStatus::Live, Some(10), Some(120), None)
	);
	assert_eq!(store.key_secret(&stored).unwrap().as_slice(), &[42; 64]);
	assert_eq!(store.find_key(&hex(&public(9).encode())[..10]).unwrap().id, stored.id);
	assert_eq!(store.open_keys("api").unwrap(), vec![stored.clone()]);
	assert_eq!(store.key_by_id(stored.id).unwrap(), stored);
}

fn a_wrong_passphrase_is_refused_and_changes_nothing(h: &Harness) {
	let mut store = h.create();
	store.add_profile(&profile("api")).unwrap();
	store.add_pending_key("api", public(1), &[1; 64], 0).unwrap();
	drop(store);
	let before = Store::export(&h.location).unwrap();
	assert!(matches!(
		Store::open_at(&h.location, b"not the passphrase"),
		Err(StoreError::WrongPassphrase(_))
	));
	assert_eq!(Store::export(&h.location).unwrap(), before, "{}: the rows changed", h.backend);
	h.open().unwrap();
}

fn assert_tampered<T: std::fmt::Debug>(result: Result<T, StoreError>, record: &str) {
	match result {
		Err(error @ StoreError::Tampered { .. }) => assert!(
			error.to_string().starts_with(&format!(
				"{record} was changed outside the keeper: its MAC does not match"
			)),
			"{error}"
		),
		other => panic!("expected {record} refused, got {other:?}"),
	}
}

fn rows_changed_outside_the_keeper_are_refused_by_name(h: &Harness) {
	let mut store = h.create();
	store.add_profile(&profile("api")).unwrap();
	store.add_profile(&profile("web")).unwrap();
	store
		.set_owner(&OwnerRecord { signer: AccountId::from([1; 32]), delegate_of: None }, "//Bob")
		.unwrap();
	let first = store.add_pending_key("api", public(1), &[11; 64], 0).unwrap();
	let second = store.add_pending_key("api", public(2), &[22; 64], 0).unwrap();
	let third = store.add_pending_key("api", public(3), &[33; 64], 0).unwrap();
	drop(store);

	// A profile's collateral, and the owner's delegate: steering what is registered.
	h.raw_both("UPDATE profiles SET collateral = '8' WHERE name = 'api'");
	h.raw(
		"UPDATE owner SET delegate_of = x'0606060606060606060606060606060606060606060606060606060606060606'",
		"UPDATE owner SET delegate_of = decode(repeat('06', 32), 'hex')",
	);
	// One ciphertext changed in place, one moved into another row.
	h.raw(
		&format!(
			"UPDATE keys SET sealed_secret = CAST(substr(sealed_secret, 1, 30) || x'ff' || \
			 substr(sealed_secret, 32) AS BLOB) WHERE id = {}",
			first.id
		),
		&format!(
			"UPDATE keys SET sealed_secret = set_byte(sealed_secret, 30, 255 - get_byte(sealed_secret, 30)) WHERE id = {}",
			first.id
		),
	);
	h.raw_both(&format!(
		"UPDATE keys SET sealed_secret = (SELECT sealed_secret FROM keys WHERE id = {}) WHERE id = {}",
		third.id, second.id
	));

	let store = h.open().unwrap();
	assert_tampered(store.profile("api"), "profile `api`");
	assert_tampered(store.profiles(), "profile `api`");
	let checked = store.checked_profiles().unwrap();
	assert!(checked[0].is_err());
	assert_eq!(checked[1].as_ref().unwrap(), &profile("web"), "the others are read");
	assert_tampered(store.owner(), "the owner record");
	assert_tampered(store.owner_secret(), "the owner record");
	for key in [&first, &second] {
		match store.key_secret(key) {
			Err(error @ StoreError::Damaged { .. }) => {
				assert!(error.to_string().contains(&hex(&key.public.encode())), "{error}")
			}
			other => panic!("{}: expected Damaged, got {other:?}", h.backend),
		}
	}
	assert_eq!(store.key_secret(&third).unwrap().as_slice(), &[33; 64]);
}

fn profiles_and_keys_follow_the_same_rules(h: &Harness) {
	let mut store = h.create();
	store.add_profile(&profile("api")).unwrap();
	assert!(matches!(
		store.add_profile(&profile("api")),
		Err(StoreError::ProfileExists(name)) if name == "api"
	));
	assert!(matches!(
		store.add_pending_key("nope", public(1), &[1; 64], 0),
		Err(StoreError::UnknownProfile(name)) if name == "nope"
	));
	assert!(store.keys().unwrap().is_empty(), "{}: a refused key left a row", h.backend);
	let edited = Profile { collateral: 99, scope: vec![], ..profile("api") };
	store.update_profile(&edited).unwrap();
	assert_eq!(store.profile("api").unwrap(), edited);
	assert!(matches!(store.update_profile(&profile("web")), Err(StoreError::UnknownProfile(_))));
	assert!(matches!(store.profile("web"), Err(StoreError::UnknownProfile(_))));
	assert!(matches!(store.remove_profile("web"), Err(StoreError::UnknownProfile(_))));

	let one = store.add_pending_key("api", public(0x11), &[1; 64], 0).unwrap();
	let two = store.add_pending_key("api", public(0x12), &[2; 64], 0).unwrap();
	assert!(two.id > one.id, "ids grow");
	assert!(matches!(store.find_key("0x1"), Err(StoreError::AmbiguousKey { count: 2, .. })));
	assert!(matches!(store.find_key("0x99"), Err(StoreError::UnknownKey(_))));
	assert!(matches!(
		store.update_key(9999, KeyStatus::Live, None, None, None),
		Err(StoreError::UnknownKey(_))
	));
	assert!(matches!(store.remove_profile("api"), Err(StoreError::ProfileInUse { keys: 2, .. })));
	store.mark_revoked(one.id, 50).unwrap();
	let revoked = store.key_by_id(one.id).unwrap();
	assert_eq!(
		(revoked.status, revoked.expires_at, revoked.ended_reason.as_deref()),
		(KeyStatus::Closing, Some(50), Some("revoked"))
	);
	assert_eq!(store.open_keys("api").unwrap().len(), 2, "closing is still open");
	for key in [&one, &two] {
		store.update_key(key.id, KeyStatus::Ended, None, None, Some("settled")).unwrap();
	}
	assert!(store.open_keys("api").unwrap().is_empty());
	store.remove_profile("api").unwrap();
	assert!(store.keys().unwrap().is_empty(), "the keys went with their profile");
	// An id is never handed out twice.
	store.add_profile(&profile("api")).unwrap();
	let three = store.add_pending_key("api", public(0x13), &[3; 64], 0).unwrap();
	assert!(three.id > two.id, "{}: id {} reused", h.backend, three.id);
}

/// A sealer that refuses to seal a key's secret: the key's row must not stay without it.
struct RefusesKeys(PassphraseSealer);

impl Sealer for RefusesKeys {
	fn seal(&self, associated: &[u8], secret: &[u8]) -> Result<Vec<u8>, SealError> {
		if associated.starts_with(b"session-keys-keeper/key") {
			return Err(SealError::Backend("refused for the test".into()));
		}
		self.0.seal(associated, secret)
	}

	fn open(&self, associated: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
		self.0.open(associated, sealed)
	}

	fn authenticate(&self, record: &[u8]) -> Result<[u8; MAC_LEN], SealError> {
		self.0.authenticate(record)
	}
}

fn a_key_and_its_sealed_secret_are_one_transaction(h: &Harness) {
	let sealer = RefusesKeys(PassphraseSealer::derive(PASSPHRASE, &fast()).unwrap());
	let mut store =
		Store::create_sealed_at(&h.location, &SealerSettings::Passphrase(fast()), Box::new(sealer))
			.unwrap();
	store.add_profile(&profile("api")).unwrap();
	assert!(matches!(
		store.add_pending_key("api", public(1), &[1; 64], 0),
		Err(StoreError::Seal(SealError::Backend(_)))
	));
	drop(store);
	let store = h.open().unwrap();
	assert!(store.keys().unwrap().is_empty(), "{}: a key row without its secret", h.backend);
	assert!(Store::export(&h.location).unwrap().keys.is_empty());
}

fn the_pause_is_seen_and_lifted(h: &Harness) {
	let mut store = h.create();
	assert_eq!(store.pause_state().unwrap(), None);
	store.pause_seen(3).unwrap();
	assert_eq!(store.pause_state().unwrap(), None, "nothing to see");
	store.pause(5).unwrap();
	let daemon = h.open().unwrap();
	let state = daemon.pause_state().unwrap().unwrap();
	assert_eq!((state.since, state.seen), (5, false));
	drop(daemon);
	let mut daemon = h.open().unwrap();
	daemon.pause_seen(6).unwrap();
	assert!(store.pause_state().unwrap().unwrap().seen, "another connection sees it");
	store.resume().unwrap();
	assert_eq!(daemon.pause_state().unwrap(), None);
}

fn a_new_passphrase_reseals_every_row_in_place(h: &Harness) {
	let mut store = h.create();
	store.add_profile(&profile("api")).unwrap();
	store
		.set_owner(&OwnerRecord { signer: AccountId::from([1; 32]), delegate_of: None }, "//Alice")
		.unwrap();
	let key = store.add_pending_key("api", public(5), &[5; 64], 0).unwrap();
	let before = Store::export(&h.location).unwrap();
	store
		.change_passphrase_with(b"the new one", KdfParams { salt: [6; SALT_LEN], ..fast() })
		.unwrap();
	let after = Store::export(&h.location).unwrap();
	assert_eq!(
		after.keys.iter().map(|key| key.id).collect::<Vec<_>>(),
		before.keys.iter().map(|key| key.id).collect::<Vec<_>>()
	);
	assert_ne!(after.keys[0].sealed_secret, before.keys[0].sealed_secret);
	assert_ne!(after.profiles[0].mac, before.profiles[0].mac);
	assert!(matches!(h.open(), Err(StoreError::WrongPassphrase(_))));
	let store = Store::open_at(&h.location, b"the new one").unwrap();
	assert_eq!(store.key_secret(&key).unwrap().as_slice(), &[5; 64]);
	assert_eq!(store.owner_secret().unwrap().1.as_str(), "//Alice");
	assert_eq!(store.profile("api").unwrap(), profile("api"));
}

fn one_daemon_per_store(h: &Harness) {
	let mut store = h.create();
	let other = h.open().unwrap();
	let lock = other.lock_daemon().unwrap();
	assert!(matches!(store.lock_daemon(), Err(StoreError::DaemonRunning(_))));
	assert!(matches!(
		store.change_passphrase_with(b"new", fast()),
		Err(StoreError::DaemonRunning(_))
	));
	h.open().unwrap();
	drop(lock);
	drop(store.lock_daemon().unwrap());
	store.change_passphrase_with(b"new", fast()).unwrap();
}

fn missing_existing_and_newer_stores_are_refused(h: &Harness) {
	assert!(matches!(h.open(), Err(StoreError::Missing(_))), "{}", h.backend);
	assert!(matches!(Store::export(&h.location), Err(StoreError::Missing(_))));
	drop(h.create());
	assert!(matches!(
		Store::create_at_with(&h.location, PASSPHRASE, fast()),
		Err(StoreError::Exists(_))
	));
	let dump = Store::export(&h.location).unwrap();
	assert!(matches!(Store::import(&h.location, &dump), Err(StoreError::Exists(_))));
	h.raw("PRAGMA user_version = 99", "UPDATE keeper_schema SET version = 99");
	match h.open() {
		Err(error @ StoreError::NewerSchema { found: 99, .. }) => {
			assert!(error.to_string().contains("upgrade the keeper"), "{error}")
		}
		other => panic!("{}: expected NewerSchema, got {other:?}", h.backend),
	}
}

fn the_sealed_rows_open_on_the_other_backend(h: &Harness) {
	let mut store = h.create();
	store.add_profile(&profile("api")).unwrap();
	store
		.set_owner(&OwnerRecord { signer: AccountId::from([1; 32]), delegate_of: None }, "//Alice")
		.unwrap();
	let mut keys = Vec::new();
	for byte in 1..=3 {
		keys.push(store.add_pending_key("api", public(byte), &[byte; 64], 0).unwrap());
	}
	store.update_key(keys[0].id, KeyStatus::Live, Some(3), Some(103), None).unwrap();
	let dump = Store::export(&h.location).unwrap();
	// Into the other backend, rows as they are.
	let other = if h.server.is_some() {
		Harness::sqlite()
	} else {
		Harness::postgres(&format!("other_of_{}", std::process::id()))
	};
	Store::import(&other.location, &dump).unwrap();
	assert_eq!(Store::export(&other.location).unwrap(), dump);
	let moved = other.open().unwrap();
	for (key, byte) in keys.iter().zip(1u8..) {
		let read = moved.key_by_id(key.id).unwrap();
		assert_eq!(moved.key_secret(&read).unwrap().as_slice(), &[byte; 64]);
	}
	assert_eq!(moved.owner_secret().unwrap().1.as_str(), "//Alice");
	assert_eq!(moved.profiles().unwrap(), vec![profile("api")]);
	assert_eq!(moved.keys().unwrap(), store.keys().unwrap());
}

// ---- the command line: SQLite → PostgreSQL → SQLite --------------------------------------

/// Runs the keeper's binary with `args`, `stdin` and `env`: whether it succeeded, its stdout
/// and stderr.
fn keeper(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (bool, String, String) {
	use std::io::Write;
	let mut command = Command::new(env!("CARGO_BIN_EXE_session-keys-keeper"));
	command
		.args(args)
		.env_remove("SESSION_KEYS_KEEPER_PASSPHRASE")
		.env_remove("SESSION_KEYS_KEEPER_STORE")
		.env_remove("PGPASSWORD")
		.env("PGPASSFILE", "/nonexistent")
		.env("RUST_LOG", "warn")
		.stdin(Stdio::piped())
		.stdout(Stdio::piped())
		.stderr(Stdio::piped());
	for (name, value) in env {
		command.env(name, value);
	}
	let mut child = command.spawn().unwrap();
	child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
	let output = child.wait_with_output().unwrap();
	(
		output.status.success(),
		String::from_utf8_lossy(&output.stdout).into_owned(),
		String::from_utf8_lossy(&output.stderr).into_owned(),
	)
}

/// [`keeper`], which must succeed: its stdout.
fn keeper_ok(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> String {
	let (ok, stdout, stderr) = keeper(args, stdin, env);
	assert!(ok, "`session-keys-keeper {}` failed:\n{stdout}\n{stderr}", args.join(" "));
	stdout
}

const CLI_PASSPHRASE: &str = "the round trip's passphrase";
const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

/// A store made through the command line (owner Alice, two profiles) and given three session
/// keys in three states and a pause through the API, as a daemon would: the keys' pairs.
fn populated_sqlite_store(path: &Path) -> Vec<SessionPair> {
	let store = path.to_str().unwrap();
	let passphrase = [("SESSION_KEYS_KEEPER_PASSPHRASE", CLI_PASSPHRASE)];
	keeper_ok(&["--store", store, "init"], "", &passphrase);
	keeper_ok(&["--store", store, "owner", "import", "--stdin"], "//Alice\n", &passphrase);
	for name in ["api", "web"] {
		keeper_ok(
			&["--store", store, "profile", "add", name, "--counterpart", BOB, "--scope", "GET /*"],
			"",
			&passphrase,
		);
	}
	let mut opened = Store::open(path, CLI_PASSPHRASE.as_bytes()).unwrap();
	let pairs: Vec<_> = [CryptoKind::Sr25519, CryptoKind::Ed25519, CryptoKind::Ecdsa]
		.into_iter()
		.map(SessionPair::generate)
		.collect();
	let mut ids = Vec::new();
	for (pair, profile) in pairs.iter().zip(["api", "api", "web"]) {
		ids.push(
			opened
				.add_pending_key(profile, pair.public(), &pair.secret(), 1_700_000_000)
				.unwrap()
				.id,
		);
	}
	opened.update_key(ids[0], KeyStatus::Live, Some(12), Some(112), None).unwrap();
	opened.update_key(ids[1], KeyStatus::Ended, Some(2), Some(20), Some("rotated")).unwrap();
	opened.pause(1_700_000_100).unwrap();
	pairs
}

#[test]
fn a_store_moves_sqlite_to_postgres_and_back_with_its_secrets_sealed() {
	let server = support::server();
	let url = server.database("round_trip");
	let dir = tempfile::tempdir().unwrap();
	let first = dir.path().join("first.db");
	let pairs = populated_sqlite_store(&first);
	let passphrase = ("SESSION_KEYS_KEEPER_PASSPHRASE", CLI_PASSPHRASE);
	let password_file = dir.path().join("pg.password");
	std::fs::write(&password_file, format!("{}\n", support::PASSWORD)).unwrap();
	let password_file = password_file.to_str().unwrap();
	let pgpassword = ("PGPASSWORD", support::PASSWORD);
	let (first_export, second_export) =
		(dir.path().join("first.export"), dir.path().join("second.export"));
	let last = dir.path().join("last.db");

	// SQLite → a file: no passphrase asked (none is given), and a daemon could be running.
	let said = keeper_ok(
		&["--store", first.to_str().unwrap(), "export", "--to", first_export.to_str().unwrap()],
		"",
		&[],
	);
	assert!(said.contains("2 profile(s), 3 key(s), the owner's key"), "{said}");
	// The file → PostgreSQL, the password from a file.
	keeper_ok(
		&[
			"--store",
			&url,
			"--store-password-file",
			password_file,
			"import",
			"--from",
			first_export.to_str().unwrap(),
		],
		"",
		&[],
	);
	// It opens there with the same passphrase (the password from PGPASSWORD this time).
	let listed = keeper_ok(&["--store", &url, "profile", "list"], "", &[passphrase, pgpassword]);
	assert!(listed.contains("api") && listed.contains("web"), "{listed}");
	let shown = keeper_ok(&["--store", &url, "owner", "show"], "", &[passphrase, pgpassword]);
	assert!(shown.contains("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"), "{shown}");
	// A wrong passphrase is refused there too.
	let (ok, _, stderr) = keeper(
		&["--store", &url, "profile", "list"],
		"",
		&[("SESSION_KEYS_KEEPER_PASSPHRASE", "not it"), pgpassword],
	);
	assert!(!ok && stderr.contains("wrong passphrase"), "{stderr}");
	// Without a password, the server refuses, and the URL shown has none.
	let (ok, _, stderr) = keeper(&["--store", &url, "profile", "list"], "", &[passphrase]);
	assert!(!ok && stderr.contains(&url), "{stderr}");
	// PostgreSQL → a file → SQLite.
	keeper_ok(
		&["--store", &url, "export", "--to", second_export.to_str().unwrap()],
		"",
		&[pgpassword],
	);
	keeper_ok(
		&["--store", last.to_str().unwrap(), "import", "--from", second_export.to_str().unwrap()],
		"",
		&[],
	);

	// Every row equal at each step: the meta row (the salt, the check value, the pause), the
	// owner, every profile with its MAC, every key with its id, sealed secret and state.
	let postgres = postgres_location(&url);
	let rows = Store::export(&Location::Sqlite(first.clone())).unwrap();
	assert_eq!(Store::export(&postgres).unwrap(), rows);
	assert_eq!(Store::export(&Location::Sqlite(last.clone())).unwrap(), rows);
	assert_eq!(std::fs::read(&first_export).unwrap(), std::fs::read(&second_export).unwrap());
	assert_eq!(rows.keys.len(), 3);
	assert!(rows.meta.paused_at.is_some());

	// And the secrets open with the same passphrase at the end.
	let original = Store::open(&first, CLI_PASSPHRASE.as_bytes()).unwrap();
	let moved = Store::open(&last, CLI_PASSPHRASE.as_bytes()).unwrap();
	assert_eq!(moved.profiles().unwrap(), original.profiles().unwrap());
	assert_eq!(moved.owner().unwrap(), original.owner().unwrap());
	assert_eq!(moved.owner_secret().unwrap().1.as_str(), "//Alice");
	assert_eq!(moved.keys().unwrap(), original.keys().unwrap());
	assert_eq!(moved.pause_state().unwrap(), original.pause_state().unwrap());
	for (key, pair) in moved.keys().unwrap().iter().zip(&pairs) {
		assert_eq!(key.public, pair.public());
		assert_eq!(moved.key_secret(key).unwrap(), pair.secret());
	}
	// A new key after the move does not take an old id.
	let mut moved = moved;
	let next = moved.add_pending_key("web", public(7), &[7; 64], 0).unwrap();
	assert!(next.id > rows.key_id_high);

	// An import never lands on a store, and a damaged file is refused by name.
	let (ok, _, stderr) = keeper(
		&["--store", &url, "import", "--from", first_export.to_str().unwrap()],
		"",
		&[pgpassword],
	);
	assert!(!ok && stderr.contains("already exists"), "{stderr}");
	let mut damaged = std::fs::read(&first_export).unwrap();
	let middle = damaged.len() / 2;
	damaged[middle] ^= 1;
	let damaged_file = dir.path().join("damaged.export");
	std::fs::write(&damaged_file, damaged).unwrap();
	let (ok, _, stderr) = keeper(
		&[
			"--store",
			dir.path().join("x.db").to_str().unwrap(),
			"import",
			"--from",
			damaged_file.to_str().unwrap(),
		],
		"",
		&[],
	);
	assert!(!ok && stderr.contains("checksum does not match"), "{stderr}");
	assert!(!dir.path().join("x.db").exists());
	// An export never overwrites a file.
	let (ok, _, stderr) = keeper(
		&["--store", first.to_str().unwrap(), "export", "--to", first_export.to_str().unwrap()],
		"",
		&[],
	);
	assert!(!ok && stderr.contains("cannot write"), "{stderr}");
}

// ---- no secret in a pg_dump ----------------------------------------------------------------

/// Every form of `secret` a dump could show it in: raw, hex (either case), and `\x`-hex as
/// PostgreSQL prints a `bytea`.
fn forms(secret: &[u8]) -> Vec<Vec<u8>> {
	let lower = hex(secret)[2..].to_owned();
	vec![secret.to_vec(), lower.clone().into_bytes(), lower.to_uppercase().into_bytes()]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
	haystack.windows(needle.len()).any(|window| window == needle)
}

#[test]
fn a_pg_dump_of_the_store_holds_no_secret() {
	use sp_core::Pair;
	let server = support::server();
	let url = server.database("secret_scan");
	let dir = tempfile::tempdir().unwrap();
	let sqlite = dir.path().join("keeper.db");
	let pairs = populated_sqlite_store(&sqlite);
	let export = dir.path().join("keeper.export");
	keeper_ok(
		&["--store", sqlite.to_str().unwrap(), "export", "--to", export.to_str().unwrap()],
		"",
		&[],
	);
	keeper_ok(
		&["--store", &url, "import", "--from", export.to_str().unwrap()],
		"",
		&[("PGPASSWORD", support::PASSWORD)],
	);
	// More keys made on PostgreSQL itself, as the daemon would.
	let postgres = postgres_location(&url);
	let mut store = Store::open_at(&postgres, CLI_PASSPHRASE.as_bytes()).unwrap();
	let mut secrets: Vec<Zeroizing<Vec<u8>>> = pairs.iter().map(SessionPair::secret).collect();
	for kind in [CryptoKind::Sr25519, CryptoKind::Ed25519, CryptoKind::Ecdsa] {
		let pair = SessionPair::generate(kind);
		store.add_pending_key("api", pair.public(), &pair.secret(), 0).unwrap();
		secrets.push(pair.secret());
	}
	assert_eq!(store.keys().unwrap().len(), 6);
	drop(store);

	let dumped = server.pg_dump("secret_scan");
	let text = String::from_utf8_lossy(&dumped);
	assert!(text.contains("COPY public.keys"), "the dump holds the keys' table:\n{text}");
	let export_bytes = std::fs::read(&export).unwrap();
	let alice = sp_core::sr25519::Pair::from_string("//Alice", None).unwrap();
	let mut needles: Vec<(String, Vec<u8>)> = vec![
		("Alice's secret URI".into(), b"//Alice".to_vec()),
		("the dev phrase".into(), sp_core::crypto::DEV_PHRASE.as_bytes().to_vec()),
		("the passphrase".into(), CLI_PASSPHRASE.as_bytes().to_vec()),
	];
	for form in forms(&alice.to_raw_vec()) {
		needles.push(("Alice's secret key".into(), form));
	}
	// The 32-byte halves too: the mini-secret's expansion's key and nonce.
	for half in alice.to_raw_vec().chunks(32) {
		for form in forms(half) {
			needles.push(("half of Alice's secret key".into(), form));
		}
	}
	for (index, secret) in secrets.iter().enumerate() {
		for form in forms(secret) {
			needles.push((format!("session key {index}'s secret"), form));
		}
	}
	for (what, needle) in &needles {
		assert!(!contains(&dumped, needle), "pg_dump shows {what}");
		assert!(!contains(&export_bytes, needle), "the export file shows {what}");
	}
	// The scan does see what is there: a public key is in the dump.
	let public = pairs[0].public().encode();
	assert!(contains(&dumped, &forms(&public)[1]), "the scan finds a public key");
}

// ---- the daemon on PostgreSQL --------------------------------------------------------------

/// A `run` daemon on `store` (its node unreachable: it retries, holding the store), once it
/// says it started.
fn start_daemon(store: &str) -> std::process::Child {
	use std::io::BufRead;
	let mut child = Command::new(env!("CARGO_BIN_EXE_session-keys-keeper"))
		.args(["--store", store, "run", "--node", "ws://127.0.0.1:9"])
		.env("SESSION_KEYS_KEEPER_PASSPHRASE", CLI_PASSPHRASE)
		.env("PGPASSWORD", support::PASSWORD)
		.env("RUST_LOG", "info")
		.env_remove("SESSION_KEYS_KEEPER_STORE")
		.stdin(Stdio::null())
		.stdout(Stdio::null())
		.stderr(Stdio::piped())
		.spawn()
		.unwrap();
	let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
	let (sender, receiver) = std::sync::mpsc::channel();
	std::thread::spawn(move || {
		for line in stderr.lines().map_while(Result::ok) {
			if line.contains("keeper started") {
				let _ = sender.send(());
			}
		}
	});
	if receiver.recv_timeout(std::time::Duration::from_secs(60)).is_err() {
		let _ = child.kill();
		panic!("the daemon did not start in 60 s");
	}
	child
}

#[test]
fn daemons_hold_a_postgres_store_until_they_die() {
	let server = support::server();
	let url = server.database("daemon_lock");
	let dir = tempfile::tempdir().unwrap();
	let sqlite = dir.path().join("keeper.db");
	populated_sqlite_store(&sqlite);
	let export = dir.path().join("keeper.export");
	keeper_ok(
		&["--store", sqlite.to_str().unwrap(), "export", "--to", export.to_str().unwrap()],
		"",
		&[],
	);
	let pgpassword = ("PGPASSWORD", support::PASSWORD);
	keeper_ok(&["--store", &url, "import", "--from", export.to_str().unwrap()], "", &[pgpassword]);
	keeper_ok(
		&["--store", &url, "resume"],
		"",
		&[("SESSION_KEYS_KEEPER_PASSPHRASE", CLI_PASSPHRASE), pgpassword],
	);

	let mut daemon = start_daemon(&url);
	// A second daemon joins it (in failover, one of them leads); a passphrase change is
	// refused while either runs.
	let mut standby = start_daemon(&url);
	let passphrase = ("SESSION_KEYS_KEEPER_PASSPHRASE", CLI_PASSPHRASE);
	let (ok, _, stderr) = keeper(
		&["--store", &url, "change-passphrase"],
		"",
		&[passphrase, pgpassword, ("SESSION_KEYS_KEEPER_NEW_PASSPHRASE", "another")],
	);
	assert!(!ok && stderr.contains("a daemon (`run`) holds"), "{stderr}");
	// A backup is taken while it runs.
	let backup = dir.path().join("while-running.export");
	keeper_ok(&["--store", &url, "export", "--to", backup.to_str().unwrap()], "", &[pgpassword]);
	// Killed with -9, they let go: the server sees their connections close.
	daemon.kill().unwrap();
	daemon.wait().unwrap();
	let (ok, _, stderr) = keeper(
		&["--store", &url, "change-passphrase"],
		"",
		&[passphrase, pgpassword, ("SESSION_KEYS_KEEPER_NEW_PASSPHRASE", "another")],
	);
	assert!(!ok && stderr.contains("a daemon (`run`) holds"), "the standby holds it: {stderr}");
	standby.kill().unwrap();
	standby.wait().unwrap();
	let mut next = start_daemon(&url);
	next.kill().unwrap();
	next.wait().unwrap();
}

// ---- failover: the lease and the fence -----------------------------------------------------

/// Waits (polling, at most 30 s) until `take` takes the lead: its token.
fn take_when_lapsed(lease: &mut dyn Lease) -> i64 {
	let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
	loop {
		if let Some(token) = lease.try_take().unwrap() {
			return token;
		}
		assert!(std::time::Instant::now() < deadline, "the lease did not lapse in 30 s");
		std::thread::sleep(std::time::Duration::from_millis(50));
	}
}

/// One lead at a time; a takeover only once the lease lapsed, with a new fencing token; the
/// former leader's writes and its submission check are refused from then on, and change
/// nothing; a released lead is taken at once.
#[test]
fn one_daemon_leads_and_a_former_leader_is_fenced() {
	let h = Harness::postgres("fencing");
	let mut first = h.create();
	first.add_profile(&profile("api")).unwrap();
	let mut second = h.open().unwrap();
	let term = std::time::Duration::from_millis(1500);
	let mut lease_a = first.lease("a:1", term).unwrap();
	let mut lease_b = second.lease("b:2", term).unwrap();

	let token_a = lease_a.try_take().unwrap().expect("nobody leads yet");
	assert_eq!(lease_b.try_take().unwrap(), None, "a's lease runs");
	let leader = lease_b.current().unwrap().expect("a leads");
	assert_eq!((leader.holder.as_str(), leader.token), ("a:1", token_a));
	assert!(leader.lease_left_ms > 0 && leader.lease_left_ms <= 1500, "{leader:?}");
	first.fence(Some(token_a));
	assert!(first.leads().unwrap());
	let key = first.add_pending_key("api", public(1), b"secret one", 1).unwrap();
	assert!(lease_a.extend(token_a).unwrap());

	// a stops extending (paused, cut off): b takes over once the lease lapsed.
	let token_b = take_when_lapsed(&mut *lease_b);
	assert!(token_b > token_a, "a takeover bumps the token");
	assert_eq!(lease_b.current().unwrap().unwrap().holder, "b:2");
	// a, back, can neither extend, nor write, nor submit.
	assert!(!lease_a.extend(token_a).unwrap());
	assert!(!first.leads().unwrap());
	let before = second.keys().unwrap();
	assert!(matches!(
		first.add_pending_key("api", public(2), b"secret two", 2),
		Err(StoreError::Fenced(_))
	));
	assert!(matches!(first.mark_revoked(key.id, 10), Err(StoreError::Fenced(_))));
	assert!(matches!(first.pause(3), Err(StoreError::Fenced(_))));
	assert_eq!(second.keys().unwrap(), before, "nothing changed");
	assert_eq!(second.pause_state().unwrap(), None);
	// b writes under its own token.
	second.fence(Some(token_b));
	second.mark_revoked(key.id, 10).unwrap();
	assert_ne!(second.key_by_id(key.id).unwrap().status, KeyStatus::Pending);

	// Released, the lead is taken at once, with a token newer still.
	lease_b.release(token_b).unwrap();
	let token_a2 = lease_a.try_take().unwrap().expect("released: free at once");
	assert!(token_a2 > token_b);
	first.fence(Some(token_a2));
	assert!(first.leads().unwrap());
	first.add_pending_key("api", public(3), b"secret three", 4).unwrap();
	assert!(matches!(second.resume(), Err(StoreError::Fenced(_))), "b is fenced now");

	// The one-shot commands (no fence) write whoever leads.
	let mut command = h.open().unwrap();
	command.add_profile(&profile("web")).unwrap();
}

/// A connection the server ends (a restart, a failover of the database, an administrator) is
/// told apart from a refusal, and made again: by the store on `reconnect` (the daemon calls it
/// with backoff), and by the lease at its next call.
#[test]
fn a_lost_connection_is_told_apart_and_made_again() {
	let h = Harness::postgres("reconnect");
	let mut store = h.create();
	store.add_profile(&profile("api")).unwrap();
	let mut lease = store.lease("a:1", std::time::Duration::from_secs(5)).unwrap();
	let token = lease.try_take().unwrap().expect("free");
	h.raw_both(
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		 WHERE datname = current_database() AND pid <> pg_backend_pid()",
	);
	let error = store.profiles().unwrap_err();
	assert!(error.is_connection(), "{error}");
	assert!(!StoreError::UnknownProfile("api".into()).is_connection());
	store.reconnect().unwrap();
	assert_eq!(store.profiles().unwrap(), vec![profile("api")]);
	// The lease's first call finds its connection gone; the next one makes it again.
	assert!(lease.extend(token).is_err_and(|error| error.is_connection()));
	assert!(lease.extend(token).unwrap(), "still the leader");
}
