//! The gateway's core: authenticates a request from its session header, the chain's records
//! (cached) and its own view of the recent blocks, without a call to the node per request.

use std::{
	collections::{HashMap, HashSet},
	num::NonZeroUsize,
	sync::OnceLock,
	time::{Duration, Instant},
};

use http::{HeaderValue, Method};
use parking_lot::Mutex;
use session_keys_client::{
	parse_header, AccountId, AuthError, Balance, BlockNumber, HeaderFormatError,
};
use session_keys_primitives::{check_request_with, SessionPublic};
use sp_core::H256;

use crate::{
	cache::{CachedKey, KeyCache},
	chain::{Chain, KeyState},
	limit::{Limited, Limiter, Tier},
	metrics::Metrics,
	replay::SeenNonces,
	resource::resource_of,
	ring::BlockRing,
	Refusal,
};

/// How the gateway authenticates.
#[derive(Clone, Debug)]
pub struct Settings {
	/// The gateway's own name: the audience every header must be signed for.
	pub audience: Vec<u8>,
	/// Serve from the cache while the newest block is younger than this; refuse (503) after.
	pub max_head_age: Duration,
	/// Accept each `(key, nonce)` once (otherwise a header may be reused while fresh, as KIP_9
	/// allows).
	pub one_time_headers: bool,
	/// The most keys the cache holds, registered keys and absent ones (never registered or
	/// ended) each (least recently used go first).
	pub cache_size: NonZeroUsize,
	/// The rate tiers (empty: [`Tier::default_tiers`]).
	pub tiers: Vec<Tier>,
}

impl Settings {
	/// Defaults for an audience: 30 s head age, reusable headers, 100,000 keys, the default
	/// tier.
	pub fn new(audience: impl Into<Vec<u8>>) -> Self {
		Self {
			audience: audience.into(),
			max_head_age: Duration::from_secs(30),
			one_time_headers: false,
			cache_size: NonZeroUsize::new(100_000).expect("not zero"),
			tiers: Vec::new(),
		}
	}
}

/// An authenticated request: what the layer hands the service (a request extension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
	/// The account the request acts for: the key's owner.
	pub owner: AccountId,
	/// The session key that signed the request.
	pub key: SessionPublic,
	/// The key's counterpart.
	pub counterpart: AccountId,
	/// The first block at which the key is no longer valid.
	pub expires_at: BlockNumber,
	/// The owner's free balance as of the newest block (at most one block old).
	pub free_balance: Balance,
	/// The rate tier that balance reaches.
	pub tier: String,
}

/// What the gateway knows of the chain.
struct View {
	ring: BlockRing,
	/// When the newest block was recorded.
	head_seen_at: Option<Instant>,
	keys: KeyCache,
	/// The newest block whose events named each key, for the recent blocks: a read made at an
	/// older block is not cached.
	changed: HashMap<SessionPublic, BlockNumber>,
	/// Free balances and the block they were read at.
	balances: HashMap<AccountId, (Balance, BlockNumber)>,
	/// Owners that authenticated since the last block: their balances are read again then.
	active_owners: HashSet<AccountId>,
	seen_nonces: SeenNonces,
	/// Counts [`Gateway::forget_cached`]: a read started before a reorganization is not cached.
	generation: u64,
}

/// The most reads from the chain in flight for requests at once.
const MAX_READS_IN_FLIGHT: usize = 32;

/// How many blocks the `changed` marks are kept: far longer than a read takes.
const CHANGED_KEPT: BlockNumber = 64;

/// The gateway: settings, the chain's view and the caches, the rate limiter and the metrics.
/// Share it behind an `Arc`; every method takes `&self`.
pub struct Gateway<C> {
	chain: C,
	settings: Settings,
	genesis: OnceLock<H256>,
	view: Mutex<View>,
	limiter: Limiter,
	/// Bounds the reads from the chain in flight for requests (cache misses), so headers by
	/// made-up keys cannot turn into an unbounded number of node calls.
	reads: tokio::sync::Semaphore,
	/// The metrics, rendered at `/metrics`.
	pub metrics: Metrics,
}

/// A block as the gateway records it.
#[derive(Clone, Debug)]
pub struct NewBlock {
	/// Its number.
	pub number: BlockNumber,
	/// Its hash.
	pub hash: H256,
	/// The keys its adjudicator events changed, with their state read at this block.
	pub changed: Vec<(SessionPublic, Option<KeyState>)>,
}

/// What `/healthz` reports.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Health {
	/// Whether the gateway would authenticate now (it knows a recent enough block).
	pub serving: bool,
	/// The newest block known.
	pub head: Option<BlockNumber>,
	/// Milliseconds since it was seen.
	pub head_age_ms: Option<u128>,
	/// Keys in the cache (registered and absent).
	pub cached_keys: usize,
	/// Registered keys among them.
	pub registered_keys: usize,
	/// Owners with a rate bucket.
	pub rate_buckets: usize,
}

