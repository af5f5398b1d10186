//! The keeper's store: the key derivation's parameters, the owner's signing key, the profiles
//! and every session key the keeper made, each secret sealed by a [`Sealer`], kept by one of
//! two backends behind the [`Backend`] trait:
//! - [`sqlite`]: one SQLite file, the embedded default (`--store PATH`). Its schema's version is
//!   SQLite's `user_version`; the file is in WAL mode.
//! - [`postgres`]: a PostgreSQL database (`--store postgres://…`), its schema versioned by the
//!   row of its `keeper_schema` table.
//!
//! [`Store`] applies the same rules over both: what is sealed with which associated data, what
//! each MAC is over, when a row is refused. A backend only keeps rows, so a row's sealed bytes
//! and MAC mean the same in either, and [`Dump`] moves them between backends unopened
//! ([`Store::export`], [`Store::import`]). [`Store::open_with`] migrates an older schema and
//! refuses a newer one; every change of a key's state is one transaction.

use std::path::{Path, PathBuf};

use codec::{Decode, Encode};
use session_keys_client::{AccountId, Balance, BlockNumber, CryptoKind, SessionPublic};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::sealer::{
	pkcs11::Pkcs11Error, KdfParams, PassphraseSealer, Pkcs11Sealer, Pkcs11Settings, SealError,
	Sealer, SealerSettings, SALT_LEN,
};

pub mod postgres;
pub mod sqlite;

pub use postgres::PostgresTarget;

/// The domain of a profile row's MAC ([`ProfileRow::record`]).
const PROFILE_MAC_DOMAIN: &[u8] = b"session-keys-keeper/profile/v1";
/// The domain of the owner row's MAC ([`owner_record`]).
const OWNER_MAC_DOMAIN: &[u8] = b"session-keys-keeper/owner/v1";

/// The SQLite schema this build writes. Version 1 is the first; 2 added the pause; 3 renamed
/// the owner record's `proxy_of` column to `delegate_of` (the hot key is the owner's delegate
/// now, not a proxy: an older keeper, which would wrap calls in `proxy.proxy`, refuses the
/// file); 4 added a MAC to every profile and to the owner record (an older keeper would write
/// rows without one, which this build refuses); 5 added the `meta` columns of a store sealed in
/// a PKCS#11 token (an older keeper would take such a store for a damaged one). The PostgreSQL
/// schema has its own versions ([`postgres::SCHEMA_VERSION`]).
pub const SCHEMA_VERSION: u32 = 5;

/// The associated data of the check value, which tells a wrong passphrase from a damaged record.
const CHECK_AAD: &[u8] = b"session-keys-keeper/check";
const CHECK_PLAINTEXT: &[u8] = b"session-keys-keeper passphrase check";

/// Where a store is kept: an SQLite file, or a PostgreSQL database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
	/// An SQLite file.
	Sqlite(PathBuf),
	/// A PostgreSQL database.
	Postgres(PostgresTarget),
}

impl Location {
	/// The store `--store` names: a `postgres://` or `postgresql://` URL is a PostgreSQL
	/// database, anything else an SQLite file's path.
	pub fn parse(given: &Path) -> Location {
		match given.to_str() {
			Some(url) if PostgresTarget::is_url(url) => {
				Location::Postgres(PostgresTarget::new(url.to_owned()))
			}
			_ => Location::Sqlite(given.to_owned()),
		}
	}

	/// The SQLite file's path, for a store kept in one.
	pub fn path(&self) -> Option<&Path> {
		match self {
			Location::Sqlite(path) => Some(path),
			Location::Postgres(_) => None,
		}
	}
}

impl From<&Path> for Location {
	fn from(path: &Path) -> Self {
		Location::Sqlite(path.to_owned())
	}
}

impl std::fmt::Display for Location {
	/// The file's path, or the URL without its password.
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Location::Sqlite(path) => write!(f, "{}", path.display()),
			Location::Postgres(target) => write!(f, "{target}"),
		}
	}
}

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
	/// SQLite failed.
	#[error("store {path}: {source}")]
	Sqlite {
		/// The store's file.
		path: PathBuf,
		/// What SQLite said.
		#[source]
		source: rusqlite::Error,
	},
	/// PostgreSQL failed, or could not be reached.
	#[error("store {store}: {source}")]
	Postgres {
		/// The store (its URL, without a password).
		store: Location,
		/// What PostgreSQL (or the connection) said.
		#[source]
		source: tokio_postgres::Error,
	},
	/// A PostgreSQL store's URL does not parse.
	#[error("store {store}: not a PostgreSQL URL: {reason}")]
	BadUrl {
		/// The store, as given (without a password).
		store: Location,
		/// Why it does not parse.
		reason: String,
	},
	/// There is no store there.
	#[error("no store at {0}: create one with `session-keys-keeper init`")]
	Missing(Location),
	/// `init` (or `import`) on an existing store.
	#[error("a store already exists at {0}")]
	Exists(Location),
	/// The store was written by a newer keeper.
	#[error("store {path} has schema version {found}; this keeper reads up to {supported}: upgrade the keeper")]
	NewerSchema {
		/// The store.
		path: Location,
		/// The store's version.
		found: u32,
		/// The newest this build reads.
		supported: u32,
	},
	/// The store is older than this build writes, and is exported before it was opened (and
	/// so migrated) with its passphrase.
	#[error(
		"store {path} has schema version {found}, older than this keeper's {current}: open it \
		 once (`session-keys-keeper status`) to migrate it, then export it"
	)]
	OlderSchema {
		/// The store.
		path: Location,
		/// The store's version.
		found: u32,
		/// The version this build writes.
		current: u32,
	},
	/// The file is an SQLite database the keeper did not make.
	#[error("{0} is not a keeper store")]
	NotAStore(Location),
	/// More than one stored key matches a prefix.
	#[error("{count} stored keys start with {prefix:?}: give more of the key")]
	AmbiguousKey {
		/// The prefix given.
		prefix: String,
		/// How many keys match it.
		count: usize,
	},
	/// A daemon runs on this store.
	#[error("a daemon (`run`) holds {0}: stop it first")]
	DaemonRunning(Location),
	/// Another daemon took the lead of this store over (its lease lapsed, and the fencing token
	/// moved on): this one writes and submits nothing more until it leads again.
	#[error(
		"another keeper leads {0} now (this one's lease was taken over): nothing was written; \
		 standing by"
	)]
	Fenced(Location),
	/// This daemon's lease lapsed (by the database's clock or its own) though no other daemon
	/// took over yet: it sends nothing until it has extended it again.
	#[error("this keeper's lease on {0} lapsed: nothing was sent; waiting to lead again")]
	NotLeading(Location),
	/// The passphrase does not open the store.
	#[error("wrong passphrase for {0}: nothing was changed")]
	WrongPassphrase(Location),
	/// The sealer's keys (not a passphrase's) do not open the store's check value: keys of the
	/// same labels, but not the ones the store was sealed with.
	#[error("{keys} do not open {path} (another key of the same label?): nothing was changed")]
	WrongKeys {
		/// The store.
		path: Location,
		/// The keys, for example ``the keys `k` in token `t` ``.
		keys: String,
	},
	/// A passphrase was given for a store sealed by another backend.
	#[error(
		"{path} is sealed by its {backend} backend, not a passphrase: open it with that backend's \
		 settings (for pkcs11, the token's PIN: --pkcs11-pin-file)"
	)]
	NotPassphraseSealed {
		/// The store.
		path: Location,
		/// The backend that seals it.
		backend: &'static str,
	},
	/// The PKCS#11 token could not be reached or used.
	#[error(transparent)]
	Pkcs11(#[from] Pkcs11Error),
	/// One record's sealed secret does not open: it was changed or moved.
	#[error(
		"the sealed secret of {record} does not open: the record was changed or damaged ({source})"
	)]
	Damaged {
		/// The record, for example `key 0x00d4…` or `owner`.
		record: String,
		/// The sealer's error.
		#[source]
		source: SealError,
	},
	/// A profile or the owner record does not carry its MAC: someone with write access to the
	/// store but not the passphrase changed it (to redirect the keys it registers, say).
	/// Nothing is registered from it.
	#[error(
		"{record} was changed outside the keeper: its MAC does not match. Nothing is registered \
		 from it; {remedy}"
	)]
	Tampered {
		/// The record, for example ``profile `api` ``.
		record: String,
		/// What the user can do.
		remedy: &'static str,
	},
	/// The key derivation or the sealer refused.
	#[error(transparent)]
	Seal(#[from] SealError),
	/// No profile by that name.
	#[error("no profile named {0:?} (see `session-keys-keeper profile list`)")]
	UnknownProfile(String),
	/// A profile by that name exists.
	#[error("a profile named {0:?} exists already")]
	ProfileExists(String),
	/// The profile still has keys that are not ended.
	#[error("profile {name:?} has {keys} key(s) not ended yet: revoke them first (`revoke-all`)")]
	ProfileInUse {
		/// The profile.
		name: String,
		/// Its keys that are pending, live or closing.
		keys: usize,
	},
	/// No stored key matches.
	#[error("no stored key matches {0:?} (see `session-keys-keeper status`)")]
	UnknownKey(String),
	/// No owner key was imported.
	#[error("no owner key in the store: import one with `session-keys-keeper owner import`")]
	NoOwner,
	/// A row holds a value this build cannot read.
	#[error("store {path}: unreadable {what}")]
	Corrupt {
		/// The store.
		path: Location,
		/// What could not be read.
		what: String,
	},
	/// A store's file or connection failed at the system's level.
	#[error("store {store}: {source}")]
	Io {
		/// The store.
		store: Location,
		/// What the system said.
		#[source]
		source: std::io::Error,
	},
	/// An export file cannot be read or written.
	#[error("export {path}: {source}")]
	ExportIo {
		/// The file.
		path: PathBuf,
		/// What the system said.
		#[source]
		source: std::io::Error,
	},
	/// A file is not an export this build reads.
	#[error("{path} is not a keeper export this build reads: {what}")]
	BadExport {
		/// The file.
		path: PathBuf,
		/// What is wrong with it.
		what: String,
	},
}

