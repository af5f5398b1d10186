//! The SQLite backend: one file, the keeper's embedded default.
//!
//! The schema's version is SQLite's `user_version`; [`SqliteBackend::open`] refuses a newer one
//! and [`Backend::migrate`] brings an older one up to [`SCHEMA_VERSION`]. The file is in WAL
//! mode (`status` reads while the daemon writes), made readable by its user only, and every
//! change is one transaction.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::{
	owner_record, Backend, DaemonLock, Dump, KeyFilter, KeyRow, Location, MetaRow, OwnerRow,
	PauseChange, ProfileRow, Result, StoreError, SCHEMA_VERSION,
};
use crate::sealer::Sealer;

/// What SQLite adds to the store's path for its other files (the WAL, its index, a journal).
const FILE_SUFFIXES: [&str; 4] = ["", "-wal", "-shm", "-journal"];

/// A store in an SQLite file.
pub struct SqliteBackend {
	path: PathBuf,
	location: Location,
	connection: Connection,
	version: u32,
}

impl SqliteBackend {
	/// Makes the file at `path` holding `dump`'s rows, in one transaction;
	/// [`StoreError::Exists`] if there is a file.
	pub fn create(path: &Path, dump: &Dump) -> Result<Self> {
		let location = Location::Sqlite(path.to_owned());
		if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
			std::fs::create_dir_all(parent).map_err(|error| io_error(path, error))?;
		}
		create_private(path)?;
		let made = (|| {
			let mut connection = connect(path)?;
			let sqlite = |source| StoreError::Sqlite { path: path.to_owned(), source };
			// WAL lets `status` read while the daemon writes.
			connection.execute_batch("PRAGMA journal_mode = WAL;").map_err(sqlite)?;
			let tx = connection.transaction().map_err(sqlite)?;
			migrate(&tx, 0).map_err(sqlite)?;
			write_dump(&tx, dump).map_err(sqlite)?;
			tx.commit().map_err(sqlite)?;
			Ok(connection)
		})();
		match made {
			Ok(connection) => {
				Ok(Self { path: path.to_owned(), location, connection, version: SCHEMA_VERSION })
			}
			// Nothing half-made is left for `init` to call an existing store.
			Err(error) => {
				for suffix in FILE_SUFFIXES {
					let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
				}
				Err(error)
			}
		}
	}

	/// Opens the file at `path` (changing nothing in it): [`StoreError::Missing`] if there is
	/// none, [`StoreError::NewerSchema`] or [`StoreError::NotAStore`] if this build cannot read
	/// it.
	pub fn open(path: &Path) -> Result<Self> {
		let location = Location::Sqlite(path.to_owned());
		if !path.exists() {
			return Err(StoreError::Missing(location));
		}
		let connection = connect(path)?;
		let version = schema_version(&connection, &location)?;
		Ok(Self { path: path.to_owned(), location, connection, version })
	}

	fn sqlite(&self, source: rusqlite::Error) -> StoreError {
		StoreError::Sqlite { path: self.path.clone(), source }
	}
}

impl Backend for SqliteBackend {
	fn location(&self) -> &Location {
		&self.location
	}

	fn version(&self) -> u32 {
		self.version
	}

	fn migrate(&mut self, sealer: &dyn Sealer) -> Result<()> {
		if self.version < SCHEMA_VERSION {
			let path = self.path.clone();
			let sqlite = |source| StoreError::Sqlite { path: path.clone(), source };
			let tx = self
				.connection
				.transaction_with_behavior(TransactionBehavior::Immediate)
				.map_err(sqlite)?;
			migrate(&tx, self.version).map_err(sqlite)?;
			// Rows from before MACs get theirs now, as they are.
			if self.version < 4 {
				authenticate_rows(&tx, sealer).map_err(|error| match error {
					Authenticate::Sqlite(source) => sqlite(source),
					Authenticate::Seal(error) => error.into(),
				})?;
			}
			tx.commit().map_err(sqlite)?;
			self.version = SCHEMA_VERSION;
		}
		keep_private(&self.path);
		Ok(())
	}

