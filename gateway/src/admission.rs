//! Admission: the owner's rate limit and the one-time-header check, made after a request is
//! authenticated. Kept in the gateway's memory (one replica), or in Redis (`--redis`), where
//! every replica behind a load balancer shares them: an owner gets its rate once across all
//! replicas, and a header used at one replica is refused at every other.
//!
//! # In Redis
//!
//! One Lua script ([`ADMIT`]) does both steps atomically, in one round trip:
//! - the header's `(key, nonce)` must not be used yet (`SET NX` semantics: the key is created
//!   only if the request is admitted), and it expires after the freshness window;
//! - the owner's bucket takes one GCRA step (the "theoretical arrival time" in microseconds of
//!   Redis' own clock, so the replicas' clocks do not matter), as governor's in-memory buckets
//!   do: `burst` requests at once, then `per_second`.
//!
//! A replay is refused before it takes a token, as in memory. Every call is bounded by
//! [`RedisSettings::timeout`]; the connection is re-established with backoff by redis-rs's
//! `ConnectionManager`. When Redis cannot be reached, one-time headers fail closed (503
//! `SharedStateUnavailable`); rate limits fail closed too unless the operator chose
//! [`RedisSettings::rate_fail_open`] (then, with reusable headers, requests pass unmetered).

use std::{
	sync::atomic::{AtomicBool, AtomicU32, Ordering},
	time::{Duration, Instant},
};

use parking_lot::Mutex;
use redis::{aio::ConnectionManager, Script};
use session_keys_client::{AccountId, Balance, BlockNumber};
use session_keys_primitives::SessionPublic;
use sp_core::H256;

use crate::{
	limit::{Limited, Limiter, Tier},
	metrics::Metrics,
	replay::SeenNonces,
	Refusal,
};

/// The admission script. `KEYS[1]`: the owner's bucket; `KEYS[2]` and `KEYS[3]` (both or
/// neither): the header's `(key, nonce)`, and the block it names. `ARGV[1]`: the emission
/// interval (µs, one request's share of a second); `ARGV[2]`: the burst tolerance (µs,
/// `burst` intervals); `ARGV[3]`: how long a block's headers stay fresh (µs), if this is the
/// block's first use; `ARGV[4]`: the margin a used header is kept beyond that (ms); `ARGV[5]`:
/// how long a block's first use is remembered (ms). Answers `{1, 0}` admitted,
/// `{0, wait_us}` rate limited, `{-1, 0}` replayed, `{-2, 0}` stale.
///
/// A block's headers are fresh for the lifetime from the first use of any of them, on Redis'
/// clock, whichever replica saw it: every replica then agrees when a used header can be
/// forgotten, however late its own node saw the block.
pub const ADMIT: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local used_ttl = 0
if KEYS[2] then
	redis.call('SET', KEYS[3], string.format('%d:%d', now, tonumber(ARGV[3])), 'NX', 'PX', ARGV[5])
	local first_use = redis.call('GET', KEYS[3])
	local colon = string.find(first_use, ':', 1, true)
	local since = tonumber(string.sub(first_use, 1, colon - 1))
	local lifetime = tonumber(string.sub(first_use, colon + 1))
	local left = since + lifetime - now
	if left < 0 then
		return {-2, 0}
	end
	if redis.call('EXISTS', KEYS[2]) == 1 then
		return {-1, 0}
	end
	used_ttl = math.ceil(left / 1000) + tonumber(ARGV[4])
end
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
	tat = now
end
local next_tat = tat + interval
local over = next_tat - now - tolerance
if over > 0 then
	return {0, math.ceil(over)}
end
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1)
if KEYS[2] then
	redis.call('SET', KEYS[2], '1', 'PX', used_ttl)
end
return {1, 0}
";

/// Which call a failure came from ([`RedisAdmission::failed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
	/// The `PING` every [`PROBE_EVERY`].
	Probe,
	/// A request's admission.
	Request,
}

/// How long a block's first use is remembered in Redis: far beyond any window, so a block
/// whose headers went stale is never taken for a new one while a replica still holds it.
const FIRST_USE_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long a used header is kept beyond its block's lifetime.
const USED_MARGIN: Duration = Duration::from_secs(1);
/// Consecutive failed calls after which the connection is replaced (a peer gone silently
/// leaves a connection that only times out).
const FAILURES_BEFORE_RECONNECT: u32 = 3;
/// How often the connection is checked (`PING`) while nothing else uses it.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Where and how the replicas' shared state is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisSettings {
	/// The server, e.g. `redis://127.0.0.1:6379/0` (`rediss://` for TLS is not built in).
	pub url: String,
	/// Put before every key, so several gateways (audiences) can share one server.
	pub prefix: String,
	/// The longest one call may take, connecting included, before the request is refused.
	pub timeout: Duration,
	/// When Redis cannot be reached, let requests through without a rate limit (only with
	/// reusable headers: one-time headers always fail closed).
	pub rate_fail_open: bool,
}

