//! The binary's configuration: a TOML file (`--config`), with command-line flags overriding it.

use std::{net::SocketAddr, num::NonZeroU32, num::NonZeroUsize, path::PathBuf, time::Duration};

use clap::Parser;
use serde::Deserialize;

use crate::{ui::Ui, Settings, Tier};

/// The command line of `session-keys-gateway`.
#[derive(Debug, Parser)]
#[command(
	name = "session-keys-gateway",
	version,
	about = "A reverse proxy that authenticates and rate-limits HTTP requests signed by session keys.",
	long_about = "A reverse proxy that authenticates and rate-limits HTTP requests signed by \
	              session keys.\n\nEach request must carry an `x-session-auth` header (the client \
	              library's `encode_header`) signed by a live session key for this gateway's \
	              audience and for the request's resource, `METHOD /path` (for example `GET \
	              /orders/17`). Accepted requests go to the upstream with `X-Session-Owner`, \
	              `X-Session-Key` and `X-Session-Tier`; refused ones get 400, 401, 403, 429 or \
	              503 with a JSON body naming the reason. `/healthz` and `/metrics` are served by \
	              the gateway itself.",
	after_help = "EXAMPLES:\n  \
	              session-keys-gateway --upstream http://127.0.0.1:3000 --audience api.example\n  \
	              session-keys-gateway --config gateway.toml --listen 0.0.0.0:8080\n  \
	              session-keys-gateway --upstream http://127.0.0.1:3000 --audience api.example \\\n    \
	              --tier base:0:5:10 --tier gold:1000000000000000:50:100 --one-time-headers\n  \
	              session-keys-gateway --upstream http://127.0.0.1:3000 --audience api.example \\\n    \
	              --ui web/dist    # the browser widget at http://127.0.0.1:8080/ui/\n\n\
	              A config file holds the same settings (flags override it):\n  \
	              listen = \"127.0.0.1:8080\"\n  \
	              upstream = \"http://127.0.0.1:3000\"\n  \
	              node = \"ws://127.0.0.1:9944\"\n  \
	              audience = \"api.example\"\n  \
	              max_head_age = 30\n  \
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
	/// Accept each (key, nonce) once, instead of letting a header be reused while fresh.
	#[arg(long)]
	pub one_time_headers: bool,
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
	one_time_headers: Option<bool>,
	cache_size: Option<NonZeroUsize>,
	#[serde(default, rename = "tier")]
	tiers: Vec<Tier>,
	ui: Option<PathBuf>,
	ui_node: Option<String>,
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
	/// The widget's files, if served.
	pub ui: Option<Ui>,
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
	/// The widget directory holds no `index.html`.
	#[error("{0} holds no index.html: build the widget first (`npm ci && npm run build` in web/)")]
	BadUi(PathBuf),
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
		settings.one_time_headers = self.one_time_headers || file.one_time_headers.unwrap_or(false);
		if let Some(size) = self.cache_size.or(file.cache_size) {
			settings.cache_size = size;
		}
		settings.tiers = if self.tiers.is_empty() { file.tiers } else { self.tiers };
		let node = self.node.or(file.node).unwrap_or_else(|| "ws://127.0.0.1:9944".into());
		let ui = match self.ui.or(file.ui) {
			Some(dir) if !dir.join("index.html").is_file() => return Err(ConfigError::BadUi(dir)),
			Some(dir) => {
				let page_node = self.ui_node.or(file.ui_node).unwrap_or_else(|| node.clone());
				Some(Ui::new(dir, &settings.audience, &page_node))
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
			ui,
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
		let dir = std::env::temp_dir().join(format!("gateway-config-{}", std::process::id()));
		std::fs::create_dir_all(&dir).unwrap();
		let path = dir.join("gateway.toml");
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
		std::fs::write(dir.join("index.html"), "<!doctype html>").unwrap();
		let ui = dir.to_str().unwrap();
		let served = cli(&["--config", path.to_str().unwrap(), "--ui", ui]).resolve().unwrap();
		assert!(served.ui.is_some());
		std::fs::remove_dir_all(dir).unwrap();
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
		assert!(matches!(
			cli(&["--upstream", "http://x:1", "--audience", "a", "--ui", "/nonexistent"]).resolve(),
			Err(ConfigError::BadUi(_))
		));
		let missing = cli(&["--config", "/nonexistent/gateway.toml"]).resolve();
		assert!(matches!(missing, Err(ConfigError::Read { .. })));
		let dir = std::env::temp_dir().join(format!("gateway-bad-{}", std::process::id()));
		std::fs::create_dir_all(&dir).unwrap();
		let path = dir.join("bad.toml");
		std::fs::write(&path, "upstrem = 'http://x'\n").unwrap();
		assert!(matches!(
			cli(&["--config", path.to_str().unwrap()]).resolve(),
			Err(ConfigError::Parse { .. })
		));
		std::fs::remove_dir_all(dir).unwrap();
	}
}
