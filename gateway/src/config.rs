//! The binary's configuration: a TOML file (`--config`), with command-line flags overriding it.

use std::{
	net::SocketAddr, num::NonZeroU32, num::NonZeroUsize, path::PathBuf, str::FromStr,
	time::Duration,
};

use clap::Parser;
use http::HeaderName;
use serde::Deserialize;
use session_keys_client::{AccountId, Balance};

use crate::{
	admission::RedisSettings, meter::MeterSettings, proxy::ServeOptions, ui::Ui, Settings, Tier,
};

/// The command line of `session-keys-gateway`.
#[derive(Debug, Parser)]
#[command(
	name = "session-keys-gateway",
	version,
	about = "A reverse proxy that authenticates and rate-limits HTTP requests signed by session keys.",
	long_about = "A reverse proxy that authenticates and rate-limits HTTP requests signed by \
	              session keys.\n\nEach request must carry an `x-session-auth` header (the client \
	              library's `encode_header_v2`) signed by a live session key for this gateway's \
	              audience and for the whole request: `METHOD /path` (for example `GET \
	              /orders/17`), the canonical query and the body's SHA-256 digest. Each header is \
	              accepted once. Accepted requests go to the upstream with the canonical query, \
	              the body, `Content-Digest`, `X-Session-Owner`, `X-Session-Key`, \
	              `X-Session-Tier`, `X-Session-Counterpart` and the gateway's own `Forwarded` and \
	              `X-Forwarded-*`; method-override, URL-rewrite and client-sent forwarding headers \
	              are dropped. Refused ones get 400, 401, 403, 413, 429 or 503 with a JSON body \
	              naming the reason. `/healthz` and `/metrics` are served by the gateway itself.",
	after_help = "EXAMPLES:\n  \
	              session-keys-gateway --upstream http://127.0.0.1:3000 --audience api.example\n  \
	              session-keys-gateway --config gateway.toml --listen 0.0.0.0:8080\n  \
	              session-keys-gateway --upstream http://127.0.0.1:3000 --audience api.example \\\n    \
	              --tier base:0:5:10 --tier gold:1000000000000000:50:100 \\\n    \
	              --counterpart 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty\n  \
	              session-keys-gateway --upstream http://127.0.0.1:3000 --audience api.example \\\n    \
	              --ui web/dist    # the browser widget at http://127.0.0.1:8080/ui/\n  \
	              session-keys-gateway --upstream http://127.0.0.1:3000 --audience api.example \\\n    \
	              --price 1 --watchtower http://127.0.0.1:9955    # metered calls\n  \
	              session-keys-gateway --config gateway.toml --listen 127.0.0.1:8081 \\\n    \
	              --redis redis://127.0.0.1:6379/0    # replicas sharing limits and headers\n\n\
	              A config file holds the same settings (flags override it):\n  \
	              listen = \"127.0.0.1:8080\"\n  \
	              upstream = \"http://127.0.0.1:3000\"\n  \
	              node = \"ws://127.0.0.1:9944\"\n  \
	              audience = \"api.example\"\n  \
	              max_head_age = 30\n  \
	              counterparts = [\"5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty\"]\n  \
	              max_body_bytes = 1048576\n  \
	              [[tier]]\n  \
	              name = \"base\"\n  \
	              min_balance = \"0\"\n  \
	              per_second = 5\n  \
	              burst = 10"
)]
pub struct Cli {
	/// A TOML file with the settings below (flags given on the command line win).
	#[arg(long, value_name = "PATH")]
	pub config: Option<PathBuf>,
	/// Where to listen [default: 127.0.0.1:8080].
	#[arg(long, value_name = "ADDR")]
	pub listen: Option<SocketAddr>,
	/// The HTTP service to forward authenticated requests to, e.g. `http://127.0.0.1:3000`.
	#[arg(long, value_name = "URL")]
	pub upstream: Option<String>,
	/// The node to follow [default: ws://127.0.0.1:9944].
	#[arg(long, value_name = "URL")]
	pub node: Option<String>,
	/// This gateway's name: headers must be signed for it.
	#[arg(long, value_name = "NAME")]
	pub audience: Option<String>,
	/// Seconds the gateway keeps serving from its cache after the newest block it knows, when
	/// the node is unreachable; then it refuses with 503 [default: 30].
	#[arg(long, value_name = "SECONDS")]
	pub max_head_age: Option<u64>,
	/// Let a header be reused while its block is fresh (KIP_9), instead of accepting each
	/// (key, nonce) once. The cost: a captured header (from a log, a TLS-terminating proxy, a
	/// browser extension) is a bearer token for that exact request for the whole freshness
	/// window (HeaderValidity blocks), and a replayed write runs again.
	#[arg(long, env = "SESSION_KEYS_GATEWAY_REUSABLE_HEADERS")]
	pub reusable_headers: bool,
	/// Accept version 1 headers too. They sign only `METHOD /path`: whoever sees one may send
	/// it with any query and any body while it is fresh. For clients that cannot sign version
	/// 2 yet.
	#[arg(long, env = "SESSION_KEYS_GATEWAY_ACCEPT_V1")]
	pub accept_v1: bool,
	/// The largest request body accepted, in bytes (it is buffered to be hashed); 413 beyond
	/// it [default: 1048576].
	#[arg(long, value_name = "BYTES", env = "SESSION_KEYS_GATEWAY_MAX_BODY_BYTES")]
	pub max_body_bytes: Option<usize>,
	/// A counterpart (SS58) this service accepts (repeat for more; replaces the file's list):
	/// keys naming another are refused (403 WrongCounterpart). Without any, every counterpart
	/// is served, and the gateway warns at startup.
	#[arg(long = "counterpart", value_name = "ACCOUNT", value_parser = parse_account)]
	pub counterparts: Vec<AccountId>,
	/// The least collateral a key must hold (403 CollateralTooLow below it).
	#[arg(long, value_name = "AMOUNT", value_parser = parse_balance)]
	pub min_collateral: Option<Balance>,
	/// Requests a second from one address (an IPv6 /64) by keys the gateway has not cached,
	/// each of which costs a node read; 429 UnknownKeyRateLimited beyond it [default: 20].
	#[arg(long, value_name = "PER_SECOND")]
	pub unknown_key_rate: Option<NonZeroU32>,
	/// How many such requests one address may send at once [default: 40].
	#[arg(long, value_name = "REQUESTS")]
	pub unknown_key_burst: Option<NonZeroU32>,
	/// Milliseconds a node read may take, and a request may wait for a read slot, before it is
	/// answered 503 [default: 2000].
	#[arg(long, value_name = "MILLISECONDS")]
	pub node_read_timeout: Option<u64>,
	/// Seconds a connection may take to send a request head, and on HTTP/1 may stay idle
	/// between requests, before it is closed [default: 10].
	#[arg(long, value_name = "SECONDS")]
	pub header_read_timeout: Option<u64>,
	/// Seconds between pings of an idle HTTP/2 connection; one unanswered for as long closes
	/// it [default: 20].
	#[arg(long, value_name = "SECONDS")]
	pub http2_keep_alive: Option<u64>,
	/// The most connections open at once; beyond it new connections wait in the listen
	/// backlog until one closes [default: 1024].
	#[arg(long, value_name = "CONNECTIONS")]
	pub max_connections: Option<NonZeroUsize>,
	/// The most connections open at once from one address (an IPv6 /64); more are closed at
	/// once, so one client cannot take every slot [default: 64].
	#[arg(long, value_name = "CONNECTIONS")]
	pub max_connections_per_address: Option<NonZeroUsize>,
	/// Seconds a request's body may take to arrive once its head is read; 408 BodyTimeout
	/// beyond it [default: 10].
	#[arg(long, value_name = "SECONDS")]
	pub body_read_timeout: Option<u64>,
	/// A host name (with its port, if clients send one) this gateway is reached by (repeat
	/// for more): a request naming another `Host` is refused (421), and the upstream's
	/// `Forwarded: host=` and `X-Forwarded-Host` name it. Without any, the client's `Host` is
	/// not forwarded at all: it is the client's word, not something the gateway checked.
	#[arg(long = "public-host", value_name = "HOST")]
	pub public_hosts: Vec<String>,
	/// Forward only this request header (repeat for more; replaces the file's list), besides
	/// Content-Type, Content-Length, Accept and the gateway's own. Without any, every header
	/// is forwarded but method overrides, URL rewrites and client-sent forwarding headers.
	#[arg(long = "forward-header", value_name = "NAME", value_parser = parse_header_name)]
	pub forward_headers: Vec<HeaderName>,
	/// The most keys to cache [default: 100000].
	#[arg(long, value_name = "KEYS")]
	pub cache_size: Option<NonZeroUsize>,
	/// A rate tier `NAME:MIN_BALANCE:PER_SECOND:BURST` (repeat for more; replaces the file's
	/// tiers). Without any: one tier for everyone, 10 a second, bursts of 20.
	#[arg(long = "tier", value_name = "TIER", value_parser = parse_tier)]
	pub tiers: Vec<Tier>,
	/// Serve the browser widget's built files (`web/dist`, made by `npm run build` in `web/`)
	/// at `/ui/`, with `/ui/config.json` naming the audience and the node for the page.
	#[arg(long, value_name = "DIR")]
	pub ui: Option<PathBuf>,
	/// The node URL the widget's page connects to, when the browser reaches the node at another
	/// address than the gateway does [default: --node].
	#[arg(long, value_name = "URL")]
	pub ui_node: Option<String>,
	/// Charge this much a call (the chain's smallest unit): every authenticated request must
	/// then carry `x-session-state`, the next channel state signed by its session key (nonce
	/// one above the last, owed at least the last plus the price), stored by the watchtower
	/// (`--watchtower`) before the request is forwarded; 402 otherwise.
	#[arg(long, value_name = "AMOUNT", value_parser = parse_balance, env = "SESSION_KEYS_GATEWAY_PRICE")]
	pub price: Option<Balance>,
	/// A tier's own price, `TIER=AMOUNT` (repeat for more; replaces the file's list); other
	/// tiers pay --price (0 without it).
	#[arg(long = "price-tier", value_name = "TIER=AMOUNT", value_parser = parse_price_tier)]
	pub price_tiers: Vec<(String, Balance)>,
	/// The counterpart's watchtower (`session-keys-watchtower run --listen`), e.g.
	/// `http://127.0.0.1:9955`: metered calls' states are posted to its `/v1/states`.
	#[arg(long, value_name = "URL", env = "SESSION_KEYS_GATEWAY_WATCHTOWER")]
	pub watchtower: Option<String>,
	/// Milliseconds a watchtower request may take before the call is answered 503
	/// [default: 2000].
	#[arg(long, value_name = "MILLISECONDS")]
	pub watchtower_timeout: Option<u64>,
	/// Keep the owners' rate buckets and the used headers in this Redis server, e.g.
	/// `redis://127.0.0.1:6379/0`, so every replica behind a load balancer shares them. While
	/// it cannot be reached, requests are refused (503 SharedStateUnavailable). Without it,
	/// each gateway keeps its own in memory.
	#[arg(long, value_name = "URL", env = "SESSION_KEYS_GATEWAY_REDIS")]
	pub redis: Option<String>,
	/// Put before every Redis key (default: `sadj:`, the audience in hex, `:`).
	#[arg(long, value_name = "PREFIX")]
	pub redis_prefix: Option<String>,
	/// Milliseconds a Redis call may take, connecting included [default: 250].
	#[arg(long, value_name = "MILLISECONDS")]
	pub redis_timeout: Option<u64>,
	/// While Redis cannot be reached, let requests through without a rate limit rather than
	/// refuse them. Only with --reusable-headers: one-time headers always fail closed.
	#[arg(long)]
	pub redis_rate_fail_open: bool,
	/// The most signatures verified together under load (1: one at a time) [default: 64].
	#[arg(long, value_name = "SIGNATURES")]
	pub verify_batch: Option<NonZeroUsize>,
	/// Microseconds a batch may wait to fill while requests are on their way to
	/// verification; a lone request never waits [default: 200].
	#[arg(long, value_name = "MICROSECONDS")]
	pub verify_batch_wait: Option<u64>,
}

