//! The watchtower (`session-keys-watchtower`) against a dev node, with no human action between
//! the states and the settlement. Six stories run at once on one node (each mostly waits on
//! blocks), each with its own owner, counterpart and watchtower process:
//!
//! - the whole story: an owner's client signs 10 states at price 1 and posts them; the owner
//!   revokes; the watchtower checkpoints owed 10 inside the window; settlement pays the
//!   counterpart exactly 10 and returns the rest;
//! - killed with SIGKILL between intake and checkpoint, restarted, it still checkpoints;
//! - an older state on chain and an older one posted race the newer one: the newer wins (the
//!   watchtower signing as the counterpart's `Counterpart` proxy);
//! - a state over the collateral is checkpointed and liquidated;
//! - a key that expires untouched (no event) is checkpointed before `settles_at`;
//! - down for most of the window, back with 3 blocks left, it still checkpoints.
//!
//! It prints the latency from the closing block to the checkpoint's inclusion (the report's
//! figure).

use std::{future::Future, pin::Pin, time::Duration};

use pallet_session_keys::Event;
use session_keys_client::{
	AccountId, BlockNumber, ChannelState, CryptoKind, EndReason, SessionPair, SessionPublic, Terms,
	Wait,
};
use session_keys_e2e::{account_of, watchtower::Watchtower, Chain, Node};
use session_keys_runtime::{configs::ProxyType, RuntimeCall};
use sp_core::crypto::Ss58Codec;
use subxt_signer::{
	sr25519::{dev, Keypair},
	SecretUri,
};

use crate::{settlement_events, units};

fn keypair(uri: &str) -> Keypair {
	Keypair::from_uri(&uri.parse::<SecretUri>().expect("a secret URI")).expect("a dev key")
}

/// Registers a new key of `owner` with `counterpart`; its pair and the inclusion block.
async fn register(
	chain: &Chain,
	owner: &Keypair,
	counterpart: AccountId,
	duration: Option<BlockNumber>,
	spending_limit: u128,
	collateral: u128,
) -> (SessionPair, BlockNumber) {
	let key = SessionPair::generate(CryptoKind::Sr25519);
	let terms = Terms {
		counterpart,
		duration,
		spending_limit,
		collateral,
		description: b"watchtower e2e".to_vec(),
		scope: vec![b"*".to_vec()],
	};
	let proof = key.ownership_proof(&account_of(owner));
	let included = chain
		.client
		.register(owner, key.public(), proof, &terms, Wait::InBlock)
		.await
		.expect("register");
	(key, included.block_number)
}

/// Posts states `nonces` owing `price` per nonce; each must be stored.
async fn post_states(
	tower: &Watchtower,
	chain: &Chain,
	key: &SessionPair,
	nonces: std::ops::RangeInclusive<u64>,
	price: u128,
) {
	for nonce in nonces {
		let state = ChannelState { nonce, owed: price * u128::from(nonce), margin: 0 };
		let (status, body) = tower.post_state(key, chain.genesis_hash(), state).await;
		assert_eq!(status, 200, "state {nonce}: {body}");
		assert_eq!(body["nonce"], nonce);
		assert_eq!(body["duplicate"], false);
	}
}

/// Revokes `key`: the block it closed in and its `settles_at`.
async fn revoke(chain: &Chain, owner: &Keypair, key: &SessionPair) -> (BlockNumber, BlockNumber) {
	let included = chain.client.revoke(owner, key.public(), Wait::InBlock).await.expect("revoke");
	let settles_at = included
		.adjudicator_events()
		.into_iter()
		.find_map(|event| match event {
			Event::SessionClosing { settles_at, .. } => Some(settles_at),
			_ => None,
		})
		.expect("SessionClosing");
	(included.block_number, settles_at)
}

