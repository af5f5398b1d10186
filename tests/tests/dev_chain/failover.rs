//! Two keepers in failover on one PostgreSQL store (a server of the test's own, as the keeper's
//! store tests start it): the leader is killed with `-9` at five random points, in turn, each
//! time restarted as the standby; then the leader is stopped (`SIGSTOP`) until the standby takes
//! over, and resumed. Throughout: a live key at every block, no key registered twice, every
//! registered key's secret in the store, and nothing written or sent by a former leader.

use std::time::{Duration, Instant};

use codec::Encode;
use rand::{Rng, SeedableRng};
use session_keys_e2e::{
	account_of,
	keeper::{Daemon, Keeper, PASSPHRASE},
	Chain, Node,
};
use session_keys_keeper::store::{hex, Location, PostgresTarget, Store};
use sp_core::crypto::Ss58Codec;
use subxt_signer::sr25519::dev;
use zeroize::Zeroizing;

use crate::keeper::{bob, field, live_keys, registrations, stored_in, STEP};

/// The PostgreSQL server the keeper's own store tests start.
#[allow(dead_code)]
#[path = "../../../keeper/tests/support/mod.rs"]
mod postgres;

/// The lease the keepers run with: a takeover within its term, a third of it and a poll.
const LEASE_MS: u64 = 3000;
/// How long the blocks are on the dev chain.
const BLOCK: Duration = Duration::from_secs(3);

/// The pid of the daemon whose lease runs now, as the `leader` row shows it.
fn leader_pid(server: &postgres::Server, database: &str) -> Option<u32> {
	let holder =
		server.psql(database, "SELECT holder FROM leader WHERE id = 1 AND lease_until > now()");
	holder.trim().rsplit_once(':').and_then(|(_, pid)| pid.parse().ok())
}

/// Waits until the daemon at `index` contends for the lead: its lease thread has seen another
/// keeper lead. A takeover is timed from there; a daemon just (re)started first connects to
/// the node and the store, which is its start, not a takeover.
async fn wait_standing_by(daemons: &[Daemon], index: usize) {
	daemons[index].wait_for(&["standing by: another keeper leads"], 1, STEP).await;
}

