//! Randomized model test: random sequences of every call (valid and invalid) and of block
//! advances, from several owners, delegates and counterparts, with keys of all three schemes and
//! descriptions and scopes of varying size. After every step the pallet must agree with a small
//! reference model: each call's outcome, every session, every retired record (and the
//! `SessionEnded` events), every balance and both holds, every authorization and every
//! delegate's running totals, and the issuance (only record fees are burned); and `try_state`
//! must pass.
//!
//! The model predicts settlement itself: where each session is placed (the first block with room
//! from its due block, at most `MaxExpiriesPerBlock` a block, within `MaxSettlementDelay`; a
//! revocation that finds none takes the first with a `ClosingReserve` slot left, else keeps its
//! block),
//! which sessions settle in which block (at their `settles_at`, oldest first, the rest carried
//! over), and compares the whole retired record. The run uses a small cap and reach, so full
//! agendas are common.
//!
//! Delegation: owners authorize delegates (two accounts that are only delegates, and each
//! other) with small random terms, some listing the owner or the delegate, some ending soon, so
//! that every term refuses often; delegates register keys for owners, and the key calls are
//! signed by the owner, a delegate or a stranger. Ops name their keys, signers and (owner,
//! delegate) pairs mostly through the model's state (the n-th live key, the key's owner or
//! delegate, the n-th authorization), so that most calls get past the lookups. The model derives
//! a delegate's running totals from its live and closing keys.
//!
//! `MODEL_CASES` sets the number of sequences (default 10,000).

use super::*;
use crate::{
	Authorization, AuthorizationOf, ChannelState, DelegateTerms, DelegateTermsOf, DelegateUsage,
	DelegateUsages, Delegations, HoldReason, KeyRequest, Retired, RetiredSession, Sessions,
};
use codec::Encode;
use frame_support::traits::fungible::{Inspect, InspectHold};
use proptest::prelude::*;
use sp_core::{crypto::Pair, ecdsa, ed25519, sr25519};
use std::collections::BTreeMap;

const OWNERS: [AccountId; 3] = [ALICE, BOB, 4];
const COUNTERPARTS: [AccountId; 2] = [CLEARING, 5];
/// Accounts that are only delegates (the owners are also delegates of each other).
const DELEGATES: [AccountId; 2] = [6, 7];
/// Every account, by index: the owners (0..3), the counterparts (3..5), then the delegates
/// (5..7).
const ACCOUNTS: [AccountId; 7] = [ALICE, BOB, 4, CLEARING, 5, 6, 7];
const KEYS: u8 = 8;
const ED: Balance = 1;
/// A short window, so that sequences cross many settlements.
const PERIOD: u64 = 3;

/// What `who` starts with: owner 4 little, so that its deposits and collateral run out, and
/// delegate 7 less than a rotation's record fee, which the caller pays.
fn initial_balance(who: AccountId) -> Balance {
	match who {
		4 => 1_000,
		7 => 100,
		_ => INITIAL_BALANCE,
	}
}

/// A key to register, as `Register` and `RegisterFor` generate it.
#[derive(Clone, Debug)]
struct NewKey {
	key: u8,
	/// An index into `ACCOUNTS`.
	counterpart: usize,
	duration: u64,
	limit: u64,
	collateral: u64,
	description: usize,
	scope: usize,
	forged: bool,
}

/// Terms an owner gives a delegate, as generated: whether they list each counterpart, perhaps
/// one more account (which may be the owner or the delegate), the bounds, and when they end
/// relative to the block they are given in.
#[derive(Clone, Debug)]
struct Terms {
	clearing: bool,
	other: bool,
	extra: Option<usize>,
	max_collateral: u64,
	max_limit: u64,
	max_total: u64,
	max_duration: u64,
	max_keys: u32,
	ends_in: Option<i64>,
}

/// A key an op acts on: one of the pool, the n-th live or closing key, or the n-th of those a
/// delegate made (the n-th live or closing key, or a pool key, when there is none).
#[derive(Clone, Copy, Debug)]
enum KeyPick {
	Pool(u8),
	Live(usize),
	Delegated(usize),
}

/// Who signs a call on a key: its owner, counterpart or the delegate that made it (by its live
/// or retired record; the first owner, counterpart or delegate for a key never registered or
/// made by none), or an account (an index into `ACCOUNTS`).
#[derive(Clone, Copy, Debug)]
enum Signer {
	Owner,
	Counterpart,
	Delegate,
	Account(usize),
}

/// An owner and a delegate: the n-th pair the model has an authorization for (a pair of the
/// first owners and delegates when there is none), or the given owner (an index into `OWNERS`)
/// and delegate (into `ACCOUNTS`).
#[derive(Clone, Copy, Debug)]
enum Parties {
	Authorized(usize),
	Given(usize, usize),
}

/// `owner` is an index into `OWNERS`.
#[derive(Clone, Debug)]
enum Op {
	Register {
		owner: usize,
		new: NewKey,
	},
	RegisterFor {
		parties: Parties,
		new: NewKey,
		/// The proof made for the delegate instead of the owner.
		proof_for_delegate: bool,
	},
	Authorize {
		parties: Parties,
		terms: Terms,
	},
	RevokeDelegate {
		parties: Parties,
		close_keys: bool,
	},
	Renew {
		who: Signer,
		key: KeyPick,
		duration: u64,
	},
	Revoke {
		who: Signer,
		key: KeyPick,
	},
	RevokeAll {
		owner: usize,
	},
	Rotate {
		who: Signer,
		old: KeyPick,
		new: u8,
		forged: bool,
	},
	Checkpoint {
		who: Signer,
		key: KeyPick,
		nonce_step: i64,
		owed_step: i64,
		margin: u64,
		forged: bool,
	},
	TopUp {
		who: Signer,
		key: KeyPick,
		amount: u64,
	},
	SetLimit {
		who: Signer,
		key: KeyPick,
		limit: u64,
	},
	Liquidate {
		who: Signer,
		key: KeyPick,
	},
	Discontinue {
		who: Signer,
		key: KeyPick,
	},
	Settle {
		who: usize,
		key: KeyPick,
	},
	Advance {
		blocks: u64,
	},
}