	fn meta(&self) -> Result<MetaRow> {
		read_meta(&self.connection, self.version).map_err(|error| self.sqlite(error))?.ok_or_else(
			|| super::corrupt(&self.location, "key derivation parameters (no meta row)"),
		)
	}

	fn set_pause(&mut self, change: PauseChange) -> Result<()> {
		let done = match change {
			PauseChange::Pause(at) => self
				.connection
				.execute("UPDATE meta SET paused_at = ?1, pause_seen_at = NULL WHERE id = 1", [at]),
			PauseChange::Resume => self
				.connection
				.execute("UPDATE meta SET paused_at = NULL, pause_seen_at = NULL WHERE id = 1", []),
			PauseChange::Seen(at) => self.connection.execute(
				"UPDATE meta SET pause_seen_at = ?1 WHERE id = 1 AND paused_at IS NOT NULL",
				[at],
			),
		};
		done.map(drop).map_err(|error| self.sqlite(error))
	}

	fn owner(&self) -> Result<Option<OwnerRow>> {
		read_owner(&self.connection).map_err(|error| self.sqlite(error))
	}

	fn set_owner(&mut self, row: &OwnerRow) -> Result<()> {
		self.connection
			.execute(
				"INSERT OR REPLACE INTO owner (id, signer, delegate_of, sealed_secret, mac)
				 VALUES (1, ?1, ?2, ?3, ?4)",
				params![row.signer, row.delegate_of, row.sealed_secret, row.mac],
			)
			.map_err(|error| self.sqlite(error))?;
		Ok(())
	}

	fn profiles(&self, name: Option<&str>) -> Result<Vec<ProfileRow>> {
		read_profiles(&self.connection, name).map_err(|error| self.sqlite(error))
	}

