//! Encryption at rest: every secret the keeper stores is sealed by a [`Sealer`], and every
//! record that is not secret but steers what the keeper registers (a profile, the owner) is
//! authenticated by it ([`Sealer::authenticate`]).
//!
//! Two are implemented. [`PassphraseSealer`]: XChaCha20-Poly1305 under a 256-bit key derived
//! from the user's passphrase with Argon2id. A random 24-byte nonce is drawn per seal (XChaCha's
//! nonce is long enough for random draws), and every seal binds associated data naming the
//! record it belongs to, so a sealed secret copied into another row does not open there. Its
//! records are authenticated with HMAC-SHA256 under a subkey derived from the sealing key with
//! HKDF-SHA256 (the sealing key itself never keys two algorithms). [`Pkcs11Sealer`]: AES-256-GCM
//! and HMAC-SHA256 computed inside a PKCS#11 token (an HSM, or SoftHSM2) under keys that never
//! leave it; the store then opens with the token's PIN and no passphrase (see [`pkcs11`]).
//!
//! # Other backends
//!
//! A KMS or a Vault transit engine fits behind the same trait: `seal` sends the plaintext and
//! the associated data to the service and stores what it returns, `open` sends that back (for
//! Vault's transit engine: `encrypt` and `decrypt` with the associated data as their
//! `associated_data`, and `hmac` for [`Sealer::authenticate`]). To add one (as
//! [`Pkcs11Sealer`] was):
//! 1. a variant of [`SealerSettings`] holding what the store must record to reach the backend
//!    again (a key's name, never a secret), and its columns in the store's `meta` row (a
//!    schema migration);
//! 2. a type implementing [`Sealer`] (its [`Sealer::authenticate`] is a MAC the backend
//!    computes, under a key that never leaves it);
//! 3. the store is then made with [`Store::create_sealed`](crate::store::Store::create_sealed),
//!    opened with [`Store::open_with`](crate::store::Store::open_with) (which hands the recorded
//!    settings to the caller, who returns the sealer) and moved to another key with
//!    [`Store::reseal`](crate::store::Store::reseal).
//!
//! Nothing else in the keeper knows which backend sealed a secret.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::{
	aead::{rand_core::RngCore, Aead, AeadCore, KeyInit, OsRng, Payload},
	XChaCha20Poly1305, XNonce,
};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

pub mod pkcs11;

pub use pkcs11::{Pkcs11Sealer, Pkcs11Settings};

/// Length of a record's MAC ([`Sealer::authenticate`]).
pub const MAC_LEN: usize = 32;
/// HKDF's `info` for the subkey that authenticates records: a new use of the sealing key gets
/// a new label, never this one.
const MAC_KEY_INFO: &[u8] = b"session-keys-keeper/record-mac/v1";

/// Length of the nonce at the start of every sealed value.
const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag at its end.
const TAG_LEN: usize = 16;
/// Length of a random salt for the key derivation.
pub const SALT_LEN: usize = 16;

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
	/// The sealed bytes do not open under this key with this associated data: the wrong
	/// passphrase, or bytes changed or moved from another record.
	#[error("the sealed value does not open (wrong key, or changed or moved bytes)")]
	DoesNotOpen,
	/// The sealed bytes are too short to hold a nonce and a tag.
	#[error("the sealed value is truncated ({0} bytes)")]
	Truncated(usize),
	/// The key derivation's parameters are invalid or weaker than the keeper accepts.
	#[error("key derivation parameters refused: {0}")]
	BadParams(String),
	/// The backend failed to seal.
	#[error("sealing failed")]
	SealFailed,
	/// The backend (a token, a service) failed or refused, for another reason than a value
	/// that does not open.
	#[error("the sealer's backend failed: {0}")]
	Backend(String),
}

/// Seals and opens secrets; see the module documentation for other backends.
pub trait Sealer {
	/// Seals `secret`, binding `associated` (which is not stored: the caller passes it again to
	/// [`Sealer::open`]).
	fn seal(&self, associated: &[u8], secret: &[u8]) -> Result<Vec<u8>, SealError>;
	/// Opens what [`Sealer::seal`] returned for the same `associated` data.
	fn open(&self, associated: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError>;
	/// A MAC of `record` (a record's canonical encoding, naming what it is) under a key only
	/// this sealer has: the same bytes give the same MAC, and without that key none can be made
	/// for other bytes. The store checks it with [`Sealer::verify`].
	fn authenticate(&self, record: &[u8]) -> Result<[u8; MAC_LEN], SealError>;
	/// Whether `mac` is `record`'s MAC, compared in constant time.
	fn verify(&self, record: &[u8], mac: &[u8]) -> Result<bool, SealError> {
		// (A comparison cut short at the first difference would tell an attacker how much of
		// a forgery is right.)
		use subtle::ConstantTimeEq;
		Ok(bool::from(self.authenticate(record)?.as_slice().ct_eq(mac)))
	}
}

/// How a store's secrets are sealed, as the store records it: what a backend needs to open them
/// again, never a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealerSettings {
	/// [`PassphraseSealer`], with its key derivation's parameters and salt.
	Passphrase(KdfParams),
	/// [`Pkcs11Sealer`], with the module, token and key label it finds its keys by (never the
	/// PIN).
	Pkcs11(Pkcs11Settings),
}