fn any_account() -> impl Strategy<Value = usize> {
	0..ACCOUNTS.len()
}

fn key_pick() -> impl Strategy<Value = KeyPick> + Clone {
	prop_oneof![
		1 => (0..KEYS).prop_map(KeyPick::Pool),
		2 => (0usize..8).prop_map(KeyPick::Live),
		3 => (0usize..8).prop_map(KeyPick::Delegated),
	]
}

/// Who signs an owner's call on a key: mostly its owner or delegate.
fn owner_signer() -> impl Strategy<Value = Signer> {
	prop_oneof![
		3 => Just(Signer::Owner),
		3 => Just(Signer::Delegate),
		1 => Just(Signer::Counterpart),
		1 => any_account().prop_map(Signer::Account),
	]
}

/// Who signs a counterpart's call on a key: mostly its counterpart.
fn counterpart_signer() -> impl Strategy<Value = Signer> {
	prop_oneof![
		4 => Just(Signer::Counterpart),
		1 => Just(Signer::Owner),
		1 => any_account().prop_map(Signer::Account),
	]
}

/// An owner and a delegate: an authorized pair or a given one, weighted `authorized` to
/// `given`; a given delegate is mostly one of the two delegate accounts.
fn parties(authorized: u32, given: u32) -> impl Strategy<Value = Parties> {
	let delegate = prop_oneof![4 => 5..ACCOUNTS.len(), 1 => any_account()];
	prop_oneof![
		authorized => (0usize..8).prop_map(Parties::Authorized),
		given => (0..OWNERS.len(), delegate).prop_map(|(owner, delegate)| Parties::Given(owner, delegate)),
	]
}

fn duration() -> impl Strategy<Value = u64> {
	prop_oneof![16 => 1u64..12, 1 => Just(0u64), 1 => Just(MAX_DURATION + 1)]
}

fn new_key() -> impl Strategy<Value = NewKey> {
	(
		0..KEYS,
		prop_oneof![8 => 3usize..5, 1 => any_account()],
		duration(),
		0u64..400,
		prop_oneof![1 => Just(0u64), 2 => 0u64..400],
		0usize..9,
		0usize..4,
		prop::bool::weighted(0.1),
	)
		.prop_map(
			|(key, counterpart, duration, limit, collateral, description, scope, forged)| NewKey {
				key,
				counterpart,
				duration,
				limit,
				collateral,
				description,
				scope,
				forged,
			},
		)
}

fn terms() -> impl Strategy<Value = Terms> {
	(
		prop::bool::weighted(0.95),
		prop::bool::weighted(0.8),
		prop::option::weighted(0.25, any_account()),
		0u64..1_200,
		0u64..1_500,
		0u64..1_200,
		4u64..20,
		prop_oneof![1 => Just(0u32), 7 => 1u32..4],
		prop::option::weighted(0.4, -1i64..8),
	)
		.prop_map(
			|(
				clearing,
				other,
				extra,
				max_collateral,
				max_limit,
				max_total,
				max_duration,
				max_keys,
				ends_in,
			)| {
				Terms {
					clearing,
					other,
					extra,
					max_collateral,
					max_limit,
					max_total,
					max_duration,
					max_keys,
					ends_in,
				}
			},
		)
}

/// An authorization: of a new pair, or new terms for an authorized one.
fn authorize() -> impl Strategy<Value = Op> {
	(parties(1, 1), terms()).prop_map(|(parties, terms)| Op::Authorize { parties, terms })
}

fn register() -> impl Strategy<Value = Op> {
	(0..OWNERS.len(), new_key()).prop_map(|(owner, new)| Op::Register { owner, new })
}

/// A registration by a delegate: mostly of an authorized pair.
fn register_for() -> impl Strategy<Value = Op> {
	(parties(15, 1), new_key(), prop::bool::weighted(0.1)).prop_map(
		|(parties, new, proof_for_delegate)| Op::RegisterFor { parties, new, proof_for_delegate },
	)
}

/// A sequence: a few authorizations and registrations first, so that most ops find delegates
/// and keys, then any ops.
fn ops() -> impl Strategy<Value = Vec<Op>> {
	use prop::collection::vec;
	let setup = vec(prop_oneof![register(), register_for()], 0..4);
	(vec(authorize(), 1..3), setup, vec(op(), 1..24)).prop_map(|(mut ops, setup, more)| {
		ops.extend(setup);
		ops.extend(more);
		ops
	})
}

fn op() -> impl Strategy<Value = Op> {
	let owner = 0..OWNERS.len();
	let key = key_pick();
	prop_oneof![
		4 => register(),
		5 => register_for(),
		2 => authorize(),
		1 => (parties(3, 1), any::<bool>()).prop_map(|(parties, close_keys)| Op::RevokeDelegate { parties, close_keys }),
		1 => (owner_signer(), key.clone(), prop_oneof![3 => duration(), 1 => 12u64..30]).prop_map(|(who, key, duration)| Op::Renew { who, key, duration }),
		2 => (owner_signer(), key.clone()).prop_map(|(who, key)| Op::Revoke { who, key }),
		1 => owner.prop_map(|owner| Op::RevokeAll { owner }),
		3 => (owner_signer(), key.clone(), 0..KEYS, prop::bool::weighted(0.1)).prop_map(|(who, old, new, forged)| Op::Rotate { who, old, new, forged }),
		6 => (counterpart_signer(), key.clone(), -1i64..3, -5i64..60, 0u64..300, prop::bool::weighted(0.1))
			.prop_map(|(who, key, nonce_step, owed_step, margin, forged)| Op::Checkpoint { who, key, nonce_step, owed_step, margin, forged }),
		1 => (owner_signer(), key.clone(), prop_oneof![3 => 0u64..200, 1 => 0u64..1_500]).prop_map(|(who, key, amount)| Op::TopUp { who, key, amount }),
		2 => (owner_signer(), key.clone(), prop_oneof![3 => 0u64..500, 1 => 0u64..2_000]).prop_map(|(who, key, limit)| Op::SetLimit { who, key, limit }),
		1 => (counterpart_signer(), key.clone()).prop_map(|(who, key)| Op::Liquidate { who, key }),
		1 => (counterpart_signer(), key.clone()).prop_map(|(who, key)| Op::Discontinue { who, key }),
		1 => (any_account(), key).prop_map(|(who, key)| Op::Settle { who, key }),
		3 => (1u64..5).prop_map(|blocks| Op::Advance { blocks }),
	]
}