	fn insert_profile(&mut self, row: &ProfileRow) -> Result<bool> {
		write_profile(
			&self.connection,
			"INSERT INTO profiles (name, counterpart, duration, spending_limit, collateral, scope,
			   description, crypto, renew_margin, rotation_interval, mac)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
			 ON CONFLICT (name) DO NOTHING",
			row,
		)
		.map(|changed| changed == 1)
		.map_err(|error| self.sqlite(error))
	}

	fn update_profile(&mut self, row: &ProfileRow) -> Result<bool> {
		write_profile(
			&self.connection,
			"UPDATE profiles SET counterpart = ?2, duration = ?3, spending_limit = ?4,
			   collateral = ?5, scope = ?6, description = ?7, crypto = ?8, renew_margin = ?9,
			   rotation_interval = ?10, mac = ?11
			 WHERE name = ?1",
			row,
		)
		.map(|changed| changed == 1)
		.map_err(|error| self.sqlite(error))
	}

	fn remove_profile(&mut self, name: &str) -> Result<()> {
		let path = self.path.clone();
		let sqlite = |source| StoreError::Sqlite { path: path.clone(), source };
		// Immediate, as a new key's insert is: the two are serialized, not refused as busy.
		let tx = self
			.connection
			.transaction_with_behavior(TransactionBehavior::Immediate)
			.map_err(sqlite)?;
		let known: Option<i64> = tx
			.query_row("SELECT 1 FROM profiles WHERE name = ?1", [name], |row| row.get(0))
			.optional()
			.map_err(sqlite)?;
		if known.is_none() {
			return Err(StoreError::UnknownProfile(name.into()));
		}
		let open: usize = tx
			.query_row(
				"SELECT COUNT(*) FROM keys WHERE profile = ?1 AND status != 'ended'",
				[name],
				|row| row.get(0),
			)
			.map_err(sqlite)?;
		if open > 0 {
			return Err(StoreError::ProfileInUse { name: name.into(), keys: open });
		}
		tx.execute("DELETE FROM keys WHERE profile = ?1", [name]).map_err(sqlite)?;
		tx.execute("DELETE FROM profiles WHERE name = ?1", [name]).map_err(sqlite)?;
		tx.commit().map_err(sqlite)
	}

	fn add_pending_key(
		&mut self,
		profile: &str,
		public: &[u8],
		created_at: i64,
		seal: &mut dyn FnMut(i64) -> Result<Vec<u8>>,
	) -> Result<i64> {
		let path = self.path.clone();
		let sqlite = |source| StoreError::Sqlite { path: path.clone(), source };
		// Immediate: the profile cannot be removed between the check and the insert.
		let tx = self
			.connection
			.transaction_with_behavior(TransactionBehavior::Immediate)
			.map_err(sqlite)?;
		let known: Option<i64> = tx
			.query_row("SELECT 1 FROM profiles WHERE name = ?1", [profile], |row| row.get(0))
			.optional()
			.map_err(sqlite)?;
		if known.is_none() {
			return Err(StoreError::UnknownProfile(profile.into()));
		}
		tx.execute(
			"INSERT INTO keys (profile, public, sealed_secret, status, created_at)
			 VALUES (?1, ?2, x'', 'pending', ?3)",
			params![profile, public, created_at],
		)
		.map_err(sqlite)?;
		let id = tx.last_insert_rowid();
		let sealed = seal(id)?;
		tx.execute("UPDATE keys SET sealed_secret = ?1 WHERE id = ?2", params![sealed, id])
			.map_err(sqlite)?;
		tx.commit().map_err(sqlite)?;
		Ok(id)
	}

	fn keys(&self, filter: KeyFilter<'_>) -> Result<Vec<KeyRow>> {
		read_keys(&self.connection, filter).map_err(|error| self.sqlite(error))
	}

	fn update_key(
		&mut self,
		id: i64,
		status: &str,
		registered_at: Option<u32>,
		expires_at: Option<u32>,
		ended_reason: Option<&str>,
	) -> Result<bool> {
		let changed = self
			.connection
			.execute(
				"UPDATE keys SET status = ?2, registered_at = COALESCE(?3, registered_at),
				   expires_at = COALESCE(?4, expires_at), ended_reason = COALESCE(?5, ended_reason)
				 WHERE id = ?1",
				params![id, status, registered_at, expires_at, ended_reason],
			)
			.map_err(|error| self.sqlite(error))?;
		Ok(changed == 1)
	}

	fn lock_daemon(&self) -> Result<DaemonLock> {
		let lock_path = PathBuf::from(format!("{}.lock", self.path.display()));
		let file = std::fs::OpenOptions::new()
			.create(true)
			.truncate(false)
			.write(true)
			.open(&lock_path)
			.map_err(|error| io_error(&lock_path, error))?;
		match file.try_lock() {
			Ok(()) => Ok(DaemonLock::new(Box::new(file))),
			Err(_) => Err(StoreError::DaemonRunning(self.location.clone())),
		}
	}

	fn dump(&self) -> Result<Dump> {
		let path = self.path.clone();
		let sqlite = |source| StoreError::Sqlite { path: path.clone(), source };
		// A read transaction: one snapshot of the WAL, whatever the daemon writes meanwhile.
		let tx = self.connection.unchecked_transaction().map_err(sqlite)?;
		let dump = read_dump(&tx, self.version).map_err(sqlite)?;
		tx.commit().map_err(sqlite)?;
		dump.ok_or_else(|| {
			super::corrupt(&self.location, "key derivation parameters (no meta row)")
		})
	}

	fn reseal(&mut self, change: &mut dyn FnMut(Dump) -> Result<Dump>) -> Result<()> {
		let path = self.path.clone();
		let sqlite = |source| StoreError::Sqlite { path: path.clone(), source };
		let tx = self
			.connection
			.transaction_with_behavior(TransactionBehavior::Immediate)
			.map_err(sqlite)?;
		let dump = read_dump(&tx, self.version).map_err(sqlite)?.ok_or_else(|| {
			super::corrupt(&self.location, "key derivation parameters (no meta row)")
		})?;
		let changed = change(dump)?;
		rewrite_sealed(&tx, &changed).map_err(sqlite)?;
		tx.commit().map_err(sqlite)
	}

	#[cfg(test)]
	fn sqlite_connection(&self) -> Option<&Connection> {
		Some(&self.connection)
	}
}