impl StoreError {
	/// Whether the database could not be reached or the connection to it was lost (rather
	/// than refusing something): worth reconnecting and trying again.
	pub fn is_connection(&self) -> bool {
		match self {
			StoreError::Postgres { source, .. } => {
				// Class 08 (connection exception) and 57 (operator intervention: the server
				// shutting down, the session terminated), or the socket failing.
				let class = source.code().map(|code| &code.code()[..2]);
				let io = std::error::Error::source(source)
					.is_some_and(|inner| inner.downcast_ref::<std::io::Error>().is_some());
				source.is_closed() || io || matches!(class, Some("08" | "57"))
			}
			StoreError::Io { .. } => true,
			_ => false,
		}
	}
}

/// Where a stored key is in its life, as the keeper last saw it on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
	/// Made and sealed; its registration may or may not have been submitted. The chain is
	/// asked before it is submitted (again).
	Pending,
	/// Registered, finalized, and not expired.
	Live,
	/// Revoked or expired; settles after the closing window.
	Closing,
	/// Settled, rotated, discontinued or liquidated: the key is retired for good.
	Ended,
}

impl KeyStatus {
	/// The name stored in the file and shown by `status`.
	pub fn as_str(self) -> &'static str {
		match self {
			KeyStatus::Pending => "pending",
			KeyStatus::Live => "live",
			KeyStatus::Closing => "closing",
			KeyStatus::Ended => "ended",
		}
	}

	fn parse(text: &str) -> Option<Self> {
		Some(match text {
			"pending" => KeyStatus::Pending,
			"live" => KeyStatus::Live,
			"closing" => KeyStatus::Closing,
			"ended" => KeyStatus::Ended,
			_ => return None,
		})
	}
}

/// What the keeper keeps covered: the terms of every key it registers for one purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
	/// The profile's name.
	pub name: String,
	/// The account the sessions are opened with.
	pub counterpart: AccountId,
	/// Each key's term, in blocks.
	pub duration: BlockNumber,
	/// Each key's spending limit.
	pub spending_limit: Balance,
	/// Collateral held for each key.
	pub collateral: Balance,
	/// The resources each key may be used for.
	pub scope: Vec<Vec<u8>>,
	/// What the keys are for (registered as the key's description).
	pub description: String,
	/// The keys' signature scheme.
	pub crypto: CryptoKind,
	/// Renew once fewer blocks than this are left.
	pub renew_margin: BlockNumber,
	/// Replace the key by a new one once it is this many blocks old.
	pub rotation_interval: BlockNumber,
}

/// The keeper's pause (see [`Store::pause`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pause {
	/// When it was paused, in unix seconds.
	pub since: i64,
	/// Whether a running daemon has seen the pause.
	pub seen: bool,
}

/// A session key the keeper made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
	/// The row's id.
	pub id: i64,
	/// The profile it covers.
	pub profile: String,
	/// Its public key.
	pub public: SessionPublic,
	/// Where it is in its life.
	pub status: KeyStatus,
	/// When it was made (Unix seconds).
	pub created_at: i64,
	/// The block it was registered in, once known.
	pub registered_at: Option<BlockNumber>,
	/// Its expiry (or revocation) block, once known.
	pub expires_at: Option<BlockNumber>,
	/// Why it ended, once it has.
	pub ended_reason: Option<String>,
}

/// The account that signs the keeper's calls, and whose keys they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerRecord {
	/// The account whose key is stored (the owner, or the owner's delegate).
	pub signer: AccountId,
	/// The owner, when `signer` is its delegate (authorized on chain with `authorize_delegate`).
	pub delegate_of: Option<AccountId>,
}

impl OwnerRecord {
	/// The account that owns the session keys.
	pub fn owner(&self) -> &AccountId {
		self.delegate_of.as_ref().unwrap_or(&self.signer)
	}
}

/// The daemon lock of a store, held while it lives ([`Store::lock_daemon`]): a lock on a file
/// next to an SQLite store, a PostgreSQL advisory lock held by a connection of its own.
pub struct DaemonLock {
	_held: Box<dyn Send>,
}