fn account_at(index: usize) -> AccountId {
	ACCOUNTS[index]
}

/// The key pool: key `k` of each of the three schemes in turn. (A few pairs live in a test;
/// their sizes do not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum AnyPair {
	Sr(sr25519::Pair),
	Ed(ed25519::Pair),
	Ec(ecdsa::Pair),
}

fn pair(key: u8) -> AnyPair {
	pair_of(key, 100 + key)
}

/// The pair of `key`'s scheme from `seed`.
fn pair_of(key: u8, seed: u8) -> AnyPair {
	let seed = [seed; 32];
	match key % 3 {
		0 => AnyPair::Sr(sr25519::Pair::from_seed(&seed)),
		1 => AnyPair::Ed(ed25519::Pair::from_seed(&seed)),
		_ => AnyPair::Ec(ecdsa::Pair::from_seed(&seed)),
	}
}

impl AnyPair {
	fn public(&self) -> SessionPublic {
		match self {
			Self::Sr(p) => p.public().into(),
			Self::Ed(p) => p.public().into(),
			Self::Ec(p) => p.public().into(),
		}
	}

	fn proof(&self, owner: AccountId) -> crate::ProofOf {
		match self {
			Self::Sr(p) => proof_for(p, owner),
			Self::Ed(p) => proof_for(p, owner),
			Self::Ec(p) => proof_for(p, owner),
		}
	}

	fn sign(&self, public: SessionPublic, state: ChannelState<Balance>) -> crate::SessionSignature {
		match self {
			Self::Sr(p) => sign_state_for(p, public, state),
			Self::Ed(p) => sign_state_for(p, public, state),
			Self::Ec(p) => sign_state_for(p, public, state),
		}
	}
}

fn public(key: u8) -> SessionPublic {
	// Derived once: the model asks for keys many times a step.
	thread_local! {
		static PUBLICS: Vec<SessionPublic> = (0..KEYS).map(|key| pair(key).public()).collect();
	}
	PUBLICS.with(|publics| publics[key as usize])
}

/// A pair of `key`'s scheme that no pool key has, for forged proofs and signatures.
fn forger(key: u8) -> AnyPair {
	pair_of(key, 200 + key)
}

#[derive(Clone, Debug, PartialEq)]
struct ModelSession {
	owner: AccountId,
	counterpart: AccountId,
	delegate: Option<AccountId>,
	registered_at: u64,
	expires_at: u64,
	settles_at: u64,
	revoked: bool,
	duration: u64,
	limit: Balance,
	pending: Option<(Balance, u64)>,
	collateral: Balance,
	deposit: Balance,
	state: ChannelState<Balance>,
}

impl ModelSession {
	fn live(&self, now: u64) -> bool {
		now < self.expires_at
	}

	fn closing_error(&self) -> Error<Test> {
		if self.revoked {
			Error::Revoked
		} else {
			Error::Expired
		}
	}

	fn limit_at(&self, now: u64) -> Balance {
		match self.pending {
			Some((limit, at)) if at <= now => limit.max(self.state.owed),
			_ => self.limit,
		}
	}

	fn fold_limit(&mut self, now: u64) {
		if self.pending.is_some_and(|(_, at)| at <= now) {
			self.limit = self.limit_at(now);
			self.pending = None;
		}
	}
}

impl NewKey {
	/// The registration for `owner`, its proof made for `prover`, and the deposit it holds.
	fn call(&self, owner: AccountId, prover: AccountId) -> (RegisterCall, Balance) {
		let signer = if self.forged { forger(self.key) } else { pair(self.key) };
		let items: Vec<Vec<u8>> = (0..self.scope).map(|i| vec![b'a' + i as u8; i * 3]).collect();
		let item_refs: Vec<&[u8]> = items.iter().map(|i| i.as_slice()).collect();
		let call = RegisterCall::of(owner, public(self.key), signer.proof(prover))
			.counterpart(account_at(self.counterpart))
			.duration(Some(self.duration))
			.limit(self.limit)
			.collateral(self.collateral)
			.description(&vec![b'd'; self.description])
			.scope(&item_refs);
		let scope_bytes: Balance = 1 + items.iter().map(|i| vec_size(i.len())).sum::<Balance>();
		// The registration's own deposit and the retired record's price, paid up front.
		(call, DEPOSIT_BASE + vec_size(self.description) + scope_bytes + record_fee())
	}

	/// The session it opens for `owner` (by `delegate`) at `now`, for its checked `duration`,
	/// before it is placed.
	fn session(
		&self,
		owner: AccountId,
		delegate: Option<AccountId>,
		now: u64,
		duration: u64,
		deposit: Balance,
	) -> ModelSession {
		ModelSession {
			owner,
			counterpart: account_at(self.counterpart),
			delegate,
			registered_at: now,
			expires_at: now + duration,
			settles_at: 0,
			revoked: false,
			duration,
			limit: self.limit,
			pending: None,
			collateral: self.collateral,
			deposit,
			state: Default::default(),
		}
	}
}

impl Terms {
	/// The terms given at block `now`.
	fn at(&self, now: u64) -> DelegateTermsOf<Test> {
		let counterparts: Vec<AccountId> = [
			self.clearing.then_some(COUNTERPARTS[0]),
			self.other.then_some(COUNTERPARTS[1]),
			self.extra.map(account_at),
		]
		.into_iter()
		.flatten()
		.collect();
		DelegateTerms {
			counterparts: counterparts.try_into().expect("at most MaxDelegateCounterparts"),
			max_collateral: self.max_collateral,
			max_spending_limit: self.max_limit,
			max_total_collateral: self.max_total,
			max_duration: self.max_duration,
			max_keys: self.max_keys,
			ends_at: self.ends_in.map(|ends_in| (now as i64 + ends_in).max(0) as u64),
		}
	}
}