impl SealerSettings {
	/// The backend's name, as stored in the file.
	pub fn backend(&self) -> &'static str {
		match self {
			SealerSettings::Passphrase(_) => PassphraseSealer::BACKEND,
			SealerSettings::Pkcs11(_) => Pkcs11Sealer::BACKEND,
		}
	}
}

/// Argon2id's cost parameters and salt, stored in the keeper's file next to the sealed values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdfParams {
	/// Memory, in KiB.
	pub memory_kib: u32,
	/// Passes over the memory.
	pub iterations: u32,
	/// Lanes.
	pub parallelism: u32,
	/// The random salt.
	pub salt: [u8; SALT_LEN],
}

impl KdfParams {
	/// The weakest memory cost accepted when opening a store: OWASP's minimum for Argon2id
	/// (19 MiB with two passes).
	pub const MIN_MEMORY_KIB: u32 = 19 * 1024;
	/// The weakest pass count accepted.
	pub const MIN_ITERATIONS: u32 = 2;

	/// The parameters for a new store: 64 MiB, three passes, one lane (RFC 9106's second
	/// recommended option), and a fresh random salt.
	pub fn generate() -> Self {
		let mut salt = [0u8; SALT_LEN];
		OsRng.fill_bytes(&mut salt);
		Self { memory_kib: 64 * 1024, iterations: 3, parallelism: 1, salt }
	}

	/// The most memory accepted (4 GiB), so a changed file cannot make the keeper allocate
	/// without bound.
	pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
	/// The most passes accepted.
	pub const MAX_ITERATIONS: u32 = 64;
	/// The most lanes accepted.
	pub const MAX_PARALLELISM: u32 = 16;

	fn argon2(&self) -> Result<Argon2<'static>, SealError> {
		if self.memory_kib > Self::MAX_MEMORY_KIB
			|| self.iterations > Self::MAX_ITERATIONS
			|| self.parallelism > Self::MAX_PARALLELISM
		{
			return Err(SealError::BadParams(format!(
				"{} KiB, {} passes and {} lanes is beyond {} KiB, {} passes and {} lanes",
				self.memory_kib,
				self.iterations,
				self.parallelism,
				Self::MAX_MEMORY_KIB,
				Self::MAX_ITERATIONS,
				Self::MAX_PARALLELISM
			)));
		}
		if self.memory_kib < Self::MIN_MEMORY_KIB || self.iterations < Self::MIN_ITERATIONS {
			return Err(SealError::BadParams(format!(
				"{} KiB and {} passes is weaker than {} KiB and {} passes",
				self.memory_kib,
				self.iterations,
				Self::MIN_MEMORY_KIB,
				Self::MIN_ITERATIONS
			)));
		}
		let params = Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
			.map_err(|error| SealError::BadParams(error.to_string()))?;
		Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
	}
}

/// Seals with XChaCha20-Poly1305 under a key derived from a passphrase with Argon2id, and
/// authenticates records with HMAC-SHA256 under an HKDF subkey of that key.
pub struct PassphraseSealer {
	// Zeroized on drop by the cipher itself.
	cipher: XChaCha20Poly1305,
	/// The records' MAC key: HKDF-SHA256 of the sealing key, labelled [`MAC_KEY_INFO`].
	mac_key: Zeroizing<[u8; 32]>,
}

impl PassphraseSealer {
	/// The backend's name in [`SealerSettings::backend`].
	pub const BACKEND: &'static str = "argon2id";

	/// Derives the key from `passphrase` with `params` (a fraction of a second to a second: it is
	/// meant to be slow).
	pub fn derive(passphrase: &[u8], params: &KdfParams) -> Result<Self, SealError> {
		let mut key = Zeroizing::new([0u8; 32]);
		params
			.argon2()?
			.hash_password_into(passphrase, &params.salt, key.as_mut())
			.map_err(|error| SealError::BadParams(error.to_string()))?;
		let mut mac_key = Zeroizing::new([0u8; 32]);
		Hkdf::<Sha256>::new(None, key.as_ref())
			.expand(MAC_KEY_INFO, mac_key.as_mut())
			.map_err(|_| SealError::SealFailed)?;
		Ok(Self { cipher: XChaCha20Poly1305::new(key.as_ref().into()), mac_key })
	}
}