impl DaemonLock {
	/// A lock held for as long as `held` lives.
	pub fn new(held: Box<dyn Send>) -> Self {
		Self { _held: held }
	}
}

impl std::fmt::Debug for DaemonLock {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("DaemonLock").finish_non_exhaustive()
	}
}

/// Who leads the daemons sharing a store ([`Lease::current`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leader {
	/// The leading daemon (`host:pid`).
	pub holder: String,
	/// Its fencing token: bumped at every takeover, checked by every write it makes.
	pub token: i64,
	/// Milliseconds its lease runs on, by the database's clock (negative: lapsed).
	pub lease_left_ms: i64,
}

/// The lead among the daemons sharing one store: exactly one holds an unlapsed lease, and each
/// takeover hands out a new fencing token ([`Store::fence`]). Counted on the database's clock
/// only, so the daemons' clocks need not agree.
pub trait Lease: Send {
	/// Takes the lead if no lease is held (none yet, released, or lapsed): the new fencing
	/// token; None if another daemon's lease runs.
	fn try_take(&mut self) -> Result<Option<i64>>;
	/// Extends the lease of `token` by the term; false if another daemon took over.
	fn extend(&mut self, token: i64) -> Result<bool>;
	/// Ends the lease of `token` at once (a clean stop), so a standby takes over without
	/// waiting for it to lapse.
	fn release(&mut self, token: i64) -> Result<()>;
	/// Who leads now, if anyone ever did.
	fn current(&mut self) -> Result<Option<Leader>>;
	/// Whether no other daemon can ever contend (the store admits one daemon only): the lease
	/// then never lapses.
	fn exclusive(&self) -> bool {
		false
	}
}

/// The lease of a store only one daemon can run on (the SQLite store's file lock sees to
/// that): always held, with token 0.
pub struct SoleDaemon;

impl Lease for SoleDaemon {
	fn try_take(&mut self) -> Result<Option<i64>> {
		Ok(Some(0))
	}

	fn extend(&mut self, _token: i64) -> Result<bool> {
		Ok(true)
	}

	fn release(&mut self, _token: i64) -> Result<()> {
		Ok(())
	}

	fn current(&mut self) -> Result<Option<Leader>> {
		Ok(None)
	}

	fn exclusive(&self) -> bool {
		true
	}
}

/// The `meta` row as stored: how the store is sealed (the columns of every backend of
/// [`SealerSettings`]; those that do not apply hold zeros, an empty salt or nothing), the check
/// value sealed that way, and the pause.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct MetaRow {
	/// The sealer's backend ([`SealerSettings::backend`]).
	pub kdf: String,
	/// Argon2id's memory, in KiB.
	pub memory_kib: u32,
	/// Argon2id's passes.
	pub iterations: u32,
	/// Argon2id's lanes.
	pub parallelism: u32,
	/// Argon2id's salt.
	pub salt: Vec<u8>,
	/// A known text, sealed: tells a wrong passphrase (or token) from a damaged record.
	pub check_value: Vec<u8>,
	/// The PKCS#11 module.
	pub pkcs11_module: Option<String>,
	/// The PKCS#11 token's label.
	pub pkcs11_token: Option<String>,
	/// The PKCS#11 key's label.
	pub pkcs11_key: Option<String>,
	/// When `revoke-all` paused the keeper (unix seconds).
	pub paused_at: Option<i64>,
	/// When a daemon saw the pause.
	pub pause_seen_at: Option<i64>,
}

impl MetaRow {
	/// The row of a store sealed as `settings` says, with its `check` value, not paused.
	fn new(settings: &SealerSettings, check: Vec<u8>) -> Self {
		let mut row = MetaRow {
			kdf: settings.backend().into(),
			memory_kib: 0,
			iterations: 0,
			parallelism: 0,
			salt: Vec::new(),
			check_value: check,
			pkcs11_module: None,
			pkcs11_token: None,
			pkcs11_key: None,
			paused_at: None,
			pause_seen_at: None,
		};
		row.set_settings(settings);
		row
	}

	/// Records `settings` (and clears the other backends' columns).
	fn set_settings(&mut self, settings: &SealerSettings) {
		self.kdf = settings.backend().into();
		(self.memory_kib, self.iterations, self.parallelism, self.salt) = (0, 0, 0, Vec::new());
		(self.pkcs11_module, self.pkcs11_token, self.pkcs11_key) = (None, None, None);
		match settings {
			SealerSettings::Passphrase(params) => {
				self.memory_kib = params.memory_kib;
				self.iterations = params.iterations;
				self.parallelism = params.parallelism;
				self.salt = params.salt.to_vec();
			}
			SealerSettings::Pkcs11(token) => {
				self.pkcs11_module = Some(token.module.to_string_lossy().into_owned());
				self.pkcs11_token = Some(token.token.clone());
				self.pkcs11_key = Some(token.key.clone());
			}
		}
	}

	/// How the store is sealed.
	fn settings(&self, store: &Location) -> Result<SealerSettings> {
		Ok(match self.kdf.as_str() {
			PassphraseSealer::BACKEND => {
				let salt: [u8; SALT_LEN] =
					self.salt.clone().try_into().map_err(|_| corrupt(store, "salt"))?;
				SealerSettings::Passphrase(KdfParams {
					memory_kib: self.memory_kib,
					iterations: self.iterations,
					parallelism: self.parallelism,
					salt,
				})
			}
			Pkcs11Sealer::BACKEND => {
				match (&self.pkcs11_module, &self.pkcs11_token, &self.pkcs11_key) {
					(Some(module), Some(token), Some(key)) => {
						SealerSettings::Pkcs11(Pkcs11Settings {
							module: module.into(),
							token: token.clone(),
							key: key.clone(),
						})
					}
					_ => {
						return Err(corrupt(
							store,
							"PKCS#11 settings (module, token or key missing)",
						))
					}
				}
			}
			other => return Err(corrupt(store, &format!("sealer backend {other:?}"))),
		})
	}
}

/// The owner row as stored: its accounts (SCALE-encoded), its secret URI sealed under
/// `owner_aad`, and the MAC of [`owner_record`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct OwnerRow {
	/// The signing account.
	pub signer: Vec<u8>,
	/// The owner it is a delegate of.
	pub delegate_of: Option<Vec<u8>>,
	/// The secret URI, sealed.
	pub sealed_secret: Vec<u8>,
	/// The row's MAC (absent in a row from before MACs).
	pub mac: Option<Vec<u8>>,
}

/// A profile's row as stored, with its MAC.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ProfileRow {
	/// The profile's name.
	pub name: String,
	/// The counterpart, SCALE-encoded.
	pub counterpart: Vec<u8>,
	/// Each key's term.
	pub duration: BlockNumber,
	/// The spending limit, in decimal.
	pub spending_limit: String,
	/// The collateral, in decimal.
	pub collateral: String,
	/// The scope, SCALE-encoded.
	pub scope: Vec<u8>,
	/// The description.
	pub description: String,
	/// The scheme's name.
	pub crypto: String,
	/// The renew margin.
	pub renew_margin: BlockNumber,
	/// The rotation interval.
	pub rotation_interval: BlockNumber,
	/// The MAC of [`ProfileRow::record`] (absent in a row from before MACs).
	pub mac: Option<Vec<u8>>,
}

