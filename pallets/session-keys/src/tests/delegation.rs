//! Bounded delegation: an owner authorizes a delegate (a keeper's hot key) with terms; the
//! delegate can register and manage keys for the owner only within them, and the running totals
//! keep many small keys from adding up past the owner's bound. Every refusal leaves the state,
//! and so the owner's balance, untouched.

use super::*;
use crate::{
	DelegateTerms, DelegateTermsOf, DelegateUsage, DelegateUsages, Delegations, HoldReason,
	Retired, Sessions,
};
use frame_support::{assert_ok, traits::fungible::InspectHold};

/// The keeper's hot key: the delegate in these tests.
const HOT: AccountId = 5;
/// An account the owner never listed: the thief's accomplice.
const ACCOMPLICE: AccountId = 4;

/// Terms allowing `CLEARING` only: at most 300 collateral and a limit of 1,000 per key, 500
/// collateral in total, 200 blocks, 3 keys, no end.
fn terms() -> DelegateTermsOf<Test> {
	DelegateTerms {
		counterparts: vec![CLEARING].try_into().unwrap(),
		max_collateral: 300,
		max_spending_limit: 1_000,
		max_total_collateral: 500,
		max_duration: 200,
		max_keys: 3,
		ends_at: None,
	}
}

fn authorize(terms: DelegateTermsOf<Test>) {
	assert_ok!(Adjudicator::authorize_delegate(RuntimeOrigin::signed(ALICE), HOT, terms));
}

/// Registers the key from `seed` for `ALICE` through `HOT` with `collateral`.
fn register_by_hot(seed: u8, collateral: Balance) -> SessionPublic {
	let call = registration(ALICE, seed).collateral(collateral).duration(Some(100));
	assert_ok!(call.submit_by(HOT));
	call.public
}

fn usage() -> Option<DelegateUsage<Balance>> {
	DelegateUsages::<Test>::get(ALICE, HOT)
}

fn delegation_hold(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::Delegation.into(), &who)
}

#[test]
fn the_owner_authorizes_with_a_deposit_and_can_change_the_terms() {
	ExtBuilder::default().build_and_execute(|| {
		let deposit = Adjudicator::authorization_deposit(&terms());
		authorize(terms());
		assert_eq!(
			last_event(),
			Event::DelegateAuthorized { owner: ALICE, delegate: HOT, terms: terms(), deposit }
		);
		assert_eq!(delegation_hold(ALICE), deposit);
		assert_eq!(Delegations::<Test>::get(ALICE, HOT).unwrap().terms, terms());

		// Wider terms cost a larger deposit, narrower ones give the difference back.
		let wider = DelegateTerms {
			counterparts: vec![CLEARING, BOB].try_into().unwrap(),
			ends_at: Some(50),
			..terms()
		};
		authorize(wider.clone());
		let wider_deposit = Adjudicator::authorization_deposit(&wider);
		assert!(wider_deposit > deposit);
		assert_eq!(delegation_hold(ALICE), wider_deposit);
		authorize(terms());
		assert_eq!(delegation_hold(ALICE), deposit);
	});
}

#[test]
fn authorizations_that_would_let_the_delegate_collect_are_refused() {
	ExtBuilder::default().build_and_execute(|| {
		let call = |who: AccountId, delegate: AccountId, terms: DelegateTermsOf<Test>| {
			Adjudicator::authorize_delegate(RuntimeOrigin::signed(who), delegate, terms)
		};
		assert_noop!(call(ALICE, ALICE, terms()), Error::<Test>::DelegateIsOwner);
		let listing =
			|who| DelegateTerms { counterparts: vec![who].try_into().unwrap(), ..terms() };
		assert_noop!(call(ALICE, HOT, listing(HOT)), Error::<Test>::CounterpartIsDelegate);
		assert_noop!(call(ALICE, HOT, listing(ALICE)), Error::<Test>::CounterpartIsOwner);
		run_to_block(5);
		let ended = DelegateTerms { ends_at: Some(5), ..terms() };
		assert_noop!(call(ALICE, HOT, ended), Error::<Test>::DelegationEnded);
		assert_noop!(call(PAUPER, HOT, terms()), Error::<Test>::InsufficientBalance);
		for origin in [RuntimeOrigin::root(), RuntimeOrigin::none()] {
			assert_noop!(
				Adjudicator::authorize_delegate(origin, HOT, terms()),
				DispatchError::BadOrigin
			);
		}
	});
}

