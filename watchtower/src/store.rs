//! The watchtower's store: one SQLite file holding the counterpart's signing key (sealed as the
//! keeper seals its secrets: Argon2id and XChaCha20-Poly1305, the keeper's own
//! [`session_keys_keeper::sealer`]), the newest signed state of every key, and a bounded audit
//! log.
//!
//! Durability: WAL mode with `synchronous = FULL`, so a transaction is on disk when its commit
//! returns. Every state goes through one writer thread that commits what queued up meanwhile in
//! one transaction (a group commit) and only then answers each submitter: a state acknowledged
//! is on disk, whatever kills the process afterwards.

use std::{
	path::{Path, PathBuf},
	sync::Arc,
};

use codec::{Decode, Encode};
use rusqlite::{params, Connection, OptionalExtension};
use session_keys_client::{
	AccountId, Balance, BlockNumber, ChannelState, Registration, SessionPublic, SessionSignature,
};
use session_keys_keeper::sealer::{KdfParams, PassphraseSealer, SealError, Sealer, SALT_LEN};
use session_keys_primitives::StateRejection;
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use crate::{refusal::StateRefusal, signed::SignedState};

/// The schema this build writes (SQLite's `user_version`).
pub const SCHEMA_VERSION: u32 = 1;
/// The audit log's default bound, in rows.
pub const DEFAULT_AUDIT_LIMIT: u64 = 10_000;
/// The most submissions one group commit takes.
const MAX_BATCH: usize = 1024;

const CHECK_AAD: &[u8] = b"session-keys-watchtower/check";
const CHECK_PLAINTEXT: &[u8] = b"session-keys-watchtower passphrase check";
const KEY_AAD: &[u8] = b"session-keys-watchtower/signing-key";

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
	#[error("no store at {0}: create one with `session-keys-watchtower init`")]
	Missing(PathBuf),
	/// `init` on an existing store.
	#[error("a store already exists at {0}")]
	Exists(PathBuf),
	/// The file is not a watchtower store, or one of a newer schema.
	#[error("{path} is not a watchtower store of schema {SCHEMA_VERSION} (found {found})")]
	NotAStore {
		/// The file.
		path: PathBuf,
		/// Its `user_version`.
		found: u32,
	},
	/// The passphrase does not open the store.
	#[error("wrong passphrase for {0}")]
	WrongPassphrase(PathBuf),
	/// The sealed signing key does not open: the record was changed.
	#[error("the sealed signing key does not open: the store was changed or damaged ({0})")]
	Damaged(SealError),
	/// The key derivation refused its parameters.
	#[error(transparent)]
	Seal(#[from] SealError),
	/// A row holds a value this build cannot read.
	#[error("store {path}: unreadable {what}")]
	Corrupt {
		/// The store's file.
		path: PathBuf,
		/// What could not be read.
		what: &'static str,
	},
	/// The store is bound to another chain.
	#[error("the store was used with the chain of genesis {stored}, not {connected}")]
	OtherChain {
		/// The genesis hash recorded.
		stored: String,
		/// The connected chain's.
		connected: String,
	},
	/// A group commit failed: what was in it is not stored.
	#[error("the store's write failed: {0}")]
	Write(String),
	/// The writer thread is gone (the process is stopping).
	#[error("the store's writer stopped")]
	WriterGone,
}

/// How the watchtower signs: the counterpart's own key, or a hot key that is the counterpart's
/// `Counterpart` proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
	/// The account the sessions are opened with.
	pub counterpart: AccountId,
	/// Whether the sealed key is a proxy of `counterpart` (else it is `counterpart`'s own).
	pub via_proxy: bool,
}

/// A state as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredState {
	/// The signed state.
	pub signed: SignedState,
	/// When it was stored (Unix seconds).
	pub received_at: i64,
	/// Whether the key's session ended (the state is kept for the record).
	pub ended: bool,
}

/// A row of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
	/// Its sequence number.
	pub id: i64,
	/// When (Unix seconds).
	pub at: i64,
	/// The key, `0x`-hex, if any.
	pub public: Option<String>,
	/// The state's nonce, if any.
	pub nonce: Option<u64>,
	/// What happened: `stored`, `duplicate`, `refused`, `checkpoint`, `liquidate`, ...
	pub event: String,
	/// Details.
	pub detail: String,
}

/// What a [`StoreHandle::put`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Put {
	/// Stored: the newest state of its key, on disk.
	Stored,
	/// The same state was stored already; nothing changed.
	Duplicate,
	/// Not above the stored state (the rule of `Registration::check_state`).
	Refused(StateRefusal),
}