impl Sealer for PassphraseSealer {
	fn seal(&self, associated: &[u8], secret: &[u8]) -> Result<Vec<u8>, SealError> {
		let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
		let ciphertext = self
			.cipher
			.encrypt(&nonce, Payload { msg: secret, aad: associated })
			.map_err(|_| SealError::SealFailed)?;
		let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
		sealed.extend_from_slice(&nonce);
		sealed.extend_from_slice(&ciphertext);
		Ok(sealed)
	}

	fn open(&self, associated: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
		if sealed.len() < NONCE_LEN + TAG_LEN {
			return Err(SealError::Truncated(sealed.len()));
		}
		let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
		let nonce: [u8; NONCE_LEN] =
			nonce.try_into().map_err(|_| SealError::Truncated(sealed.len()))?;
		self.cipher
			.decrypt(&XNonce::from(nonce), Payload { msg: ciphertext, aad: associated })
			.map(Zeroizing::new)
			.map_err(|_| SealError::DoesNotOpen)
	}

	fn authenticate(&self, record: &[u8]) -> Result<[u8; MAC_LEN], SealError> {
		let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.mac_key.as_ref())
			.map_err(|_| SealError::SealFailed)?;
		mac.update(record);
		Ok(mac.finalize().into_bytes().into())
	}

	fn verify(&self, record: &[u8], tag: &[u8]) -> Result<bool, SealError> {
		let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.mac_key.as_ref())
			.map_err(|_| SealError::SealFailed)?;
		mac.update(record);
		// `verify_slice` compares in constant time.
		Ok(mac.verify_slice(tag).is_ok())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// The weakest accepted parameters, so the tests stay fast.
	fn fast() -> KdfParams {
		KdfParams {
			memory_kib: KdfParams::MIN_MEMORY_KIB,
			iterations: KdfParams::MIN_ITERATIONS,
			parallelism: 1,
			salt: [7; SALT_LEN],
		}
	}

	#[test]
	fn a_sealed_secret_opens_with_the_same_passphrase_and_associated_data() {
		let sealer = PassphraseSealer::derive(b"correct horse", &fast()).unwrap();
		let sealed = sealer.seal(b"row 1", b"the secret").unwrap();
		assert_eq!(sealed.len(), NONCE_LEN + b"the secret".len() + TAG_LEN);
		assert!(!sealed.windows(10).any(|window| window == b"the secret"));
		assert_eq!(sealer.open(b"row 1", &sealed).unwrap().as_slice(), b"the secret");
		// Each seal draws its own nonce.
		assert_ne!(sealer.seal(b"row 1", b"the secret").unwrap(), sealed);
	}

	#[test]
	fn it_does_not_open_under_another_passphrase_row_or_changed_bytes() {
		let sealer = PassphraseSealer::derive(b"correct horse", &fast()).unwrap();
		let sealed = sealer.seal(b"row 1", b"the secret").unwrap();
		let other = PassphraseSealer::derive(b"battery staple", &fast()).unwrap();
		assert_eq!(other.open(b"row 1", &sealed), Err(SealError::DoesNotOpen));
		assert_eq!(sealer.open(b"row 2", &sealed), Err(SealError::DoesNotOpen));
		for at in [0, NONCE_LEN, sealed.len() - 1] {
			let mut changed = sealed.clone();
			changed[at] ^= 1;
			assert_eq!(sealer.open(b"row 1", &changed), Err(SealError::DoesNotOpen));
		}
		assert_eq!(sealer.open(b"row 1", &sealed[..39]), Err(SealError::Truncated(39)));
	}

	#[test]
	fn another_salt_derives_another_key() {
		let sealer = PassphraseSealer::derive(b"correct horse", &fast()).unwrap();
		let sealed = sealer.seal(b"row 1", b"the secret").unwrap();
		let salted = PassphraseSealer::derive(
			b"correct horse",
			&KdfParams { salt: [8; SALT_LEN], ..fast() },
		)
		.unwrap();
		assert_eq!(salted.open(b"row 1", &sealed), Err(SealError::DoesNotOpen));
	}

	#[test]
	fn weak_parameters_are_refused() {
		let weak = KdfParams { memory_kib: 1024, ..fast() };
		assert!(matches!(PassphraseSealer::derive(b"x", &weak), Err(SealError::BadParams(_))));
		let huge = KdfParams { memory_kib: u32::MAX, ..fast() };
		assert!(matches!(PassphraseSealer::derive(b"x", &huge), Err(SealError::BadParams(_))));
		let lanes = KdfParams { parallelism: 1000, ..fast() };
		assert!(matches!(PassphraseSealer::derive(b"x", &lanes), Err(SealError::BadParams(_))));
		let one_pass = KdfParams { iterations: 1, ..fast() };
		assert!(matches!(PassphraseSealer::derive(b"x", &one_pass), Err(SealError::BadParams(_))));
		let generated = KdfParams::generate();
		assert_ne!(generated.salt, KdfParams::generate().salt);
		assert!(generated.memory_kib >= KdfParams::MIN_MEMORY_KIB);
	}
}