fn io_error(path: &Path, error: std::io::Error) -> StoreError {
	StoreError::Sqlite {
		path: path.to_owned(),
		source: rusqlite::Error::ToSqlConversionFailure(Box::new(error)),
	}
}

/// The file's schema version, refusing a newer one and a file the keeper did not make.
fn schema_version(connection: &Connection, location: &Location) -> Result<u32> {
	let version: u32 =
		connection.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(|source| {
			StoreError::Sqlite { path: location.path().unwrap_or(Path::new("")).to_owned(), source }
		})?;
	if version > SCHEMA_VERSION {
		return Err(StoreError::NewerSchema {
			path: location.clone(),
			found: version,
			supported: SCHEMA_VERSION,
		});
	}
	// `init` writes version 1 and up: 0 is a file the keeper did not make.
	if version == 0 {
		return Err(StoreError::NotAStore(location.clone()));
	}
	Ok(version)
}

/// The `meta` row of a file at schema `version` (the pause came with version 2, the PKCS#11
/// columns with version 5).
fn read_meta(connection: &Connection, version: u32) -> rusqlite::Result<Option<MetaRow>> {
	let pause = if version < 2 { "NULL, NULL" } else { "paused_at, pause_seen_at" };
	let pkcs11 =
		if version < 5 { "NULL, NULL, NULL" } else { "pkcs11_module, pkcs11_token, pkcs11_key" };
	connection
		.query_row(
			&format!(
				"SELECT kdf, memory_kib, iterations, parallelism, salt, check_value, {pkcs11},
				 {pause} FROM meta WHERE id = 1"
			),
			[],
			|row| {
				Ok(MetaRow {
					kdf: row.get(0)?,
					memory_kib: row.get(1)?,
					iterations: row.get(2)?,
					parallelism: row.get(3)?,
					salt: row.get(4)?,
					check_value: row.get(5)?,
					pkcs11_module: row.get(6)?,
					pkcs11_token: row.get(7)?,
					pkcs11_key: row.get(8)?,
					paused_at: row.get(9)?,
					pause_seen_at: row.get(10)?,
				})
			},
		)
		.optional()
}

fn read_owner(connection: &Connection) -> rusqlite::Result<Option<OwnerRow>> {
	connection
		.query_row(
			"SELECT signer, delegate_of, sealed_secret, mac FROM owner WHERE id = 1",
			[],
			|row| {
				Ok(OwnerRow {
					signer: row.get(0)?,
					delegate_of: row.get(1)?,
					sealed_secret: row.get(2)?,
					mac: row.get(3)?,
				})
			},
		)
		.optional()
}

const PROFILE_COLUMNS: &str = "name, counterpart, duration, spending_limit, collateral, scope, \
	description, crypto, renew_margin, rotation_interval, mac";

fn read_profiles(connection: &Connection, name: Option<&str>) -> rusqlite::Result<Vec<ProfileRow>> {
	let mut statement = connection.prepare(&format!(
		"SELECT {PROFILE_COLUMNS} FROM profiles WHERE ?1 IS NULL OR name = ?1 ORDER BY name"
	))?;
	let rows = statement
		.query_map([name], |row| {
			Ok(ProfileRow {
				name: row.get(0)?,
				counterpart: row.get(1)?,
				duration: row.get(2)?,
				spending_limit: row.get(3)?,
				collateral: row.get(4)?,
				scope: row.get(5)?,
				description: row.get(6)?,
				crypto: row.get(7)?,
				renew_margin: row.get(8)?,
				rotation_interval: row.get(9)?,
				mac: row.get(10)?,
			})
		})?
		.collect();
	rows
}

/// Runs `sql` with `row`'s columns as ?1..?11, in [`PROFILE_COLUMNS`]' order; the number of
/// rows it changed.
fn write_profile(connection: &Connection, sql: &str, row: &ProfileRow) -> rusqlite::Result<usize> {
	connection.execute(
		sql,
		params![
			row.name,
			row.counterpart,
			row.duration,
			row.spending_limit,
			row.collateral,
			row.scope,
			row.description,
			row.crypto,
			row.renew_margin,
			row.rotation_interval,
			row.mac,
		],
	)
}

