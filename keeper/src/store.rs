//! The keeper's store: one SQLite file holding the key derivation's parameters, the owner's
//! signing key, the profiles and every session key the keeper made, each secret sealed by a
//! [`Sealer`].
//!
//! The schema's version is SQLite's `user_version`; [`Store::open`] migrates an older file and
//! refuses a newer one. The file is in WAL mode, and every change of a key's state is one
//! transaction.

use std::path::{Path, PathBuf};

use codec::{Decode, Encode};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use session_keys_client::{AccountId, Balance, BlockNumber, CryptoKind, SessionPublic};
use zeroize::Zeroizing;

use crate::sealer::{
	pkcs11::Pkcs11Error, KdfParams, PassphraseSealer, Pkcs11Sealer, Pkcs11Settings, SealError,
	Sealer, SealerSettings, SALT_LEN,
};

/// The domain of a profile row's MAC ([`ProfileRow::record`]).
const PROFILE_MAC_DOMAIN: &[u8] = b"session-keys-keeper/profile/v1";
/// The domain of the owner row's MAC ([`owner_record`]).
const OWNER_MAC_DOMAIN: &[u8] = b"session-keys-keeper/owner/v1";

/// The schema this build writes. Version 1 is the first; 2 added the pause; 3 renamed the
/// owner record's `proxy_of` column to `delegate_of` (the hot key is the owner's delegate now,
/// not a proxy: an older keeper, which would wrap calls in `proxy.proxy`, refuses the file); 4
/// added a MAC to every profile and to the owner record (an older keeper would write rows
/// without one, which this build refuses); 5 added the `meta` columns of a store sealed in a
/// PKCS#11 token (an older keeper would take such a store for a damaged one).
pub const SCHEMA_VERSION: u32 = 5;

/// The associated data of the check value, which tells a wrong passphrase from a damaged record.
const CHECK_AAD: &[u8] = b"session-keys-keeper/check";
const CHECK_PLAINTEXT: &[u8] = b"session-keys-keeper passphrase check";

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
	/// There is no store at the path.
	#[error("no store at {0}: create one with `session-keys-keeper init`")]
	Missing(PathBuf),
	/// `init` on an existing store.
	#[error("a store already exists at {0}")]
	Exists(PathBuf),
	/// The file was written by a newer keeper.
	#[error("store {path} has schema version {found}; this keeper reads up to {supported}: upgrade the keeper")]
	NewerSchema {
		/// The store's file.
		path: PathBuf,
		/// The file's version.
		found: u32,
		/// The newest this build reads.
		supported: u32,
	},
	/// The file is an SQLite database the keeper did not make.
	#[error("{0} is not a keeper store")]
	NotAStore(PathBuf),
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
	DaemonRunning(PathBuf),
	/// The passphrase does not open the store.
	#[error("wrong passphrase for {0}: nothing was changed")]
	WrongPassphrase(PathBuf),
	/// The sealer's keys (not a passphrase's) do not open the store's check value: keys of the
	/// same labels, but not the ones the store was sealed with.
	#[error("{keys} do not open {path} (another key of the same label?): nothing was changed")]
	WrongKeys {
		/// The store's file.
		path: PathBuf,
		/// The keys, for example ``the keys `k` in token `t` ``.
		keys: String,
	},
	/// A passphrase was given for a store sealed by another backend.
	#[error(
		"{path} is sealed by its {backend} backend, not a passphrase: open it with that backend's \
		 settings (for pkcs11, the token's PIN: --pkcs11-pin-file)"
	)]
	NotPassphraseSealed {
		/// The store's file.
		path: PathBuf,
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
	/// file but not the passphrase changed it (to redirect the keys it registers, say). Nothing
	/// is registered from it.
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
		/// The store's file.
		path: PathBuf,
		/// What could not be read.
		what: String,
	},
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

/// The daemon lock of a store, held while it lives ([`Store::lock_daemon`]).
#[derive(Debug)]
pub struct DaemonLock {
	_file: std::fs::File,
}

/// The store, opened with its passphrase.
pub struct Store {
	path: PathBuf,
	connection: Connection,
	sealer: Box<dyn Sealer + Send>,
}

impl std::fmt::Debug for Store {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
	}
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

impl Store {
	/// Creates a store at `path` sealed under `passphrase`, with fresh key-derivation
	/// parameters.
	pub fn create(path: &Path, passphrase: &[u8]) -> Result<Store> {
		Self::create_with(path, passphrase, KdfParams::generate())
	}

