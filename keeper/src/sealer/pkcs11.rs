//! [`Pkcs11Sealer`]: sealing in a PKCS#11 token (an HSM, or SoftHSM2 for tests), under keys
//! that never leave it.
//!
//! Two secret keys live in the token, both made there with `CKA_TOKEN`, `CKA_PRIVATE` and
//! `CKA_SENSITIVE` true and `CKA_EXTRACTABLE` false:
//! - the sealing key, an AES-256 key labelled with the key label (`--pkcs11-key`, default
//!   `session-keys-keeper`): a secret is sealed with `CKM_AES_GCM` inside the token, under a
//!   random 12-byte IV drawn from the operating system, with the record's associated data as
//!   the GCM AAD and a 128-bit tag. The stored value is `IV || ciphertext || tag`.
//! - the MAC key, a 256-bit generic secret labelled `<key label>-mac`: records are
//!   authenticated with `CKM_SHA256_HMAC` computed by the token. Nothing is derived outside it.
//!
//! The store records the module's path, the token's label and the key label
//! ([`Pkcs11Settings`]), never the PIN: the PIN is read at each start (a file, the variable
//! [`PIN_ENV`], or a prompt; [`read_pin`]), used to log in, and zeroized.
//!
//! [`Pkcs11Sealer::create`] makes the keys when they are absent (`session-keys-keeper init
//! --sealer pkcs11`, and `reseal --sealer pkcs11`); [`Pkcs11Sealer::open`] only finds them.
//!
//! A module is loaded and initialized once per process ([`context`]): PKCS#11 allows one
//! `C_Initialize` per application, and the login state is shared by all of its sessions on a
//! token.

use std::{
	collections::HashMap,
	path::{Path, PathBuf},
	sync::{Mutex, OnceLock},
};

use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
use cryptoki::{
	context::{CInitializeArgs, CInitializeFlags, Pkcs11},
	error::{Error as CryptokiError, RvError},
	mechanism::{aead::GcmParams, Mechanism},
	object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle},
	session::{Session, UserType},
	types::AuthPin,
};
use zeroize::Zeroizing;

use super::{SealError, Sealer, MAC_LEN};
use crate::passphrase::Source;

/// The environment variable holding the token's PIN (else `--pkcs11-pin-file`, else a prompt).
pub const PIN_ENV: &str = "SESSION_KEYS_KEEPER_PKCS11_PIN";
/// The key label used when none is given.
pub const DEFAULT_KEY_LABEL: &str = "session-keys-keeper";
/// What the MAC key's label adds to the key label.
pub const MAC_KEY_SUFFIX: &str = "-mac";

/// Length of the GCM IV at the start of every sealed value.
pub const IV_LEN: usize = 12;
/// Length of the GCM tag at its end.
pub const TAG_LEN: usize = 16;

/// Where a store sealed in a PKCS#11 token finds its keys, as the store records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkcs11Settings {
	/// The PKCS#11 module (a shared library), by absolute path.
	pub module: PathBuf,
	/// The token's label.
	pub token: String,
	/// The sealing key's label; the MAC key's is this and [`MAC_KEY_SUFFIX`].
	pub key: String,
}

impl Pkcs11Settings {
	/// The MAC key's label.
	pub fn mac_key_label(&self) -> String {
		format!("{}{MAC_KEY_SUFFIX}", self.key)
	}
}