/// A key's row as stored: its secret sealed under associated data naming its id and public
/// key (`key_aad`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct KeyRow {
	/// The row's id (part of the sealed secret's associated data: kept by a move).
	pub id: i64,
	/// The profile.
	pub profile: String,
	/// The public key, SCALE-encoded.
	pub public: Vec<u8>,
	/// The secret, sealed.
	pub sealed_secret: Vec<u8>,
	/// [`KeyStatus::as_str`].
	pub status: String,
	/// When it was made.
	pub created_at: i64,
	/// The block it was registered in.
	pub registered_at: Option<BlockNumber>,
	/// Its expiry (or revocation) block.
	pub expires_at: Option<BlockNumber>,
	/// Why it ended.
	pub ended_reason: Option<String>,
}

/// Every row of a store, as stored: what `export` writes and `import` reads. Nothing in it is
/// opened: the secrets stay sealed and the MACs are carried as they are.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Dump {
	/// The `meta` row.
	pub meta: MetaRow,
	/// The owner row.
	pub owner: Option<OwnerRow>,
	/// Every profile, by name.
	pub profiles: Vec<ProfileRow>,
	/// Every key, by id.
	pub keys: Vec<KeyRow>,
	/// The highest key id ever handed out (0 for none): ids are never reused, also after a move.
	pub key_id_high: i64,
}

/// Which keys [`Backend::keys`] reads.
#[derive(Clone, Copy, Debug)]
pub enum KeyFilter<'a> {
	/// Every key.
	All,
	/// The key in this row.
	Id(i64),
	/// The keys of this profile that have not ended.
	Open(&'a str),
}

/// A change of the pause ([`Backend::set_pause`]).
#[derive(Clone, Copy, Debug)]
pub enum PauseChange {
	/// Paused at this time; not seen yet.
	Pause(i64),
	/// Lifted.
	Resume,
	/// A daemon saw it at this time (nothing if not paused).
	Seen(i64),
}

/// What a store keeps its rows in. It stores and reads rows as they are; [`Store`] seals,
/// authenticates and checks them, the same way over every backend. Each method that changes
/// something is one transaction.
pub trait Backend: Send {
	/// Where the store is.
	fn location(&self) -> &Location;
	/// The store's schema version (this build's, once [`Backend::migrate`] ran).
	fn version(&self) -> u32;
	/// Brings an older schema to the current one, in one transaction; rows from before MACs
	/// get theirs under `sealer`. Called only once the check value opened.
	fn migrate(&mut self, sealer: &dyn Sealer) -> Result<()>;
	/// The `meta` row.
	fn meta(&self) -> Result<MetaRow>;
	/// Changes the pause in the `meta` row.
	fn set_pause(&mut self, change: PauseChange) -> Result<()>;
	/// The owner row, if any.
	fn owner(&self) -> Result<Option<OwnerRow>>;
	/// Stores the owner row, replacing any before.
	fn set_owner(&mut self, row: &OwnerRow) -> Result<()>;
	/// The profiles (all, or the one named `name`), by name.
	fn profiles(&self, name: Option<&str>) -> Result<Vec<ProfileRow>>;
	/// Adds a profile; false (and nothing changed) if one of that name exists.
	fn insert_profile(&mut self, row: &ProfileRow) -> Result<bool>;
	/// Replaces the profile of that name; false if there is none.
	fn update_profile(&mut self, row: &ProfileRow) -> Result<bool>;
	/// Removes a profile and its keys, all ended ([`StoreError::ProfileInUse`] if not), in one
	/// transaction.
	fn remove_profile(&mut self, name: &str) -> Result<()>;
	/// Adds a pending key of `profile` ([`StoreError::UnknownProfile`] if none), its secret
	/// sealed by `seal` given the new row's id, in one transaction; the new id.
	fn add_pending_key(
		&mut self,
		profile: &str,
		public: &[u8],
		created_at: i64,
		seal: &mut dyn FnMut(i64) -> Result<Vec<u8>>,
	) -> Result<i64>;
	/// The keys `filter` selects, by id.
	fn keys(&self, filter: KeyFilter<'_>) -> Result<Vec<KeyRow>>;
	/// Records a key's status (and what is given of its blocks and reason); false if there is
	/// no key `id`.
	fn update_key(
		&mut self,
		id: i64,
		status: &str,
		registered_at: Option<BlockNumber>,
		expires_at: Option<BlockNumber>,
		ended_reason: Option<&str>,
	) -> Result<bool>;
	/// Takes the store's daemon lock ([`StoreError::DaemonRunning`] if held).
	fn lock_daemon(&self) -> Result<DaemonLock>;
	/// The lock a `run` daemon holds while it lives. Where daemons can share the store in
	/// failover ([`Backend::shared`]), a lock they all hold at once, which
	/// [`Backend::lock_daemon`] still waits for; otherwise [`Backend::lock_daemon`].
	fn join_daemons(&self) -> Result<DaemonLock> {
		self.lock_daemon()
	}
	/// Whether several daemons may run on this store, one leading ([`Backend::lease`]).
	fn shared(&self) -> bool {
		false
	}
	/// The lease the daemons of this store contend for, held by `holder` for `term` at a time,
	/// over a connection of its own.
	fn lease(&self, _holder: &str, _term: std::time::Duration) -> Result<Box<dyn Lease>> {
		Ok(Box::new(SoleDaemon))
	}
	/// From now on, every write checks that `token` still leads, in its own transaction
	/// ([`StoreError::Fenced`] if not); None: no check (the one-shot commands).
	fn set_fence(&mut self, _token: Option<i64>) {}
	/// Whether the fencing token set leads, with its lease unlapsed (asked before each
	/// submission to the chain).
	fn leads(&self) -> Result<bool> {
		Ok(true)
	}
	/// Replaces a lost connection to the database (nothing to do for a file).
	fn reconnect(&mut self) -> Result<()> {
		Ok(())
	}
	/// Every row, read in one consistent snapshot (a daemon may write meanwhile).
	fn dump(&self) -> Result<Dump>;
	/// Rewrites the sealed values, the MACs and the `meta` row in one transaction that no write
	/// interleaves: `change` gets every row and returns them changed (ids, names, accounts and
	/// statuses stay as they are).
	fn reseal(&mut self, change: &mut dyn FnMut(Dump) -> Result<Dump>) -> Result<()>;
	/// The SQLite connection, for the unit tests that change a file as an attacker would.
	#[cfg(test)]
	fn sqlite_connection(&self) -> Option<&rusqlite::Connection> {
		None
	}
}

/// The magic at the start of an export file.
pub const EXPORT_MAGIC: &[u8] = b"session-keys-keeper export\n";
/// The export format this build writes and reads.
pub const EXPORT_VERSION: u32 = 1;

impl Dump {
	/// The export file's bytes: [`EXPORT_MAGIC`], then the SCALE encoding of
	/// ([`EXPORT_VERSION`], the dump), then the SHA-256 of all that (against a truncated or
	/// damaged copy; the rows carry their own MACs and sealed secrets against a changed one).
	pub fn to_export(&self) -> Vec<u8> {
		let mut bytes = EXPORT_MAGIC.to_vec();
		(EXPORT_VERSION, self).encode_to(&mut bytes);
		let digest = Sha256::digest(&bytes);
		bytes.extend_from_slice(&digest);
		bytes
	}

