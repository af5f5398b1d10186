//! Bounded delegation in the runtime: no proxy type can authorize a delegate or move the owner's
//! money into session keys, and a delegate registers only within the owner's terms, with real
//! signed extrinsics as a node applies them.

mod common;

use common::*;
use pallet_session_keys::{DelegateTerms, Error};
use session_keys_primitives::{
	runtime_decl_for_session_keys_api::SessionKeysApiV5, CryptoKind, DelegateUsage,
	GeneratedSessionKey,
};
use session_keys_runtime::{
	configs::ProxyType, AccountId, Balance, Balances, Runtime, RuntimeCall, RuntimeEvent, System,
	UNIT,
};
use sp_keyring::Sr25519Keyring::{self, Alice, Bob, Charlie, Dave, Eve};
use sp_runtime::DispatchError;

type Call = pallet_session_keys::Call<Runtime>;

fn key_for(owner: Sr25519Keyring) -> GeneratedSessionKey {
	Runtime::generate_session_key(account(owner), CryptoKind::Sr25519, None).expect("a key")
}

/// Alice's terms for her delegate: Bob as the only counterpart, 10 UNIT a key, 15 in total.
fn terms() -> pallet_session_keys::DelegateTermsOf<Runtime> {
	DelegateTerms {
		counterparts: vec![account(Bob)].try_into().unwrap(),
		max_collateral: 10 * UNIT,
		max_spending_limit: 10 * UNIT,
		max_total_collateral: 15 * UNIT,
		max_duration: 100,
		max_keys: 4,
		ends_at: None,
	}
}

fn register_for(key: &GeneratedSessionKey, counterpart: AccountId, amount: Balance) -> RuntimeCall {
	RuntimeCall::Adjudicator(Call::register_for {
		owner: account(Alice).into(),
		public: key.public,
		proof: key.proof.clone().try_into().unwrap(),
		counterpart: counterpart.into(),
		duration: Some(50),
		spending_limit: amount,
		collateral: amount,
		description: Default::default(),
		scope: Default::default(),
	})
}

fn register(key: &GeneratedSessionKey, counterpart: AccountId, amount: Balance) -> RuntimeCall {
	RuntimeCall::Adjudicator(Call::register {
		public: key.public,
		proof: key.proof.clone().try_into().unwrap(),
		counterpart: counterpart.into(),
		duration: Some(50),
		spending_limit: amount,
		collateral: amount,
		description: Default::default(),
		scope: Default::default(),
	})
}

fn add_proxy(delegate: Sr25519Keyring, proxy_type: ProxyType) {
	let call = RuntimeCall::Proxy(pallet_proxy::Call::add_proxy {
		delegate: account(delegate).into(),
		proxy_type,
		delay: 0,
	});
	assert_eq!(apply_signed(Alice, call), Ok(Ok(())));
}

/// `who` calls `call` as Alice through `proxy.proxy`; the inner call's outcome.
fn as_alice(who: Sr25519Keyring, call: RuntimeCall) -> Result<(), DispatchError> {
	let proxied = RuntimeCall::Proxy(pallet_proxy::Call::proxy {
		real: account(Alice).into(),
		force_proxy_type: None,
		call: Box::new(call),
	});
	assert_eq!(apply_signed(who, proxied), Ok(Ok(())));
	System::events()
		.into_iter()
		.rev()
		.find_map(|record| match record.event {
			RuntimeEvent::Proxy(pallet_proxy::Event::ProxyExecuted { result }) => Some(result),
			_ => None,
		})
		.expect("the proxy executed")
}

fn filtered() -> DispatchError {
	frame_system::Error::<Runtime>::CallFiltered.into()
}

