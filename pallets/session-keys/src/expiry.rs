//! The settlement queue: which sessions settle in which block's `on_initialize`.
//!
//! Sessions wait in [`ExpiryQueue`] under their settlement block (`settles_at`, the end of the
//! closing window), so nothing happens at a key's expiry itself; [`ExpiryAgenda`] marks the
//! blocks that have work, so an idle block costs the one read of its (absent) mark. A block
//! settles at most `MaxExpiriesPerBlock` sessions; when more are due, the mark of the next block
//! records the oldest block still waiting (`carry_from`) and the next block resumes there, so no
//! session is skipped. A renewed, revoked or settled key's entry is moved or removed directly, so
//! no queue is ever scanned for it. Settling itself is [`crate::settlement`]'s.

use frame_support::{pallet_prelude::*, traits::Defensive};
use frame_system::pallet_prelude::BlockNumberFor;
use frame_system::Config as SystemConfig;
use sp_runtime::traits::{One, Saturating};

use crate::{
	Config, DueMark, Event, ExpiryAgenda, ExpiryQueue, Pallet, SessionPublic, Sessions, WeightInfo,
};

impl<T: Config> Pallet<T> {
	/// Queues `public` to settle in the `on_initialize` of block `at`.
	pub(crate) fn schedule(public: &SessionPublic, at: BlockNumberFor<T>) {
		ExpiryQueue::<T>::insert(at, public, ());
		ExpiryAgenda::<T>::mutate(at, |mark| {
			mark.get_or_insert_with(DueMark::default);
		});
	}

	/// Takes `public` out of the queue of block `at`. The block's mark stays: it then costs that
	/// block one read of an empty queue, which is cheaper than counting entries per block.
	pub(crate) fn unschedule(public: &SessionPublic, at: BlockNumberFor<T>) {
		ExpiryQueue::<T>::remove(at, public);
	}

	/// Moves `public`'s queue entry from block `from` to block `to`.
	pub(crate) fn reschedule(
		public: &SessionPublic,
		from: BlockNumberFor<T>,
		to: BlockNumberFor<T>,
	) {
		if from != to {
			Self::unschedule(public, from);
			Self::schedule(public, to);
		}
	}

	/// Settles the sessions due by `now`, oldest first, within the per-block bound, and returns the
	/// weight used.
	pub(crate) fn process_expiries(now: BlockNumberFor<T>) -> Weight {
		let Some(mark) = ExpiryAgenda::<T>::take(now) else {
			return T::WeightInfo::on_initialize_idle();
		};
		let max = T::MaxExpiriesPerBlock::get();
		let mut block = mark.carry_from.unwrap_or(now);
		let mut ended = 0u32;
		// Queued blocks stepped past after the first, each one read of an empty queue.
		let mut stepped = 0u32;
		let mut carried = false;
		loop {
			let mut due = ExpiryQueue::<T>::drain_prefix(block);
			while ended < max {
				let Some((public, ())) = due.next() else {
					break;
				};
				Self::end_expired(public, block);
				ended += 1;
			}
			if ended == max {
				// Out of budget: resume at this block next time (it may hold more keys).
				Self::carry_over(now, block);
				carried = true;
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
		let carry_weight = if carried {
			<T as SystemConfig>::DbWeight::get().reads_writes(1, 1)
		} else {
			Weight::zero()
		};
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
	/// reason its closing began with (`Expired` or `Revoked`).
	fn end_expired(public: SessionPublic, block: BlockNumberFor<T>) {
		let Some(session) = Sessions::<T>::take(public).defensive_proof("queued keys are live")
		else {
			return;
		};
		if session.settles_at != block {
			defensive!("a queued key settles at another block");
			Sessions::<T>::insert(public, session);
			return;
		}
		Self::unindex(&session.owner, &public);
		let (reason, ended_at) = (session.closing_reason(), session.expires_at);
		Self::settle_and_retire(public, session, reason, ended_at);
	}
}