fn now_secs() -> i64 {
	std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map(|d| d.as_secs() as i64)
		.unwrap_or(0)
}

/// `0x`-hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
	let mut out = String::with_capacity(2 + bytes.len() * 2);
	out.push_str("0x");
	for byte in bytes {
		out.push_str(&format!("{byte:02x}"));
	}
	out
}

/// The store's file and its read side.
pub struct Store {
	path: PathBuf,
	conn: Connection,
}

fn open_connection(path: &Path) -> Result<Connection, rusqlite::Error> {
	let conn = Connection::open(path)?;
	conn.busy_timeout(std::time::Duration::from_secs(10))?;
	conn.pragma_update(None, "journal_mode", "WAL")?;
	conn.pragma_update(None, "synchronous", "FULL")?;
	Ok(conn)
}

impl Store {
	fn sqlite(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
		move |source| StoreError::Sqlite { path: self.path.clone(), source }
	}

	/// Creates a store at `path` holding `secret_uri` (the signing key) sealed under
	/// `passphrase` with `kdf`, for `identity`.
	pub fn create(
		path: &Path,
		passphrase: &[u8],
		kdf: &KdfParams,
		identity: &Identity,
		secret_uri: &[u8],
	) -> Result<Store, StoreError> {
		if path.exists() {
			return Err(StoreError::Exists(path.to_path_buf()));
		}
		let sqlite = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
		let sealer = PassphraseSealer::derive(passphrase, kdf)?;
		let check = sealer.seal(CHECK_AAD, CHECK_PLAINTEXT)?;
		let key = sealer.seal(KEY_AAD, secret_uri)?;
		let mut conn = open_connection(path).map_err(sqlite)?;
		let tx = conn.transaction().map_err(sqlite)?;
		tx.execute_batch(
			"CREATE TABLE meta (
				id INTEGER PRIMARY KEY CHECK (id = 1),
				counterpart BLOB NOT NULL,
				via_proxy INTEGER NOT NULL,
				kdf_memory_kib INTEGER NOT NULL,
				kdf_iterations INTEGER NOT NULL,
				kdf_parallelism INTEGER NOT NULL,
				kdf_salt BLOB NOT NULL,
				check_value BLOB NOT NULL,
				signing_key BLOB NOT NULL,
				genesis BLOB
			);
			CREATE TABLE states (
				public BLOB PRIMARY KEY,
				nonce INTEGER NOT NULL,
				owed TEXT NOT NULL,
				margin TEXT NOT NULL,
				signature BLOB NOT NULL,
				received_at INTEGER NOT NULL,
				ended INTEGER NOT NULL DEFAULT 0
			);
			CREATE TABLE audit (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				at INTEGER NOT NULL,
				public BLOB,
				nonce INTEGER,
				event TEXT NOT NULL,
				detail TEXT NOT NULL
			);",
		)
		.map_err(sqlite)?;
		tx.execute(
			"INSERT INTO meta (id, counterpart, via_proxy, kdf_memory_kib, kdf_iterations,
				kdf_parallelism, kdf_salt, check_value, signing_key)
			VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			params![
				identity.counterpart.encode(),
				identity.via_proxy,
				kdf.memory_kib,
				kdf.iterations,
				kdf.parallelism,
				&kdf.salt[..],
				check,
				key
			],
		)
		.map_err(sqlite)?;
		tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(sqlite)?;
		tx.commit().map_err(sqlite)?;
		Ok(Store { path: path.to_path_buf(), conn })
	}

	/// Opens the store at `path` (no passphrase: states are not secret).
	pub fn open(path: &Path) -> Result<Store, StoreError> {
		if !path.exists() {
			return Err(StoreError::Missing(path.to_path_buf()));
		}
		let conn = open_connection(path)
			.map_err(|source| StoreError::Sqlite { path: path.to_path_buf(), source })?;
		let store = Store { path: path.to_path_buf(), conn };
		let version: u32 = store
			.conn
			.pragma_query_value(None, "user_version", |row| row.get(0))
			.map_err(store.sqlite())?;
		if version != SCHEMA_VERSION {
			return Err(StoreError::NotAStore { path: path.to_path_buf(), found: version });
		}
		Ok(store)
	}

	/// The store's file.
	pub fn path(&self) -> &Path {
		&self.path
	}

	/// Who the watchtower signs as.
	pub fn identity(&self) -> Result<Identity, StoreError> {
		let (counterpart, via_proxy): (Vec<u8>, bool) = self
			.conn
			.query_row("SELECT counterpart, via_proxy FROM meta WHERE id = 1", [], |row| {
				Ok((row.get(0)?, row.get(1)?))
			})
			.map_err(self.sqlite())?;
		let counterpart = AccountId::decode(&mut &counterpart[..])
			.map_err(|_| StoreError::Corrupt { path: self.path.clone(), what: "counterpart" })?;
		Ok(Identity { counterpart, via_proxy })
	}

	/// Opens the sealed signing key (its secret URI) with `passphrase`.
	pub fn signing_secret(&self, passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, StoreError> {
		let (memory_kib, iterations, parallelism, salt, check, key): (
			u32,
			u32,
			u32,
			Vec<u8>,
			Vec<u8>,
			Vec<u8>,
		) = self
			.conn
			.query_row(
				"SELECT kdf_memory_kib, kdf_iterations, kdf_parallelism, kdf_salt, check_value,
					signing_key FROM meta WHERE id = 1",
				[],
				|row| {
					Ok((
						row.get(0)?,
						row.get(1)?,
						row.get(2)?,
						row.get(3)?,
						row.get(4)?,
						row.get(5)?,
					))
				},
			)
			.map_err(self.sqlite())?;
		let salt: [u8; SALT_LEN] = salt
			.try_into()
			.map_err(|_| StoreError::Corrupt { path: self.path.clone(), what: "salt" })?;
		let sealer = PassphraseSealer::derive(
			passphrase,
			&KdfParams { memory_kib, iterations, parallelism, salt },
		)?;
		sealer
			.open(CHECK_AAD, &check)
			.map_err(|_| StoreError::WrongPassphrase(self.path.clone()))?;
		sealer.open(KEY_AAD, &key).map_err(StoreError::Damaged)
	}

	/// Records the chain's genesis hash on first use; refuses another chain afterwards.
	pub fn bind_genesis(&self, genesis: &[u8]) -> Result<(), StoreError> {
		let stored: Option<Vec<u8>> = self
			.conn
			.query_row("SELECT genesis FROM meta WHERE id = 1", [], |row| row.get(0))
			.map_err(self.sqlite())?;
		match stored {
			Some(stored) if stored != genesis => {
				Err(StoreError::OtherChain { stored: hex(&stored), connected: hex(genesis) })
			}
			Some(_) => Ok(()),
			None => {
				self.conn
					.execute("UPDATE meta SET genesis = ?1 WHERE id = 1", params![genesis])
					.map_err(self.sqlite())?;
				Ok(())
			}
		}
	}

	/// Every stored state (the newest of each key); with `ended`, those of ended sessions too.
	pub fn states(&self, ended: bool) -> Result<Vec<StoredState>, StoreError> {
		let mut statement = self
			.conn
			.prepare(
				"SELECT public, nonce, owed, margin, signature, received_at, ended FROM states
				WHERE ended = 0 OR ?1 ORDER BY received_at, public",
			)
			.map_err(self.sqlite())?;
		let rows = statement
			.query_map(params![ended], |row| {
				Ok((
					row.get::<_, Vec<u8>>(0)?,
					row.get::<_, i64>(1)?,
					row.get::<_, String>(2)?,
					row.get::<_, String>(3)?,
					row.get::<_, Vec<u8>>(4)?,
					row.get::<_, i64>(5)?,
					row.get::<_, bool>(6)?,
				))
			})
			.map_err(self.sqlite())?;
		let mut states = Vec::new();
		for row in rows {
			let (public, nonce, owed, margin, signature, received_at, ended) =
				row.map_err(self.sqlite())?;
			let signed = decode_state(&public, nonce, &owed, &margin, &signature)
				.ok_or_else(|| StoreError::Corrupt { path: self.path.clone(), what: "a state" })?;
			states.push(StoredState { signed, received_at, ended });
		}
		Ok(states)
	}

	/// The stored state of `public`, if any.
	pub fn state(&self, public: &SessionPublic) -> Result<Option<StoredState>, StoreError> {
		Ok(self.states(true)?.into_iter().find(|s| s.signed.public == *public))
	}

	/// The newest `limit` rows of the audit log, newest first.
	pub fn audit(&self, limit: u64) -> Result<Vec<AuditEntry>, StoreError> {
		let mut statement = self
			.conn
			.prepare(
				"SELECT id, at, public, nonce, event, detail FROM audit ORDER BY id DESC LIMIT ?1",
			)
			.map_err(self.sqlite())?;
		let rows = statement
			.query_map(params![limit as i64], |row| {
				Ok(AuditEntry {
					id: row.get(0)?,
					at: row.get(1)?,
					public: row.get::<_, Option<Vec<u8>>>(2)?.map(|bytes| hex(&bytes)),
					nonce: row.get::<_, Option<i64>>(3)?.map(|n| n as u64),
					event: row.get(4)?,
					detail: row.get(5)?,
				})
			})
			.map_err(self.sqlite())?;
		rows.collect::<Result<_, _>>().map_err(self.sqlite())
	}

	/// Starts the writer thread on a connection of its own.
	pub fn writer(&self, audit_limit: u64) -> Result<StoreHandle, StoreError> {
		let conn = open_connection(&self.path).map_err(self.sqlite())?;
		let (sender, receiver) = std::sync::mpsc::channel::<Op>();
		let path = self.path.clone();
		std::thread::Builder::new()
			.name("watchtower-store".into())
			.spawn(move || write_loop(conn, receiver, audit_limit, &path))
			.map_err(|_| StoreError::WriterGone)?;
		Ok(StoreHandle { sender })
	}
}

