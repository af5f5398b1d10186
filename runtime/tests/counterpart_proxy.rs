//! The `Counterpart` proxy type: a counterpart's hot key (a watchtower's) may make the
//! adjudicator's counterpart-side calls for it (`checkpoint`, `liquidate`, `discontinue`,
//! `settle`, `claim_payment`) and nothing else, with real signed extrinsics as a node applies them. The lists of
//! calls tried are checked against the runtime's own type information, so a pallet or an
//! adjudicator call added later fails this test until someone decides what the proxy may do
//! with it.

mod common;

use std::collections::BTreeSet;

use codec::Encode;
use common::*;
use pallet_session_keys::Event;
use scale_info::{TypeDef, TypeInfo};
use session_keys_primitives::{ChannelState, EndReason, SessionPublic};
use session_keys_runtime::{
	configs::ProxyType, Adjudicator, Balances, Runtime, RuntimeCall, RuntimeEvent, System, UNIT,
};
use sp_core::{proof_of_possession::ProofOfPossessionGenerator, sr25519, Pair};
use sp_keyring::Sr25519Keyring::{Alice, Bob, Charlie, Dave, Eve};
use sp_runtime::DispatchError;

type Call = pallet_session_keys::Call<Runtime>;

/// Alice registers a key with Bob as counterpart (100 UNIT collateral, limit 50 UNIT).
fn register_key(seed: u8) -> (sr25519::Pair, SessionPublic) {
	let mut pair = sr25519::Pair::from_seed(&[seed; 32]);
	let public: SessionPublic = pair.public().into();
	let proof = pair.generate_proof_of_possession(&account(Alice).encode());
	let register = RuntimeCall::Adjudicator(Call::register {
		public,
		proof: proof.encode().try_into().unwrap(),
		counterpart: account(Bob).into(),
		duration: Some(100),
		spending_limit: 50 * UNIT,
		collateral: 100 * UNIT,
		description: Default::default(),
		scope: Default::default(),
	});
	assert_eq!(apply_signed(Alice, register), Ok(Ok(())));
	(pair, public)
}

/// Dave calls `call` as Bob through `proxy.proxy`; the inner call's outcome.
fn as_bob(call: RuntimeCall) -> Result<(), DispatchError> {
	let proxied = RuntimeCall::Proxy(pallet_proxy::Call::proxy {
		real: account(Bob).into(),
		force_proxy_type: Some(ProxyType::Counterpart),
		call: Box::new(call),
	});
	assert_eq!(apply_signed(Dave, proxied), Ok(Ok(())));
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

fn adjudicator_error(error: pallet_session_keys::Error<Runtime>) -> DispatchError {
	error.into()
}

/// The variant names of an enum type's type information.
fn variants<T: TypeInfo + 'static>() -> BTreeSet<String> {
	match T::type_info().type_def {
		TypeDef::Variant(def) => def.variants.into_iter().map(|v| v.name.to_string()).collect(),
		other => panic!("not an enum: {other:?}"),
	}
}

/// The name of a call's variant (`Balances`, `checkpoint`, ...), from its encoding's index.
fn pallet_name(call: &RuntimeCall) -> String {
	let index = call.encode()[0];
	match RuntimeCall::type_info().type_def {
		TypeDef::Variant(def) => def
			.variants
			.into_iter()
			.find(|v| v.index == index)
			.map(|v| v.name.to_string())
			.expect("a known pallet"),
		_ => unreachable!(),
	}
}

fn adjudicator_call_name(call: &RuntimeCall) -> String {
	let RuntimeCall::Adjudicator(inner) = call else { panic!("an adjudicator call") };
	let index = inner.encode()[0];
	match Call::type_info().type_def {
		TypeDef::Variant(def) => def
			.variants
			.into_iter()
			.find(|v| v.index == index)
			.map(|v| v.name.to_string())
			.expect("a known call"),
		_ => unreachable!(),
	}
}

