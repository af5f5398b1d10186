//! Prometheus metrics of the gateway, served at `/metrics`.

use prometheus::{
	Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
	TextEncoder,
};

/// Every metric the gateway exports.
pub struct Metrics {
	registry: Registry,
	/// Requests by outcome (`accepted`, a refusal reason, `rate_limited`, ...).
	pub requests: IntCounterVec,
	/// Time to authenticate a request, in seconds.
	pub auth_seconds: Histogram,
	/// Key lookups answered from the cache.
	pub cache_hits: IntCounter,
	/// Key lookups that read the chain.
	pub cache_misses: IntCounter,
	/// Keys in the cache.
	pub cache_size: IntGauge,
	/// The newest block the gateway knows.
	pub head: IntGauge,
	/// Milliseconds since the newest block was seen (updated when scraped).
	pub head_age_ms: IntGauge,
	/// Reorganizations of the best chain seen.
	pub reorgs: IntCounter,
	/// Reads from the node made for requests, by what was read (`key`, `balance`).
	pub node_reads: IntCounterVec,
	/// Requests that waited for a read of their key already in flight instead of reading it.
	pub coalesced_reads: IntCounter,
	/// Connections open.
	pub connections: IntGauge,
	/// Metered calls whose state the watchtower stored (then forwarded).
	pub metered_calls: IntCounter,
	/// Metered calls refused, by reason (`MissingState`, `WrongNonce`, `OwedTooLow`, the
	/// watchtower's reason, ...).
	pub metering_refusals: IntCounterVec,
	/// Signatures verified together, per batch.
	pub verify_batch_size: Histogram,
	/// Batches with at least one bad signature (each then verified one by one).
	pub verify_batch_failures: IntCounter,
	/// Time of each call to Redis (`--redis`), in seconds.
	pub redis_seconds: Histogram,
	/// Calls to Redis that failed or timed out.
	pub redis_errors: IntCounter,
	/// 1 while the last call to Redis succeeded, 0 after a failure (1 without Redis).
	pub redis_up: IntGauge,
}

impl Metrics {
	/// Registers every metric in a registry of its own.
	pub fn new() -> Self {
		let registry = Registry::new_custom(Some("session_keys_gateway".into()), None)
			.expect("a valid prefix");
		let requests =
			IntCounterVec::new(Opts::new("requests_total", "Requests by outcome"), &["outcome"])
				.expect("valid metric");
		let auth_seconds = Histogram::with_opts(
			HistogramOpts::new("auth_seconds", "Time to authenticate a request").buckets(vec![
				0.000_05, 0.000_1, 0.000_2, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5,
			]),
		)
		.expect("valid metric");
		let cache_hits = IntCounter::new("cache_hits_total", "Key lookups answered from the cache")
			.expect("valid metric");
		let cache_misses = IntCounter::new("cache_misses_total", "Key lookups that read the chain")
			.expect("valid metric");
		let cache_size = IntGauge::new("cache_keys", "Keys in the cache").expect("valid metric");
		let head = IntGauge::new("head_block", "The newest block known").expect("valid metric");
		let head_age_ms =
			IntGauge::new("head_age_milliseconds", "Milliseconds since the newest block was seen")
				.expect("valid metric");
		let reorgs = IntCounter::new("reorgs_total", "Reorganizations of the best chain seen")
			.expect("valid metric");
		let node_reads = IntCounterVec::new(
			Opts::new("node_reads_total", "Reads from the node made for requests, by kind"),
			&["kind"],
		)
		.expect("valid metric");
		let coalesced_reads = IntCounter::new(
			"coalesced_reads_total",
			"Requests that waited for a read of their key already in flight",
		)
		.expect("valid metric");
		let connections =
			IntGauge::new("connections_open", "Connections open").expect("valid metric");
		let metered_calls = IntCounter::new(
			"metered_calls_total",
			"Metered calls whose state the watchtower stored",
		)
		.expect("valid metric");
		let metering_refusals = IntCounterVec::new(
			Opts::new("metering_refusals_total", "Metered calls refused, by reason"),
			&["reason"],
		)
		.expect("valid metric");
		let verify_batch_size = Histogram::with_opts(
			HistogramOpts::new("verify_batch_size", "Signatures verified together, per batch")
				.buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]),
		)
		.expect("valid metric");
		let verify_batch_failures = IntCounter::new(
			"verify_batch_failures_total",
			"Batches with a bad signature, verified again one by one",
		)
		.expect("valid metric");
		let redis_seconds = Histogram::with_opts(
			HistogramOpts::new("redis_seconds", "Time of each call to Redis").buckets(vec![
				0.000_1, 0.000_2, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.25, 1.0,
			]),
		)
		.expect("valid metric");
		let redis_errors = IntCounter::new("redis_errors_total", "Calls to Redis that failed")
			.expect("valid metric");
		let redis_up = IntGauge::new("redis_up", "1 while the last call to Redis succeeded")
			.expect("valid metric");
		redis_up.set(1);
		for metric in [
			Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
			Box::new(auth_seconds.clone()),
			Box::new(cache_hits.clone()),
			Box::new(cache_misses.clone()),
			Box::new(cache_size.clone()),
			Box::new(head.clone()),
			Box::new(head_age_ms.clone()),
			Box::new(reorgs.clone()),
			Box::new(node_reads.clone()),
			Box::new(coalesced_reads.clone()),
			Box::new(connections.clone()),
			Box::new(metered_calls.clone()),
			Box::new(metering_refusals.clone()),
			Box::new(verify_batch_size.clone()),
			Box::new(verify_batch_failures.clone()),
			Box::new(redis_seconds.clone()),
			Box::new(redis_errors.clone()),
			Box::new(redis_up.clone()),
		] {
			registry.register(metric).expect("names are distinct");
		}
		Self {
			registry,
			requests,
			auth_seconds,
			cache_hits,
			cache_misses,
			cache_size,
			head,
			head_age_ms,
			reorgs,
			node_reads,
			coalesced_reads,
			connections,
			metered_calls,
			metering_refusals,
			verify_batch_size,
			verify_batch_failures,
			redis_seconds,
			redis_errors,
			redis_up,
		}
	}

	/// The metrics in Prometheus' text format.
	pub fn render(&self) -> String {
		let mut buffer = Vec::new();
		// Encoding into a vector cannot fail for well-formed metrics.
		let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
		String::from_utf8(buffer).unwrap_or_default()
	}
}

impl Default for Metrics {
	fn default() -> Self {
		Self::new()
	}
}