/// The first block in `from..to` with a checkpoint of `public`, and the nonce it put on chain.
async fn checkpoint_block(
	chain: &Chain,
	public: SessionPublic,
	from: BlockNumber,
	to: BlockNumber,
) -> Option<(BlockNumber, u64)> {
	for number in from..to {
		let events = chain.events_at(chain.block_hash(number).await).await;
		let found = crate::adjudicator_events(events.into_iter().map(|(_, e)| e))
			.into_iter()
			.find_map(|event| match event {
				Event::StateCheckpointed { public: p, nonce, .. } if p == public => Some(nonce),
				_ => None,
			});
		if let Some(nonce) = found {
			return Some((number, nonce));
		}
	}
	None
}

/// Waits until the best block is at least `number`.
async fn wait_for_best(chain: &Chain, number: BlockNumber) {
	let deadline = std::time::Instant::now() + Duration::from_secs(30 * 3 * 10);
	while chain.client.best_number().await.expect("best") < number {
		assert!(std::time::Instant::now() < deadline, "block #{number} within the deadline");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

/// The `SessionEnded` of `public` in the settlement block `settles_at`: (owed, paid, released).
async fn settled(
	chain: &Chain,
	public: SessionPublic,
	settles_at: BlockNumber,
) -> (u128, u128, u128) {
	let events = settlement_events(chain, settles_at).await;
	events
		.into_iter()
		.find_map(|event| match event {
			Event::SessionEnded {
				public: p,
				owed,
				paid_to_counterpart,
				collateral_released,
				..
			} if p == public => Some((owed, paid_to_counterpart, collateral_released)),
			_ => None,
		})
		.unwrap_or_else(|| panic!("the session settles in block #{settles_at}"))
}

/// The whole story; returns its figure.
async fn whole_story(chain: Chain, node: String) -> String {
	let (alice, bob) = (dev::alice(), dev::bob());
	let tower = Watchtower::init("story", &node, "//Bob", None);
	let daemon = tower.start(&[]).await;
	let (key, _) = register(&chain, &alice, account_of(&bob), None, units(50), units(100)).await;
	// The owner's client signs 10 states at price 1 (the calls' price, in UNIT) and posts them.
	post_states(&tower, &chain, &key, 1..=10, units(1)).await;
	let status = tower.ok(&["status", "--json"]);
	assert!(status.contains("\"nonce\":10") && status.contains("\"unbanked\":\"10"), "{status}");
	let (closing_at, settles_at) = revoke(&chain, &alice, &key).await;

	// No human action from here on.
	let (owed, paid, released) = settled(&chain, key.public(), settles_at).await;
	assert_eq!((owed, paid, released), (units(10), units(10), units(90)));
	let (checkpointed_at, nonce) = checkpoint_block(&chain, key.public(), closing_at, settles_at)
		.await
		.expect("checkpointed inside the window");
	assert_eq!(nonce, 10);
	let before = chain.block_hash(settles_at - 1).await;
	let after = chain.block_hash(settles_at).await;
	let bob_paid = chain.balances_at(&account_of(&bob), after).await.free
		- chain.balances_at(&account_of(&bob), before).await.free;
	assert_eq!(bob_paid, units(10), "settlement pays the counterpart exactly 10");
	let alice_back = chain.balances_at(&account_of(&alice), after).await.free
		- chain.balances_at(&account_of(&alice), before).await.free;
	let deposit_released = settlement_events(&chain, settles_at)
		.await
		.into_iter()
		.find_map(|event| match event {
			Event::SessionEnded { public, deposit_released, .. } if public == key.public() => {
				Some(deposit_released)
			}
			_ => None,
		})
		.expect("SessionEnded");
	assert_eq!(
		alice_back,
		units(90) + deposit_released,
		"the rest of the collateral and the deposit (less the record fee) return to the owner"
	);
	let retired = chain.retired(&key.public()).await.expect("retired");
	assert_eq!(
		(retired.reason, retired.owed, retired.paid),
		(EndReason::Revoked, units(10), units(10))
	);
	assert_eq!(
		daemon.lines(&["checkpoint included"]).len(),
		1,
		"one checkpoint, never resubmitted"
	);
	let (_, metrics) = tower.get("/metrics").await.expect("metrics");
	for line in [
		"session_keys_watchtower_states_stored_total 10",
		"session_keys_watchtower_checkpoints_submitted_total{why=\"closing\"} 1",
		"session_keys_watchtower_checkpoints_included_total 1",
		"session_keys_watchtower_checkpoint_latency_blocks_count 1",
	] {
		assert!(metrics.contains(line), "{line} in\n{metrics}");
	}
	let latency = checkpointed_at - closing_at;
	assert!(latency <= 3, "latency {latency} blocks");
	format!("whole story: closed #{closing_at}, checkpointed #{checkpointed_at} ({latency} block(s)), settles #{settles_at}")
}

async fn killed_between_intake_and_checkpoint(chain: Chain, node: String) -> String {
	let (charlie, dave) = (dev::charlie(), dev::dave());
	let tower = Watchtower::init("kill9", &node, "//Dave", None);
	let mut daemon = tower.start(&[]).await;
	let (key, _) = register(&chain, &charlie, account_of(&dave), None, units(50), units(100)).await;
	post_states(&tower, &chain, &key, 1..=5, units(1)).await;
	// SIGKILL right after the last state was acknowledged, before any checkpoint.
	daemon.kill();
	assert!(daemon.lines(&["submitting checkpoint"]).is_empty());
	let exported = tower.ok(&["export"]);
	assert!(exported.contains("\"nonce\":5"), "the acknowledged state survived: {exported}");
	let (closing_at, settles_at) = revoke(&chain, &charlie, &key).await;
	let daemon = tower.start(&[]).await;
	let (owed, paid, _) = settled(&chain, key.public(), settles_at).await;
	assert_eq!((owed, paid), (units(5), units(5)));
	let (checkpointed_at, _) =
		checkpoint_block(&chain, key.public(), closing_at, settles_at).await.expect("checkpointed");
	assert_eq!(daemon.lines(&["checkpoint included"]).len(), 1);
	let figure = format!(
		"kill -9: closed #{closing_at}, restarted, checkpointed #{checkpointed_at} ({} block(s))",
		checkpointed_at - closing_at
	);

	// `discontinue KEY` as the operator: the newer state held goes on chain first, then the
	// session ends at once, paying it.
	let (key, _) = register(&chain, &charlie, account_of(&dave), None, units(50), units(100)).await;
	post_states(&tower, &chain, &key, 1..=2, units(1)).await;
	let key_hex = format!(
		"0x{}",
		sp_core::hexdisplay::HexDisplay::from(&codec::Encode::encode(&key.public()))
	);
	let output = tower.ok(&["discontinue", &key_hex]);
	assert!(output.contains("checkpointed nonce 2"), "{output}");
	let retired = chain.retired(&key.public()).await.expect("ended at once");
	assert_eq!(
		(retired.reason, retired.owed, retired.paid),
		(EndReason::Discontinued, units(2), units(2))
	);
	figure
}

async fn the_newer_state_wins_a_race(chain: Chain, node: String) -> String {
	let (eve, ferdie) = (dev::eve(), dev::ferdie());
	let hot = keypair("//Ferdie//watchtower-hot");
	// Ferdie makes a hot key its Counterpart proxy and gives it enough for fees.
	let nonce = chain.next_nonce(&account_of(&ferdie)).await;
	let fund = RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
		dest: account_of(&hot).into(),
		value: units(10),
	});
	let proxy = RuntimeCall::Proxy(pallet_proxy::Call::add_proxy {
		delegate: account_of(&hot).into(),
		proxy_type: ProxyType::Counterpart,
		delay: 0,
	});
	let (funded, proxied) = tokio::join!(
		chain.send_with_nonce(&ferdie, fund, Some(nonce)),
		chain.send_with_nonce(&ferdie, proxy, Some(nonce + 1))
	);
	funded.expect("funded");
	proxied.expect("proxy added");
	let ferdie_ss58 = account_of(&ferdie).to_ss58check();
	let tower = Watchtower::init("race", &node, "//Ferdie//watchtower-hot", Some(&ferdie_ss58));
	let daemon = tower.start(&[]).await;
	let (key, _) = register(&chain, &eve, account_of(&ferdie), None, units(50), units(100)).await;
	post_states(&tower, &chain, &key, 1..=6, units(1)).await;
	// An older state reaches the chain (Ferdie's own clearing process, say)...
	let older = ChannelState { nonce: 3, owed: units(3), margin: 0 };
	chain
		.client
		.checkpoint(
			&ferdie,
			key.public(),
			older,
			key.sign_state(chain.genesis_hash(), &older),
			Wait::InBlock,
		)
		.await
		.expect("the older state is checkpointed");
	// ...an older one posted now is refused...
	let stale = ChannelState { nonce: 2, owed: units(2), margin: 0 };
	let (status, body) = tower.post_state(&key, chain.genesis_hash(), stale).await;
	assert_eq!((status, body["reason"].as_str()), (409, Some("StaleNonce")), "{body}");
	// ...and the owner revokes, hoping to settle at the older state.
	let (closing_at, settles_at) = revoke(&chain, &eve, &key).await;
	let (owed, paid, _) = settled(&chain, key.public(), settles_at).await;
	assert_eq!((owed, paid), (units(6), units(6)), "the newer state wins");
	let included = daemon.lines(&["checkpoint included"]);
	assert_eq!(included.len(), 1, "{included:?}");
	assert!(included[0].contains("nonce=6"), "{included:?}");
	let (checkpointed_at, nonce) = checkpoint_block(&chain, key.public(), closing_at, settles_at)
		.await
		.expect("checkpointed in the window");
	assert_eq!(nonce, 6);
	format!(
		"race: closed #{closing_at}, nonce 6 checkpointed #{checkpointed_at} ({} block(s)) over \
		 nonce 3, through the Counterpart proxy",
		checkpointed_at - closing_at
	)
}

