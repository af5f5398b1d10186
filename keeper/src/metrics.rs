//! Prometheus metrics of the daemon, served at `http://ADDR/metrics` with `run --metrics ADDR`.

use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use http_body_util::Full;
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::TokioIo;
use prometheus::{Encoder, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};
use tokio::net::TcpListener;

/// Every metric the daemon exports.
pub struct Metrics {
	registry: Registry,
	/// Live keys per profile.
	pub live_keys: IntGaugeVec,
	/// Blocks until the newest live key of each profile expires.
	pub blocks_to_expiry: IntGaugeVec,
	/// Keys registered, per profile.
	pub registrations: IntCounterVec,
	/// Renewals, per profile.
	pub renewals: IntCounterVec,
	/// Rotations completed (a predecessor revoked once its successor was live), per profile.
	pub rotations: IntCounterVec,
	/// Revocations, per profile.
	pub revocations: IntCounterVec,
	/// Failed steps, per profile and action.
	pub failures: IntCounterVec,
	/// The newest finalized block the daemon acted on.
	pub finalized: IntGauge,
	/// How many blocks the finalized block trailed the best block by, at the last step.
	pub finality_lag: IntGauge,
	/// The renew margin in use per profile: the configured one, or more when the measured
	/// finality lag and inclusion time need it.
	pub renew_margin: IntGaugeVec,
	/// 1 while this daemon leads the store's daemons (always, for a store of one daemon).
	pub leading: IntGauge,
	/// The fencing token of this daemon's latest lead.
	pub fencing_token: IntGauge,
}

impl Metrics {
	/// Registers every metric in a registry of its own.
	pub fn new() -> Self {
		let registry =
			Registry::new_custom(Some("session_keys_keeper".into()), None).expect("a valid prefix");
		let per_profile = |name: &str, help: &str| {
			IntCounterVec::new(Opts::new(name, help), &["profile"]).expect("valid metric")
		};
		let live_keys =
			IntGaugeVec::new(Opts::new("live_keys", "Live keys per profile"), &["profile"])
				.expect("valid metric");
		let blocks_to_expiry = IntGaugeVec::new(
			Opts::new("blocks_to_expiry", "Blocks until the newest live key expires"),
			&["profile"],
		)
		.expect("valid metric");
		let registrations = per_profile("registrations_total", "Keys registered");
		let renewals = per_profile("renewals_total", "Keys renewed");
		let rotations =
			per_profile("rotations_total", "Predecessors revoked once their successor was live");
		let revocations = per_profile("revocations_total", "Keys revoked");
		let failures = IntCounterVec::new(
			Opts::new("failures_total", "Failed steps, by action"),
			&["profile", "action"],
		)
		.expect("valid metric");
		let finalized = IntGauge::new("finalized_block", "The newest finalized block acted on")
			.expect("valid metric");
		let finality_lag =
			IntGauge::new("finality_lag_blocks", "Blocks the finalized block trails the best by")
				.expect("valid metric");
		let renew_margin = IntGaugeVec::new(
			Opts::new("renew_margin_blocks", "The renew margin in use (configured or measured)"),
			&["profile"],
		)
		.expect("valid metric");
		let leading = IntGauge::new("leading", "1 while this daemon leads; 0 on standby")
			.expect("valid metric");
		let fencing_token =
			IntGauge::new("fencing_token", "The fencing token of this daemon's latest lead")
				.expect("valid metric");
		for metric in [
			Box::new(live_keys.clone()) as Box<dyn prometheus::core::Collector>,
			Box::new(blocks_to_expiry.clone()),
			Box::new(registrations.clone()),
			Box::new(renewals.clone()),
			Box::new(rotations.clone()),
			Box::new(revocations.clone()),
			Box::new(failures.clone()),
			Box::new(finalized.clone()),
			Box::new(finality_lag.clone()),
			Box::new(renew_margin.clone()),
			Box::new(leading.clone()),
			Box::new(fencing_token.clone()),
		] {
			registry.register(metric).expect("names are distinct");
		}
		Self {
			registry,
			live_keys,
			blocks_to_expiry,
			registrations,
			renewals,
			rotations,
			revocations,
			failures,
			finalized,
			finality_lag,
			renew_margin,
			leading,
			fencing_token,
		}
	}

	/// The metrics in Prometheus' text format.
	pub fn render(&self) -> String {
		let mut buffer = Vec::new();
		// Encoding into a Vec does not fail for the metric types used here.
		let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
		String::from_utf8_lossy(&buffer).into_owned()
	}
}

impl Default for Metrics {
	fn default() -> Self {
		Self::new()
	}
}

/// Serves `metrics` at `/metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
	loop {
		let stream = match listener.accept().await {
			Ok((stream, _)) => stream,
			// Out of file descriptors, say: wait a little rather than spin.
			Err(error) => {
				tracing::warn!(%error, "metrics: cannot accept a connection");
				tokio::time::sleep(std::time::Duration::from_millis(100)).await;
				continue;
			}
		};
		let metrics = metrics.clone();
		tokio::spawn(async move {
			let service = service_fn(move |request: Request<hyper::body::Incoming>| {
				let metrics = metrics.clone();
				async move {
					let response = if request.uri().path() == "/metrics" {
						Response::builder()
							.header("content-type", "text/plain; version=0.0.4")
							.body(Full::new(Bytes::from(metrics.render())))
					} else {
						Response::builder().status(404).body(Full::new(Bytes::from("not found\n")))
					};
					Ok::<_, Infallible>(response.unwrap_or_default())
				}
			});
			let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
		});
	}
}

/// Binds `address` for [`serve`].
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
	TcpListener::bind(address).await
}
