//! Every ending's charged weight covers the storage its costliest path touches, with the
//! runtime's database weights. The benchmarks measure each ending at its worst (a debt paid to a
//! counterpart account the payment creates, an owner's index full, the agenda mark counted);
//! a benchmark that skipped part of that work would measure fewer reads and writes, and the
//! weights it generated would fail here.

use frame_support::{traits::Get, weights::Weight};
use pallet_session_keys::{weights::SubstrateWeight, WeightInfo};
use session_keys_runtime::{configs::SessionKeyMaxKeysPerOwner, Adjudicator, Runtime};

type W = SubstrateWeight<Runtime>;

fn db(reads: u64, writes: u64) -> Weight {
	<Runtime as frame_system::Config>::DbWeight::get().reads_writes(reads, writes)
}

/// What settling one session reads and writes at worst: the session (read, removed), the
/// owner's key index (read, rewritten), the owner's hold (read, written), the owner's and the
/// counterpart's accounts (read, written: the payment and the release), the queue entry
/// (removed) and its block's agenda mark (read, recounted), the retired record (written), and
/// the running totals of the delegate that made the key (read, written).
fn settlement() -> Weight {
	db(7, 9)
}

/// What closing one session reads and writes at worst: the session (read, written), the
/// owner's authorization when its delegate revokes (read), the challenge period override
/// (read), the old queue entry (read, removed) and both blocks' agenda marks (read, recounted),
/// and the new queue entry (written).
fn closing() -> Weight {
	db(6, 5)
}

/// What `revoke_all` reads and writes for each key at worst: the session (read, written), the
/// old queue entry (read, removed), the old block's mark (read, recounted: an owner's keys may
/// each settle in a block of their own) and the new queue entry (written). The new block's mark
/// and the challenge period are shared by all the keys.
fn closing_one_of_many() -> Weight {
	db(3, 4)
}

fn covers(what: &str, weight: Weight, footprint: Weight) {
	assert!(
		weight.ref_time() >= footprint.ref_time(),
		"{what}: {weight:?} charges less than the storage it touches, {footprint:?}"
	);
	assert!(weight.proof_size() > 0, "{what}: no proof size");
}

#[test]
fn each_settling_ending_covers_the_costliest_settlement() {
	// In on_initialize the block's mark is read once for all its keys: a key's share is the
	// rest of the footprint.
	let in_block = Adjudicator::settlement_weight();
	covers("a settlement in on_initialize", in_block, db(6, 8));
	// Each call that settles at once does that same settlement and more (its origin and
	// checks, the agenda mark): it is charged at least what one settlement costs in a block,
	// database and execution both, and the footprint.
	for (what, weight) in
		[("liquidate", W::liquidate()), ("discontinue", W::discontinue()), ("settle", W::settle())]
	{
		covers(what, weight, settlement());
		assert!(
			weight.ref_time() >= in_block.ref_time(),
			"{what}: {weight:?} is below one settlement in on_initialize, {in_block:?}"
		);
	}
	// And registering prepays it.
	for kind in [
		session_keys_primitives::CryptoKind::Sr25519,
		session_keys_primitives::CryptoKind::Ed25519,
		session_keys_primitives::CryptoKind::Ecdsa,
	] {
		let charged = Adjudicator::register_weight(kind);
		let prepaid = Adjudicator::register_base_weight(kind) + Adjudicator::settlement_weight();
		assert!(charged.all_gte(prepaid), "{kind:?}: register prepays its settlement");
	}
}

#[test]
fn each_closing_covers_the_costliest_closing() {
	covers("revoke", W::revoke(), closing());
	let max = <SessionKeyMaxKeysPerOwner as Get<u32>>::get();
	for k in [1, max / 2, max] {
		// The owner's index, the challenge period and the new block's mark once, then each key.
		let per_key = closing_one_of_many().saturating_mul(k.into());
		covers(&format!("revoke_all({k})"), W::revoke_all(k), per_key + db(3, 1));
		// The authorization taken, its deposit released (hold and account), then as
		// `revoke_all`.
		let revoking = per_key + db(3, 1) + db(3, 3);
		covers(&format!("revoke_delegate({k})"), W::revoke_delegate(k), revoking);
	}
}
