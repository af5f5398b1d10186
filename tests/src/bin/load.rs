//! Load generator: how many `register` extrinsics the dev chain includes, against
//! `balances.transfer_keep_alive` under the same load.
//!
//! ```sh
//! cargo build --workspace --bins && target/debug/session-keys-load [COUNT] [ws://127.0.0.1:9944]
//! ```
//!
//! Without a URL it starts its own dev node (`SESSION_KEYS_NODE_BIN`, or the node binary next to
//! this one) on free loopback ports, with a pool large enough for both sets. It funds
//! `COUNT / MaxKeysPerOwner` owner accounts (the runtime's limit of keys per owner), then pre-signs `COUNT`
//! `register` extrinsics (fresh sr25519 keys, each with its ownership proof) and `COUNT`
//! transfers from the same owners with the nonces that follow. Each set is submitted as fast as
//! the pool takes it (`author_submitExtrinsic`, up to 64 requests in flight, retrying while the
//! pool is full), and the blocks are scanned until every extrinsic of the set is included. It
//! prints, for each set, the blocks it spanned, extrinsics per block and per second of chain
//! time (block timestamps) and of wall time, and the ratio of register to transfer throughput.

use std::{
	collections::HashSet,
	time::{Duration, Instant},
};

use session_keys_e2e::{account_of, build, Chain, Node, SessionPair, Terms};
use session_keys_primitives::CryptoKind;
use session_keys_runtime::{AccountId, BlockNumber, Nonce, Runtime, RuntimeCall, UNIT};
use sp_core::{sr25519, Pair, H256};
use sp_runtime::traits::{BlakeTwo256, Hash};
use subxt_signer::sr25519::dev;
use tokio::task::JoinSet;

/// Submissions in flight at once.
const IN_FLIGHT: usize = 64;
/// How long one set may take to be included.
const SET_TIMEOUT: Duration = Duration::from_secs(600);

/// What one set of extrinsics achieved.
struct Throughput {
	label: &'static str,
	count: usize,
	first_block: BlockNumber,
	last_block: BlockNumber,
	chain_seconds: f64,
	wall_seconds: f64,
	/// How many of the set each block from `first_block` on included.
	included: Vec<usize>,
}

impl Throughput {
	fn blocks(&self) -> u32 {
		self.last_block - self.first_block + 1
	}
	fn per_block(&self) -> f64 {
		self.count as f64 / f64::from(self.blocks())
	}
	fn per_chain_second(&self) -> f64 {
		self.count as f64 / self.chain_seconds
	}
	fn per_wall_second(&self) -> f64 {
		self.count as f64 / self.wall_seconds
	}
	/// The most the set put in one block: its capacity, free of how the first and last block
	/// of the span were cut.
	fn fullest_block(&self) -> usize {
		self.included.iter().copied().max().unwrap_or(0)
	}
	fn print(&self) {
		println!(
			"{:<22} {:>6} extrinsics in blocks #{}..=#{} ({} blocks): {:>8.1} per block, {:>8.1} \
			 per second of chain time ({:.1} s), {:>8.1} per second of wall time ({:.1} s)",
			self.label,
			self.count,
			self.first_block,
			self.last_block,
			self.blocks(),
			self.per_block(),
			self.per_chain_second(),
			self.chain_seconds,
			self.per_wall_second(),
			self.wall_seconds,
		);
		println!("{:<22} per block: {:?}", self.label, self.included);
	}
}

