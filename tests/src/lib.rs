//! End-to-end tests of the session-key adjudicator: the real node binary, started on loopback
//! ports, driven with subxt as a Substrate user would.
//!
//! - [`node`] starts and stops node processes.
//! - [`chain`] is the subxt client: submit calls, read events, storage and RPC.
//! - [`session_keys`] is the client side of the `sessionKeys_*` RPC and the calls under test.
//! - [`testnet`] starts the four validators of the `local_testnet` preset.
//!
//! The node binary must be built first (`cargo build -p session-keys-node`); `scripts/test.sh`
//! does that before it runs the tests.

pub mod chain;
pub mod node;
pub mod session_keys;
pub mod testnet;

pub use chain::{account_of, Chain, Failure, Included};
pub use node::Node;
