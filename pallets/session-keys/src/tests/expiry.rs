//! Settlement in `on_initialize` when the closing window ends: bounded per block, carried over,
//! never skipped, and one read when nothing is due.

use super::*;
use crate::{ExpiryAgenda, Sessions, WeightInfo};
use frame_support::traits::{fungible::Inspect, Hooks};

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
		let cap = MaxExpiriesPerBlock::get() as usize; // 3
		let owners = [ALICE, BOB, CLEARING, 4, 5];
		let mut keys = vec![];
		for (i, owner) in owners.iter().enumerate() {
			keys.push(register_with(*owner, 10 + i as u8, Some(9), 10));
			keys.push(register_with(*owner, 40 + i as u8, Some(9), 10));
		}
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
		let cap = MaxExpiriesPerBlock::get();
		for seed in 0..=cap as u8 {
			register_with(4, 10 + seed, Some(2), 0);
		}
		let due = 3 + CHALLENGE_PERIOD;
		System::set_block_number(due);
		let carry = <Test as frame_system::Config>::DbWeight::get().reads_writes(1, 1);
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
		// cap = 3: twelve keys due at block 13 take blocks 13 to 16. Block 17 then walks from
		// 13 to 17, more empty blocks than the step bound allows, so a key due at 17 waits a
		// block.
		MaxKeysPerOwner::set(20);
		let cap = MaxExpiriesPerBlock::get();
		for seed in 0..4 * cap as u8 {
			register_with(4, 10 + seed, Some(2), 0);
		}
		let late = register_with(5, 99, Some(6), 0);
		run_to_block(6 + CHALLENGE_PERIOD);
		assert_eq!(endings().len() as u32, 4 * cap);
		System::set_block_number(7 + CHALLENGE_PERIOD);
		let carry = <Test as frame_system::Config>::DbWeight::get().reads_writes(1, 1);
		assert_eq!(
			Adjudicator::on_initialize(7 + CHALLENGE_PERIOD),
			<() as WeightInfo>::on_initialize_expire(0, cap) + carry,
			"steps are bounded by the cap and accounted"
		);
		assert_eq!(last_event(), Event::ExpiryCarriedOver { from: 7 + CHALLENGE_PERIOD });
		check_invariants();
		assert!(Sessions::<Test>::contains_key(late));
		run_to_block(8 + CHALLENGE_PERIOD);
		assert_eq!(endings().last(), Some(&(late, EndReason::Expired, 7)));
		assert_eq!(ExpiryAgenda::<Test>::iter().count(), 0);
	});
}
