//! Scenario 4: a client streams `register` and `checkpoint` extrinsics to Alice's node while
//! Charlie's node is killed with SIGKILL and restarted on the same base path. Charlie catches
//! up; every registration finalized before the kill (and after) is in his state, checkpoints
//! included; at the same height all four nodes have the same state root.

use std::{
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc, Mutex,
	},
	time::Duration,
};

use session_keys_e2e::{
	account_of, build,
	testnet::{heights_of, Testnet, VALIDATORS},
	Chain, SessionPair, Terms,
};
use session_keys_primitives::{ChannelState, CryptoKind, SessionPublic};
use session_keys_runtime::{BlockNumber, UNIT};
use subxt_signer::sr25519::dev;
use tokio::task::JoinHandle;

/// Registrations finalized before the kill that the test waits for.
const BEFORE_KILL: usize = 3;
/// A bound on the stream, below the runtime's keys-per-owner limit (32).
const MAX_KEYS: u32 = 30;

/// A registration the stream saw finalized, and whether its checkpoint was.
#[derive(Clone, Debug)]
struct Streamed {
	public: SessionPublic,
	registered_in: BlockNumber,
	checkpointed_in: Option<BlockNumber>,
}

/// Eve registers fresh session keys with Ferdie as counterpart, one after another; as soon as
/// one is finalized, Ferdie checkpoints a state it signed, while Eve's next registration is
/// already in flight.
struct Stream {
	stop: Arc<AtomicBool>,
	seen: Arc<Mutex<Vec<Streamed>>>,
	task: JoinHandle<()>,
}

impl Stream {
	fn start(chain: Chain) -> Stream {
		let stop = Arc::new(AtomicBool::new(false));
		let seen = Arc::new(Mutex::new(Vec::new()));
		let task = tokio::spawn(stream(chain, stop.clone(), seen.clone()));
		Stream { stop, seen, task }
	}

	/// What the stream has seen finalized so far; panics if the stream has failed.
	async fn seen(&mut self) -> Vec<Streamed> {
		if self.task.is_finished() {
			(&mut self.task).await.expect("the stream did not panic");
			panic!("the stream ended before it was told to");
		}
		self.seen.lock().expect("not poisoned").clone()
	}

	/// Stops submitting and waits until everything in flight is finalized.
	async fn finish(self) -> Vec<Streamed> {
		self.stop.store(true, Ordering::SeqCst);
		self.task.await.expect("the stream did not panic");
		self.seen.lock().expect("not poisoned").clone()
	}
}

async fn stream(chain: Chain, stop: Arc<AtomicBool>, seen: Arc<Mutex<Vec<Streamed>>>) {
	let (eve, ferdie) = (account_of(&dev::eve()), account_of(&dev::ferdie()));
	let terms = Terms {
		counterpart: ferdie,
		duration: None,
		spending_limit: 10 * UNIT,
		collateral: 20 * UNIT,
		description: b"stream".to_vec(),
		scope: vec![b"*".to_vec()],
	};
	let genesis = chain.genesis_hash();
	// Several of Eve's and Ferdie's transactions are in flight at once: count their nonces here.
	let mut eve_nonce = chain.next_nonce(&eve).await;
	let mut ferdie_nonce = chain.next_nonce(&terms.counterpart).await;
	let mut in_flight = None;
	let mut checkpoints = Vec::new();
	for i in 0..=MAX_KEYS {
		let next = if i < MAX_KEYS && !stop.load(Ordering::SeqCst) {
			let pair = SessionPair::from_uri(CryptoKind::Sr25519, &format!("//Eve//stream//{i}"))
				.expect("a dev seed");
			let call =
				build::register(pair.public(), pair.ownership_proof(&eve), &terms).expect("fits");
			let finalized = chain.send_with_nonce(&dev::eve(), call, Some(eve_nonce));
			eve_nonce += 1;
			Some((pair, tokio::spawn(finalized)))
		} else {
			None
		};
		if let Some((pair, registration)) = std::mem::replace(&mut in_flight, next) {
			let included =
				registration.await.expect("no panic").expect("the registration is finalized");
			let index = {
				let mut seen = seen.lock().expect("not poisoned");
				seen.push(Streamed {
					public: pair.public(),
					registered_in: included.block_number,
					checkpointed_in: None,
				});
				seen.len() - 1
			};
			let state = ChannelState { nonce: 1, owed: UNIT, margin: 0 };
			let call = build::checkpoint(pair.public(), state, pair.sign_state(genesis, &state));
			let finalized = chain.send_with_nonce(&dev::ferdie(), call, Some(ferdie_nonce));
			ferdie_nonce += 1;
			checkpoints.push((index, tokio::spawn(finalized)));
		}
		if in_flight.is_none() {
			break;
		}
	}
	for (index, checkpoint) in checkpoints {
		let included = checkpoint.await.expect("no panic").expect("the checkpoint is finalized");
		seen.lock().expect("not poisoned")[index].checkpointed_in = Some(included.block_number);
	}
}

#[tokio::test]
async fn a_killed_node_restarts_catches_up_and_agrees_on_state() {
	let _turn = crate::turn().await;
	let mut net = Testnet::start("crash-restart").await;
	let alice = Chain::connect(net.node("alice")).await;
	let mut stream = Stream::start(Chain::connect(net.node("alice")).await);

	// Let a few registrations finalize, then crash Charlie.
	let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
	while stream.seen().await.len() < BEFORE_KILL {
		assert!(tokio::time::Instant::now() < deadline, "the stream stalled before the kill");
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	net.node("charlie").kill();
	let before_kill = stream.seen().await;
	let at_kill = heights_of(net.node("alice")).await.expect("alice answers");
	net.print_heights(&format!("SIGKILL charlie after {} registrations", before_kill.len())).await;

	// The others go on finalizing (and the stream goes on) without him.
	net.wait_all_finalized(at_kill.finalized + 5).await;
	net.print_heights("without charlie").await;

	net.node("charlie").start();
	let streamed = stream.finish().await;
	let target = heights_of(net.node("alice")).await.expect("alice answers").finalized;
	net.wait_all_finalized(target).await;
	net.print_heights("charlie restarted, stream finished").await;
	println!("{} registrations streamed ({} before the kill):", streamed.len(), before_kill.len());
	for s in &streamed {
		println!(
			"  {:?} registered in #{}, checkpointed in {:?}",
			s.public, s.registered_in, s.checkpointed_in
		);
	}
	assert!(streamed.len() > before_kill.len(), "the stream went on while charlie was down");

	// Charlie's state at the target height holds every registration and checkpoint.
	let target = u32::try_from(target).expect("small");
	let charlie = Chain::connect(net.node("charlie")).await;
	let at = charlie.block_hash(target).await;
	assert_eq!(at, alice.block_hash(target).await, "charlie is on the same chain");
	for s in &streamed {
		let registration = charlie
			.registration_at(&s.public, at)
			.await
			.unwrap_or_else(|| panic!("charlie's state lacks {:?}", s.public));
		assert_eq!(registration.state.nonce, 1, "{:?}: checkpoint in charlie's state", s.public);
	}

	// And the same state root as everyone else.
	let expected = alice.header(at).await.state_root;
	for validator in VALIDATORS {
		let chain = Chain::connect(net.node(validator)).await;
		let header = chain.header(chain.block_hash(target).await).await;
		println!("{validator}: #{target} state root {:?}", header.state_root);
		assert_eq!(header.state_root, expected, "{validator}'s state root at #{target}");
	}
}
