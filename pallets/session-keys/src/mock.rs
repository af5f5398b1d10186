//! Test runtime and harness for the adjudicator pallet.

use crate::{self as pallet_session_keys, ProofOf, SessionPublic};
use codec::Encode;
use frame_support::{
	derive_impl, parameter_types,
	traits::{fungible::InspectHold, Hooks},
	BoundedVec,
};
use sp_core::{
	crypto::Pair as _, ecdsa, ed25519, proof_of_possession::ProofOfPossessionGenerator, sr25519,
};
use sp_keystore::{testing::MemoryKeystore, KeystoreExt};
use sp_runtime::BuildStorage;

/// Accounts are plain numbers in tests.
pub type AccountId = u64;
/// Balances are plain numbers in tests.
pub type Balance = u64;

type Block = frame_system::mocking::MockBlock<Test>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(2)]
	pub type Adjudicator = pallet_session_keys;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId;
	type Lookup = sp_runtime::traits::IdentityLookup<AccountId>;
	type AccountData = pallet_balances::AccountData<Balance>;
	type DbWeight = frame_support::weights::constants::RocksDbWeight;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type ExistentialDeposit = ExistentialDeposit;
}

/// Owners in tests.
pub const ALICE: AccountId = 1;
/// Owners in tests.
pub const BOB: AccountId = 2;
/// The usual counterpart in tests.
pub const CLEARING: AccountId = 3;
/// An account with no funds.
pub const PAUPER: AccountId = 9;
/// What each funded account starts with.
pub const INITIAL_BALANCE: Balance = 10_000;

/// Deposit base in the mock (per item: a registration, an authorization, a retired record).
pub const DEPOSIT_BASE: Balance = 200;
/// Record fee per byte in the mock.
pub const RECORD_FEE_PER_BYTE: Balance = 1;
/// The challenge period in the mock, in blocks.
pub const CHALLENGE_PERIOD: u64 = 10;
/// Default key duration in the mock, in blocks.
pub const DEFAULT_DURATION: u64 = 100;
/// Maximum key duration in the mock, in blocks.
pub const MAX_DURATION: u64 = 1_000;

parameter_types! {
	pub const DefaultDuration: u64 = DEFAULT_DURATION;
	pub const MaxDuration: u64 = MAX_DURATION;
	pub const DepositBase: Balance = DEPOSIT_BASE;
	pub const DepositPerByte: Balance = 1;
	pub const RecordFeePerByte: Balance = RECORD_FEE_PER_BYTE;
	pub static TestChallengePeriod: u64 = CHALLENGE_PERIOD;
	pub static MaxKeysPerOwner: u32 = 4;
	pub static MaxExpiriesPerBlock: u32 = 3;
	pub static ClosingReserve: u32 = 2;
	pub static MaxSettlementDelay: u32 = 8;
	pub static HeaderValidity: u64 = 5;
	pub static ExistentialDeposit: Balance = 1;
}

impl pallet_session_keys::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type DefaultDuration = DefaultDuration;
	type MaxDuration = MaxDuration;
	type ChallengePeriod = TestChallengePeriod;
	type MaxKeysPerOwner = MaxKeysPerOwner;
	type MaxExpiriesPerBlock = MaxExpiriesPerBlock;
	type ClosingReserve = ClosingReserve;
	type MaxSettlementDelay = MaxSettlementDelay;
	type MaxDelegateCounterparts = frame_support::traits::ConstU32<3>;
	type MaxDescriptionLen = frame_support::traits::ConstU32<32>;
	type MaxScopeItems = frame_support::traits::ConstU32<4>;
	type MaxResourceLen = frame_support::traits::ConstU32<16>;
	type DepositBase = DepositBase;
	type DepositPerByte = DepositPerByte;
	type RecordFeePerByte = RecordFeePerByte;
	type HeaderValidity = HeaderValidity;
	type WeightInfo = ();
}

/// Builds test externalities: funded accounts, a keystore, block 1.
pub struct ExtBuilder {
	balances: Vec<(AccountId, Balance)>,
}

impl Default for ExtBuilder {
	fn default() -> Self {
		Self { balances: [ALICE, BOB, CLEARING, 4, 5].map(|a| (a, INITIAL_BALANCE)).to_vec() }
	}
}

impl ExtBuilder {
	/// Sets the balance of `who` at genesis.
	pub fn with_balance(mut self, who: AccountId, amount: Balance) -> Self {
		self.balances.retain(|(a, _)| *a != who);
		self.balances.push((who, amount));
		self
	}