async fn a_state_over_the_collateral_is_liquidated(chain: Chain, node: String) -> String {
	let (owner, counterpart) = (keypair("//Alice//stash"), keypair("//Bob//stash"));
	let tower = Watchtower::init("liquidate", &node, "//Bob//stash", None);
	let daemon = tower.start(&["--liquidate", "now"]).await;
	let (key, _) =
		register(&chain, &owner, account_of(&counterpart), None, units(20), units(5)).await;
	// Owes 8 against a collateral of 5 (within the limit of 20).
	let state = ChannelState { nonce: 1, owed: units(8), margin: 0 };
	let (status, body) = tower.post_state(&key, chain.genesis_hash(), state).await;
	assert_eq!(status, 200, "{body}");
	let deadline = std::time::Instant::now() + Duration::from_secs(90);
	let retired = loop {
		if let Some(retired) = chain.retired(&key.public()).await {
			break retired;
		}
		assert!(
			std::time::Instant::now() < deadline,
			"liquidated within 90 s; log:\n{}",
			daemon.log()
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	};
	assert_eq!(retired.reason, EndReason::Liquidated);
	assert_eq!((retired.owed, retired.paid), (units(8), units(5)), "paid at most the collateral");
	assert_eq!(daemon.lines(&["why=\"under_collateralized\""]).len(), 1);
	format!("liquidation: ended at #{}", retired.ended_at)
}

async fn an_untouched_key_is_checkpointed_after_its_expiry(chain: Chain, node: String) -> String {
	let (owner, counterpart) = (keypair("//Charlie//stash"), keypair("//Dave//stash"));
	let tower = Watchtower::init("expiry", &node, "//Dave//stash", None);
	// No checkpoint before the expiry: the watchtower must see the key close with no event.
	let _daemon = tower.start(&["--expiry-margin", "0"]).await;
	let (key, registered_at) =
		register(&chain, &owner, account_of(&counterpart), Some(15), units(50), units(100)).await;
	post_states(&tower, &chain, &key, 1..=3, units(1)).await;
	let expires_at = registered_at + 15;
	let settles_at = chain.registration(&key.public()).await.expect("registered").settles_at;
	let (owed, paid, _) = settled(&chain, key.public(), settles_at).await;
	assert_eq!((owed, paid), (units(3), units(3)));
	let (checkpointed_at, _) = checkpoint_block(&chain, key.public(), registered_at, settles_at)
		.await
		.expect("checkpointed");
	assert!(checkpointed_at >= expires_at, "after the expiry, as configured");
	let retired = chain.retired(&key.public()).await.expect("retired");
	assert_eq!(retired.reason, EndReason::Expired);
	format!("expiry: expired #{expires_at}, checkpointed #{checkpointed_at} ({} block(s)), settles #{settles_at}", checkpointed_at - expires_at)
}

async fn back_with_three_blocks_left(chain: Chain, node: String) -> String {
	let (owner, counterpart) = (keypair("//Eve//stash"), keypair("//Ferdie//stash"));
	let tower = Watchtower::init("late", &node, "//Ferdie//stash", None);
	let mut daemon = tower.start(&[]).await;
	let (key, _) =
		register(&chain, &owner, account_of(&counterpart), None, units(50), units(100)).await;
	post_states(&tower, &chain, &key, 1..=4, units(1)).await;
	daemon.kill();
	let (closing_at, settles_at) = revoke(&chain, &owner, &key).await;
	wait_for_best(&chain, settles_at - 3).await;
	let back_at = chain.client.best_number().await.expect("best");
	let daemon = tower.start(&[]).await;
	let (owed, paid, _) = settled(&chain, key.public(), settles_at).await;
	assert_eq!((owed, paid), (units(4), units(4)));
	let (checkpointed_at, _) =
		checkpoint_block(&chain, key.public(), closing_at, settles_at).await.expect("checkpointed");
	assert!(checkpointed_at < settles_at);
	// With 3 blocks left (the default safety margin) the window was at risk: alerted.
	assert_eq!(daemon.lines(&["WINDOW AT RISK"]).len(), 1, "{}", daemon.log());
	format!("late: back at #{back_at} ({} block(s) left), checkpointed #{checkpointed_at}, settles #{settles_at}", settles_at - back_at)
}

type Story = Pin<Box<dyn Future<Output = String> + Send>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 6)]
async fn watchtower_keeps_every_window_without_human_action() {
	let mut node = Node::dev("watchtower").await;
	let chain = Chain::connect(&mut node).await;
	let url = node.ws_url();
	let stories: Vec<(&str, Story)> = vec![
		("whole story", Box::pin(whole_story(chain.clone(), url.clone()))),
		("kill -9", Box::pin(killed_between_intake_and_checkpoint(chain.clone(), url.clone()))),
		("race", Box::pin(the_newer_state_wins_a_race(chain.clone(), url.clone()))),
		(
			"liquidation",
			Box::pin(a_state_over_the_collateral_is_liquidated(chain.clone(), url.clone())),
		),
		(
			"expiry",
			Box::pin(an_untouched_key_is_checkpointed_after_its_expiry(chain.clone(), url.clone())),
		),
		("late", Box::pin(back_with_three_blocks_left(chain.clone(), url.clone()))),
	];
	let handles: Vec<_> =
		stories.into_iter().map(|(name, story)| (name, tokio::spawn(story))).collect();
	let mut failed = Vec::new();
	for (name, handle) in handles {
		match handle.await {
			Ok(figure) => println!("FIGURE {figure}"),
			Err(error) => failed.push(format!("{name}: {error}")),
		}
	}
	assert!(failed.is_empty(), "stories failed: {failed:#?}");
}
