//! The settlement queue: which sessions settle in which block's `on_initialize`.
//!
//! Sessions wait in [`ExpiryQueue`] under their settlement block (`settles_at`, the end of the
//! closing window), so nothing happens at a key's expiry itself; [`ExpiryAgenda`] marks the
//! blocks that have work and counts their keys, so an idle block costs the one read of its
//! (absent) mark.
//!
//! As `pallet-scheduler` bounds its agenda, a block takes at most `MaxExpiriesPerBlock` keys
//! when they are scheduled (`register`, `renew`, `rotate`, revocation): a key whose block is full
//! goes to the first later block with room, at most `MaxSettlementDelay` blocks on, so its
//! counterpart's window only grows. A flood of keys aimed at one block therefore spreads over the
//! following blocks at scheduling time, and `on_initialize` never carries a backlog in normal
//! operation. `register`, `renew` and `rotate` fail with `SettlementAgendaFull` when no block in
//! reach has room. A revocation never fails: when every block in reach is full to the cap, it
//! takes the first of them with a slot left in the `ClosingReserve` (slots only revocations
//! take), so a flood of registrations cannot keep a revoked key's collateral held until the end
//! of its term; only when the reserve in reach is full too does the key keep the block it was
//! queued in (the counterpart's window then only grows). A block thus holds at most
//! `MaxExpiriesPerBlock + ClosingReserve` keys, and `on_initialize` settles that many.
//!
//! The carry-over stays as the safety net: a block settles at most `MaxExpiriesPerBlock`
//! sessions; when more are due, the mark of the next block records the oldest block still
//! waiting (`carry_from`) and the next block resumes there, so no session is skipped. A renewed,
//! revoked or settled key's entry is moved or removed directly, so no queue is ever scanned for
//! it. Settling itself is [`crate::settlement`]'s.

use frame_support::{pallet_prelude::*, traits::Defensive};
use frame_system::pallet_prelude::BlockNumberFor;
use frame_system::Config as SystemConfig;
use sp_runtime::traits::{One, Saturating};

use crate::{
	Config, DueMark, Error, Event, ExpiryAgenda, ExpiryQueue, Pallet, SessionPublic, Sessions,
	WeightInfo,
};

/// Bytes of a mark's storage key besides the block number (pallet and storage prefixes, the
/// `Twox64Concat` hash), plus the trie overhead the benchmarks add to a `MaxEncodedLen` proof
/// estimate of one item (2,475 bytes).
const MARK_KEY_OVERHEAD: usize = 32 + 8 + 2475;

/// Which slots of a block a placement may take.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Slots {
	/// Only under `MaxExpiriesPerBlock` (`register`, `renew`, `rotate`).
	Cap,
	/// Under the cap, else one of the `ClosingReserve` (a revocation).
	CapThenReserve,
	/// Under the cap, else the last block in reach whatever its count (a failed settlement's
	/// retry, a defensive path).
	CapOrLast,
}

/// Where a key was queued, and how many agenda marks were read to find the block.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Placement<BlockNumber> {
	/// The block whose `on_initialize` settles the key.
	pub at: BlockNumber,
	/// Marks read: 1 when the due block had room.
	pub probes: u32,
}

impl<T: Config> Pallet<T> {
	/// Queues `public` in the first block from `due` on with room, probing at most
	/// `MaxSettlementDelay + 1` blocks; `SettlementAgendaFull` when none has room.
	pub(crate) fn schedule(
		public: &SessionPublic,
		due: BlockNumberFor<T>,
	) -> Result<Placement<BlockNumberFor<T>>, Error<T>> {
		Self::place(public, due, Slots::Cap).ok_or(Error::<T>::SettlementAgendaFull)
	}

	/// Queues a revoked key as [`Self::schedule`] does, but never fails: when no block in reach
	/// has room under the cap, the key takes the first with a slot of the closing reserve left
	/// (found in the same search); when none has, it keeps `fallback`, the block it was queued
	/// in before (which the caller just freed by unscheduling it there, and which is never
	/// earlier than `due`). The counterpart's window then lasts longer; the bound holds either
	/// way.
	pub(crate) fn schedule_closing(
		public: &SessionPublic,
		due: BlockNumberFor<T>,
		fallback: BlockNumberFor<T>,
	) -> Placement<BlockNumberFor<T>> {
		Self::place(public, due, Slots::CapThenReserve).unwrap_or_else(|| {
			// The whole reach read, then the fallback's mark.
			let probes = T::MaxSettlementDelay::get().saturating_add(2);
			Self::queue_at(public, fallback);
			Placement { at: fallback, probes }
		})
	}

