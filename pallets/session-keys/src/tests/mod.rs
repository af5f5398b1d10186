//! Unit tests of the adjudicator pallet, one module per concern. Every test runs through
//! `ExtBuilder::build_and_execute`, which checks the invariants at the end.

mod checkpoint;
mod closing;
mod delegation;
mod expiry;
mod invariants;
mod migration;
mod model;
mod register;
mod renew;
mod retired_migration;
mod revoke;
mod rotate;
mod settlement;
mod terms;

use crate::{mock::*, EndReason, Error, Event, SessionPublic};
use frame_support::{assert_noop, dispatch::DispatchResult};
use sp_runtime::DispatchError;

/// The last event emitted by this pallet.
pub(crate) fn last_event() -> Event<Test> {
	pallet_events().pop().expect("an event was emitted")
}

/// All events emitted by this pallet so far.
pub(crate) fn pallet_events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::Adjudicator(event) => Some(event),
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

/// Runs `f` with `MaxExpiriesPerBlock` at `cap`, then restores it. Under the scheduling cap a
/// backlog only arises when a block holds more keys than the cap allows, as after a runtime
/// upgrade that lowers the cap: tests build one by registering under a higher cap.
pub(crate) fn with_cap<R>(cap: u32, f: impl FnOnce() -> R) -> R {
	let before = MaxExpiriesPerBlock::get();
	MaxExpiriesPerBlock::set(cap);
	let result = f();
	MaxExpiriesPerBlock::set(before);
	result
}

/// Registers one key more than a block may settle (under a raised cap, see [`with_cap`]), all
/// owned by account 4 with `collateral`, expiring at block 3 and so settling at
/// `3 + CHALLENGE_PERIOD`, runs to that block, and returns the seed and key of one that still
/// waits in the carried-over backlog. The closing reserve is set to none for the rest of the
/// test, so a block settles the cap.
pub(crate) fn key_waiting_in_backlog(collateral: Balance) -> (u8, SessionPublic) {
	ClosingReserve::set(0);
	let cap = MaxExpiriesPerBlock::get() as u8;
	let seeds: Vec<u8> = (0..=cap).map(|i| 10 + i).collect();
	let keys: Vec<_> = with_cap(cap as u32 + 1, || {
		seeds.iter().map(|seed| register_with(4, *seed, Some(2), collateral)).collect()
	});
	run_to_block(3 + CHALLENGE_PERIOD);
	let index = keys.iter().position(crate::Sessions::<Test>::contains_key).expect("one waits");
	(seeds[index], keys[index])
}

/// The `SessionEnded` event of a session without description and scope, settled with `paid` to
/// the counterpart out of `collateral`: the rest of the collateral and the deposit less the
/// record fee go back to the owner.
pub(crate) fn ended(
	public: SessionPublic,
	owner: AccountId,
	reason: EndReason,
	ended_at: u64,
	paid: Balance,
	collateral: Balance,
) -> Event<Test> {
	Event::SessionEnded {
		public,
		owner,
		counterpart: if owner == CLEARING { BOB } else { CLEARING },
		delegate: None,
		reason,
		ended_at,
		owed: paid,
		paid_to_counterpart: paid,
		collateral_released: collateral - paid,
		deposit_released: empty_deposit_back(),
		record_fee: record_fee(),
	}
}

/// A call's outcome without its post-dispatch weight.
pub(crate) fn unit(result: frame_support::dispatch::DispatchResultWithPostInfo) -> DispatchResult {
	result.map(|_| ()).map_err(|e| e.error)
}

/// Checks that `call` is refused to everyone but the session's owner (`ALICE`): `NotOwner` for
/// the counterpart and another owner, `BadOrigin` for root and unsigned, and nothing changes.
pub(crate) fn only_the_owner(call: impl Fn(RuntimeOrigin) -> DispatchResult) {
	for who in [BOB, CLEARING] {
		assert_noop!(call(RuntimeOrigin::signed(who)), Error::<Test>::NotOwner);
	}
	for origin in [RuntimeOrigin::root(), RuntimeOrigin::none()] {
		assert_noop!(call(origin), DispatchError::BadOrigin);
	}
}

/// Checks that `call` is refused to everyone but the session's counterpart (`CLEARING`):
/// `NotCounterpart` for the owner and another account, `BadOrigin` for root and unsigned.
pub(crate) fn only_the_counterpart(call: impl Fn(RuntimeOrigin) -> DispatchResult) {
	for who in [ALICE, BOB] {
		assert_noop!(call(RuntimeOrigin::signed(who)), Error::<Test>::NotCounterpart);
	}
	for origin in [RuntimeOrigin::root(), RuntimeOrigin::none()] {
		assert_noop!(call(origin), DispatchError::BadOrigin);
	}
}

/// The counterpart (`CLEARING`) checkpoints `state` signed by `pair` for `public`.
pub(crate) fn checkpoint_by<P: sp_core::crypto::Pair>(
	pair: &P,
	public: SessionPublic,
	state: crate::ChannelState<Balance>,
) -> DispatchResult
where
	crate::SessionSignature: From<P::Signature>,
{
	Adjudicator::checkpoint(
		RuntimeOrigin::signed(CLEARING),
		public,
		state,
		sign_state_for(pair, public, state),
	)
}
