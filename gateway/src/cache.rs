//! The key cache: registered keys and absent ones (never registered, or ended) in two LRUs, so
//! a flood of headers by made-up keys evicts only other absent keys, never a live one.

use std::num::NonZeroUsize;

use lru::LruCache;
use session_keys_primitives::SessionPublic;

use session_keys_client::KeyRecord;

use crate::verify::KeyPoint;

/// A cached key: its state as of the newest block the gateway recorded.
#[derive(Clone, Debug)]
pub(crate) struct CachedKey {
	pub(crate) state: KeyRecord,
	/// Whether the key binds someone (`SessionPublic::check_key`), checked once when cached.
	pub(crate) binds: bool,
	/// A live sr25519 key's point, decompressed once for batch verification.
	pub(crate) point: Option<KeyPoint>,
}

impl CachedKey {
	pub(crate) fn new(public: &SessionPublic, state: KeyRecord) -> Self {
		// Asked only of a live key, so only a registered key's point is worth checking.
		let binds = matches!(state, KeyRecord::Registered(_)) && public.check_key().is_ok();
		let point = if binds { KeyPoint::of(public) } else { None };
		Self { state, binds, point }
	}
}

/// Registered keys and absent keys, each in an LRU of `capacity`.
pub(crate) struct KeyCache {
	registered: LruCache<SessionPublic, CachedKey>,
	absent: LruCache<SessionPublic, CachedKey>,
}

impl KeyCache {
	pub(crate) fn new(capacity: NonZeroUsize) -> Self {
		Self { registered: LruCache::new(capacity), absent: LruCache::new(capacity) }
	}

	pub(crate) fn get(&mut self, public: &SessionPublic) -> Option<&CachedKey> {
		if self.registered.contains(public) {
			return self.registered.get(public);
		}
		self.absent.get(public)
	}

	pub(crate) fn put(&mut self, public: SessionPublic, cached: CachedKey) {
		self.pop(&public);
		match cached.state {
			KeyRecord::Registered(_) => self.registered.put(public, cached),
			KeyRecord::Unknown | KeyRecord::Retired(_) => self.absent.put(public, cached),
		};
	}

	pub(crate) fn contains(&self, public: &SessionPublic) -> bool {
		self.registered.contains(public) || self.absent.contains(public)
	}

	pub(crate) fn pop(&mut self, public: &SessionPublic) {
		self.registered.pop(public);
		self.absent.pop(public);
	}

	pub(crate) fn clear(&mut self) {
		self.registered.clear();
		self.absent.clear();
	}

	/// How many registered keys it holds.
	pub(crate) fn registered(&self) -> usize {
		self.registered.len()
	}

	/// How many keys it holds.
	pub(crate) fn len(&self) -> usize {
		self.registered.len() + self.absent.len()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn key(n: u8) -> SessionPublic {
		SessionPublic::Ed25519([n; 32].into())
	}

	#[test]
	fn absent_keys_never_evict_registered_ones() {
		let mut cache = KeyCache::new(NonZeroUsize::new(2).unwrap());
		let live = KeyRecord::Registered(crate::chain::tests::registration(10, false));
		cache.put(key(1), CachedKey::new(&key(1), live.clone()));
		for n in 10..50 {
			cache.put(key(n), CachedKey::new(&key(n), KeyRecord::Unknown));
		}
		assert!(cache.contains(&key(1)));
		assert_eq!((cache.registered(), cache.len()), (1, 3));
		// A key registered after it was seen unknown moves over.
		cache.put(key(49), CachedKey::new(&key(49), live));
		assert_eq!((cache.registered(), cache.len()), (2, 3));
	}
}