#[test]
fn a_delegate_registers_for_the_owner_and_is_recorded() {
	ExtBuilder::default().build_and_execute(|| {
		authorize(terms());
		let free = Balances::free_balance(ALICE);
		let hot_free = Balances::free_balance(HOT);
		let public = register_by_hot(1, 300);
		assert!(matches!(
			last_event(),
			Event::SessionRegistered { owner: ALICE, delegate: Some(HOT), collateral: 300, .. }
		));
		let session = Sessions::<Test>::get(public).unwrap();
		assert_eq!((session.owner, session.delegate), (ALICE, Some(HOT)));
		// The owner pays collateral and deposit; the delegate pays nothing but its fees.
		assert_eq!(Balances::free_balance(ALICE), free - 300 - empty_deposit());
		assert_eq!(Balances::free_balance(HOT), hot_free);
		assert_eq!(usage(), Some(DelegateUsage { keys: 1, collateral: 300 }));
		assert_eq!(Adjudicator::keys_of(&ALICE), vec![public]);

		// The retired record and the ending name the delegate too.
		assert_ok!(Adjudicator::discontinue(RuntimeOrigin::signed(CLEARING), public));
		assert!(matches!(last_event(), Event::SessionEnded { delegate: Some(HOT), .. }));
		assert_eq!(Retired::<Test>::get(public).unwrap().delegate, Some(HOT));
		assert_eq!(usage(), None, "the totals go with the last key");
	});
}

#[test]
fn each_term_refuses_a_registration_past_its_bound_and_allows_it_at_the_bound() {
	ExtBuilder::default().build_and_execute(|| {
		authorize(terms());
		let call = |seed| registration(ALICE, seed).duration(Some(100));
		let cases = [
			(call(1).counterpart(ALICE), Error::<Test>::CounterpartIsOwner),
			(call(1).counterpart(ACCOMPLICE), Error::<Test>::CounterpartNotAllowed),
			(call(1).counterpart(HOT), Error::<Test>::CounterpartNotAllowed),
			(call(1).collateral(301), Error::<Test>::CollateralAboveTerms),
			(call(1).limit(1_001), Error::<Test>::SpendingLimitAboveTerms),
			(call(1).duration(Some(201)), Error::<Test>::DurationAboveTerms),
		];
		for (call, error) in cases {
			assert_noop!(call.submit_by(HOT), error);
		}
		assert_ok!(call(1).collateral(300).limit(1_000).duration(Some(200)).submit_by(HOT));
	});
}

#[test]
fn keys_each_under_the_bound_cannot_add_up_past_the_total() {
	ExtBuilder::default().build_and_execute(|| {
		authorize(terms());
		register_by_hot(1, 200);
		register_by_hot(2, 200);
		// 200 + 200 + 101 > 500, though each key is under 300.
		let third = registration(ALICE, 3).collateral(101).duration(Some(100));
		assert_noop!(third.submit_by(HOT), Error::<Test>::TotalCollateralAboveTerms);
		assert_ok!(third.collateral(100).submit_by(HOT));
		assert_eq!(usage(), Some(DelegateUsage { keys: 3, collateral: 500 }));
		// The fourth key is refused by the count, even with no collateral.
		assert_noop!(
			registration(ALICE, 4).duration(Some(100)).submit_by(HOT),
			Error::<Test>::TooManyDelegateKeys
		);
	});
}

#[test]
fn closing_keys_still_count_until_they_settle() {
	ExtBuilder::default().build_and_execute(|| {
		authorize(DelegateTerms { max_keys: 1, ..terms() });
		let public = register_by_hot(1, 300);
		assert_ok!(Adjudicator::revoke(RuntimeOrigin::signed(HOT), public));
		let next = registration(ALICE, 2).duration(Some(100));
		assert_noop!(next.submit_by(HOT), Error::<Test>::TooManyDelegateKeys);
		let settles_at = Sessions::<Test>::get(public).unwrap().settles_at;
		run_to_block(settles_at);
		assert_eq!(usage(), None);
		assert_ok!(next.submit_by(HOT));
	});
}

