//! Keeps the gateway's view current from the node: connects (with backoff), then follows the
//! best chain block by block. Each block's adjudicator events update the cached keys before the
//! block becomes the head, so a key revoked in block `n` is refused from the moment the gateway
//! records block `n`.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use futures::{future, StreamExt};
use session_keys_client::{Block, BlockNumber, Client, ConnectOptions, KeyRecord};
use session_keys_primitives::SessionPublic;
use sp_core::H256;

use crate::{
	chain::{keys_changed_by, Chain, NodeChain},
	gateway::NewBlock,
	Gateway,
};

/// The longest pause between connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Connects to the node at `url` (retrying with backoff, forever) and follows its best chain.
/// Runs until the task is dropped or aborted; a lost connection is logged and retried, the
/// gateway serving from its cache meanwhile (see [`crate::Settings::max_head_age`]).
pub async fn follow(gateway: Arc<Gateway<NodeChain>>, url: String, options: ConnectOptions) {
	let client = connect(&url, options).await;
	let client = gateway.chain().set_client(client);
	gateway.set_genesis(client.genesis_hash());
	let mut backoff = Duration::from_millis(500);
	loop {
		match client.constant::<BlockNumber>("Adjudicator", "HeaderValidity").await {
			Ok(validity) => {
				gateway.set_header_validity(validity);
				break;
			}
			Err(error) => {
				tracing::warn!(%error, "cannot read HeaderValidity; retrying in {backoff:?}");
				tokio::time::sleep(backoff).await;
				backoff = (backoff * 2).min(MAX_BACKOFF);
			}
		}
	}
	// Aura's slot is twice the timestamp's minimum period. Every replica sharing used headers
	// through Redis must agree on the window's length, so it is read, not assumed.
	let mut backoff = Duration::from_millis(500);
	loop {
		match client.constant::<u64>("Timestamp", "MinimumPeriod").await {
			Ok(period) => {
				gateway.set_block_time(Duration::from_millis(period.saturating_mul(2)));
				break;
			}
			Err(error) => {
				tracing::warn!(%error, "cannot read Timestamp.MinimumPeriod; retrying in {backoff:?}");
				tokio::time::sleep(backoff).await;
				backoff = (backoff * 2).min(MAX_BACKOFF);
			}
		}
	}
	tracing::info!(node = %url, genesis = ?client.genesis_hash(), "following the best chain");
	let mut blocks = client.best_blocks();
	let mut reachable = true;
	while let Some(item) = blocks.next().await {
		match item {
			Ok(block) => {
				if !reachable {
					tracing::info!(block = block.number, "node reachable again");
					reachable = true;
				}
				record(&gateway, client, block).await;
			}
			Err(error) if reachable => {
				reachable = false;
				tracing::warn!(
					%error,
					"node unreachable; serving from the cache until the newest block is too old"
				);
			}
			Err(error) => tracing::debug!(%error, "node still unreachable"),
		}
	}
}

/// Dials until the node answers.
async fn connect(url: &str, options: ConnectOptions) -> Client {
	let mut backoff = Duration::from_millis(500);
	loop {
		match Client::connect_with(url, options.clone()).await {
			Ok(client) => return client,
			Err(error) => {
				tracing::warn!(node = url, %error, "cannot connect; retrying in {backoff:?}");
				tokio::time::sleep(backoff).await;
				backoff = (backoff * 2).min(MAX_BACKOFF);
			}
		}
	}
}

/// Records one new best block: checks it extends the recorded chain (else forgets the caches
/// and reads the window's hashes again), reads the keys its events changed, makes it the head,
/// then reads the balances of the owners active since the last block.
async fn record(gateway: &Gateway<NodeChain>, client: &Client, block: Block) {
	let parent = block.number.checked_sub(1);
	let extends = match (parent, parent.and_then(|p| gateway.recorded_hash(p))) {
		(None, _) => true,
		(Some(_), None) => false,
		(Some(parent), Some(recorded)) => match client.block_hash(parent).await {
			Ok(Some(hash)) => hash == recorded,
			_ => false,
		},
	};
	if !extends {
		if gateway.head().is_some() {
			gateway.metrics.reorgs.inc();
			tracing::info!(
				block = block.number,
				"the best chain changed; reading the window again"
			);
		}
		match window_before(gateway, client, block.number).await {
			Ok(blocks) => gateway.replace_window(blocks),
			Err(error) => {
				// The old view stays until its head is too old (then the gateway fails closed).
				tracing::warn!(%error, block = block.number, "cannot read the recent block hashes");
				return;
			}
		}
	}

	let keys: BTreeSet<SessionPublic> = block.events.iter().flat_map(keys_changed_by).collect();
	let changed = future::join_all(keys.into_iter().map(|public| async move {
		if !gateway.is_cached(&public) {
			return (public, None);
		}
		match gateway.chain().key(public, block.hash).await {
			Ok(state) => (public, Some(state)),
			Err(error) => {
				tracing::debug!(?public, %error, "cannot read a changed key; dropped from the cache");
				(public, None)
			}
		}
	}))
	.await;
	for (public, state) in &changed {
		tracing::info!(block = block.number, key = ?public, state = ?state.as_ref().map(describe), "key changed");
	}
	gateway.record_block(NewBlock { number: block.number, hash: block.hash, changed });

	let owners = gateway.take_active_owners();
	let balances = future::join_all(owners.into_iter().map(|owner| async move {
		let balance = gateway.chain().free_balance(owner.clone(), block.hash).await;
		(owner, balance)
	}))
	.await;
	for (owner, balance) in balances {
		match balance {
			Ok(balance) => gateway.record_balance(owner, balance, block.number),
			Err(error) => tracing::debug!(%owner, %error, "cannot read a balance"),
		}
	}
	gateway.forget_idle(block.number);
}

fn describe(state: &KeyRecord) -> &'static str {
	match state {
		KeyRecord::Unknown => "unknown",
		KeyRecord::Retired(_) => "ended",
		KeyRecord::Registered(session) if session.revoked => "revoked",
		KeyRecord::Registered(_) => "registered",
	}
}

/// The hashes of the window's blocks before `number`, read by number from the node.
async fn window_before(
	gateway: &Gateway<NodeChain>,
	client: &Client,
	number: BlockNumber,
) -> Result<Vec<(BlockNumber, H256)>, session_keys_client::Error> {
	let first = number.saturating_sub(gateway.header_validity());
	future::try_join_all((first..number).map(|n| async move {
		let hash = client
			.block_hash(n)
			.await?
			.ok_or(session_keys_client::Error::NotFound("a block by number"))?;
		Ok::<_, session_keys_client::Error>((n, hash))
	}))
	.await
}