/// The config file's contents.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
	listen: Option<SocketAddr>,
	upstream: Option<String>,
	node: Option<String>,
	audience: Option<String>,
	max_head_age: Option<u64>,
	reusable_headers: Option<bool>,
	accept_v1: Option<bool>,
	max_body_bytes: Option<usize>,
	#[serde(default)]
	counterparts: Vec<String>,
	min_collateral: Option<String>,
	unknown_key_rate: Option<NonZeroU32>,
	unknown_key_burst: Option<NonZeroU32>,
	node_read_timeout: Option<u64>,
	header_read_timeout: Option<u64>,
	http2_keep_alive: Option<u64>,
	max_connections: Option<NonZeroUsize>,
	max_connections_per_address: Option<NonZeroUsize>,
	body_read_timeout: Option<u64>,
	#[serde(default)]
	public_hosts: Vec<String>,
	#[serde(default)]
	forward_headers: Vec<String>,
	cache_size: Option<NonZeroUsize>,
	#[serde(default, rename = "tier")]
	tiers: Vec<Tier>,
	ui: Option<PathBuf>,
	ui_node: Option<String>,
	price: Option<String>,
	#[serde(default)]
	price_tiers: Vec<String>,
	watchtower: Option<String>,
	watchtower_timeout: Option<u64>,
	redis: Option<String>,
	redis_prefix: Option<String>,
	redis_timeout: Option<u64>,
	redis_rate_fail_open: Option<bool>,
	verify_batch: Option<NonZeroUsize>,
	verify_batch_wait: Option<u64>,
}