	/// [`Store::create`] with chosen parameters (tests use the weakest accepted ones).
	pub fn create_with(path: &Path, passphrase: &[u8], params: KdfParams) -> Result<Store> {
		if path.exists() {
			return Err(StoreError::Exists(path.to_owned()));
		}
		let sealer = PassphraseSealer::derive(passphrase, &params)?;
		Self::create_sealed(path, &SealerSettings::Passphrase(params), Box::new(sealer))
	}

	/// Creates a store at `path` whose secrets `sealer` seals; `settings` are recorded in the
	/// file for [`Store::open_with`] (see [`crate::sealer`] on other backends).
	pub fn create_sealed(
		path: &Path,
		settings: &SealerSettings,
		sealer: Box<dyn Sealer + Send>,
	) -> Result<Store> {
		if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
			std::fs::create_dir_all(parent).map_err(|error| StoreError::Sqlite {
				path: path.to_owned(),
				source: rusqlite::Error::ToSqlConversionFailure(Box::new(error)),
			})?;
		}
		let check = sealer.seal(CHECK_AAD, CHECK_PLAINTEXT)?;
		create_private(path)?;
		let made = (|| {
			let mut connection = connect(path)?;
			let sqlite = |source| StoreError::Sqlite { path: path.to_owned(), source };
			// WAL lets `status` read while the daemon writes.
			connection.execute_batch("PRAGMA journal_mode = WAL;").map_err(sqlite)?;
			let tx = connection.transaction().map_err(sqlite)?;
			migrate(&tx, 0).map_err(sqlite)?;
			write_sealer_settings(&tx, settings, &check).map_err(sqlite)?;
			tx.commit().map_err(sqlite)?;
			Ok(connection)
		})();
		match made {
			Ok(connection) => Ok(Store { path: path.to_owned(), connection, sealer }),
			// Nothing half-made is left for `init` to call an existing store.
			Err(error) => {
				for suffix in FILE_SUFFIXES {
					let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
				}
				Err(error)
			}
		}
	}

	/// Opens the store at `path` with `passphrase`, migrating an older schema.
	/// [`StoreError::NotPassphraseSealed`] if another backend seals it.
	pub fn open(path: &Path, passphrase: &[u8]) -> Result<Store> {
		Self::open_with(path, |settings| match settings {
			SealerSettings::Passphrase(params) => {
				Ok(Box::new(PassphraseSealer::derive(passphrase, params)?))
			}
			other => Err(StoreError::NotPassphraseSealed {
				path: path.to_owned(),
				backend: other.backend(),
			}),
		})
	}

	/// How the store at `path` is sealed, as its file records it, read without opening it:
	/// to know whether to ask for a passphrase or a PIN before [`Store::open_with`].
	pub fn sealer_settings(path: &Path) -> Result<SealerSettings> {
		if !path.exists() {
			return Err(StoreError::Missing(path.to_owned()));
		}
		let connection = connect(path)?;
		let version = schema_version(&connection, path)?;
		Ok(read_sealer_settings(&connection, path, version)?.0)
	}

	/// Opens the store at `path` with the sealer `unlock` returns for the settings recorded in
	/// the file, migrating an older schema. [`StoreError::WrongPassphrase`] if that sealer does
	/// not open the store's check value.
	pub fn open_with(
		path: &Path,
		unlock: impl FnOnce(&SealerSettings) -> Result<Box<dyn Sealer + Send>>,
	) -> Result<Store> {
		if !path.exists() {
			return Err(StoreError::Missing(path.to_owned()));
		}
		let mut connection = connect(path)?;
		let sqlite = |source| StoreError::Sqlite { path: path.to_owned(), source };
		let version = schema_version(&connection, path)?;
		let (settings, check) = read_sealer_settings(&connection, path, version)?;
		let sealer = unlock(&settings)?;
		match sealer.open(CHECK_AAD, &check) {
			Ok(plain) if plain.as_slice() == CHECK_PLAINTEXT => {}
			Ok(_) => return Err(corrupt(path, "check value")),
			Err(SealError::DoesNotOpen) => {
				return Err(match &settings {
					SealerSettings::Passphrase(_) => StoreError::WrongPassphrase(path.to_owned()),
					SealerSettings::Pkcs11(token) => StoreError::WrongKeys {
						path: path.to_owned(),
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
		// Only a store its passphrase opens is migrated.
		if version < SCHEMA_VERSION {
			let tx = connection
				.transaction_with_behavior(TransactionBehavior::Immediate)
				.map_err(sqlite)?;
			migrate(&tx, version).map_err(sqlite)?;
			// Rows from before MACs get theirs now, as they are: the passphrase just opened the
			// store, so whoever holds it vouches for them.
			if version < 4 {
				authenticate_rows(&tx, sealer.as_ref(), path, false)?;
			}
			tx.commit().map_err(sqlite)?;
		}
		keep_private(path);
		Ok(Store { path: path.to_owned(), connection, sealer })
	}

	/// The store's file.
	pub fn path(&self) -> &Path {
		&self.path
	}

	/// Takes the store's daemon lock (a file next to it, released when the [`DaemonLock`] is
	/// dropped or the process dies): one daemon per store, and no passphrase change under a
	/// running daemon.
	pub fn lock_daemon(&self) -> Result<DaemonLock> {
		let lock_path = PathBuf::from(format!("{}.lock", self.path.display()));
		let file = std::fs::OpenOptions::new()
			.create(true)
			.truncate(false)
			.write(true)
			.open(&lock_path)
			.map_err(|error| StoreError::Sqlite {
				path: lock_path.clone(),
				source: rusqlite::Error::ToSqlConversionFailure(Box::new(error)),
			})?;
		match file.try_lock() {
			Ok(()) => Ok(DaemonLock { _file: file }),
			Err(_) => Err(StoreError::DaemonRunning(self.path.clone())),
		}
	}

	fn sqlite(&self, source: rusqlite::Error) -> StoreError {
		StoreError::Sqlite { path: self.path.clone(), source }
	}

	// ---- the owner -----------------------------------------------------------------------

	/// Stores the signing key (its secret URI, sealed), replacing any before; the record's
	/// accounts are authenticated ([`Store::owner`] checks them).
	pub fn set_owner(&mut self, owner: &OwnerRecord, secret_uri: &str) -> Result<()> {
		let sealed = self.sealer.seal(&owner_aad(&owner.signer), secret_uri.as_bytes())?;
		let (signer, delegate_of) =
			(owner.signer.encode(), owner.delegate_of.as_ref().map(Encode::encode));
		let mac = self.sealer.authenticate(&owner_record(&signer, delegate_of.as_deref()))?;
		self.connection
			.execute(
				"INSERT OR REPLACE INTO owner (id, signer, delegate_of, sealed_secret, mac)
				 VALUES (1, ?1, ?2, ?3, ?4)",
				params![signer, delegate_of, sealed, &mac[..]],
			)
			.map_err(|error| self.sqlite(error))?;
		Ok(())
	}

	/// The signing account, if one was imported; [`StoreError::Tampered`] if the record was
	/// changed outside the keeper.
	pub fn owner(&self) -> Result<Option<OwnerRecord>> {
		let row: Option<(Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>)> = self
			.connection
			.query_row("SELECT signer, delegate_of, mac FROM owner WHERE id = 1", [], |row| {
				Ok((row.get(0)?, row.get(1)?, row.get(2)?))
			})
			.optional()
			.map_err(|error| self.sqlite(error))?;
		row.map(|(signer, delegate_of, mac)| {
			let record = owner_record(&signer, delegate_of.as_deref());
			if !self.sealer.verify(&record, mac.as_deref().unwrap_or_default())? {
				return Err(StoreError::Tampered {
					record: "the owner record".into(),
					remedy: "import the signing key again (`owner import`) if the change was yours",
				});
			}
			Ok(OwnerRecord {
				signer: self.decode(&signer, "owner account")?,
				delegate_of: delegate_of
					.map(|bytes| self.decode(&bytes, "delegating owner"))
					.transpose()?,
			})
		})
		.transpose()
	}

	/// The signing key's secret URI, opened.
	pub fn owner_secret(&self) -> Result<(OwnerRecord, Zeroizing<String>)> {
		let owner = self.owner()?.ok_or(StoreError::NoOwner)?;
		let sealed: Vec<u8> = self
			.connection
			.query_row("SELECT sealed_secret FROM owner WHERE id = 1", [], |row| row.get(0))
			.map_err(|error| self.sqlite(error))?;
		let plain = self
			.sealer
			.open(&owner_aad(&owner.signer), &sealed)
			.map_err(|source| StoreError::Damaged { record: "owner".into(), source })?;
		// Checked in place: the error of a conversion would carry a copy of the bytes.
		let uri = std::str::from_utf8(&plain)
			.map_err(|_| corrupt(&self.path, "owner secret (not UTF-8)"))?;
		Ok((owner, Zeroizing::new(uri.to_owned())))
	}

	// ---- profiles ------------------------------------------------------------------------

	/// Adds a profile, with its MAC.
	pub fn add_profile(&mut self, profile: &Profile) -> Result<()> {
		if self.has_profile(&profile.name)? {
			return Err(StoreError::ProfileExists(profile.name.clone()));
		}
		self.write_profile(
			"INSERT INTO profiles (name, counterpart, duration, spending_limit, collateral, scope,
			   description, crypto, renew_margin, rotation_interval, mac)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
			profile,
		)?;
		Ok(())
	}

	/// Runs `sql` with `profile`'s columns as ?1..?10, in [`PROFILE_COLUMNS`]' order, and its
	/// MAC as ?11; the number of rows it changed.
	fn write_profile(&self, sql: &str, profile: &Profile) -> Result<usize> {
		let row = ProfileRow::of(profile);
		let mac = self.sealer.authenticate(&row.record())?;
		self.connection
			.execute(
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
					&mac[..],
				],
			)
			.map_err(|error| self.sqlite(error))
	}

	/// Every profile, by name; [`StoreError::Tampered`] naming the first one changed outside
	/// the keeper.
	pub fn profiles(&self) -> Result<Vec<Profile>> {
		self.checked_profiles()?.into_iter().collect()
	}

	/// Every profile by name, each checked on its own: a profile changed outside the keeper is
	/// [`StoreError::Tampered`] and the others are read (the daemon keeps them covered).
	pub fn checked_profiles(&self) -> Result<Vec<Result<Profile>>> {
		let mut statement = self
			.connection
			.prepare(&format!("SELECT {PROFILE_COLUMNS}, mac FROM profiles ORDER BY name"))
			.map_err(|error| self.sqlite(error))?;
		let rows = statement
			.query_map([], ProfileRow::read)
			.map_err(|error| self.sqlite(error))?
			.collect::<Result<Vec<_>, _>>()
			.map_err(|error| self.sqlite(error))?;
		Ok(rows.into_iter().map(|(row, mac)| self.checked(row, mac.as_deref())).collect())
	}

	/// The profile named `name`; [`StoreError::Tampered`] if it was changed outside the keeper.
	pub fn profile(&self, name: &str) -> Result<Profile> {
		let (row, mac) = self
			.connection
			.query_row(
				&format!("SELECT {PROFILE_COLUMNS}, mac FROM profiles WHERE name = ?1"),
				[name],
				ProfileRow::read,
			)
			.optional()
			.map_err(|error| self.sqlite(error))?
			.ok_or_else(|| StoreError::UnknownProfile(name.into()))?;
		self.checked(row, mac.as_deref())
	}

	/// Whether a profile named `name` exists (its row is not checked).
	fn has_profile(&self, name: &str) -> Result<bool> {
		Ok(self
			.connection
			.query_row("SELECT 1 FROM profiles WHERE name = ?1", [name], |row| row.get::<_, i64>(0))
			.optional()
			.map_err(|error| self.sqlite(error))?
			.is_some())
	}

	/// `row` parsed, if `mac` is its MAC.
	fn checked(&self, row: ProfileRow, mac: Option<&[u8]>) -> Result<Profile> {
		if !self.sealer.verify(&row.record(), mac.unwrap_or_default())? {
			return Err(StoreError::Tampered {
				record: format!("profile `{}`", row.name),
				remedy: "if the change was yours, remove the profile (`profile remove`, once its \
				         keys have ended) and add it again",
			});
		}
		row.parse(&self.path)
	}

	/// Replaces the settings of the profile named `profile.name`; keys registered from now on
	/// (a pending key's retry included) get the new terms, renewals the new duration.
	pub fn update_profile(&mut self, profile: &Profile) -> Result<()> {
		let changed = self.write_profile(
			"UPDATE profiles SET counterpart = ?2, duration = ?3, spending_limit = ?4,
			   collateral = ?5, scope = ?6, description = ?7, crypto = ?8, renew_margin = ?9,
			   rotation_interval = ?10, mac = ?11
			 WHERE name = ?1",
			profile,
		)?;
		if changed == 0 {
			return Err(StoreError::UnknownProfile(profile.name.clone()));
		}
		Ok(())
	}

	/// Removes a profile whose keys have all ended (their records go with it). A profile
	/// changed outside the keeper can be removed too: that registers nothing.
	pub fn remove_profile(&mut self, name: &str) -> Result<()> {
		if !self.has_profile(name)? {
			return Err(StoreError::UnknownProfile(name.into()));
		}
		let path = self.path.clone();
		let sqlite = |source| StoreError::Sqlite { path: path.clone(), source };
		// Immediate, as a new key's insert is: the two are serialized, not refused as busy.
		let tx = self
			.connection
			.transaction_with_behavior(TransactionBehavior::Immediate)
			.map_err(sqlite)?;
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
		// The row's id is part of the associated data, so the row is made first and sealed
		// into in the same transaction.
		tx.execute(
			"INSERT INTO keys (profile, public, sealed_secret, status, created_at)
			 VALUES (?1, ?2, x'', 'pending', ?3)",
			params![profile, public.encode(), created_at],
		)
		.map_err(sqlite)?;
		let id = tx.last_insert_rowid();
		let sealed = self.sealer.seal(&key_aad(id, &public), secret)?;
		tx.execute("UPDATE keys SET sealed_secret = ?1 WHERE id = ?2", params![sealed, id])
			.map_err(sqlite)?;
		tx.commit().map_err(sqlite)?;
		self.key_by_id(id)
	}

	/// The key in row `id`.
	pub fn key_by_id(&self, id: i64) -> Result<StoredKey> {
		self.keys_where("id = ?1", params![id])?
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
		self.keys_where("1", params![])
	}

	/// The keys of `profile` that have not ended, oldest first.
	pub fn open_keys(&self, profile: &str) -> Result<Vec<StoredKey>> {
		self.keys_where("profile = ?1 AND status != 'ended'", params![profile])
	}

	fn keys_where(
		&self,
		condition: &str,
		arguments: &[&dyn rusqlite::ToSql],
	) -> Result<Vec<StoredKey>> {
		let mut statement = self
			.connection
			.prepare(&format!(
				"SELECT id, profile, public, status, created_at, registered_at, expires_at, ended_reason
				 FROM keys WHERE {condition} ORDER BY id"
			))
			.map_err(|error| self.sqlite(error))?;
		let rows = statement
			.query_map(arguments, |row| {
				Ok((
					row.get::<_, i64>(0)?,
					row.get::<_, String>(1)?,
					row.get::<_, Vec<u8>>(2)?,
					row.get::<_, String>(3)?,
					row.get::<_, i64>(4)?,
					row.get::<_, Option<BlockNumber>>(5)?,
					row.get::<_, Option<BlockNumber>>(6)?,
					row.get::<_, Option<String>>(7)?,
				))
			})
			.map_err(|error| self.sqlite(error))?
			.collect::<Result<Vec<_>, _>>()
			.map_err(|error| self.sqlite(error))?;
		rows.into_iter()
			.map(
				|(
					id,
					profile,
					public,
					status,
					created_at,
					registered_at,
					expires_at,
					ended_reason,
				)| {
					Ok(StoredKey {
						id,
						profile,
						public: self.decode(&public, "public key")?,
						status: KeyStatus::parse(&status).ok_or_else(|| {
							corrupt(&self.path, &format!("key status {status:?}"))
						})?,
						created_at,
						registered_at,
						expires_at,
						ended_reason,
					})
				},
			)
			.collect()
	}

	/// The key's secret, opened.
	pub fn key_secret(&self, key: &StoredKey) -> Result<Zeroizing<Vec<u8>>> {
		let sealed: Vec<u8> = self
			.connection
			.query_row("SELECT sealed_secret FROM keys WHERE id = ?1", [key.id], |row| row.get(0))
			.optional()
			.map_err(|error| self.sqlite(error))?
			.ok_or_else(|| StoreError::UnknownKey(hex(&key.public.encode())))?;
		self.sealer.open(&key_aad(key.id, &key.public), &sealed).map_err(|source| {
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
		let changed = self
			.connection
			.execute(
				"UPDATE keys SET status = ?2, registered_at = COALESCE(?3, registered_at),
				   expires_at = COALESCE(?4, expires_at), ended_reason = COALESCE(?5, ended_reason)
				 WHERE id = ?1",
				params![id, status.as_str(), registered_at, expires_at, ended_reason],
			)
			.map_err(|error| self.sqlite(error))?;
		if changed == 0 {
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
		self.connection
			.execute("UPDATE meta SET paused_at = ?1, pause_seen_at = NULL WHERE id = 1", [at])
			.map_err(|error| self.sqlite(error))?;
		Ok(())
	}

	/// Lifts the pause.
	pub fn resume(&mut self) -> Result<()> {
		self.connection
			.execute("UPDATE meta SET paused_at = NULL, pause_seen_at = NULL WHERE id = 1", [])
			.map_err(|error| self.sqlite(error))?;
		Ok(())
	}

	/// The pause, if the keeper is paused: since when, and whether a daemon has seen it (it
	/// then submits nothing more).
	pub fn pause_state(&self) -> Result<Option<Pause>> {
		let row: (Option<i64>, Option<i64>) = self
			.connection
			.query_row("SELECT paused_at, pause_seen_at FROM meta WHERE id = 1", [], |row| {
				Ok((row.get(0)?, row.get(1)?))
			})
			.map_err(|error| self.sqlite(error))?;
		Ok(row.0.map(|since| Pause { since, seen: row.1.is_some() }))
	}

	/// The daemon's acknowledgement of the pause, written between steps: from here on it
	/// submits nothing.
	pub fn pause_seen(&mut self, at: i64) -> Result<()> {
		self.connection
			.execute(
				"UPDATE meta SET pause_seen_at = ?1 WHERE id = 1 AND paused_at IS NOT NULL",
				[at],
			)
			.map_err(|error| self.sqlite(error))?;
		Ok(())
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
	/// passphrase, or a move to another backend.
	pub fn reseal(
		&mut self,
		settings: &SealerSettings,
		sealer: Box<dyn Sealer + Send>,
	) -> Result<()> {
		// A running daemon would go on sealing new keys with the old sealer.
		let _lock = self.lock_daemon()?;
		let path = self.path.clone();
		let sqlite = |source| StoreError::Sqlite { path: path.clone(), source };
		let keys = self.keys()?;
		let owner = self.owner()?;
		// Every profile is checked under the old sealer before the new one vouches for it.
		self.profiles()?;
		let tx = self
			.connection
			.transaction_with_behavior(TransactionBehavior::Immediate)
			.map_err(sqlite)?;
		for key in &keys {
			let sealed: Vec<u8> = tx
				.query_row("SELECT sealed_secret FROM keys WHERE id = ?1", [key.id], |row| {
					row.get(0)
				})
				.map_err(sqlite)?;
			let aad = key_aad(key.id, &key.public);
			let plain = self.sealer.open(&aad, &sealed).map_err(|source| StoreError::Damaged {
				record: format!("key {}", hex(&key.public.encode())),
				source,
			})?;
			tx.execute(
				"UPDATE keys SET sealed_secret = ?1 WHERE id = ?2",
				params![sealer.seal(&aad, &plain)?, key.id],
			)
			.map_err(sqlite)?;
		}
		if let Some(owner) = owner {
			let sealed: Vec<u8> = tx
				.query_row("SELECT sealed_secret FROM owner WHERE id = 1", [], |row| row.get(0))
				.map_err(sqlite)?;
			let aad = owner_aad(&owner.signer);
			let plain = self
				.sealer
				.open(&aad, &sealed)
				.map_err(|source| StoreError::Damaged { record: "owner".into(), source })?;
			tx.execute(
				"UPDATE owner SET sealed_secret = ?1 WHERE id = 1",
				params![sealer.seal(&aad, &plain)?],
			)
			.map_err(sqlite)?;
		}
		authenticate_rows(&tx, sealer.as_ref(), &path, true)?;
		let check = sealer.seal(CHECK_AAD, CHECK_PLAINTEXT)?;
		write_sealer_settings(&tx, settings, &check).map_err(sqlite)?;
		tx.commit().map_err(sqlite)?;
		self.sealer = sealer;
		Ok(())
	}

	fn decode<T: Decode>(&self, mut bytes: &[u8], what: &str) -> Result<T> {
		T::decode(&mut bytes).map_err(|_| corrupt(&self.path, what))
	}
}

/// The file's schema version, refusing a newer one and a file the keeper did not make.
fn schema_version(connection: &Connection, path: &Path) -> Result<u32> {
	let version: u32 = connection
		.query_row("PRAGMA user_version", [], |row| row.get(0))
		.map_err(|source| StoreError::Sqlite { path: path.to_owned(), source })?;
	if version > SCHEMA_VERSION {
		return Err(StoreError::NewerSchema {
			path: path.to_owned(),
			found: version,
			supported: SCHEMA_VERSION,
		});
	}
	// `init` writes version 1 and up: 0 is a file the keeper did not make.
	if version == 0 {
		return Err(StoreError::NotAStore(path.to_owned()));
	}
	Ok(version)
}

/// How the store is sealed and its check value, from the `meta` row of a file at schema
/// `version` (the PKCS#11 columns came with version 5).
fn read_sealer_settings(
	connection: &Connection,
	path: &Path,
	version: u32,
) -> Result<(SealerSettings, Vec<u8>)> {
	type Meta =
		(String, u32, u32, u32, Vec<u8>, Vec<u8>, Option<String>, Option<String>, Option<String>);
	let columns = if version < 5 {
		"kdf, memory_kib, iterations, parallelism, salt, check_value, NULL, NULL, NULL"
	} else {
		"kdf, memory_kib, iterations, parallelism, salt, check_value, pkcs11_module, \
		 pkcs11_token, pkcs11_key"
	};
	let (kdf, memory_kib, iterations, parallelism, salt, check, module, token, key): Meta =
		connection
			.query_row(&format!("SELECT {columns} FROM meta WHERE id = 1"), [], |row| {
				Ok((
					row.get(0)?,
					row.get(1)?,
					row.get(2)?,
					row.get(3)?,
					row.get(4)?,
					row.get(5)?,
					row.get(6)?,
					row.get(7)?,
					row.get(8)?,
				))
			})
			.optional()
			.map_err(|source| StoreError::Sqlite { path: path.to_owned(), source })?
			.ok_or_else(|| corrupt(path, "key derivation parameters (no meta row)"))?;
	let settings = match kdf.as_str() {
		PassphraseSealer::BACKEND => {
			let salt: [u8; SALT_LEN] = salt.try_into().map_err(|_| corrupt(path, "salt"))?;
			SealerSettings::Passphrase(KdfParams { memory_kib, iterations, parallelism, salt })
		}
		Pkcs11Sealer::BACKEND => match (module, token, key) {
			(Some(module), Some(token), Some(key)) => {
				SealerSettings::Pkcs11(Pkcs11Settings { module: module.into(), token, key })
			}
			_ => return Err(corrupt(path, "PKCS#11 settings (module, token or key missing)")),
		},
		other => return Err(corrupt(path, &format!("sealer backend {other:?}"))),
	};
	Ok((settings, check))
}

/// Records how the store is sealed, and the check value sealed that way, in the `meta` row
/// (made by the first call, updated by later ones). A backend's columns that do not apply
/// hold zeros, an empty salt, or NULL.
fn write_sealer_settings(
	tx: &Transaction<'_>,
	settings: &SealerSettings,
	check: &[u8],
) -> rusqlite::Result<()> {
	let (memory_kib, iterations, parallelism, salt, module, token, key) = match settings {
		SealerSettings::Passphrase(params) => (
			params.memory_kib,
			params.iterations,
			params.parallelism,
			&params.salt[..],
			None,
			None,
			None,
		),
		SealerSettings::Pkcs11(token) => (
			0,
			0,
			0,
			&[][..],
			Some(token.module.to_string_lossy().into_owned()),
			Some(token.token.as_str()),
			Some(token.key.as_str()),
		),
	};
	tx.execute(
		"INSERT INTO meta (id, kdf, memory_kib, iterations, parallelism, salt, check_value,
		 pkcs11_module, pkcs11_token, pkcs11_key)
		 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
		 ON CONFLICT (id) DO UPDATE SET kdf = excluded.kdf, memory_kib = excluded.memory_kib,
		 iterations = excluded.iterations, parallelism = excluded.parallelism,
		 salt = excluded.salt, check_value = excluded.check_value,
		 pkcs11_module = excluded.pkcs11_module, pkcs11_token = excluded.pkcs11_token,
		 pkcs11_key = excluded.pkcs11_key",
		params![
			settings.backend(),
			memory_kib,
			iterations,
			parallelism,
			salt,
			check,
			module,
			token,
			key
		],
	)?;
	Ok(())
}

/// What SQLite adds to the store's path for its other files (the WAL, its index, a journal).
const FILE_SUFFIXES: [&str; 4] = ["", "-wal", "-shm", "-journal"];

/// Makes the empty file of a new store, readable and writable by its user only (SQLite gives
/// its WAL and journal the same mode).
fn create_private(path: &Path) -> Result<()> {
	let mut options = std::fs::OpenOptions::new();
	options.write(true).create_new(true);
	#[cfg(unix)]
	std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
	options.open(path).map(drop).map_err(|error| match error.kind() {
		std::io::ErrorKind::AlreadyExists => StoreError::Exists(path.to_owned()),
		_ => StoreError::Sqlite {
			path: path.to_owned(),
			source: rusqlite::Error::ToSqlConversionFailure(Box::new(error)),
		},
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

/// Writes every profile's and the owner's MAC under `sealer`, inside the caller's transaction:
/// the rows as they are when `all`, else only those without one (a store migrated from before
/// MACs; a row with a wrong MAC stays refused).
fn authenticate_rows(
	tx: &Transaction<'_>,
	sealer: &dyn Sealer,
	path: &Path,
	all: bool,
) -> Result<()> {
	let sqlite = |source| StoreError::Sqlite { path: path.to_owned(), source };
	let rows = {
		let mut statement = tx
			.prepare(&format!(
				"SELECT {PROFILE_COLUMNS}, mac FROM profiles WHERE ?1 OR mac IS NULL"
			))
			.map_err(sqlite)?;
		let rows = statement
			.query_map([all], ProfileRow::read)
			.map_err(sqlite)?
			.collect::<Result<Vec<_>, _>>()
			.map_err(sqlite)?;
		rows
	};
	for (row, _) in rows {
		let mac = sealer.authenticate(&row.record())?;
		tx.execute("UPDATE profiles SET mac = ?1 WHERE name = ?2", params![&mac[..], row.name])
			.map_err(sqlite)?;
	}
	let owner: Option<(Vec<u8>, Option<Vec<u8>>)> = tx
		.query_row(
			"SELECT signer, delegate_of FROM owner WHERE id = 1 AND (?1 OR mac IS NULL)",
			[all],
			|row| Ok((row.get(0)?, row.get(1)?)),
		)
		.optional()
		.map_err(sqlite)?;
	if let Some((signer, delegate_of)) = owner {
		let mac = sealer.authenticate(&owner_record(&signer, delegate_of.as_deref()))?;
		tx.execute("UPDATE owner SET mac = ?1 WHERE id = 1", params![&mac[..]]).map_err(sqlite)?;
	}
	Ok(())
}

const PROFILE_COLUMNS: &str = "name, counterpart, duration, spending_limit, collateral, scope, \
	description, crypto, renew_margin, rotation_interval";

/// A profile's row as stored.
struct ProfileRow {
	name: String,
	counterpart: Vec<u8>,
	duration: BlockNumber,
	spending_limit: String,
	collateral: String,
	scope: Vec<u8>,
	description: String,
	crypto: String,
	renew_margin: BlockNumber,
	rotation_interval: BlockNumber,
}

impl ProfileRow {
	/// The row [`PROFILE_COLUMNS`], then its MAC (absent in a row from before MACs).
	fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Self, Option<Vec<u8>>)> {
		Ok((
			Self {
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
			},
			row.get(10)?,
		))
	}

	/// The row `profile` is stored as.
	fn of(profile: &Profile) -> Self {
		Self {
			name: profile.name.clone(),
			counterpart: profile.counterpart.encode(),
			duration: profile.duration,
			spending_limit: profile.spending_limit.to_string(),
			collateral: profile.collateral.to_string(),
			scope: profile.scope.encode(),
			description: profile.description.clone(),
			crypto: crypto_name(profile.crypto).into(),
			renew_margin: profile.renew_margin,
			rotation_interval: profile.rotation_interval,
		}
	}

	/// The canonical encoding its MAC is over: a domain, then every column as stored, each
	/// SCALE-encoded (length-prefixed where variable), so no two rows encode alike.
	fn record(&self) -> Vec<u8> {
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

	fn parse(self, path: &Path) -> Result<Profile> {
		let what = |field: &str| corrupt(path, &format!("{field} of profile {:?}", self.name));
		Ok(Profile {
			counterpart: Decode::decode(&mut &self.counterpart[..])
				.map_err(|_| what("counterpart"))?,
			duration: self.duration,
			spending_limit: self.spending_limit.parse().map_err(|_| what("spending limit"))?,
			collateral: self.collateral.parse().map_err(|_| what("collateral"))?,
			scope: Decode::decode(&mut &self.scope[..]).map_err(|_| what("scope"))?,
			description: self.description,
			crypto: parse_crypto(&self.crypto).ok_or_else(|| what("crypto"))?,
			renew_margin: self.renew_margin,
			rotation_interval: self.rotation_interval,
			name: self.name,
		})
	}
}

/// The name of a signature scheme, as stored and as given on the command line.
pub fn crypto_name(kind: CryptoKind) -> &'static str {
	match kind {
		CryptoKind::Sr25519 => "sr25519",
		CryptoKind::Ed25519 => "ed25519",
		CryptoKind::Ecdsa => "ecdsa",
	}
}

/// The scheme named `name` (`sr25519`, `ed25519`, `ecdsa`).
pub fn parse_crypto(name: &str) -> Option<CryptoKind> {
	Some(match name {
		"sr25519" => CryptoKind::Sr25519,
		"ed25519" => CryptoKind::Ed25519,
		"ecdsa" => CryptoKind::Ecdsa,
		_ => return None,
	})
}

/// The associated data binding a key's sealed secret to its row and public key.
fn key_aad(id: i64, public: &SessionPublic) -> Vec<u8> {
	let mut aad = b"session-keys-keeper/key".to_vec();
	aad.extend_from_slice(&id.to_le_bytes());
	aad.extend_from_slice(&public.encode());
	aad
}

/// The canonical encoding of the owner row (its accounts as stored) that its MAC is over.
fn owner_record(signer: &[u8], delegate_of: Option<&[u8]>) -> Vec<u8> {
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

fn corrupt(path: &Path, what: &str) -> StoreError {
	StoreError::Corrupt { path: path.to_owned(), what: what.into() }
}

/// `0x`-hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
	format!("0x{}", sp_core::hexdisplay::HexDisplay::from(&bytes))
}

#[cfg(test)]
mod tests;