impl RedisSettings {
	/// Settings for `url`: keys under `sadj:<audience in hex>:`, calls of at most 250 ms,
	/// failing closed.
	pub fn new(url: impl Into<String>, audience: &[u8]) -> Self {
		Self {
			url: url.into(),
			prefix: format!("sadj:{}:", sp_core::hexdisplay::HexDisplay::from(&audience)),
			timeout: Duration::from_millis(250),
			rate_fail_open: false,
		}
	}
}

/// A header to accept once: its key and nonce, and how long it stays fresh.
#[derive(Clone, Copy, Debug)]
pub struct OneTime {
	/// The header's key.
	pub public: SessionPublic,
	/// Its nonce.
	pub nonce: u64,
	/// The block it names.
	pub block: H256,
	/// The last block at which it is fresh (kept in memory until then).
	pub fresh_until: BlockNumber,
	/// How long a block's headers stay fresh in Redis, from the first use of one of them
	/// (the window at the target block time).
	pub lifetime: Duration,
}

/// What `/healthz` says of the shared state.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SharedStateHealth {
	/// `memory` or `redis`.
	pub kind: &'static str,
	/// Whether the last call to Redis succeeded (always true in memory).
	pub up: bool,
	/// The last error, while down.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub error: Option<String>,
}

/// The rate limits and used headers, in memory or in Redis.
pub enum Admission {
	/// This replica's own state.
	Memory {
		/// The buckets.
		limiter: Limiter,
		/// The headers used within the window.
		seen: Mutex<SeenNonces>,
	},
	/// State shared by every replica.
	Redis(Box<RedisAdmission>),
}

impl Admission {
	/// In-memory admission with `tiers`.
	pub fn in_memory(tiers: Vec<Tier>) -> Self {
		Self::Memory { limiter: Limiter::new(tiers), seen: Mutex::new(SeenNonces::default()) }
	}

	/// Admits a request of `owner` (free balance `balance`), using `one_time` once if given;
	/// the owner's tier.
	pub async fn admit(
		&self,
		owner: &AccountId,
		balance: Balance,
		one_time: Option<OneTime>,
		metrics: &Metrics,
	) -> Result<String, Refusal> {
		match self {
			Self::Memory { limiter, seen } => {
				// A replay is refused before it takes a token: replaying a captured header must
				// not spend the owner's rate.
				if let Some(once) = &one_time {
					if seen.lock().contains(&once.public, once.nonce) {
						return Err(Refusal::Replayed);
					}
				}
				let tier = limiter.check(owner, balance).map_err(limited)?.to_owned();
				if let Some(once) = one_time {
					if !seen.lock().first_use(once.public, once.nonce, once.fresh_until) {
						return Err(Refusal::Replayed);
					}
				}
				Ok(tier)
			}
			Self::Redis(redis) => redis.admit(owner, balance, one_time, metrics).await,
		}
	}

	/// Forgets the used headers no longer fresh at block `head` (Redis expires its own).
	pub fn forget_before(&self, head: BlockNumber) {
		if let Self::Memory { seen, .. } = self {
			seen.lock().forget_before(head);
		}
	}

	/// Drops the buckets of quiet owners (Redis expires its own).
	pub fn forget_idle(&self) {
		if let Self::Memory { limiter, .. } = self {
			limiter.forget_idle();
		}
	}

	/// Owners with a bucket in this replica's memory (0 with Redis).
	pub fn tracked(&self) -> usize {
		match self {
			Self::Memory { limiter, .. } => limiter.tracked(),
			Self::Redis(_) => 0,
		}
	}

	/// What `/healthz` says of it.
	pub fn health(&self) -> SharedStateHealth {
		match self {
			Self::Memory { .. } => SharedStateHealth { kind: "memory", up: true, error: None },
			Self::Redis(redis) => SharedStateHealth {
				kind: "redis",
				up: redis.up.load(Ordering::Relaxed),
				error: redis.last_error.lock().clone(),
			},
		}
	}

	/// Follows Redis' state (see [`RedisAdmission::probe`]); returns at once in memory.
	pub async fn probe(&self, metrics: &Metrics) {
		if let Self::Redis(redis) = self {
			redis.probe(metrics).await;
		}
	}