	/// The externalities, at block 1.
	pub fn build(self) -> sp_io::TestExternalities {
		let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
		pallet_balances::GenesisConfig::<Test> { balances: self.balances, ..Default::default() }
			.assimilate_storage(&mut storage)
			.unwrap();
		let mut ext = sp_io::TestExternalities::new(storage);
		ext.register_extension(KeystoreExt::new(MemoryKeystore::new()));
		ext.execute_with(|| System::set_block_number(1));
		ext
	}

	/// Runs `test`, then checks the pallet's invariants.
	pub fn build_and_execute(self, test: impl FnOnce()) {
		self.build().execute_with(|| {
			test();
			check_invariants();
		});
	}
}

/// Fails the test if any of the pallet's invariants is broken.
pub fn check_invariants() {
	Adjudicator::do_try_state(System::block_number()).expect("invariants hold");
}

/// Advances to block `n`, running the pallet's `on_initialize` and checking the invariants in
/// every block.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Adjudicator::on_initialize(next);
		check_invariants();
	}
}

/// An sr25519 key pair from a one-byte seed.
pub fn sr_pair(seed: u8) -> sr25519::Pair {
	sr25519::Pair::from_seed(&[seed; 32])
}

/// An ed25519 key pair from a one-byte seed.
pub fn ed_pair(seed: u8) -> ed25519::Pair {
	ed25519::Pair::from_seed(&[seed; 32])
}

/// An ecdsa key pair from a one-byte seed.
pub fn ecdsa_pair(seed: u8) -> ecdsa::Pair {
	ecdsa::Pair::from_seed(&[seed; 32])
}

/// The RFC-0048 ownership proof of `pair` for `owner`, made by sp-core's standard generator.
pub fn proof_for<P: ProofOfPossessionGenerator + Clone>(pair: &P, owner: AccountId) -> ProofOf
where
	P::ProofOfPossession: Encode,
{
	bounded(pair.clone().generate_proof_of_possession(&owner.encode()).encode())
}

/// Bytes as a bounded proof; panics if too long.
pub fn bounded(bytes: Vec<u8>) -> ProofOf {
	BoundedVec::try_from(bytes).expect("proof fits")
}

/// An sr25519 session key from `seed` with its proof for `owner`.
pub fn sr_key(seed: u8, owner: AccountId) -> (SessionPublic, ProofOf) {
	let pair = sr_pair(seed);
	(pair.public().into(), proof_for(&pair, owner))
}

/// A registration to submit: an sr25519 key from `seed` for `owner`, with `CLEARING` (or `BOB`
/// when the owner is `CLEARING`) as counterpart, the default duration, limit 1_000, no
/// collateral, no description and no scope, unless changed with the builder's methods.
#[derive(Clone)]
pub struct RegisterCall {
	/// The owner.
	pub owner: AccountId,
	/// The session key.
	pub public: SessionPublic,
	/// Its ownership proof.
	pub proof: ProofOf,
	/// The counterpart.
	pub counterpart: AccountId,
	/// The duration (`None`: the default).
	pub duration: Option<u64>,
	/// The spending limit.
	pub limit: Balance,
	/// The collateral.
	pub collateral: Balance,
	/// The description.
	pub description: crate::DescriptionOf<Test>,
	/// The scope.
	pub scope: crate::ScopeOf<Test>,
}

/// Starts a [`RegisterCall`] of the sr25519 key from `seed` for `owner`.
pub fn registration(owner: AccountId, seed: u8) -> RegisterCall {
	let (public, proof) = sr_key(seed, owner);
	RegisterCall::of(owner, public, proof)
}

impl RegisterCall {
	/// A registration of `public` with `proof` for `owner`, with the defaults.
	pub fn of(owner: AccountId, public: SessionPublic, proof: ProofOf) -> Self {
		let counterpart = if owner == CLEARING { BOB } else { CLEARING };
		Self {
			owner,
			public,
			proof,
			counterpart,
			duration: None,
			limit: 1_000,
			collateral: 0,
			description: Default::default(),
			scope: Default::default(),
		}
	}

	/// With this counterpart.
	pub fn counterpart(self, counterpart: AccountId) -> Self {
		Self { counterpart, ..self }
	}

	/// With this duration (`None`: the default).
	pub fn duration(self, duration: Option<u64>) -> Self {
		Self { duration, ..self }
	}

	/// With this spending limit.
	pub fn limit(self, limit: Balance) -> Self {
		Self { limit, ..self }
	}