#[tokio::main]
async fn main() {
	let mut args = std::env::args().skip(1);
	let count: usize = args.next().map(|n| n.parse().expect("COUNT is a number")).unwrap_or(8000);
	let url = args.next();
	let mut own_node = None;
	let chain = match &url {
		Some(url) => Chain::from_url(url).await.unwrap_or_else(|e| panic!("{e}")),
		None => {
			// A pool large enough for both sets: the load is limited by the chain, not the pool.
			let node = own_node.insert(Node::spawn(
				"load",
				&["--dev", "--tmp", "--pool-limit", "100000", "--pool-kbytes", "2000000"],
			));
			node.wait_until_finalizing(1).await;
			println!("started a dev node at {}", node.ws_url());
			Chain::connect(node).await
		}
	};

	// Keys one owner may hold: `MaxKeysPerOwner` of the chain under load.
	let per_owner: u32 =
		chain.client.constant("Adjudicator", "MaxKeysPerOwner").await.expect("the constant");
	let per_owner = per_owner as usize;
	let owners: Vec<sr25519::Pair> = (0..count.div_ceil(per_owner))
		.map(|i| sr25519::Pair::from_string(&format!("//Load//owner//{i}"), None).expect("a seed"))
		.collect();
	fund(&chain, &owners).await;

	// Pre-sign both sets: owner `i / 32` signs the `i`th register, then the `i`th transfer with
	// the nonce after all of its registers.
	let started = Instant::now();
	let counterpart = account_of(&dev::bob());
	let terms = Terms {
		counterpart: counterpart.clone(),
		duration: None,
		spending_limit: UNIT,
		collateral: UNIT,
		// As in the measured runs: no description, no scope.
		description: Vec::new(),
		scope: Vec::new(),
	};
	let mut register_calls = Vec::with_capacity(count);
	let mut transfer_calls = Vec::with_capacity(count);
	for (j, owner) in owners.iter().enumerate() {
		let account = AccountId::from(owner.public());
		let nonce = Nonce::try_from(chain.next_nonce(&account).await).expect("small nonces");
		let keys = (j * per_owner..count.min((j + 1) * per_owner)).collect::<Vec<_>>();
		for n in 0..keys.len() {
			let pair = SessionPair::generate(CryptoKind::Sr25519);
			let call = build::register(pair.public(), pair.ownership_proof(&account), &terms)
				.expect("fits");
			register_calls.push((owner, call, nonce + n as Nonce));
		}
		for n in 0..keys.len() {
			let call = RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
				dest: counterpart.clone().into(),
				value: UNIT,
			});
			transfer_calls.push((owner, call, nonce + (keys.len() + n) as Nonce));
		}
	}
	let registers = chain.client.presign(register_calls).await.expect("signed");
	let transfers = chain.client.presign(transfer_calls).await.expect("signed");
	println!(
		"pre-signed {count} register and {count} transfer_keep_alive extrinsics from {} owners in \
		 {:.1} s",
		owners.len(),
		started.elapsed().as_secs_f64()
	);

	let register = submit_and_count(&chain, "register", registers).await;
	register.print();
	let transfer = submit_and_count(&chain, "transfer_keep_alive", transfers).await;
	transfer.print();
	let ratio = register.per_chain_second() / transfer.per_chain_second();
	println!(
		"register / transfer_keep_alive in the fullest block: {} / {} = {:.2}",
		register.fullest_block(),
		transfer.fullest_block(),
		register.fullest_block() as f64 / transfer.fullest_block() as f64
	);
	println!(
		"register / transfer_keep_alive throughput: {ratio:.2} (chain time; target >= 0.5), \
		 {:.2} (wall time)",
		register.per_wall_second() / transfer.per_wall_second()
	);
	drop(own_node);
}

