//! Shared harness: externalities built from a genesis preset, real blocks through `Executive`, and
//! signed extrinsics applied as a node would apply them.

#![allow(dead_code)]

use codec::Encode;
use frame_support::{genesis_builder_helper::build_state, traits::Get};
use session_keys_runtime::{
	immortal_tx_extension, AccountId, Executive, Header, RuntimeCall, RuntimeGenesisConfig,
	SignedPayload, System, UncheckedExtrinsic,
};
use sp_core::H256;
use sp_keyring::Sr25519Keyring;
use sp_keystore::{testing::MemoryKeystore, KeystoreExt};
use sp_runtime::{
	traits::Header as HeaderT, ApplyExtrinsicResult, BuildStorage, Digest, DigestItem,
};

/// Applies a genesis preset (a JSON patch) onto the default config, as a node's chain spec does.
fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
	match (base, patch) {
		(serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
			for (key, value) in patch {
				merge(base.entry(key).or_insert(serde_json::Value::Null), value);
			}
		}
		(base, patch) => *base = patch,
	}
}

/// Externalities holding the genesis state of preset `id`, with an in-memory keystore.
pub fn preset_ext(id: &str) -> sp_io::TestExternalities {
	let patch = session_keys_runtime::genesis_config_presets::get_preset(&id.into())
		.unwrap_or_else(|| panic!("preset {id} exists"));
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
	merge(&mut config, serde_json::from_slice(&patch).expect("a preset is JSON"));
	let json = serde_json::to_vec(&config).unwrap();
	let mut ext: sp_io::TestExternalities =
		frame_system::GenesisConfig::<session_keys_runtime::Runtime>::default()
			.build_storage()
			.expect("system genesis builds")
			.into();
	ext.execute_with(|| {
		build_state::<RuntimeGenesisConfig>(json).expect("preset builds");
	});
	ext.register_extension(KeystoreExt::new(MemoryKeystore::new()));
	ext
}

/// Externalities of the `development` preset, at block 1 with block 0's real hash stored.
pub fn dev_chain() -> sp_io::TestExternalities {
	let mut ext = preset_ext(sp_genesis_builder::DEV_RUNTIME_PRESET);
	ext.execute_with(|| start_block(1, H256::repeat_byte(0x47)));
	ext
}

/// Starts block `number` on top of `parent` as an Aura author would: the slot in a pre-runtime
/// digest, then the timestamp inherent for that slot.
pub fn start_block(number: u32, parent: H256) {
	let slot = sp_consensus_aura::Slot::from(u64::from(number));
	let digest = Digest {
		logs: vec![DigestItem::PreRuntime(sp_consensus_aura::AURA_ENGINE_ID, slot.encode())],
	};
	let header = Header::new(number, H256::zero(), H256::zero(), parent, digest);
	Executive::initialize_block(&header);
	let now = u64::from(number) * session_keys_runtime::SLOT_DURATION;
	let inherent =
		UncheckedExtrinsic::new_bare(RuntimeCall::Timestamp(pallet_timestamp::Call::set { now }));
	assert_eq!(Executive::apply_extrinsic(inherent), Ok(Ok(())), "timestamp inherent");
}

/// Finishes the current block and starts the next one; returns the finished block's hash.
/// Built with `try-runtime`, every pallet's `try_state` runs on each finished block, as
/// `try-runtime` checks a chain.
pub fn next_block() -> H256 {
	let header = Executive::finalize_block();
	#[cfg(feature = "try-runtime")]
	{
		use frame_support::traits::{TryState, TryStateSelect};
		<session_keys_runtime::AllPalletsWithSystem as TryState<u32>>::try_state(
			*header.number(),
			TryStateSelect::All,
		)
		.expect("every pallet's invariants hold after each block");
	}
	let hash = header.hash();
	start_block(header.number() + 1, hash);
	hash
}

/// Runs blocks until `number` is the current block.
pub fn run_to_block(number: u32) {
	while System::block_number() < number {
		next_block();
	}
}

/// Signs `call` as `signer` with the runtime's transaction extensions and applies it.
pub fn apply_signed(signer: Sr25519Keyring, call: RuntimeCall) -> ApplyExtrinsicResult {
	let nonce = System::account_nonce(signer.to_account_id());
	let extension = immortal_tx_extension(nonce);
	let payload = SignedPayload::new(call.clone(), extension.clone()).expect("payload builds");
	let signature = payload.using_encoded(|bytes| signer.sign(bytes));
	let xt = UncheckedExtrinsic::new_signed(
		call,
		signer.to_account_id().into(),
		signature.into(),
		extension,
	);
	Executive::apply_extrinsic(xt)
}

/// The account of a dev keyring member.
pub fn account(who: Sr25519Keyring) -> AccountId {
	who.to_account_id()
}

/// The runtime's `HeaderValidity`.
pub fn header_validity() -> u32 {
	<session_keys_runtime::configs::SessionKeyHeaderValidity as Get<u32>>::get()
}