/// Why the token could not be reached or used.
#[derive(Debug, thiserror::Error)]
pub enum Pkcs11Error {
	/// No file at the module's path.
	#[error(
		"no PKCS#11 module at {0} (is the HSM's client installed? SoftHSM2's is \
		 /usr/lib/softhsm/libsofthsm2.so)"
	)]
	ModuleMissing(PathBuf),
	/// The module's path is relative.
	#[error("the PKCS#11 module's path must be absolute: {0}")]
	ModuleRelative(PathBuf),
	/// Others than its owner may change the module: the keeper would run their code.
	#[error("the PKCS#11 module {0} is writable by its group or others: refused (chmod go-w)")]
	ModuleWritable(PathBuf),
	/// The module does not load or initialize.
	#[error("cannot load the PKCS#11 module {path}: {source}")]
	Module {
		/// The module.
		path: PathBuf,
		/// What cryptoki said.
		#[source]
		source: CryptokiError,
	},
	/// No initialized token has that label.
	#[error("no initialized token labelled {label:?} in {module} (tokens: {found})")]
	NoToken {
		/// The label looked for.
		label: String,
		/// The module.
		module: PathBuf,
		/// The labels found, comma-separated (`none` if none).
		found: String,
	},
	/// The PIN is wrong.
	#[error("wrong PIN for token {0:?}")]
	WrongPin(String),
	/// The token locked its PIN after too many wrong ones.
	#[error("the PIN of token {0:?} is locked: its security officer must unlock it")]
	PinLocked(String),
	/// A key is not in the token.
	#[error(
		"no {kind} key labelled {label:?} in token {token:?}: `session-keys-keeper init --sealer \
		 pkcs11` (or `reseal --sealer pkcs11`) makes it"
	)]
	NoKey {
		/// Which key: `AES` or `HMAC`.
		kind: &'static str,
		/// Its label.
		label: String,
		/// The token.
		token: String,
	},
	/// More than one key has the label: which one seals is not guessed.
	#[error("{count} {kind} keys are labelled {label:?} in token {token:?}: keep one")]
	DuplicateKey {
		/// Which key: `AES` or `HMAC`.
		kind: &'static str,
		/// Its label.
		label: String,
		/// The token.
		token: String,
		/// How many.
		count: usize,
	},
	/// A key could leave the token: it is not used.
	#[error(
		"the {kind} key labelled {label:?} in token {token:?} is extractable or not sensitive: \
		 refused (make a new one with CKA_SENSITIVE true and CKA_EXTRACTABLE false)"
	)]
	Extractable {
		/// Which key.
		kind: &'static str,
		/// Its label.
		label: String,
		/// The token.
		token: String,
	},
	/// A token call failed.
	#[error("token {token:?}: {what} failed: {source}")]
	Token {
		/// The token.
		token: String,
		/// What was being done.
		what: &'static str,
		/// What cryptoki said.
		#[source]
		source: CryptokiError,
	},
	/// The PIN file cannot be read.
	#[error("cannot read the PIN file {path}: {error}")]
	PinFile {
		/// The file.
		path: PathBuf,
		/// Why.
		error: std::io::Error,
	},
	/// The prompt failed.
	#[error("cannot prompt for the PIN ({0}); pass --pkcs11-pin-file or set {PIN_ENV}")]
	PinPrompt(std::io::Error),
	/// The PIN is empty or not UTF-8.
	#[error("the PIN is empty or not UTF-8")]
	BadPin,
}

/// The module at `module`, loaded and initialized once for the whole process (PKCS#11 allows
/// one `C_Initialize` per application; it is never finalized).
pub fn context(module: &Path) -> Result<Pkcs11, Pkcs11Error> {
	static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
	if !module.is_absolute() {
		return Err(Pkcs11Error::ModuleRelative(module.to_owned()));
	}
	let metadata =
		std::fs::metadata(module).map_err(|_| Pkcs11Error::ModuleMissing(module.to_owned()))?;
	#[cfg(unix)]
	{
		use std::os::unix::fs::PermissionsExt;
		// The path comes from the store's file: a library anyone may replace is not loaded.
		if metadata.permissions().mode() & 0o022 != 0 {
			return Err(Pkcs11Error::ModuleWritable(module.to_owned()));
		}
	}
	#[cfg(not(unix))]
	let _ = metadata;
	let mut contexts = CONTEXTS
		.get_or_init(Default::default)
		.lock()
		.unwrap_or_else(|poisoned| poisoned.into_inner());
	if let Some(context) = contexts.get(module) {
		return Ok(context.clone());
	}
	let failed = |source| Pkcs11Error::Module { path: module.to_owned(), source };
	let context = Pkcs11::new(module).map_err(failed)?;
	match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
		Ok(()) | Err(CryptokiError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
		Err(error) => return Err(failed(error)),
	}
	contexts.insert(module.to_owned(), context.clone());
	Ok(context)
}

