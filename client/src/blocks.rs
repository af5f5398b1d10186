//! Streams of blocks with the adjudicator's events decoded: every finalized block in order
//! (gaps in the node's finality notifications are filled), or each new best block.

use futures::{stream, Stream, StreamExt};
use session_keys_runtime::RuntimeEvent;
use sp_core::H256;

use crate::{AdjudicatorEvent, At, BlockNumber, Client, Error, Result};

/// A block and what the adjudicator did in it.
#[derive(Clone, Debug)]
pub struct Block {
	/// The block's number.
	pub number: BlockNumber,
	/// The block's hash.
	pub hash: H256,
	/// The adjudicator's events of the block (settlements in `on_initialize` included), in
	/// order.
	pub events: Vec<AdjudicatorEvent>,
}

impl Client {
	/// Every event of the block `hash`, with its phase.
	pub async fn events(&self, hash: H256) -> Result<Vec<(frame_system::Phase, RuntimeEvent)>> {
		// frame-system keeps `Events` private; its key is the standard `System` / `Events` prefix.
		let key = frame_support::storage::storage_prefix(b"System", b"Events");
		let records: Option<Vec<frame_system::EventRecord<RuntimeEvent, H256>>> =
			self.storage(&key, At::Hash(hash)).await?;
		Ok(records.unwrap_or_default().into_iter().map(|r| (r.phase, r.event)).collect())
	}

	/// The block `hash` with its adjudicator events.
	pub async fn block(&self, hash: H256) -> Result<Block> {
		self.block_numbered(self.block_number(hash).await?, hash).await
	}

	/// The block `hash`, whose number the caller knows already, with its adjudicator events.
	async fn block_numbered(&self, number: BlockNumber, hash: H256) -> Result<Block> {
		let events =
			crate::calls::adjudicator_events(self.events(hash).await?.into_iter().map(|(_, e)| e));
		Ok(Block { number, hash, events })
	}

	/// Every finalized block from the one after the current finalized head on, in order and
	/// without gaps, with its adjudicator events.
	///
	/// A request that fails (the node is away longer than the reconnection timeout, say) comes
	/// out as an `Err` item and the stream goes on from where it was at the next poll: drop it
	/// to stop.
	pub fn finalized_blocks(&self) -> impl Stream<Item = Result<Block>> + '_ {
		self.block_stream(Head::Finalized)
	}

	/// The blocks of the best chain as it grows, with their adjudicator events: every number
	/// from the one after the current best block on (after a reorganization, the new branch's
	/// blocks from the first height not yet seen). Errors as for
	/// [`Client::finalized_blocks`].
	pub fn best_blocks(&self) -> impl Stream<Item = Result<Block>> + '_ {
		self.block_stream(Head::Best)
	}

	/// Polls the head every 500 ms and fills the gaps by number: polling survives reconnection
	/// and restarts of the node, which a subscription does not, and costs one request a poll.
	fn block_stream(&self, head: Head) -> impl Stream<Item = Result<Block>> + '_ {
		let state = State { next: None, pending: Default::default() };
		stream::unfold(state, move |mut state| async move {
			loop {
				if let Some((number, hash)) = state.pending.pop_front() {
					let block = self.block_numbered(number, hash).await;
					if block.is_err() {
						// Fetched again at the next poll (not at once, so an error that persists
						// does not spin): the stream never skips a block.
						state.pending.push_front((number, hash));
						tokio::time::sleep(POLL).await;
					}
					return Some((block, state));
				}
				if let Err(error) = self.poll_head(head, &mut state).await {
					return Some((Err(error), state));
				}
				if state.pending.is_empty() {
					tokio::time::sleep(POLL).await;
				}
			}
		})
		.boxed()
	}

	/// Queues the hashes of the blocks from `state.next` up to the head.
	async fn poll_head(&self, head: Head, state: &mut State) -> Result<()> {
		let top = match head {
			Head::Finalized => self.finalized_number().await?,
			Head::Best => self.best_number().await?,
		};
		let next = *state.next.get_or_insert(top.saturating_add(1));
		for number in next..=top {
			let hash =
				self.block_hash(number).await?.ok_or(Error::NotFound("a block by number"))?;
			state.pending.push_back((number, hash));
			state.next = Some(number.saturating_add(1));
		}
		Ok(())
	}
}

/// Which head a block stream follows.
#[derive(Clone, Copy)]
enum Head {
	Finalized,
	Best,
}

/// Where a block stream is.
struct State {
	/// The next block number to yield.
	next: Option<BlockNumber>,
	/// Blocks (number and hash) found but not yet yielded.
	pending: std::collections::VecDeque<(BlockNumber, H256)>,
}

/// How often a block stream polls the head.
const POLL: std::time::Duration = std::time::Duration::from_millis(500);
