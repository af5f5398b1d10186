//! Randomized model test: random sequences of every call (valid and invalid) and of block
//! advances, from several owners and counterparts. After every step the pallet must agree with
//! a small reference model (each call's outcome, every session, every balance and hold), funds
//! must be conserved, and `try_state` must pass.
//!
//! `MODEL_CASES` sets the number of sequences (default 10,000).

use super::*;
use crate::{ChannelState, EndReason, Error, Retired, Sessions};
use codec::Encode;
use frame_support::{
	dispatch::DispatchResult,
	traits::fungible::{Inspect, InspectHold},
};
use proptest::prelude::*;
use sp_core::{crypto::Pair, sr25519};
use std::collections::BTreeMap;

const OWNERS: [AccountId; 3] = [ALICE, BOB, 4];
const COUNTERPARTS: [AccountId; 2] = [CLEARING, 5];
const KEYS: u8 = 8;
const ED: Balance = 1;

#[derive(Clone, Debug)]
enum Op {
	Register {
		owner: usize,
		key: u8,
		counterpart: usize,
		duration: u64,
		limit: u64,
		collateral: u64,
		forged: bool,
	},
	Renew {
		owner: usize,
		key: u8,
		duration: u64,
	},
	Revoke {
		owner: usize,
		key: u8,
	},
	RevokeAll {
		owner: usize,
	},
	Rotate {
		owner: usize,
		old: u8,
		new: u8,
		forged: bool,
	},
	Checkpoint {
		who: usize,
		key: u8,
		nonce_step: i64,
		owed_step: i64,
		margin: u64,
		forged: bool,
	},
	TopUp {
		owner: usize,
		key: u8,
		amount: u64,
	},
	SetLimit {
		owner: usize,
		key: u8,
		limit: u64,
	},
	Liquidate {
		who: usize,
		key: u8,
	},
	Discontinue {
		who: usize,
		key: u8,
	},
	Advance {
		blocks: u64,
	},
}

fn any_account() -> impl Strategy<Value = usize> {
	0..OWNERS.len() + COUNTERPARTS.len()
}

fn op() -> impl Strategy<Value = Op> {
	let owner = 0..OWNERS.len();
	let key = 0..KEYS;
	let duration = prop_oneof![8 => 1u64..12, 1 => Just(0u64), 1 => Just(MAX_DURATION + 1)];
	prop_oneof![
		4 => (owner.clone(), key.clone(), 0..COUNTERPARTS.len(), duration.clone(), 0u64..400, 0u64..400, prop::bool::weighted(0.1))
			.prop_map(|(owner, key, counterpart, duration, limit, collateral, forged)| Op::Register { owner, key, counterpart, duration, limit, collateral, forged }),
		1 => (owner.clone(), key.clone(), duration).prop_map(|(owner, key, duration)| Op::Renew { owner, key, duration }),
		1 => (owner.clone(), key.clone()).prop_map(|(owner, key)| Op::Revoke { owner, key }),
		1 => owner.clone().prop_map(|owner| Op::RevokeAll { owner }),
		1 => (owner.clone(), key.clone(), key.clone(), prop::bool::weighted(0.1)).prop_map(|(owner, old, new, forged)| Op::Rotate { owner, old, new, forged }),
		5 => (any_account(), key.clone(), -1i64..3, -5i64..60, 0u64..300, prop::bool::weighted(0.1))
			.prop_map(|(who, key, nonce_step, owed_step, margin, forged)| Op::Checkpoint { who, key, nonce_step, owed_step, margin, forged }),
		1 => (owner.clone(), key.clone(), 0u64..200).prop_map(|(owner, key, amount)| Op::TopUp { owner, key, amount }),
		1 => (owner, key.clone(), 0u64..500).prop_map(|(owner, key, limit)| Op::SetLimit { owner, key, limit }),
		1 => (any_account(), key.clone()).prop_map(|(who, key)| Op::Liquidate { who, key }),
		1 => (any_account(), key).prop_map(|(who, key)| Op::Discontinue { who, key }),
		3 => (1u64..5).prop_map(|blocks| Op::Advance { blocks }),
	]
}

fn account_at(index: usize) -> AccountId {
	if index < OWNERS.len() {
		OWNERS[index]
	} else {
		COUNTERPARTS[index - OWNERS.len()]
	}
}

#[derive(Clone, Debug, PartialEq)]
struct ModelSession {
	owner: AccountId,
	counterpart: AccountId,
	registered_at: u64,
	expires_at: u64,
	duration: u64,
	limit: Balance,
	collateral: Balance,
	deposit: Balance,
	state: ChannelState<Balance>,
}

