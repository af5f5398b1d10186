//! The key keeper (`session-keys-keeper`) against a dev node: the daemon registers, renews and
//! rotates a short profile's keys with a live key at every block; it recovers from SIGKILL at
//! its three critical points without a double registration or a lost secret; `status` shows
//! what the chain shows; `revoke-all` pauses a running daemon and closes every live key, and
//! `resume` brings new keys; it waits for a node that is not up yet and rides out one that goes
//! away; a hot key the owner authorized as its delegate (`authorize`) registers and renews for
//! the owner within the terms, is refused by name outside them (by `profile add` and by the
//! chain), revokes its own keys with `revoke-all`, and is refused on chain once the owner runs
//! `revoke-delegate`; a refused registration keeps its pending key, which registers once
//! `profile edit` fixes the terms; `header`, `sign-state`, `revoke` and the bookkeeping
//! commands do what they say on chain.

use std::{
	collections::BTreeMap,
	time::{Duration, Instant},
};

use codec::Encode;
use pallet_session_keys::Event;
use session_keys_client::{CryptoKind, EndReason, SessionPair, SessionPublic, Wait};
use session_keys_e2e::{
	account_of,
	keeper::{Keeper, PASSPHRASE},
	Chain, Node,
};
use session_keys_keeper::{
	signer::OwnerSigner,
	store::{hex, KeyStatus, Store},
};
use session_keys_runtime::BlockNumber;
use sp_core::crypto::Ss58Codec;
use subxt_signer::sr25519::dev;

use crate::{adjudicator_events, units};

/// Generous: blocks are 3 s and a registration is final a few blocks after it is sent.
pub(crate) const STEP: Duration = Duration::from_secs(90);

pub(crate) fn bob() -> String {
	account_of(&dev::bob()).to_ss58check()
}

/// Every key the store holds, opened with the test passphrase: its public key, status and
/// whether its secret opens to that public key.
fn stored(keeper: &Keeper) -> Vec<(SessionPublic, KeyStatus, bool)> {
	stored_in(&Store::open(&keeper.store(), PASSPHRASE.as_bytes()).expect("the store opens"))
}

/// Every key `store` holds: its public key, status and whether its secret opens to that
/// public key.
pub(crate) fn stored_in(store: &Store) -> Vec<(SessionPublic, KeyStatus, bool)> {
	store
		.keys()
		.expect("keys")
		.into_iter()
		.map(|key| {
			let secret = store.key_secret(&key).expect("the secret opens");
			let pair = SessionPair::from_secret(CryptoKind::Sr25519, &secret).expect("a key");
			(key.public, key.status, pair.public() == key.public)
		})
		.collect()
}

/// `SessionRegistered` events per key in blocks `from..=to`.
pub(crate) async fn registrations(
	chain: &Chain,
	from: BlockNumber,
	to: BlockNumber,
) -> BTreeMap<SessionPublic, usize> {
	let mut counts = BTreeMap::new();
	for number in from..=to {
		let hash = chain.block_hash(number).await;
		for (_, event) in chain.events_at(hash).await {
			if let [Event::SessionRegistered { public, .. }] = &adjudicator_events([event])[..] {
				*counts.entry(*public).or_default() += 1;
			}
		}
	}
	counts
}

/// How many of `publics` were live at each block of `from..=to`.
pub(crate) async fn live_keys(
	chain: &Chain,
	publics: &[SessionPublic],
	from: BlockNumber,
	to: BlockNumber,
) -> BTreeMap<BlockNumber, usize> {
	let mut live = BTreeMap::new();
	for number in from..=to {
		let hash = chain.block_hash(number).await;
		let count = live.entry(number).or_default();
		for public in publics {
			if let Some(registration) = chain.registration_at(public, hash).await {
				if registration.registered_at <= number && number < registration.expires_at {
					*count += 1;
				}
			}
		}
	}
	live
}

/// The first block of `from..=to` at which none of `publics` was live, if any.
pub(crate) async fn block_without_a_live_key(
	chain: &Chain,
	publics: &[SessionPublic],
	from: BlockNumber,
	to: BlockNumber,
) -> Option<BlockNumber> {
	let live = live_keys(chain, publics, from, to).await;
	live.into_iter().find(|(_, count)| *count == 0).map(|(number, _)| number)
}

/// What `log` holds after its first line containing `marker` (nothing if there is none).
fn after<'a>(log: &'a str, marker: &str) -> &'a str {
	match log.find(marker) {
		Some(start) => &log[start..],
		None => "",
	}
}

/// The daemon's metrics, fetched with a bare HTTP/1.0 request.
fn scrape(address: &str) -> String {
	use std::io::{Read, Write};
	let mut stream = std::net::TcpStream::connect(address).expect("the metrics port answers");
	stream.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
	let mut text = String::new();
	stream.read_to_string(&mut text).unwrap();
	text
}

/// The number in a log line's `name=value` field.
pub(crate) fn field(line: &str, name: &str) -> u32 {
	let start = line.find(&format!("{name}=")).unwrap_or_else(|| panic!("no {name} in {line}"))
		+ name.len()
		+ 1;
	line[start..]
		.split(|c: char| !c.is_ascii_digit())
		.next()
		.and_then(|n| n.parse().ok())
		.unwrap_or_else(|| panic!("{name} in {line}"))
}