#[test]
fn top_ups_by_the_delegate_are_bounded_per_key_and_in_total() {
	ExtBuilder::default().build_and_execute(|| {
		authorize(terms());
		let a = register_by_hot(1, 250);
		let b = register_by_hot(2, 200);
		let top_up =
			|public, amount| Adjudicator::top_up(RuntimeOrigin::signed(HOT), public, amount);
		assert_noop!(top_up(a, 51), Error::<Test>::CollateralAboveTerms);
		assert_noop!(top_up(b, 51), Error::<Test>::TotalCollateralAboveTerms);
		assert_ok!(top_up(b, 50));
		assert_eq!(usage(), Some(DelegateUsage { keys: 2, collateral: 500 }));
		// The owner's own top-up is its choice; it counts in the delegate's totals all the same.
		assert_ok!(Adjudicator::top_up(RuntimeOrigin::signed(ALICE), a, 100));
		assert_eq!(usage(), Some(DelegateUsage { keys: 2, collateral: 600 }));
		assert_noop!(top_up(b, 1), Error::<Test>::TotalCollateralAboveTerms);
	});
}

#[test]
fn renewals_rotations_and_limits_by_the_delegate_stay_within_the_terms() {
	ExtBuilder::default().build_and_execute(|| {
		authorize(terms());
		let public = register_by_hot(1, 0);
		let hot = RuntimeOrigin::signed(HOT);
		assert_noop!(
			Adjudicator::renew(hot.clone(), public, Some(201)),
			Error::<Test>::DurationAboveTerms
		);
		assert_ok!(Adjudicator::renew(hot.clone(), public, Some(200)));
		assert_noop!(
			Adjudicator::set_spending_limit(hot.clone(), public, 1_001),
			Error::<Test>::SpendingLimitAboveTerms
		);
		assert_ok!(Adjudicator::set_spending_limit(hot.clone(), public, 900));

		// A rotation keeps the counterpart; the proof is the owner's, and the delegate pays
		// the old key's record fee.
		let (new, proof) = sr_key(2, ALICE);
		let (_, delegate_proof) = sr_key(2, HOT);
		assert_noop!(
			Adjudicator::rotate(hot.clone(), public, new, delegate_proof),
			Error::<Test>::InvalidProof
		);
		let (alice_free, hot_free) = (Balances::free_balance(ALICE), Balances::free_balance(HOT));
		assert_ok!(Adjudicator::rotate(hot.clone(), public, new, proof));
		assert_eq!(Balances::free_balance(ALICE), alice_free);
		assert_eq!(Balances::free_balance(HOT), hot_free - record_fee());
		let rotated = Sessions::<Test>::get(new).unwrap();
		assert_eq!((rotated.counterpart, rotated.delegate), (CLEARING, Some(HOT)));
		assert_eq!(Retired::<Test>::get(public).unwrap().delegate, Some(HOT));
		assert_eq!(usage(), Some(DelegateUsage { keys: 1, collateral: 0 }));

		// Once the owner drops the counterpart from the terms, the key cannot be rotated by the
		// delegate any more.
		let (newer, proof) = sr_key(3, ALICE);
		authorize(DelegateTerms { counterparts: vec![BOB].try_into().unwrap(), ..terms() });
		assert_noop!(
			Adjudicator::rotate(hot, new, newer, proof),
			Error::<Test>::CounterpartNotAllowed
		);
	});
}