/// Everything the binary needs, merged and checked.
#[derive(Debug, Clone)]
pub struct Config {
	/// Where to listen.
	pub listen: SocketAddr,
	/// The upstream's base URI.
	pub upstream: http::Uri,
	/// The node's URL.
	pub node: String,
	/// How to authenticate.
	pub settings: Settings,
	/// How to serve connections and what to forward.
	pub serve: ServeOptions,
	/// The widget's files, if served.
	pub ui: Option<Ui>,
	/// The prices and the watchtower, when calls are metered.
	pub meter: Option<MeterSettings>,
	/// The Redis server the replicas share, if any.
	pub redis: Option<RedisSettings>,
}

/// Why the configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
	/// The config file cannot be read.
	#[error("cannot read {path}: {error}")]
	Read {
		/// The file.
		path: PathBuf,
		/// Why.
		error: std::io::Error,
	},
	/// The config file is not valid.
	#[error("{path} is not a valid config: {error}")]
	Parse {
		/// The file.
		path: PathBuf,
		/// Why.
		error: toml::de::Error,
	},
	/// A required setting is missing.
	#[error("no {0} given: pass --{0} or set `{0}` in the config file")]
	Missing(&'static str),
	/// The upstream is not an `http://` URL.
	#[error("the upstream `{0}` is not an http:// URL with a host")]
	BadUpstream(String),
	/// A setting's value is not valid.
	#[error("{0}")]
	Invalid(String),
	/// The widget directory holds no `index.html`.
	#[error("{0} holds no index.html: build the widget first (`npm ci && npm run build` in web/)")]
	BadUi(PathBuf),
	/// The watchtower is not an `http://` URL with a host.
	#[error("the watchtower `{0}` is not an http:// URL with a host")]
	BadWatchtower(String),
	/// The Redis URL cannot be used.
	#[error("--redis `{0}` is not a redis:// URL (redis://HOST:PORT/DB)")]
	BadRedis(String),
	/// The node the widget is told to connect to is not a `ws://` or `wss://` URL with a host.
	#[error("--ui-node `{0}` is not a ws:// or wss:// URL with a host (and no credentials)")]
	BadUiNode(String),
}

