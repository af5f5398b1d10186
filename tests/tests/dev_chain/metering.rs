//! Metered calls through the gateway, on a dev chain, with no human action between the calls
//! and the settlement: an owner's client ([`MeteredSession`]) makes 10 calls at price 1
//! through a gateway started with `--price 1 --watchtower URL`, each carrying the next state
//! signed by its session key, which the gateway hands to the counterpart's watchtower before
//! forwarding; a call without a state gets 402 naming the next one; the owner revokes; the
//! watchtower checkpoints owed 10 inside the window; settlement pays the counterpart exactly
//! 10.
//!
//! It prints what metering adds per gateway call at p50 (20 metered calls through the metered
//! gateway against 20 unmetered ones through a gateway without a price, same node and key).

use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use pallet_session_keys::Event;
use session_keys_client::{
	BoundRequest, CryptoKind, EndReason, MeteredSession, SessionPair, Terms, Wait, HTTP_HEADER,
	STATE_HEADER,
};
use session_keys_e2e::{
	account_of,
	gateway::{Gateway, Upstream},
	watchtower::Watchtower,
	Chain, Node,
};
use session_keys_runtime::{AccountId, BlockNumber};
use subxt_signer::sr25519::{dev, Keypair};

use crate::{settlement_events, units};

const AUDIENCE: &str = "api.metered";

async fn register(chain: &Chain, owner: &Keypair, counterpart: AccountId) -> SessionPair {
	let key = SessionPair::generate(CryptoKind::Sr25519);
	let terms = Terms {
		counterpart,
		duration: None,
		spending_limit: units(50),
		collateral: units(100),
		description: b"metering e2e".to_vec(),
		scope: vec![b"GET /*".to_vec()],
	};
	let proof = key.ownership_proof(&account_of(owner));
	chain
		.client
		.register(owner, key.public(), proof, &terms, Wait::InBlock)
		.await
		.expect("register");
	key
}

fn copy(key: &SessionPair) -> SessionPair {
	SessionPair::from_secret(key.kind(), &key.secret()).expect("the same key")
}

/// One metered call of `GET path` signed by `session`: how long it took (it must be served).
async fn metered_call(
	gateway: &Gateway,
	chain: &Chain,
	session: &mut MeteredSession,
	path: &str,
) -> Duration {
	call(gateway, chain, session, path, false).await
}

/// One call of `GET path` signed by `session`, with its state unless `unmetered`: how long it
/// took (it must be served).
async fn call(
	gateway: &Gateway,
	chain: &Chain,
	session: &mut MeteredSession,
	path: &str,
	unmetered: bool,
) -> Duration {
	let block = chain.header_block_hash().await;
	let call = session.sign_call(block, &BoundRequest::parse(&format!("GET {path}"), b"").unwrap());
	let started = Instant::now();
	let headers = [(HTTP_HEADER, call.auth.as_str()), (STATE_HEADER, call.state.as_str())];
	let headers = if unmetered { &headers[..1] } else { &headers[..] };
	let answer = gateway.send(Method::GET, path, headers).await.expect("the gateway answers");
	let took = started.elapsed();
	assert!(
		answer.status == StatusCode::OK,
		"{path}: {} {}",
		answer.status,
		String::from_utf8_lossy(&answer.body)
	);
	took
}

