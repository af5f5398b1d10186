//! Scenarios against a single-validator dev chain (`--dev --tmp`), one node per test.

mod authenticate;
mod closing;
mod keys;
mod rpc_errors;
mod settlement;
mod validator_keys;

use frame_system::Phase;
use session_keys_e2e::Chain;
use session_keys_runtime::{Balance, BlockNumber, RuntimeEvent, UNIT};

/// A collateral or price in whole units.
pub const fn units(n: Balance) -> Balance {
	n * UNIT
}

/// The adjudicator events among `events`.
pub fn adjudicator_events(
	events: impl IntoIterator<Item = RuntimeEvent>,
) -> Vec<pallet_session_keys::Event<session_keys_runtime::Runtime>> {
	events
		.into_iter()
		.filter_map(|event| match event {
			RuntimeEvent::Adjudicator(event) => Some(event),
			_ => None,
		})
		.collect()
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
