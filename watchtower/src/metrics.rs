//! Prometheus metrics, served at `/metrics` on the watchtower's HTTP listener (as the keeper
//! serves its own: the `prometheus` crate's registry in the text format).

use prometheus::{
	Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
	TextEncoder,
};

/// Every metric the watchtower exports (prefix `session_keys_watchtower_`).
pub struct Metrics {
	registry: Registry,
	/// States stored (a repeated one is not counted).
	pub states_stored: IntCounter,
	/// States refused, by reason.
	pub states_refused: IntCounterVec,
	/// Checkpoints submitted, by why.
	pub checkpoints_submitted: IntCounterVec,
	/// Checkpoints included in a block.
	pub checkpoints_included: IntCounter,
	/// Checkpoints that failed, by error.
	pub checkpoints_failed: IntCounterVec,
	/// Liquidations, discontinuations and settlements submitted and included, by call.
	pub endings: IntCounterVec,
	/// Keys whose newest state is not on chain while fewer than the safety margin's blocks are
	/// left before `settles_at`.
	pub windows_at_risk: IntGauge,
	/// Blocks left to the nearest `settles_at` of a closing key the watchtower holds a state
	/// for (-1: none is closing).
	pub blocks_to_nearest_settles_at: IntGauge,
	/// The newest best block seen.
	pub best_block: IntGauge,
	/// Keys watched (with a stored state, not ended).
	pub keys_watched: IntGauge,
	/// Blocks from a key's closing (the `SessionClosing` block, or its expiry) to the inclusion
	/// of the checkpoint the watchtower made for it.
	pub checkpoint_latency_blocks: Histogram,
}

impl Metrics {
	/// Registers every metric in a registry of its own.
	pub fn new() -> Self {
		let registry = Registry::new_custom(Some("session_keys_watchtower".into()), None)
			.expect("a valid prefix");
		let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("valid metric");
		let counter_vec = |name: &str, help: &str, label: &str| {
			IntCounterVec::new(Opts::new(name, help), &[label]).expect("valid metric")
		};
		let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
		let metrics = Self {
			states_stored: counter("states_stored_total", "States stored"),
			states_refused: counter_vec(
				"states_refused_total",
				"States refused, by reason",
				"reason",
			),
			checkpoints_submitted: counter_vec(
				"checkpoints_submitted_total",
				"Checkpoints submitted, by why",
				"why",
			),
			checkpoints_included: counter("checkpoints_included_total", "Checkpoints included"),
			checkpoints_failed: counter_vec(
				"checkpoints_failed_total",
				"Checkpoints that failed, by error",
				"error",
			),
			endings: counter_vec(
				"endings_total",
				"Liquidations, discontinuations and settlements included, by call",
				"call",
			),
			windows_at_risk: gauge(
				"windows_at_risk",
				"Closing windows whose newest state is not on chain within the safety margin",
			),
			blocks_to_nearest_settles_at: gauge(
				"blocks_to_nearest_settles_at",
				"Blocks left to the nearest settles_at of a closing key held (-1: none)",
			),
			best_block: gauge("best_block", "The newest best block seen"),
			keys_watched: gauge("keys_watched", "Keys with a stored state, not ended"),
			checkpoint_latency_blocks: Histogram::with_opts(
				HistogramOpts::new(
					"checkpoint_latency_blocks",
					"Blocks from a key's closing to the inclusion of its checkpoint",
				)
				.buckets(vec![0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0]),
			)
			.expect("valid metric"),
			registry,
		};
		for metric in [
			Box::new(metrics.states_stored.clone()) as Box<dyn prometheus::core::Collector>,
			Box::new(metrics.states_refused.clone()),
			Box::new(metrics.checkpoints_submitted.clone()),
			Box::new(metrics.checkpoints_included.clone()),
			Box::new(metrics.checkpoints_failed.clone()),
			Box::new(metrics.endings.clone()),
			Box::new(metrics.windows_at_risk.clone()),
			Box::new(metrics.blocks_to_nearest_settles_at.clone()),
			Box::new(metrics.best_block.clone()),
			Box::new(metrics.keys_watched.clone()),
			Box::new(metrics.checkpoint_latency_blocks.clone()),
		] {
			metrics.registry.register(metric).expect("names are distinct");
		}
		metrics.blocks_to_nearest_settles_at.set(-1);
		metrics
	}

	/// The metrics in Prometheus' text format.
	pub fn render(&self) -> String {
		let mut buffer = Vec::new();
		// Encoding into a Vec does not fail for these metric types.
		let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
		String::from_utf8_lossy(&buffer).into_owned()
	}
}

impl Default for Metrics {
	fn default() -> Self {
		Self::new()
	}
}