/// Rebuilds a state from its columns.
fn decode_state(
	public: &[u8],
	nonce: i64,
	owed: &str,
	margin: &str,
	signature: &[u8],
) -> Option<SignedState> {
	Some(SignedState {
		public: SessionPublic::decode(&mut &public[..]).ok()?,
		state: ChannelState {
			nonce: nonce as u64,
			owed: owed.parse().ok()?,
			margin: margin.parse().ok()?,
		},
		signature: SessionSignature::decode(&mut &signature[..]).ok()?,
	})
}

/// A request to the writer thread.
enum Op {
	Put {
		signed: SignedState,
		chain: Arc<Registration>,
		now: BlockNumber,
		reply: oneshot::Sender<Result<Put, String>>,
	},
	Audit {
		public: Option<SessionPublic>,
		nonce: Option<u64>,
		event: &'static str,
		detail: String,
	},
	Ended {
		public: SessionPublic,
		reply: Option<oneshot::Sender<Result<Put, String>>>,
	},
}

/// The write side: cheap to clone, shared by the intake and the watcher.
#[derive(Clone)]
pub struct StoreHandle {
	sender: std::sync::mpsc::Sender<Op>,
}

impl StoreHandle {
	/// Stores `signed` as its key's newest state if it follows the stored one by the shared rule
	/// (`Registration::check_state`, against `chain` with the stored state in place of the
	/// checkpointed one, at block `now`), on disk before this returns.
	pub async fn put(
		&self,
		signed: SignedState,
		chain: Arc<Registration>,
		now: BlockNumber,
	) -> Result<Put, StoreError> {
		let (reply, answer) = oneshot::channel();
		self.sender
			.send(Op::Put { signed, chain, now, reply })
			.map_err(|_| StoreError::WriterGone)?;
		match answer.await {
			Ok(Ok(put)) => Ok(put),
			Ok(Err(error)) => Err(StoreError::Write(error)),
			Err(_) => Err(StoreError::WriterGone),
		}
	}