	/// With this collateral.
	pub fn collateral(self, collateral: Balance) -> Self {
		Self { collateral, ..self }
	}

	/// With this description.
	pub fn description(self, description: &[u8]) -> Self {
		Self { description: description.to_vec().try_into().expect("fits"), ..self }
	}

	/// With this scope.
	pub fn scope(self, scope: &[&[u8]]) -> Self {
		let items: Vec<crate::ResourceOf<Test>> =
			scope.iter().map(|item| item.to_vec().try_into().expect("fits")).collect();
		Self { scope: items.try_into().expect("fits"), ..self }
	}

	/// With this proof.
	pub fn proof(self, proof: ProofOf) -> Self {
		Self { proof, ..self }
	}

	/// Submits it, signed by `origin` (the call's outcome without its weight).
	pub fn submit_as(&self, origin: RuntimeOrigin) -> frame_support::dispatch::DispatchResult {
		self.submit_with_info(origin).map(|_| ()).map_err(|e| e.error)
	}

	/// Submits it, signed by `origin`, with the post-dispatch information.
	pub fn submit_with_info(
		&self,
		origin: RuntimeOrigin,
	) -> frame_support::dispatch::DispatchResultWithPostInfo {
		Adjudicator::register(
			origin,
			self.public,
			self.proof.clone(),
			self.counterpart,
			self.duration,
			self.limit,
			self.collateral,
			self.description.clone(),
			self.scope.clone(),
		)
	}

	/// Submits it as `register_for`, signed by `delegate` for the owner.
	pub fn submit_by(&self, delegate: AccountId) -> frame_support::dispatch::DispatchResult {
		Adjudicator::register_for(
			RuntimeOrigin::signed(delegate),
			self.owner,
			self.public,
			self.proof.clone(),
			self.counterpart,
			self.duration,
			self.limit,
			self.collateral,
			self.description.clone(),
			self.scope.clone(),
		)
		.map(|_| ())
		.map_err(|e| e.error)
	}

	/// Submits it, signed by the owner.
	pub fn submit(&self) -> frame_support::dispatch::DispatchResult {
		self.submit_as(RuntimeOrigin::signed(self.owner))
	}

	/// Submits it, checks it succeeded, and returns the key.
	pub fn register(self) -> SessionPublic {
		frame_support::assert_ok!(self.submit());
		self.public
	}
}

/// Registers an sr25519 key from `seed` for `owner` with the defaults of [`registration`].
pub fn register_key(owner: AccountId, seed: u8) -> SessionPublic {
	registration(owner, seed).register()
}

/// Registers an sr25519 key from `seed` for `owner` with the given duration and collateral.
pub fn register_with(
	owner: AccountId,
	seed: u8,
	duration: Option<u64>,
	collateral: Balance,
) -> SessionPublic {
	registration(owner, seed).duration(duration).collateral(collateral).register()
}

/// What the pallet holds from `who`: collateral and deposits of its live sessions.
pub fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&crate::HoldReason::Session.into(), &who)
}

/// The deposit of a registration with no description and no scope.
pub fn empty_deposit() -> Balance {
	// An empty description and an empty scope each encode as one byte of length prefix; the
	// retired record's price is paid up front.
	DEPOSIT_BASE + 2 + record_fee()
}

/// The record fee kept from every settled session's deposit.
pub fn record_fee() -> Balance {
	Adjudicator::record_fee()
}

/// What a settled session without description and scope returns of its deposit.
pub fn empty_deposit_back() -> Balance {
	empty_deposit() - record_fee()
}

/// `pair`'s signature over `state` for session `public` on this chain.
pub fn sign_state_for<P: sp_core::crypto::Pair>(
	pair: &P,
	public: SessionPublic,
	state: crate::ChannelState<Balance>,
) -> crate::SessionSignature
where
	crate::SessionSignature: From<P::Signature>,
{
	pair.sign(&state.signing_payload(&System::block_hash(0), &public)).into()
}

/// `pair`'s signature over `state` for its own session on this chain.
pub fn sign_state<P: sp_core::crypto::Pair>(
	pair: &P,
	state: crate::ChannelState<Balance>,
) -> crate::SessionSignature
where
	SessionPublic: From<P::Public>,
	crate::SessionSignature: From<P::Signature>,
{
	sign_state_for(pair, pair.public().into(), state)
}

/// A channel state.
pub fn state(nonce: u64, owed: Balance, margin: Balance) -> crate::ChannelState<Balance> {
	crate::ChannelState { nonce, owed, margin }
}