	/// The most keys one block settles (and holds): the cap and the closing reserve.
	pub fn settlements_per_block() -> u32 {
		T::MaxExpiriesPerBlock::get().saturating_add(T::ClosingReserve::get())
	}

	/// Queues a key whose settlement failed again, in the first block with room after `now`
	/// (or, if none is in reach, the last block in reach over its cap: this only follows a
	/// defensive failure).
	pub(crate) fn schedule_retry(
		public: &SessionPublic,
		now: BlockNumberFor<T>,
	) -> BlockNumberFor<T> {
		let due = now.saturating_add(One::one());
		Self::place(public, due, Slots::CapOrLast).map_or(due, |placement| placement.at)
	}

	/// Queues `public` in block `at` and counts it there, whatever the count.
	pub(crate) fn queue_at(public: &SessionPublic, at: BlockNumberFor<T>) {
		ExpiryAgenda::<T>::mutate(at, |mark| {
			mark.get_or_insert_with(DueMark::default).queued.saturating_inc();
		});
		ExpiryQueue::<T>::insert(at, public, ());
	}

	/// Queues `public` in the first block from `due` on, within the reach, with a slot of the
	/// kind `slots` allows; each block's mark is read once.
	fn place(
		public: &SessionPublic,
		due: BlockNumberFor<T>,
		slots: Slots,
	) -> Option<Placement<BlockNumberFor<T>>> {
		let cap = T::MaxExpiriesPerBlock::get();
		let with_reserve = Self::settlements_per_block();
		let reach = T::MaxSettlementDelay::get();
		let mut at = due;
		let mut probes = 0u32;
		// The first block in reach with a reserve slot left, kept while looking for room
		// under the cap.
		let mut reserve: Option<BlockNumberFor<T>> = None;
		loop {
			let queued = ExpiryAgenda::<T>::get(at).map_or(0, |mark| mark.queued);
			probes.saturating_inc();
			let last = probes > reach;
			if queued < cap || (last && slots == Slots::CapOrLast) {
				Self::queue_at(public, at);
				return Some(Placement { at, probes });
			}
			if slots == Slots::CapThenReserve && reserve.is_none() && queued < with_reserve {
				reserve = Some(at);
			}
			if last {
				let at = reserve?;
				Self::queue_at(public, at);
				return Some(Placement { at, probes });
			}
			at.saturating_inc();
		}
	}

	/// Takes `public` out of the queue of block `at`, and out of the block's count; a mark left
	/// with no work goes, so the block is idle again.
	pub(crate) fn unschedule(public: &SessionPublic, at: BlockNumberFor<T>) {
		if ExpiryQueue::<T>::take(at, public).is_none() {
			return;
		}
		ExpiryAgenda::<T>::mutate_exists(at, |slot| {
			if let Some(mark) = slot {
				mark.queued.saturating_dec();
				if mark.is_empty() {
					*slot = None;
				}
			}
		});
	}

	/// Moves `public`'s queue entry from block `from` to the first block with room from `to`
	/// on; `SettlementAgendaFull` if no block in reach has room.
	pub(crate) fn reschedule(
		public: &SessionPublic,
		from: BlockNumberFor<T>,
		to: BlockNumberFor<T>,
	) -> Result<Placement<BlockNumberFor<T>>, Error<T>> {
		// Out first, so that a placement back at `from` counts the key once. Calls that
		// fail roll back with their storage transaction.
		Self::unschedule(public, from);
		Self::schedule(public, to)
	}

	/// The weight of reading `probes` agenda marks beyond the first, which every call's
	/// benchmark includes: one storage read each, with the proof size the benchmarks estimate
	/// for a mark (its largest encoding and key, plus the trie overhead of a `MaxEncodedLen`
	/// estimate).
	pub fn placement_weight(probes: u32) -> Weight {
		let extra = u64::from(probes.saturating_sub(1));
		let mark = DueMark::<BlockNumberFor<T>>::max_encoded_len()
			.saturating_add(BlockNumberFor::<T>::max_encoded_len())
			.saturating_add(MARK_KEY_OVERHEAD) as u64;
		<T as SystemConfig>::DbWeight::get()
			.reads(extra)
			.saturating_add(Weight::from_parts(0, mark.saturating_mul(extra)))
	}

