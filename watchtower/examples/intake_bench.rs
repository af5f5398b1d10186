//! State intake per second per core (signature verification, the shared rule and the durable
//! write with group commits) against raw sr25519 verification per second on one core.
//!
//! ```sh
//! cargo run --workspace --example intake_bench -- --keys 500 --rounds 10
//! ```
//!
//! The chain is given in advance ([`FixedChain`]): the figure is the watchtower's own cost, not
//! a node's. The store is a real SQLite file (WAL, `synchronous = FULL`) in a temporary
//! directory. Intake runs on one runtime thread (plus the store's writer thread); "per core"
//! divides by the CPU time the process used (user + system, from `/proc/self/stat`).

use std::{sync::Arc, time::Instant};

use session_keys_client::{
	AccountId, ChannelState, CryptoKind, KeyRecord, Registration, SessionPair,
};
use session_keys_keeper::sealer::{KdfParams, SALT_LEN};
use session_keys_watchtower::{
	metrics::Metrics,
	store::{Identity, Store},
	FixedChain, SignedState, Watchtower,
};
use sp_core::H256;

/// CPU seconds (user + system) this process used so far.
fn cpu_seconds() -> f64 {
	let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
	// Fields after the command name (which is in parentheses): utime is the 14th field and
	// stime the 15th, in clock ticks (100 a second on Linux).
	let after = &stat[stat.rfind(')').expect("a command name") + 2..];
	let fields: Vec<&str> = after.split_whitespace().collect();
	let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
	ticks / 100.0
}

fn arg(name: &str, default: usize) -> usize {
	let args: Vec<String> = std::env::args().collect();
	args.iter()
		.position(|a| a == name)
		.and_then(|i| args.get(i + 1))
		.map(|v| v.parse().expect("a number"))
		.unwrap_or(default)
}

fn main() {
	let keys = arg("--keys", 500);
	let rounds = arg("--rounds", 10);
	let total = keys * rounds;
	let genesis = H256::repeat_byte(7);
	let counterpart = AccountId::from([2; 32]);
	let pairs: Vec<SessionPair> =
		(0..keys).map(|_| SessionPair::generate(CryptoKind::Sr25519)).collect();
	// What the owners' clients send: states signed beforehand (signing is not the intake's cost).
	let states: Vec<Vec<SignedState>> = (1..=rounds as u64)
		.map(|nonce| {
			pairs
				.iter()
				.map(|pair| {
					let state = ChannelState { nonce, owed: u128::from(nonce), margin: 0 };
					SignedState {
						public: pair.public(),
						state,
						signature: pair.sign_state(genesis, &state),
					}
				})
				.collect()
		})
		.collect();

	// Raw sr25519 verification, one core.
	let payloads: Vec<(Vec<u8>, &SignedState)> = states
		.iter()
		.flatten()
		.map(|s| (s.state.signing_payload(&genesis, &s.public), s))
		.collect();
	let started = Instant::now();
	let cpu = cpu_seconds();
	for (payload, signed) in &payloads {
		assert!(signed.public.verify(payload, &signed.signature));
	}
	let raw_wall = started.elapsed().as_secs_f64();
	let raw_cpu = cpu_seconds() - cpu;
	let raw_per_second = total as f64 / raw_wall;
	let raw_per_cpu_second = total as f64 / raw_cpu.max(f64::EPSILON);

	// The intake.
	let dir = tempfile::tempdir().expect("a temp dir");
	let kdf = KdfParams {
		memory_kib: KdfParams::MIN_MEMORY_KIB,
		iterations: KdfParams::MIN_ITERATIONS,
		parallelism: 1,
		salt: [1; SALT_LEN],
	};
	let identity = Identity { counterpart: counterpart.clone(), via_proxy: false };
	let store =
		Store::create(&dir.path().join("bench.db"), b"bench", &kdf, &identity, b"//Bob").unwrap();
	let chain = Arc::new(FixedChain::new(10));
	for pair in &pairs {
		chain.set(
			pair.public(),
			KeyRecord::Registered(Registration {
				owner: AccountId::from([1; 32]),
				counterpart: counterpart.clone(),
				delegate: None,
				registered_at: 1,
				expires_at: 1_000,
				settles_at: 1_010,
				revoked: false,
				duration: 999,
				spending_limit: u128::MAX,
				pending_limit: None,
				collateral: 1_000,
				deposit: 1,
				description: Vec::new(),
				scope: vec![b"*".to_vec()],
				state: ChannelState::default(),
			}),
		);
	}
	let tower = Arc::new(Watchtower::new(
		counterpart,
		genesis,
		store.writer(10_000).unwrap(),
		chain,
		Vec::new(),
		Arc::new(Metrics::new()),
	));
	let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
	let (intake_wall, intake_cpu) = runtime.block_on(async {
		let started = Instant::now();
		let cpu = cpu_seconds();
		for round in states {
			// Every key's next state at once: concurrent submissions, one per key.
			let tasks: Vec<_> = round
				.into_iter()
				.map(|signed| {
					let tower = tower.clone();
					tokio::spawn(async move { tower.submit_state(signed).await })
				})
				.collect();
			for task in tasks {
				task.await.unwrap().expect("stored");
			}
		}
		(started.elapsed().as_secs_f64(), cpu_seconds() - cpu)
	});
	assert_eq!(tower.metrics.states_stored.get(), total as u64);
	let per_cpu_second = total as f64 / intake_cpu.max(f64::EPSILON);
	let per_wall_second = total as f64 / intake_wall;
	println!("states: {total} ({keys} keys x {rounds} nonces), sr25519");
	println!(
		"raw sr25519 verification: {raw_per_second:.0}/s wall, {raw_per_cpu_second:.0} per \
		 CPU-second, one core ({raw_wall:.3} s wall, {raw_cpu:.2} s CPU)"
	);
	println!(
		"intake (verify + check + durable group commit): {per_wall_second:.0}/s wall, \
		 {per_cpu_second:.0} per CPU-second ({intake_wall:.3} s wall, {intake_cpu:.2} s CPU)"
	);
	println!(
		"ratio per core (CPU-seconds): {:.2} (goal >= 0.5); ratio wall: {:.2}",
		per_cpu_second / raw_per_cpu_second,
		per_wall_second / raw_per_second
	);
}