/// Bytes a client sent, for a message or a log line: UTF-8 where it is, escaped (no line
/// breaks or control characters), and cut at 200 characters.
fn shown(bytes: &[u8]) -> String {
	let text: String = String::from_utf8_lossy(bytes).escape_debug().take(200).collect();
	text
}

impl<C: Chain> Gateway<C> {
	/// A gateway reading from `chain`, with a window of `header_validity` blocks. It
	/// authenticates once it has the genesis hash ([`Gateway::set_genesis`]) and a recent block
	/// ([`Gateway::record_block`]).
	pub fn new(chain: C, settings: Settings, header_validity: BlockNumber) -> Self {
		let limiter = Limiter::new(settings.tiers.clone());
		let view = View {
			ring: BlockRing::new(header_validity),
			head_seen_at: None,
			keys: KeyCache::new(settings.cache_size),
			changed: HashMap::new(),
			balances: HashMap::new(),
			active_owners: HashSet::new(),
			seen_nonces: SeenNonces::default(),
			generation: 0,
		};
		Self {
			chain,
			settings,
			genesis: OnceLock::new(),
			view: Mutex::new(view),
			limiter,
			reads: tokio::sync::Semaphore::new(MAX_READS_IN_FLIGHT),
			metrics: Metrics::new(),
		}
	}

	/// The source of the chain's records.
	pub fn chain(&self) -> &C {
		&self.chain
	}

	/// The settings.
	pub fn settings(&self) -> &Settings {
		&self.settings
	}

	/// Sets the chain's genesis hash, which every signature covers (the first value set stays).
	pub fn set_genesis(&self, genesis: H256) {
		let _ = self.genesis.set(genesis);
	}

	/// Sets the window (`HeaderValidity`, read from the chain), forgetting the recorded blocks
	/// if it changed.
	pub fn set_header_validity(&self, validity: BlockNumber) {
		let mut view = self.view.lock();
		if view.ring.validity() != validity {
			view.ring = BlockRing::new(validity);
		}
	}

	/// Authenticates a request: `header` is its `x-session-auth` value, if any.
	pub async fn authenticate(
		&self,
		method: &Method,
		path: &str,
		header: Option<&HeaderValue>,
	) -> Result<Session, Refusal> {
		let started = Instant::now();
		let outcome = self.check(method, path, header).await;
		self.metrics.auth_seconds.observe(started.elapsed().as_secs_f64());
		let label = match &outcome {
			Ok(_) => "accepted",
			Err(refusal) => refusal.label(),
		};
		self.metrics.requests.with_label_values(&[label]).inc();
		outcome
	}

	async fn check(
		&self,
		method: &Method,
		path: &str,
		header: Option<&HeaderValue>,
	) -> Result<Session, Refusal> {
		let text = header.ok_or(Refusal::MissingHeader)?;
		let text = text.to_str().map_err(|_| Refusal::Malformed(HeaderFormatError::NotBase64))?;
		// The key is checked once per cached key and handed to the shared rule, which refuses a
		// weak key as the runtime does (`BadSignature`; `UnknownKey` since none can be
		// registered any more).
		let mut header = parse_header(text).map_err(Refusal::Malformed)?;
		let genesis = *self
			.genesis
			.get()
			.ok_or_else(|| Refusal::Unavailable("not connected to the node yet".into()))?;
		let (head, head_hash, fresh_number) = {
			let view = self.view.lock();
			let (head, head_hash) = self.serving_head(&view)?;
			(head, head_hash, view.ring.fresh(&header.block_hash))
		};
		let (key, binds) = self.key_state(header.public, head, head_hash).await?;

		// The gateway fills in what the request is, rather than trusting the header's claim: a
		// header signed for another audience or resource then fails its signature check.
		let claimed = (
			std::mem::replace(&mut header.audience, self.settings.audience.clone()),
			std::mem::replace(&mut header.resource, resource_of(method, path)),
		);
		let fresh = |_: &H256| fresh_number.is_some();
		check_request_with(&header, key.view(head), fresh, &genesis, |_| binds).map_err(
			|reason| Refusal::NotAuthenticated {
				reason,
				detail: self.detail(reason, &claimed, &header),
			},
		)?;
		let KeyState::Registered(session) = key else {
			// `check_request_with` accepts only a live key.
			return Err(Refusal::NotAuthenticated { reason: AuthError::UnknownKey, detail: None });
		};

		// A replay is refused before it takes a token: replaying a captured header must not
		// spend the owner's rate.
		if self.settings.one_time_headers
			&& self.view.lock().seen_nonces.contains(&header.public, header.nonce)
		{
			return Err(Refusal::Replayed);
		}
		let free_balance = self.balance(&session.owner, head, head_hash).await?;
		let tier =
			self.limiter.check(&session.owner, free_balance).map_err(|limited| match limited {
				Limited::Wait { tier, retry_after } => Refusal::RateLimited { tier, retry_after },
				Limited::BelowLowestTier { min_balance } => {
					Refusal::BelowLowestTier { min_balance }
				}
			})?;
		if self.settings.one_time_headers {
			let fresh_until = fresh_number.unwrap_or(head).saturating_add(self.header_validity());
			if !self.view.lock().seen_nonces.first_use(header.public, header.nonce, fresh_until) {
				return Err(Refusal::Replayed);
			}
		}
		Ok(Session {
			tier: tier.to_owned(),
			owner: session.owner,
			key: header.public,
			counterpart: session.counterpart,
			expires_at: session.expires_at,
			free_balance,
		})
	}