	/// Appends to the audit log (in the next group commit; not waited for).
	pub fn audit(
		&self,
		public: Option<SessionPublic>,
		nonce: Option<u64>,
		event: &'static str,
		detail: String,
	) {
		let _ = self.sender.send(Op::Audit { public, nonce, event, detail });
	}

	/// Marks `public`'s session ended: its state stays for the record, out of the watch list.
	pub async fn mark_ended(&self, public: SessionPublic) -> Result<(), StoreError> {
		let (reply, answer) = oneshot::channel();
		self.sender
			.send(Op::Ended { public, reply: Some(reply) })
			.map_err(|_| StoreError::WriterGone)?;
		answer.await.map_err(|_| StoreError::WriterGone)?.map_err(StoreError::Write)?;
		Ok(())
	}
}

fn write_loop(
	mut conn: Connection,
	receiver: std::sync::mpsc::Receiver<Op>,
	audit_limit: u64,
	path: &Path,
) {
	while let Ok(first) = receiver.recv() {
		let mut batch = vec![first];
		while batch.len() < MAX_BATCH {
			match receiver.try_recv() {
				Ok(op) => batch.push(op),
				Err(_) => break,
			}
		}
		let mut answers = Vec::with_capacity(batch.len());
		let outcome = (|| -> Result<(), rusqlite::Error> {
			let tx = conn.transaction()?;
			for op in batch {
				match op {
					Op::Put { signed, chain, now, reply } => {
						let put = put_one(&tx, &signed, &chain, now)?;
						answers.push((reply, put));
					}
					Op::Audit { public, nonce, event, detail } => {
						audit_row(&tx, public.as_ref(), nonce, event, &detail)?;
					}
					Op::Ended { public, reply } => {
						tx.execute(
							"UPDATE states SET ended = 1 WHERE public = ?1",
							params![public.encode()],
						)?;
						audit_row(&tx, Some(&public), None, "ended", "")?;
						if let Some(reply) = reply {
							answers.push((reply, Put::Stored));
						}
					}
				}
			}
			tx.execute(
				"DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?1",
				params![audit_limit as i64],
			)?;
			tx.commit()
		})();
		match outcome {
			Ok(()) => {
				for (reply, put) in answers {
					let _ = reply.send(Ok(put));
				}
			}
			Err(error) => {
				tracing::error!(store = %path.display(), %error, "group commit failed");
				for (reply, _) in answers {
					let _ = reply.send(Err(error.to_string()));
				}
			}
		}
	}
}