/// Parses `NAME:MIN_BALANCE:PER_SECOND:BURST`.
pub fn parse_tier(text: &str) -> Result<Tier, String> {
	let parts: Vec<&str> = text.split(':').collect();
	let [name, min_balance, per_second, burst] = parts[..] else {
		return Err(format!("`{text}` is not NAME:MIN_BALANCE:PER_SECOND:BURST"));
	};
	let positive = |what: &str, value: &str| {
		value
			.parse::<NonZeroU32>()
			.map_err(|_| format!("{what} `{value}` is not a whole number above 0"))
	};
	if name.is_empty() {
		return Err("a tier needs a name".into());
	}
	Ok(Tier {
		name: name.into(),
		min_balance: min_balance
			.replace('_', "")
			.parse()
			.map_err(|_| format!("min balance `{min_balance}` is not a whole number"))?,
		per_second: positive("per second", per_second)?,
		burst: positive("burst", burst)?,
	})
}

/// Parses `TIER=AMOUNT`.
pub fn parse_price_tier(text: &str) -> Result<(String, Balance), String> {
	let (tier, amount) =
		text.split_once('=').ok_or_else(|| format!("`{text}` is not TIER=AMOUNT"))?;
	if tier.is_empty() {
		return Err(format!("`{text}` names no tier"));
	}
	Ok((tier.to_owned(), parse_balance(amount)?))
}

/// Parses an SS58 account.
pub fn parse_account(text: &str) -> Result<AccountId, String> {
	AccountId::from_str(text.trim()).map_err(|_| format!("`{text}` is not an SS58 account"))
}

