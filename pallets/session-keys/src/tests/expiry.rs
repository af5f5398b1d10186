//! Settlement in `on_initialize` when the closing window ends: capped per block at scheduling
//! time (a flood spreads over the following blocks), bounded per block, carried over, never
//! skipped, and one read when nothing is due.

use super::*;
use crate::{ExpiryAgenda, Sessions, WeightInfo};
use frame_support::{
	assert_noop, assert_ok,
	traits::{fungible::Inspect, Hooks},
};

#[test]
fn session_settles_when_its_window_ends_and_releases_holds() {
	ExtBuilder::default().build_and_execute(|| {
		let public = register_with(ALICE, 1, Some(5), 250);
		assert!(Adjudicator::is_valid_at(&public, 5));
		assert!(!Adjudicator::is_valid_at(&public, 6));
		run_to_block(5 + CHALLENGE_PERIOD);
		assert!(Sessions::<Test>::contains_key(public));
		assert!(endings().is_empty());
		run_to_block(6 + CHALLENGE_PERIOD);
		assert_eq!(last_event(), ended(public, ALICE, EndReason::Expired, 6, 0, 250));
		assert!(!Sessions::<Test>::contains_key(public));
		assert_eq!(held(ALICE), 0);
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE - record_fee());
		assert!(Adjudicator::keys_of(&ALICE).is_empty());
	});
}

#[test]
fn more_keys_due_than_the_cap_all_end_over_the_following_blocks() {
	ExtBuilder::default().build_and_execute(|| {
		// A block's budget is the cap plus the closing reserve: without a reserve here, the
		// budget is the cap these backlogs are built against.
		ClosingReserve::set(0);
		let cap = MaxExpiriesPerBlock::get() as usize; // 3
		let owners = [ALICE, BOB, CLEARING, 4, 5];
		let mut keys = vec![];
		// Ten keys in one block: more than the cap, as a runtime upgrade lowering it leaves.
		with_cap(10, || {
			for (i, owner) in owners.iter().enumerate() {
				keys.push(register_with(*owner, 10 + i as u8, Some(9), 10));
				keys.push(register_with(*owner, 40 + i as u8, Some(9), 10));
			}
		});
		// One more due in the next block, which must wait behind the backlog, not jump it.
		let late = register_with(ALICE, 90, Some(10), 10);
		let total = keys.len(); // 10 due at block 10 + CHALLENGE_PERIOD
		let due = 10 + CHALLENGE_PERIOD;
		run_to_block(due);
		assert_eq!(endings().len(), cap);
		assert_eq!(last_event(), Event::ExpiryCarriedOver { from: due });
		run_to_block(due + 1);
		assert_eq!(endings().len(), 2 * cap);
		assert!(Sessions::<Test>::contains_key(late), "the backlog goes first");
		run_to_block(due + 3);
		assert_eq!(endings().len(), total + 1);
		let ended: Vec<_> = endings().into_iter().map(|(k, _, _)| k).collect();
		for key in keys.iter().chain([&late]) {
			assert!(ended.contains(key), "no key is skipped");
		}
		// Each ended at its own expiry block, whenever it was processed.
		for (key, reason, ended_at) in endings() {
			assert_eq!(reason, EndReason::Expired);
			assert_eq!(ended_at, if key == late { 11 } else { 10 });
		}
		assert!(Sessions::<Test>::iter().next().is_none());
		// The backlog is gone: the next block is idle again.
		run_to_block(due + 10);
		assert_eq!(ExpiryAgenda::<Test>::iter().count(), 0);
	});
}

#[test]
fn weight_of_a_block_follows_the_work_done() {
	ExtBuilder::default().build_and_execute(|| {
		register_with(ALICE, 1, Some(4), 0);
		register_with(BOB, 2, Some(4), 0);
		let due = 5 + CHALLENGE_PERIOD;
		System::set_block_number(due);
		let weight = Adjudicator::on_initialize(due);
		assert_eq!(weight, <() as WeightInfo>::on_initialize_expire(2, 0));
		check_invariants();
	});
}