#[derive(Default, Clone, Copy, Debug, PartialEq)]
struct Account {
	free: Balance,
	collateral: Balance,
	deposit: Balance,
}

/// The reference model: what the pallet should hold after every step.
struct Model {
	now: u64,
	live: BTreeMap<u8, ModelSession>,
	retired: BTreeMap<u8, (AccountId, EndReason)>,
	accounts: BTreeMap<AccountId, Account>,
}

type Outcome = Result<(), Error<Test>>;

impl Model {
	fn new() -> Self {
		let accounts = OWNERS
			.iter()
			.chain(COUNTERPARTS.iter())
			.map(|a| (*a, Account { free: INITIAL_BALANCE, ..Default::default() }))
			.collect();
		Self { now: 1, live: BTreeMap::new(), retired: BTreeMap::new(), accounts }
	}

	fn unused(&self, key: u8) -> Outcome {
		if self.live.contains_key(&key) {
			return Err(Error::AlreadyRegistered);
		}
		if self.retired.contains_key(&key) {
			return Err(Error::KeyRetired);
		}
		Ok(())
	}

	fn live(&self, key: u8) -> Result<&ModelSession, Error<Test>> {
		self.live.get(&key).ok_or(if self.retired.contains_key(&key) {
			Error::KeyRetired
		} else {
			Error::NotFound
		})
	}

	fn owned(&self, key: u8, owner: AccountId) -> Result<&ModelSession, Error<Test>> {
		let s = self.live(key)?;
		if s.owner != owner {
			return Err(Error::NotOwner);
		}
		Ok(s)
	}

	fn countered(&self, key: u8, who: AccountId) -> Result<&ModelSession, Error<Test>> {
		let s = self.live(key)?;
		if s.counterpart != who {
			return Err(Error::NotCounterpart);
		}
		Ok(s)
	}

	fn can_hold(&self, who: AccountId, amount: Balance) -> bool {
		amount == 0 || self.accounts[&who].free >= amount + ED
	}

	fn duration(duration: u64) -> Result<u64, Error<Test>> {
		match duration {
			0 => Err(Error::ZeroDuration),
			d if d > MAX_DURATION => Err(Error::DurationTooLong),
			d => Ok(d),
		}
	}

	/// Settles and retires `key` as the pallet must.
	fn end(&mut self, key: u8, reason: EndReason) {
		let s = self.live.remove(&key).expect("ending a live session");
		let paid = s.state.owed.min(s.collateral);
		let owner = self.accounts.get_mut(&s.owner).unwrap();
		owner.collateral -= s.collateral;
		owner.deposit -= s.deposit;
		owner.free += s.collateral - paid + s.deposit;
		self.accounts.get_mut(&s.counterpart).unwrap().free += paid;
		self.retired.insert(key, (s.owner, reason));
	}
}

fn pair(key: u8) -> sr25519::Pair {
	sr_pair(100 + key)
}

fn public(key: u8) -> SessionPublic {
	pair(key).public().into()
}

fn unit(result: frame_support::dispatch::DispatchResultWithPostInfo) -> DispatchResult {
	result.map(|_| ()).map_err(|e| e.error)
}

