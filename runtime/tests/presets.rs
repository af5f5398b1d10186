//! The genesis presets build and contain what they claim.

mod common;

use common::*;
use session_keys_runtime::{
	genesis_config_presets::{dev_session_keys, ENDOWMENT, LOCAL_TESTNET_VALIDATORS},
	Balances, Grandpa, Runtime, Session,
};
use sp_genesis_builder::{DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

#[test]
fn both_presets_are_listed() {
	let names = session_keys_runtime::genesis_config_presets::preset_names();
	assert_eq!(
		names,
		vec![DEV_RUNTIME_PRESET.to_string(), LOCAL_TESTNET_RUNTIME_PRESET.to_string()]
	);
	assert!(session_keys_runtime::genesis_config_presets::get_preset(&"nope".into()).is_none());
}

#[test]
fn development_has_alice_as_the_one_validator() {
	preset_ext(DEV_RUNTIME_PRESET).execute_with(|| {
		assert_eq!(Session::validators(), vec![account(Sr25519Keyring::Alice)]);
		assert_eq!(
			pallet_aura::Authorities::<Runtime>::get().into_inner(),
			vec![Sr25519Keyring::Alice.public().into()]
		);
		assert_eq!(
			Grandpa::grandpa_authorities(),
			vec![(Ed25519Keyring::Alice.public().into(), 1)]
		);
		assert_eq!(
			pallet_session::NextKeys::<Runtime>::get(account(Sr25519Keyring::Alice)),
			Some(dev_session_keys((Sr25519Keyring::Alice, Ed25519Keyring::Alice)))
		);
		assert_eq!(pallet_sudo::Key::<Runtime>::get(), Some(account(Sr25519Keyring::Alice)));
		for who in [Sr25519Keyring::Alice, Sr25519Keyring::Bob, Sr25519Keyring::Ferdie] {
			assert_eq!(Balances::free_balance(account(who)), ENDOWMENT, "{who} is funded");
		}
	});
}

#[test]
fn local_testnet_has_four_validators() {
	preset_ext(LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
		let expected: Vec<_> = LOCAL_TESTNET_VALIDATORS.iter().map(|v| account(v.0)).collect();
		assert_eq!(Session::validators(), expected);
		let aura: Vec<_> = LOCAL_TESTNET_VALIDATORS.iter().map(|v| v.0.public().into()).collect();
		assert_eq!(pallet_aura::Authorities::<Runtime>::get().into_inner(), aura);
		let grandpa: Vec<_> =
			LOCAL_TESTNET_VALIDATORS.iter().map(|v| (v.1.public().into(), 1)).collect();
		assert_eq!(Grandpa::grandpa_authorities(), grandpa);
		assert_eq!(
			LOCAL_TESTNET_VALIDATORS.iter().map(|v| v.0).collect::<Vec<_>>(),
			vec![
				Sr25519Keyring::Alice,
				Sr25519Keyring::Bob,
				Sr25519Keyring::Charlie,
				Sr25519Keyring::Dave
			]
		);
		assert_eq!(Balances::free_balance(account(Sr25519Keyring::Eve)), ENDOWMENT);
	});
}

#[test]
fn a_dev_chain_produces_blocks_and_changes_sessions() {
	dev_chain().execute_with(|| {
		let period = <session_keys_runtime::configs::SessionPeriod as frame_support::traits::Get<
			u32,
		>>::get();
		assert_eq!(Session::current_index(), 0);
		run_to_block(period + 1);
		assert_eq!(Session::current_index(), 1, "one session change after a period");
	});
}

#[test]
fn only_the_development_preset_shortens_the_challenge_period() {
	use session_keys_runtime::{
		configs::SessionKeyChallengePeriod, genesis_config_presets::DEV_CHALLENGE_PERIOD,
		Adjudicator, HOURS,
	};
	assert_eq!(SessionKeyChallengePeriod::get(), HOURS, "an hour on a real chain");
	preset_ext(DEV_RUNTIME_PRESET).execute_with(|| {
		assert_eq!(Adjudicator::challenge_period(), DEV_CHALLENGE_PERIOD);
	});
	preset_ext(LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
		assert_eq!(Adjudicator::challenge_period(), HOURS);
	});
}

#[test]
fn a_retired_record_costs_its_bytes() {
	use session_keys_runtime::{Adjudicator, MILLI_UNIT};
	// 48 bytes of prefixes and hash, the 34-byte key, and a 146-byte record (with what was owed,
	// what was paid, and the delegate that made the key): the README's figure.
	assert_eq!(Adjudicator::retired_record_bytes(), 228);
	// An item and its bytes at the deposit's rates: 10 + 22.8 MILLI_UNIT.
	assert_eq!(Adjudicator::record_fee(), 10 * MILLI_UNIT + 228 * MILLI_UNIT / 10);
}