#[test]
fn a_delegate_acts_only_on_the_keys_it_made() {
	ExtBuilder::default().build_and_execute(|| {
		authorize(terms());
		let own = register_key(ALICE, 1);
		let hot = RuntimeOrigin::signed(HOT);
		assert_noop!(Adjudicator::revoke(hot.clone(), own), Error::<Test>::NotOwner);
		assert_noop!(Adjudicator::renew(hot.clone(), own, None), Error::<Test>::NotOwner);
		assert_noop!(Adjudicator::top_up(hot.clone(), own, 1), Error::<Test>::NotOwner);
		assert_noop!(Adjudicator::revoke_all(hot.clone()), Error::<Test>::NoLiveKeys);
		// Another account named as owner never authorized HOT.
		let bobs = registration(BOB, 2).duration(Some(100));
		assert_noop!(bobs.submit_by(HOT), Error::<Test>::NotDelegate);
		// And a third account cannot act on the delegate's keys.
		let made = register_by_hot(3, 0);
		assert_noop!(
			Adjudicator::revoke(RuntimeOrigin::signed(BOB), made),
			Error::<Test>::NotOwner
		);
		assert_ok!(Adjudicator::revoke(hot, made));
	});
}

#[test]
fn after_revocation_or_the_end_block_every_delegate_call_is_refused() {
	ExtBuilder::default().build_and_execute(|| {
		authorize(DelegateTerms { ends_at: Some(10), ..terms() });
		let first = registration(ALICE, 1).collateral(100).duration(Some(9));
		assert_ok!(first.submit_by(HOT));
		let public = first.public;
		// No key outlives the authorization: from block 1, ten blocks would end at 11.
		assert_noop!(
			registration(ALICE, 4).duration(Some(10)).submit_by(HOT),
			Error::<Test>::DurationAboveTerms
		);
		let hot = || RuntimeOrigin::signed(HOT);
		let (new, proof) = sr_key(3, ALICE);
		let refused = |error: DispatchError| {
			assert_noop!(registration(ALICE, 2).duration(Some(100)).submit_by(HOT), error);
			assert_noop!(Adjudicator::renew(hot(), public, None), error);
			assert_noop!(Adjudicator::revoke(hot(), public), error);
			assert_noop!(Adjudicator::top_up(hot(), public, 1), error);
			assert_noop!(Adjudicator::set_spending_limit(hot(), public, 1), error);
			assert_noop!(Adjudicator::rotate(hot(), public, new, proof.clone()), error);
		};
		run_to_block(10);
		refused(Error::<Test>::DelegationEnded.into());

		// Revoked (here after renewed terms), the same calls are refused as not a delegate.
		authorize(terms());
		let later = register_by_hot(5, 0);
		assert_ok!(Adjudicator::revoke_delegate(RuntimeOrigin::signed(ALICE), HOT, false));
		assert_eq!(
			last_event(),
			Event::DelegateRevoked { owner: ALICE, delegate: HOT, keys_closed: 0 }
		);
		assert_eq!(delegation_hold(ALICE), 0);
		refused(Error::<Test>::NotDelegate.into());
		// Keys left open stay valid for their owner.
		assert_ok!(Adjudicator::renew(RuntimeOrigin::signed(ALICE), later, None));
		assert_noop!(
			Adjudicator::revoke_delegate(RuntimeOrigin::signed(ALICE), HOT, false),
			Error::<Test>::NotDelegate
		);
	});
}

#[test]
fn revoking_a_delegate_can_close_every_key_it_made_and_only_those() {
	ExtBuilder::default().build_and_execute(|| {
		authorize(terms());
		let own = register_key(ALICE, 1);
		let made = [register_by_hot(2, 100), register_by_hot(3, 100)];
		assert_ok!(Adjudicator::revoke_delegate(RuntimeOrigin::signed(ALICE), HOT, true));
		assert_eq!(
			last_event(),
			Event::DelegateRevoked { owner: ALICE, delegate: HOT, keys_closed: 2 }
		);
		let now = System::block_number();
		for public in made {
			let session = Sessions::<Test>::get(public).unwrap();
			assert!(session.revoked && !session.is_live_at(now));
		}
		assert!(Sessions::<Test>::get(own).unwrap().is_live_at(now));
		// Closing keys keep counting: a renewed authorization sees them.
		assert_eq!(usage(), Some(DelegateUsage { keys: 2, collateral: 200 }));
		authorize(DelegateTerms { max_total_collateral: 250, ..terms() });
		assert_noop!(
			registration(ALICE, 4).collateral(51).duration(Some(100)).submit_by(HOT),
			Error::<Test>::TotalCollateralAboveTerms
		);
	});
}

