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
//!
//! # In another service
//!
//! A gateway that charges each call with the next state hands it over in process:
//!
//! ```no_run
//! use session_keys_watchtower::{
//!     service::{Service, ServiceConfig}, Policy, SignedState, SubmitError,
//! };
//! # async fn run(passphrase: zeroize::Zeroizing<Vec<u8>>, state: SignedState)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! let service = Service::start(ServiceConfig {
//!     store: "watchtower.db".into(), // made by `session-keys-watchtower init`
//!     passphrase,
//!     node: "ws://127.0.0.1:9944".into(),
//!     listen: None, // or Some(address) to serve POST /v1/states and /metrics too
//!     policy: Policy::default(),
//!     audit_limit: 10_000,
//! })
//! .await?;
//! match service.tower.submit_state(state).await {
//!     Ok(accepted) => { /* on disk: forward the call; accepted.unbanked is what it owes */ }
//!     Err(SubmitError::Refused(refusal)) => { /* 402: refusal.name(), refusal.to_json() */ }
//!     Err(other) => { /* 503 or 500: other.to_http() */ }
//! }
//! // The newest state held, for the next nonce and owed a call must carry:
//! let newest = service.tower.newest(&state_public());
//! # fn state_public() -> session_keys_client::SessionPublic { unimplemented!() }
//! # Ok(()) }
//! ```

pub mod cli;
pub mod commands;
pub mod http;
pub mod metrics;
pub mod plan;
pub mod refusal;
pub mod service;
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
