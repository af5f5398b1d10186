//! Genesis presets: `development` (Alice the one validator) and `local_testnet` (Alice, Bob,
//! Charlie and Dave). Both fund the well-known dev accounts and make Alice sudo.

use alloc::{string::String, vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

use crate::{
	AccountId, AdjudicatorConfig, Balance, BalancesConfig, BlockNumber, RuntimeGenesisConfig,
	SessionConfig, SessionKeys, SudoConfig, UNIT,
};

/// The adjudicator's challenge period on a development chain, in blocks: short enough for the
/// end-to-end tests and for trying the closing window by hand, where a real chain has an hour.
pub const DEV_CHALLENGE_PERIOD: BlockNumber = 10;

/// What each endowed account starts with.
pub const ENDOWMENT: Balance = 1_000_000 * UNIT;

/// A dev validator: its account and Aura key from the sr25519 seed `//Name`, its GRANDPA key from
/// the ed25519 seed `//Name`, as `--alice` etc. put them in the node's keystore.
pub type DevValidator = (Sr25519Keyring, Ed25519Keyring);

/// The validators of the `development` preset.
pub const DEVELOPMENT_VALIDATORS: [DevValidator; 1] =
	[(Sr25519Keyring::Alice, Ed25519Keyring::Alice)];

/// The validators of the `local_testnet` preset.
pub const LOCAL_TESTNET_VALIDATORS: [DevValidator; 4] = [
	(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
	(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
	(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
	(Sr25519Keyring::Dave, Ed25519Keyring::Dave),
];

/// The consensus keys of a dev validator.
pub fn dev_session_keys((aura, grandpa): DevValidator) -> SessionKeys {
	SessionKeys { aura: aura.public().into(), grandpa: grandpa.public().into() }
}

fn genesis(
	validators: &[DevValidator],
	endowed: Vec<AccountId>,
	root: AccountId,
	challenge_period: Option<BlockNumber>,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed.into_iter().map(|account| (account, ENDOWMENT)).collect::<Vec<_>>(),
		},
		session: SessionConfig {
			keys: validators
				.iter()
				.map(|v| (v.0.to_account_id(), v.0.to_account_id(), dev_session_keys(*v)))
				.collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
		adjudicator: AdjudicatorConfig { challenge_period },
	})
}

/// The well-known dev accounts (Alice ... Ferdie and their stashes), all endowed.
fn endowed_accounts() -> Vec<AccountId> {
	Sr25519Keyring::iter()
		.filter(|key| *key != Sr25519Keyring::One && *key != Sr25519Keyring::Two)
		.map(|key| key.to_account_id())
		.collect()
}

/// The `development` preset: Alice is the only validator, and sessions close for
/// `DEV_CHALLENGE_PERIOD` blocks.
pub fn development_config_genesis() -> Value {
	genesis(
		&DEVELOPMENT_VALIDATORS,
		endowed_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		Some(DEV_CHALLENGE_PERIOD),
	)
}

/// The `local_testnet` preset: Alice, Bob, Charlie and Dave validate; the runtime's challenge
/// period (an hour) applies, as on any chain not built from the `development` preset.
pub fn local_testnet_config_genesis() -> Value {
	genesis(
		&LOCAL_TESTNET_VALIDATORS,
		endowed_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		None,
	)
}

/// The JSON patch of preset `id`, if it exists.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		DEV_RUNTIME_PRESET => development_config_genesis(),
		LOCAL_TESTNET_RUNTIME_PRESET => local_testnet_config_genesis(),
		_ => return None,
	};
	serde_json::to_string(&patch).ok().map(String::into_bytes)
}

/// The presets this runtime provides.
pub fn preset_names() -> Vec<PresetId> {
	vec![PresetId::from(DEV_RUNTIME_PRESET), PresetId::from(LOCAL_TESTNET_RUNTIME_PRESET)]
}