/// Waits until one of `daemons` leads: its index.
async fn wait_for_leader(
	server: &postgres::Server,
	database: &str,
	daemons: &[Daemon],
	not: Option<u32>,
) -> usize {
	let deadline = Instant::now() + STEP;
	loop {
		if let Some(pid) = leader_pid(server, database).filter(|pid| Some(*pid) != not) {
			if let Some(index) = daemons.iter().position(|daemon| daemon.pid() == Some(pid)) {
				return index;
			}
		}
		assert!(Instant::now() < deadline, "no keeper took the lead in {STEP:?}");
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
}

#[tokio::test]
async fn two_keepers_on_postgres_fail_over_with_a_live_key_at_every_block() {
	let seed: u64 = std::env::var("FAILOVER_SEED")
		.ok()
		.and_then(|seed| seed.parse().ok())
		.unwrap_or_else(|| rand::thread_rng().gen());
	println!("FAILOVER_SEED={seed}");
	let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
	let server = postgres::server();
	let database = "failover";
	let url = server.database(database);
	let mut node = Node::dev("keeper-failover").await;
	let chain = Chain::connect(&mut node).await;
	let keeper = Keeper::init_postgres(&node.ws_url(), &url, postgres::PASSWORD);
	keeper.import_owner("//Alice", &[]);
	keeper.ok(&[
		"profile",
		"add",
		"api",
		"--counterpart",
		&bob(),
		"--duration",
		"16",
		"--rotation-interval",
		"10",
		"--scope",
		"GET /*",
	]);
	let lease = LEASE_MS.to_string();
	let args = ["--lease-ms", lease.as_str()];
	let mut daemons = vec![keeper.daemon(&args), keeper.daemon(&args)];

	let leading = wait_for_leader(&server, database, &daemons, None).await;
	let first = daemons[leading].wait_for(&["registered and finalized"], 1, STEP).await;
	let from = field(&first[0], "block");
	let mut takeovers = Vec::new();
	for round in 1..=5 {
		let leading = wait_for_leader(&server, database, &daemons, None).await;
		wait_standing_by(&daemons, 1 - leading).await;
		// A random point: anywhere in the next five blocks, or (every other round) in the
		// two blocks after the leader starts registering a key, while it is on its way.
		let during_registration = round % 2 == 0;
		if during_registration {
			let seen = daemons[leading].lines(&["registering"]).len();
			daemons[leading].wait_for(&["registering"], seen + 1, STEP).await;
		}
		let blocks = if during_registration { 2 } else { 5 };
		let delay = Duration::from_millis(rng.gen_range(0..blocks * BLOCK.as_millis() as u64));
		tokio::time::sleep(delay).await;
		let killed = daemons[leading].pid();
		let at = chain.block_number(chain.client.best_hash().await.unwrap()).await;
		daemons[leading].kill();
		let killed_at = Instant::now();
		let next = wait_for_leader(&server, database, &daemons, killed).await;
		let took = killed_at.elapsed();
		assert_ne!(next, leading);
		// Back, as the standby.
		daemons[leading] = keeper.daemon(&args);
		println!(
			"round {round}: leader killed at block #{at}, {delay:?} after {}; taken over in \
			 {took:?}",
			if during_registration { "it started registering a key" } else { "the round began" }
		);
		takeovers.push(took);
	}

	// A leader stopped (as a paused VM, a partition) until the standby takes over, then
	// resumed: it stands by, and neither writes nor sends anything.
	let leading = wait_for_leader(&server, database, &daemons, None).await;
	wait_standing_by(&daemons, 1 - leading).await;
	daemons[leading].wait_for(&["leading: reconciling"], 1, STEP).await;
	let paused = daemons[leading].pid();
	daemons[leading].signal("STOP");
	let stopped_at = Instant::now();
	let lines_before = daemons[leading].log().lines().count();
	let next = wait_for_leader(&server, database, &daemons, paused).await;
	let paused_takeover = stopped_at.elapsed();
	daemons[leading].signal("CONT");
	let standing_by = daemons[leading].lines(&["standing by"]).len();
	daemons[leading].wait_for(&["standing by"], standing_by + 1, STEP).await;
	// Covered on: the new leader renews or rotates after the takeover.
	let renewed = daemons[next].lines(&["renewed"]).len();
	daemons[next].wait_for(&["renewed"], renewed + 1, 3 * STEP).await;
	let resumed_log: Vec<String> =
		daemons[leading].log().lines().skip(lines_before).map(str::to_owned).collect();
	let acted: Vec<&String> = resumed_log
		.iter()
		.filter(|line| {
			// What it logs once it decided to send or store something, after the checks (the
			// messages themselves: "renewing earlier than configured" is not a decision).
			[
				": registering profile=",
				": renewing profile=",
				": revoking the predecessor",
				": stored a new pending key",
			]
			.iter()
			.any(|said| line.contains(said))
		})
		.collect();
	assert!(acted.is_empty(), "the former leader acted after the takeover: {acted:#?}");
	for daemon in &mut daemons {
		assert!(daemon.terminate().expect("running").success());
	}

	let to = chain.block_number(chain.client.finalized_hash().await.unwrap()).await;
	let store = Store::open_at(
		&Location::Postgres(
			PostgresTarget::new(url.clone())
				.with_password(Zeroizing::new(postgres::PASSWORD.into())),
		),
		PASSPHRASE.as_bytes(),
	)
	.expect("the store opens");
	let keys = stored_in(&store);
	assert!(keys.iter().all(|(_, _, opens)| *opens), "every secret opens: {keys:?}");
	let publics: Vec<_> = keys.iter().map(|(public, ..)| *public).collect();
	// A live key at every block, and never more than a key and its successor (a second
	// successor would be a key registered twice over).
	let live = live_keys(&chain, &publics, from, to).await;
	let gap = live.iter().find(|(_, count)| **count == 0);
	assert_eq!(gap, None, "no live key at that block");
	let crowded = live.iter().find(|(_, count)| **count > 2);
	assert_eq!(crowded, None, "more live keys than a key and its successor");
	let counts = registrations(&chain, from, to).await;
	for (public, count) in &counts {
		assert_eq!(*count, 1, "{} registered {count} times", hex(&public.encode()));
		assert!(publics.contains(public), "{} is registered but not stored", hex(&public.encode()));
	}
	// No pending key lost: every stored key but the newest was registered (the newest may be
	// a successor made just before the stop).
	let unregistered: Vec<_> = keys
		.iter()
		.filter(|(public, ..)| !counts.contains_key(public))
		.map(|(public, status, _)| (hex(&public.encode()), *status))
		.collect();
	assert!(unregistered.len() <= 1, "stored keys never registered: {unregistered:?}");
	let slowest = takeovers.iter().max().copied().unwrap_or_default();
	println!(
		"{}: a live key at each of blocks #{from}..=#{to}, {} keys, each registered once; \
		 takeovers after a kill {takeovers:?} (slowest {slowest:?}, {} blocks), after a stop \
		 {paused_takeover:?}",
		account_of(&dev::alice()).to_ss58check(),
		publics.len(),
		slowest.as_millis().div_ceil(BLOCK.as_millis())
	);
	// The stated bound: the lease and a turn of the standby's lease thread (plus a second for
	// this test's polling and a loaded machine).
	let bound = Duration::from_millis(LEASE_MS + LEASE_MS / 3 + 1000);
	assert!(slowest <= bound, "a takeover took {slowest:?}, over {bound:?}");
	// Stopped inside a write's transaction, a leader would hold the takeover until the server
	// ends that transaction.
	let bound = bound + session_keys_keeper::store::postgres::IDLE_IN_TRANSACTION;
	assert!(paused_takeover <= bound, "a takeover took {paused_takeover:?}, over {bound:?}");
}