/// Applies `op` to the pallet and the model and checks they agree on the outcome.
fn step(model: &mut Model, op: &Op) {
	let signed = RuntimeOrigin::signed;
	let (actual, expected): (DispatchResult, Outcome) = match *op {
		Op::Register { owner, key, counterpart, duration, limit, collateral, forged } => {
			let owner = OWNERS[owner];
			let counterpart = COUNTERPARTS[counterpart];
			let signer = if forged { pair(key + 1) } else { pair(key) };
			let proof = proof_for(&signer, owner);
			let actual = SessionKeys::register(
				signed(owner),
				public(key),
				proof,
				counterpart,
				Some(duration),
				limit,
				collateral,
				Default::default(),
				Default::default(),
			);
			let deposit = empty_deposit();
			let expected = (|| {
				let duration = Model::duration(duration)?;
				model.unused(key)?;
				if forged {
					return Err(Error::InvalidProof);
				}
				if model.live.values().filter(|s| s.owner == owner).count() as u32
					>= MaxKeysPerOwner::get()
				{
					return Err(Error::TooManyKeys);
				}
				if !model.can_hold(owner, deposit) || !model.can_hold(owner, deposit + collateral) {
					return Err(Error::InsufficientBalance);
				}
				let a = model.accounts.get_mut(&owner).unwrap();
				a.free -= deposit + collateral;
				a.deposit += deposit;
				a.collateral += collateral;
				model.live.insert(
					key,
					ModelSession {
						owner,
						counterpart,
						registered_at: model.now,
						expires_at: model.now + duration,
						duration,
						limit,
						collateral,
						deposit,
						state: Default::default(),
					},
				);
				Ok(())
			})();
			(actual, expected)
		}
		Op::Renew { owner, key, duration } => {
			let owner = OWNERS[owner];
			let actual = SessionKeys::renew(signed(owner), public(key), Some(duration));
			let expected = (|| {
				let duration = Model::duration(duration)?;
				let now = model.now;
				let s = model.owned(key, owner)?;
				if s.expires_at <= now {
					return Err(Error::Expired);
				}
				let s = model.live.get_mut(&key).unwrap();
				s.expires_at = now + duration;
				s.duration = duration;
				Ok(())
			})();
			(actual, expected)
		}
		Op::Revoke { owner, key } => {
			let owner = OWNERS[owner];
			let actual = SessionKeys::revoke(signed(owner), public(key));
			let expected =
				model.owned(key, owner).map(|_| ()).map(|()| model.end(key, EndReason::Revoked));
			(actual, expected)
		}
		Op::RevokeAll { owner } => {
			let owner = OWNERS[owner];
			let actual = unit(SessionKeys::revoke_all(signed(owner)));
			let keys: Vec<u8> =
				model.live.iter().filter(|(_, s)| s.owner == owner).map(|(k, _)| *k).collect();
			let expected = if keys.is_empty() {
				Err(Error::NoLiveKeys)
			} else {
				keys.into_iter().for_each(|k| model.end(k, EndReason::Revoked));
				Ok(())
			};
			(actual, expected)
		}
		Op::Rotate { owner, old, new, forged } => {
			let owner = OWNERS[owner];
			let signer = if forged { pair(new + 1) } else { pair(new) };
			let actual = SessionKeys::rotate(
				signed(owner),
				public(old),
				public(new),
				proof_for(&signer, owner),
			);
			let expected = (|| {
				let now = model.now;
				let s = model.owned(old, owner)?.clone();
				if s.expires_at <= now {
					return Err(Error::Expired);
				}
				if s.collateral > 0 || s.state.owed > 0 || s.state.margin > 0 {
					return Err(Error::FundsAtStake);
				}
				model.unused(new)?;
				if forged {
					return Err(Error::InvalidProof);
				}
				model.live.remove(&old);
				model.retired.insert(old, (owner, EndReason::Rotated));
				let duration = s.duration.min(MAX_DURATION);
				model.live.insert(
					new,
					ModelSession { registered_at: now, expires_at: now + duration, duration, ..s },
				);
				Ok(())
			})();
			(actual, expected)
		}
		Op::Checkpoint { who, key, nonce_step, owed_step, margin, forged } => {
			let who = account_at(who);
			let last = model.live.get(&key).map(|s| s.state).unwrap_or_default();
			let state = ChannelState {
				nonce: (last.nonce as i64 + nonce_step).max(0) as u64,
				owed: (last.owed as i64 + owed_step).max(0) as u64,
				margin,
			};
			let signer = if forged { pair(key + 1) } else { pair(key) };
			let signature = sign_state_for(&signer, public(key), state);
			let actual = SessionKeys::checkpoint(signed(who), public(key), state, signature);
			let expected = (|| {
				let now = model.now;
				let s = model.countered(key, who)?;
				if s.expires_at <= now {
					return Err(Error::Expired);
				}
				if state.nonce <= s.state.nonce {
					return Err(Error::StaleNonce);
				}
				if state.owed < s.state.owed {
					return Err(Error::OwedDecreased);
				}
				if state.owed > s.limit {
					return Err(Error::OverSpendingLimit);
				}
				if state.owed > s.collateral {
					return Err(Error::OverCollateral);
				}
				if forged {
					return Err(Error::InvalidSignature);
				}
				let s = model.live.get_mut(&key).unwrap();
				s.state = state;
				if state.owed + state.margin > s.collateral {
					model.end(key, EndReason::Liquidated);
				}
				Ok(())
			})();
			(actual, expected)
		}
		Op::TopUp { owner, key, amount } => {
			let owner = OWNERS[owner];
			let actual = SessionKeys::top_up(signed(owner), public(key), amount);
			let expected = (|| {
				if amount == 0 {
					return Err(Error::ZeroAmount);
				}
				let now = model.now;
				if model.owned(key, owner)?.expires_at <= now {
					return Err(Error::Expired);
				}
				if !model.can_hold(owner, amount) {
					return Err(Error::InsufficientBalance);
				}
				let a = model.accounts.get_mut(&owner).unwrap();
				a.free -= amount;
				a.collateral += amount;
				model.live.get_mut(&key).unwrap().collateral += amount;
				Ok(())
			})();
			(actual, expected)
		}
		Op::SetLimit { owner, key, limit } => {
			let owner = OWNERS[owner];
			let actual = SessionKeys::set_spending_limit(signed(owner), public(key), limit);
			let expected = (|| {
				let now = model.now;
				let s = model.owned(key, owner)?;
				if s.expires_at <= now {
					return Err(Error::Expired);
				}
				if limit < s.state.owed {
					return Err(Error::LimitBelowOwed);
				}
				model.live.get_mut(&key).unwrap().limit = limit;
				Ok(())
			})();
			(actual, expected)
		}
		Op::Liquidate { who, key } => {
			let who = account_at(who);
			let actual = SessionKeys::liquidate(signed(who), public(key));
			let expected = (|| {
				let s = model.countered(key, who)?;
				if s.state.owed + s.state.margin <= s.collateral {
					return Err(Error::NotUnderCollateralized);
				}
				model.end(key, EndReason::Liquidated);
				Ok(())
			})();
			(actual, expected)
		}
		Op::Discontinue { who, key } => {
			let who = account_at(who);
			let actual = SessionKeys::discontinue(signed(who), public(key));
			let expected = model
				.countered(key, who)
				.map(|_| ())
				.map(|()| model.end(key, EndReason::Discontinued));
			(actual, expected)
		}
		Op::Advance { blocks } => {
			for _ in 0..blocks {
				System::reset_events();
				run_to_block(model.now + 1);
				model.now += 1;
				let ended = endings();
				assert!(ended.len() as u32 <= MaxExpiriesPerBlock::get(), "per-block bound");
				for (public_key, reason, ended_at) in ended {
					assert_eq!(reason, EndReason::Expired);
					let key = (0..KEYS).find(|k| public(*k) == public_key).expect("a pool key");
					let s = &model.live[&key];
					assert!(s.expires_at <= model.now, "ended no earlier than its expiry");
					assert_eq!(ended_at, s.expires_at);
					model.end(key, EndReason::Expired);
				}
			}
			(Ok(()), Ok(()))
		}
	};
	assert_eq!(actual, expected.map_err(Into::into), "outcome of {op:?}");
}

