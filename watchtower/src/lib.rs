//! The watchtower: the counterpart's side of the session-key adjudicator.
//!
//! A session's closing window protects the counterpart only if something on its side submits
//! the newest state the session key signed before `settles_at`. The watchtower does that with no
//! human action:
//!
//! - **intake** ([`Watchtower::submit_state`], `POST /v1/states` in [`http`]): it takes signed
//!   states, checks them with the shared rule (`Registration::check_state`, the signature over
//!   `ChannelState::signing_payload` for this chain, the key registered with this counterpart
//!   and live) and stores the newest one per key durably before answering ([`store`]: SQLite,
//!   WAL, `synchronous = FULL`, group commits, a bounded audit log);
//! - **watching** ([`watch`]): it follows best and finalized blocks and acts on
//!   [`plan::decide`]: checkpoint when a key closes or nears its expiry (or a limit decrease
//!   that the state exceeds), when a state is under-collateralized (then liquidate, per the
//!   [`plan::Liquidation`] policy), and when unbanked owed passes a threshold; settle a window
//!   that carried over. A state already on chain is never submitted again;
//! - **signing** ([`signer`]): the counterpart's key, sealed at rest with the keeper's sealer
//!   (Argon2id and XChaCha20-Poly1305), or a hot key that is the counterpart's `Counterpart`
//!   proxy, which the runtime limits to the counterpart's calls;
//! - **operations**: the `session-keys-watchtower` binary ([`cli`], [`commands`]) and
//!   Prometheus [`metrics`].

pub mod cli;
pub mod commands;
pub mod http;
pub mod metrics;
pub mod plan;
pub mod refusal;
pub mod signed;
pub mod signer;
pub mod store;
pub mod tower;
pub mod watch;

pub use plan::{Liquidation, Policy};
pub use refusal::{Accepted, StateRefusal, SubmitError};
pub use signed::SignedState;
pub use tower::{ChainReads, FixedChain, KeyView, Watchtower};

/// An event of the adjudicator.
pub type AdjudicatorEvent = session_keys_client::AdjudicatorEvent;
