//! The drain a stolen keeper machine could do through the old `SessionKeys` proxy, tried against
//! the dev chain through every path that is left: the proxy (refused by the runtime's filter) and
//! the bounded delegation (refused by each of the owner's terms). The owner's balance moves only
//! by what the terms allow.

use pallet_session_keys::Event;
use session_keys_client::{AccountId, At, DelegateTerms, DelegateUsage, Error, Included, Wait};
use session_keys_e2e::{account_of, build, Chain, Node, SessionPair, Terms};
use session_keys_primitives::CryptoKind;
use session_keys_runtime::{configs::ProxyType, Runtime, RuntimeCall};
use subxt_signer::sr25519::{dev, Keypair};

use crate::{adjudicator_events, units};

/// A fresh key registered for Alice with `counterpart`, `limit` and `collateral`.
fn key_terms(counterpart: &AccountId, limit: u128, collateral: u128) -> Terms {
	Terms {
		counterpart: counterpart.clone(),
		duration: Some(40),
		spending_limit: limit,
		collateral,
		description: b"e2e delegation".to_vec(),
		scope: vec![b"*".to_vec()],
	}
}

/// Submits `call` signed by `who` and waits for its block.
async fn submit(chain: &Chain, who: &Keypair, call: RuntimeCall) -> Result<Included, Error> {
	chain.client.submit(who, call, Wait::InBlock).await
}

/// The name of the error `result` failed with.
fn refusal(result: Result<Included, Error>) -> String {
	match result {
		Ok(included) => panic!("accepted at #{}", included.block_number),
		Err(error) => error.error_name().map(str::to_string).unwrap_or_else(|| error.to_string()),
	}
}

/// Dave registers a fresh key for Alice as her delegate.
async fn register_for(chain: &Chain, who: &Keypair, terms: &Terms) -> Result<Included, Error> {
	let alice = account_of(&dev::alice());
	let pair = SessionPair::generate(CryptoKind::Sr25519);
	let call =
		build::register_for(alice.clone(), pair.public(), pair.ownership_proof(&alice), terms)
			.expect("fits");
	submit(chain, who, call).await
}