#[test]
fn the_drain_through_a_stolen_hot_key_fails_and_leaves_the_owner_whole() {
	ExtBuilder::default().build_and_execute(|| {
		authorize(terms());
		let free = Balances::free_balance(ALICE);
		// The thief's own key, registered with itself or an accomplice as counterpart and the
		// owner's whole balance as collateral and limit: every variant is refused.
		let drain = |counterpart| {
			registration(ALICE, 7)
				.counterpart(counterpart)
				.collateral(free - 1_000)
				.limit(free - 1_000)
				.duration(Some(100))
		};
		assert_noop!(drain(HOT).submit_by(HOT), Error::<Test>::CounterpartNotAllowed);
		assert_noop!(drain(ACCOMPLICE).submit_by(HOT), Error::<Test>::CounterpartNotAllowed);
		assert_noop!(drain(CLEARING).submit_by(HOT), Error::<Test>::SpendingLimitAboveTerms);
		assert_noop!(
			drain(CLEARING).limit(1_000).submit_by(HOT),
			Error::<Test>::CollateralAboveTerms
		);
		// The owner-side call without the delegation is the owner's, not the thief's.
		assert_noop!(
			drain(ACCOMPLICE).submit_as(RuntimeOrigin::signed(HOT)),
			Error::<Test>::InvalidProof
		);
		assert_eq!(Balances::free_balance(ALICE), free);
	});
}

#[test]
fn the_register_for_proof_must_be_made_for_the_owner() {
	ExtBuilder::default().build_and_execute(|| {
		authorize(terms());
		let (public, proof_for_hot) = sr_key(1, HOT);
		let call = RegisterCall::of(ALICE, public, proof_for_hot).duration(Some(100));
		assert_noop!(call.submit_by(HOT), Error::<Test>::InvalidProof);
	});
}

#[test]
fn narrowed_terms_bind_the_keys_the_delegate_already_made() {
	ExtBuilder::default().build_and_execute(|| {
		authorize(terms());
		let public = register_by_hot(1, 100);
		let hot = || RuntimeOrigin::signed(HOT);
		// The owner drops the key's counterpart: the delegate can no longer fund, renew or
		// re-limit the key.
		let bob_only = DelegateTerms { counterparts: vec![BOB].try_into().unwrap(), ..terms() };
		authorize(bob_only.clone());
		let dropped: DispatchError = Error::<Test>::CounterpartNotAllowed.into();
		assert_noop!(Adjudicator::top_up(hot(), public, 1), dropped);
		assert_noop!(Adjudicator::renew(hot(), public, Some(100)), dropped);
		assert_noop!(Adjudicator::set_spending_limit(hot(), public, 500), dropped);
		// Lowered bounds bind too: the key's limit (1,000) is above the new 500.
		authorize(DelegateTerms { max_spending_limit: 500, ..terms() });
		assert_noop!(
			Adjudicator::renew(hot(), public, Some(100)),
			Error::<Test>::SpendingLimitAboveTerms
		);
		// Revoking stays possible: it only lowers what is at stake.
		authorize(bob_only);
		assert_ok!(Adjudicator::revoke(hot(), public));
	});
}

#[test]
fn a_delegate_cannot_undo_a_decrease_that_waits() {
	ExtBuilder::default().build_and_execute(|| {
		authorize(terms());
		let public = register_by_hot(1, 0);
		let hot = || RuntimeOrigin::signed(HOT);
		assert_ok!(Adjudicator::set_spending_limit(RuntimeOrigin::signed(ALICE), public, 100));
		for limit in [1_000, 101] {
			assert_noop!(
				Adjudicator::set_spending_limit(hot(), public, limit),
				Error::<Test>::DecreasePending
			);
		}
		// A further decrease is the delegate's to make; the owner alone can cancel.
		assert_ok!(Adjudicator::set_spending_limit(hot(), public, 50));
		assert_ok!(Adjudicator::set_spending_limit(RuntimeOrigin::signed(ALICE), public, 1_000));
		assert_eq!(Sessions::<Test>::get(public).unwrap().pending_limit, None);
	});
}