/// The PIN from `file`, else from [`PIN_ENV`] (removed from the environment once read), else
/// prompted for `token`, and where it came from. A file's trailing newline is not part of it.
/// It is zeroized when dropped.
pub fn read_pin(
	file: Option<&Path>,
	token: &str,
) -> Result<(Zeroizing<String>, Source), Pkcs11Error> {
	let (bytes, source) = if let Some(path) = file {
		let bytes = Zeroizing::new(
			std::fs::read(path)
				.map_err(|error| Pkcs11Error::PinFile { path: path.to_owned(), error })?,
		);
		(bytes, Source::File)
	} else if let Some(value) = std::env::var_os(PIN_ENV) {
		std::env::remove_var(PIN_ENV);
		(Zeroizing::new(value.into_encoded_bytes()), Source::Environment)
	} else {
		let typed = Zeroizing::new(
			rpassword::prompt_password(format!("PIN of token {token:?}: "))
				.map_err(Pkcs11Error::PinPrompt)?,
		);
		(Zeroizing::new(typed.as_bytes().to_vec()), Source::Prompt)
	};
	let end = bytes.iter().rposition(|byte| !matches!(byte, b'\n' | b'\r')).map_or(0, |at| at + 1);
	let text = std::str::from_utf8(&bytes[..end]).map_err(|_| Pkcs11Error::BadPin)?;
	if text.is_empty() {
		return Err(Pkcs11Error::BadPin);
	}
	Ok((Zeroizing::new(text.to_owned()), source))
}

/// Which keys [`Pkcs11Sealer::create`] made (the others were in the token already).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MadeKeys {
	/// The AES sealing key was generated.
	pub seal: bool,
	/// The HMAC key was generated.
	pub mac: bool,
}

/// Seals with AES-256-GCM and authenticates with HMAC-SHA256, both computed by a PKCS#11
/// token under keys that never leave it (see the module documentation).
pub struct Pkcs11Sealer {
	session: Session,
	seal_key: ObjectHandle,
	mac_key: ObjectHandle,
	token: String,
}

impl std::fmt::Debug for Pkcs11Sealer {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("Pkcs11Sealer").field("token", &self.token).finish_non_exhaustive()
	}
}

/// What [`Pkcs11Sealer::open`] seals and opens to tell a value that does not open from a token
/// that fails.
const PROBE: &[u8] = b"session-keys-keeper/pkcs11-probe";
const PROBE_AAD: &[u8] = b"session-keys-keeper/pkcs11-probe/aad";

/// The two keys' kinds, as the errors name them.
const AES: &str = "AES";
const HMAC: &str = "HMAC";

impl Pkcs11Sealer {
	/// The backend's name in [`SealerSettings::backend`](super::SealerSettings::backend).
	pub const BACKEND: &'static str = "pkcs11";

	/// Logs in to the token with `pin` (its copy zeroized once logged in) and finds both keys.
	pub fn open(settings: &Pkcs11Settings, pin: &str) -> Result<Self, Pkcs11Error> {
		let session = login(settings, pin)?;
		let seal_key = find_key(&session, settings, AES)?
			.ok_or_else(|| no_key(settings, AES, settings.key.clone()))?;
		let mac_key = find_key(&session, settings, HMAC)?
			.ok_or_else(|| no_key(settings, HMAC, settings.mac_key_label()))?;
		Ok(Self { session, seal_key, mac_key, token: settings.token.clone() })
	}

	/// [`Pkcs11Sealer::open`], generating in the token whichever key is absent.
	pub fn create(settings: &Pkcs11Settings, pin: &str) -> Result<(Self, MadeKeys), Pkcs11Error> {
		let session = login(settings, pin)?;
		let mut made = MadeKeys::default();
		let seal_key = match find_key(&session, settings, AES)? {
			Some(key) => key,
			None => {
				made.seal = true;
				generate_key(&session, settings, AES)?
			}
		};
		let mac_key = match find_key(&session, settings, HMAC)? {
			Some(key) => key,
			None => {
				made.mac = true;
				generate_key(&session, settings, HMAC)?
			}
		};
		Ok((Self { session, seal_key, mac_key, token: settings.token.clone() }, made))
	}