#[test]
fn backlog_weight_counts_keys_steps_and_the_carry() {
	ExtBuilder::default().build_and_execute(|| {
		// A block's budget is the cap plus the closing reserve: without a reserve here, the
		// budget is the cap these backlogs are built against.
		ClosingReserve::set(0);
		let cap = MaxExpiriesPerBlock::get();
		with_cap(cap + 1, || {
			for seed in 0..=cap as u8 {
				register_with(4, 10 + seed, Some(2), 0);
			}
		});
		let due = 3 + CHALLENGE_PERIOD;
		System::set_block_number(due);
		let db = <Test as frame_system::Config>::DbWeight::get();
		// The carry, and the read that found more keys in the block.
		let carry = db.reads_writes(1, 1) + db.reads(1);
		assert_eq!(
			Adjudicator::on_initialize(due),
			<() as WeightInfo>::on_initialize_expire(cap, 0) + carry
		);
		System::set_block_number(due + 1);
		// Resumes at the due block (one key left), then steps to the next.
		assert_eq!(
			Adjudicator::on_initialize(due + 1),
			<() as WeightInfo>::on_initialize_expire(1, 1)
		);
		check_invariants();
	});
}

#[test]
fn idle_block_costs_the_idle_weight() {
	ExtBuilder::default().build_and_execute(|| {
		register_with(ALICE, 1, Some(50), 0);
		System::set_block_number(2);
		frame_support::assert_storage_noop!(assert_eq!(
			Adjudicator::on_initialize(2),
			<() as WeightInfo>::on_initialize_idle()
		));
	});
}

/// The trie nodes a closure reads from committed state.
fn reads_of(ext: &mut sp_io::TestExternalities, f: impl FnOnce()) -> Vec<Vec<u8>> {
	ext.commit_all().unwrap();
	let ((), proof) = ext.execute_and_prove(f);
	let mut nodes: Vec<_> = proof.into_iter_nodes().collect();
	nodes.sort();
	nodes
}

#[test]
fn idle_block_reads_exactly_one_storage_item() {
	let mut ext = ExtBuilder::default().build();
	ext.execute_with(|| {
		register_with(ALICE, 1, Some(50), 0);
		register_with(BOB, 2, Some(60), 0);
	});
	// What one read of block 30's agenda touches...
	let one_read = reads_of(&mut ext, || {
		let _ = ExpiryAgenda::<Test>::get(30u64);
	});
	// ...is exactly what an idle block's on_initialize touches.
	let idle = reads_of(&mut ext, || {
		Adjudicator::on_initialize(30);
	});
	assert_eq!(idle, one_read);
	// The measure is not blind: a block with a key due reads more.
	let busy = reads_of(&mut ext, || {
		Adjudicator::on_initialize(51 + CHALLENGE_PERIOD);
	});
	assert!(busy.len() > one_read.len());
}

#[test]
fn long_backlog_is_stepped_through_within_the_bound() {
	ExtBuilder::default().build_and_execute(|| {
		// A block's budget is the cap plus the closing reserve: without a reserve here, the
		// budget is the cap these backlogs are built against.
		ClosingReserve::set(0);
		// cap = 3: fifteen keys due at block 13 take blocks 13 to 17, and block 17 leaves the
		// backlog at 14. Block 18 then walks from 14 to 18, more empty blocks than the step
		// bound allows, so a key due at 18 waits a block.
		MaxKeysPerOwner::set(20);
		let cap = MaxExpiriesPerBlock::get();
		with_cap(5 * cap, || {
			for seed in 0..5 * cap as u8 {
				register_with(4, 10 + seed, Some(2), 0);
			}
		});
		let late = register_with(5, 99, Some(7), 0);
		run_to_block(7 + CHALLENGE_PERIOD);
		assert_eq!(endings().len() as u32, 5 * cap);
		assert_eq!(last_event(), Event::ExpiryCarriedOver { from: 4 + CHALLENGE_PERIOD });
		System::set_block_number(8 + CHALLENGE_PERIOD);
		let carry = <Test as frame_system::Config>::DbWeight::get().reads_writes(1, 1);
		assert_eq!(
			Adjudicator::on_initialize(8 + CHALLENGE_PERIOD),
			<() as WeightInfo>::on_initialize_expire(0, cap) + carry,
			"steps are bounded by the cap and accounted"
		);
		assert_eq!(last_event(), Event::ExpiryCarriedOver { from: 8 + CHALLENGE_PERIOD });
		check_invariants();
		assert!(Sessions::<Test>::contains_key(late));
		run_to_block(9 + CHALLENGE_PERIOD);
		assert_eq!(endings().last(), Some(&(late, EndReason::Expired, 8)));
		assert_eq!(ExpiryAgenda::<Test>::iter().count(), 0);
	});
}