#[tokio::test]
async fn the_daemon_registers_renews_and_rotates_with_a_live_key_at_every_block() {
	let mut node = Node::dev("keeper-cycle").await;
	let chain = Chain::connect(&mut node).await;
	let keeper = Keeper::init(&node.ws_url());
	keeper.import_owner("//Alice", &[]);
	// A 20-block term renewed with 8 blocks left and replaced at 24 blocks of age: in about two
	// minutes one registration, at least one renewal and one rotation.
	keeper.ok(&[
		"profile",
		"add",
		"api",
		"--counterpart",
		&bob(),
		"--duration",
		"20",
		"--renew-margin",
		"8",
		"--rotation-interval",
		"24",
		"--collateral",
		&units(1).to_string(),
		"--scope",
		"GET /*",
	]);
	let metrics = format!("127.0.0.1:{}", session_keys_e2e::node::free_port());
	let mut daemon = keeper.daemon(&["--metrics", &metrics]);

	let first = daemon.wait_for(&["registered and finalized"], 1, STEP).await;
	println!("start to finalized registration: {:.1} s", daemon.started.elapsed().as_secs_f64());
	let scraped = scrape(&metrics);
	assert!(scraped.contains("session_keys_keeper_live_keys{profile=\"api\"} 1"), "{scraped}");
	assert!(
		scraped.contains("session_keys_keeper_registrations_total{profile=\"api\"} 1"),
		"{scraped}"
	);
	let renewed = daemon.wait_for(&["renewed"], 1, STEP).await;
	for line in &renewed {
		println!("renewed with {} blocks of margin left", field(line, "blocks_left"));
	}
	daemon.wait_for(&["revoked the predecessor"], 1, 2 * STEP).await;
	let scraped = scrape(&metrics);
	for counted in ["renewals_total", "rotations_total", "revocations_total"] {
		let line = format!("session_keys_keeper_{counted}{{profile=\"api\"}} ");
		let count = scraped
			.lines()
			.find_map(|text| text.strip_prefix(&line))
			.and_then(|value| value.trim().parse::<u64>().ok());
		assert!(count.is_some_and(|count| count >= 1), "{counted}: {scraped}");
	}
	assert!(scraped.contains("session_keys_keeper_blocks_to_expiry{profile=\"api\"}"));
	// The files as they are while the daemon runs (the WAL not yet folded in), and after.
	let running = keeper.store_bytes();
	let status = daemon.terminate().expect("it was running");
	assert!(status.success(), "SIGTERM stops it cleanly: {status:?}");
	let from = field(&first[0], "block");
	let to = chain.block_number(chain.client.finalized_hash().await.unwrap()).await;

	// Two keys: the first (revoked, closing) and its successor (live); both secrets kept.
	let keys = stored(&keeper);
	assert_eq!(keys.len(), 2, "{keys:?}");
	assert!(keys.iter().all(|(_, _, opens)| *opens), "every secret opens to its key");
	let publics: Vec<_> = keys.iter().map(|(public, ..)| *public).collect();

	// At every block from the first registration on, one of them is live.
	let gap = block_without_a_live_key(&chain, &publics, from, to).await;
	assert_eq!(gap, None, "no live key of the profile at that block");
	println!("a live key at each of blocks #{from}..=#{to}");
	let counts = registrations(&chain, from, to).await;
	assert_eq!(
		counts.values().copied().collect::<Vec<_>>(),
		vec![1, 1],
		"each key registered once: {counts:?}"
	);

	// `status` shows the chain's view; the files hold no secret and no passphrase.
	let status = keeper.ok(&["status"]);
	let successor = chain.registration(&publics[1]).await.expect("the successor is registered");
	let line =
		status.lines().find(|line| line.contains("live")).unwrap_or_else(|| panic!("{status}"));
	assert!(line.contains(&format!("#{}", successor.expires_at)), "{status}");
	assert!(line.contains(&units(1).to_string()), "the collateral: {status}");
	assert!(status.contains("closing (revoked)"), "{status}");
	let mut bytes = keeper.store_bytes();
	bytes.extend(running);
	let store = Store::open(&keeper.store(), PASSPHRASE.as_bytes()).unwrap();
	for key in store.keys().unwrap() {
		let secret = store.key_secret(&key).unwrap();
		assert!(
			!bytes.windows(32).any(|window| window == &secret[..32]),
			"a secret key in the file"
		);
		assert!(
			bytes.windows(33).any(|window| window == &key.public.encode()[..]),
			"the public key is there"
		);
	}
	// Closed, so that the next commands' connections are the only ones (SQLite checkpoints
	// the WAL when the last one closes).
	drop(store);
	assert!(!bytes.windows(PASSPHRASE.len()).any(|window| window == PASSPHRASE.as_bytes()));
	assert!(
		!bytes.windows(7).any(|window| window == b"//Alice"),
		"the owner's secret URI is sealed"
	);

	// The compromise button, pressed while a daemon runs: the daemon is paused first (so it
	// registers nothing behind the revocation), then every live key of the owner closes.
	let metrics = format!("127.0.0.1:{}", session_keys_e2e::node::free_port());
	let mut daemon = keeper.daemon(&["--metrics", &metrics]);
	daemon.wait_for(&["connected"], 1, STEP).await;
	let (out, progress) = keeper.ok_with_stderr(&["revoke-all"]);
	println!("{out}{progress}");
	assert!(progress.contains("the daemon has paused"), "{progress}");
	assert!(out.contains("paused"), "{out}");
	daemon.wait_for(&["paused (revoke-all)"], 1, STEP).await;
	// (The predecessor, revoked at the rotation, may have settled since.)
	for public in &publics {
		let revoked = match chain.registration(public).await {
			Some(registration) => registration.revoked,
			None => chain.retired(public).await.is_some_and(|r| r.reason == EndReason::Revoked),
		};
		assert!(revoked, "{} revoked", hex(&public.encode()));
	}
	assert!(
		chain.registration(&publics[1]).await.is_some_and(|r| r.revoked),
		"the live key closed"
	);
	let status = keeper.ok(&["status"]);
	assert!(status.lines().all(|line| !line.contains(" live ")), "{status}");
	assert!(status.contains("paused (revoke-all)"), "{status}");

	// Paused, the daemon follows the chain but makes no key, until `resume`.
	let revoked_in = chain.block_number(chain.client.finalized_hash().await.unwrap()).await;
	let acted_on = |text: &str| {
		text.lines()
			.find_map(|line| line.strip_prefix("session_keys_keeper_finalized_block "))
			.and_then(|number| number.trim().parse::<u32>().ok())
	};
	let deadline = Instant::now() + STEP;
	while acted_on(&scrape(&metrics)).is_none_or(|number| number < revoked_in + 3) {
		assert!(Instant::now() < deadline, "the paused daemon stopped following the chain");
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
	// (Before the pause it may have rotated: only what it logged after counts.)
	let log = daemon.log();
	let paused_part = after(&log, "paused (revoke-all)");
	assert!(!paused_part.contains("stored a new pending key"), "a key made while paused");
	assert!(!paused_part.contains("registration submitted"), "a key sent while paused");
	keeper.ok(&["resume"]);
	daemon.wait_for(&["resumed"], 1, STEP).await;
	let deadline = Instant::now() + STEP;
	while !after(&daemon.log(), "resumed").contains("registered and finalized") {
		assert!(Instant::now() < deadline, "no key registered after resume:\n{}", daemon.log());
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
	assert!(daemon.terminate().expect("running").success());
	let mut open = Vec::new();
	for public in chain.keys_of(&account_of(&dev::alice())).await {
		if chain.registration(&public).await.is_some_and(|r| !r.revoked) {
			open.push(public);
		}
	}
	assert_eq!(open.len(), 1, "one open key, the one made after resume: {open:?}");
	assert!(!publics.contains(&open[0]));

	// A wrong passphrase changes nothing and says so.
	let before = keeper.store_bytes();
	let error = keeper.fails("not it", &["status"]);
	assert!(error.contains("wrong passphrase"), "{error}");
	assert!(keeper.store_bytes() == before, "the files changed");
}

#[tokio::test]
async fn the_daemon_waits_for_a_node_not_up_yet_rides_out_one_that_goes_away_and_stops_on_sigterm()
{
	let base = tempfile::tempdir().expect("a temp dir");
	let base_path = base.path().to_str().expect("a UTF-8 temp path").to_string();
	// The node's ports are known before it runs, so the daemon can be pointed at it first.
	let mut node = Node::new("keeper-away", &["--dev", "--base-path", &base_path]);
	let keeper = Keeper::init(&node.ws_url());
	keeper.import_owner("//Alice", &[]);
	keeper.ok(&["profile", "add", "api", "--counterpart", &bob(), "--duration", "200"]);

	let mut daemon = keeper.daemon(&[]);
	daemon.wait_for(&["node unreachable", "retry_in"], 2, Duration::from_secs(30)).await;
	assert!(daemon.is_running(), "an unreachable node is no reason to exit");
	node.start();
	// SIGTERM with the registration in flight: it is seen final and recorded, then the daemon
	// stops. (Sent on the log line, not after a wait for the node: the registration can be in
	// the very block that wait waits for.)
	daemon.wait_for(&["registration submitted", "profile=api"], 1, STEP).await;
	let exit = daemon.terminate().expect("it was running");
	assert!(exit.success(), "{exit}");
	assert_eq!(daemon.lines(&["stopping once the submission in flight is final"]).len(), 1);
	assert_eq!(daemon.lines(&["registered and finalized", "profile=api"]).len(), 1);
	assert!(daemon.lines(&["stopping with a submission in flight"]).is_empty());
	let keys = stored(&keeper);
	assert_eq!(keys.len(), 1);
	assert_eq!(keys[0].1, KeyStatus::Live, "recorded before the daemon stopped");

	let mut daemon = keeper.daemon(&[]);
	daemon.wait_for(&["connected; reconciling"], 1, STEP).await;

	// Gone while the daemon follows it: it reconnects with backoff and carries on.
	node.stop();
	daemon.wait_for(&["reconnecting"], 1, Duration::from_secs(30)).await;
	assert!(daemon.is_running());
	node.start();
	node.wait_until_finalizing(1).await;
	daemon.wait_for(&["reconnected"], 1, Duration::from_secs(60)).await;
	let status = keeper.ok(&["status"]);
	assert!(status.lines().any(|line| line.contains("api") && line.contains("live")), "{status}");
	assert_eq!(stored(&keeper).len(), 1, "no second key for the same profile");

	// Stopped while the node is away again: nothing is in flight, so SIGTERM ends the step
	// waiting on the node at once, and the process exits cleanly.
	let reconnecting = daemon.lines(&["reconnecting"]).len();
	node.stop();
	daemon.wait_for(&["reconnecting"], reconnecting + 1, Duration::from_secs(30)).await;
	let asked = Instant::now();
	let exit = daemon.terminate().expect("it was running");
	println!("exited {exit} {:?} after SIGTERM, the node away", asked.elapsed());
	assert!(exit.success(), "{exit}");
	assert!(asked.elapsed() < Duration::from_secs(5), "SIGTERM took {:?}", asked.elapsed());
	assert_eq!(daemon.lines(&["stopping"]).len(), 1, "{}", daemon.log());
}

#[tokio::test]
async fn a_crash_after_storing_submitting_or_registering_loses_nothing_and_registers_once() {
	let mut node = Node::dev("keeper-crash").await;
	let chain = Chain::connect(&mut node).await;
	let alice = account_of(&dev::alice());
	let keeper = Keeper::init(&node.ws_url());
	keeper.import_owner("//Alice", &[]);
	keeper.ok(&["profile", "add", "api", "--counterpart", &bob(), "--duration", "200"]);

	// Killed right after the new key is stored as pending, before anything is sent.
	let mut daemon = keeper.daemon(&["--halt-after", "stored"]);
	daemon.wait_for(&["halting here"], 1, STEP).await;
	daemon.kill();
	let keys = stored(&keeper);
	assert_eq!(keys.len(), 1);
	let (public, status, opens) = keys[0];
	assert_eq!((status, opens), (KeyStatus::Pending, true));
	assert!(chain.registration(&public).await.is_none(), "nothing was sent");
	let from = chain.block_number(chain.client.finalized_hash().await.unwrap()).await;

	// Restarted: the same key is registered (not a new one), then killed before the store
	// records it live.
	let mut daemon = keeper.daemon(&["--halt-after", "registered"]);
	daemon.wait_for(&["halting here"], 1, STEP).await;
	daemon.kill();
	assert!(daemon.lines(&["stored a new pending key"]).is_empty(), "no second key made");
	assert_eq!(stored(&keeper), vec![(public, KeyStatus::Pending, true)]);
	assert!(chain.registration(&public).await.is_some(), "registered and finalized");

	// Restarted again: it finds the registration and records it; nothing is sent again.
	let mut daemon = keeper.daemon(&[]);
	let key = hex(&public.encode());
	daemon.wait_for(&["key state", &key, "to=live"], 1, STEP).await;
	assert!(daemon.lines(&["registering"]).is_empty(), "not registered again");
	assert!(daemon.terminate().expect("running").success());

	assert_eq!(stored(&keeper), vec![(public, KeyStatus::Live, true)]);

	// A second profile, killed right after the pool accepted its key's registration: the
	// registration is in flight (in the pool or a block not final yet) when it restarts.
	keeper.ok(&["profile", "add", "web", "--counterpart", &bob(), "--duration", "200"]);
	let mut daemon = keeper.daemon(&["--halt-after", "submitted"]);
	daemon.wait_for(&["halting here"], 1, STEP).await;
	daemon.kill();
	let web = stored(&keeper)
		.into_iter()
		.find(|(key, _, _)| *key != public)
		.expect("the web profile's key is stored");
	assert_eq!((web.1, web.2), (KeyStatus::Pending, true));
	let web = web.0;
	assert_eq!(daemon.lines(&["registration submitted"]).len(), 1);

	// Restarted: it finds the registration in flight (or in a block, or sends it again and is
	// told it is already registered), and records the same key live; no new key is made.
	let mut daemon = keeper.daemon(&[]);
	daemon.wait_for(&["key state", &hex(&web.encode()), "to=live"], 1, STEP).await;
	assert!(daemon.lines(&["stored a new pending key"]).is_empty(), "no second key made");
	// Seen in flight, it is waited for; still in the pool, it is sent once more and refused.
	let resent = daemon.lines(&["registration submitted"]).len();
	assert!(resent <= 1, "sent {resent} times after the restart");
	println!(
		"after the crash at `submitted`: {}",
		if resent == 0 {
			"found on chain, not sent again"
		} else {
			"sent again, AlreadyRegistered"
		}
	);
	assert!(daemon.terminate().expect("running").success());

	let to = chain.block_number(chain.client.finalized_hash().await.unwrap()).await;
	let keys = stored(&keeper);
	assert_eq!(keys.len(), 2, "{keys:?}");
	assert!(keys.contains(&(public, KeyStatus::Live, true)), "{keys:?}");
	assert!(keys.contains(&(web, KeyStatus::Live, true)), "{keys:?}");
	let on_chain = chain.keys_of(&alice).await;
	assert_eq!(on_chain.len(), 2, "{on_chain:?}");
	assert!(
		on_chain.contains(&public) && on_chain.contains(&web),
		"every registered key is in the store"
	);
	assert_eq!(
		registrations(&chain, from, to).await,
		BTreeMap::from([(public, 1), (web, 1)]),
		"one registration per key"
	);
}

#[tokio::test]
async fn header_sign_state_revoke_a_discontinued_key_and_the_bookkeeping_commands() {
	let mut node = Node::dev("keeper-commands").await;
	let chain = Chain::connect(&mut node).await;
	let alice = account_of(&dev::alice());
	let keeper = Keeper::init(&node.ws_url());
	keeper.import_owner("//Alice", &[]);
	let shown = keeper.ok(&["owner", "show"]);
	assert!(shown.contains(&alice.to_ss58check()), "{shown}");
	keeper.ok(&[
		"profile",
		"add",
		"api",
		"--counterpart",
		&bob(),
		"--duration",
		"200",
		"--spending-limit",
		&units(5).to_string(),
		"--collateral",
		&units(5).to_string(),
		"--scope",
		"GET /orders/*",
		// (The `header` below signs a POST: a key scoped to GETs only is refused, `OutOfScope`.)
		"--scope",
		"POST /orders/*",
	]);
	keeper.ok(&["profile", "add", "spare", "--counterpart", &bob()]);
	let listed = keeper.ok(&["profile", "list"]);
	assert!(listed.contains("api") && listed.contains("spare"), "{listed}");
	let error = keeper.fails(PASSPHRASE, &["profile", "remove", "nope"]);
	assert!(error.contains("no profile named \"nope\""), "{error}");

	let mut daemon = keeper.daemon(&[]);
	daemon.wait_for(&["registered and finalized", "profile=api"], 1, STEP).await;
	daemon.wait_for(&["registered and finalized", "profile=spare"], 1, STEP).await;
	let store = Store::open(&keeper.store(), PASSPHRASE.as_bytes()).expect("the store opens");
	let api = store.open_keys("api").expect("keys").remove(0).public;
	let spare = store.open_keys("spare").expect("keys").remove(0).public;
	drop(store);

	// The counterpart discontinues a key: the daemon marks it ended and replaces it.
	chain
		.submit(&dev::bob(), session_keys_client::build::discontinue(spare))
		.await
		.expect("the counterpart discontinues");
	daemon
		.wait_for(&["key state", "profile=spare", "to=ended", "reason=Discontinued"], 1, STEP)
		.await;
	daemon.wait_for(&["registered and finalized", "profile=spare"], 2, STEP).await;
	assert_eq!(daemon.terminate().map(|exit| exit.success()), Some(true));
	let keys: Vec<_> =
		stored(&keeper).into_iter().map(|(public, status, _)| (public, status)).collect();
	assert!(keys.contains(&(spare, KeyStatus::Ended)), "{keys:?}");
	assert_eq!(keys.iter().filter(|(_, status)| *status == KeyStatus::Live).count(), 2);

	// `header`: a version 2 value the runtime's own check accepts, for that audience and that
	// request: method, path, query and body.
	let value = keeper.ok(&[
		"header",
		"--profile",
		"api",
		"--audience",
		"api.test",
		"--request",
		"POST /orders/17?qty=2&note=a%7e",
		"--data",
		"{\"qty\":2}",
	]);
	let header = session_keys_client::decode_header_v2(value.trim()).expect("a v2 header value");
	assert_eq!((header.public, &header.account), (api, &alice));
	let bound =
		session_keys_client::BoundRequest::parse("POST /orders/17?note=a~&qty=2", b"{\"qty\":2}")
			.expect("valid");
	assert_eq!(
		(&header.audience[..], &header.resource[..], &header.query, header.content_digest),
		(&b"api.test"[..], &b"POST /orders/17"[..], &bound.query, bound.content_digest)
	);
	let authenticated = chain.authenticate_v2(&header).await.expect("the runtime accepts it");
	assert_eq!(authenticated.owner, alice);
	let error = keeper.fails(
		PASSPHRASE,
		&["header", "--profile", "api", "--audience", "a", "--request", "orders/17"],
	);
	assert!(error.contains("--request"), "{error}");

	// `sign-state`: a state the counterpart checkpoints on chain; `status` then shows it.
	let signed = keeper.ok(&["sign-state", "--profile", "api", "--nonce", "1", "--owed", "1500"]);
	let json: serde_json::Value = serde_json::from_str(&signed).expect("JSON");
	assert_eq!(json["public"], hex(&api.encode()));
	let signature = json["signature"].as_str().expect("a signature");
	let bytes = sp_core::bytes::from_hex(signature).expect("hex");
	let signature = codec::Decode::decode(&mut &bytes[..]).expect("a SessionSignature");
	let state = session_keys_client::ChannelState { nonce: 1, owed: 1500, margin: 0 };
	chain
		.client
		.checkpoint(&dev::bob(), api, state, signature, Wait::InBlock)
		.await
		.expect("the counterpart checkpoints the signed state");
	let status = keeper.ok(&["status"]);
	let row = status.lines().find(|line| line.contains("api")).expect("a row for api");
	assert!(row.contains("1500") && row.contains("nonce 1"), "{status}");

	// `revoke` by a prefix of the key: closing on chain; its profile cannot be removed yet.
	let prefix = &hex(&api.encode())[..12];
	keeper.ok(&["revoke", prefix]);
	assert!(chain.registration(&api).await.expect("still registered").revoked);
	let status = keeper.ok(&["status"]);
	let row = status.lines().find(|line| line.contains(prefix)).expect("a row for the key");
	assert!(row.contains("closing (revoked)"), "{status}");
	let error = keeper.fails(PASSPHRASE, &["profile", "remove", "api"]);
	assert!(error.contains("not ended yet"), "{error}");

	// `change-passphrase`: the old one no longer opens the store, the new one does.
	let new_passphrase = keeper.store().with_file_name("new-passphrase");
	std::fs::write(&new_passphrase, "a new passphrase\n").expect("written");
	keeper.ok(&["change-passphrase", "--new-passphrase-file", new_passphrase.to_str().unwrap()]);
	let error = keeper.fails(PASSPHRASE, &["status"]);
	assert!(error.contains("wrong passphrase"), "{error}");
	// `--all`: the challenge period (10 blocks) may have run out by now on a loaded machine,
	// so the revoked key shows as closing or as ended; either way the new passphrase opened it.
	let output = keeper.run_with("a new passphrase", &["status", "--all"]);
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let status = String::from_utf8_lossy(&output.stdout);
	let row = status.lines().find(|line| line.contains(prefix)).expect("a row for the key");
	assert!(row.contains("closing (revoked)") || row.contains("ended (Revoked)"), "{status}");
}

/// `authorize` run by the owner's keeper with these terms: Bob the only counterpart, 5 units
/// of collateral per key and `total` units in all, limits up to 10 units, 300 blocks, `keys`
/// keys.
fn authorize(owner: &Keeper, delegate: &str, total: u128, keys: u32, extra: &[&str]) -> String {
	let (max_collateral, max_limit, total) =
		(units(5).to_string(), units(10).to_string(), units(total).to_string());
	let (keys, bob) = (keys.to_string(), bob());
	let mut args = vec![
		"authorize",
		"--delegate",
		delegate,
		"--counterpart",
		&bob,
		"--max-collateral",
		&max_collateral,
		"--max-spending-limit",
		&max_limit,
		"--max-total-collateral",
		&total,
		"--max-duration",
		"300",
		"--max-keys",
		&keys,
	];
	args.extend_from_slice(extra);
	owner.ok(&args)
}

#[tokio::test]
async fn a_delegate_registers_and_renews_for_the_owner_within_its_terms_and_no_further() {
	let mut node = Node::dev("keeper-delegate").await;
	let chain = Chain::connect(&mut node).await;
	let (alice, dave) = (account_of(&dev::alice()), account_of(&dev::dave()));
	let charlie = account_of(&dev::charlie()).to_ss58check();

	// The owner authorizes the keeper's hot account once, from its own keeper store: 7 units of
	// collateral in all, 5 per key.
	let owner = Keeper::init(&node.ws_url());
	owner.import_owner("//Alice", &[]);
	let authorized = authorize(&owner, &dave.to_ss58check(), 7, 4, &[]);
	println!("{authorized}");
	assert!(authorized.contains("authorized") && authorized.contains("0 of at most 4"));

	let keeper = Keeper::init(&node.ws_url());
	let shown = keeper.import_owner("//Dave", &["--delegate-of", &alice.to_ss58check()]);
	assert!(
		shown.contains(&alice.to_ss58check()) && shown.contains(&dave.to_ss58check()),
		"{shown}"
	);
	// The hot key cannot widen its own terms.
	let error = keeper.fails(
		PASSPHRASE,
		&[
			"authorize",
			"--delegate",
			&charlie,
			"--counterpart",
			&bob(),
			"--max-collateral",
			"1",
			"--max-spending-limit",
			"1",
			"--max-total-collateral",
			"1",
			"--max-duration",
			"10",
			"--max-keys",
			"1",
		],
	);
	assert!(error.contains("must be signed by the owner's own key"), "{error}");

	// Profiles outside the terms are refused before anything is stored, naming the term.
	let error = keeper.fails(PASSPHRASE, &["profile", "add", "other", "--counterpart", &charlie]);
	assert!(error.contains("the owner's terms refuse this profile: counterparts"), "{error}");
	let error = keeper.fails(
		PASSPHRASE,
		&[
			"profile",
			"add",
			"big",
			"--counterpart",
			&bob(),
			"--duration",
			"200",
			"--collateral",
			&units(6).to_string(),
		],
	);
	assert!(error.contains("maxCollateral: at most 5000000000000 (5 UNIT) per key"), "{error}");
	let error = keeper.fails(
		PASSPHRASE,
		&["profile", "add", "long", "--counterpart", &bob(), "--duration", "301"],
	);
	assert!(error.contains("maxDuration: at most 300 blocks"), "{error}");
	assert!(!keeper.ok(&["profile", "list"]).contains("other"), "nothing stored");

	// Within the terms: a 20-block key the daemon renews, and one whose 5 units would pass
	// alone but not on top of the first key's 3 (the terms' total is 7).
	keeper.ok(&[
		"profile",
		"add",
		"api",
		"--counterpart",
		&bob(),
		"--duration",
		"20",
		"--renew-margin",
		"8",
		"--rotation-interval",
		"1000",
		"--collateral",
		&units(3).to_string(),
	]);
	keeper.ok(&[
		"profile",
		"add",
		"greedy",
		"--counterpart",
		&bob(),
		"--duration",
		"200",
		"--collateral",
		&units(5).to_string(),
	]);
	let held_before = chain.balances(&alice).await.reserved;

	let metrics = format!("127.0.0.1:{}", session_keys_e2e::node::free_port());
	let mut daemon = keeper.daemon(&["--metrics", &metrics]);
	let registered = daemon.wait_for(&["registered and finalized", "profile=api"], 1, STEP).await;
	let refused = daemon
		.wait_for(&["failed", "profile=greedy", "TotalCollateralAboveTerms"], 2, 2 * STEP)
		.await;
	println!("{}", refused[0]);
	// The second try waited twice as long as the first (each try costs a fee).
	let (first, second) = (field(&refused[0], "retry_at"), field(&refused[1], "retry_at"));
	let gaps = (first - field(&refused[0], "block"), second - field(&refused[1], "block"));
	assert_eq!(gaps, (3, 6), "{refused:?}");
	assert!(field(&refused[1], "block") >= first, "tried again before its time: {refused:?}");
	let scraped = scrape(&metrics);
	assert!(
		scraped.lines().any(|line| line.starts_with("session_keys_keeper_failures_total")
			&& line.contains("profile=\"greedy\"")
			&& line.contains("action=\"register\"")),
		"{scraped}"
	);
	assert_eq!(
		daemon.lines(&["stored a new pending key", "profile=greedy"]).len(),
		1,
		"the same key is retried"
	);
	// The delegate renews the key it registered.
	let renewed = daemon.wait_for(&["renewed", "profile=api"], 1, STEP).await;
	println!("{}\n{}", registered[0], renewed[0]);
	assert!(daemon.terminate().expect("running").success());

	let keys = stored(&keeper);
	assert_eq!(keys.len(), 2, "{keys:?}");
	let greedy =
		keys.iter().find(|key| key.1 == KeyStatus::Pending).copied().expect("greedy's key");
	let api = keys.iter().find(|key| key.1 == KeyStatus::Live).copied().expect("api's key");
	assert_eq!((greedy.1, greedy.2), (KeyStatus::Pending, true), "kept, secret and all");
	assert!(chain.registration(&greedy.0).await.is_none());
	let registration = chain.registration(&api.0).await.expect("registered");
	assert_eq!(registration.owner, alice, "registered for the owner");
	assert_eq!(registration.delegate, Some(dave.clone()), "by the delegate");
	assert_eq!(registration.collateral, units(3));
	assert_eq!(registration.expires_at, field(&renewed[0], "expires_at"), "renewed on chain");
	assert!(
		chain.balances(&alice).await.reserved >= held_before + units(3),
		"the collateral is held from the owner"
	);
	// `status` shows the terms and how much of them the delegate's keys use.
	let status = keeper.ok(&["status"]);
	println!("{status}");
	assert!(status.contains("1 of at most 4"), "{status}");
	assert!(
		status.contains(&format!("{} (3 UNIT) held of at most {} (7 UNIT)", units(3), units(7))),
		"{status}"
	);
	assert!(status.contains(&bob()) && status.contains("no end"), "{status}");

	// The chain, not only the keeper, holds the delegate to the terms: its plain calls are
	// bounded, and another counterpart is refused by name.
	let signer = OwnerSigner::from_uri("//Dave", Some(alice.clone())).unwrap();
	let renew = || {
		signer.submit(
			&chain.client,
			session_keys_client::build::renew(api.0, Some(300)),
			Wait::Finalized,
		)
	};
	// A loaded node may end the status stream of a transaction (`chainHead_follow` stopped);
	// a renewal is safe to send again, and the assertion reads the one that is followed.
	let mut renewed = renew().await;
	for _ in 0..3 {
		match renewed {
			Err(session_keys_client::Error::StatusUnknown(ref error)) => {
				eprintln!("the renewal's status was lost ({error}); renewing again");
				renewed = renew().await;
			}
			_ => break,
		}
	}
	let renewed = renewed.expect("the delegate renews its key");
	let expires_at = chain.registration(&api.0).await.unwrap().expires_at;
	assert_eq!(expires_at, renewed.block_number + 300);
	let error = signer
		.submit(&chain.client, session_keys_client::build::renew(api.0, Some(301)), Wait::InBlock)
		.await
		.expect_err("longer than maxDuration");
	assert_eq!(error.error_name(), Some("DurationAboveTerms"), "{error}");
	let pair = SessionPair::generate(CryptoKind::Sr25519);
	let terms = session_keys_client::Terms {
		counterpart: account_of(&dev::charlie()),
		duration: Some(100),
		spending_limit: 0,
		collateral: 0,
		description: Vec::new(),
		scope: Vec::new(),
	};
	let error = chain
		.client
		.register_for(
			&dev::dave(),
			alice.clone(),
			pair.public(),
			pair.ownership_proof(&alice),
			&terms,
			Wait::InBlock,
		)
		.await
		.expect_err("Charlie is not in the terms");
	assert_eq!(error.error_name(), Some("CounterpartNotAllowed"), "{error}");

	// The refused terms fixed with `profile edit`: an edit outside the terms is refused as an
	// addition is; within them, the same pending key registers with the new collateral.
	let error = keeper.fails(PASSPHRASE, &["profile", "edit", "greedy"]);
	assert!(error.contains("nothing to change"), "{error}");
	let error = keeper.fails(PASSPHRASE, &["profile", "edit", "nope", "--duration", "300"]);
	assert!(error.contains("nope"), "the unknown profile is named: {error}");
	let error = keeper
		.fails(PASSPHRASE, &["profile", "edit", "greedy", "--collateral", &units(6).to_string()]);
	assert!(error.contains("maxCollateral"), "{error}");
	keeper.ok(&["profile", "edit", "greedy", "--collateral", &units(4).to_string()]);
	let mut daemon = keeper.daemon(&[]);
	daemon.wait_for(&["registered and finalized", "profile=greedy"], 1, STEP).await;
	assert!(daemon.lines(&["stored a new pending key"]).is_empty(), "no new key");
	assert!(daemon.terminate().expect("running").success());
	let registration = chain.registration(&greedy.0).await.expect("the pending key registered");
	assert_eq!((registration.collateral, registration.delegate), (units(4), Some(dave)));
	let status = keeper.ok(&["status"]);
	assert!(status.contains("2 of at most 4"), "{status}");
	assert!(status.contains(&format!("{} (7 UNIT) held", units(7))), "{status}");
}

#[tokio::test]
async fn revoke_all_as_a_delegate_closes_its_keys_and_after_revoke_delegate_the_chain_refuses_it() {
	let mut node = Node::dev("keeper-revoke-delegate").await;
	let chain = Chain::connect(&mut node).await;
	let (alice, dave) = (account_of(&dev::alice()), account_of(&dev::dave()));
	let owner = Keeper::init(&node.ws_url());
	owner.import_owner("//Alice", &[]);
	let authorized = authorize(&owner, &dave.to_ss58check(), 10, 4, &["--ends-at", "100000"]);
	assert!(authorized.contains("in force until #100000"), "{authorized}");

	let keeper = Keeper::init(&node.ws_url());
	keeper.import_owner("//Dave", &["--delegate-of", &alice.to_ss58check()]);
	keeper.ok(&[
		"profile",
		"add",
		"api",
		"--counterpart",
		&bob(),
		"--duration",
		"200",
		"--collateral",
		&units(2).to_string(),
	]);
	// Stored unchecked: the chain refuses its keys (by the term's name), and the pending key
	// stays until `revoke-all` retires it.
	let charlie = account_of(&dev::charlie()).to_ss58check();
	let (_, note) =
		keeper.ok_with_stderr(&["profile", "add", "third", "--counterpart", &charlie, "--offline"]);
	assert!(note.contains("--offline"), "{note}");
	let daemon = keeper.daemon(&[]);
	daemon.wait_for(&["registered and finalized", "profile=api"], 1, STEP).await;
	daemon.wait_for(&["failed", "profile=third", "CounterpartNotAllowed"], 1, STEP).await;
	drop(daemon);
	let api =
		Store::open(&keeper.store(), PASSPHRASE.as_bytes()).unwrap().open_keys("api").unwrap()[0]
			.public;

	// A key the owner registered itself: the delegate can neither renew nor revoke it.
	let pair = SessionPair::generate(CryptoKind::Sr25519);
	let own = pair.public();
	let terms = session_keys_client::Terms {
		counterpart: account_of(&dev::bob()),
		duration: Some(200),
		spending_limit: 0,
		collateral: 0,
		description: Vec::new(),
		scope: Vec::new(),
	};
	chain
		.client
		.register(&dev::alice(), own, pair.ownership_proof(&alice), &terms, Wait::Finalized)
		.await
		.expect("the owner registers a key of its own");

	// `revoke-all` with the delegate's key: the key it registered closes, the owner's own is
	// left (and named), the refused pending key is retired.
	let out = keeper.ok(&["revoke-all"]);
	println!("{out}");
	assert!(out.contains("revoked the 1 live key(s) this delegate"), "{out}");
	assert!(out.contains("left open: 1") && out.contains(&hex(&own.encode())), "{out}");
	assert!(out.contains("retired 1 pending key(s)"), "{out}");
	assert!(chain.registration(&api).await.is_some_and(|r| r.revoked), "revoked on chain");
	assert!(chain.registration(&own).await.is_some_and(|r| !r.revoked), "the owner's own stays");
	keeper.ok(&["profile", "remove", "third"]);
	keeper.ok(&["resume"]);

	// Running `authorize` again replaces the terms: the revoked key counts until it settles,
	// so the owner leaves room for more.
	let authorized = authorize(&owner, &dave.to_ss58check(), 20, 6, &[]);
	// (On a loaded machine the 10-block challenge period may have run out by then: the key
	// then counts no more, as the chain shows at that block.)
	let block: BlockNumber = authorized
		.split("in block #")
		.nth(1)
		.and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
		.and_then(|number| number.parse().ok())
		.unwrap_or_else(|| panic!("no block in {authorized}"));
	let at = chain.block_hash(block).await;
	let counted = usize::from(chain.registration_at(&api, at).await.is_some());
	assert!(authorized.contains(&format!("{counted} of at most 6")), "{authorized}");
	let mut daemon = keeper.daemon(&[]);
	let line = daemon.wait_for(&["registered and finalized", "profile=api"], 1, STEP).await;
	println!("{}", line[0]);

	// The owner revokes the delegate and closes its keys; the daemon's next registration is
	// refused on chain.
	let out = owner.ok(&["revoke-delegate", &dave.to_ss58check(), "--close-keys"]);
	println!("{out}");
	assert!(out.contains("revoked 1 live key(s) it had registered"), "{out}");
	daemon.wait_for(&["key state", "profile=api", "to=closing"], 1, STEP).await;
	let refused = daemon.wait_for(&["failed", "profile=api", "NotDelegate"], 1, STEP).await;
	println!("{}", refused[0]);
	assert!(daemon.terminate().expect("running").success());
	let mut open = Vec::new();
	for public in chain.keys_of(&alice).await {
		if chain.registration(&public).await.is_some_and(|r| !r.revoked) {
			open.push(public);
		}
	}
	assert_eq!(open, vec![own], "only the owner's own key is open");
	let status = keeper.ok(&["status"]);
	assert!(status.contains("revoked by the owner"), "{status}");
	let error = owner.fails(PASSPHRASE, &["revoke-delegate", &dave.to_ss58check()]);
	assert!(error.contains("is not a delegate"), "{error}");
}

/// A stored key the delegate did not register (as one an older keeper registered through the
/// owner's `SessionKeys` proxy): the daemon neither renews nor revokes it (the chain would
/// refuse both, at a fee), registers a successor of its own in time instead, and lets it run
/// out, with a live key of the profile at every block.
#[tokio::test]
async fn a_key_the_delegate_did_not_register_runs_out_and_is_replaced_in_time() {
	let mut node = Node::dev("keeper-not-ours").await;
	let chain = Chain::connect(&mut node).await;
	let (alice, dave) = (account_of(&dev::alice()), account_of(&dev::dave()));
	let owner = Keeper::init(&node.ws_url());
	owner.import_owner("//Alice", &[]);
	authorize(&owner, &dave.to_ss58check(), 10, 4, &[]);
	let keeper = Keeper::init(&node.ws_url());
	keeper.import_owner("//Dave", &["--delegate-of", &alice.to_ss58check()]);
	keeper.ok(&[
		"profile",
		"add",
		"api",
		"--counterpart",
		&bob(),
		"--duration",
		"20",
		"--renew-margin",
		"8",
	]);

	// The key is in the store, registered by the owner itself.
	let pair = SessionPair::generate(CryptoKind::Sr25519);
	let old = pair.public();
	let mut store = Store::open(&keeper.store(), PASSPHRASE.as_bytes()).unwrap();
	store.add_pending_key("api", old, &pair.secret(), 0).unwrap();
	drop(store);
	let terms = session_keys_client::Terms {
		counterpart: account_of(&dev::bob()),
		duration: Some(20),
		spending_limit: 0,
		collateral: 0,
		description: Vec::new(),
		scope: Vec::new(),
	};
	let included = chain
		.client
		.register(&dev::alice(), old, pair.ownership_proof(&alice), &terms, Wait::Finalized)
		.await
		.expect("the owner registers it");
	let from = included.block_number;

	let mut daemon = keeper.daemon(&[]);
	daemon.wait_for(&["not registered by this delegate", &hex(&old.encode())], 1, STEP).await;
	let successor = daemon.wait_for(&["registered and finalized", "profile=api"], 1, STEP).await;
	println!("{}", successor[0]);
	daemon.wait_for(&["key state", &hex(&old.encode()), "to=closing"], 1, STEP).await;
	assert!(daemon.terminate().expect("running").success());
	assert!(daemon.lines(&["failed"]).is_empty(), "nothing refused:\n{}", daemon.log());
	assert_eq!(daemon.lines(&["not registered by this delegate"]).len(), 1, "said once");
	let old_registration = chain.registration(&old).await.expect("closing");
	assert!(!old_registration.revoked, "it ran out");
	assert_eq!(old_registration.expires_at, from + 20, "never renewed");

	let keys = stored(&keeper);
	let new = keys.iter().find(|key| key.0 != old).expect("a successor").0;
	assert_eq!(chain.registration(&new).await.expect("live").delegate, Some(dave));
	let to = chain.block_number(chain.client.finalized_hash().await.unwrap()).await;
	let gap = block_without_a_live_key(&chain, &[old, new], from, to).await;
	assert_eq!(gap, None, "no live key of the profile at that block");
}

/// The runs, many of them: a 12-block term with the default margin (4 blocks), against
/// a dev node whose GRANDPA trails the best block (the node has no flag to delay finality: the
/// single validator's voter targets two blocks behind the best and finalizes at the end of each
/// round, so it lags 2 to 3 blocks, as in the issue; the test measures and prints the lag it
/// saw). Each run is a keeper of its own with its own owner, five at a time; `KEEPER_LAG_RUNS`
/// sets how many runs (5 by default). In every run: a live key at every block from the first
/// registration on, through at least two renewals and two rotations, no renewal refused
/// (`Expired`) and each key registered once.
#[tokio::test]
async fn short_terms_with_finality_lagging_have_a_live_key_at_every_block_in_every_run() {
	let runs: usize =
		std::env::var("KEEPER_LAG_RUNS").ok().and_then(|n| n.parse().ok()).unwrap_or(5);
	let mut node = Node::dev("keeper-lag").await;
	let chain = Chain::connect(&mut node).await;
	// The lag as the node shows it, every quarter of a second while the runs go on.
	let watcher = session_keys_client::Client::connect(&node.ws_url()).await.expect("connects");
	let lags = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u32>::new()));
	let watching = {
		let lags = lags.clone();
		tokio::spawn(async move {
			loop {
				if let (Ok(best), Ok(finalized)) =
					(watcher.best_number().await, watcher.finalized_number().await)
				{
					lags.lock().unwrap().push(best.saturating_sub(finalized));
				}
				tokio::time::sleep(Duration::from_millis(250)).await;
			}
		})
	};
	let owners = [dev::alice(), dev::charlie(), dev::dave(), dev::eve(), dev::ferdie()];
	let uris = ["//Alice", "//Charlie", "//Dave", "//Eve", "//Ferdie"];
	let mut run = 0;
	while run < runs {
		let batch = (runs - run).min(owners.len());
		let mut keepers = Vec::new();
		for uri in &uris[..batch] {
			let keeper = Keeper::init(&node.ws_url());
			keeper.import_owner(uri, &[]);
			// The default margin: `profile add` sets 4 for a 12-block term.
			keeper.ok(&[
				"profile",
				"add",
				"api",
				"--counterpart",
				&bob(),
				"--duration",
				"12",
				"--scope",
				"GET /*",
			]);
			let listed = keeper.ok(&["profile", "list"]);
			assert!(listed.contains("4 left"), "the default margin: {listed}");
			let daemon = keeper.daemon(&[]);
			keepers.push((keeper, daemon));
		}
		for (slot, (keeper, daemon)) in keepers.iter_mut().enumerate() {
			let first = daemon.wait_for(&["registered and finalized"], 1, STEP).await;
			daemon.wait_for(&["renewed"], 2, 3 * STEP).await;
			daemon.wait_for(&["revoked the predecessor"], 2, 4 * STEP).await;
			assert!(daemon.terminate().expect("running").success());
			let from = field(&first[0], "block");
			let to = chain.block_number(chain.client.finalized_hash().await.unwrap()).await;
			let publics: Vec<_> = stored(keeper).into_iter().map(|(public, ..)| public).collect();
			let gap = block_without_a_live_key(&chain, &publics, from, to).await;
			assert!(
				gap.is_none(),
				"run {}: no live key at block #{gap:?}; log:\n{}",
				run + slot + 1,
				daemon.log()
			);
			let log = daemon.log();
			assert!(
				!log.contains("Expired"),
				"run {}: a renewal was refused:\n{log}",
				run + slot + 1
			);
			let counts = registrations(&chain, from, to).await;
			for public in &publics {
				assert!(
					counts.get(public).is_none_or(|count| *count == 1),
					"run {}: {} registered {:?} times",
					run + slot + 1,
					hex(&public.encode()),
					counts.get(public)
				);
			}
			let margins: Vec<u32> =
				daemon.lines(&["renewed"]).iter().map(|line| field(line, "blocks_left")).collect();
			println!(
				"run {} ({}): a live key at each of blocks #{from}..=#{to}, {} keys, renewed \
				 with {margins:?} blocks left",
				run + slot + 1,
				account_of(&owners[slot]).to_ss58check(),
				publics.len()
			);
		}
		run += batch;
	}
	watching.abort();
	let lags = lags.lock().unwrap().clone();
	let max = lags.iter().copied().max().unwrap_or(0);
	let lagging = lags.iter().filter(|lag| **lag >= 3).count();
	println!(
		"finality lag over {} samples: at most {max} blocks, 3 or more in {lagging} of them \
		 ({}%)",
		lags.len(),
		lagging * 100 / lags.len().max(1)
	);
	assert!(max >= 2, "finality did not lag: {lags:?}");
}