	/// `IV || ciphertext || tag` (at least [`IV_LEN`] bytes) decrypted by the token, or what
	/// it answered.
	fn decrypt(
		&self,
		associated: &[u8],
		sealed: &[u8],
	) -> Result<Result<Zeroizing<Vec<u8>>, CryptokiError>, SealError> {
		let (iv, ciphertext) = sealed.split_at(IV_LEN);
		let mut iv: [u8; IV_LEN] = iv.try_into().map_err(|_| SealError::Truncated(sealed.len()))?;
		let params = GcmParams::new(&mut iv, associated, (TAG_LEN as u64 * 8).into())
			.map_err(|error| self.backend_error("AES-GCM parameters", error))?;
		Ok(self
			.session
			.decrypt(&Mechanism::AesGcm(params), self.seal_key, ciphertext)
			.map(Zeroizing::new))
	}

	fn backend_error(&self, what: &str, error: CryptokiError) -> SealError {
		SealError::Backend(format!("token {:?}: {what}: {error}", self.token))
	}
}

impl Sealer for Pkcs11Sealer {
	fn seal(&self, associated: &[u8], secret: &[u8]) -> Result<Vec<u8>, SealError> {
		let mut iv = [0u8; IV_LEN];
		OsRng.fill_bytes(&mut iv);
		let ciphertext = {
			let params = GcmParams::new(&mut iv, associated, (TAG_LEN as u64 * 8).into())
				.map_err(|error| self.backend_error("AES-GCM parameters", error))?;
			self.session
				.encrypt(&Mechanism::AesGcm(params), self.seal_key, secret)
				.map_err(|error| self.backend_error("AES-GCM encryption", error))?
		};
		if ciphertext.len() != secret.len() + TAG_LEN {
			return Err(SealError::SealFailed);
		}
		let mut sealed = Vec::with_capacity(IV_LEN + ciphertext.len());
		sealed.extend_from_slice(&iv);
		sealed.extend_from_slice(&ciphertext);
		Ok(sealed)
	}

	fn open(&self, associated: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
		if sealed.len() < IV_LEN + TAG_LEN {
			return Err(SealError::Truncated(sealed.len()));
		}
		match self.decrypt(associated, sealed)? {
			Ok(plain) => Ok(plain),
			// A tag that does not match: tokens say so in one of these ways.
			Err(CryptokiError::Pkcs11(
				RvError::EncryptedDataInvalid
				| RvError::EncryptedDataLenRange
				| RvError::DataInvalid
				| RvError::DataLenRange,
				_,
			)) => Err(SealError::DoesNotOpen),
			// SoftHSM2 (2.6) answers a wrong tag with CKR_GENERAL_ERROR, which a failing device
			// could answer too: if the token still seals and opens, the value was at fault.
			Err(error @ CryptokiError::Pkcs11(RvError::GeneralError, _)) => {
				let probe = self.seal(PROBE_AAD, PROBE)?;
				match self.decrypt(PROBE_AAD, &probe)? {
					Ok(plain) if plain.as_slice() == PROBE => Err(SealError::DoesNotOpen),
					_ => Err(self.backend_error("AES-GCM decryption", error)),
				}
			}
			Err(error) => Err(self.backend_error("AES-GCM decryption", error)),
		}
	}

	fn authenticate(&self, record: &[u8]) -> Result<[u8; MAC_LEN], SealError> {
		let mac = self
			.session
			.sign(&Mechanism::Sha256Hmac, self.mac_key, record)
			.map_err(|error| self.backend_error("HMAC-SHA256", error))?;
		mac.try_into().map_err(|_| SealError::SealFailed)
	}
}