/// Parses a balance in the chain's smallest unit (`_` allowed between digits).
pub fn parse_balance(text: &str) -> Result<Balance, String> {
	text.replace('_', "").parse().map_err(|_| format!("`{text}` is not a whole amount"))
}

/// Parses a header name.
pub fn parse_header_name(text: &str) -> Result<HeaderName, String> {
	HeaderName::try_from(text.trim()).map_err(|_| format!("`{text}` is not a header name"))
}

impl Cli {
	/// Reads the config file (if any) and applies the flags over it.
	pub fn resolve(self) -> Result<Config, ConfigError> {
		let file = match &self.config {
			Some(path) => {
				let text = std::fs::read_to_string(path)
					.map_err(|error| ConfigError::Read { path: path.clone(), error })?;
				toml::from_str(&text)
					.map_err(|error| ConfigError::Parse { path: path.clone(), error })?
			}
			None => FileConfig::default(),
		};
		let upstream = self.upstream.or(file.upstream).ok_or(ConfigError::Missing("upstream"))?;
		let upstream_uri: http::Uri =
			upstream.parse().map_err(|_| ConfigError::BadUpstream(upstream.clone()))?;
		if upstream_uri.scheme_str() != Some("http") || upstream_uri.host().is_none() {
			return Err(ConfigError::BadUpstream(upstream));
		}
		let audience = self.audience.or(file.audience).ok_or(ConfigError::Missing("audience"))?;
		let mut settings = Settings::new(audience.into_bytes());
		if let Some(seconds) = self.max_head_age.or(file.max_head_age) {
			settings.max_head_age = Duration::from_secs(seconds);
		}
		settings.one_time_headers =
			!(self.reusable_headers || file.reusable_headers.unwrap_or(false));
		settings.accept_v1 = self.accept_v1 || file.accept_v1.unwrap_or(false);
		if let Some(bytes) = self.max_body_bytes.or(file.max_body_bytes) {
			settings.max_body_bytes = bytes;
		}
		settings.counterparts = if self.counterparts.is_empty() {
			file.counterparts
				.iter()
				.map(|text| parse_account(text))
				.collect::<Result<_, _>>()
				.map_err(ConfigError::Invalid)?
		} else {
			self.counterparts
		};
		settings.min_collateral = match self.min_collateral {
			Some(amount) => Some(amount),
			None => file
				.min_collateral
				.as_deref()
				.map(parse_balance)
				.transpose()
				.map_err(ConfigError::Invalid)?,
		};
		if let Some(rate) = self.unknown_key_rate.or(file.unknown_key_rate) {
			settings.unknown_key_rate = rate;
		}
		if let Some(burst) = self.unknown_key_burst.or(file.unknown_key_burst) {
			settings.unknown_key_burst = burst;
		}
		if let Some(millis) = self.node_read_timeout.or(file.node_read_timeout) {
			settings.node_read_timeout = Duration::from_millis(millis.max(1));
		}
		let mut serve = ServeOptions::default();
		if let Some(seconds) = self.header_read_timeout.or(file.header_read_timeout) {
			serve.header_read_timeout = Duration::from_secs(seconds.max(1));
		}
		if let Some(seconds) = self.http2_keep_alive.or(file.http2_keep_alive) {
			serve.http2_keep_alive_interval = Duration::from_secs(seconds.max(1));
			serve.http2_keep_alive_timeout = Duration::from_secs(seconds.max(1));
		}
		if let Some(connections) = self.max_connections.or(file.max_connections) {
			serve.max_connections = connections.get();
		}
		if let Some(connections) =
			self.max_connections_per_address.or(file.max_connections_per_address)
		{
			serve.max_connections_per_address = connections.get();
		}
		if let Some(seconds) = self.body_read_timeout.or(file.body_read_timeout) {
			settings.body_read_timeout = Duration::from_secs(seconds.max(1));
		}
		serve.public_hosts =
			if self.public_hosts.is_empty() { file.public_hosts } else { self.public_hosts }
				.into_iter()
				.map(|host| host.to_ascii_lowercase())
				.collect();
		serve.forward_headers = if self.forward_headers.is_empty() {
			file.forward_headers
				.iter()
				.map(|text| parse_header_name(text))
				.collect::<Result<_, _>>()
				.map_err(ConfigError::Invalid)?
		} else {
			self.forward_headers
		};
		if let Some(size) = self.cache_size.or(file.cache_size) {
			settings.cache_size = size;
		}
		settings.tiers = if self.tiers.is_empty() { file.tiers } else { self.tiers };
		if let Some(batch) = self.verify_batch.or(file.verify_batch) {
			settings.batch.max_batch = batch.get();
		}
		if let Some(micros) = self.verify_batch_wait.or(file.verify_batch_wait) {
			settings.batch.max_wait = Duration::from_micros(micros);
		}
		let redis = match self.redis.or(file.redis) {
			Some(url) => {
				if redis::Client::open(url.as_str()).is_err() || !url.starts_with("redis://") {
					return Err(ConfigError::BadRedis(url));
				}
				let mut redis = RedisSettings::new(url, &settings.audience);
				if let Some(prefix) = self.redis_prefix.or(file.redis_prefix) {
					redis.prefix = prefix;
				}
				if let Some(millis) = self.redis_timeout.or(file.redis_timeout) {
					redis.timeout = Duration::from_millis(millis.max(1));
				}
				redis.rate_fail_open =
					self.redis_rate_fail_open || file.redis_rate_fail_open.unwrap_or(false);
				if redis.rate_fail_open && settings.one_time_headers {
					return Err(ConfigError::Invalid(
						"--redis-rate-fail-open needs --reusable-headers: one-time headers \
						 always fail closed, so nothing would pass while Redis is down"
							.into(),
					));
				}
				Some(redis)
			}
			None => None,
		};
		let node = self.node.or(file.node).unwrap_or_else(|| "ws://127.0.0.1:9944".into());
		let price = match self.price {
			Some(price) => Some(price),
			None => file
				.price
				.as_deref()
				.map(parse_balance)
				.transpose()
				.map_err(ConfigError::Invalid)?,
		};
		let price_tiers = if self.price_tiers.is_empty() {
			file.price_tiers
				.iter()
				.map(|text| parse_price_tier(text))
				.collect::<Result<_, _>>()
				.map_err(ConfigError::Invalid)?
		} else {
			self.price_tiers
		};
		let meter = if price.is_some() || !price_tiers.is_empty() {
			let url =
				self.watchtower.or(file.watchtower).ok_or(ConfigError::Missing("watchtower"))?;
			let uri: http::Uri =
				url.parse().map_err(|_| ConfigError::BadWatchtower(url.clone()))?;
			if uri.scheme_str() != Some("http") || uri.host().is_none() {
				return Err(ConfigError::BadWatchtower(url));
			}
			let millis = self.watchtower_timeout.or(file.watchtower_timeout).unwrap_or(2000);
			Some(MeterSettings {
				price: price.unwrap_or(0),
				tier_prices: price_tiers,
				watchtower: uri,
				timeout: Duration::from_millis(millis.max(1)),
			})
		} else {
			None
		};
		let ui = match self.ui.or(file.ui) {
			Some(dir) if !dir.join("index.html").is_file() => return Err(ConfigError::BadUi(dir)),
			Some(dir) => {
				let page_node = self.ui_node.or(file.ui_node).unwrap_or_else(|| node.clone());
				// Checked now, so a typo stops the gateway rather than every page load.
				crate::ui::node_origin(&page_node)
					.map_err(|_| ConfigError::BadUiNode(page_node.clone()))?;
				Some(
					Ui::new(dir, &settings.audience, &page_node)
						.with_price(meter.as_ref().map(|meter| meter.price)),
				)
			}
			None => None,
		};
		Ok(Config {
			listen: self
				.listen
				.or(file.listen)
				.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
			upstream: upstream_uri,
			node,
			settings,
			serve,
			ui,
			meter,
			redis,
		})
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn cli(args: &[&str]) -> Cli {
		Cli::try_parse_from(std::iter::once("session-keys-gateway").chain(args.iter().copied()))
			.unwrap()
	}

	#[test]
	fn flags_override_the_file() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("gateway.toml");
		std::fs::write(
			&path,
			"upstream = 'http://127.0.0.1:3000'\naudience = 'file'\nmax_head_age = 5\n\
			 [[tier]]\nname = 'base'\nmin_balance = '0'\nper_second = 1\nburst = 2\n",
		)
		.unwrap();
		let config =
			cli(&["--config", path.to_str().unwrap(), "--audience", "flag"]).resolve().unwrap();
		assert_eq!(config.settings.audience, b"flag");
		assert_eq!(config.settings.max_head_age, Duration::from_secs(5));
		assert_eq!(config.settings.tiers.len(), 1);
		assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
		let tiered = cli(&["--config", path.to_str().unwrap(), "--tier", "gold:1_000:50:100"])
			.resolve()
			.unwrap();
		assert_eq!(tiered.settings.tiers[0].name, "gold");
		assert_eq!(tiered.settings.tiers[0].min_balance, 1_000);
		assert!(tiered.ui.is_none());
		// One-time version 2 headers, any counterpart, 1 MiB, unless told otherwise.
		assert!(config.settings.one_time_headers && !config.settings.accept_v1);
		assert!(config.settings.counterparts.is_empty());
		assert_eq!(config.settings.max_body_bytes, 1024 * 1024);
		assert_eq!(config.serve.header_read_timeout, Duration::from_secs(10));
		let bob = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
		std::fs::write(
			&path,
			format!(
				"upstream = 'http://127.0.0.1:3000'\naudience = 'file'\nreusable_headers = true\n\
				 accept_v1 = true\ncounterparts = ['{bob}']\nmin_collateral = '1_000'\n\
				 forward_headers = ['X-Request-Id']\nmax_body_bytes = 10\n\
				 header_read_timeout = 3\nmax_connections = 5\nnode_read_timeout = 500\n"
			),
		)
		.unwrap();
		let filed = cli(&["--config", path.to_str().unwrap()]).resolve().unwrap();
		assert!(!filed.settings.one_time_headers && filed.settings.accept_v1);
		assert_eq!(filed.settings.counterparts, vec![parse_account(bob).unwrap()]);
		assert_eq!(filed.settings.min_collateral, Some(1_000));
		assert_eq!(filed.settings.max_body_bytes, 10);
		assert_eq!(filed.settings.node_read_timeout, Duration::from_millis(500));
		assert_eq!(filed.serve.forward_headers, vec![HeaderName::from_static("x-request-id")]);
		assert_eq!(filed.serve.header_read_timeout, Duration::from_secs(3));
		assert_eq!(filed.serve.max_connections, 5);
		let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
		let flagged = cli(&[
			"--config",
			path.to_str().unwrap(),
			"--counterpart",
			alice,
			"--min-collateral",
			"7",
			"--forward-header",
			"x-trace",
		])
		.resolve()
		.unwrap();
		assert_eq!(flagged.settings.counterparts, vec![parse_account(alice).unwrap()]);
		assert_eq!(flagged.settings.min_collateral, Some(7));
		assert_eq!(flagged.serve.forward_headers, vec![HeaderName::from_static("x-trace")]);
		std::fs::write(dir.path().join("index.html"), "<!doctype html>").unwrap();
		let ui = dir.path().to_str().unwrap();
		let served = cli(&["--config", path.to_str().unwrap(), "--ui", ui]).resolve().unwrap();
		assert!(served.ui.is_some());
	}