	/// Whether requests would be admitted now: in memory always, with Redis while it answers
	/// (or when rate limits fail open and headers are reusable).
	pub fn serving(&self, one_time_headers: bool) -> bool {
		match self {
			Self::Memory { .. } => true,
			Self::Redis(redis) => {
				redis.up.load(Ordering::Relaxed)
					|| (redis.settings.rate_fail_open && !one_time_headers)
			}
		}
	}
}

fn limited(limited: Limited) -> Refusal {
	match limited {
		Limited::Wait { tier, retry_after } => Refusal::RateLimited { tier, retry_after },
		Limited::BelowLowestTier { min_balance } => Refusal::BelowLowestTier { min_balance },
	}
}

/// Admission against a Redis server.
pub struct RedisAdmission {
	settings: RedisSettings,
	/// The tiers (its buckets are unused: the buckets are in Redis).
	tiers: Limiter,
	client: redis::Client,
	config: redis::aio::ConnectionManagerConfig,
	/// The connection (redis-rs reconnects it with backoff on I/O errors; it is replaced
	/// after [`FAILURES_BEFORE_RECONNECT`] failures in a row, timeouts included).
	connection: Mutex<ConnectionManager>,
	/// Failed calls in a row.
	failures: AtomicU32,
	script: Script,
	/// Whether the last call (a request's or the probe's) succeeded; false until one has.
	up: AtomicBool,
	last_error: Mutex<Option<String>>,
}

/// Why Redis cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RedisSetupError {
	/// The URL is not a Redis URL.
	#[error("`{url}` is not a Redis URL (redis://HOST:PORT/DB): {error}")]
	BadUrl {
		/// The URL given.
		url: String,
		/// Why.
		error: redis::RedisError,
	},
}

/// What a request is told when Redis fails (the details go to the log and `/healthz`).
const UNREACHABLE: &str = "the gateway's shared state does not answer; try again shortly";

impl RedisAdmission {
	/// Admission against the server of `settings`, with `tiers`. It connects on first use,
	/// and again with backoff whenever the connection is lost; the gateway starts (failing
	/// closed) even while the server is down. Run [`RedisAdmission::probe`] beside it.
	pub fn new(settings: RedisSettings, tiers: Vec<Tier>) -> Result<Self, RedisSetupError> {
		let client = redis::Client::open(settings.url.as_str())
			.map_err(|error| RedisSetupError::BadUrl { url: settings.url.clone(), error })?;
		let config = redis::aio::ConnectionManagerConfig::new()
			.set_connection_timeout(Some(settings.timeout))
			.set_response_timeout(Some(settings.timeout))
			.set_min_delay(Duration::from_millis(50))
			.set_max_delay(Duration::from_secs(2))
			.set_number_of_retries(6);
		// Connecting lazily: the manager needs a Tokio runtime, which the caller runs in.
		let connection = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
			.map_err(|error| RedisSetupError::BadUrl { url: settings.url.clone(), error })?;
		Ok(Self {
			settings,
			tiers: Limiter::new(tiers),
			client,
			config,
			connection: Mutex::new(connection),
			failures: AtomicU32::new(0),
			script: Script::new(ADMIT),
			up: AtomicBool::new(false),
			last_error: Mutex::new(Some("not contacted yet".into())),
		})
	}

	/// The settings.
	pub fn settings(&self) -> &RedisSettings {
		&self.settings
	}

	/// Checks the connection every second (`PING`), so `/healthz` and the metrics follow
	/// Redis even while no request reaches this replica (a load balancer that took it out
	/// puts it back once Redis answers). Runs until dropped.
	pub async fn probe(&self, metrics: &Metrics) {
		loop {
			self.probe_once(metrics).await;
			tokio::time::sleep(PROBE_EVERY).await;
		}
	}

	/// One `PING`: the only call whose failure takes the replica's health down.
	pub async fn probe_once(&self, metrics: &Metrics) {
		let started = Instant::now();
		let mut connection = self.connection.lock().clone();
		let ping = redis::cmd("PING");
		let outcome =
			tokio::time::timeout(self.call_timeout(), ping.query_async::<String>(&mut connection))
				.await;
		metrics.redis_seconds.observe(started.elapsed().as_secs_f64());
		match outcome {
			Ok(Ok(_)) => self.answered(metrics),
			Ok(Err(error)) => self.failed(error.to_string(), metrics, Source::Probe),
			Err(_) => self.failed(
				format!("no answer within {:?}", self.call_timeout()),
				metrics,
				Source::Probe,
			),
		}
	}

	/// A call's bound: longer than redis-rs's own response timeout, so redis-rs sees its
	/// timeouts (and reconnects) rather than have its call dropped.
	fn call_timeout(&self) -> Duration {
		self.settings.timeout.saturating_mul(2)
	}

