//! A solochain runtime for the session-key adjudicator: Aura block production, GRANDPA finality,
//! validators managed by pallet-session (whose `set_keys` checks RFC-0048 ownership proofs),
//! balances, transaction payment, sudo, and `pallet-session-keys`.
//!
//! Layout follows the polkadot-sdk templates: pallet configuration in [`configs`], runtime API
//! implementations in [`apis`], genesis presets in [`genesis_config_presets`].

#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime`/`impl_runtime_apis` expand to undocumented public items.
#![allow(missing_docs)]
// `#[frame_support::runtime]` needs a large recursion limit.
#![recursion_limit = "256"]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

use alloc::vec::Vec;

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
pub mod configs;
pub mod genesis_config_presets;

use sp_runtime::{
	generic, impl_opaque_keys,
	traits::{BlakeTwo256, IdentifyAccount, Verify},
	MultiAddress, MultiSignature,
};
use sp_version::RuntimeVersion;

/// The runtime API implementation the node's client is built with.
pub use apis::RuntimeApi;
pub use frame_system::Call as SystemCall;
pub use pallet_balances::Call as BalancesCall;
pub use pallet_session_keys::Call as AdjudicatorCall;
pub use pallet_timestamp::Call as TimestampCall;
#[cfg(feature = "std")]
pub use sp_runtime::BuildStorage;

/// Opaque types the node uses without knowing the runtime's extrinsic format.
pub mod opaque {
	use super::*;
	use sp_runtime::traits::Hash as HashT;

	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header type.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block type.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// Opaque block hash type.
	pub type Hash = <BlakeTwo256 as HashT>::Output;
}

impl_opaque_keys! {
	/// The consensus keys a validator registers with `session.set_keys`.
	pub struct SessionKeys {
		/// Block authoring.
		pub aura: Aura,
		/// Finality voting.
		pub grandpa: Grandpa,
	}
}

/// The runtime's version.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("session-keys-adjudicator"),
	impl_name: alloc::borrow::Cow::Borrowed("session-keys-adjudicator"),
	authoring_version: 1,
	spec_version: 106,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// Time between blocks. Short, so a dev chain shows expiries and session changes quickly.
pub const MILLI_SECS_PER_BLOCK: u64 = 3000;
/// Aura slot duration; cannot change once the chain runs.
pub const SLOT_DURATION: u64 = MILLI_SECS_PER_BLOCK;

/// Blocks per minute.
pub const MINUTES: BlockNumber = 60_000 / (MILLI_SECS_PER_BLOCK as BlockNumber);
/// Blocks per hour.
pub const HOURS: BlockNumber = MINUTES * 60;
/// Blocks per day.
pub const DAYS: BlockNumber = HOURS * 24;

/// The native token's symbol, as wallets show it.
pub const TOKEN_SYMBOL: &str = "UNIT";
/// Decimal places of the native token: one [`UNIT`] is `10^TOKEN_DECIMALS` of the smallest
/// amount.
pub const TOKEN_DECIMALS: u8 = 12;
/// One unit of the native token.
pub const UNIT: Balance = (10 as Balance).pow(TOKEN_DECIMALS as u32);
/// A thousandth of a unit.
pub const MILLI_UNIT: Balance = 1_000_000_000;
/// A millionth of a unit.
pub const MICRO_UNIT: Balance = 1_000_000;
/// The smallest balance an account may hold.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

/// Transaction signature.
pub type Signature = MultiSignature;
/// Account identifier: the public key of the signature scheme.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// Balance of an account.
pub type Balance = u128;
/// Transaction index of an account.
pub type Nonce = u32;
/// Block and state hash.
pub type Hash = sp_core::H256;
/// Block number.
pub type BlockNumber = u32;
/// The address format for describing accounts.
pub type Address = MultiAddress<AccountId, ()>;
/// Block header type.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// Block type.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;
/// A block with its justifications.
pub type SignedBlock = generic::SignedBlock<Block>;

/// The transaction extensions, checked in this order.
pub type TxExtension = (
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	// Lets a signer that cannot trust the node (a hardware or offline wallet) check what it
	// signs against the metadata's hash, which the runtime then verifies (RFC 78).
	frame_metadata_hash_extension::CheckMetadataHash<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);

/// The transaction extensions of an immortal transaction with `nonce` and no tip, for tools and
/// tests that sign extrinsics with the runtime's own types.
#[cfg(feature = "std")]
pub fn immortal_tx_extension(nonce: Nonce) -> TxExtension {
	(
		frame_system::CheckNonZeroSender::new(),
		frame_system::CheckSpecVersion::new(),
		frame_system::CheckTxVersion::new(),
		frame_system::CheckGenesis::new(),
		frame_system::CheckEra::from(sp_runtime::generic::Era::Immortal),
		frame_system::CheckNonce::from(nonce),
		frame_system::CheckWeight::new(),
		pallet_transaction_payment::ChargeTransactionPayment::from(0),
		frame_metadata_hash_extension::CheckMetadataHash::new(false),
		frame_system::WeightReclaim::new(),
	)
}

/// Unchecked extrinsic type.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
/// The payload signed in transactions.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Storage migrations run in the block of the next runtime upgrade; each is versioned, so it
/// runs once. Retired records move to the current layout after it, over as many blocks as it
/// takes, in the multi-block migrations that `MultiBlockMigrations` runs
/// (`configs::migrations`).
pub type Migrations = (
	pallet_session_keys::migrations::v1::MigrateV0ToV1<Runtime>,
	pallet_session_keys::migrations::v2::MigrateV1ToV2<Runtime>,
	pallet_session_keys::migrations::v3::MigrateV2ToV3<Runtime>,
);

/// Dispatches to the pallets.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

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
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;

	#[runtime::pallet_index(2)]
	pub type Balances = pallet_balances;

	// Session comes before the consensus pallets: its genesis hands them their authorities.
	#[runtime::pallet_index(3)]
	pub type Session = pallet_session;

	#[runtime::pallet_index(4)]
	pub type Aura = pallet_aura;

	#[runtime::pallet_index(5)]
	pub type Grandpa = pallet_grandpa;

	#[runtime::pallet_index(6)]
	pub type TransactionPayment = pallet_transaction_payment;

	#[runtime::pallet_index(7)]
	pub type Sudo = pallet_sudo;

	#[runtime::pallet_index(8)]
	pub type Adjudicator = pallet_session_keys;

	#[runtime::pallet_index(9)]
	pub type Proxy = pallet_proxy;

	#[runtime::pallet_index(10)]
	pub type MultiBlockMigrations = pallet_migrations;
}