	/// Reads an export file's bytes ([`Dump::to_export`]); `path` names it in errors.
	pub fn from_export(bytes: &[u8], path: &Path) -> Result<Dump> {
		let bad = |what: &str| StoreError::BadExport { path: path.to_owned(), what: what.into() };
		let body = bytes.strip_prefix(EXPORT_MAGIC).ok_or_else(|| bad("no export header"))?;
		if bytes.len() < EXPORT_MAGIC.len() + 32 {
			return Err(bad("truncated"));
		}
		let (signed, digest) = bytes.split_at(bytes.len() - 32);
		if Sha256::digest(signed)[..] != *digest {
			return Err(bad("its checksum does not match (truncated or damaged)"));
		}
		let mut body = &body[..body.len() - 32];
		let version = u32::decode(&mut body).map_err(|_| bad("truncated"))?;
		if version != EXPORT_VERSION {
			return Err(bad(&format!(
				"format version {version}, this build reads {EXPORT_VERSION}"
			)));
		}
		let dump = Dump::decode(&mut body).map_err(|_| bad("its rows do not decode"))?;
		if !body.is_empty() {
			return Err(bad("bytes after the rows"));
		}
		Ok(dump)
	}
}

/// The store, opened with its sealer.
pub struct Store {
	backend: Box<dyn Backend>,
	sealer: Box<dyn Sealer + Send>,
}

impl std::fmt::Debug for Store {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("Store").field("location", self.location()).finish_non_exhaustive()
	}
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

impl Store {
	/// Creates an SQLite store at `path` sealed under `passphrase`, with fresh key-derivation
	/// parameters.
	pub fn create(path: &Path, passphrase: &[u8]) -> Result<Store> {
		Self::create_with(path, passphrase, KdfParams::generate())
	}

	/// [`Store::create`] with chosen parameters (tests use the weakest accepted ones).
	pub fn create_with(path: &Path, passphrase: &[u8], params: KdfParams) -> Result<Store> {
		Self::create_at_with(&Location::from(path), passphrase, params)
	}

	/// [`Store::create_with`] at `location`, either backend.
	pub fn create_at_with(
		location: &Location,
		passphrase: &[u8],
		params: KdfParams,
	) -> Result<Store> {
		if let Location::Sqlite(path) = location {
			if path.exists() {
				return Err(StoreError::Exists(location.clone()));
			}
		}
		let sealer = PassphraseSealer::derive(passphrase, &params)?;
		Self::create_sealed_at(location, &SealerSettings::Passphrase(params), Box::new(sealer))
	}

	/// Creates an SQLite store at `path` whose secrets `sealer` seals; `settings` are recorded
	/// in the store for [`Store::open_with`] (see [`crate::sealer`] on other backends).
	pub fn create_sealed(
		path: &Path,
		settings: &SealerSettings,
		sealer: Box<dyn Sealer + Send>,
	) -> Result<Store> {
		Self::create_sealed_at(&Location::from(path), settings, sealer)
	}

	/// [`Store::create_sealed`] at `location`, either backend.
	pub fn create_sealed_at(
		location: &Location,
		settings: &SealerSettings,
		sealer: Box<dyn Sealer + Send>,
	) -> Result<Store> {
		let check = sealer.seal(CHECK_AAD, CHECK_PLAINTEXT)?;
		let dump = Dump {
			meta: MetaRow::new(settings, check),
			owner: None,
			profiles: Vec::new(),
			keys: Vec::new(),
			key_id_high: 0,
		};
		let backend = create_backend(location, &dump)?;
		Ok(Store { backend, sealer })
	}

	/// Opens the SQLite store at `path` with `passphrase`, migrating an older schema.
	/// [`StoreError::NotPassphraseSealed`] if another backend seals it.
	pub fn open(path: &Path, passphrase: &[u8]) -> Result<Store> {
		Self::open_at(&Location::from(path), passphrase)
	}

	/// [`Store::open`] at `location`, either backend.
	pub fn open_at(location: &Location, passphrase: &[u8]) -> Result<Store> {
		Self::open_at_with(location, |settings| match settings {
			SealerSettings::Passphrase(params) => {
				Ok(Box::new(PassphraseSealer::derive(passphrase, params)?))
			}
			other => Err(StoreError::NotPassphraseSealed {
				path: location.clone(),
				backend: other.backend(),
			}),
		})
	}

	/// How the SQLite store at `path` is sealed, as it records it, read without opening it:
	/// to know whether to ask for a passphrase or a PIN before [`Store::open_with`].
	pub fn sealer_settings(path: &Path) -> Result<SealerSettings> {
		Self::sealer_settings_at(&Location::from(path))
	}

	/// [`Store::sealer_settings`] at `location`, either backend.
	pub fn sealer_settings_at(location: &Location) -> Result<SealerSettings> {
		let backend = open_backend(location)?;
		backend.meta()?.settings(location)
	}

	/// Opens the SQLite store at `path` with the sealer `unlock` returns for the settings
	/// recorded in it, migrating an older schema. [`StoreError::WrongPassphrase`] if that
	/// sealer does not open the store's check value.
	pub fn open_with(
		path: &Path,
		unlock: impl FnOnce(&SealerSettings) -> Result<Box<dyn Sealer + Send>>,
	) -> Result<Store> {
		Self::open_at_with(&Location::from(path), unlock)
	}

	/// [`Store::open_with`] at `location`, either backend.
	pub fn open_at_with(
		location: &Location,
		unlock: impl FnOnce(&SealerSettings) -> Result<Box<dyn Sealer + Send>>,
	) -> Result<Store> {
		let mut backend = open_backend(location)?;
		let meta = backend.meta()?;
		let settings = meta.settings(location)?;
		let sealer = unlock(&settings)?;
		match sealer.open(CHECK_AAD, &meta.check_value) {
			Ok(plain) if plain.as_slice() == CHECK_PLAINTEXT => {}
			Ok(_) => return Err(corrupt(location, "check value")),
			Err(SealError::DoesNotOpen) => {
				return Err(match &settings {
					SealerSettings::Passphrase(_) => StoreError::WrongPassphrase(location.clone()),
					SealerSettings::Pkcs11(token) => StoreError::WrongKeys {
						path: location.clone(),
						keys: format!(
							"the keys {:?} and {:?} in token {:?}",
							token.key,
							token.mac_key_label(),
							token.token
						),
					},
				})
			}
			Err(error) => return Err(error.into()),
		}
		// Only a store its sealer opens is migrated; rows from before MACs get theirs then, as
		// they are: whoever holds the passphrase vouches for them.
		backend.migrate(sealer.as_ref())?;
		Ok(Store { backend, sealer })
	}

