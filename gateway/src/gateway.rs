//! The gateway's core: authenticates a request from its session header, the chain's records
//! (cached) and its own view of the recent blocks, without a call to the node per request.

use std::{
	collections::{HashMap, HashSet},
	future::Future,
	net::IpAddr,
	num::{NonZeroU32, NonZeroUsize},
	sync::{Arc, OnceLock},
	time::{Duration, Instant},
};

use http::{HeaderValue, Method, Uri};
use parking_lot::Mutex;
use session_keys_client::{
	content_digest_header, parse_any_header, AccountId, AnyHeader, AuthError, Balance, BlockNumber,
	BoundRequest, HeaderFormatError, KeyRecord,
};
use session_keys_primitives::{
	check_request_claims, ChannelState, ContentDigest, SessionPublic, SignedRequest,
};
use sp_core::H256;

use crate::{
	admission::{Admission, OneTime, SharedStateHealth},
	cache::{CachedKey, KeyCache},
	chain::{Chain, ChainError},
	limit::{PeerLimiter, Tier},
	meter::Meter,
	metrics::Metrics,
	ring::BlockRing,
	verify::{BatchSettings, BatchVerifier, Item, KeyPoint},
	Refusal,
};

/// How the gateway authenticates.
#[derive(Clone, Debug)]
pub struct Settings {
	/// The gateway's own name: the audience every header must be signed for.
	pub audience: Vec<u8>,
	/// Serve from the cache while the newest block is younger than this; refuse (503) after.
	pub max_head_age: Duration,
	/// Accept each `(key, nonce)` once (the default). Turned off (`--reusable-headers`), a
	/// header may be reused while its block is fresh, as KIP_9 allows: whoever captures one
	/// (a log, a TLS-terminating proxy, a browser extension) can then replay that exact request
	/// for the whole window.
	pub one_time_headers: bool,
	/// Accept version 1 headers, which bind only `METHOD /path` (neither query nor body).
	pub accept_v1: bool,
	/// The most keys the cache holds, registered keys and absent ones (never registered or
	/// ended) each (least recently used go first).
	pub cache_size: NonZeroUsize,
	/// The rate tiers (empty: [`Tier::default_tiers`]).
	pub tiers: Vec<Tier>,
	/// The counterparts this service accepts (a key naming another is refused with
	/// `WrongCounterpart`); empty: any counterpart.
	pub counterparts: Vec<AccountId>,
	/// The least collateral a key must hold, if any (`CollateralTooLow` below it).
	pub min_collateral: Option<Balance>,
	/// The largest body accepted (buffered to be hashed); 413 beyond it.
	pub max_body_bytes: usize,
	/// How long the whole body may take to arrive once the head is read; 408 beyond it.
	pub body_read_timeout: Duration,
	/// Requests a second from one address (an IPv6 /64) whose key the gateway has not cached:
	/// each costs a node read.
	pub unknown_key_rate: NonZeroU32,
	/// How many such requests one address may send at once.
	pub unknown_key_burst: NonZeroU32,
	/// How long a node read, and the wait for a read slot, may take before the request is
	/// answered 503.
	pub node_read_timeout: Duration,
	/// How signatures are batched for verification.
	pub batch: BatchSettings,
}

impl Settings {
	/// Defaults for an audience: 30 s head age, one-time version 2 headers, 100,000 keys, the
	/// default tier, any counterpart, 1 MiB bodies, 20 unknown keys a second per address
	/// (bursts of 40), node reads of at most 2 s.
	pub fn new(audience: impl Into<Vec<u8>>) -> Self {
		Self {
			audience: audience.into(),
			max_head_age: Duration::from_secs(30),
			one_time_headers: true,
			accept_v1: false,
			cache_size: NonZeroUsize::new(100_000).expect("not zero"),
			tiers: Vec::new(),
			counterparts: Vec::new(),
			min_collateral: None,
			max_body_bytes: 1024 * 1024,
			body_read_timeout: Duration::from_secs(10),
			unknown_key_rate: NonZeroU32::new(20).expect("not zero"),
			unknown_key_burst: NonZeroU32::new(40).expect("not zero"),
			node_read_timeout: Duration::from_secs(2),
			batch: BatchSettings::default(),
		}
	}
}