fn read_keys(connection: &Connection, filter: KeyFilter<'_>) -> rusqlite::Result<Vec<KeyRow>> {
	let (condition, argument): (_, Box<dyn rusqlite::ToSql + '_>) = match filter {
		KeyFilter::All => ("?1 IS NULL", Box::new(None::<i64>)),
		KeyFilter::Id(id) => ("id = ?1", Box::new(id)),
		KeyFilter::Open(profile) => ("profile = ?1 AND status != 'ended'", Box::new(profile)),
	};
	let mut statement = connection.prepare(&format!(
		"SELECT id, profile, public, sealed_secret, status, created_at, registered_at, expires_at,
		   ended_reason
		 FROM keys WHERE {condition} ORDER BY id"
	))?;
	let rows = statement
		.query_map([argument], |row| {
			Ok(KeyRow {
				id: row.get(0)?,
				profile: row.get(1)?,
				public: row.get(2)?,
				sealed_secret: row.get(3)?,
				status: row.get(4)?,
				created_at: row.get(5)?,
				registered_at: row.get(6)?,
				expires_at: row.get(7)?,
				ended_reason: row.get(8)?,
			})
		})?
		.collect();
	rows
}

/// Every row of a file at schema `version` (None without a `meta` row).
fn read_dump(connection: &Connection, version: u32) -> rusqlite::Result<Option<Dump>> {
	let Some(meta) = read_meta(connection, version)? else { return Ok(None) };
	let key_id_high: Option<i64> = connection
		.query_row("SELECT seq FROM sqlite_sequence WHERE name = 'keys'", [], |row| row.get(0))
		.optional()?;
	Ok(Some(Dump {
		meta,
		owner: read_owner(connection)?,
		profiles: read_profiles(connection, None)?,
		keys: read_keys(connection, KeyFilter::All)?,
		key_id_high: key_id_high.unwrap_or(0),
	}))
}

/// Writes every row of `dump` into a new file's empty tables, the keys with their ids.
fn write_dump(tx: &Transaction<'_>, dump: &Dump) -> rusqlite::Result<()> {
	let meta = &dump.meta;
	tx.execute(
		"INSERT INTO meta (id, kdf, memory_kib, iterations, parallelism, salt, check_value,
		   pkcs11_module, pkcs11_token, pkcs11_key, paused_at, pause_seen_at)
		 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
		params![
			meta.kdf,
			meta.memory_kib,
			meta.iterations,
			meta.parallelism,
			meta.salt,
			meta.check_value,
			meta.pkcs11_module,
			meta.pkcs11_token,
			meta.pkcs11_key,
			meta.paused_at,
			meta.pause_seen_at
		],
	)?;
	if let Some(row) = &dump.owner {
		tx.execute(
			"INSERT INTO owner (id, signer, delegate_of, sealed_secret, mac)
			 VALUES (1, ?1, ?2, ?3, ?4)",
			params![row.signer, row.delegate_of, row.sealed_secret, row.mac],
		)?;
	}
	for row in &dump.profiles {
		write_profile(
			tx,
			&format!(
				"INSERT INTO profiles ({PROFILE_COLUMNS})
				 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
			),
			row,
		)?;
	}
	for key in &dump.keys {
		tx.execute(
			"INSERT INTO keys (id, profile, public, sealed_secret, status, created_at,
			   registered_at, expires_at, ended_reason)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			params![
				key.id,
				key.profile,
				key.public,
				key.sealed_secret,
				key.status,
				key.created_at,
				key.registered_at,
				key.expires_at,
				key.ended_reason
			],
		)?;
	}
	// AUTOINCREMENT's counter: no id handed out before is handed out again.
	if dump.key_id_high > 0 {
		let changed = tx.execute(
			"UPDATE sqlite_sequence SET seq = MAX(seq, ?1) WHERE name = 'keys'",
			[dump.key_id_high],
		)?;
		if changed == 0 {
			tx.execute(
				"INSERT INTO sqlite_sequence (name, seq) VALUES ('keys', ?1)",
				[dump.key_id_high],
			)?;
		}
	}
	Ok(())
}

