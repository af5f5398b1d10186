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
		let number = self.block_number(hash).await?;
		let events =
			crate::calls::adjudicator_events(self.events(hash).await?.into_iter().map(|(_, e)| e));
		Ok(Block { number, hash, events })
	}

	/// Every finalized block from the one after the current finalized head on, in order and
	/// without gaps, with its adjudicator events. The stream ends with an error if the node
	/// cannot be reached again within the reconnection timeout.
	pub fn finalized_blocks(&self) -> impl Stream<Item = Result<Block>> + '_ {
		self.block_stream(true)
	}

	/// Each new best block, with its adjudicator events (best blocks may be reorganized away;
	/// numbers can repeat).
	pub fn best_blocks(&self) -> impl Stream<Item = Result<Block>> + '_ {
		self.block_stream(false)
	}

	/// Polls the head every 500 ms: polling survives reconnections and restarts of the node,
	/// which a subscription does not, and costs one request per poll.
	fn block_stream(&self, finalized: bool) -> impl Stream<Item = Result<Block>> + '_ {
		struct State {
			next: Option<BlockNumber>,
			last_best: Option<H256>,
			pending: std::collections::VecDeque<H256>,
		}
		let state = State { next: None, last_best: None, pending: Default::default() };
		stream::unfold(Some(state), move |state| async move {
			let mut state = state?;
			loop {
				if let Some(hash) = state.pending.pop_front() {
					return match self.block(hash).await {
						Ok(block) => Some((Ok(block), Some(state))),
						Err(error) => Some((Err(error), None)),
					};
				}
				let step = async {
					if finalized {
						let head = self.finalized_number().await?;
						let next = *state.next.get_or_insert(head.saturating_add(1));
						for number in next..=head {
							let hash = self
								.block_hash(number)
								.await?
								.ok_or(Error::NotFound("a finalized block"))?;
							state.pending.push_back(hash);
						}
						state.next = Some(next.max(head.saturating_add(1)));
					} else {
						let best = self.best_hash().await?;
						if state.last_best != Some(best) {
							if state.last_best.is_some() {
								state.pending.push_back(best);
							}
							state.last_best = Some(best);
						}
					}
					Ok::<_, Error>(())
				};
				if let Err(error) = step.await {
					return Some((Err(error), None));
				}
				if state.pending.is_empty() {
					tokio::time::sleep(std::time::Duration::from_millis(500)).await;
				}
			}
		})
		.boxed()
	}
}