#[test]
fn a_full_block_that_is_drained_carries_nothing() {
	ExtBuilder::default().build_and_execute(|| {
		// A block's budget is the cap plus the closing reserve: without a reserve here, the
		// budget is the cap these backlogs are built against.
		ClosingReserve::set(0);
		let cap = MaxExpiriesPerBlock::get();
		for seed in 0..cap as u8 {
			register_with(4, 10 + seed, Some(2), 0);
		}
		let due = 3 + CHALLENGE_PERIOD;
		System::set_block_number(due);
		let db = <Test as frame_system::Config>::DbWeight::get();
		assert_eq!(
			Adjudicator::on_initialize(due),
			<() as WeightInfo>::on_initialize_expire(cap, 0) + db.reads(1),
			"one read finds the block drained"
		);
		assert!(!pallet_events().iter().any(|e| matches!(e, Event::ExpiryCarriedOver { .. })));
		assert_eq!(ExpiryAgenda::<Test>::iter().count(), 0);
		check_invariants();
	});
}

/// Keys from `seeds` for owners 1, 2, 4 and 5 in turn (four keys each at most), all due at
/// the same block.
fn flood(seeds: core::ops::Range<u8>, duration: u64) -> Vec<SessionPublic> {
	let owners = [ALICE, BOB, 4, 5];
	seeds
		.enumerate()
		.map(|(i, seed)| register_with(owners[i % owners.len()], seed, Some(duration), 0))
		.collect()
}

#[test]
fn a_flood_aimed_at_one_block_does_not_delay_the_next_block() {
	ExtBuilder::default().build_and_execute(|| {
		let cap = MaxExpiriesPerBlock::get(); // 3
		let x = 1 + 10 + CHALLENGE_PERIOD;
		// An honest key due at block x + 1.
		let honest = register_with(CLEARING, 1, Some(11), 50);
		// Then a flood of 12 keys aimed at block x: four blocks' worth.
		let flooded = flood(20..32, 10);
		let placed: Vec<u64> =
			flooded.iter().map(|k| Sessions::<Test>::get(k).unwrap().settles_at).collect();
		assert_eq!(&placed[..3], &[x; 3], "the target block takes the cap");
		assert_eq!(&placed[3..5], &[x + 1; 2], "then the next block, with the honest key");
		assert!(placed[5..].iter().all(|at| *at > x + 1));
		for at in x..x + 5 {
			assert!(ExpiryAgenda::<Test>::get(at).map_or(0, |m| m.queued) <= cap);
		}
		// The honest key settles in its own block, not behind the flood.
		run_to_block(x);
		assert!(Sessions::<Test>::contains_key(honest));
		run_to_block(x + 1);
		assert!(!Sessions::<Test>::contains_key(honest), "settled at its block");
		assert_eq!(
			endings().iter().find(|(k, _, _)| *k == honest),
			Some(&(honest, EndReason::Expired, 12))
		);
		// Every flooded key settled in the block it was placed in: no backlog, ever.
		run_to_block(x + 6);
		assert!(!pallet_events().iter().any(|e| matches!(e, Event::ExpiryCarriedOver { .. })));
		assert_eq!(endings().len(), flooded.len() + 1);
	});
}