	/// Every row of the store at `location`, sealed as stored, read in one snapshot without
	/// opening it (a daemon may run meanwhile): what `export` writes.
	/// [`StoreError::OlderSchema`] if the store was not migrated to this build's schema yet.
	pub fn export(location: &Location) -> Result<Dump> {
		let backend = open_backend(location)?;
		let current = match location {
			Location::Sqlite(_) => SCHEMA_VERSION,
			Location::Postgres(_) => postgres::SCHEMA_VERSION,
		};
		if backend.version() < current {
			return Err(StoreError::OlderSchema {
				path: location.clone(),
				found: backend.version(),
				current,
			});
		}
		backend.dump()
	}

	/// Makes a store at `location` holding exactly `dump`'s rows, in one transaction
	/// ([`StoreError::Exists`] if there is one): what `import` does. Nothing is opened; the
	/// store then opens with what opened the exported one (the same passphrase, or token).
	pub fn import(location: &Location, dump: &Dump) -> Result<()> {
		dump.meta.settings(location)?;
		create_backend(location, dump).map(drop)
	}

	/// Where the store is.
	pub fn location(&self) -> &Location {
		self.backend.location()
	}

	/// The store's file, for an SQLite store.
	pub fn path(&self) -> Option<&Path> {
		self.location().path()
	}

	/// Takes the store's daemon lock (for SQLite, a file next to it; for PostgreSQL, an
	/// advisory lock held by a connection of its own; released when the [`DaemonLock`] is
	/// dropped or the process dies): one daemon per store, and no passphrase change under a
	/// running daemon.
	pub fn lock_daemon(&self) -> Result<DaemonLock> {
		self.backend.lock_daemon()
	}

	/// The lock a `run` daemon holds: [`Store::lock_daemon`], except on a store daemons share
	/// in failover ([`Store::shared`]), where all of them hold it at once.
	pub fn join_daemons(&self) -> Result<DaemonLock> {
		self.backend.join_daemons()
	}

	/// Whether several daemons may run on this store in failover (PostgreSQL), one leading.
	pub fn shared(&self) -> bool {
		self.backend.shared()
	}

	/// The lease the store's daemons contend for ([`Lease`]), as `holder`, `term` at a time.
	pub fn lease(&self, holder: &str, term: std::time::Duration) -> Result<Box<dyn Lease>> {
		self.backend.lease(holder, term)
	}

	/// Every write from now on is refused ([`StoreError::Fenced`]) unless `token` still
	/// leads; None lifts the check.
	pub fn fence(&mut self, token: Option<i64>) {
		self.backend.set_fence(token);
	}

	/// Whether the fencing token set still leads, its lease unlapsed.
	pub fn leads(&self) -> Result<bool> {
		self.backend.leads()
	}

	/// Replaces a lost database connection.
	pub fn reconnect(&mut self) -> Result<()> {
		self.backend.reconnect()
	}

	// ---- the owner -----------------------------------------------------------------------

	/// Stores the signing key (its secret URI, sealed), replacing any before; the record's
	/// accounts are authenticated ([`Store::owner`] checks them).
	pub fn set_owner(&mut self, owner: &OwnerRecord, secret_uri: &str) -> Result<()> {
		let sealed = self.sealer.seal(&owner_aad(&owner.signer), secret_uri.as_bytes())?;
		let (signer, delegate_of) =
			(owner.signer.encode(), owner.delegate_of.as_ref().map(Encode::encode));
		let mac = self.sealer.authenticate(&owner_record(&signer, delegate_of.as_deref()))?;
		self.backend.set_owner(&OwnerRow {
			signer,
			delegate_of,
			sealed_secret: sealed,
			mac: Some(mac.to_vec()),
		})
	}

	/// The signing account, if one was imported; [`StoreError::Tampered`] if the record was
	/// changed outside the keeper.
	pub fn owner(&self) -> Result<Option<OwnerRecord>> {
		self.backend.owner()?.map(|row| self.checked_owner(&row)).transpose()
	}

	fn checked_owner(&self, row: &OwnerRow) -> Result<OwnerRecord> {
		let record = owner_record(&row.signer, row.delegate_of.as_deref());
		if !self.sealer.verify(&record, row.mac.as_deref().unwrap_or_default())? {
			return Err(StoreError::Tampered {
				record: "the owner record".into(),
				remedy: "import the signing key again (`owner import`) if the change was yours",
			});
		}
		Ok(OwnerRecord {
			signer: self.decode(&row.signer, "owner account")?,
			delegate_of: row
				.delegate_of
				.as_ref()
				.map(|bytes| self.decode(bytes, "delegating owner"))
				.transpose()?,
		})
	}

	/// The signing key's secret URI, opened.
	pub fn owner_secret(&self) -> Result<(OwnerRecord, Zeroizing<String>)> {
		let row = self.backend.owner()?.ok_or(StoreError::NoOwner)?;
		let owner = self.checked_owner(&row)?;
		let plain = self
			.sealer
			.open(&owner_aad(&owner.signer), &row.sealed_secret)
			.map_err(|source| StoreError::Damaged { record: "owner".into(), source })?;
		// Checked in place: the error of a conversion would carry a copy of the bytes.
		let uri = std::str::from_utf8(&plain)
			.map_err(|_| corrupt(self.location(), "owner secret (not UTF-8)"))?;
		Ok((owner, Zeroizing::new(uri.to_owned())))
	}

	// ---- profiles ------------------------------------------------------------------------

	/// Adds a profile, with its MAC.
	pub fn add_profile(&mut self, profile: &Profile) -> Result<()> {
		let row = self.profile_row(profile)?;
		if !self.backend.insert_profile(&row)? {
			return Err(StoreError::ProfileExists(profile.name.clone()));
		}
		Ok(())
	}

	/// The row `profile` is stored as, with its MAC.
	fn profile_row(&self, profile: &Profile) -> Result<ProfileRow> {
		let mut row = ProfileRow::of(profile);
		row.mac = Some(self.sealer.authenticate(&row.record())?.to_vec());
		Ok(row)
	}

	/// Every profile, by name; [`StoreError::Tampered`] naming the first one changed outside
	/// the keeper.
	pub fn profiles(&self) -> Result<Vec<Profile>> {
		self.checked_profiles()?.into_iter().collect()
	}

	/// Every profile by name, each checked on its own: a profile changed outside the keeper is
	/// [`StoreError::Tampered`] and the others are read (the daemon keeps them covered).
	pub fn checked_profiles(&self) -> Result<Vec<Result<Profile>>> {
		Ok(self.backend.profiles(None)?.into_iter().map(|row| self.checked(row)).collect())
	}

	/// The profile named `name`; [`StoreError::Tampered`] if it was changed outside the keeper.
	pub fn profile(&self, name: &str) -> Result<Profile> {
		let row = self
			.backend
			.profiles(Some(name))?
			.pop()
			.ok_or_else(|| StoreError::UnknownProfile(name.into()))?;
		self.checked(row)
	}

	/// `row` parsed, if it carries its MAC.
	fn checked(&self, row: ProfileRow) -> Result<Profile> {
		if !self.sealer.verify(&row.record(), row.mac.as_deref().unwrap_or_default())? {
			return Err(StoreError::Tampered {
				record: format!("profile `{}`", row.name),
				remedy: "if the change was yours, remove the profile (`profile remove`, once its \
				         keys have ended) and add it again",
			});
		}
		row.parse(self.location())
	}

