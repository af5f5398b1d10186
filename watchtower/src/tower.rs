//! The watchtower's state shared by the intake, the watcher and the HTTP server: what it knows
//! of each key on chain, the newest state it holds of each, and [`Watchtower::submit_state`].

use std::{
	collections::HashMap,
	sync::{Arc, Mutex, MutexGuard},
};

use futures::future::BoxFuture;
use session_keys_client::{
	AccountId, At, BlockNumber, Client, KeyRecord, Registration, SessionPublic,
};
use sp_core::H256;

use crate::{
	metrics::Metrics,
	refusal::{Accepted, StateRefusal, SubmitError},
	signed::SignedState,
	store::{rejection_refusal, Put, StoreHandle},
};

/// Where the watchtower reads what the chain holds of a key. [`Client`] reads it from a node;
/// tests and the benchmark give fixed records.
pub trait ChainReads: Send + Sync {
	/// The record of `public` at the best block, and that block's number.
	fn key_record(
		&self,
		public: SessionPublic,
	) -> BoxFuture<'_, Result<(KeyRecord, BlockNumber), String>>;
}

impl ChainReads for Client {
	fn key_record(
		&self,
		public: SessionPublic,
	) -> BoxFuture<'_, Result<(KeyRecord, BlockNumber), String>> {
		Box::pin(async move {
			let hash = self.best_hash().await.map_err(|e| e.to_string())?;
			let number = self.block_number(hash).await.map_err(|e| e.to_string())?;
			let record = self.key_state(public, At::Hash(hash)).await.map_err(|e| e.to_string())?;
			Ok((record, number))
		})
	}
}

/// What the watchtower knows of a key on chain.
#[derive(Clone, Debug)]
pub struct KeyView {
	/// The record.
	pub record: Arc<KeyRecord>,
	/// The block it was read at.
	pub read_at: BlockNumber,
}

impl KeyView {
	/// The registration, if the key is live or closing.
	pub fn registration(&self) -> Option<&Registration> {
		self.record.registration()
	}
}

#[derive(Default)]
pub(crate) struct Views {
	/// Records of keys seen (registered or retired; unknown keys are not kept).
	pub(crate) keys: HashMap<SessionPublic, KeyView>,
	/// The newest state held of each key not ended.
	pub(crate) newest: HashMap<SessionPublic, SignedState>,
	/// The newest best block seen.
	pub(crate) best: BlockNumber,
}

/// The watchtower: checks and stores states, and knows what the chain holds.
pub struct Watchtower {
	counterpart: AccountId,
	genesis_hash: H256,
	store: StoreHandle,
	chain: Arc<dyn ChainReads>,
	views: Mutex<Views>,
	/// Its metrics.
	pub metrics: Arc<Metrics>,
}

impl Watchtower {
	/// A watchtower for `counterpart` on the chain with `genesis_hash`, writing through `store`
	/// and reading the chain through `chain`, holding `held` (the stored states of keys not
	/// ended).
	pub fn new(
		counterpart: AccountId,
		genesis_hash: H256,
		store: StoreHandle,
		chain: Arc<dyn ChainReads>,
		held: Vec<SignedState>,
		metrics: Arc<Metrics>,
	) -> Self {
		let newest: HashMap<_, _> = held.into_iter().map(|s| (s.public, s)).collect();
		metrics.keys_watched.set(newest.len() as i64);
		Self {
			counterpart,
			genesis_hash,
			store,
			chain,
			views: Mutex::new(Views { newest, ..Default::default() }),
			metrics,
		}
	}

