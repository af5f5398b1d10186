//! Scenarios against a single-validator dev chain (`--dev --tmp`), one node per test.

mod authenticate;
mod closing;
mod delegation;
mod failover;
mod gateway;
mod keeper;
mod keys;
mod metering;
mod replicas;
mod rpc_errors;
mod settlement;
mod validator_keys;
mod watchtower;

use frame_system::Phase;
pub use session_keys_client::adjudicator_events;
use session_keys_e2e::Chain;
use session_keys_runtime::{Balance, BlockNumber, UNIT};

/// A collateral or price in whole units.
pub const fn units(n: Balance) -> Balance {
	n * UNIT
}

/// The adjudicator events of block `number`'s `on_initialize` (where sessions settle), once
/// that block is finalized.
pub async fn settlement_events(
	chain: &Chain,
	number: BlockNumber,
) -> Vec<pallet_session_keys::Event<session_keys_runtime::Runtime>> {
	let block = chain.wait_for_finalized(number).await;
	adjudicator_events(
		chain
			.events_at(block)
			.await
			.into_iter()
			.filter(|(phase, _)| *phase == Phase::Initialization)
			.map(|(_, event)| event),
	)
}