/// Which form of session header a request carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderVersion {
	/// Version 1: signed `METHOD /path` only (accepted with `--accept-v1`).
	V1,
	/// Version 2: signed the query and the body too.
	V2,
}

/// One HTTP request as the gateway authenticates it.
#[derive(Clone, Copy, Debug)]
pub struct Inbound<'a> {
	/// Its method.
	pub method: &'a Method,
	/// Its path (without the query).
	pub path: &'a str,
	/// Its query, without the `?`, if any.
	pub query: Option<&'a str>,
	/// Its whole body.
	pub body: &'a [u8],
	/// Its `x-session-auth` value, if any.
	pub header: Option<&'a HeaderValue>,
	/// The address it came from, for the limit on unknown keys (`None`: one shared bucket).
	pub peer: Option<IpAddr>,
	/// Its header as [`Gateway::parse_header`] read it, if already read (else it is read
	/// from `header`).
	pub parsed: Option<&'a AnyHeader>,
}

impl<'a> Inbound<'a> {
	/// A request with `method` and `uri`, carrying `header` and `body`, from no known address.
	pub fn new(
		method: &'a Method,
		uri: &'a Uri,
		header: Option<&'a HeaderValue>,
		body: &'a [u8],
	) -> Self {
		Self {
			method,
			path: uri.path(),
			query: uri.query(),
			body,
			header,
			peer: None,
			parsed: None,
		}
	}

	/// The same request, with its header as [`Gateway::parse_header`] read it from `header`
	/// (so it is not read twice).
	pub fn with_parsed(self, parsed: &'a AnyHeader) -> Self {
		Self { parsed: Some(parsed), ..self }
	}

	/// The same request, from `peer`.
	pub fn from_peer(self, peer: Option<IpAddr>) -> Self {
		Self { peer, ..self }
	}
}

/// An authenticated request: what the layer hands the service (a request extension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedRequest {
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
	/// What the gateway derived of the request: its resource, its canonical query (what the
	/// upstream is sent) and its body's digest (sent as `Content-Digest`).
	pub request: BoundRequest,
	/// The form of the header that authenticated it.
	pub version: HeaderVersion,
	/// The key's channel state on chain as of the newest block (the registration's, or the
	/// last checkpointed): where metering starts when the watchtower holds no newer state.
	pub state: ChannelState<Balance>,
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
	/// Counts [`Gateway::forget_cached`]: a read started before a reorganization is not cached.
	generation: u64,
}

/// The block time assumed until the chain's is read: longer than the dev chain's 3 s, so
/// used headers are kept longer, never shorter, than needed.
const DEFAULT_BLOCK_TIME_MS: u64 = 6_000;

/// The most reads from the chain in flight for requests at once.
const MAX_READS_IN_FLIGHT: usize = 32;

/// The outcome of one key read, shared by every request that waited for it.
type KeyRead = Arc<tokio::sync::OnceCell<Result<(KeyRecord, bool, Option<KeyPoint>), Refusal>>>;

/// How many blocks the `changed` marks are kept: far longer than a read takes.
const CHANGED_KEPT: BlockNumber = 64;