fn p50(mut times: Vec<Duration>) -> Duration {
	times.sort();
	times[times.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_metered_calls_are_paid_at_settlement_with_no_human_action() {
	let mut node = Node::dev("metering").await;
	let chain = Chain::connect(&mut node).await;
	let genesis = chain.genesis_hash();
	let (alice, bob) = (dev::alice(), dev::bob());
	let owner = account_of(&alice);
	let key = register(&chain, &alice, account_of(&bob)).await;
	let timed = register(&chain, &alice, account_of(&bob)).await;

	let tower = Watchtower::init("metering", &node.ws_url(), "//Bob", None);
	let daemon = tower.start(&[]).await;
	let tower_url = format!("http://127.0.0.1:{}", tower.port);
	let upstream = Upstream::start().await;
	let common = ["--audience", AUDIENCE, "--tier", "base:0:1000:1000"];
	let mut metered_args = common.to_vec();
	metered_args.extend(["--price", "1", "--watchtower", &tower_url]);
	let gateway = Gateway::start("metered", &node.ws_url(), &upstream.url, &metered_args).await;

	// 10 metered calls at price 1: each state is stored by the watchtower before forwarding.
	let mut session = MeteredSession::new(copy(&key), owner.clone(), genesis, AUDIENCE.into(), 1);
	for n in 1..=10 {
		metered_call(&gateway, &chain, &mut session, &format!("/data/{n}")).await;
	}
	assert_eq!(upstream.count(), 10);
	let key_hex = sp_core::bytes::to_hex(&codec::Encode::encode(&key.public()), false);
	let (status, held) = tower.get(&format!("/v1/states/{key_hex}")).await.expect("the API");
	let held: serde_json::Value = serde_json::from_str(&held).expect("JSON");
	assert_eq!(
		(status, held["nonce"].clone(), held["owed"].clone()),
		(200, 10.into(), "10".into())
	);

	// A call without a state is refused, naming the next one, and never reaches the upstream.
	let block = chain.header_block_hash().await;
	let unpaid = session.sign_call(block, &BoundRequest::parse("GET /data/unpaid", b"").unwrap());
	let answer =
		gateway.send(Method::GET, "/data/unpaid", &[(HTTP_HEADER, &unpaid.auth)]).await.unwrap();
	assert_eq!(answer.status, StatusCode::PAYMENT_REQUIRED);
	let body = answer.json();
	assert_eq!(body["reason"], "MissingState");
	assert_eq!((body["expectedNonce"].clone(), body["minOwed"].clone()), (11.into(), "11".into()));
	assert_eq!(upstream.count(), 10);

	// What metering adds per call at p50: 20 metered calls through this gateway against 20
	// unmetered ones through a gateway without a price, by another key of the same owner.
	let plain = Gateway::start("unmetered", &node.ws_url(), &upstream.url, &common).await;
	let mut timed_session =
		MeteredSession::new(copy(&timed), owner.clone(), genesis, AUDIENCE.into(), 1);
	// Its states are not sent: only its headers are used.
	let mut plain_session =
		MeteredSession::new(copy(&timed), owner.clone(), genesis, AUDIENCE.into(), 1);
	let mut metered_times = Vec::new();
	let mut plain_times = Vec::new();
	for n in 0..20 {
		// Interleaved, so a block import or a busy moment costs both alike.
		let took = metered_call(&gateway, &chain, &mut timed_session, "/timed").await;
		metered_times.push(took);
		let took = call(&plain, &chain, &mut plain_session, &format!("/plain/{n}"), true).await;
		plain_times.push(took);
	}
	let (metered_p50, plain_p50) = (p50(metered_times), p50(plain_times));
	println!(
		"FIGURE metering adds {:.2} ms per gateway call at p50 (metered {:.2} ms, unmetered {:.2} \
		 ms; 20 calls each, watchtower over HTTP on loopback)",
		(metered_p50.as_secs_f64() - plain_p50.as_secs_f64()) * 1e3,
		metered_p50.as_secs_f64() * 1e3,
		plain_p50.as_secs_f64() * 1e3
	);
	assert_eq!(gateway.metric("session_keys_gateway_metered_calls_total").await, 30.0);
	assert_eq!(
		gateway
			.metric("session_keys_gateway_metering_refusals_total{reason=\"MissingState\"}")
			.await,
		1.0
	);

	// The owner revokes; from here on no human action.
	let revoked = chain.client.revoke(&alice, key.public(), Wait::InBlock).await.expect("revoke");
	let closing_at = revoked.block_number;
	let settles_at: BlockNumber = revoked
		.adjudicator_events()
		.into_iter()
		.find_map(|event| match event {
			Event::SessionClosing { settles_at, .. } => Some(settles_at),
			_ => None,
		})
		.expect("SessionClosing");
	let ended = settlement_events(&chain, settles_at)
		.await
		.into_iter()
		.find_map(|event| match event {
			Event::SessionEnded { public, owed, paid_to_counterpart, .. }
				if public == key.public() =>
			{
				Some((owed, paid_to_counterpart))
			}
			_ => None,
		})
		.expect("the session settles at settles_at");
	assert_eq!(ended, (10, 10));
	let mut checkpointed = None;
	for number in closing_at..settles_at {
		let events = chain.events_at(chain.block_hash(number).await).await;
		checkpointed = crate::adjudicator_events(events.into_iter().map(|(_, e)| e))
			.into_iter()
			.find_map(|event| match event {
				Event::StateCheckpointed { public, nonce, .. } if public == key.public() => {
					Some((number, nonce))
				}
				_ => None,
			});
		if checkpointed.is_some() {
			break;
		}
	}
	let (checkpointed_at, nonce) = checkpointed.expect("checkpointed inside the window");
	assert_eq!(nonce, 10);
	let retired = chain.retired(&key.public()).await.expect("retired");
	assert_eq!((retired.reason, retired.owed, retired.paid), (EndReason::Revoked, 10, 10));
	assert_eq!(daemon.lines(&["checkpoint included"]).len(), 1, "{}", daemon.log());
	println!(
		"FIGURE metered story: 10 calls at price 1, closed #{closing_at}, checkpointed \
		 #{checkpointed_at}, settled #{settles_at}, paid 10"
	);
}