#[test]
fn the_variants_keep_their_encoding() {
	assert_eq!(ProxyType::Any.encode(), vec![0]);
	assert_eq!(ProxyType::SessionKeys.encode(), vec![1]);
	assert_eq!(ProxyType::Counterpart.encode(), vec![2]);
	use frame_support::traits::InstanceFilter;
	assert!(ProxyType::Any.is_superset(&ProxyType::Counterpart));
	assert!(!ProxyType::Counterpart.is_superset(&ProxyType::SessionKeys));
	assert!(!ProxyType::SessionKeys.is_superset(&ProxyType::Counterpart));
}

#[test]
fn the_counterpart_proxy_makes_the_counterpart_calls_and_nothing_else() {
	dev_chain().execute_with(|| {
		let add = RuntimeCall::Proxy(pallet_proxy::Call::add_proxy {
			delegate: account(Dave).into(),
			proxy_type: ProxyType::Counterpart,
			delay: 0,
		});
		assert_eq!(apply_signed(Bob, add), Ok(Ok(())));
		let (pair, public) = register_key(1);
		let (_, other) = register_key(2);

		// Every call the proxy may make passes the filter: the pallet answers each one.
		let state = ChannelState { nonce: 1, owed: 20 * UNIT, margin: 0 };
		let signature =
			pair.sign(&state.signing_payload(&Adjudicator::genesis_hash(), &public)).into();
		let checkpoint = RuntimeCall::Adjudicator(Call::checkpoint { public, state, signature });
		assert_eq!(as_bob(checkpoint.clone()), Ok(()));
		assert!(System::events().iter().any(|r| matches!(
			&r.event,
			RuntimeEvent::Adjudicator(Event::StateCheckpointed { public: p, nonce: 1, .. })
				if *p == public
		)));
		let liquidate = RuntimeCall::Adjudicator(Call::liquidate { public });
		assert_eq!(
			as_bob(liquidate.clone()),
			Err(adjudicator_error(pallet_session_keys::Error::NotUnderCollateralized))
		);
		let settle = RuntimeCall::Adjudicator(Call::settle { public });
		assert_eq!(
			as_bob(settle.clone()),
			Err(adjudicator_error(pallet_session_keys::Error::SettlementNotDue))
		);
		let claim = RuntimeCall::Adjudicator(Call::claim_payment { public });
		assert_eq!(
			as_bob(claim.clone()),
			Err(adjudicator_error(pallet_session_keys::Error::NothingHeld))
		);
		let bob_before = Balances::free_balance(account(Bob));
		let discontinue = RuntimeCall::Adjudicator(Call::discontinue { public });
		assert_eq!(as_bob(discontinue.clone()), Ok(()));
		assert_eq!(Balances::free_balance(account(Bob)), bob_before + 20 * UNIT, "Bob is paid");
		let retired = pallet_session_keys::Retired::<Runtime>::get(public).expect("retired");
		assert_eq!((retired.reason, retired.paid), (EndReason::Discontinued, 20 * UNIT));
		let allowed = [checkpoint, liquidate, discontinue, settle, claim];

		// Every other adjudicator call is filtered, whatever it would do.
		let mut proof_pair = sr25519::Pair::from_seed(&[3; 32]);
		let proof = proof_pair
			.generate_proof_of_possession(&account(Bob).encode())
			.encode()
			.try_into()
			.unwrap();
		let new_public: SessionPublic = proof_pair.public().into();
		let refused_adjudicator = [
			RuntimeCall::Adjudicator(Call::register {
				public: new_public,
				proof,
				counterpart: account(Eve).into(),
				duration: None,
				spending_limit: UNIT,
				collateral: UNIT,
				description: Default::default(),
				scope: Default::default(),
			}),
			RuntimeCall::Adjudicator(Call::register_for {
				owner: account(Alice).into(),
				public: new_public,
				proof: Default::default(),
				counterpart: account(Eve).into(),
				duration: None,
				spending_limit: UNIT,
				collateral: UNIT,
				description: Default::default(),
				scope: Default::default(),
			}),
			RuntimeCall::Adjudicator(Call::renew { public: other, duration: None }),
			RuntimeCall::Adjudicator(Call::revoke { public: other }),
			RuntimeCall::Adjudicator(Call::revoke_all {}),
			RuntimeCall::Adjudicator(Call::rotate {
				old: other,
				new: new_public,
				proof: Default::default(),
			}),
			RuntimeCall::Adjudicator(Call::top_up { public: other, amount: UNIT }),
			RuntimeCall::Adjudicator(Call::set_spending_limit {
				public: other,
				spending_limit: UNIT,
			}),
			RuntimeCall::Adjudicator(Call::authorize_delegate {
				delegate: account(Eve).into(),
				terms: pallet_session_keys::DelegateTerms {
					counterparts: vec![account(Charlie)].try_into().unwrap(),
					max_collateral: UNIT,
					max_spending_limit: UNIT,
					max_total_collateral: UNIT,
					max_duration: 10,
					max_keys: 1,
					ends_at: None,
				},
			}),
			RuntimeCall::Adjudicator(Call::revoke_delegate {
				delegate: account(Eve).into(),
				close_keys: true,
			}),
		];
		let free = Balances::free_balance(account(Bob));
		for call in &refused_adjudicator {
			assert_eq!(as_bob(call.clone()), Err(filtered()), "{call:?}");
		}

		// Every call name of the adjudicator is either allowed or shown refused above.
		let tried: BTreeSet<String> =
			allowed.iter().chain(&refused_adjudicator).map(adjudicator_call_name).collect();
		assert_eq!(tried, variants::<Call>(), "a new adjudicator call needs a decision here");

		// One call of every other pallet that has calls: filtered.
		let refused_elsewhere = [
			RuntimeCall::System(frame_system::Call::remark { remark: b"hi".to_vec() }),
			RuntimeCall::Timestamp(pallet_timestamp::Call::set { now: 0 }),
			RuntimeCall::Balances(pallet_balances::Call::transfer_allow_death {
				dest: account(Dave).into(),
				value: UNIT,
			}),
			RuntimeCall::Balances(pallet_balances::Call::transfer_all {
				dest: account(Dave).into(),
				keep_alive: false,
			}),
			RuntimeCall::Session(pallet_session::Call::purge_keys {}),
			RuntimeCall::Grandpa(pallet_grandpa::Call::note_stalled {
				delay: 1,
				best_finalized_block_number: 1,
			}),
			RuntimeCall::Sudo(pallet_sudo::Call::remove_key {}),
			RuntimeCall::MultiBlockMigrations(pallet_migrations::Call::force_onboard_mbms {}),
			RuntimeCall::Proxy(pallet_proxy::Call::add_proxy {
				delegate: account(Eve).into(),
				proxy_type: ProxyType::Any,
				delay: 0,
			}),
			RuntimeCall::Proxy(pallet_proxy::Call::remove_proxies {}),
			RuntimeCall::Proxy(pallet_proxy::Call::proxy {
				real: account(Bob).into(),
				force_proxy_type: None,
				call: Box::new(RuntimeCall::System(frame_system::Call::remark {
					remark: Vec::new(),
				})),
			}),
		];
		for call in &refused_elsewhere {
			assert_eq!(as_bob(call.clone()), Err(filtered()), "{call:?}");
		}
		assert_eq!(Balances::free_balance(account(Bob)), free, "nothing left Bob's account");

		// Every pallet of the runtime with calls is covered (Aura and TransactionPayment have
		// none).
		let mut pallets: BTreeSet<String> = refused_elsewhere.iter().map(pallet_name).collect();
		pallets.insert("Adjudicator".into());
		assert_eq!(pallets, variants::<RuntimeCall>(), "a new pallet needs a decision here");
	});
}