/// The gateway: settings, the chain's view and the caches, the rate limiter and the metrics.
/// Share it behind an `Arc`; every method takes `&self`.
pub struct Gateway<C> {
	chain: C,
	settings: Settings,
	genesis: OnceLock<H256>,
	view: Mutex<View>,
	/// The rate limits and used headers, in memory or shared through Redis.
	admission: Admission,
	/// Verifies the requests' signatures, in batches under load.
	verifier: Arc<BatchVerifier>,
	/// The chain's target block time (what a window of blocks lasts, for the headers kept in
	/// Redis), in milliseconds.
	block_time_ms: std::sync::atomic::AtomicU64,
	/// Requests by keys not in the cache, per address.
	unknown_keys: PeerLimiter,
	/// Bounds the reads from the chain in flight for requests (cache misses), so headers by
	/// made-up keys cannot turn into an unbounded number of node calls.
	reads: tokio::sync::Semaphore,
	/// The key reads in flight: a second request by the same key waits for the first read.
	key_reads: Mutex<HashMap<SessionPublic, KeyRead>>,
	/// The metrics, rendered at `/metrics`.
	pub metrics: Metrics,
	/// Metered calls, when the gateway has a price.
	meter: Option<Meter>,
}

/// A block as the gateway records it.
#[derive(Clone, Debug)]
pub struct NewBlock {
	/// Its number.
	pub number: BlockNumber,
	/// Its hash.
	pub hash: H256,
	/// The keys its adjudicator events changed, with their record read at this block (`None`:
	/// the read failed, and the key is dropped from the cache).
	pub changed: Vec<(SessionPublic, Option<KeyRecord>)>,
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
	/// Owners with a rate bucket in this replica's memory.
	pub rate_buckets: usize,
	/// Where the rate buckets and used headers are kept, and whether it answers.
	pub shared_state: SharedStateHealth,
}

/// What a header claimed, before the gateway filled in what the request is.
struct Claimed {
	audience: Vec<u8>,
	resource: Vec<u8>,
	/// A version 2 header's query.
	query: Option<Vec<u8>>,
	/// A version 2 header's body digest.
	digest: Option<ContentDigest>,
}

/// The name of a `_method` parameter in a canonical query, if there is one: a method override
/// that frameworks (Rails, Laravel, Symfony, Express's method-override) would honour. Names are
/// compared as PHP reads them: form-decoded (`+` a space, then escapes), leading spaces dropped,
/// spaces, dots and `[` read as `_`, any case (so ` _method`, `.method` and `%5Fmethod` count
/// too).
fn method_override(query: &[u8]) -> Option<String> {
	query.split(|byte| *byte == b'&').find_map(|parameter| {
		let name = parameter.split(|byte| *byte == b'=').next().unwrap_or_default();
		// Form decoding: `+` is a space, then the escapes.
		let plus_as_space: Vec<u8> =
			name.iter().map(|byte| if *byte == b'+' { b' ' } else { *byte }).collect();
		let decoded: Vec<u8> = percent_encoding::percent_decode(&plus_as_space).collect();
		let start = decoded.iter().position(|byte| *byte != b' ').unwrap_or(decoded.len());
		let folded: Vec<u8> = decoded[start..]
			.iter()
			.map(|byte| if matches!(byte, b' ' | b'.' | b'[') { b'_' } else { *byte })
			.collect();
		folded.eq_ignore_ascii_case(b"_method").then(|| shown(name))
	})
}