fn audit_row(
	tx: &rusqlite::Transaction<'_>,
	public: Option<&SessionPublic>,
	nonce: Option<u64>,
	event: &str,
	detail: &str,
) -> Result<(), rusqlite::Error> {
	tx.execute(
		"INSERT INTO audit (at, public, nonce, event, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
		params![now_secs(), public.map(Encode::encode), nonce.map(|n| n as i64), event, detail],
	)?;
	Ok(())
}

fn put_one(
	tx: &rusqlite::Transaction<'_>,
	signed: &SignedState,
	chain: &Registration,
	now: BlockNumber,
) -> Result<Put, rusqlite::Error> {
	let public = signed.public.encode();
	let stored = tx
		.query_row(
			"SELECT nonce, owed, margin, signature FROM states WHERE public = ?1",
			params![public],
			|row| {
				Ok((
					row.get::<_, i64>(0)?,
					row.get::<_, String>(1)?,
					row.get::<_, String>(2)?,
					row.get::<_, Vec<u8>>(3)?,
				))
			},
		)
		.optional()?;
	if let Some((nonce, owed, margin, signature)) = stored {
		let stored = decode_state(&public, nonce, &owed, &margin, &signature)
			.ok_or(rusqlite::Error::InvalidQuery)?;
		if stored == *signed {
			audit_row(tx, Some(&signed.public), Some(signed.state.nonce), "duplicate", "")?;
			return Ok(Put::Duplicate);
		}
		// The shared rule, with the stored state in place of the checkpointed one.
		let mut with_stored = chain.clone();
		with_stored.state = stored.state;
		if let Err(rejection) = with_stored.check_state(&signed.state, now) {
			let refusal = rejection_refusal(rejection, &signed.state, &with_stored, now);
			audit_row(
				tx,
				Some(&signed.public),
				Some(signed.state.nonce),
				"refused",
				refusal.name(),
			)?;
			return Ok(Put::Refused(refusal));
		}
	}
	tx.execute(
		"INSERT INTO states (public, nonce, owed, margin, signature, received_at, ended)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)
		ON CONFLICT(public) DO UPDATE SET nonce = excluded.nonce, owed = excluded.owed,
			margin = excluded.margin, signature = excluded.signature,
			received_at = excluded.received_at, ended = 0",
		params![
			public,
			signed.state.nonce as i64,
			signed.state.owed.to_string(),
			signed.state.margin.to_string(),
			signed.signature.encode(),
			now_secs()
		],
	)?;
	audit_row(
		tx,
		Some(&signed.public),
		Some(signed.state.nonce),
		"stored",
		&format!("owed {} margin {}", signed.state.owed, signed.state.margin),
	)?;
	Ok(Put::Stored)
}

/// The named refusal for a rejection of the shared rule by `against` (a registration whose
/// `state` is the newest one known).
pub fn rejection_refusal(
	rejection: StateRejection,
	state: &ChannelState<Balance>,
	against: &Registration,
	now: BlockNumber,
) -> StateRefusal {
	match rejection {
		StateRejection::StaleNonce => {
			StateRefusal::StaleNonce { nonce: state.nonce, newest: against.state.nonce }
		}
		StateRejection::OwedDecreased => {
			StateRefusal::OwedDecreased { owed: state.owed, newest: against.state.owed }
		}
		StateRejection::OverSpendingLimit => {
			StateRefusal::OverSpendingLimit { owed: state.owed, limit: against.limit_at(now) }
		}
	}
}
