//! The four validators of the `local_testnet` preset (Alice, Bob, Charlie, Dave), each a node
//! process on loopback with its own base path, ports and fixed network key, every node listing
//! the other three as bootnodes. Any one of them can be stopped, killed and restarted on its
//! base path; dropping the testnet stops them all and removes the base paths.

use std::{
	io::Write,
	process::{Command, Stdio},
	time::{Duration, Instant},
};

use codec::Decode;
use session_keys_runtime::{
	genesis_config_presets::{dev_session_keys, LOCAL_TESTNET_VALIDATORS},
	BlockNumber, Header, Runtime,
};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_core::H256;
use sp_runtime::DigestItem;

use crate::{
	node::{binary, finalized_number, Rpc, START_TIMEOUT},
	Chain, Node,
};

/// The validators' names, in the preset's order; also the `--alice` ... `--dave` flags.
pub const VALIDATORS: [&str; 4] = ["alice", "bob", "charlie", "dave"];

/// How often the testnet's RPC is polled while waiting.
const POLL: Duration = Duration::from_millis(500);

/// Four validator nodes of one chain.
pub struct Testnet {
	/// The nodes, in [`VALIDATORS`] order. Declared before the base directory so they stop
	/// before it is removed.
	pub nodes: Vec<Node>,
	base: tempfile::TempDir,
}

/// One node's view of the chain.
#[derive(Clone, Copy, Debug)]
pub struct Heights {
	/// The best block's number.
	pub best: u64,
	/// The finalized block's number.
	pub finalized: u64,
}

impl Testnet {
	/// Starts the four validators and waits until every one of them has finalized block #1.
	pub async fn start(test: &str) -> Testnet {
		let base = tempfile::Builder::new()
			.prefix(&format!("session-keys-testnet-{test}-"))
			.tempdir()
			.expect("the temp dir is writable");
		let node_keys: Vec<String> = (1..=VALIDATORS.len()).map(|i| format!("{i:064x}")).collect();
		let mut nodes: Vec<Node> = VALIDATORS
			.iter()
			.zip(&node_keys)
			.map(|(validator, node_key)| {
				let base_path = base.path().join(validator);
				Node::new(
					&format!("{test}-{validator}"),
					&[
						"--chain",
						"local",
						&format!("--{validator}"),
						"--base-path",
						base_path.to_str().expect("temp paths are UTF-8"),
						"--node-key",
						node_key,
					],
				)
			})
			.collect();
		let addresses: Vec<String> =
			nodes.iter().zip(&node_keys).map(|(node, key)| node.multiaddr(&peer_id(key))).collect();
		for (i, node) in nodes.iter_mut().enumerate() {
			let others = addresses.iter().enumerate().filter(|(j, _)| *j != i);
			node.push_args(others.flat_map(|(_, address)| ["--bootnodes".into(), address.clone()]));
			node.start();
		}
		let mut testnet = Testnet { nodes, base };
		for node in &mut testnet.nodes {
			node.wait_until_finalizing(1).await;
		}
		println!("testnet up in {}", testnet.base.path().display());
		testnet
	}

	/// The node of validator `name`.
	pub fn node(&mut self, name: &str) -> &mut Node {
		let index = VALIDATORS.iter().position(|v| *v == name).expect("a validator's name");
		&mut self.nodes[index]
	}

	/// Each running node's best and finalized block numbers (`None` for a stopped node).
	pub async fn heights(&mut self) -> Vec<Option<Heights>> {
		let mut heights = Vec::new();
		for node in &mut self.nodes {
			heights.push(if node.is_running() { heights_of(node).await } else { None });
		}
		heights
	}

	/// Prints every node's heights, prefixed with `when`.
	pub async fn print_heights(&mut self, when: &str) {
		let heights = self.heights().await;
		let line: Vec<String> = VALIDATORS
			.iter()
			.zip(heights)
			.map(|(name, h)| match h {
				Some(h) => format!("{name} best #{} finalized #{}", h.best, h.finalized),
				None => format!("{name} down"),
			})
			.collect();
		println!("[{when}] {}", line.join(" | "));
	}

	/// Waits until every running node has finalized block `height`; panics after a generous
	/// per-block allowance, printing the heights it saw.
	pub async fn wait_all_finalized(&mut self, height: u64) {
		let start = Instant::now();
		let lowest = self.lowest_finalized().await;
		let allowance = START_TIMEOUT + Duration::from_secs(15 * height.saturating_sub(lowest));
		loop {
			if self.lowest_finalized().await >= height {
				return;
			}
			if start.elapsed() > allowance {
				self.print_heights("timeout").await;
				panic!("not every running node finalized #{height} within {allowance:?}");
			}
			tokio::time::sleep(POLL).await;
		}
	}