	/// The most [`Self::placement_weight`] a placement can take: the whole reach
	/// (`MaxSettlementDelay + 1` marks) and, for a revocation that finds no room, the mark of
	/// the block it keeps.
	pub fn max_placement_weight() -> Weight {
		Self::placement_weight(T::MaxSettlementDelay::get().saturating_add(2))
	}

	/// Settles the sessions due by `now`, oldest first, within the per-block bound, and returns the
	/// weight used.
	pub(crate) fn process_expiries(now: BlockNumberFor<T>) -> Weight {
		let Some(mark) = ExpiryAgenda::<T>::take(now) else {
			return T::WeightInfo::on_initialize_idle();
		};
		let max = Self::settlements_per_block();
		let mut block = mark.carry_from.unwrap_or(now);
		let mut ended = 0u32;
		// Queued blocks stepped past after the first, each one read of an empty queue.
		let mut stepped = 0u32;
		let mut carried = false;
		let mut retried = 0u32;
		// Whether the budget ran out and the block's queue was checked for more.
		let mut checked = false;
		loop {
			let mut due = ExpiryQueue::<T>::drain_prefix(block);
			while ended < max {
				let Some((public, ())) = due.next() else {
					break;
				};
				if !Self::end_expired(public, block, now) {
					retried.saturating_inc();
				}
				ended += 1;
			}
			if ended == max {
				// Out of budget: resume here next time if this block holds more keys, else at
				// the next block while the backlog lasts. A full block with nothing behind it
				// (the usual case under the scheduling cap) carries nothing.
				checked = true;
				let more = ExpiryQueue::<T>::iter_key_prefix(block).next().is_some();
				if more || block < now {
					let from = if more { block } else { block.saturating_add(One::one()) };
					Self::carry_over(now, from);
					carried = true;
				}
				break;
			}
			if block >= now {
				break;
			}
			block.saturating_inc();
			if stepped == max {
				Self::carry_over(now, block);
				carried = true;
				break;
			}
			stepped += 1;
		}
		let db = <T as SystemConfig>::DbWeight::get();
		let carry_weight = if carried { db.reads_writes(1, 1) } else { Weight::zero() };
		let carry_weight =
			if checked { carry_weight.saturating_add(db.reads(1)) } else { carry_weight };
		// A failed settlement's retry is placed again (a defensive path, never in a
		// consistent state).
		let carry_weight = carry_weight.saturating_add(
			Self::max_placement_weight()
				.saturating_add(db.reads_writes(1, 3))
				.saturating_mul(retried.into()),
		);
		T::WeightInfo::on_initialize_expire(ended, stepped).saturating_add(carry_weight)
	}

	/// Records in the next block's mark that the queue from `from` on still waits.
	fn carry_over(now: BlockNumberFor<T>, from: BlockNumberFor<T>) {
		ExpiryAgenda::<T>::mutate(now.saturating_add(One::one()), |mark| {
			mark.get_or_insert_with(DueMark::default).carry_from = Some(from);
		});
		Self::deposit_event(Event::ExpiryCarriedOver { from });
	}

	/// Settles the session of `public`, whose queue entry at `block` was just drained, with the
	/// reason its closing began with (`Expired` or `Revoked`). A settlement that fails (a hold
	/// that cannot be burned or released: never in a consistent state) changes nothing; the
	/// key is queued again in the next block with room and `SettlementFailed` names it (its
	/// counterpart may then still checkpoint until the retry).
	/// Returns whether the settlement went through (or there was nothing to settle).
	fn end_expired(
		public: SessionPublic,
		block: BlockNumberFor<T>,
		now: BlockNumberFor<T>,
	) -> bool {
		let Some(session) = Sessions::<T>::get(public).defensive_proof("queued keys are live")
		else {
			return true;
		};
		if session.settles_at != block {
			defensive!("a queued key settles at another block");
			return true;
		}
		let (reason, ended_at) = (session.closing_reason(), session.expires_at);
		if let Err(error) = Self::conclude(public, session.clone(), reason, ended_at) {
			let retry_at = Self::schedule_retry(&public, now);
			Sessions::<T>::insert(public, crate::Registration { settles_at: retry_at, ..session });
			Self::deposit_event(Event::SettlementFailed { public, error, retry_at });
			return false;
		}
		true
	}
}