	#[test]
	fn bad_settings_are_named() {
		assert!(matches!(
			cli(&["--audience", "a"]).resolve(),
			Err(ConfigError::Missing("upstream"))
		));
		assert!(matches!(
			cli(&["--upstream", "ftp://x", "--audience", "a"]).resolve(),
			Err(ConfigError::BadUpstream(_))
		));
		assert!(matches!(
			cli(&["--upstream", "http://x:1"]).resolve(),
			Err(ConfigError::Missing("audience"))
		));
		assert!(parse_tier("gold:1:0:1").is_err());
		assert!(parse_tier("gold:lots:1:1").is_err());
		assert!(parse_tier("gold:1:1").is_err());
		assert!(parse_account("5Grw").is_err());
		assert!(parse_balance("lots").is_err());
		assert!(Cli::try_parse_from(["session-keys-gateway", "--counterpart", "nobody"]).is_err());
		assert!(matches!(
			cli(&["--upstream", "http://x:1", "--audience", "a", "--ui", "/nonexistent"]).resolve(),
			Err(ConfigError::BadUi(_))
		));
		let widget = tempfile::tempdir().unwrap();
		std::fs::write(widget.path().join("index.html"), "<!doctype html>").unwrap();
		for bad in ["http://127.0.0.1:9944", "ws://user:pw@node:9944", "not a url"] {
			let args = ["--upstream", "http://x:1", "--audience", "a", "--ui"];
			let mut args = args.to_vec();
			args.extend([widget.path().to_str().unwrap(), "--ui-node", bad]);
			assert!(
				matches!(cli(&args).resolve(), Err(ConfigError::BadUiNode(_))),
				"{bad} is refused at startup"
			);
		}
		let missing = cli(&["--config", "/nonexistent/gateway.toml"]).resolve();
		assert!(matches!(missing, Err(ConfigError::Read { .. })));
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("bad.toml");
		std::fs::write(&path, "upstrem = 'http://x'\n").unwrap();
		assert!(matches!(
			cli(&["--config", path.to_str().unwrap()]).resolve(),
			Err(ConfigError::Parse { .. })
		));
	}

