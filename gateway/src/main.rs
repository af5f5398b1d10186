//! `session-keys-gateway`: a reverse proxy that authenticates and rate-limits HTTP requests
//! signed by session keys. See `--help`.

use std::{io::IsTerminal, process::ExitCode, sync::Arc};

use clap::Parser;
use session_keys_gateway::{
	admission::{Admission, RedisAdmission},
	config::Cli,
	follow, proxy, Gateway, Meter, NodeChain,
};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
	tracing_subscriber::fmt()
		.with_env_filter(
			EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
		)
		// Colour codes only for a terminal, not in a file or a log collector.
		.with_ansi(std::io::stdout().is_terminal())
		.init();
	let config = match Cli::parse().resolve() {
		Ok(config) => config,
		Err(error) => {
			eprintln!("error: {error}");
			return ExitCode::from(2);
		}
	};
	let listener = match TcpListener::bind(config.listen).await {
		Ok(listener) => listener,
		Err(error) => {
			eprintln!("error: cannot listen on {}: {error}", config.listen);
			return ExitCode::FAILURE;
		}
	};
	tracing::info!(
		listen = %config.listen,
		upstream = %config.upstream,
		node = %config.node,
		audience = %String::from_utf8_lossy(&config.settings.audience),
		one_time_headers = config.settings.one_time_headers,
		accept_v1 = config.settings.accept_v1,
		counterparts = config.settings.counterparts.len(),
		max_body_bytes = config.settings.max_body_bytes,
		max_connections = config.serve.max_connections,
		header_read_timeout = ?config.serve.header_read_timeout,
		ui = config.ui.is_some(),
		"gateway started"
	);
	if config.settings.counterparts.is_empty() {
		tracing::warn!(
			"no --counterpart given: keys naming ANY counterpart are served, including one the \
			 client controls itself, which this service can never settle as; pass \
			 --counterpart with this service's account"
		);
	}
	if !config.settings.one_time_headers {
		tracing::warn!(
			"--reusable-headers: a captured header can be replayed for its whole freshness window"
		);
	}
	if config.settings.accept_v1 {
		tracing::warn!(
			"--accept-v1: version 1 headers bind neither the query nor the body; a captured one \
			 can be sent with any query or body while fresh"
		);
	}
	if config.ui.is_some() {
		tracing::info!("the widget is at http://{}/ui/", config.listen);
	}
	// The window is read from the chain once connected; until then every request gets 503.
	let mut gateway = Gateway::new(NodeChain::new(), config.settings.clone(), 0);
	if let Some(meter) = config.meter {
		tracing::info!(
			price = %meter.price,
			tier_prices = ?meter.tier_prices,
			watchtower = %meter.watchtower,
			"metered calls: each request must carry the next signed state (x-session-state)"
		);
		gateway = gateway.with_meter(Meter::new(meter, config.settings.cache_size));
	}
	if let Some(redis) = config.redis {
		tracing::info!(
			url = %redis.url,
			prefix = %redis.prefix,
			timeout = ?redis.timeout,
			rate_fail_open = redis.rate_fail_open,
			"rate buckets and used headers are shared through Redis"
		);
		match RedisAdmission::new(redis, config.settings.tiers.clone()) {
			Ok(redis) => gateway = gateway.with_admission(Admission::Redis(Box::new(redis))),
			Err(error) => {
				eprintln!("error: {error}");
				return ExitCode::from(2);
			}
		}
	}
	let gateway = Arc::new(gateway);
	let follower = tokio::spawn(follow(gateway.clone(), config.node, Default::default()));
	let prober = {
		let gateway = gateway.clone();
		tokio::spawn(async move { gateway.probe_shared_state().await })
	};
	// The widget's config.json pins the chain's genesis hash once the follower learns it.
	let ui = config.ui.map(|ui| ui.following(gateway.clone()));
	let served =
		proxy::serve(listener, gateway, config.upstream, ui, config.serve, shutdown_signal()).await;
	follower.abort();
	prober.abort();
	match served {
		Ok(()) => ExitCode::SUCCESS,
		Err(error) => {
			eprintln!("error: {error}");
			ExitCode::FAILURE
		}
	}
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
	let terminate = async {
		match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
			Ok(mut signal) => {
				signal.recv().await;
			}
			Err(_) => std::future::pending().await,
		}
	};
	tokio::select! {
		_ = tokio::signal::ctrl_c() => {},
		() = terminate => {},
	}
	tracing::info!("shutdown requested");
}