/// The deposit for `terms`: the base and a unit per encoded byte (a vector of 8-byte accounts,
/// three balances, the duration, the key count and the optional end block).
fn authorization_deposit(terms: &DelegateTermsOf<Test>) -> Balance {
	let ends_at = if terms.ends_at.is_some() { 9 } else { 1 };
	DEPOSIT_BASE + vec_size(8 * terms.counterparts.len()) + 3 * 8 + 8 + 4 + ends_at
}

#[derive(Default, Clone, Copy, Debug, PartialEq)]
struct Account {
	free: Balance,
	/// Held for sessions.
	held: Balance,
	/// Held for authorizations of delegates.
	delegation: Balance,
}

/// The reference model: what the pallet should hold after every step.
struct Model {
	now: u64,
	live: BTreeMap<u8, ModelSession>,
	retired: BTreeMap<u8, RetiredSession<AccountId, u64, Balance>>,
	accounts: BTreeMap<AccountId, Account>,
	/// Blocks marked for settlement work: the block a carried-over backlog resumes at, and how
	/// many keys are queued in the block.
	marks: BTreeMap<u64, (Option<u64>, u32)>,
	/// Each owner's keys in the order of its on-chain index (registration order, a rotated key
	/// in its predecessor's place): `revoke_all` and `revoke_delegate` place keys in this order.
	index: BTreeMap<AccountId, Vec<u8>>,
	/// The authorizations, by `(owner, delegate)`.
	delegations: BTreeMap<(AccountId, AccountId), AuthorizationOf<Test>>,
	burned: Balance,
}

type Outcome = Result<(), Error<Test>>;

/// Encoded size of a SCALE vector of `len` bytes (lengths here stay below 64).
fn vec_size(len: usize) -> Balance {
	1 + len as Balance
}

impl Model {
	fn new() -> Self {
		let accounts = ACCOUNTS
			.iter()
			.map(|a| (*a, Account { free: initial_balance(*a), ..Default::default() }))
			.collect();
		Self {
			now: 1,
			live: BTreeMap::new(),
			retired: BTreeMap::new(),
			accounts,
			marks: BTreeMap::new(),
			index: BTreeMap::new(),
			delegations: BTreeMap::new(),
			burned: 0,
		}
	}

	/// The key `pick` names now.
	fn key(&self, pick: KeyPick) -> u8 {
		let delegated: Vec<u8> =
			self.live.iter().filter(|(_, s)| s.delegate.is_some()).map(|(k, _)| *k).collect();
		match pick {
			KeyPick::Delegated(n) if !delegated.is_empty() => delegated[n % delegated.len()],
			KeyPick::Live(n) | KeyPick::Delegated(n) if !self.live.is_empty() => {
				*self.live.keys().nth(n % self.live.len()).unwrap()
			}
			KeyPick::Live(n) | KeyPick::Delegated(n) => n as u8 % KEYS,
			KeyPick::Pool(key) => key,
		}
	}

	/// The account `signer` names for `key`.
	fn signer(&self, signer: Signer, key: u8) -> AccountId {
		let record = self
			.live
			.get(&key)
			.map(|s| (s.owner, s.counterpart, s.delegate))
			.or_else(|| self.retired.get(&key).map(|r| (r.owner, r.counterpart, r.delegate)));
		match signer {
			Signer::Owner => record.map_or(OWNERS[0], |r| r.0),
			Signer::Counterpart => record.map_or(COUNTERPARTS[0], |r| r.1),
			Signer::Delegate => record.and_then(|r| r.2).unwrap_or(DELEGATES[0]),
			Signer::Account(index) => account_at(index),
		}
	}