	/// The window: how many blocks before the newest one are fresh.
	pub fn header_validity(&self) -> BlockNumber {
		self.view.lock().ring.validity()
	}

	/// The newest block, if it is recent enough to serve from.
	fn serving_head(&self, view: &View) -> Result<(BlockNumber, H256), Refusal> {
		let (Some((head, hash)), Some(seen_at)) = (view.ring.head(), view.head_seen_at) else {
			return Err(Refusal::Unavailable("no block seen from the node yet".into()));
		};
		let age = seen_at.elapsed();
		if age > self.settings.max_head_age {
			return Err(Refusal::Unavailable(format!(
				"the newest block known (#{head}) was seen {}s ago, more than the {}s allowed; \
				 is the node reachable?",
				age.as_secs(),
				self.settings.max_head_age.as_secs()
			)));
		}
		Ok((head, hash))
	}

	/// A hint for the client when its header was refused for something the gateway can name.
	fn detail(
		&self,
		reason: AuthError,
		(audience, resource): &(Vec<u8>, Vec<u8>),
		header: &session_keys_client::Header,
	) -> Option<String> {
		match reason {
			AuthError::BadSignature if *audience != header.audience => Some(format!(
				"the header was signed for audience `{}`, this gateway is `{}`",
				shown(audience),
				shown(&header.audience)
			)),
			AuthError::BadSignature if *resource != header.resource => Some(format!(
				"the header was signed for resource `{}`, this request is `{}`",
				shown(resource),
				shown(&header.resource)
			)),
			AuthError::StaleBlockHash => Some(
				"name one of the recent blocks before the newest one (`Client::header_block_hash`: \
				 two behind the best)"
					.into(),
			),
			AuthError::NonCanonicalResource => Some(format!(
				"`{}` has a dot segment, an empty segment, an encoded separator or `%`, `;`, or \
				 a control byte",
				shown(&header.resource)
			)),
			_ => None,
		}
	}

	/// The key's state at the newest block: from the cache, or read from the chain and cached
	/// (unless an event of a block after the read changed it, then read again).
	async fn key_state(
		&self,
		public: SessionPublic,
		head: BlockNumber,
		head_hash: H256,
	) -> Result<(KeyState, bool), Refusal> {
		if let Some(cached) = self.view.lock().keys.get(&public) {
			self.metrics.cache_hits.inc();
			return Ok((cached.state.clone(), cached.binds));
		}
		self.metrics.cache_misses.inc();
		let (mut at, mut at_hash) = (head, head_hash);
		for _ in 0..3 {
			let generation = self.view.lock().generation;
			let state = {
				let _permit = self
					.reads
					.acquire()
					.await
					.map_err(|_| Refusal::Unavailable("the gateway is shutting down".into()))?;
				self.chain.key(public, at_hash).await.map_err(|error| {
					Refusal::Unavailable(format!("cannot read the key from the node: {error}"))
				})?
			};
			let mut view = self.view.lock();
			let current = view.generation == generation
				&& view.changed.get(&public).is_none_or(|changed| *changed <= at);
			if current {
				let cached = CachedKey::new(&public, state.clone());
				let binds = cached.binds;
				view.keys.put(public, cached);
				self.metrics.cache_size.set(view.keys.len() as i64);
				return Ok((state, binds));
			}
			(at, at_hash) = self.serving_head(&view)?;
		}
		Err(Refusal::Unavailable("the key keeps changing; try again".into()))
	}

