//! Unit tests of the adjudicator pallet, one module per concern. Every test runs through
//! `ExtBuilder::build_and_execute`, which checks the invariants at the end.

mod channel;
mod expiry;
mod invariants;
mod model;
mod register;
mod renew;
mod revoke;
mod rotate;

use crate::{mock::*, Event, SessionPublic};

/// The last event emitted by this pallet.
pub(crate) fn last_event() -> Event<Test> {
	pallet_events().pop().expect("an event was emitted")
}

/// All events emitted by this pallet so far.
pub(crate) fn pallet_events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::SessionKeys(event) => Some(event),
			_ => None,
		})
		.collect()
}

/// The `SessionEnded` events emitted so far, as (key, reason, ended_at).
pub(crate) fn endings() -> Vec<(SessionPublic, crate::EndReason, u64)> {
	pallet_events()
		.into_iter()
		.filter_map(|event| match event {
			Event::SessionEnded { public, reason, ended_at, .. } => {
				Some((public, reason, ended_at))
			}
			_ => None,
		})
		.collect()
}

/// Registers one key more than a block may end, all owned by account 4 with `collateral` and
/// expiring at block 3, runs to block 3, and returns the seed and key of one that still waits
/// in the carried-over backlog.
pub(crate) fn key_waiting_in_backlog(collateral: Balance) -> (u8, SessionPublic) {
	let cap = MaxExpiriesPerBlock::get() as u8;
	let seeds: Vec<u8> = (0..=cap).map(|i| 10 + i).collect();
	let keys: Vec<_> =
		seeds.iter().map(|seed| register_with(4, *seed, Some(2), collateral)).collect();
	run_to_block(3);
	let index = keys.iter().position(crate::Sessions::<Test>::contains_key).expect("one waits");
	(seeds[index], keys[index])
}