#[test]
fn a_key_due_in_a_flooded_block_goes_to_the_first_block_with_room() {
	ExtBuilder::default().build_and_execute(|| {
		let x = 1 + 10 + CHALLENGE_PERIOD;
		flood(20..26, 10); // blocks x and x + 1 full
		let late = registration(ALICE, 1).duration(Some(10)).register();
		let session = Sessions::<Test>::get(late).unwrap();
		assert_eq!((session.expires_at, session.settles_at), (11, x + 2));
		// Its counterpart's window only grew: it may still checkpoint at x + 1.
		run_to_block(x + 1);
		assert_ok!(checkpoint_by(&sr_pair(1), late, state(1, 0, 0)));
		run_to_block(x + 2);
		assert_eq!(endings().last(), Some(&(late, EndReason::Expired, 11)));
	});
}

#[test]
fn placement_search_is_bounded_and_charged() {
	ExtBuilder::default().build_and_execute(|| {
		MaxSettlementDelay::set(2);
		let x = 1 + 10 + CHALLENGE_PERIOD;
		flood(20..29, 10); // blocks x, x + 1 and x + 2 full: the whole reach
		let call = registration(CLEARING, 1).duration(Some(10));
		assert_noop!(call.submit(), Error::<Test>::SettlementAgendaFull);
		// Another duration has room in its first block: no search is charged.
		let info = registration(CLEARING, 1)
			.duration(Some(9))
			.submit_with_info(RuntimeOrigin::signed(CLEARING));
		let info = info.expect("room at x + 2 from x - 1");
		let public = registration(CLEARING, 1).public;
		assert_eq!(Sessions::<Test>::get(public).unwrap().settles_at, x - 1);
		let charged = Adjudicator::register_weight(public.kind());
		let used = info.actual_weight.expect("refunds the unused search");
		assert!(used.all_lt(charged));
		assert_eq!(
			used,
			Adjudicator::register_base_weight(public.kind()) + Adjudicator::settlement_weight()
		);
		// A renewal into the full blocks fails and changes nothing.
		assert_noop!(
			Adjudicator::renew(RuntimeOrigin::signed(CLEARING), public, Some(10)),
			Error::<Test>::SettlementAgendaFull
		);
	});
}

/// The attack: the blocks a revocation would settle in are filled to the cap with
/// registrations. The revocation takes a slot of the closing reserve there, so the revoked key
/// settles about `ChallengePeriod` after its revocation, not at the end of its term.
#[test]
fn a_revocation_into_blocks_full_to_the_cap_takes_a_reserve_slot() {
	ExtBuilder::default().build_and_execute(|| {
		MaxSettlementDelay::set(1);
		let public = register_with(CLEARING, 1, Some(50), 0);
		let term_end = Sessions::<Test>::get(public).unwrap().settles_at;
		// Blocks 2 + CHALLENGE_PERIOD and the next, the whole reach of a revocation at block
		// 2, are full to the cap; registrations can no longer go there.
		flood(20..26, 1);
		assert_noop!(
			registration(ALICE, 30).duration(Some(1)).submit(),
			Error::<Test>::SettlementAgendaFull
		);
		run_to_block(2);
		let info = Adjudicator::revoke(RuntimeOrigin::signed(CLEARING), public).unwrap();
		let due = 2 + CHALLENGE_PERIOD;
		let session = Sessions::<Test>::get(public).unwrap();
		assert_eq!(session.settles_at, due, "in the reserve of its due block");
		assert!(due < term_end);
		// The whole reach read once: the reserve block was found on the way.
		assert_eq!(
			info.actual_weight,
			Some(<() as WeightInfo>::revoke() + Adjudicator::placement_weight(2))
		);
		let bound = MaxExpiriesPerBlock::get() + ClosingReserve::get();
		assert_eq!(ExpiryAgenda::<Test>::get(due).unwrap().queued, MaxExpiriesPerBlock::get() + 1);
		check_invariants();
		// The block settles all of them, reserve included, in its own on_initialize.
		run_to_block(due);
		assert!(!Sessions::<Test>::contains_key(public), "settled at its block");
		assert!(!pallet_events().iter().any(|e| matches!(e, Event::ExpiryCarriedOver { .. })));
		assert!(ExpiryAgenda::<Test>::iter().all(|(_, mark)| mark.queued <= bound));
	});
}

