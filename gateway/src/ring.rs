//! The hashes of the recent blocks of the best chain, for the freshness check.
//!
//! The runtime's `authenticate`, run at block `n`, accepts the hashes of blocks
//! `n - HeaderValidity ..= n - 1`: block `n`'s own hash is not in its state. The ring applies
//! the same window to the newest block it knows, so the gateway and the runtime agree on every
//! header (a header naming the newest block is accepted from the next block on, on both).

use std::collections::{HashMap, VecDeque};

use session_keys_client::BlockNumber;
use sp_core::H256;

/// The recent blocks of the best chain, newest last.
#[derive(Debug)]
pub struct BlockRing {
	/// How many blocks before the newest one are fresh (`HeaderValidity`).
	validity: BlockNumber,
	/// `(number, hash)`, consecutive numbers, oldest first.
	blocks: VecDeque<(BlockNumber, H256)>,
	/// The numbers of the hashes in `blocks`.
	numbers: HashMap<H256, BlockNumber>,
}

impl BlockRing {
	/// An empty ring whose window is `validity` blocks.
	pub fn new(validity: BlockNumber) -> Self {
		Self { validity, blocks: VecDeque::new(), numbers: HashMap::new() }
	}

	/// The window: how many blocks before the newest one are fresh.
	pub fn validity(&self) -> BlockNumber {
		self.validity
	}

	/// Records block `number` with `hash` as the newest block. A number at or below the newest
	/// one (a reorganization) drops the blocks from that number on first; a gap (blocks missed)
	/// drops everything before it, so the ring never holds a hash of another branch.
	pub fn push(&mut self, number: BlockNumber, hash: H256) {
		while self.blocks.back().is_some_and(|(newest, _)| *newest >= number) {
			self.pop_newest();
		}
		if self.blocks.back().is_some_and(|(newest, _)| newest.saturating_add(1) != number) {
			self.clear();
		}
		self.blocks.push_back((number, hash));
		self.numbers.insert(hash, number);
		let oldest_kept = number.saturating_sub(self.validity);
		while self.blocks.front().is_some_and(|(oldest, _)| *oldest < oldest_kept) {
			if let Some((_, hash)) = self.blocks.pop_front() {
				self.numbers.remove(&hash);
			}
		}
	}

	fn pop_newest(&mut self) {
		if let Some((_, hash)) = self.blocks.pop_back() {
			self.numbers.remove(&hash);
		}
	}

	/// Forgets every block.
	pub fn clear(&mut self) {
		self.blocks.clear();
		self.numbers.clear();
	}

	/// The newest block, if any.
	pub fn head(&self) -> Option<(BlockNumber, H256)> {
		self.blocks.back().copied()
	}

	/// The hash of block `number`, if the ring holds it.
	pub fn hash_of(&self, number: BlockNumber) -> Option<H256> {
		let (oldest, _) = self.blocks.front()?;
		let index = usize::try_from(number.checked_sub(*oldest)?).ok()?;
		self.blocks.get(index).map(|(_, hash)| *hash)
	}

	/// The number of the block `hash` if it is fresh: one of the `validity` blocks before the
	/// newest one.
	pub fn fresh(&self, hash: &H256) -> Option<BlockNumber> {
		let (head, _) = self.head()?;
		let number = *self.numbers.get(hash)?;
		(number < head && number >= head.saturating_sub(self.validity)).then_some(number)
	}

	/// How many blocks the ring holds.
	pub fn len(&self) -> usize {
		self.blocks.len()
	}

	/// Whether the ring holds no block.
	pub fn is_empty(&self) -> bool {
		self.blocks.is_empty()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn hash(n: u32) -> H256 {
		H256::from_low_u64_be(u64::from(n) + 1)
	}

	fn ring_to(head: u32, validity: u32) -> BlockRing {
		let mut ring = BlockRing::new(validity);
		for n in 0..=head {
			ring.push(n, hash(n));
		}
		ring
	}

	#[test]
	fn the_window_is_the_validity_blocks_before_the_newest() {
		let ring = ring_to(20, 5);
		assert_eq!(ring.fresh(&hash(20)), None, "the newest block is fresh from the next one on");
		for n in 15..20 {
			assert_eq!(ring.fresh(&hash(n)), Some(n));
		}
		assert_eq!(ring.fresh(&hash(14)), None);
		assert_eq!(ring.fresh(&hash(99)), None);
		assert_eq!(ring.len(), 6);
	}

	#[test]
	fn near_genesis_the_window_starts_at_block_zero() {
		let ring = ring_to(2, 5);
		assert_eq!(ring.fresh(&hash(0)), Some(0));
		assert_eq!(ring.fresh(&hash(1)), Some(1));
		assert_eq!(ring.fresh(&hash(2)), None);
	}

	#[test]
	fn a_reorganization_drops_the_retracted_blocks() {
		let mut ring = ring_to(10, 5);
		let fork = H256::repeat_byte(0xf0);
		ring.push(9, fork);
		assert_eq!(ring.head(), Some((9, fork)));
		assert_eq!(ring.fresh(&hash(9)), None);
		assert_eq!(ring.fresh(&hash(10)), None);
		ring.push(10, H256::repeat_byte(0xf1));
		assert_eq!(ring.fresh(&fork), Some(9));
		assert_eq!(ring.hash_of(9), Some(fork));
	}

	#[test]
	fn a_gap_clears_the_ring() {
		let mut ring = ring_to(10, 5);
		ring.push(13, hash(13));
		assert_eq!(ring.len(), 1);
		assert_eq!(ring.fresh(&hash(9)), None);
	}
}
