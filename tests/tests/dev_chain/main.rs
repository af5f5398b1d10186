//! Scenarios against a single-validator dev chain (`--dev --tmp`), one node per test.

mod authenticate;
mod keys;
mod rpc_errors;
mod settlement;
mod validator_keys;

use session_keys_runtime::{Balance, RuntimeEvent, UNIT};

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