#[test]
fn a_revocation_without_room_keeps_its_block_and_the_cap_holds() {
	ExtBuilder::default().build_and_execute(|| {
		MaxSettlementDelay::set(1);
		ClosingReserve::set(0);
		let public = register_with(CLEARING, 1, Some(50), 0);
		let before = Sessions::<Test>::get(public).unwrap().settles_at;
		// Blocks 2 + CHALLENGE_PERIOD and the next, where a revocation at block 2 would
		// settle, are full.
		flood(20..26, 1);
		run_to_block(2);
		let info = Adjudicator::revoke(RuntimeOrigin::signed(CLEARING), public).unwrap();
		let session = Sessions::<Test>::get(public).unwrap();
		assert!(session.revoked && !session.is_live_at(2), "invalid at once");
		assert_eq!(session.settles_at, before, "the window lasts longer instead");
		assert_eq!(
			last_event(),
			Event::SessionClosing { public, reason: EndReason::Revoked, settles_at: before }
		);
		// The whole reach (two marks) and the kept block's mark, beyond the benchmarked one.
		assert_eq!(
			info.actual_weight,
			Some(<() as WeightInfo>::revoke() + Adjudicator::placement_weight(3))
		);
		assert_eq!(
			info.actual_weight,
			Some(<() as WeightInfo>::revoke() + Adjudicator::max_placement_weight()),
			"the worst case, as charged up front"
		);
		let cap = MaxExpiriesPerBlock::get();
		assert!(ExpiryAgenda::<Test>::iter().all(|(_, mark)| mark.queued <= cap));
	});
}

#[test]
fn a_settlement_that_fails_changes_nothing_and_is_retried() {
	ExtBuilder::default().build().execute_with(|| {
		let public = register_with(ALICE, 1, Some(2), 300);
		let due = 3 + CHALLENGE_PERIOD;
		// Break the books (never in a consistent state): the session's hold is gone, so its
		// release fails.
		let hold = held(ALICE);
		assert_ok!(<Balances as frame_support::traits::fungible::MutateHold<_>>::release(
			&crate::HoldReason::Session.into(),
			&ALICE,
			hold,
			frame_support::traits::tokens::Precision::Exact,
		));
		System::set_block_number(due);
		let weight = Adjudicator::on_initialize(due);
		let session = Sessions::<Test>::get(public).expect("nothing changed");
		assert_eq!(session.settles_at, due + 1, "queued again");
		assert!(!crate::Retired::<Test>::contains_key(public));
		assert!(matches!(
			last_event(),
			Event::SettlementFailed { public: p, retry_at, .. } if p == public && retry_at == due + 1
		));
		assert!(endings().is_empty());
		assert!(
			weight.all_gte(
				<() as WeightInfo>::on_initialize_expire(1, 0)
					+ Adjudicator::max_placement_weight()
			),
			"the retry's placement is accounted"
		);
		assert_eq!(ExpiryAgenda::<Test>::get(due + 1).map(|m| m.queued), Some(1));
		// Once the books are right again, the retry settles it.
		assert_ok!(<Balances as frame_support::traits::fungible::MutateHold<_>>::hold(
			&crate::HoldReason::Session.into(),
			&ALICE,
			hold,
		));
		System::set_block_number(due + 1);
		Adjudicator::on_initialize(due + 1);
		assert_eq!(endings(), vec![(public, EndReason::Expired, 3)]);
		check_invariants();
	});
}
