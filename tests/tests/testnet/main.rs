//! Scenarios against the four validators of the `local_testnet` preset, each a node process
//! on loopback (see `session_keys_e2e::testnet`).
//!
//! One testnet at a time: four nodes already keep a small machine busy, and a scenario's
//! timing (sessions, finality) must not depend on another's load.

mod authoring;
mod crash_restart;
mod rotation;
mod script;
mod validator_down;

use tokio::sync::{Mutex, MutexGuard};

static ONE_TESTNET_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// Waits for this test's turn to run a testnet; the turn lasts as long as the guard.
pub async fn turn() -> MutexGuard<'static, ()> {
	ONE_TESTNET_AT_A_TIME.lock().await
}