	/// Replaces the settings of the profile named `profile.name`; keys registered from now on
	/// (a pending key's retry included) get the new terms, renewals the new duration.
	pub fn update_profile(&mut self, profile: &Profile) -> Result<()> {
		let row = self.profile_row(profile)?;
		if !self.backend.update_profile(&row)? {
			return Err(StoreError::UnknownProfile(profile.name.clone()));
		}
		Ok(())
	}

	/// Removes a profile whose keys have all ended (their records go with it). A profile
	/// changed outside the keeper can be removed too: that registers nothing.
	pub fn remove_profile(&mut self, name: &str) -> Result<()> {
		self.backend.remove_profile(name)
	}

	// ---- keys ----------------------------------------------------------------------------

	/// Seals and stores a new key as [`KeyStatus::Pending`], in one transaction, before anything
	/// is submitted for it.
	pub fn add_pending_key(
		&mut self,
		profile: &str,
		public: SessionPublic,
		secret: &[u8],
		created_at: i64,
	) -> Result<StoredKey> {
		let sealer = &self.sealer;
		// The row's id is part of the associated data, so the row is made first and sealed
		// into in the same transaction.
		let id =
			self.backend.add_pending_key(profile, &public.encode(), created_at, &mut |id| {
				Ok(sealer.seal(&key_aad(id, &public), secret)?)
			})?;
		self.key_by_id(id)
	}

	/// The key in row `id`.
	pub fn key_by_id(&self, id: i64) -> Result<StoredKey> {
		self.keys_where(KeyFilter::Id(id))?
			.pop()
			.ok_or_else(|| StoreError::UnknownKey(format!("#{id}")))
	}

	/// The stored key whose public key (`0x`-hex of its encoding, or of its raw bytes) starts
	/// with `prefix`, if exactly one does.
	pub fn find_key(&self, prefix: &str) -> Result<StoredKey> {
		let wanted = prefix.trim_start_matches("0x").to_ascii_lowercase();
		let matching: Vec<_> = self
			.keys()?
			.into_iter()
			.filter(|key| {
				// `0x` and the scheme's byte, then the raw key.
				let encoded = hex(&key.public.encode());
				!wanted.is_empty()
					&& (encoded[2..].starts_with(&wanted) || encoded[4..].starts_with(&wanted))
			})
			.collect();
		match <[StoredKey; 1]>::try_from(matching) {
			Ok([key]) => Ok(key),
			Err(matching) if matching.is_empty() => Err(StoreError::UnknownKey(prefix.into())),
			Err(matching) => {
				Err(StoreError::AmbiguousKey { prefix: prefix.into(), count: matching.len() })
			}
		}
	}

	/// Every stored key, oldest first.
	pub fn keys(&self) -> Result<Vec<StoredKey>> {
		self.keys_where(KeyFilter::All)
	}

	/// The keys of `profile` that have not ended, oldest first.
	pub fn open_keys(&self, profile: &str) -> Result<Vec<StoredKey>> {
		self.keys_where(KeyFilter::Open(profile))
	}

	fn keys_where(&self, filter: KeyFilter<'_>) -> Result<Vec<StoredKey>> {
		self.backend.keys(filter)?.into_iter().map(|row| self.stored_key(row)).collect()
	}

	fn stored_key(&self, row: KeyRow) -> Result<StoredKey> {
		Ok(StoredKey {
			id: row.id,
			public: self.decode(&row.public, "public key")?,
			status: KeyStatus::parse(&row.status)
				.ok_or_else(|| corrupt(self.location(), &format!("key status {:?}", row.status)))?,
			profile: row.profile,
			created_at: row.created_at,
			registered_at: row.registered_at,
			expires_at: row.expires_at,
			ended_reason: row.ended_reason,
		})
	}

	/// The key's secret, opened.
	pub fn key_secret(&self, key: &StoredKey) -> Result<Zeroizing<Vec<u8>>> {
		let row = self
			.backend
			.keys(KeyFilter::Id(key.id))?
			.pop()
			.ok_or_else(|| StoreError::UnknownKey(hex(&key.public.encode())))?;
		self.sealer.open(&key_aad(key.id, &key.public), &row.sealed_secret).map_err(|source| {
			StoreError::Damaged { record: format!("key {}", hex(&key.public.encode())), source }
		})
	}

	/// Records what the chain shows of a key, in one transaction.
	pub fn update_key(
		&mut self,
		id: i64,
		status: KeyStatus,
		registered_at: Option<BlockNumber>,
		expires_at: Option<BlockNumber>,
		ended_reason: Option<&str>,
	) -> Result<()> {
		if !self.backend.update_key(id, status.as_str(), registered_at, expires_at, ended_reason)? {
			return Err(StoreError::UnknownKey(format!("#{id}")));
		}
		Ok(())
	}

	/// Records that key `id` was revoked in block `block`: closing, its window ending there.
	pub fn mark_revoked(&mut self, id: i64, block: BlockNumber) -> Result<()> {
		self.update_key(id, KeyStatus::Closing, None, Some(block), Some("revoked"))
	}

	// ---- the pause -----------------------------------------------------------------------

	/// Pauses the keeper (`revoke-all`): a running daemon registers, renews and revokes nothing
	/// until [`Store::resume`]; it only records what the chain shows. `at` is unix seconds.
	pub fn pause(&mut self, at: i64) -> Result<()> {
		self.backend.set_pause(PauseChange::Pause(at))
	}

	/// Lifts the pause.
	pub fn resume(&mut self) -> Result<()> {
		self.backend.set_pause(PauseChange::Resume)
	}

	/// The pause, if the keeper is paused: since when, and whether a daemon has seen it (it
	/// then submits nothing more).
	pub fn pause_state(&self) -> Result<Option<Pause>> {
		let meta = self.backend.meta()?;
		Ok(meta.paused_at.map(|since| Pause { since, seen: meta.pause_seen_at.is_some() }))
	}

	/// The daemon's acknowledgement of the pause, written between steps: from here on it
	/// submits nothing.
	pub fn pause_seen(&mut self, at: i64) -> Result<()> {
		self.backend.set_pause(PauseChange::Seen(at))
	}

	// ---- the passphrase ------------------------------------------------------------------

	/// Re-seals every secret under `new_passphrase` (and a fresh salt), in one transaction.
	pub fn change_passphrase(&mut self, new_passphrase: &[u8]) -> Result<()> {
		self.change_passphrase_with(new_passphrase, KdfParams::generate())
	}

	/// [`Store::change_passphrase`] with chosen parameters.
	pub fn change_passphrase_with(
		&mut self,
		new_passphrase: &[u8],
		params: KdfParams,
	) -> Result<()> {
		// Refused before the slow derivation if a daemon runs; `reseal` asks again under its
		// own hold of the lock.
		drop(self.lock_daemon()?);
		let sealer = PassphraseSealer::derive(new_passphrase, &params)?;
		self.reseal(&SealerSettings::Passphrase(params), Box::new(sealer))
	}

