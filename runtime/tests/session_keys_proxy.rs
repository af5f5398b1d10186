//! The `SessionKeys` proxy type, the one an owner gives its keeper's hot key: the key-life
//! calls that move no money pass (`renew`, `revoke`, `revoke_all`, `rotate`, `revoke_delegate`);
//! registering (for the owner or as a delegate), topping up, raising a limit, authorizing a
//! delegate, the counterpart's and anyone's adjudicator calls, and every other pallet's calls do
//! not. No proxy type, `Any` included, may authorize a delegate: only the owner's own key widens
//! what a delegate may do. The adjudicator's calls are checked against the runtime's own type
//! information, so a call added later fails this test until someone decides what the proxy may
//! do with it.

use std::collections::BTreeSet;

use codec::Encode;
use frame_support::traits::InstanceFilter;
use scale_info::{TypeDef, TypeInfo};
use session_keys_primitives::{ChannelState, SessionPublic, SessionSignature};
use session_keys_runtime::{configs::ProxyType, AccountId, Runtime, RuntimeCall};
use sp_core::{sr25519, Pair};
use sp_keyring::Sr25519Keyring::{Alice, Bob, Dave};

type Call = pallet_session_keys::Call<Runtime>;

fn account(who: sp_keyring::Sr25519Keyring) -> AccountId {
	who.to_account_id()
}

/// The name of an adjudicator call's variant, from its encoding's index.
fn call_name(call: &RuntimeCall) -> String {
	let RuntimeCall::Adjudicator(inner) = call else { return String::new() };
	let index = inner.encode()[0];
	match Call::type_info().type_def {
		TypeDef::Variant(def) => def
			.variants
			.into_iter()
			.find(|v| v.index == index)
			.map(|v| v.name.to_string())
			.expect("a known call"),
		other => panic!("not an enum: {other:?}"),
	}
}

/// Every call name of the adjudicator.
fn adjudicator_calls() -> BTreeSet<String> {
	match Call::type_info().type_def {
		TypeDef::Variant(def) => def.variants.into_iter().map(|v| v.name.to_string()).collect(),
		other => panic!("not an enum: {other:?}"),
	}
}

fn key(seed: u8) -> SessionPublic {
	sr25519::Pair::from_seed(&[seed; 32]).public().into()
}

#[test]
fn the_session_keys_proxy_type_lets_through_only_the_calls_that_move_no_money() {
	let (public, other) = (key(1), key(2));
	let terms = pallet_session_keys::DelegateTerms {
		counterparts: vec![account(Bob)].try_into().unwrap(),
		max_collateral: 1,
		max_spending_limit: 1,
		max_total_collateral: 1,
		max_duration: 100,
		max_keys: 1,
		ends_at: None,
	};
	let allowed = [
		RuntimeCall::Adjudicator(Call::renew { public, duration: Some(100) }),
		RuntimeCall::Adjudicator(Call::revoke { public }),
		RuntimeCall::Adjudicator(Call::revoke_all {}),
		RuntimeCall::Adjudicator(Call::rotate {
			old: public,
			new: other,
			proof: Default::default(),
		}),
		RuntimeCall::Adjudicator(Call::revoke_delegate {
			delegate: account(Dave).into(),
			close_keys: true,
		}),
	];
	let authorize = RuntimeCall::Adjudicator(Call::authorize_delegate {
		delegate: account(Dave).into(),
		terms,
	});
	let signature = SessionSignature::Sr25519(sr25519::Signature::from_raw([0; 64]));
	let refused_adjudicator = [
		RuntimeCall::Adjudicator(Call::register {
			public,
			proof: Default::default(),
			counterpart: account(Bob).into(),
			duration: Some(100),
			spending_limit: 1,
			collateral: 1,
			description: Default::default(),
			scope: Default::default(),
		}),
		RuntimeCall::Adjudicator(Call::register_for {
			owner: account(Alice).into(),
			public,
			proof: Default::default(),
			counterpart: account(Bob).into(),
			duration: Some(100),
			spending_limit: 1,
			collateral: 1,
			description: Default::default(),
			scope: Default::default(),
		}),
		RuntimeCall::Adjudicator(Call::top_up { public, amount: 1 }),
		RuntimeCall::Adjudicator(Call::set_spending_limit { public, spending_limit: 1 }),
		RuntimeCall::Adjudicator(Call::checkpoint {
			public,
			state: ChannelState { nonce: 1, owed: 1, margin: 0 },
			signature,
		}),
		RuntimeCall::Adjudicator(Call::liquidate { public }),
		RuntimeCall::Adjudicator(Call::discontinue { public }),
		RuntimeCall::Adjudicator(Call::settle { public }),
		RuntimeCall::Adjudicator(Call::claim_payment { public }),
	];
	let refused_elsewhere = [
		RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
			dest: account(Bob).into(),
			value: 1,
		}),
		RuntimeCall::Proxy(pallet_proxy::Call::add_proxy {
			delegate: account(Bob).into(),
			proxy_type: ProxyType::Any,
			delay: 0,
		}),
		RuntimeCall::Proxy(pallet_proxy::Call::remove_proxies {}),
		RuntimeCall::Sudo(pallet_sudo::Call::sudo {
			call: Box::new(RuntimeCall::Adjudicator(Call::revoke_all {})),
		}),
		RuntimeCall::System(frame_system::Call::remark { remark: vec![1] }),
	];
	for call in &allowed {
		assert!(ProxyType::SessionKeys.filter(call), "refused {call:?}");
		assert!(ProxyType::Any.filter(call));
	}
	for call in refused_adjudicator.iter().chain(&refused_elsewhere) {
		assert!(!ProxyType::SessionKeys.filter(call), "let through {call:?}");
		assert!(ProxyType::Any.filter(call));
	}
	assert!(!ProxyType::SessionKeys.filter(&authorize), "let through {authorize:?}");
	assert!(!ProxyType::Any.filter(&authorize), "Any let through {authorize:?}");
	assert!(ProxyType::Any.is_superset(&ProxyType::SessionKeys));
	assert!(!ProxyType::SessionKeys.is_superset(&ProxyType::Any));

	// Every call of the adjudicator had a decision above.
	let tried: BTreeSet<String> =
		allowed.iter().chain(&refused_adjudicator).chain([&authorize]).map(call_name).collect();
	assert_eq!(tried, adjudicator_calls(), "a new adjudicator call needs a decision here");
}