	#[test]
	fn redis_and_batching_settings_are_read_and_checked() {
		let base = ["--upstream", "http://x:1", "--audience", "api.example"];
		let with = |extra: &[&str]| {
			let mut args = base.to_vec();
			args.extend(extra);
			cli(&args).resolve()
		};
		let config = with(&[]).unwrap();
		assert!(config.redis.is_none());
		assert_eq!(config.settings.batch, crate::verify::BatchSettings::default());
		let config = with(&[
			"--redis",
			"redis://127.0.0.1:6379/2",
			"--redis-timeout",
			"80",
			"--verify-batch",
			"16",
			"--verify-batch-wait",
			"50",
		])
		.unwrap();
		let redis = config.redis.unwrap();
		assert_eq!(redis.url, "redis://127.0.0.1:6379/2");
		assert_eq!(redis.prefix, "sadj:6170692e6578616d706c65:", "the audience in hex");
		assert_eq!(redis.timeout, Duration::from_millis(80));
		assert!(!redis.rate_fail_open);
		assert_eq!(config.settings.batch.max_batch, 16);
		assert_eq!(config.settings.batch.max_wait, Duration::from_micros(50));
		assert!(matches!(
			with(&["--redis", "http://127.0.0.1:6379"]),
			Err(ConfigError::BadRedis(_))
		));
		assert!(matches!(with(&["--redis", "not a url"]), Err(ConfigError::BadRedis(_))));
		// Failing open makes sense only for reusable headers: one-time headers fail closed.
		assert!(matches!(
			with(&["--redis", "redis://127.0.0.1:6379", "--redis-rate-fail-open"]),
			Err(ConfigError::Invalid(_))
		));
		let open = with(&[
			"--redis",
			"redis://127.0.0.1:6379",
			"--redis-rate-fail-open",
			"--reusable-headers",
			"--redis-prefix",
			"shared:",
		])
		.unwrap()
		.redis
		.unwrap();
		assert!(open.rate_fail_open);
		assert_eq!(open.prefix, "shared:");
		assert!(Cli::try_parse_from(
			["session-keys-gateway", "--verify-batch", "0"].into_iter().chain(base)
		)
		.is_err());
	}