	/// Re-seals every secret with `sealer`, recording `settings`, in one transaction: a new
	/// passphrase, or a move to another backend. Every row is checked under the old sealer
	/// before the new one vouches for it.
	pub fn reseal(
		&mut self,
		settings: &SealerSettings,
		sealer: Box<dyn Sealer + Send>,
	) -> Result<()> {
		// A running daemon would go on sealing new keys with the old sealer.
		let _lock = self.lock_daemon()?;
		let old = &self.sealer;
		let new = &sealer;
		let location = self.backend.location().clone();
		let decode = |bytes: &[u8], what: &str| -> Result<SessionPublic> {
			SessionPublic::decode(&mut &bytes[..]).map_err(|_| corrupt(&location, what))
		};
		self.backend.reseal(&mut |mut dump: Dump| {
			for key in &mut dump.keys {
				let public = decode(&key.public, "public key")?;
				let aad = key_aad(key.id, &public);
				let plain = old.open(&aad, &key.sealed_secret).map_err(|source| {
					StoreError::Damaged { record: format!("key {}", hex(&key.public)), source }
				})?;
				key.sealed_secret = new.seal(&aad, &plain)?;
			}
			if let Some(owner) = &mut dump.owner {
				let record = owner_record(&owner.signer, owner.delegate_of.as_deref());
				if !old.verify(&record, owner.mac.as_deref().unwrap_or_default())? {
					return Err(StoreError::Tampered {
						record: "the owner record".into(),
						remedy: "import the signing key again (`owner import`) if the change \
						         was yours",
					});
				}
				let signer = AccountId::decode(&mut &owner.signer[..])
					.map_err(|_| corrupt(&location, "owner account"))?;
				let aad = owner_aad(&signer);
				let plain = old
					.open(&aad, &owner.sealed_secret)
					.map_err(|source| StoreError::Damaged { record: "owner".into(), source })?;
				owner.sealed_secret = new.seal(&aad, &plain)?;
				owner.mac = Some(new.authenticate(&record)?.to_vec());
			}
			for profile in &mut dump.profiles {
				let record = profile.record();
				if !old.verify(&record, profile.mac.as_deref().unwrap_or_default())? {
					return Err(StoreError::Tampered {
						record: format!("profile `{}`", profile.name),
						remedy: "if the change was yours, remove the profile (`profile remove`, \
						         once its keys have ended) and add it again",
					});
				}
				profile.mac = Some(new.authenticate(&record)?.to_vec());
			}
			dump.meta.set_settings(settings);
			dump.meta.check_value = new.seal(CHECK_AAD, CHECK_PLAINTEXT)?;
			Ok(dump)
		})?;
		self.sealer = sealer;
		Ok(())
	}

	fn decode<T: Decode>(&self, mut bytes: &[u8], what: &str) -> Result<T> {
		T::decode(&mut bytes).map_err(|_| corrupt(self.location(), what))
	}
}

/// Opens the backend at `location`, refusing a newer schema and a database or file the keeper
/// did not make.
fn open_backend(location: &Location) -> Result<Box<dyn Backend>> {
	Ok(match location {
		Location::Sqlite(path) => Box::new(sqlite::SqliteBackend::open(path)?),
		Location::Postgres(target) => Box::new(postgres::PostgresBackend::open(target)?),
	})
}

/// Makes a store at `location` holding `dump`'s rows, in one transaction.
fn create_backend(location: &Location, dump: &Dump) -> Result<Box<dyn Backend>> {
	Ok(match location {
		Location::Sqlite(path) => Box::new(sqlite::SqliteBackend::create(path, dump)?),
		Location::Postgres(target) => Box::new(postgres::PostgresBackend::create(target, dump)?),
	})
}

impl ProfileRow {
	/// The row `profile` is stored as, without its MAC.
	fn of(profile: &Profile) -> Self {
		Self {
			name: profile.name.clone(),
			counterpart: profile.counterpart.encode(),
			duration: profile.duration,
			spending_limit: profile.spending_limit.to_string(),
			collateral: profile.collateral.to_string(),
			scope: profile.scope.encode(),
			description: profile.description.clone(),
			crypto: profile.crypto.name().into(),
			renew_margin: profile.renew_margin,
			rotation_interval: profile.rotation_interval,
			mac: None,
		}
	}

	/// The canonical encoding its MAC is over: a domain, then every column as stored, each
	/// SCALE-encoded (length-prefixed where variable), so no two rows encode alike.
	pub fn record(&self) -> Vec<u8> {
		let mut record = PROFILE_MAC_DOMAIN.to_vec();
		self.name.encode_to(&mut record);
		self.counterpart.encode_to(&mut record);
		self.duration.encode_to(&mut record);
		self.spending_limit.encode_to(&mut record);
		self.collateral.encode_to(&mut record);
		self.scope.encode_to(&mut record);
		self.description.encode_to(&mut record);
		self.crypto.encode_to(&mut record);
		self.renew_margin.encode_to(&mut record);
		self.rotation_interval.encode_to(&mut record);
		record
	}

	fn parse(self, store: &Location) -> Result<Profile> {
		let what = |field: &str| corrupt(store, &format!("{field} of profile {:?}", self.name));
		Ok(Profile {
			counterpart: Decode::decode(&mut &self.counterpart[..])
				.map_err(|_| what("counterpart"))?,
			duration: self.duration,
			spending_limit: self.spending_limit.parse().map_err(|_| what("spending limit"))?,
			collateral: self.collateral.parse().map_err(|_| what("collateral"))?,
			scope: Decode::decode(&mut &self.scope[..]).map_err(|_| what("scope"))?,
			description: self.description,
			crypto: self.crypto.parse().map_err(|_| what("crypto"))?,
			renew_margin: self.renew_margin,
			rotation_interval: self.rotation_interval,
			name: self.name,
		})
	}
}

/// The associated data binding a key's sealed secret to its row and public key. The row's id
/// is the store's own counter, not a backend's row address: a move (`export`, `import`) keeps
/// it, so the secret opens in the new store.
fn key_aad(id: i64, public: &SessionPublic) -> Vec<u8> {
	let mut aad = b"session-keys-keeper/key".to_vec();
	aad.extend_from_slice(&id.to_le_bytes());
	aad.extend_from_slice(&public.encode());
	aad
}

/// The canonical encoding of the owner row (its accounts as stored) that its MAC is over.
pub fn owner_record(signer: &[u8], delegate_of: Option<&[u8]>) -> Vec<u8> {
	let mut record = OWNER_MAC_DOMAIN.to_vec();
	signer.encode_to(&mut record);
	delegate_of.encode_to(&mut record);
	record
}

/// The associated data binding the signing key's sealed secret to its account.
fn owner_aad(signer: &AccountId) -> Vec<u8> {
	let mut aad = b"session-keys-keeper/owner".to_vec();
	aad.extend_from_slice(signer.as_ref());
	aad
}

fn corrupt(store: &Location, what: &str) -> StoreError {
	StoreError::Corrupt { path: store.clone(), what: what.into() }
}

/// `0x`-hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
	format!("0x{}", sp_core::hexdisplay::HexDisplay::from(&bytes))
}

#[cfg(test)]
mod tests;
