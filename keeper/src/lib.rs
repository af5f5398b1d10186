//! The key keeper: the owner side's daemon that keeps every profile covered by a live session
//! key, and the encrypted store it keeps the keys in.
//!
//! - [`store`]: the store (an SQLite file, or a PostgreSQL database) of the signing key, the
//!   profiles and the session keys, every secret sealed by a [`sealer::Sealer`]
//!   ([`sealer::PassphraseSealer`]: Argon2id and XChaCha20-Poly1305; or
//!   [`sealer::Pkcs11Sealer`]: AES-256-GCM inside a PKCS#11 token), every profile and the
//!   owner record authenticated by it (HMAC-SHA256, under an HKDF subkey or in the token);
//! - [`plan`]: what to do next for a profile (pure: the rules, unit-tested);
//! - [`daemon`]: following the best block, recording the finalized one, and doing it;
//!   [`leader`]: which of several daemons sharing a store does it (failover);
//!   [`chain`]: the reads and calls;
//! - [`signer`]: the owner's key, or its delegate's (a hot key the owner authorized on chain
//!   within terms: `authorize_delegate`); [`terms`]: those terms as the keeper checks and shows
//!   them;
//! - [`cli`], [`commands`], [`passphrase`]: the command line; [`metrics`]: Prometheus.

pub mod chain;
pub mod cli;
pub mod commands;
pub mod daemon;
pub mod leader;
pub mod metrics;
pub mod passphrase;
pub mod plan;
pub mod sealer;
pub mod signer;
pub mod store;
pub mod terms;

/// The SQLite library the store is kept with, for tools (and tests) that read or change a
/// store's file directly.
pub use rusqlite;
