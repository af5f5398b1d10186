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