/// Writes back what [`Store::reseal`](super::Store::reseal) changes: the sealed secrets, the
/// MACs and the `meta` row's sealer settings and check value.
fn rewrite_sealed(tx: &Transaction<'_>, dump: &Dump) -> rusqlite::Result<()> {
	for key in &dump.keys {
		tx.execute(
			"UPDATE keys SET sealed_secret = ?1 WHERE id = ?2",
			params![key.sealed_secret, key.id],
		)?;
	}
	if let Some(owner) = &dump.owner {
		tx.execute(
			"UPDATE owner SET sealed_secret = ?1, mac = ?2 WHERE id = 1",
			params![owner.sealed_secret, owner.mac],
		)?;
	}
	for profile in &dump.profiles {
		tx.execute(
			"UPDATE profiles SET mac = ?1 WHERE name = ?2",
			params![profile.mac, profile.name],
		)?;
	}
	let meta = &dump.meta;
	tx.execute(
		"UPDATE meta SET kdf = ?1, memory_kib = ?2, iterations = ?3, parallelism = ?4,
		   salt = ?5, check_value = ?6, pkcs11_module = ?7, pkcs11_token = ?8, pkcs11_key = ?9
		 WHERE id = 1",
		params![
			meta.kdf,
			meta.memory_kib,
			meta.iterations,
			meta.parallelism,
			meta.salt,
			meta.check_value,
			meta.pkcs11_module,
			meta.pkcs11_token,
			meta.pkcs11_key
		],
	)?;
	Ok(())
}

/// Makes the empty file of a new store, readable and writable by its user only (SQLite gives
/// its WAL and journal the same mode).
fn create_private(path: &Path) -> Result<()> {
	let mut options = std::fs::OpenOptions::new();
	options.write(true).create_new(true);
	#[cfg(unix)]
	std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
	options.open(path).map(drop).map_err(|error| match error.kind() {
		std::io::ErrorKind::AlreadyExists => StoreError::Exists(Location::Sqlite(path.to_owned())),
		_ => io_error(path, error),
	})
}

/// Takes the group's and others' access away from the store's files, for a store made before
/// new stores were made private ([`create_private`]); best effort.
fn keep_private(path: &Path) {
	#[cfg(unix)]
	for suffix in FILE_SUFFIXES {
		use std::os::unix::fs::PermissionsExt;
		let file = format!("{}{suffix}", path.display());
		if let Ok(metadata) = std::fs::metadata(&file) {
			let mode = metadata.permissions().mode();
			if mode & 0o077 != 0 {
				let _ =
					std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700));
			}
		}
	}
	#[cfg(not(unix))]
	let _ = path;
}

/// Opens the SQLite file with the settings every connection uses.
fn connect(path: &Path) -> Result<Connection> {
	let sqlite = |source| StoreError::Sqlite { path: path.to_owned(), source };
	let connection = Connection::open(path).map_err(sqlite)?;
	// FULL makes a committed state change survive a power cut, not only a crash of the
	// process. The busy timeout covers two keeper processes touching the file at once. (WAL
	// mode is set once, by `create`, and kept by the file: opening changes no byte.)
	connection
		.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
		.map_err(sqlite)?;
	connection.busy_timeout(std::time::Duration::from_secs(10)).map_err(sqlite)?;
	Ok(connection)
}