	/// The owner and delegate `parties` names now.
	fn parties(&self, parties: Parties) -> (AccountId, AccountId) {
		match parties {
			Parties::Authorized(n) if !self.delegations.is_empty() => {
				*self.delegations.keys().nth(n % self.delegations.len()).unwrap()
			}
			Parties::Authorized(n) => (OWNERS[n % OWNERS.len()], DELEGATES[n % DELEGATES.len()]),
			Parties::Given(owner, delegate) => (OWNERS[owner], account_at(delegate)),
		}
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

	fn registered(&self, key: u8) -> Result<&ModelSession, Error<Test>> {
		self.live.get(&key).ok_or(if self.retired.contains_key(&key) {
			Error::KeyRetired
		} else {
			Error::NotFound
		})
	}

	/// The session of `key`, acted on by `who` and live, with the terms `who` acts within: none
	/// for the owner, the authorization's for the delegate that made the key while the
	/// authorization is in force; anyone else is `NotOwner`.
	fn acted_live(
		&self,
		key: u8,
		who: AccountId,
	) -> Result<(ModelSession, Option<DelegateTermsOf<Test>>), Error<Test>> {
		let s = self.registered(key)?;
		let terms = if s.owner == who {
			None
		} else if s.delegate == Some(who) {
			Some(self.in_force(s.owner, who)?.terms.clone())
		} else {
			return Err(Error::NotOwner);
		};
		if !s.live(self.now) {
			return Err(s.closing_error());
		}
		Ok((s.clone(), terms))
	}

	/// The authorization `owner` gave `delegate`, if it is in force now.
	fn in_force(
		&self,
		owner: AccountId,
		delegate: AccountId,
	) -> Result<&AuthorizationOf<Test>, Error<Test>> {
		let a = self.delegations.get(&(owner, delegate)).ok_or(Error::NotDelegate)?;
		if a.terms.ends_at.is_some_and(|ends_at| ends_at <= self.now) {
			return Err(Error::DelegationEnded);
		}
		Ok(a)
	}

	/// What the live and closing keys each delegate made for each owner hold.
	fn usages(&self) -> BTreeMap<(AccountId, AccountId), DelegateUsage<Balance>> {
		let mut usages = BTreeMap::<_, DelegateUsage<Balance>>::new();
		for s in self.live.values() {
			if let Some(delegate) = s.delegate {
				let usage = usages.entry((s.owner, delegate)).or_default();
				usage.keys += 1;
				usage.collateral += s.collateral;
			}
		}
		usages
	}

	fn usage(&self, owner: AccountId, delegate: AccountId) -> DelegateUsage<Balance> {
		self.usages().get(&(owner, delegate)).copied().unwrap_or_default()
	}

	/// The terms' check of a key `delegate` makes for `owner`, or rotates (not a `new_key`),
	/// under an authorization in force (so the check's first refusal, `Ended`, cannot come).
	fn check_key(
		&self,
		terms: &DelegateTermsOf<Test>,
		owner: AccountId,
		delegate: AccountId,
		request: KeyRequest<AccountId, Balance, u64>,
	) -> Outcome {
		if !terms.counterparts.contains(request.counterpart) {
			return Err(Error::CounterpartNotAllowed);
		}
		let outlives = terms.ends_at.is_some_and(|end| self.now + request.duration > end);
		if request.duration > terms.max_duration || outlives {
			return Err(Error::DurationAboveTerms);
		}
		if request.spending_limit > terms.max_spending_limit {
			return Err(Error::SpendingLimitAboveTerms);
		}
		if request.collateral > terms.max_collateral {
			return Err(Error::CollateralAboveTerms);
		}
		let usage = self.usage(owner, delegate);
		if request.new_key && usage.keys >= terms.max_keys {
			return Err(Error::TooManyDelegateKeys);
		}
		if request.collateral > 0
			&& usage.collateral + request.collateral > terms.max_total_collateral
		{
			return Err(Error::TotalCollateralAboveTerms);
		}
		Ok(())
	}

	/// What `register` and `register_for` share from the key's freshness on: `session` is the
	/// new session but for its settlement block.
	fn register(&mut self, key: u8, proof_valid: bool, session: ModelSession) -> Outcome {
		self.unused(key)?;
		if !proof_valid {
			return Err(Error::InvalidProof);
		}
		let owner = session.owner;
		// No key waits past its settlement block here (each block settles all it queues), so
		// `make_room` never settles one to make room.
		if self.live.values().filter(|s| s.owner == owner).count() as u32 >= MaxKeysPerOwner::get()
		{
			return Err(Error::TooManyKeys);
		}
		let held = session.deposit + session.collateral;
		if !self.can_pay(owner, held) {
			return Err(Error::InsufficientBalance);
		}
		let settles_at =
			self.place(session.expires_at + PERIOD).ok_or(Error::SettlementAgendaFull)?;
		let a = self.accounts.get_mut(&owner).unwrap();
		a.free -= held;
		a.held += held;
		self.index.entry(owner).or_default().push(key);
		self.live.insert(key, ModelSession { settles_at, ..session });
		Ok(())
	}

	fn countered(&self, key: u8, who: AccountId) -> Result<&ModelSession, Error<Test>> {
		let s = self.registered(key)?;
		if s.counterpart != who {
			return Err(Error::NotCounterpart);
		}
		Ok(s)
	}

	fn can_pay(&self, who: AccountId, amount: Balance) -> bool {
		amount == 0 || self.accounts[&who].free >= amount + ED
	}
	fn duration(duration: u64) -> Result<u64, Error<Test>> {
		match duration {
			0 => Err(Error::ZeroDuration),
			d if d > MAX_DURATION => Err(Error::DurationTooLong),
			d => Ok(d),
		}
	}

	/// Queues a key in the first block from `due` with fewer than `limit` keys, within the
	/// reach.
	fn place_under(&mut self, due: u64, limit: u32) -> Option<u64> {
		let at = (due..=due + MaxSettlementDelay::get() as u64)
			.find(|at| self.marks.get(at).map_or(0, |m| m.1) < limit)?;
		self.queue_at(at);
		Some(at)
	}

	/// Queues a key in the first block from `due` with room under the cap, within the reach.
	fn place(&mut self, due: u64) -> Option<u64> {
		self.place_under(due, MaxExpiriesPerBlock::get())
	}

	fn queue_at(&mut self, at: u64) {
		self.marks.entry(at).or_insert((None, 0)).1 += 1;
	}

	/// Takes a key out of block `at`'s count; a mark with no work left goes.
	fn unschedule(&mut self, at: u64) {
		if let Some(mark) = self.marks.get_mut(&at) {
			mark.1 -= 1;
			if *mark == (None, 0) {
				self.marks.remove(&at);
			}
		}
	}

	/// Moves a key queued at `from` to the first block with room from `due`, or leaves it.
	fn reschedule(&mut self, from: u64, due: u64) -> Result<u64, Error<Test>> {
		self.unschedule(from);
		self.place(due).ok_or_else(|| {
			self.queue_at(from);
			Error::SettlementAgendaFull
		})
	}

	fn close(&mut self, key: u8) {
		let now = self.now;
		let old = self.live[&key].settles_at;
		self.unschedule(old);
		let reserve = MaxExpiriesPerBlock::get() + ClosingReserve::get();
		let settles_at = self
			.place(now + PERIOD)
			.or_else(|| self.place_under(now + PERIOD, reserve))
			.unwrap_or_else(|| {
				self.queue_at(old);
				old
			});
		let s = self.live.get_mut(&key).unwrap();
		s.expires_at = now;
		s.settles_at = settles_at;
		s.revoked = true;
	}

	/// Settles and retires `key` as the pallet must.
	fn end(&mut self, key: u8, reason: EndReason, ended_at: u64) {
		let s = self.live.remove(&key).expect("ending a session");
		self.index.get_mut(&s.owner).expect("indexed").retain(|k| *k != key);
		let paid = s.state.owed.min(s.collateral);
		let fee = record_fee().min(s.deposit);
		let owner = self.accounts.get_mut(&s.owner).unwrap();
		owner.held -= s.collateral + s.deposit;
		owner.free += s.collateral - paid + s.deposit - fee;
		self.accounts.get_mut(&s.counterpart).unwrap().free += paid;
		self.burned += fee;
		self.retired.insert(key, retired_record(&s, reason, ended_at));
	}

	/// One block's `on_initialize`, as the model predicts it: the sessions due settle in
	/// storage order within a block, oldest block first, at most the cap, the rest carried.
	fn on_initialize(&mut self, now: u64) -> Vec<u8> {
		let Some((carry_from, _)) = self.marks.remove(&now) else {
			return vec![];
		};
		let max = MaxExpiriesPerBlock::get() + ClosingReserve::get();
		let mut block = carry_from.unwrap_or(now);
		let (mut ended, mut stepped) = (0u32, 0u32);
		let mut settled = vec![];
		loop {
			let mut due: Vec<u8> =
				self.live.iter().filter(|(_, s)| s.settles_at == block).map(|(k, _)| *k).collect();
			due.sort_by_key(|k| {
				let encoded = public(*k).encode();
				(sp_io::hashing::blake2_128(&encoded), encoded)
			});
			for key in due {
				if ended == max {
					break;
				}
				let s = &self.live[&key];
				let reason = if s.revoked { EndReason::Revoked } else { EndReason::Expired };
				let ended_at = s.expires_at;
				self.end(key, reason, ended_at);
				settled.push(key);
				ended += 1;
			}
			if ended == max {
				let more = self.live.values().any(|s| s.settles_at == block);
				if more || block < now {
					let from = if more { block } else { block + 1 };
					self.marks.entry(now + 1).or_insert((None, 0)).0 = Some(from);
				}
				break;
			}
			if block >= now {
				break;
			}
			block += 1;
			if stepped == max {
				self.marks.entry(now + 1).or_insert((None, 0)).0 = Some(block);
				break;
			}
			stepped += 1;
		}
		settled
	}
}

fn retired_record(
	s: &ModelSession,
	reason: EndReason,
	ended_at: u64,
) -> RetiredSession<AccountId, u64, Balance> {
	RetiredSession {
		owner: s.owner,
		counterpart: s.counterpart,
		delegate: s.delegate,
		registered_at: s.registered_at,
		ended_at,
		reason,
		nonce: s.state.nonce,
		owed: s.state.owed,
		paid: s.state.owed.min(s.collateral),
	}
}

/// Applies `op` to the pallet and the model and checks they agree on the outcome.
fn step(model: &mut Model, op: &Op) {
	let signed = RuntimeOrigin::signed;
	let now = model.now;
	// What the op's picks are resolved against, for the failure message.
	let live: Vec<u8> = model.live.keys().copied().collect();
	let authorized: Vec<(AccountId, AccountId)> = model.delegations.keys().copied().collect();
	let (actual, expected): (DispatchResult, Outcome) = match *op {
		Op::Register { owner, ref new } => {
			let owner = OWNERS[owner];
			let (call, deposit) = new.call(owner, owner);
			let actual = call.submit();
			let expected = (|| {
				if call.counterpart == owner {
					return Err(Error::CounterpartIsOwner);
				}
				let duration = Model::duration(new.duration)?;
				let session = new.session(owner, None, now, duration, deposit);
				model.register(new.key, !new.forged, session)
			})();
			(actual, expected)
		}
		Op::RegisterFor { parties, ref new, proof_for_delegate } => {
			let (owner, delegate) = model.parties(parties);
			let prover = if proof_for_delegate { delegate } else { owner };
			let (call, deposit) = new.call(owner, prover);
			let actual = unit(Adjudicator::register_for(
				signed(delegate),
				owner,
				call.public,
				call.proof.clone(),
				call.counterpart,
				call.duration,
				call.limit,
				call.collateral,
				call.description.clone(),
				call.scope.clone(),
			));
			let expected = (|| {
				if call.counterpart == owner {
					return Err(Error::CounterpartIsOwner);
				}
				let duration = Model::duration(new.duration)?;
				let terms = model.in_force(owner, delegate)?.terms.clone();
				let request = KeyRequest {
					counterpart: &call.counterpart,
					duration,
					spending_limit: new.limit,
					collateral: new.collateral,
					new_key: true,
				};
				model.check_key(&terms, owner, delegate, request)?;
				let session = new.session(owner, Some(delegate), now, duration, deposit);
				model.register(new.key, !new.forged && prover == owner, session)
			})();
			(actual, expected)
		}
		Op::Authorize { parties, ref terms } => {
			let (owner, delegate) = model.parties(parties);
			let terms = terms.at(now);
			let actual = Adjudicator::authorize_delegate(signed(owner), delegate, terms.clone());
			let expected = (|| {
				if delegate == owner {
					return Err(Error::DelegateIsOwner);
				}
				if terms.counterparts.contains(&delegate) {
					return Err(Error::CounterpartIsDelegate);
				}
				if terms.counterparts.contains(&owner) {
					return Err(Error::CounterpartIsOwner);
				}
				if terms.ends_at.is_some_and(|ends_at| ends_at <= now) {
					return Err(Error::DelegationEnded);
				}
				let deposit = authorization_deposit(&terms);
				let previous = model.delegations.get(&(owner, delegate)).map_or(0, |a| a.deposit);
				if deposit > previous && !model.can_pay(owner, deposit - previous) {
					return Err(Error::InsufficientBalance);
				}
				let a = model.accounts.get_mut(&owner).unwrap();
				a.free = a.free + previous - deposit;
				a.delegation = a.delegation + deposit - previous;
				model.delegations.insert((owner, delegate), Authorization { terms, deposit });
				Ok(())
			})();
			(actual, expected)
		}
		Op::RevokeDelegate { parties, close_keys } => {
			let (owner, delegate) = model.parties(parties);
			let actual = unit(Adjudicator::revoke_delegate(signed(owner), delegate, close_keys));
			let expected = (|| {
				let authorization =
					model.delegations.remove(&(owner, delegate)).ok_or(Error::NotDelegate)?;
				let a = model.accounts.get_mut(&owner).unwrap();
				a.free += authorization.deposit;
				a.delegation -= authorization.deposit;
				if close_keys {
					let keys: Vec<u8> =
						model.index.get(&owner).into_iter().flatten().copied().collect();
					for k in keys {
						let s = &model.live[&k];
						if s.delegate == Some(delegate) && s.live(now) {
							model.close(k);
						}
					}
				}
				Ok(())
			})();
			(actual, expected)
		}
		Op::Renew { who, key, duration } => {
			let key = model.key(key);
			let who = model.signer(who, key);
			let actual = unit(Adjudicator::renew(signed(who), public(key), Some(duration)));
			let expected = (|| {
				let duration = Model::duration(duration)?;
				let (s, terms) = model.acted_live(key, who)?;
				if let Some(terms) = terms {
					let request = KeyRequest {
						counterpart: &s.counterpart,
						duration,
						spending_limit: s.limit,
						collateral: 0,
						new_key: false,
					};
					model.check_key(&terms, s.owner, who, request)?;
				}
				let settles_at = model.reschedule(s.settles_at, now + duration + PERIOD)?;
				let s = model.live.get_mut(&key).unwrap();
				s.expires_at = now + duration;
				s.settles_at = settles_at;
				s.duration = duration;
				Ok(())
			})();
			(actual, expected)
		}
		Op::Revoke { who, key } => {
			let key = model.key(key);
			let who = model.signer(who, key);
			let actual = unit(Adjudicator::revoke(signed(who), public(key)));
			let expected = model.acted_live(key, who).map(|_| model.close(key));
			(actual, expected)
		}
		Op::RevokeAll { owner } => {
			let owner = OWNERS[owner];
			let actual = unit(Adjudicator::revoke_all(signed(owner)));
			let keys: Vec<u8> = model
				.index
				.get(&owner)
				.into_iter()
				.flatten()
				.filter(|k| model.live[k].live(now))
				.copied()
				.collect();
			let expected = if keys.is_empty() {
				Err(Error::NoLiveKeys)
			} else {
				keys.into_iter().for_each(|k| model.close(k));
				Ok(())
			};
			(actual, expected)
		}
		Op::Rotate { who, old, new, forged } => {
			let old = model.key(old);
			let who = model.signer(who, old);
			// The proof is made for the key's owner, also when a delegate rotates.
			let owner = model.live.get(&old).map_or(who, |s| s.owner);
			let signer = if forged { forger(new) } else { pair(new) };
			let actual = unit(Adjudicator::rotate(
				signed(who),
				public(old),
				public(new),
				signer.proof(owner),
			));
			let expected = (|| {
				let (mut s, terms) = model.acted_live(old, who)?;
				if s.collateral > 0 || s.state.owed > 0 || s.state.margin > 0 {
					return Err(Error::FundsAtStake);
				}
				let duration = s.duration.min(MAX_DURATION);
				if let Some(terms) = terms {
					let request = KeyRequest {
						counterpart: &s.counterpart,
						duration,
						// The stored limit: a due decrease applies to the new key only.
						spending_limit: s.limit,
						collateral: 0,
						new_key: false,
					};
					model.check_key(&terms, owner, who, request)?;
				}
				model.unused(new)?;
				if forged {
					return Err(Error::InvalidProof);
				}
				if !model.can_pay(who, record_fee()) {
					return Err(Error::InsufficientBalance);
				}
				let settles_at = model.reschedule(s.settles_at, now + duration + PERIOD)?;
				model.accounts.get_mut(&who).unwrap().free -= record_fee();
				model.burned += record_fee();
				model.live.remove(&old);
				for k in model.index.get_mut(&owner).expect("indexed").iter_mut() {
					if *k == old {
						*k = new;
					}
				}
				model.retired.insert(old, retired_record(&s, EndReason::Rotated, now));
				s.fold_limit(now);
				model.live.insert(
					new,
					ModelSession {
						registered_at: now,
						expires_at: now + duration,
						settles_at,
						duration,
						..s
					},
				);
				Ok(())
			})();
			(actual, expected)
		}
		Op::Checkpoint { who, key, nonce_step, owed_step, margin, forged } => {
			let key = model.key(key);
			let who = model.signer(who, key);
			let last = model.live.get(&key).map(|s| s.state).unwrap_or_default();
			let state = ChannelState {
				nonce: (last.nonce as i64 + nonce_step).max(0) as u64,
				owed: (last.owed as i64 + owed_step).max(0) as u64,
				margin,
			};
			let signer = if forged { forger(key) } else { pair(key) };
			let signature = signer.sign(public(key), state);
			let actual = Adjudicator::checkpoint(signed(who), public(key), state, signature);
			let expected = (|| {
				let s = model.countered(key, who)?;
				if now >= s.settles_at {
					return Err(Error::WindowClosed);
				}
				if state.nonce <= s.state.nonce {
					return Err(Error::StaleNonce);
				}
				if state.owed < s.state.owed {
					return Err(Error::OwedDecreased);
				}
				if state.owed > s.limit_at(now) {
					return Err(Error::OverSpendingLimit);
				}
				if forged {
					return Err(Error::InvalidSignature);
				}
				let s = model.live.get_mut(&key).unwrap();
				s.fold_limit(now);
				s.state = state;
				Ok(())
			})();
			(actual, expected)
		}
		Op::TopUp { who, key, amount } => {
			let key = model.key(key);
			let who = model.signer(who, key);
			let actual = Adjudicator::top_up(signed(who), public(key), amount);
			let expected = (|| {
				if amount == 0 {
					return Err(Error::ZeroAmount);
				}
				let (s, terms) = model.acted_live(key, who)?;
				if let Some(terms) = terms {
					if !terms.counterparts.contains(&s.counterpart) {
						return Err(Error::CounterpartNotAllowed);
					}
					if s.collateral + amount > terms.max_collateral {
						return Err(Error::CollateralAboveTerms);
					}
					if model.usage(s.owner, who).collateral + amount > terms.max_total_collateral {
						return Err(Error::TotalCollateralAboveTerms);
					}
				}
				if !model.can_pay(s.owner, amount) {
					return Err(Error::InsufficientBalance);
				}
				let a = model.accounts.get_mut(&s.owner).unwrap();
				a.free -= amount;
				a.held += amount;
				model.live.get_mut(&key).unwrap().collateral += amount;
				Ok(())
			})();
			(actual, expected)
		}
		Op::SetLimit { who, key, limit } => {
			let key = model.key(key);
			let who = model.signer(who, key);
			let actual = Adjudicator::set_spending_limit(signed(who), public(key), limit);
			let expected = (|| {
				let (s, terms) = model.acted_live(key, who)?;
				if let Some(terms) = terms {
					if !terms.counterparts.contains(&s.counterpart) {
						return Err(Error::CounterpartNotAllowed);
					}
					if limit > terms.max_spending_limit {
						return Err(Error::SpendingLimitAboveTerms);
					}
					if s.pending.is_some_and(|(pending, at)| at > now && limit > pending) {
						return Err(Error::DecreasePending);
					}
				}
				if limit < s.state.owed {
					return Err(Error::LimitBelowOwed);
				}
				let s = model.live.get_mut(&key).unwrap();
				s.fold_limit(now);
				if limit >= s.limit {
					s.limit = limit;
					s.pending = None;
				} else {
					s.pending = Some((limit, now + PERIOD));
				}
				Ok(())
			})();
			(actual, expected)
		}
		Op::Liquidate { who, key } => {
			let key = model.key(key);
			let who = model.signer(who, key);
			let actual = Adjudicator::liquidate(signed(who), public(key));
			let expected = (|| {
				let s = model.countered(key, who)?;
				if s.state.owed + s.state.margin <= s.collateral {
					return Err(Error::NotUnderCollateralized);
				}
				let (ended_at, queued) = (now.min(s.expires_at), s.settles_at);
				model.unschedule(queued);
				model.end(key, EndReason::Liquidated, ended_at);
				Ok(())
			})();
			(actual, expected)
		}
		Op::Discontinue { who, key } => {
			let key = model.key(key);
			let who = model.signer(who, key);
			let actual = Adjudicator::discontinue(signed(who), public(key));
			let expected = model
				.countered(key, who)
				.map(|s| (now.min(s.expires_at), s.settles_at))
				.map(|(ended_at, queued)| {
					model.unschedule(queued);
					model.end(key, EndReason::Discontinued, ended_at)
				});
			(actual, expected)
		}
		Op::Settle { who, key } => {
			let key = model.key(key);
			let actual = Adjudicator::settle(signed(account_at(who)), public(key));
			let expected = (|| {
				let s = model.registered(key)?.clone();
				if s.settles_at > now {
					return Err(Error::SettlementNotDue);
				}
				let reason = if s.revoked { EndReason::Revoked } else { EndReason::Expired };
				model.unschedule(s.settles_at);
				model.end(key, reason, s.expires_at);
				Ok(())
			})();
			(actual, expected)
		}
		Op::Advance { blocks } => {
			for _ in 0..blocks {
				System::reset_events();
				run_to_block(model.now + 1);
				model.now += 1;
				let predicted = model.on_initialize(model.now);
				let ended: Vec<SessionPublic> = endings().into_iter().map(|(k, _, _)| k).collect();
				let predicted: Vec<SessionPublic> = predicted.into_iter().map(public).collect();
				assert_eq!(ended, predicted, "sessions settled in block {}", model.now);
				ended_as_recorded();
			}
			(Ok(()), Ok(()))
		}
	};
	assert_eq!(
		actual,
		expected.map_err(Into::into),
		"outcome of {op:?} (live keys {live:?}, authorizations {authorized:?})"
	);
}

/// Checks that every `SessionEnded` event since the events were last reset names what the
/// key's retired record keeps (the record is checked against the model).
fn ended_as_recorded() {
	for event in pallet_events() {
		if let Event::SessionEnded {
			public,
			owner,
			counterpart,
			delegate,
			reason,
			ended_at,
			owed,
			paid_to_counterpart,
			..
		} = event
		{
			let r = Retired::<Test>::get(public).expect("an ended key is retired");
			assert_eq!(
				(owner, counterpart, delegate, reason, ended_at, owed, paid_to_counterpart),
				(r.owner, r.counterpart, r.delegate, r.reason, r.ended_at, r.owed, r.paid),
				"SessionEnded of {public:?}"
			);
		}
	}
}

/// Checks every session, retired record, balance, authorization and delegate's totals against
/// the model.
fn agree(model: &Model, issuance: Balance) {
	for key in 0..KEYS {
		let live = Sessions::<Test>::get(public(key)).map(|s| ModelSession {
			owner: s.owner,
			counterpart: s.counterpart,
			delegate: s.delegate,
			registered_at: s.registered_at,
			expires_at: s.expires_at,
			settles_at: s.settles_at,
			revoked: s.revoked,
			duration: s.duration,
			limit: s.spending_limit,
			pending: s.pending_limit.map(|p| (p.limit, p.applies_at)),
			collateral: s.collateral,
			deposit: s.deposit,
			state: s.state,
		});
		assert_eq!(live.as_ref(), model.live.get(&key), "session of key {key}");
		assert_eq!(
			Retired::<Test>::get(public(key)).as_ref(),
			model.retired.get(&key),
			"retired record of key {key}"
		);
	}
	ended_as_recorded();
	for (who, account) in &model.accounts {
		let delegation = Balances::balance_on_hold(&HoldReason::Delegation.into(), who);
		assert_eq!(Balances::balance(who), account.free, "free balance of account {who}");
		assert_eq!(held(*who), account.held, "held from account {who}");
		assert_eq!(delegation, account.delegation, "held for delegates of account {who}");
		assert_eq!(
			Balances::total_balance_on_hold(who),
			account.held + account.delegation,
			"held for another reason"
		);
	}
	let delegations: BTreeMap<_, _> =
		Delegations::<Test>::iter().map(|(owner, delegate, a)| ((owner, delegate), a)).collect();
	assert_eq!(delegations, model.delegations, "authorizations");
	let usages: BTreeMap<_, _> =
		DelegateUsages::<Test>::iter().map(|(owner, delegate, u)| ((owner, delegate), u)).collect();
	assert_eq!(usages, model.usages(), "delegates' running totals");
	assert_eq!(Balances::total_issuance(), issuance - model.burned, "only record fees burned");
	check_invariants();
}

fn cases() -> u32 {
	std::env::var("MODEL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

proptest! {
	#![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

	#[test]
	fn pallet_agrees_with_the_model(ops in ops()) {
		let funded = ACCOUNTS
			.iter()
			.fold(ExtBuilder::default(), |ext, who| ext.with_balance(*who, initial_balance(*who)));
		funded.build_and_execute(|| {
			TestChallengePeriod::set(PERIOD);
			MaxExpiriesPerBlock::set(2);
			ClosingReserve::set(1);
			MaxSettlementDelay::set(1);
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

#[test]
fn the_pool_has_every_scheme_and_forgers_differ() {
	let kinds: std::collections::BTreeSet<_> = (0..KEYS).map(|k| public(k).kind()).collect();
	assert_eq!(kinds.len(), 3);
	for key in 0..KEYS {
		assert!((0..KEYS).all(|k| public(k) != forger(key).public()));
		assert_eq!(forger(key).public().kind(), public(key).kind());
	}
}