/// The signature of `header` on `payload`, to verify; `point` is the cached point of the
/// header's key.
fn signed_item<H: SignedRequest<AccountId, H256>>(
	header: &H,
	payload: Vec<u8>,
	point: Option<KeyPoint>,
) -> Item {
	Item { public: *header.public(), signature: header.signature().clone(), payload, point }
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
		let metrics = Metrics::new();
		let verifier = Arc::new(BatchVerifier::new(
			settings.batch,
			metrics.verify_batch_size.clone(),
			metrics.verify_batch_failures.clone(),
		));
		let admission = Admission::in_memory(settings.tiers.clone());
		let unknown_keys = PeerLimiter::new(settings.unknown_key_rate, settings.unknown_key_burst);
		let view = View {
			ring: BlockRing::new(header_validity),
			head_seen_at: None,
			keys: KeyCache::new(settings.cache_size),
			changed: HashMap::new(),
			balances: HashMap::new(),
			active_owners: HashSet::new(),
			generation: 0,
		};
		Self {
			chain,
			settings,
			genesis: OnceLock::new(),
			view: Mutex::new(view),
			admission,
			verifier,
			block_time_ms: std::sync::atomic::AtomicU64::new(DEFAULT_BLOCK_TIME_MS),
			unknown_keys,
			reads: tokio::sync::Semaphore::new(MAX_READS_IN_FLIGHT),
			key_reads: Mutex::new(HashMap::new()),
			metrics,
			meter: None,
		}
	}

	/// The same gateway keeping its rate limits and used headers in `admission` (Redis, so
	/// replicas share them) instead of its own memory. The tiers are `admission`'s.
	pub fn with_admission(mut self, admission: Admission) -> Self {
		self.admission = admission;
		self
	}

	/// Follows the shared state's health (Redis: a `PING` a second) until dropped; returns at
	/// once when the state is in memory.
	pub async fn probe_shared_state(&self) {
		self.admission.probe(&self.metrics).await;
	}

	/// Sets the chain's target block time (read from the chain by [`crate::follow`]).
	pub fn set_block_time(&self, block_time: Duration) {
		let millis = u64::try_from(block_time.as_millis()).unwrap_or(u64::MAX).max(1);
		self.block_time_ms.store(millis, std::sync::atomic::Ordering::Relaxed);
	}

	/// How long a header may stay fresh when used headers are shared through Redis: the
	/// window at the target block time, counted on Redis' clock from the first use of any
	/// header naming the same block (see [`crate::admission`]).
	pub fn header_lifetime(&self) -> Duration {
		let millis = self.block_time_ms.load(std::sync::atomic::Ordering::Relaxed);
		Duration::from_millis(millis.saturating_mul(u64::from(self.header_validity())))
	}

	/// The same gateway charging for calls with `meter`: each authenticated request must then
	/// carry the next channel state ([`crate::meter`]).
	pub fn with_meter(mut self, meter: Meter) -> Self {
		self.meter = Some(meter);
		self
	}

	/// The metering, if the gateway has a price.
	pub fn meter(&self) -> Option<&Meter> {
		self.meter.as_ref()
	}

	/// The chain's genesis hash, once known.
	pub fn genesis(&self) -> Option<H256> {
		self.genesis.get().copied()
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

	/// Authenticates `request`: its `x-session-auth` header against the chain's record of the
	/// key, with the method, path, query and body the gateway derives itself.
	pub async fn authenticate(
		&self,
		request: &Inbound<'_>,
	) -> Result<AuthenticatedRequest, Refusal> {
		let started = Instant::now();
		let outcome = self.check(request).await;
		self.metrics.auth_seconds.observe(started.elapsed().as_secs_f64());
		match &outcome {
			Ok(_) => self.metrics.requests.with_label_values(&["accepted"]).inc(),
			Err(refusal) => self.count_refusal(refusal),
		}
		outcome
	}

	/// Counts a refusal made before [`Gateway::authenticate`] was reached (a body too large,
	/// say), under its label.
	pub fn count_refusal(&self, refusal: &Refusal) {
		self.metrics.requests.with_label_values(&[refusal.label()]).inc();
	}

	/// Reads a request's `x-session-auth` header, refusing what can be refused before its
	/// body is read: a missing or malformed header, or a version 1 header this gateway does
	/// not accept. A client cannot make the gateway buffer a body behind a header that could
	/// never pass.
	pub fn parse_header(&self, header: Option<&HeaderValue>) -> Result<AnyHeader, Refusal> {
		let text = header.ok_or(Refusal::MissingHeader)?;
		let text = text.to_str().map_err(|_| Refusal::Malformed(HeaderFormatError::NotBase64))?;
		match parse_any_header(text).map_err(Refusal::Malformed)? {
			AnyHeader::V1(_) if !self.settings.accept_v1 => Err(Refusal::VersionOneRefused),
			header => Ok(header),
		}
	}

	async fn check(&self, request: &Inbound<'_>) -> Result<AuthenticatedRequest, Refusal> {
		// The key is checked once per cached key and handed to the shared rule, which refuses a
		// weak key as the runtime does (`BadSignature`; `UnknownKey` since none can be
		// registered any more).
		let header = match request.parsed {
			Some(parsed) => parsed.clone(),
			None => self.parse_header(request.header)?,
		};
		let version = match header {
			AnyHeader::V1(_) if !self.settings.accept_v1 => return Err(Refusal::VersionOneRefused),
			AnyHeader::V1(_) => HeaderVersion::V1,
			AnyHeader::V2(_) => HeaderVersion::V2,
		};
		let bound =
			BoundRequest::new(request.method.as_str(), request.path, request.query, request.body)
				.map_err(|_| Refusal::MalformedQuery)?;
		if let Some(name) = method_override(&bound.query) {
			return Err(Refusal::MethodOverride(name));
		}
		let genesis = *self
			.genesis
			.get()
			.ok_or_else(|| Refusal::Unavailable("not connected to the node yet".into()))?;
		let public = header.public();
		let header_block = header.block_hash();
		let (head, head_hash, fresh_number) = {
			let view = self.view.lock();
			let (head, head_hash) = self.serving_head(&view)?;
			(head, head_hash, view.ring.fresh(&header.block_hash()))
		};
		let (key, binds, point) = self.key_state(public, head, head_hash, request.peer).await?;
		// From here to its verification the request does not wait on anything: a batch being
		// collected may wait for it.
		let approach = self.verifier.approach();

		// The gateway fills in what the request is, rather than trusting the header's claim: a
		// header signed for another audience, resource, query or body then fails its signature
		// check.
		let fresh = |_: &H256| fresh_number.is_some();
		let audience = self.settings.audience.clone();
		let (claimed, nonce, claims) = match header {
			AnyHeader::V1(mut header) => {
				let claimed = Claimed {
					audience: std::mem::replace(&mut header.audience, audience),
					resource: std::mem::replace(&mut header.resource, bound.resource.clone()),
					query: None,
					digest: None,
				};
				let claims =
					check_request_claims(&header, key.view(head), fresh, &genesis, |_| binds)
						.map(|payload| signed_item(&header, payload, point));
				(claimed, header.nonce, claims)
			}
			AnyHeader::V2(mut header) => {
				let claimed = Claimed {
					audience: std::mem::replace(&mut header.audience, audience),
					resource: std::mem::replace(&mut header.resource, bound.resource.clone()),
					query: Some(std::mem::replace(&mut header.query, bound.query.clone())),
					digest: Some(std::mem::replace(
						&mut header.content_digest,
						bound.content_digest,
					)),
				};
				let claims =
					check_request_claims(&header, key.view(head), fresh, &genesis, |_| binds)
						.map(|payload| signed_item(&header, payload, point));
				(claimed, header.nonce, claims)
			}
		};
		// The signature last, as `check_request_with` does: the same verdict, with the
		// signature verified in a batch with the other requests verified at this moment.
		drop(approach);
		let verdict = match claims {
			Ok(item) => match self.verifier.verify(item).await {
				true => Ok(()),
				false => Err(AuthError::BadSignature),
			},
			Err(reason) => Err(reason),
		};
		verdict.map_err(|reason| Refusal::NotAuthenticated {
			reason,
			detail: self.detail(reason, &claimed, &bound, request.body.len()),
		})?;
		let KeyRecord::Registered(session) = key else {
			// `check_request_with` accepts only a live key.
			return Err(Refusal::NotAuthenticated { reason: AuthError::UnknownKey, detail: None });
		};

		// The terms the service needs of a key it serves: a counterpart it can settle as, and
		// enough collateral.
		let counterparts = &self.settings.counterparts;
		if !counterparts.is_empty() && !counterparts.contains(&session.counterpart) {
			return Err(Refusal::WrongCounterpart {
				counterpart: session.counterpart.to_string(),
				accepted: counterparts
					.iter()
					.map(ToString::to_string)
					.collect::<Vec<_>>()
					.join(", "),
			});
		}
		if let Some(min_collateral) = self.settings.min_collateral {
			if session.collateral < min_collateral {
				return Err(Refusal::CollateralTooLow {
					collateral: session.collateral,
					min_collateral,
				});
			}
		}

		let free_balance = self.balance(&session.owner, head, head_hash).await?;
		let one_time = self.settings.one_time_headers.then(|| OneTime {
			public,
			nonce,
			block: header_block,
			fresh_until: fresh_number.unwrap_or(head).saturating_add(self.header_validity()),
			lifetime: self.header_lifetime(),
		});
		let tier =
			self.admission.admit(&session.owner, free_balance, one_time, &self.metrics).await?;
		Ok(AuthenticatedRequest {
			tier,
			owner: session.owner,
			key: public,
			counterpart: session.counterpart,
			expires_at: session.expires_at,
			free_balance,
			request: bound,
			version,
			state: session.state,
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
		claimed: &Claimed,
		bound: &BoundRequest,
		body_len: usize,
	) -> Option<String> {
		let digest_text = |digest: ContentDigest| content_digest_header(&digest);
		match reason {
			AuthError::BadSignature if claimed.audience != self.settings.audience => {
				Some(format!(
					"the header was signed for audience `{}`, this gateway is `{}`",
					shown(&claimed.audience),
					shown(&self.settings.audience)
				))
			}
			AuthError::BadSignature if claimed.resource != bound.resource => Some(format!(
				"the header was signed for resource `{}`, this request is `{}`",
				shown(&claimed.resource),
				shown(&bound.resource)
			)),
			AuthError::BadSignature
				if claimed.query.as_ref().is_some_and(|query| *query != bound.query) =>
			{
				Some(format!(
					"the query differs: the header was signed for the query `{}`, this \
					 request's canonical query is `{}`",
					shown(claimed.query.as_deref().unwrap_or_default()),
					shown(&bound.query)
				))
			}
			AuthError::BadSignature
				if claimed.digest.is_some_and(|digest| digest != bound.content_digest) =>
			{
				Some(format!(
					"the body differs: the header was signed for a body with digest {}, this \
					 request's body ({body_len} bytes) has {}",
					claimed.digest.map(digest_text).unwrap_or_default(),
					bound.content_digest_header()
				))
			}
			AuthError::StaleBlockHash => Some(
				"name one of the recent blocks before the newest one (`Client::header_block_hash`: \
				 two behind the best)"
					.into(),
			),
			AuthError::NonCanonicalResource => Some(format!(
				"`{}` has a dot segment, an empty segment, an encoded separator or `%`, `;`, or \
				 a control byte",
				shown(&bound.resource)
			)),
			_ => None,
		}
	}

	/// The key's record at the newest block: from the cache, or read from the chain and cached
	/// (unless an event of a block after the read changed it, then read again). A key not in
	/// the cache costs a node read, so it takes a token from the `peer`'s bucket first, and
	/// requests by the same key share one read.
	async fn key_state(
		&self,
		public: SessionPublic,
		head: BlockNumber,
		head_hash: H256,
		peer: Option<IpAddr>,
	) -> Result<(KeyRecord, bool, Option<KeyPoint>), Refusal> {
		if let Some(cached) = self.view.lock().keys.get(&public) {
			self.metrics.cache_hits.inc();
			return Ok((cached.state.clone(), cached.binds, cached.point));
		}
		self.metrics.cache_misses.inc();
		self.unknown_keys
			.check(peer)
			.map_err(|retry_after| Refusal::UnknownKeyRateLimited { retry_after })?;
		let read: KeyRead = self.key_reads.lock().entry(public).or_default().clone();
		let mut led = false;
		let outcome = read
			.get_or_init(|| {
				led = true;
				self.read_key(public, head, head_hash)
			})
			.await
			.clone();
		if !led {
			self.metrics.coalesced_reads.inc();
		}
		let mut reads = self.key_reads.lock();
		if reads.get(&public).is_some_and(|current| Arc::ptr_eq(current, &read)) {
			reads.remove(&public);
		}
		outcome
	}

	/// Reads `public` from the chain at the head, again at a newer head if an event changed the
	/// key after the block read, and caches it.
	async fn read_key(
		&self,
		public: SessionPublic,
		head: BlockNumber,
		head_hash: H256,
	) -> Result<(KeyRecord, bool, Option<KeyPoint>), Refusal> {
		let (mut at, mut at_hash) = (head, head_hash);
		for _ in 0..3 {
			let generation = self.view.lock().generation;
			let state = self.node_read("key", self.chain.key(public, at_hash)).await?;
			let mut view = self.view.lock();
			let current = view.generation == generation
				&& view.changed.get(&public).is_none_or(|changed| *changed <= at);
			if current {
				let cached = CachedKey::new(&public, state.clone());
				let (binds, point) = (cached.binds, cached.point);
				view.keys.put(public, cached);
				self.metrics.cache_size.set(view.keys.len() as i64);
				return Ok((state, binds, point));
			}
			(at, at_hash) = self.serving_head(&view)?;
		}
		Err(Refusal::Unavailable("the key keeps changing; try again".into()))
	}

	/// One read from the node for a request: waits for a read slot and for the answer, each
	/// at most `node_read_timeout`.
	async fn node_read<T>(
		&self,
		what: &'static str,
		read: impl Future<Output = Result<T, ChainError>>,
	) -> Result<T, Refusal> {
		let timeout = self.settings.node_read_timeout;
		let _permit = tokio::time::timeout(timeout, self.reads.acquire())
			.await
			.map_err(|_| Refusal::ReadSlotTimeout(timeout))?
			.map_err(|_| Refusal::Unavailable("the gateway is shutting down".into()))?;
		self.metrics.node_reads.with_label_values(&[what]).inc();
		tokio::time::timeout(timeout, read)
			.await
			.map_err(|_| Refusal::NodeReadTimeout(timeout))?
			.map_err(|error| {
				Refusal::Unavailable(format!("cannot read the {what} from the node: {error}"))
			})
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
		let balance =
			self.node_read("balance", self.chain.free_balance(owner.clone(), head_hash)).await?;
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
		self.admission.forget_before(head);
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
		self.admission.forget_idle();
		self.unknown_keys.forget_idle();
		let mut view = self.view.lock();
		let oldest = head.saturating_sub(view.ring.validity());
		view.balances.retain(|_, (_, read_at)| *read_at >= oldest);
	}

	/// What `/healthz` reports.
	pub fn health(&self) -> Health {
		let view = self.view.lock();
		let serving = self.genesis.get().is_some()
			&& self.serving_head(&view).is_ok()
			&& self.admission.serving(self.settings.one_time_headers);
		let head_age = view.head_seen_at.map(|seen| seen.elapsed());
		self.metrics.head_age_ms.set(head_age.map_or(-1, |age| age.as_millis() as i64));
		Health {
			serving,
			head: view.ring.head().map(|(number, _)| number),
			head_age_ms: head_age.map(|age| age.as_millis()),
			cached_keys: view.keys.len(),
			registered_keys: view.keys.registered(),
			rate_buckets: self.admission.tracked(),
			shared_state: self.admission.health(),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::method_override;
	use session_keys_primitives::canonical_query;

	fn overridden(raw: &str) -> bool {
		method_override(&canonical_query(raw.as_bytes()).expect("well formed")).is_some()
	}

	#[test]
	fn method_overrides_are_found_in_every_spelling_php_reads_as_one() {
		for raw in [
			"_method=DELETE",
			"_METHOD=put",
			"%5Fmethod=DELETE",
			"%20_method=DELETE",
			"+_method=DELETE",
			".method=DELETE",
			"%2Emethod=DELETE",
			"[method=DELETE",
			"a=1&_method=PATCH",
		] {
			assert!(overridden(raw), "{raw}");
		}
		for raw in ["method=DELETE", "x_method=1", "_methods=1", "q=_method"] {
			assert!(!overridden(raw), "{raw}");
		}
	}
}