	pub(crate) fn views(&self) -> MutexGuard<'_, Views> {
		self.views.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
	}

	/// The counterpart whose sessions this watchtower keeps.
	pub fn counterpart(&self) -> &AccountId {
		&self.counterpart
	}

	/// The chain's genesis hash (every state signature covers it).
	pub fn genesis_hash(&self) -> H256 {
		self.genesis_hash
	}

	/// The store's write side.
	pub fn store(&self) -> &StoreHandle {
		&self.store
	}

	/// The newest state held for `public` (not ended), if any.
	pub fn newest(&self, public: &SessionPublic) -> Option<SignedState> {
		self.views().newest.get(public).cloned()
	}

	/// Every key held (not ended) with its newest state.
	pub fn held(&self) -> Vec<SignedState> {
		self.views().newest.values().cloned().collect()
	}

	/// What the watchtower knows of `public` on chain, if it read it.
	pub fn view(&self, public: &SessionPublic) -> Option<KeyView> {
		self.views().keys.get(public).cloned()
	}

	/// The newest best block seen.
	pub fn best(&self) -> BlockNumber {
		self.views().best
	}

	/// Records a new best block.
	pub fn set_best(&self, number: BlockNumber) {
		let mut views = self.views();
		views.best = views.best.max(number);
		self.metrics.best_block.set(views.best.into());
	}

	/// Records what the chain holds of `public`, read at block `read_at`.
	pub fn record_view(&self, public: SessionPublic, record: KeyRecord, read_at: BlockNumber) {
		let mut views = self.views();
		if matches!(record, KeyRecord::Unknown) {
			views.keys.remove(&public);
			return;
		}
		let keep = views.keys.get(&public).is_none_or(|old| old.read_at <= read_at);
		if keep {
			views.keys.insert(public, KeyView { record: Arc::new(record), read_at });
		}
	}

	/// Reads `public`'s record from the chain and records it.
	pub async fn refresh(&self, public: SessionPublic) -> Result<KeyView, String> {
		let (record, read_at) = self.chain.key_record(public).await?;
		self.record_view(public, record, read_at);
		Ok(self.view(&public).unwrap_or(KeyView { record: Arc::new(KeyRecord::Unknown), read_at }))
	}

	/// Forgets `public`'s session (ended and final): its state leaves the watch list.
	pub fn forget(&self, public: &SessionPublic) {
		let mut views = self.views();
		views.newest.remove(public);
		views.keys.remove(public);
		self.metrics.keys_watched.set(views.newest.len() as i64);
	}

	/// Checks `signed` and stores it durably before answering: the in-process intake (`POST
	/// /v1/states` calls it too).
	///
	/// The checks, in order: the key binds someone and the signature is the session key's over
	/// the state for this chain; the key is registered with this watchtower's counterpart and
	/// live; the shared rule `Registration::check_state` against the state checkpointed on chain
	/// (nonce above it, owed not below it, owed within the limit that applies now) and, in the
	/// store's writer, against the newest stored state. The exact state stored already is
	/// accepted again as a duplicate (a retry does no harm).
	pub async fn submit_state(&self, signed: SignedState) -> Result<Accepted, SubmitError> {
		let result = self.check_and_store(signed).await;
		if let Err(SubmitError::Refused(refusal)) = &result {
			self.metrics.states_refused.with_label_values(&[refusal.name()]).inc();
		}
		result
	}

	async fn check_and_store(&self, signed: SignedState) -> Result<Accepted, SubmitError> {
		let public = signed.public;
		public.check_key().map_err(StateRefusal::WeakKey)?;
		if !signed.signature_is_valid(&self.genesis_hash) {
			return Err(StateRefusal::BadSignature.into());
		}
		let cached = {
			let views = self.views();
			if views.newest.get(&public) == Some(&signed) {
				let unbanked = views
					.keys
					.get(&public)
					.and_then(|view| view.registration().map(|reg| reg.state.owed))
					.map_or(0, |on_chain| signed.state.owed.saturating_sub(on_chain));
				return Ok(Accepted {
					public,
					nonce: signed.state.nonce,
					owed: signed.state.owed,
					unbanked,
					duplicate: true,
				});
			}
			views.keys.get(&public).cloned().map(|view| (view, views.best))
		};
		let (view, best) = match cached {
			Some(cached) => cached,
			None => {
				let view = self.refresh(public).await.map_err(SubmitError::Unavailable)?;
				(view, self.best())
			}
		};
		let registration = match &*view.record {
			KeyRecord::Unknown => return Err(StateRefusal::UnknownKey.into()),
			KeyRecord::Retired(retired) => {
				return Err(StateRefusal::KeyEnded(retired.reason).into())
			}
			KeyRecord::Registered(registration) => registration,
		};
		if registration.counterpart != self.counterpart {
			return Err(StateRefusal::WrongCounterpart {
				counterpart: registration.counterpart.clone(),
			}
			.into());
		}
		let now = best.max(view.read_at);
		if !registration.is_live_at(now) {
			return Err(StateRefusal::KeyClosing { settles_at: registration.settles_at }.into());
		}
		registration
			.check_state(&signed.state, now)
			.map_err(|rejection| rejection_refusal(rejection, &signed.state, registration, now))?;
		let on_chain_owed = registration.state.owed;
		let put = self
			.store
			.put(signed.clone(), Arc::new(registration.clone()), now)
			.await
			.map_err(|error| SubmitError::Store(error.to_string()))?;
		let duplicate = match put {
			Put::Refused(refusal) => return Err(refusal.into()),
			Put::Duplicate => true,
			Put::Stored => false,
		};
		{
			let mut views = self.views();
			// Concurrent submissions of one key are ordered by the store's writer; keep the
			// newest here too.
			let newer =
				views.newest.get(&public).is_none_or(|held| held.state.nonce < signed.state.nonce);
			if newer {
				views.newest.insert(public, signed.clone());
			}
			self.metrics.keys_watched.set(views.newest.len() as i64);
		}
		if !duplicate {
			self.metrics.states_stored.inc();
			tracing::debug!(?public, nonce = signed.state.nonce, owed = %signed.state.owed, "state stored");
		}
		Ok(Accepted {
			public,
			nonce: signed.state.nonce,
			owed: signed.state.owed,
			unbanked: signed.state.owed.saturating_sub(on_chain_owed),
			duplicate,
		})
	}
}

/// Records given in advance instead of read from a node: for tests, benchmarks and checking
/// states offline. A key not given is [`KeyRecord::Unknown`].
#[derive(Default)]
pub struct FixedChain {
	records: Mutex<HashMap<SessionPublic, KeyRecord>>,
	best: std::sync::atomic::AtomicU32,
}

impl FixedChain {
	/// An empty chain at block `best`.
	pub fn new(best: BlockNumber) -> Self {
		Self { records: Default::default(), best: best.into() }
	}

	/// Sets what the chain holds of `public`.
	pub fn set(&self, public: SessionPublic, record: KeyRecord) {
		self.records.lock().unwrap_or_else(|p| p.into_inner()).insert(public, record);
	}

	/// Moves the best block to `best`.
	pub fn set_best(&self, best: BlockNumber) {
		self.best.store(best, std::sync::atomic::Ordering::Relaxed);
	}
}

impl ChainReads for FixedChain {
	fn key_record(
		&self,
		public: SessionPublic,
	) -> BoxFuture<'_, Result<(KeyRecord, BlockNumber), String>> {
		let record = self
			.records
			.lock()
			.unwrap_or_else(|p| p.into_inner())
			.get(&public)
			.cloned()
			.unwrap_or(KeyRecord::Unknown);
		let best = self.best.load(std::sync::atomic::Ordering::Relaxed);
		Box::pin(async move { Ok((record, best)) })
	}
}