	/// The owner's free balance: cached (read again at each block while the owner is active),
	/// or read now on first sight.
	async fn balance(
		&self,
		owner: &AccountId,
		head: BlockNumber,
		head_hash: H256,
	) -> Result<Balance, Refusal> {
		{
			let mut view = self.view.lock();
			view.active_owners.insert(owner.clone());
			// Active owners are read again at every block; an owner back after a pause is read
			// now rather than given a balance of many blocks ago.
			if let Some((balance, read_at)) = view.balances.get(owner) {
				if read_at.saturating_add(1) >= head {
					return Ok(*balance);
				}
			}
		}
		let balance = {
			let _permit = self
				.reads
				.acquire()
				.await
				.map_err(|_| Refusal::Unavailable("the gateway is shutting down".into()))?;
			self.chain.free_balance(owner.clone(), head_hash).await.map_err(|error| {
				Refusal::Unavailable(format!(
					"cannot read the owner's balance from the node: {error}"
				))
			})?
		};
		self.record_balance(owner.clone(), balance, head);
		Ok(balance)
	}

	/// Records `block` as the newest block of the best chain: the keys its events changed take
	/// their new state (a key whose new state could not be read is dropped from the cache, so
	/// it is read again when next used), then the block becomes the head.
	pub fn record_block(&self, block: NewBlock) {
		let mut view = self.view.lock();
		for (public, state) in block.changed {
			view.changed.insert(public, block.number);
			match state {
				Some(state) if view.keys.contains(&public) => {
					view.keys.put(public, CachedKey::new(&public, state));
				}
				_ => {
					view.keys.pop(&public);
				}
			}
		}
		let oldest_mark = block.number.saturating_sub(CHANGED_KEPT);
		view.changed.retain(|_, number| *number >= oldest_mark);
		view.ring.push(block.number, block.hash);
		view.head_seen_at = Some(Instant::now());
		let head = block.number;
		view.seen_nonces.forget_before(head);
		self.metrics.head.set(i64::from(head));
		self.metrics.cache_size.set(view.keys.len() as i64);
	}

	/// Replaces the recorded blocks by `blocks` (consecutive, oldest first) and forgets every
	/// cached key and balance, in one step: after a reorganization (or blocks missed), the
	/// retracted blocks' events may not hold on the new branch, and a read made at a retracted
	/// block is not cached.
	pub fn replace_window(&self, blocks: Vec<(BlockNumber, H256)>) {
		let mut view = self.view.lock();
		view.ring.clear();
		for (number, hash) in blocks {
			view.ring.push(number, hash);
		}
		view.head_seen_at = view.ring.head().map(|_| Instant::now());
		self.forget(&mut view);
	}

	/// Forgets every cached key and balance (a read in flight is not cached either).
	pub fn forget_cached(&self) {
		self.forget(&mut self.view.lock());
	}

	fn forget(&self, view: &mut View) {
		view.keys.clear();
		view.balances.clear();
		view.generation = view.generation.wrapping_add(1);
		self.metrics.cache_size.set(0);
	}

	/// Whether `public` is in the cache (the follower refreshes only those).
	pub fn is_cached(&self, public: &SessionPublic) -> bool {
		self.view.lock().keys.contains(public)
	}

	/// The newest block recorded.
	pub fn head(&self) -> Option<(BlockNumber, H256)> {
		self.view.lock().ring.head()
	}

	/// The hash of block `number`, if recorded.
	pub fn recorded_hash(&self, number: BlockNumber) -> Option<H256> {
		self.view.lock().ring.hash_of(number)
	}

	/// The owners active since the last call, whose balances are to be read again.
	pub fn take_active_owners(&self) -> Vec<AccountId> {
		self.view.lock().active_owners.drain().collect()
	}

	/// Records `owner`'s balance read at block `at`.
	pub fn record_balance(&self, owner: AccountId, balance: Balance, at: BlockNumber) {
		let mut view = self.view.lock();
		if view.balances.get(&owner).is_none_or(|(_, read_at)| *read_at <= at) {
			view.balances.insert(owner, (balance, at));
		}
	}

	/// Drops the rate buckets of quiet owners and the balances of owners not active for a
	/// window.
	pub fn forget_idle(&self, head: BlockNumber) {
		self.limiter.forget_idle();
		let mut view = self.view.lock();
		let oldest = head.saturating_sub(view.ring.validity());
		view.balances.retain(|_, (_, read_at)| *read_at >= oldest);
	}

	/// What `/healthz` reports.
	pub fn health(&self) -> Health {
		let view = self.view.lock();
		let serving = self.genesis.get().is_some() && self.serving_head(&view).is_ok();
		let head_age = view.head_seen_at.map(|seen| seen.elapsed());
		self.metrics.head_age_ms.set(head_age.map_or(-1, |age| age.as_millis() as i64));
		Health {
			serving,
			head: view.ring.head().map(|(number, _)| number),
			head_age_ms: head_age.map(|age| age.as_millis()),
			cached_keys: view.keys.len(),
			registered_keys: view.keys.registered(),
			rate_buckets: self.limiter.tracked(),
		}
	}
}