	/// The lowest finalized block number among the running nodes.
	pub async fn lowest_finalized(&mut self) -> u64 {
		self.heights().await.into_iter().flatten().map(|h| h.finalized).min().unwrap_or(0)
	}
}

/// `node`'s best and finalized block numbers, if its RPC answers.
pub async fn heights_of(node: &mut Node) -> Option<Heights> {
	heights_at(&node.ws_url()).await
}

/// The best and finalized block numbers of the node at `ws_url`, if its RPC answers.
pub async fn heights_at(ws_url: &str) -> Option<Heights> {
	let rpc = Rpc::new(subxt::rpcs::RpcClient::from_insecure_url(ws_url).await.ok()?);
	let best = rpc.chain_get_header(None).await.ok()??.number;
	let finalized = finalized_number(&rpc).await?;
	Some(Heights { best, finalized })
}

/// The libp2p peer id of a hex ed25519 network key, as the node derives it
/// (`session-keys-node key inspect-node-key`).
pub fn peer_id(node_key: &str) -> String {
	let mut child = Command::new(binary())
		.args(["key", "inspect-node-key"])
		.stdin(Stdio::piped())
		.stdout(Stdio::piped())
		.spawn()
		.expect("the node binary runs");
	child
		.stdin
		.take()
		.expect("piped stdin")
		.write_all(node_key.as_bytes())
		.expect("the key is written");
	let output = child.wait_with_output().expect("inspect-node-key finishes");
	assert!(output.status.success(), "inspect-node-key failed");
	String::from_utf8(output.stdout).expect("UTF-8 peer id").trim().to_string()
}

/// Who authored a block: the Aura slot in its pre-runtime digest picks the author among the
/// Aura authorities of its parent's state.
#[derive(Clone, Debug)]
pub struct Authorship {
	/// The block's number.
	pub number: BlockNumber,
	/// The Aura slot.
	pub slot: u64,
	/// The Aura key that sealed it.
	pub key: AuraId,
}

impl Authorship {
	/// The validator whose genesis Aura key this is, or the key itself.
	pub fn author_name(&self) -> String {
		VALIDATORS
			.iter()
			.zip(LOCAL_TESTNET_VALIDATORS)
			.find(|(_, validator)| dev_session_keys(*validator).aura == self.key)
			.map(|(name, _)| name.to_string())
			.unwrap_or_else(|| format!("{:?}", self.key))
	}
}

impl Chain {
	/// The header of block `hash`, with its digest.
	pub async fn header(&self, hash: H256) -> Header {
		self.request("chain_getHeader", jsonrpsee::rpc_params![hash])
			.await
			.unwrap_or_else(|e| panic!("header of {hash:?}: {e}"))
	}

	/// The Aura authorities in the state of block `hash`.
	pub async fn aura_authorities(&self, hash: H256) -> Vec<AuraId> {
		let key = pallet_aura::Authorities::<Runtime>::hashed_key();
		self.storage(&key, hash).await.unwrap_or_default()
	}

	/// The GRANDPA authority set id in the state of block `hash`.
	pub async fn grandpa_set_id(&self, hash: H256) -> u64 {
		let key = pallet_grandpa::CurrentSetId::<Runtime>::hashed_key();
		self.storage(&key, hash).await.unwrap_or_default()
	}

	/// Who authored the block `hash`.
	pub async fn authorship(&self, hash: H256) -> Authorship {
		let header = self.header(hash).await;
		let slot = header
			.digest
			.logs
			.iter()
			.find_map(|item| match item {
				DigestItem::PreRuntime(engine, data) if *engine == *b"aura" => {
					u64::decode(&mut &data[..]).ok()
				}
				_ => None,
			})
			.expect("every block carries its Aura slot");
		let authorities = self.aura_authorities(header.parent_hash).await;
		let index = usize::try_from(slot % authorities.len() as u64).expect("small index");
		Authorship { number: header.number, slot, key: authorities[index].clone() }
	}

	/// The authorship of blocks `from..=to` on the best chain.
	pub async fn authors(&self, from: BlockNumber, to: BlockNumber) -> Vec<Authorship> {
		let mut authors = Vec::new();
		for number in from..=to {
			authors.push(self.authorship(self.block_hash(number).await).await);
		}
		authors
	}
}

/// Prints one line per block: number, slot, author.
pub fn print_authors(authors: &[Authorship]) {
	for a in authors {
		println!("  #{:<4} slot {} author {}", a.number, a.slot, a.author_name());
	}
}
