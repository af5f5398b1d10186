//! One-time headers (the default; `--reusable-headers` turns them off): each `(key, nonce)` is
//! accepted once.
//!
//! A header is fresh only while its block is in the window, so an entry is kept until its
//! block leaves the window and then forgotten: a replay after that is refused as stale anyway.
//! Memory is bounded by the headers accepted within one window, which the rate limits bound.

use std::collections::{BTreeMap, HashSet};

use session_keys_client::BlockNumber;
use session_keys_primitives::SessionPublic;

/// The `(key, nonce)` pairs accepted within the window.
#[derive(Default, Debug)]
pub struct SeenNonces {
	seen: HashSet<(SessionPublic, u64)>,
	/// The pairs to forget, by the last block at which their header is fresh.
	by_expiry: BTreeMap<BlockNumber, Vec<(SessionPublic, u64)>>,
}

impl SeenNonces {
	/// Records `(public, nonce)`, fresh up to block `fresh_until`; `false` if it was already
	/// seen (a replay).
	pub fn first_use(
		&mut self,
		public: SessionPublic,
		nonce: u64,
		fresh_until: BlockNumber,
	) -> bool {
		if !self.seen.insert((public, nonce)) {
			return false;
		}
		self.by_expiry.entry(fresh_until).or_default().push((public, nonce));
		true
	}

	/// Whether `(public, nonce)` was accepted within the window.
	pub fn contains(&self, public: &SessionPublic, nonce: u64) -> bool {
		self.seen.contains(&(*public, nonce))
	}

	/// Forgets the pairs whose header is no longer fresh at block `head`.
	pub fn forget_before(&mut self, head: BlockNumber) {
		let keep = self.by_expiry.split_off(&head);
		for pair in std::mem::replace(&mut self.by_expiry, keep).into_values().flatten() {
			self.seen.remove(&pair);
		}
	}

	/// How many pairs are remembered.
	pub fn len(&self) -> usize {
		self.seen.len()
	}

	/// Whether none is remembered.
	pub fn is_empty(&self) -> bool {
		self.seen.is_empty()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_pair_is_accepted_once_within_the_window_and_forgotten_after() {
		let key = SessionPublic::Sr25519([1; 32].into());
		let mut seen = SeenNonces::default();
		assert!(seen.first_use(key, 7, 110));
		assert!(!seen.first_use(key, 7, 110));
		assert!(seen.first_use(key, 8, 110));
		assert!(seen.first_use(SessionPublic::Ed25519([1; 32].into()), 7, 110));
		seen.forget_before(110);
		assert_eq!(seen.len(), 3, "still fresh at block 110");
		seen.forget_before(111);
		assert!(seen.is_empty());
	}
}