	#[test]
	fn a_price_needs_a_watchtower() {
		let base = ["--upstream", "http://x:1", "--audience", "a"];
		let with = |extra: &[&str]| {
			let mut args = base.to_vec();
			args.extend(extra);
			cli(&args).resolve()
		};
		assert!(with(&[]).unwrap().meter.is_none());
		assert!(matches!(with(&["--price", "1"]), Err(ConfigError::Missing("watchtower"))));
		assert!(matches!(
			with(&["--price", "1", "--watchtower", "ws://x:1"]),
			Err(ConfigError::BadWatchtower(_))
		));
		let meter = with(&[
			"--price",
			"1_000",
			"--price-tier",
			"gold=5",
			"--watchtower",
			"http://127.0.0.1:9955",
		])
		.unwrap()
		.meter
		.unwrap();
		assert_eq!(meter.price, 1000);
		assert_eq!(meter.price_for("gold"), 5);
		assert_eq!(meter.timeout, Duration::from_secs(2));
		assert!(parse_price_tier("gold").is_err());
		assert!(parse_price_tier("=5").is_err());
		assert!(parse_price_tier("gold=lots").is_err());
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("gateway.toml");
		std::fs::write(
			&path,
			"upstream = 'http://127.0.0.1:3000'\naudience = 'a'\nprice = '3'\n\
			 price_tiers = ['gold=1']\nwatchtower = 'http://127.0.0.1:9955'\n\
			 watchtower_timeout = 500\n",
		)
		.unwrap();
		let meter = cli(&["--config", path.to_str().unwrap()]).resolve().unwrap().meter.unwrap();
		assert_eq!((meter.price, meter.price_for("gold")), (3, 1));
		assert_eq!(meter.timeout, Duration::from_millis(500));
	}
}