/// The owner's secret is never taken from the command line; `run` warns about a passphrase
/// from the environment; a profile or owner row changed with SQLite directly (by someone with
/// write access to the file but not the passphrase) is refused by name by `run` and `status`,
/// and nothing is registered from it.
#[tokio::test]
async fn secrets_stay_off_the_command_line_and_rows_changed_outside_the_keeper_are_refused() {
	use session_keys_keeper::rusqlite::{params, Connection};
	let mut node = Node::dev("keeper-secrets").await;
	let chain = Chain::connect(&mut node).await;
	let (alice, charlie) = (account_of(&dev::alice()), account_of(&dev::charlie()));
	let keeper = Keeper::init(&node.ws_url());

	// A secret URI as an argument: refused, pointing to the ways that keep it out of `ps`.
	let error = keeper.fails(PASSPHRASE, &["owner", "import", "//Alice"]);
	assert!(error.contains("does not take the secret URI as an argument"), "{error}");
	assert!(error.contains("--file") && error.contains("--stdin"), "{error}");
	let error = keeper.fails(PASSPHRASE, &["owner", "show"]);
	assert!(error.contains("no owner key"), "nothing stored: {error}");
	// `-` reads standard input, as --stdin does; --file is kept.
	let output = keeper.run_with_input(PASSPHRASE, &["owner", "import", "-"], "//Alice\n");
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	assert!(String::from_utf8_lossy(&output.stdout).contains(&alice.to_ss58check()));
	let secret_file = keeper.store().with_file_name("owner.key");
	std::fs::write(&secret_file, "//Alice\n").unwrap();
	let shown = keeper.ok(&["owner", "import", "--file", secret_file.to_str().unwrap()]);
	assert!(shown.contains(&alice.to_ss58check()), "{shown}");

	keeper.ok(&["profile", "add", "api", "--counterpart", &bob(), "--duration", "200"]);
	// The counterpart redirected to Charlie, in the file.
	let raw = Connection::open(keeper.store()).unwrap();
	let changed = raw
		.execute(
			"UPDATE profiles SET counterpart = ?1 WHERE name = 'api'",
			params![charlie.encode()],
		)
		.unwrap();
	assert_eq!(changed, 1);
	drop(raw);
	let refused = "profile `api` was changed outside the keeper: its MAC does not match";
	let error = keeper.fails(PASSPHRASE, &["status"]);
	assert!(error.contains(refused), "{error}");
	let error = keeper.fails(PASSPHRASE, &["profile", "list"]);
	assert!(error.contains(refused), "{error}");

	let mut daemon = keeper.daemon(&[]);
	daemon.wait_for(&[refused], 1, STEP).await;
	// The passphrase came from the environment: said once, pointing to the file.
	let warned = daemon.lines(&["SESSION_KEYS_KEEPER_PASSPHRASE", "/proc/", "--passphrase-file"]);
	assert_eq!(warned.len(), 1, "{}", daemon.log());
	// Several blocks on, nothing was made or sent for it, and the daemon still runs.
	let start = chain.block_number(chain.client.finalized_hash().await.unwrap()).await;
	let deadline = Instant::now() + STEP;
	while chain.block_number(chain.client.finalized_hash().await.unwrap()).await < start + 4 {
		assert!(Instant::now() < deadline, "the chain stopped finalizing");
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
	assert!(daemon.is_running(), "a refused profile is skipped, not a reason to exit");
	assert!(daemon.lines(&["stored a new pending key"]).is_empty(), "{}", daemon.log());
	assert!(daemon.lines(&["registering"]).is_empty(), "{}", daemon.log());
	assert_eq!(daemon.lines(&[refused]).len(), 1, "said once: {}", daemon.log());
	assert!(daemon.terminate().expect("running").success());
	assert!(stored(&keeper).is_empty(), "no key made");
	assert!(chain.keys_of(&alice).await.is_empty(), "no key registered");

	// With the passphrase in a file, no warning.
	let passphrase_file = keeper.store().with_file_name("passphrase");
	std::fs::write(&passphrase_file, PASSPHRASE).unwrap();
	let mut daemon = keeper.daemon(&["--passphrase-file", passphrase_file.to_str().unwrap()]);
	daemon.wait_for(&["connected"], 1, STEP).await;
	assert!(daemon.lines(&["/proc/"]).is_empty(), "{}", daemon.log());
	assert!(daemon.terminate().expect("running").success());

	// Removed and added again by whoever holds the passphrase: authentic again.
	keeper.ok(&["profile", "remove", "api"]);
	keeper.ok(&["profile", "add", "api", "--counterpart", &bob(), "--duration", "200"]);
	// The owner record made to name Charlie as the owner the hot key is a delegate of.
	let raw = Connection::open(keeper.store()).unwrap();
	raw.execute("UPDATE owner SET delegate_of = ?1", params![charlie.encode()]).unwrap();
	drop(raw);
	let refused = "the owner record was changed outside the keeper: its MAC does not match";
	let error = keeper.fails(PASSPHRASE, &["status"]);
	assert!(error.contains(refused), "{error}");
	let error = keeper.fails(PASSPHRASE, &["run"]);
	assert!(error.contains(refused), "{error}");
	assert!(stored(&keeper).is_empty(), "no key made");
	assert!(chain.keys_of(&alice).await.is_empty() && chain.keys_of(&charlie).await.is_empty());

	// Imported again: the daemon registers from the authentic profile, for Bob.
	let output = keeper.run_with_input(PASSPHRASE, &["owner", "import", "--stdin"], "//Alice");
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	assert!(
		String::from_utf8_lossy(&output.stderr).contains(refused),
		"the replaced record is named"
	);
	let mut daemon = keeper.daemon(&[]);
	daemon.wait_for(&["registered and finalized", "profile=api"], 1, STEP).await;
	assert!(daemon.terminate().expect("running").success());
	let keys = chain.keys_of(&alice).await;
	assert_eq!(keys.len(), 1);
	let registration = chain.registration(&keys[0]).await.expect("registered");
	assert_eq!((registration.owner, registration.counterpart), (alice, account_of(&dev::bob())));
}