/// A read-write session on the token named by `settings`, logged in as its user with `pin`
/// (the copy handed to the module is zeroized before this returns).
fn login(settings: &Pkcs11Settings, pin: &str) -> Result<Session, Pkcs11Error> {
	let context = context(&settings.module)?;
	let token = settings.token.clone();
	let failed = |what| {
		let token = token.clone();
		move |source| Pkcs11Error::Token { token, what, source }
	};
	let mut found = Vec::new();
	let mut slot = None;
	for candidate in
		context.get_slots_with_initialized_token().map_err(failed("listing the slots"))?
	{
		let info = context.get_token_info(candidate).map_err(failed("reading a token's label"))?;
		let label = info.label().trim_end().to_owned();
		if label == settings.token && slot.is_none() {
			slot = Some(candidate);
		}
		found.push(label);
	}
	let slot = slot.ok_or_else(|| Pkcs11Error::NoToken {
		label: settings.token.clone(),
		module: settings.module.clone(),
		found: if found.is_empty() { "none".into() } else { found.join(", ") },
	})?;
	let session = context.open_rw_session(slot).map_err(failed("opening a session"))?;
	let pin = AuthPin::from(pin.to_owned());
	let logged_in = session.login(UserType::User, Some(&pin));
	drop(pin);
	match logged_in {
		// Another session of this process logged in to the token already: the login is the
		// application's, shared by its sessions.
		Ok(()) | Err(CryptokiError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
		Err(CryptokiError::Pkcs11(RvError::PinIncorrect, _)) => {
			Err(Pkcs11Error::WrongPin(settings.token.clone()))
		}
		Err(CryptokiError::Pkcs11(RvError::PinLocked, _)) => {
			Err(Pkcs11Error::PinLocked(settings.token.clone()))
		}
		Err(error) => Err(failed("logging in")(error)),
	}
}

/// The label and key type of the `kind` key.
fn key_identity(settings: &Pkcs11Settings, kind: &'static str) -> (String, KeyType) {
	match kind {
		AES => (settings.key.clone(), KeyType::AES),
		_ => (settings.mac_key_label(), KeyType::GENERIC_SECRET),
	}
}

fn no_key(settings: &Pkcs11Settings, kind: &'static str, label: String) -> Pkcs11Error {
	Pkcs11Error::NoKey { kind, label, token: settings.token.clone() }
}

/// The `kind` key, if the token has exactly one; refused if it could leave the token.
fn find_key(
	session: &Session,
	settings: &Pkcs11Settings,
	kind: &'static str,
) -> Result<Option<ObjectHandle>, Pkcs11Error> {
	let (label, key_type) = key_identity(settings, kind);
	let failed = |what| {
		let token = settings.token.clone();
		move |source| Pkcs11Error::Token { token, what, source }
	};
	let keys = session
		.find_objects(&[
			Attribute::Class(ObjectClass::SECRET_KEY),
			Attribute::KeyType(key_type),
			Attribute::Label(label.clone().into_bytes()),
		])
		.map_err(failed("looking for a key"))?;
	let key = match keys.as_slice() {
		[] => return Ok(None),
		[key] => *key,
		_ => {
			return Err(Pkcs11Error::DuplicateKey {
				kind,
				label,
				token: settings.token.clone(),
				count: keys.len(),
			})
		}
	};
	let attributes = session
		.get_attributes(key, &[AttributeType::Sensitive, AttributeType::Extractable])
		.map_err(failed("reading a key's attributes"))?;
	let sensitive =
		attributes.iter().any(|attribute| matches!(attribute, Attribute::Sensitive(true)));
	let kept_in =
		attributes.iter().any(|attribute| matches!(attribute, Attribute::Extractable(false)));
	if !sensitive || !kept_in {
		return Err(Pkcs11Error::Extractable { kind, label, token: settings.token.clone() });
	}
	Ok(Some(key))
}

/// Generates the `kind` key in the token: persistent, private, sensitive, not extractable,
/// allowed only its own use.
fn generate_key(
	session: &Session,
	settings: &Pkcs11Settings,
	kind: &'static str,
) -> Result<ObjectHandle, Pkcs11Error> {
	let (label, key_type) = key_identity(settings, kind);
	let mut template = vec![
		Attribute::Class(ObjectClass::SECRET_KEY),
		Attribute::KeyType(key_type),
		Attribute::ValueLen(32u64.into()),
		Attribute::Label(label.into_bytes()),
		Attribute::Token(true),
		Attribute::Private(true),
		Attribute::Sensitive(true),
		Attribute::Extractable(false),
	];
	let mechanism = if kind == AES {
		template.extend([Attribute::Encrypt(true), Attribute::Decrypt(true)]);
		Mechanism::AesKeyGen
	} else {
		template.extend([Attribute::Sign(true), Attribute::Verify(true)]);
		Mechanism::GenericSecretKeyGen
	};
	session.generate_key(&mechanism, &template).map_err(|source| Pkcs11Error::Token {
		token: settings.token.clone(),
		what: if kind == AES { "generating the AES key" } else { "generating the HMAC key" },
		source,
	})
}
