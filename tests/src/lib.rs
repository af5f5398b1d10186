//! End-to-end tests of the session-key adjudicator: the real node binary, started on loopback
//! ports, driven with subxt as a Substrate user would.
//!
//! - [`node`] starts and stops node processes.
//! - [`chain`] is the project's client library with test conveniences (reads that panic with
//!   a message).
//! - [`testnet`] starts the four validators of the `local_testnet` preset.
//! - [`gateway`] starts the gateway binary, an upstream service that records what reaches it,
//!   and sends requests through the gateway.
//! - [`keeper`] runs the key keeper's commands and its daemon on a temporary store.
//!
//! The node binary must be built first (`cargo build --workspace`, which builds the gateway binary too); `scripts/test.sh` does that
//! before it runs the tests.

pub mod chain;
pub mod gateway;
pub mod keeper;
pub mod node;
pub mod services;
pub mod testnet;
pub mod watchtower;

pub use chain::{account_of, Chain};
pub use node::Node;
pub use session_keys_client::{build, Included, SessionPair, Terms};
