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
	sync::atomic::{AtomicBool, Ordering},
	time::{Duration, Instant},
};

use parking_lot::Mutex;
use redis::{aio::ConnectionManager, Script};
use session_keys_client::{AccountId, Balance, BlockNumber};
use session_keys_primitives::SessionPublic;

use crate::{
	limit::{Limited, Limiter, Tier},
	metrics::Metrics,
	replay::SeenNonces,
	Refusal,
};

/// The admission script. `KEYS[1]`: the owner's bucket; `KEYS[2]` (optional): the header's
/// `(key, nonce)`. `ARGV[1]`: the emission interval (µs, one request's share of a second);
/// `ARGV[2]`: the burst tolerance (µs, `burst` intervals); `ARGV[3]`: the header's time to live
/// (ms). Answers `{1, 0}` admitted, `{0, wait_us}` rate limited, `{-1, 0}` replayed.
pub const ADMIT: &str = r"
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then
	return {-1, 0}
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
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
	redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
end
return {1, 0}
";

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
	/// Settings for `url`: keys under `sadj:<audience>:`, calls of at most 250 ms, failing
	/// closed.
	pub fn new(url: impl Into<String>, audience: &[u8]) -> Self {
		Self {
			url: url.into(),
			prefix: format!("sadj:{}:", String::from_utf8_lossy(audience)),
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
	/// The last block at which it is fresh (kept in memory until then).
	pub fresh_until: BlockNumber,
	/// How long it is kept in Redis: past the longest it can stay fresh.
	pub ttl: Duration,
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
	Redis(RedisAdmission),
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
	connection: ConnectionManager,
	script: Script,
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

impl RedisAdmission {
	/// Admission against the server of `settings`, with `tiers`. It connects on first use,
	/// and again with backoff whenever the connection is lost; the gateway starts (failing
	/// closed) even while the server is down.
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
		let connection = ConnectionManager::new_lazy_with_config(client, config)
			.map_err(|error| RedisSetupError::BadUrl { url: settings.url.clone(), error })?;
		Ok(Self {
			settings,
			tiers: Limiter::new(tiers),
			connection,
			script: Script::new(ADMIT),
			up: AtomicBool::new(true),
			last_error: Mutex::new(None),
		})
	}

	/// The settings.
	pub fn settings(&self) -> &RedisSettings {
		&self.settings
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
		if let Some(once) = &one_time {
			invocation.key(format!(
				"{prefix}used:{}:{}",
				sp_core::hexdisplay::HexDisplay::from(&codec::Encode::encode(&once.public)),
				once.nonce
			));
		}
		let ttl_ms = one_time.map_or(1, |once| once.ttl.as_millis().max(1));
		invocation.arg(interval_us).arg(tolerance_us).arg(ttl_ms as u64);
		let started = Instant::now();
		let mut connection = self.connection.clone();
		let outcome = tokio::time::timeout(
			self.settings.timeout,
			invocation.invoke_async::<(i64, i64)>(&mut connection),
		)
		.await;
		metrics.redis_seconds.observe(started.elapsed().as_secs_f64());
		let answer = match outcome {
			Ok(Ok(answer)) => {
				if !self.up.swap(true, Ordering::Relaxed) {
					tracing::info!(url = %self.settings.url, "Redis reachable again");
				}
				*self.last_error.lock() = None;
				metrics.redis_up.set(1);
				answer
			}
			Ok(Err(error)) => {
				return self.unreachable(error.to_string(), &tier.name, one_time, metrics)
			}
			Err(_) => {
				let error = format!("no answer within {:?}", self.settings.timeout);
				return self.unreachable(error, &tier.name, one_time, metrics);
			}
		};
		match answer {
			(1, _) => Ok(tier.name.clone()),
			(-1, _) => Err(Refusal::Replayed),
			(_, wait_us) => Err(Refusal::RateLimited {
				tier: tier.name.clone(),
				retry_after: Duration::from_micros(wait_us.max(1) as u64),
			}),
		}
	}

	/// Redis did not answer: fail closed, or open for the rate limit if so configured.
	fn unreachable(
		&self,
		error: String,
		tier: &str,
		one_time: Option<OneTime>,
		metrics: &Metrics,
	) -> Result<String, Refusal> {
		metrics.redis_errors.inc();
		metrics.redis_up.set(0);
		if self.up.swap(false, Ordering::Relaxed) {
			tracing::warn!(url = %self.settings.url, %error, "Redis unreachable");
		}
		*self.last_error.lock() = Some(error.clone());
		if one_time.is_none() && self.settings.rate_fail_open {
			return Ok(tier.to_owned());
		}
		Err(Refusal::SharedStateUnavailable(error))
	}
}