/// Sends each owner enough for its keys' deposits and collateral and the transfers, from Alice,
/// and waits until all are included. The transfers are pre-signed and submitted like a load set:
/// no watcher per transfer (hundreds of watchers on one block made subxt fail to fetch that
/// block's header for some of them). The balances then show that every transfer succeeded.
async fn fund(chain: &Chain, owners: &[sr25519::Pair]) {
	const FUNDS: u128 = 1_000 * UNIT;
	let alice = sr25519::Pair::from_string("//Alice", None).expect("the dev seed");
	let nonce = Nonce::try_from(chain.next_nonce(&account_of(&dev::alice())).await).expect("small");
	let calls = owners
		.iter()
		.enumerate()
		.map(|(n, owner)| {
			let call = RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
				dest: AccountId::from(owner.public()).into(),
				value: FUNDS,
			});
			(&alice, call, nonce + n as Nonce)
		})
		.collect();
	let transfers = chain.client.presign(calls).await.expect("signed");
	submit_and_count(chain, "funding", transfers).await;
	for owner in owners {
		let free = chain.balances(&AccountId::from(owner.public())).await.free;
		assert!(free >= FUNDS, "an owner was not funded: {free}");
	}
	println!("funded {} owners", owners.len());
}

/// Submits `extrinsics` as fast as the pool takes them and scans new blocks until all are
/// included.
async fn submit_and_count(
	chain: &Chain,
	label: &'static str,
	extrinsics: Vec<(H256, Vec<u8>)>,
) -> Throughput {
	let count = extrinsics.len();
	let mut waiting: HashSet<H256> = extrinsics.iter().map(|(hash, _)| *hash).collect();
	let start_block = chain.block_number(chain.best_hash().await).await;
	let started = Instant::now();

	let mut in_flight = JoinSet::new();
	for (_, encoded) in extrinsics {
		if in_flight.len() >= IN_FLIGHT {
			in_flight.join_next().await.expect("a task").expect("no panic");
		}
		let rpc = chain.legacy.clone();
		in_flight.spawn(async move {
			// The pool refuses while it is full; wait for blocks to drain it.
			loop {
				match rpc.author_submit_extrinsic(&encoded).await {
					Ok(_) => return,
					Err(e)
						if e.to_string().contains("Immediately Dropped")
							|| e.to_string().contains("limit") =>
					{
						tokio::time::sleep(Duration::from_millis(200)).await
					}
					Err(e) => panic!("the pool refused an extrinsic: {e}"),
				}
			}
		});
	}
	while let Some(done) = in_flight.join_next().await {
		done.expect("no panic");
	}
	let submitted = started.elapsed();

	// Scan each new block for the set's extrinsics.
	let mut next = start_block + 1;
	let (mut first_block, mut last_block) = (None, start_block);
	let mut included = Vec::new();
	while !waiting.is_empty() {
		assert!(started.elapsed() < SET_TIMEOUT, "{label}: {} not included", waiting.len());
		let best = chain.block_number(chain.best_hash().await).await;
		if next > best {
			tokio::time::sleep(Duration::from_millis(200)).await;
			continue;
		}
		let hash = chain.block_hash(next).await;
		let block = chain.legacy.chain_get_block(Some(hash)).await.expect("RPC answers");
		let extrinsics = block.expect("the block exists").block.extrinsics;
		let found =
			extrinsics.iter().filter(|xt| waiting.remove(&BlakeTwo256::hash(&xt.0))).count();
		if found > 0 {
			first_block.get_or_insert(next);
			last_block = next;
		}
		if first_block.is_some() {
			included.push(found);
		}
		next += 1;
	}
	let wall = started.elapsed();
	let first_block = first_block.expect("at least one block");
	let chain_ms = timestamp(chain, last_block).await - timestamp(chain, first_block - 1).await;
	println!(
		"{label}: all {count} submitted in {:.1} s, included by #{last_block}",
		submitted.as_secs_f64()
	);
	Throughput {
		label,
		count,
		first_block,
		last_block,
		chain_seconds: chain_ms as f64 / 1000.0,
		wall_seconds: wall.as_secs_f64(),
		included,
	}
}

/// The timestamp (ms) of block `number`.
async fn timestamp(chain: &Chain, number: BlockNumber) -> u64 {
	let key = pallet_timestamp::Now::<Runtime>::hashed_key();
	chain.storage(&key, chain.block_hash(number).await).await.expect("every block has a time")
}