/// Brings a file at schema `from` to [`SCHEMA_VERSION`], inside the caller's transaction.
fn migrate(tx: &Transaction<'_>, from: u32) -> rusqlite::Result<()> {
	if from < 1 {
		tx.execute_batch(
			"CREATE TABLE meta (
				id INTEGER PRIMARY KEY CHECK (id = 1),
				kdf TEXT NOT NULL,
				memory_kib INTEGER NOT NULL,
				iterations INTEGER NOT NULL,
				parallelism INTEGER NOT NULL,
				salt BLOB NOT NULL,
				check_value BLOB NOT NULL
			);
			CREATE TABLE owner (
				id INTEGER PRIMARY KEY CHECK (id = 1),
				signer BLOB NOT NULL,
				proxy_of BLOB,
				sealed_secret BLOB NOT NULL
			);
			CREATE TABLE profiles (
				name TEXT PRIMARY KEY,
				counterpart BLOB NOT NULL,
				duration INTEGER NOT NULL,
				spending_limit TEXT NOT NULL,
				collateral TEXT NOT NULL,
				scope BLOB NOT NULL,
				description TEXT NOT NULL,
				crypto TEXT NOT NULL,
				renew_margin INTEGER NOT NULL,
				rotation_interval INTEGER NOT NULL
			);
			CREATE TABLE keys (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				profile TEXT NOT NULL REFERENCES profiles (name),
				public BLOB NOT NULL UNIQUE,
				sealed_secret BLOB NOT NULL,
				status TEXT NOT NULL,
				created_at INTEGER NOT NULL,
				registered_at INTEGER,
				expires_at INTEGER,
				ended_reason TEXT
			);
			CREATE INDEX keys_by_profile ON keys (profile, status);",
		)?;
	}
	if from < 2 {
		// The pause `revoke-all` sets (unix seconds), and when a running daemon last saw it.
		tx.execute_batch(
			"ALTER TABLE meta ADD COLUMN paused_at INTEGER;
			 ALTER TABLE meta ADD COLUMN pause_seen_at INTEGER;",
		)?;
	}
	if from < 3 {
		// The hot key signs as the owner's delegate (`register_for`, plain calls), no longer as
		// its `SessionKeys` proxy: the column says so. A record made with `--proxy-of` names
		// the same owner, which must now authorize the key with `authorize_delegate`.
		tx.execute_batch("ALTER TABLE owner RENAME COLUMN proxy_of TO delegate_of;")?;
	}
	if from < 4 {
		// Each profile's and the owner's MAC ([`authenticate_rows`] fills them in once the
		// store is opened).
		tx.execute_batch(
			"ALTER TABLE profiles ADD COLUMN mac BLOB;
			 ALTER TABLE owner ADD COLUMN mac BLOB;",
		)?;
	}
	if from < 5 {
		// Where a store sealed in a PKCS#11 token finds its keys (NULL for a passphrase's).
		tx.execute_batch(
			"ALTER TABLE meta ADD COLUMN pkcs11_module TEXT;
			 ALTER TABLE meta ADD COLUMN pkcs11_token TEXT;
			 ALTER TABLE meta ADD COLUMN pkcs11_key TEXT;",
		)?;
	}
	tx.pragma_update(None, "user_version", SCHEMA_VERSION)
}

/// Why [`authenticate_rows`] failed.
enum Authenticate {
	Sqlite(rusqlite::Error),
	Seal(crate::sealer::SealError),
}

impl From<rusqlite::Error> for Authenticate {
	fn from(error: rusqlite::Error) -> Self {
		Authenticate::Sqlite(error)
	}
}

impl From<crate::sealer::SealError> for Authenticate {
	fn from(error: crate::sealer::SealError) -> Self {
		Authenticate::Seal(error)
	}
}

/// Writes the MAC of every profile and of the owner that has none under `sealer` (a store
/// migrated from before MACs; a row with a wrong MAC stays refused), inside the caller's
/// transaction.
fn authenticate_rows(tx: &Transaction<'_>, sealer: &dyn Sealer) -> Result<(), Authenticate> {
	for row in read_profiles(tx, None)?.into_iter().filter(|row| row.mac.is_none()) {
		let mac = sealer.authenticate(&row.record())?;
		tx.execute("UPDATE profiles SET mac = ?1 WHERE name = ?2", params![&mac[..], row.name])?;
	}
	if let Some(owner) = read_owner(tx)?.filter(|owner| owner.mac.is_none()) {
		let mac =
			sealer.authenticate(&owner_record(&owner.signer, owner.delegate_of.as_deref()))?;
		tx.execute("UPDATE owner SET mac = ?1 WHERE id = 1", params![&mac[..]])?;
	}
	Ok(())
}