#[test]
fn no_proxy_type_can_authorize_a_delegate() {
	dev_chain().execute_with(|| {
		add_proxy(Charlie, ProxyType::Any);
		add_proxy(Dave, ProxyType::SessionKeys);
		let authorize = RuntimeCall::Adjudicator(Call::authorize_delegate {
			delegate: account(Eve).into(),
			terms: terms(),
		});
		assert_eq!(as_alice(Charlie, authorize.clone()), Err(filtered()));
		assert_eq!(as_alice(Dave, authorize.clone()), Err(filtered()));
		assert_eq!(Runtime::delegation(account(Alice), account(Eve)), None);
		// The owner's own key can.
		assert_eq!(apply_signed(Alice, authorize), Ok(Ok(())));
		assert!(Runtime::delegation(account(Alice), account(Eve)).is_some());
	});
}

#[test]
fn the_session_keys_proxy_cannot_move_money_and_can_still_close_keys() {
	dev_chain().execute_with(|| {
		add_proxy(Dave, ProxyType::SessionKeys);
		let free = Balances::free_balance(account(Alice));
		// The demonstrated drain: Dave's own key, Dave's accomplice (Eve) as counterpart, and
		// most of Alice's balance as collateral and limit.
		let thief_key = key_for(Alice);
		let drain = register(&thief_key, account(Eve), free / 2);
		assert_eq!(as_alice(Dave, drain), Err(filtered()));
		assert_eq!(Balances::free_balance(account(Alice)), free);

		// Alice's own key, registered by Alice: the proxy may renew and revoke it, not top it
		// up or raise its limit.
		let key = key_for(Alice);
		assert_eq!(apply_signed(Alice, register(&key, account(Bob), UNIT)), Ok(Ok(())));
		let public = key.public;
		let top_up = RuntimeCall::Adjudicator(Call::top_up { public, amount: UNIT });
		assert_eq!(as_alice(Dave, top_up), Err(filtered()));
		let raise =
			RuntimeCall::Adjudicator(Call::set_spending_limit { public, spending_limit: free / 2 });
		assert_eq!(as_alice(Dave, raise), Err(filtered()));
		let renew = RuntimeCall::Adjudicator(Call::renew { public, duration: Some(60) });
		assert_eq!(as_alice(Dave, renew), Ok(()));
		let revoke = RuntimeCall::Adjudicator(Call::revoke { public });
		assert_eq!(as_alice(Dave, revoke), Ok(()));
		// Transfers were never allowed.
		let transfer = RuntimeCall::Balances(pallet_balances::Call::transfer_allow_death {
			dest: account(Eve).into(),
			value: UNIT,
		});
		assert_eq!(as_alice(Dave, transfer), Err(filtered()));
	});
}

#[test]
fn a_delegate_registers_within_the_terms_and_the_api_shows_its_usage() {
	dev_chain().execute_with(|| {
		let authorize = RuntimeCall::Adjudicator(Call::authorize_delegate {
			delegate: account(Dave).into(),
			terms: terms(),
		});
		assert_eq!(apply_signed(Alice, authorize), Ok(Ok(())));
		let free = Balances::free_balance(account(Alice));
		let refused = |counterpart: Sr25519Keyring, amount: Balance, error: Error<Runtime>| {
			let result =
				apply_signed(Dave, register_for(&key_for(Alice), account(counterpart), amount));
			assert_eq!(result, Ok(Err(error.into())));
		};
		refused(Eve, UNIT, Error::CounterpartNotAllowed);
		refused(Dave, UNIT, Error::CounterpartNotAllowed);
		refused(Bob, 11 * UNIT, Error::SpendingLimitAboveTerms);
		assert_eq!(Balances::free_balance(account(Alice)), free);

		let first = key_for(Alice);
		assert_eq!(apply_signed(Dave, register_for(&first, account(Bob), 10 * UNIT)), Ok(Ok(())));
		refused(Bob, 6 * UNIT, Error::TotalCollateralAboveTerms);
		let registration = Runtime::registration(first.public).unwrap();
		assert_eq!(registration.delegate, Some(account(Dave)));
		let delegation = Runtime::delegation(account(Alice), account(Dave)).unwrap();
		assert_eq!(delegation.usage, DelegateUsage { keys: 1, collateral: 10 * UNIT });
		assert_eq!(delegation.terms, Some(terms().into_plain()));
	});
}