#[tokio::test]
async fn a_stolen_hot_key_cannot_drain_the_owner_through_any_path() {
	let mut node = Node::dev("delegation").await;
	let chain = Chain::connect(&mut node).await;
	let alice = account_of(&dev::alice());
	let (bob, dave, eve, ferdie) = (
		account_of(&dev::bob()),
		account_of(&dev::dave()),
		account_of(&dev::eve()),
		account_of(&dev::ferdie()),
	);

	// The old production setup: Ferdie holds Alice's SessionKeys proxy. The new one: Dave is
	// Alice's delegate for Bob only, 100 UNIT a key, 150 in total.
	let grant = RuntimeCall::Proxy(pallet_proxy::Call::add_proxy {
		delegate: ferdie.clone().into(),
		proxy_type: ProxyType::SessionKeys,
		delay: 0,
	});
	submit(&chain, &dev::alice(), grant).await.expect("proxy added");
	let terms = DelegateTerms {
		counterparts: vec![bob.clone()],
		max_collateral: units(100),
		max_spending_limit: units(100),
		max_total_collateral: units(150),
		max_duration: 50,
		max_keys: 3,
		ends_at: None,
	};
	chain
		.client
		.authorize_delegate(&dev::alice(), dave.clone(), &terms, Wait::InBlock)
		.await
		.expect("the owner authorizes its delegate");

	let before = chain.client.free_balance(&alice, At::Best).await.expect("a balance");
	let everything = before / 2;

	// Through the proxy: the thief's own key, its accomplice Eve as counterpart, half of
	// Alice's balance as collateral and limit; and a wider authorization for itself.
	let thief_key = SessionPair::generate(CryptoKind::Sr25519);
	let drain = build::register(
		thief_key.public(),
		thief_key.ownership_proof(&alice),
		&key_terms(&eve, everything, everything),
	)
	.expect("fits");
	let widen = build::authorize_delegate(
		ferdie.clone(),
		&DelegateTerms { counterparts: vec![eve.clone()], ..terms.clone() },
	)
	.expect("fits");
	for call in [drain, widen] {
		let proxied = RuntimeCall::Proxy(pallet_proxy::Call::proxy {
			real: alice.clone().into(),
			force_proxy_type: None,
			call: Box::new(call),
		});
		assert_eq!(refusal(submit(&chain, &dev::ferdie(), proxied).await), "CallFiltered");
	}

	// Through the delegation: each term refuses the drain.
	let refused = [
		(key_terms(&eve, units(10), units(10)), "CounterpartNotAllowed"),
		(key_terms(&dave, units(10), units(10)), "CounterpartNotAllowed"),
		(key_terms(&bob, everything, units(10)), "SpendingLimitAboveTerms"),
		(key_terms(&bob, units(10), everything), "CollateralAboveTerms"),
		(
			Terms { duration: Some(51), ..key_terms(&bob, units(10), units(10)) },
			"DurationAboveTerms",
		),
	];
	for (terms, error) in refused {
		assert_eq!(refusal(register_for(&chain, &dev::dave(), &terms).await), error);
	}
	let after_refusals = chain.client.free_balance(&alice, At::Best).await.expect("a balance");
	assert_eq!(after_refusals, before, "no refused attempt moved the owner's money");

	// Within the terms the delegate works, and the chain says who acted.
	let first = register_for(&chain, &dev::dave(), &key_terms(&bob, units(100), units(100)))
		.await
		.expect("within the terms");
	let events: [Event<Runtime>; 1] =
		adjudicator_events(first.events).try_into().expect("one event");
	let [Event::SessionRegistered { public: first_key, delegate, deposit, .. }] = events else {
		panic!("not a registration: {events:?}")
	};
	assert_eq!(delegate, Some(dave.clone()));
	let registration = chain.registration(&first_key).await.expect("registered");
	assert_eq!(
		(registration.owner.clone(), registration.delegate.clone()),
		(alice.clone(), Some(dave.clone()))
	);

	// Two keys each under the per-key bound cannot add up past the total, nor can a top-up.
	assert_eq!(
		refusal(register_for(&chain, &dev::dave(), &key_terms(&bob, units(10), units(60))).await),
		"TotalCollateralAboveTerms"
	);
	let second = register_for(&chain, &dev::dave(), &key_terms(&bob, units(10), units(50)))
		.await
		.expect("exactly the total");
	let Some(Event::SessionRegistered { public: second_key, .. }) =
		adjudicator_events(second.events).pop()
	else {
		panic!("not a registration")
	};
	assert_eq!(
		refusal(submit(&chain, &dev::dave(), build::top_up(first_key, 1)).await),
		"CollateralAboveTerms"
	);
	assert_eq!(
		refusal(submit(&chain, &dev::dave(), build::top_up(second_key, 1)).await),
		"TotalCollateralAboveTerms"
	);
	let delegation = chain
		.client
		.delegation(&alice, &dave, At::Best)
		.await
		.expect("a read")
		.expect("authorized");
	assert_eq!(delegation.usage, DelegateUsage { keys: 2, collateral: units(150) });
	let spent = chain.client.free_balance(&alice, At::Best).await.expect("a balance");
	assert_eq!(before - spent, units(150) + 2 * deposit, "the owner paid what the terms allow");

	// Revoked, with its keys closed: every delegate call is refused at once.
	let revoked = chain
		.client
		.revoke_delegate(&dev::alice(), dave.clone(), true, Wait::InBlock)
		.await
		.expect("revoked");
	let revoked_balance = chain.client.free_balance(&alice, At::Best).await.expect("a balance");
	assert!(adjudicator_events(revoked.events).contains(&Event::DelegateRevoked {
		owner: alice.clone(),
		delegate: dave.clone(),
		keys_closed: 2,
	}));
	assert_eq!(
		refusal(register_for(&chain, &dev::dave(), &key_terms(&bob, 0, 0)).await),
		"NotDelegate"
	);
	for call in [
		build::renew(first_key, Some(10)),
		build::top_up(first_key, 1),
		build::set_spending_limit(first_key, units(5)),
		build::revoke(first_key),
	] {
		assert_eq!(refusal(submit(&chain, &dev::dave(), call).await), "NotDelegate");
	}
	let after_revocation = chain.client.free_balance(&alice, At::Best).await.expect("a balance");
	assert_eq!(after_revocation, revoked_balance, "no refused attempt moved the owner's money");

	// An authorization with an end block refuses everything from that block on.
	let charlie = account_of(&dev::charlie());
	let ends_at = chain.client.best_number().await.expect("a number") + 4;
	let ending = DelegateTerms { ends_at: Some(ends_at), ..terms };
	chain
		.client
		.authorize_delegate(&dev::alice(), charlie, &ending, Wait::InBlock)
		.await
		.expect("authorized until ends_at");
	while chain.client.best_number().await.expect("a number") < ends_at {
		tokio::time::sleep(std::time::Duration::from_millis(500)).await;
	}
	assert_eq!(
		refusal(register_for(&chain, &dev::charlie(), &key_terms(&bob, 0, 0)).await),
		"DelegationEnded"
	);
}