	async fn admit(
		&self,
		owner: &AccountId,
		balance: Balance,
		one_time: Option<OneTime>,
		metrics: &Metrics,
	) -> Result<String, Refusal> {
		let tier = self.tiers.tier_of(balance).ok_or_else(|| Refusal::BelowLowestTier {
			min_balance: self.tiers.lowest_min_balance(),
		})?;
		let interval_us = 1_000_000u64.div_ceil(u64::from(tier.per_second.get()));
		let tolerance_us = interval_us.saturating_mul(u64::from(tier.burst.get()));
		let prefix = &self.settings.prefix;
		let mut invocation = self.script.prepare_invoke();
		invocation.key(format!("{prefix}rate:{}:{owner}", tier.name));
		let mut lifetime_us = 0u64;
		if let Some(once) = &one_time {
			invocation.key(format!(
				"{prefix}used:{}:{}",
				sp_core::hexdisplay::HexDisplay::from(&codec::Encode::encode(&once.public)),
				once.nonce
			));
			invocation.key(format!("{prefix}block:{:?}", once.block));
			lifetime_us = u64::try_from(once.lifetime.as_micros()).unwrap_or(u64::MAX);
		}
		invocation
			.arg(interval_us)
			.arg(tolerance_us)
			.arg(lifetime_us)
			.arg(USED_MARGIN.as_millis() as u64)
			.arg(FIRST_USE_KEPT.as_millis() as u64);
		let started = Instant::now();
		let mut connection = self.connection.lock().clone();
		let outcome = tokio::time::timeout(
			self.call_timeout(),
			invocation.invoke_async::<(i64, i64)>(&mut connection),
		)
		.await;
		metrics.redis_seconds.observe(started.elapsed().as_secs_f64());
		let answer = match outcome {
			Ok(Ok(answer)) => {
				self.answered(metrics);
				answer
			}
			Ok(Err(error)) => {
				self.failed(error.to_string(), metrics, Source::Request);
				return self.unreachable(&tier.name, one_time);
			}
			Err(_) => {
				let error = format!("no answer within {:?}", self.call_timeout());
				self.failed(error, metrics, Source::Request);
				return self.unreachable(&tier.name, one_time);
			}
		};
		match answer {
			(1, _) => Ok(tier.name.clone()),
			(-1, _) => Err(Refusal::Replayed),
			(-2, _) => Err(Refusal::NotAuthenticated {
				reason: session_keys_client::AuthError::StaleBlockHash,
				detail: Some(
					"the header's block was first used longer ago than the freshness window \
					 (counted across the gateway's replicas); sign with a recent block"
						.into(),
				),
			}),
			(_, wait_us) => Err(Refusal::RateLimited {
				tier: tier.name.clone(),
				retry_after: Duration::from_micros(wait_us.max(1) as u64),
			}),
		}
	}

	/// Records an answer: Redis is up, whichever call heard it.
	fn answered(&self, metrics: &Metrics) {
		self.failures.store(0, Ordering::Relaxed);
		if !self.up.swap(true, Ordering::Relaxed) {
			tracing::info!(url = %self.settings.url, "Redis answers");
		}
		*self.last_error.lock() = None;
		metrics.redis_up.set(1);
	}

	/// Records a failed call; after a few in a row, of either kind, replaces the connection.
	/// Only the probe's failure takes `up` (and `/healthz`) down: a request that happened to
	/// fail on a connection being replaced would otherwise take the replica out of its load
	/// balancer until the next probe put it back.
	fn failed(&self, error: String, metrics: &Metrics, source: Source) {
		metrics.redis_errors.inc();
		if source == Source::Probe {
			metrics.redis_up.set(0);
			if self.up.swap(false, Ordering::Relaxed) {
				tracing::warn!(url = %self.settings.url, %error, "Redis unreachable");
			}
			*self.last_error.lock() = Some(error);
		} else {
			tracing::debug!(url = %self.settings.url, %error, "a Redis call failed");
		}
		if self.failures.fetch_add(1, Ordering::Relaxed) + 1 >= FAILURES_BEFORE_RECONNECT {
			self.failures.store(0, Ordering::Relaxed);
			if let Ok(connection) =
				ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())
			{
				tracing::info!(url = %self.settings.url, "replacing the Redis connection");
				*self.connection.lock() = connection;
			}
		}
	}

	/// Redis did not answer: fail closed, or open for the rate limit if so configured.
	fn unreachable(&self, tier: &str, one_time: Option<OneTime>) -> Result<String, Refusal> {
		if one_time.is_none() && self.settings.rate_fail_open {
			return Ok(tier.to_owned());
		}
		Err(Refusal::SharedStateUnavailable(UNREACHABLE.into()))
	}
}