/// Checks every session and balance against the model.
fn agree(model: &Model, issuance: Balance) {
	for key in 0..KEYS {
		let live = Sessions::<Test>::get(public(key)).map(|s| ModelSession {
			owner: s.owner,
			counterpart: s.counterpart,
			registered_at: s.registered_at,
			expires_at: s.expires_at,
			duration: s.duration,
			limit: s.spending_limit,
			collateral: s.collateral,
			deposit: s.deposit,
			state: s.state,
		});
		assert_eq!(live.as_ref(), model.live.get(&key), "session of key {key}");
		let retired = Retired::<Test>::get(public(key)).map(|r| (r.owner, r.reason));
		assert_eq!(retired.as_ref(), model.retired.get(&key), "retired record of key {key}");
	}
	for (who, account) in &model.accounts {
		assert_eq!(Balances::balance(who), account.free, "free balance of account {who}");
		assert_eq!(held(*who), account.collateral + account.deposit, "held from account {who}");
		assert_eq!(Balances::total_balance_on_hold(who), held(*who), "held for another reason");
	}
	assert_eq!(Balances::total_issuance(), issuance, "no unit created or lost");
	check_invariants();
}

fn cases() -> u32 {
	std::env::var("MODEL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

proptest! {
	#![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

	#[test]
	fn pallet_agrees_with_the_model(ops in prop::collection::vec(op(), 1..24)) {
		ExtBuilder::default().build_and_execute(|| {
			let issuance = Balances::total_issuance();
			let mut model = Model::new();
			agree(&model, issuance);
			for op in &ops {
				step(&mut model, op);
				agree(&model, issuance);
			}
		});
	}
}

#[test]
fn model_sees_the_same_signed_payload_as_the_pallet() {
	// Guards the model's signing helper: the payload commits to the domain tag first.
	let s = ChannelState { nonce: 1, owed: 2u64, margin: 3u64 };
	let payload = s.signing_payload(&[0u8; 32], &public(0));
	assert!(payload.starts_with(&crate::STATE_DOMAIN));
	assert_eq!(payload.len(), 16 + 32 + public(0).encoded_size() + 8 + 8 + 8);
}
