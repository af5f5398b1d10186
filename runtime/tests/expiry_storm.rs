//! An expiry storm: 10,000 keys due in the same block, each with a checkpointed debt to settle.
//! Real blocks through `Executive` with the runtime's own weights and limits: every key is
//! settled within ceil(10,000 / MaxExpiriesPerBlock) blocks, and no block's weight exceeds the
//! block limit (pallet-session's claim of a whole session-change block aside: it makes every such
//! block "full" whatever it holds).

mod common;

use codec::Encode;
use common::*;
use frame_support::traits::{fungible::Mutate, Get};
use session_keys_primitives::{ChannelState, EndReason, SessionPublic};
use session_keys_runtime::{
	configs::{RuntimeBlockWeights, SessionKeyMaxExpiriesPerBlock, SessionKeyMaxKeysPerOwner},
	AccountId, Adjudicator, Balances, Runtime, RuntimeEvent, RuntimeOrigin, System, UNIT,
};
use sp_core::{proof_of_possession::ProofOfPossessionGenerator, sr25519, Pair};
use sp_keyring::Sr25519Keyring::Bob;
use sp_runtime::traits::{BlakeTwo256, Hash};

const KEYS: u32 = 10_000;
/// Blocks from registration to expiry.
const DURATION: u32 = 5;

#[test]
fn ten_thousand_keys_due_in_one_block_settle_within_the_bound_and_the_block_limit() {
	dev_chain().execute_with(|| {
		let per_owner = <SessionKeyMaxKeysPerOwner as Get<u32>>::get();
		let max_per_block = <SessionKeyMaxExpiriesPerBlock as Get<u32>>::get();
		let max_block = RuntimeBlockWeights::get().max_block;
		let counterpart = account(Bob);

		// 10,000 keys registered in one block, so all settle in block `settles_at` (when the
		// closing window after their expiry ends); each owes
		// its counterpart half its collateral.
		let mut keys = Vec::new();
		for i in 0..KEYS {
			let owner = AccountId::new(BlakeTwo256::hash_of(&("owner", i / per_owner)).0);
			if i % per_owner == 0 {
				Balances::set_balance(&owner, 1_000 * UNIT);
			}
			let pair = sr25519::Pair::from_seed(&BlakeTwo256::hash_of(&("key", i)).0);
			let public = SessionPublic::from(pair.public());
			let proof = pair.clone().generate_proof_of_possession(&owner.encode()).encode();
			Adjudicator::register(
				RuntimeOrigin::signed(owner.clone()),
				public,
				proof.try_into().expect("one signature"),
				counterpart.clone().into(),
				Some(DURATION),
				10 * UNIT,
				10 * UNIT,
				Default::default(),
				Default::default(),
			)
			.expect("registers");
			let state = ChannelState { nonce: 1, owed: 5 * UNIT, margin: 0 };
			let payload = state.signing_payload(&System::block_hash(0), &public);
			Adjudicator::checkpoint(
				RuntimeOrigin::signed(counterpart.clone()),
				public,
				state,
				pair.sign(&payload).into(),
			)
			.expect("checkpoints");
			keys.push(public);
		}
		let settles_at = System::block_number() + DURATION + Adjudicator::challenge_period();
		let counterpart_before = Balances::free_balance(&counterpart);

		// Run to the settlement block and on, counting settlements in each block's
		// on_initialize.
		run_to_block(settles_at);
		let bound = KEYS.div_ceil(max_per_block);
		let mut settled = 0u32;
		let mut blocks = 0u32;
		while settled < KEYS {
			assert!(
				blocks < bound,
				"{settled} of {KEYS} settled after {blocks} blocks (bound {bound})"
			);
			// pallet-session declares a session-change block full (its hook weighs `max_block`)
			// whatever else the block holds; that claim is set aside, everything else counts.
			let session_change = System::events().iter().any(|record| {
				matches!(
					record.event,
					RuntimeEvent::Session(pallet_session::Event::NewSession { .. })
				)
			});
			let weight = System::block_weight().total();
			let weight = if session_change { weight.saturating_sub(max_block) } else { weight };
			assert!(
				weight.all_lte(max_block),
				"block #{} weighs {weight:?}, over the limit {max_block:?}",
				System::block_number()
			);
			let ended = System::events()
				.iter()
				.filter(|record| {
					matches!(
						record.event,
						RuntimeEvent::Adjudicator(pallet_session_keys::Event::SessionEnded {
							reason: EndReason::Expired,
							..
						})
					)
				})
				.count() as u32;
			assert!(ended <= max_per_block, "{ended} ended in one block");
			settled += ended;
			blocks += 1;
			if blocks == 1 || session_change || settled == KEYS {
				println!(
					"block #{}: {ended} keys settled ({settled} in all), weight {weight:?} of \
					 {max_block:?}{}",
					System::block_number(),
					if session_change {
						" (besides pallet-session's full-block claim)"
					} else {
						""
					}
				);
			}
			if settled < KEYS {
				next_block();
			}
		}
		println!("{KEYS} keys settled in {blocks} blocks (bound {bound})");

		assert!(keys.iter().all(pallet_session_keys::Retired::<Runtime>::contains_key));
		assert_eq!(pallet_session_keys::Sessions::<Runtime>::iter().count(), 0);
		assert_eq!(
			Balances::free_balance(&counterpart) - counterpart_before,
			u128::from(KEYS) * 5 * UNIT,
			"every debt was paid"
		);
	});
}
