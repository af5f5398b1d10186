//! Gateway benchmark: what authentication costs in the gateway, and what the proxy adds per
//! request, against the alternatives.
//!
//! ```sh
//! SKIP_WASM_BUILD=1 cargo build --release -p session-keys-e2e -p session-keys-gateway \
//!     --bin session-keys-gateway-bench --bin session-keys-gateway
//! SESSION_KEYS_NODE_BIN=target/release/session-keys-node target/release/session-keys-gateway-bench
//! ```
//!
//! In one run, on the machine it runs on:
//!
//! 1. **In process, one core** (a single-threaded runtime): authentications per second through
//!    [`SessionAuthLayer`] with warm caches (`--keys` sr25519 keys, each version 2 header
//!    reused: `GET /orders/<n>?page=<n>`, the body read, hashed and bound), against raw sr25519
//!    verifications per second of the same payloads (`SessionPublic::verify`, the call the
//!    shared check makes). The goal is a ratio of at least 0.8. Beside it, what the version 2
//!    binding costs: the same requests with version 1 headers (`--accept-v1`), and `POST`s
//!    with a 1 KiB body.
//! 2. **Over HTTP, against a dev node** (started on loopback ports unless `--node` names one;
//!    `SESSION_KEYS_NODE_BIN` or the node binary next to this one): `--keys` keys registered across
//!    the dev accounts, then `--connections` concurrent clients for `--seconds` each against
//!    the upstream directly, through the gateway binary (next to this one, or
//!    `SESSION_KEYS_GATEWAY_BIN`), and authenticating each request with the node's
//!    `sessionKeys_authenticate` before sending it to the upstream (what a gateway without a
//!    cache would do). Requests per second and p50 / p99 latency for each.
//!
//! It prints a Markdown report and writes it to `--out` (default
//! `target/bench/gateway.md`).

use std::{
	collections::HashMap,
	convert::Infallible,
	num::NonZeroU32,
	path::PathBuf,
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc,
	},
	time::{Duration, Instant},
};

use bytes::Bytes;
use clap::Parser;
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client as HttpClient, rt::TokioExecutor};
use session_keys_client::{
	encode_header, encode_header_v2, BoundRequest, ChannelState, Client, CryptoKind, Header,
	HeaderRequest, HeaderRequestV2, HeaderV2, KeyRecord, Registration, SessionPair, Terms, Wait,
};
use session_keys_e2e::{
	account_of, build,
	gateway::{Gateway as GatewayProcess, Upstream},
	services::Redis,
	Chain, Node,
};
use session_keys_gateway::verify::{verify_all, Item};
use session_keys_gateway::{
	AuthBody, Chain as GatewayChain, ChainError, Gateway, NewBlock, SessionAuthLayer, Settings,
	Tier,
};
use session_keys_primitives::SessionPublic;
use session_keys_runtime::{AccountId, Balance};
use sp_core::H256;
use subxt_signer::sr25519::{dev, Keypair};
use tower::{Layer, Service, ServiceExt};

/// The gateway benchmark (see the module docs).
#[derive(Parser, Debug)]
#[command(
	name = "session-keys-gateway-bench",
	about = "Gateway benchmark: in-process authentication against raw sr25519 verification, and the proxy against the upstream directly and against authenticating over RPC."
)]
struct Args {
	/// Session keys (in process, and registered on the node: at most 32 per dev account, six
	/// dev accounts).
	#[arg(long, default_value_t = 64)]
	keys: usize,
	/// Authentications (and verifications) timed in process.
	#[arg(long, default_value_t = 20_000)]
	requests: usize,
	/// Concurrent HTTP clients.
	#[arg(long, default_value_t = 32)]
	connections: usize,
	/// Seconds each HTTP run lasts.
	#[arg(long, default_value_t = 10)]
	seconds: u64,
	/// A running node to use instead of starting a dev node.
	#[arg(long)]
	node: Option<String>,
	/// Only the in-process part.
	#[arg(long)]
	in_process_only: bool,
	/// Where to write the report.
	#[arg(long, default_value = "target/bench/gateway.md")]
	out: PathBuf,
}

const AUDIENCE: &[u8] = b"bench.api";

fn main() {
	let args = Args::parse();
	let mut report = String::new();
	report.push_str(&format!(
		"# Gateway benchmark\n\nMachine: {} cores ({}). Command: `session-keys-gateway-bench {}`.\n\n",
		std::thread::available_parallelism().map_or(0, |n| n.get()),
		cpu_model(),
		std::env::args().skip(1).collect::<Vec<_>>().join(" "),
	));
	let part = in_process(&args);
	eprintln!("{part}");
	report.push_str(&part);
	if !args.in_process_only {
		let runtime = tokio::runtime::Runtime::new().expect("a runtime");
		report.push_str(&runtime.block_on(over_http(&args)));
	}
	println!("{report}");
	if let Some(dir) = args.out.parent() {
		let _ = std::fs::create_dir_all(dir);
	}
	std::fs::write(&args.out, &report).expect("the report is written");
	eprintln!("written to {}", args.out.display());
}

fn cpu_model() -> String {
	std::fs::read_to_string("/proc/cpuinfo")
		.ok()
		.and_then(|info| {
			info.lines()
				.find(|line| line.starts_with("model name"))
				.and_then(|line| line.split(':').nth(1))
				.map(|name| name.trim().to_string())
		})
		.unwrap_or_else(|| "unknown CPU".into())
}

/// The chain as fixed records, for the in-process part.
struct Fixed(HashMap<SessionPublic, KeyRecord>);

impl GatewayChain for Fixed {
	async fn key(&self, public: SessionPublic, _: H256) -> Result<KeyRecord, ChainError> {
		Ok(self.0.get(&public).cloned().unwrap_or(KeyRecord::Unknown))
	}

	async fn free_balance(&self, _: AccountId, _: H256) -> Result<Balance, ChainError> {
		Ok(1_000_000)
	}
}

fn unlimited() -> Vec<Tier> {
	vec![Tier {
		name: "bench".into(),
		min_balance: 0,
		per_second: NonZeroU32::new(u32::MAX).expect("not zero"),
		burst: NonZeroU32::new(u32::MAX).expect("not zero"),
	}]
}

fn registration(owner: AccountId) -> Registration {
	Registration {
		owner,
		counterpart: AccountId::new([2; 32]),
		delegate: None,
		registered_at: 1,
		expires_at: u32::MAX,
		settles_at: u32::MAX,
		revoked: false,
		duration: 1_000,
		spending_limit: 0,
		pending_limit: None,
		collateral: 0,
		deposit: 0,
		description: Vec::new(),
		scope: vec![b"GET /*".to_vec(), b"POST /orders/*".to_vec()],
		state: ChannelState { nonce: 0, owed: 0, margin: 0 },
	}
}

/// The body of the `POST`s timed in process: 1 KiB of JSON.
fn post_body() -> Bytes {
	let mut body = String::from("{\"items\":[");
	while body.len() < 1000 {
		body.push_str("{\"sku\":\"abc\",\"qty\":1},");
	}
	body.pop();
	body.push_str("]}");
	Bytes::from(format!("{body:<1024}"))
}

/// One kind of request timed in process: its method, path, body and header, per key.
struct Kind {
	label: &'static str,
	requests: Vec<(Method, String, Bytes, HeaderValue)>,
}

/// Times `args.requests` requests of `kind` through a layer, in the fastest of `ROUNDS`,
/// alternating with raw verification of `payloads`; returns (layer seconds, verify seconds,
/// per-round ratios).
fn time_kind(
	runtime: &tokio::runtime::Runtime,
	gateway: &Arc<Gateway<Fixed>>,
	kind: &Kind,
	payloads: &[(SessionPublic, Vec<u8>, session_keys_client::SessionSignature)],
	requests: usize,
) -> (f64, f64, Vec<f64>) {
	let service = tower::service_fn(|_: Request<AuthBody>| async {
		Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
	});
	let mut layered = SessionAuthLayer::new(gateway.clone()).layer(service);
	let request = |i: usize| {
		let (method, path, body, value) = &kind.requests[i % kind.requests.len()];
		Request::builder()
			.method(method.clone())
			.uri(path.as_str())
			.header(session_keys_client::HTTP_HEADER, value.clone())
			.body(Full::new(body.clone()))
			.expect("a request")
	};
	// Warm the caches: every key read once.
	runtime.block_on(async {
		for i in 0..kind.requests.len() {
			let response = ServiceExt::<Request<AuthBody>>::ready(&mut layered)
				.await
				.unwrap()
				.call(request(i))
				.await
				.unwrap();
			assert_eq!(
				response.status(),
				StatusCode::OK,
				"{}: the warm-up is accepted",
				kind.label
			);
		}
	});
	// Rounds alternate the two, and each keeps its fastest round: the one least disturbed by
	// whatever else the machine ran.
	let (mut layer_best, mut verify_best, mut ratios) = (f64::MAX, f64::MAX, Vec::new());
	for _ in 0..ROUNDS {
		let started = Instant::now();
		runtime.block_on(async {
			for i in 0..requests {
				let response = ServiceExt::<Request<AuthBody>>::ready(&mut layered)
					.await
					.unwrap()
					.call(request(i))
					.await
					.unwrap();
				debug_assert_eq!(response.status(), StatusCode::OK);
				std::hint::black_box(response);
			}
		});
		let layer_seconds = started.elapsed().as_secs_f64();
		let started = Instant::now();
		for i in 0..requests {
			let (public, payload, signature) = &payloads[i % payloads.len()];
			assert!(std::hint::black_box(public.verify(payload, signature)));
		}
		let verify_seconds = started.elapsed().as_secs_f64();
		layer_best = layer_best.min(layer_seconds);
		verify_best = verify_best.min(verify_seconds);
		ratios.push(verify_seconds / layer_seconds);
	}
	ratios.sort_by(f64::total_cmp);
	(layer_best, verify_best, ratios)
}

/// Part 1: the layer against raw verification, on one core.
fn in_process(args: &Args) -> String {
	let runtime =
		tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
	let genesis = H256::repeat_byte(1);
	let owner = AccountId::new([1; 32]);
	let block = H256::repeat_byte(3);
	let keys: Vec<SessionPair> =
		(0..args.keys).map(|_| SessionPair::generate(CryptoKind::Sr25519)).collect();
	let sign_v2 = |i: usize, key: &SessionPair, line: &str, body: &[u8]| {
		let bound = BoundRequest::parse(line, body).expect("a request line");
		key.sign_header_v2(
			genesis,
			&HeaderRequestV2 {
				account: &owner,
				block_hash: block,
				nonce: i as u64,
				audience: AUDIENCE,
				request: &bound,
			},
		)
	};
	let gets: Vec<HeaderV2> = keys
		.iter()
		.enumerate()
		.map(|(i, key)| sign_v2(i, key, &format!("GET /orders/{i}?page={i}"), b""))
		.collect();
	let body = post_body();
	let posts: Vec<HeaderV2> = keys
		.iter()
		.enumerate()
		.map(|(i, key)| sign_v2(i, key, &format!("POST /orders/{i}"), &body))
		.collect();
	let v1: Vec<Header> = keys
		.iter()
		.enumerate()
		.map(|(i, key)| {
			key.sign_header(
				genesis,
				&HeaderRequest {
					account: &owner,
					block_hash: block,
					nonce: i as u64,
					audience: AUDIENCE,
					resource: format!("GET /orders/{i}").as_bytes(),
				},
			)
		})
		.collect();
	let chain = chain_keys(&keys, &owner);
	let mut settings = Settings::new(AUDIENCE);
	settings.tiers = unlimited();
	// Each header is reused (KIP_9), as the figures before version 2 were made.
	settings.one_time_headers = false;
	settings.accept_v1 = true;
	// The warm-up reads every key once: that is the cache filling, not a flood of unknown keys.
	settings.unknown_key_rate = std::num::NonZeroU32::new(1_000_000).expect("not zero");
	settings.unknown_key_burst = std::num::NonZeroU32::new(1_000_000).expect("not zero");
	let gateway = Arc::new(Gateway::new(chain, settings, 100));
	gateway.set_genesis(genesis);
	gateway.record_block(NewBlock { number: 10, hash: block, changed: Vec::new() });
	gateway.record_block(NewBlock { number: 11, hash: H256::repeat_byte(4), changed: Vec::new() });
	let value = |text: String| HeaderValue::try_from(text).expect("ASCII");
	let kinds = [
		Kind {
			label: "layer, v2 `GET /orders/<n>?page=<n>` (decode, bind query and empty body, check, verify, rate limit, metrics)",
			requests: gets
				.iter()
				.enumerate()
				.map(|(i, header)| {
					(Method::GET, format!("/orders/{i}?page={i}"), Bytes::new(), value(encode_header_v2(header)))
				})
				.collect(),
		},
		Kind {
			label: "layer, v2 `POST /orders/<n>` with a 1 KiB body (read, SHA-256, bound)",
			requests: posts
				.iter()
				.enumerate()
				.map(|(i, header)| {
					(Method::POST, format!("/orders/{i}"), body.clone(), value(encode_header_v2(header)))
				})
				.collect(),
		},
		Kind {
			label: "layer, v1 `GET /orders/<n>` (`--accept-v1`, binds no query or body)",
			requests: v1
				.iter()
				.enumerate()
				.map(|(i, header)| (Method::GET, format!("/orders/{i}"), Bytes::new(), value(encode_header(header))))
				.collect(),
		},
	];
	// The v2 GETs' payloads, verified alone.
	let payloads: Vec<(SessionPublic, Vec<u8>, _)> = gets
		.iter()
		.map(|header| (header.public, header.signing_payload(&genesis), header.signature.clone()))
		.collect();
	let mut rows = String::new();
	let mut first = None;
	let mut per_request = Vec::new();
	for kind in &kinds {
		let (layer_best, verify_best, ratios) =
			time_kind(&runtime, &gateway, kind, &payloads, args.requests);
		let layer_rate = args.requests as f64 / layer_best;
		let verify_rate = args.requests as f64 / verify_best;
		rows.push_str(&format!(
			"| {} | {layer_rate:.0} | {:.1} | {:.2} ({}) |\n",
			kind.label,
			1e6 / layer_rate,
			layer_rate / verify_rate,
			ratios.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", "),
		));
		per_request.push(1e6 / layer_rate);
		first.get_or_insert(verify_rate);
	}
	let verify_rate = first.unwrap_or(f64::NAN);
	let raw_batch = raw_batches(&payloads, args.requests);
	let concurrent = concurrency(
		&runtime,
		&kinds[0],
		&chain_keys(&keys, &owner),
		genesis,
		block,
		args.requests,
		verify_rate,
	);
	let part = format!(
		"## In process, one core\n\n{ROUNDS} rounds of each kind, each {} authentications \
		 through `SessionAuthLayer` (warm caches, {} sr25519 keys, one thread, each header \
		 reused) alternating with {} raw sr25519 verifications of the v2 GETs' payloads; the \
		 fastest round of each. The ratio is layer / raw (goal >= 0.8), best, then per round.\n\n\
		 | | per second | µs each | ratio to raw (rounds) |\n| --- | ---: | ---: | --- |\n\
		 {rows}| raw sr25519 verification | {verify_rate:.0} | {:.1} | |\n\n\
		 What version 2 costs per request over version 1: {:.1} µs for a GET (query bound, empty \
		 body hashed), {:.1} µs for a POST with a 1 KiB body.\n\n",
		args.requests,
		args.keys,
		args.requests,
		1e6 / verify_rate,
		per_request[0] - per_request[2],
		per_request[1] - per_request[2],
	);
	part + &raw_batch + &concurrent
}

/// Raw sr25519 verification of `requests` payloads, one by one and in batches of 8 and 64
/// (`session_keys_gateway::verify::verify_all`): the most batching can gain.
fn raw_batches(
	payloads: &[(SessionPublic, Vec<u8>, session_keys_client::SessionSignature)],
	requests: usize,
) -> String {
	let items: Vec<Item> = (0..requests)
		.map(|i| {
			let (public, payload, signature) = &payloads[i % payloads.len()];
			Item {
				public: *public,
				signature: signature.clone(),
				payload: payload.clone(),
				point: None,
			}
		})
		.collect();
	let mut rows = String::new();
	let mut single = f64::NAN;
	for size in [1usize, 8, 64] {
		let mut best = f64::MAX;
		for _ in 0..ROUNDS {
			let started = Instant::now();
			for batch in items.chunks(size) {
				assert!(std::hint::black_box(verify_all(batch)).iter().all(|valid| *valid));
			}
			best = best.min(started.elapsed().as_secs_f64());
		}
		let rate = requests as f64 / best;
		if size == 1 {
			single = rate;
		}
		rows.push_str(&format!(
			"| {size} | {rate:.0} | {:.1} | {:.2} |\n",
			1e6 / rate,
			rate / single
		));
	}
	format!(
		"## Raw sr25519 verification, alone and in batches\n\n{requests} signatures, the \
		 fastest of {ROUNDS} rounds, one core.\n\n| batch | per second | µs each | ratio to \
		 one by one |\n| ---: | ---: | ---: | ---: |\n{rows}\n"
	)
}

/// The records the in-process gateways read: every key registered to `owner`.
fn chain_keys(keys: &[SessionPair], owner: &AccountId) -> Fixed {
	Fixed(
		keys.iter()
			.map(|key| (key.public(), KeyRecord::Registered(registration(owner.clone()))))
			.collect(),
	)
}

/// Part 1b: authentications per second on one core with 1, 8 and 64 requests at once, with
/// signatures verified in batches (the default) and one at a time (`--verify-batch 1`),
/// against raw single verification (`verify_rate`).
fn concurrency(
	runtime: &tokio::runtime::Runtime,
	kind: &Kind,
	chain: &Fixed,
	genesis: H256,
	block: H256,
	requests: usize,
	verify_rate: f64,
) -> String {
	let gateway = |max_batch: usize| {
		let mut settings = Settings::new(AUDIENCE);
		settings.tiers = unlimited();
		settings.one_time_headers = false;
		settings.unknown_key_rate = NonZeroU32::new(1_000_000).expect("not zero");
		settings.unknown_key_burst = NonZeroU32::new(1_000_000).expect("not zero");
		settings.batch.max_batch = max_batch;
		let gateway = Arc::new(Gateway::new(Fixed(chain.0.clone()), settings, 100));
		gateway.set_genesis(genesis);
		gateway.record_block(NewBlock { number: 10, hash: block, changed: Vec::new() });
		gateway.record_block(NewBlock {
			number: 11,
			hash: H256::repeat_byte(4),
			changed: Vec::new(),
		});
		gateway
	};
	let mut rows = String::new();
	for (label, max_batch) in
		[("batched (up to 64)", 64), ("one at a time (`--verify-batch 1`)", 1)]
	{
		let gateway = gateway(max_batch);
		let mut cells = Vec::new();
		let (mut batches, mut signatures) = (0, 0.0);
		for concurrent in [1usize, 8, 64] {
			let sizes = &gateway.metrics.verify_batch_size;
			let (count_before, sum_before) = (sizes.get_sample_count(), sizes.get_sample_sum());
			let mut best = f64::MAX;
			for _ in 0..3 {
				best = best.min(time_concurrent(runtime, &gateway, kind, requests, concurrent));
			}
			(batches, signatures) =
				(sizes.get_sample_count() - count_before, sizes.get_sample_sum() - sum_before);
			let rate = requests as f64 / best;
			cells.push(format!("{rate:.0} ({:.2})", rate / verify_rate));
		}
		rows.push_str(&format!(
			"| {label} | {} | {:.1} |\n",
			cells.join(" | "),
			if batches > 0 { signatures / batches as f64 } else { 1.0 },
		));
	}
	format!(
		"## In process, one core, requests at once\n\n{requests} authentications of the v2 GETs \
		 through `SessionAuthLayer` on a single-threaded runtime (one core), by 1, 8 or 64 tasks \
		 at once; the fastest of 3 rounds. Each cell: authentications per second (ratio to raw \
		 single sr25519 verification, {verify_rate:.0} a second; goal: 1.5 or more at 64, 0.8 or \
		 more at 1).\n\n| verification | 1 at once | 8 at once | 64 at once | mean batch at 64 (warm-ups included) |\n\
		 | --- | ---: | ---: | ---: | ---: |\n{rows}\n"
	)
}

/// Seconds to authenticate `requests` requests of `kind`, `concurrent` at a time.
fn time_concurrent(
	runtime: &tokio::runtime::Runtime,
	gateway: &Arc<Gateway<Fixed>>,
	kind: &Kind,
	requests: usize,
	concurrent: usize,
) -> f64 {
	let requests_of = |task: usize| -> Vec<Request<Full<Bytes>>> {
		(task..requests)
			.step_by(concurrent)
			.map(|i| {
				let (method, path, body, value) = &kind.requests[i % kind.requests.len()];
				Request::builder()
					.method(method.clone())
					.uri(path.as_str())
					.header(session_keys_client::HTTP_HEADER, value.clone())
					.body(Full::new(body.clone()))
					.expect("a request")
			})
			.collect()
	};
	let batches: Vec<_> = (0..concurrent).map(requests_of).collect();
	runtime.block_on(async {
		// Warm the caches.
		let _ = authenticate_all(
			gateway,
			requests_of(0).into_iter().take(kind.requests.len()).collect(),
		)
		.await;
		let started = Instant::now();
		let tasks: Vec<_> = batches
			.into_iter()
			.map(|batch| tokio::spawn(authenticate_all(gateway.clone(), batch)))
			.collect();
		for task in tasks {
			assert!(task.await.expect("the task ends"), "every request is accepted");
		}
		started.elapsed().as_secs_f64()
	})
}

/// Authenticates `requests` one after another through a layer; whether all were accepted.
async fn authenticate_all(
	gateway: impl std::borrow::Borrow<Arc<Gateway<Fixed>>>,
	requests: Vec<Request<Full<Bytes>>>,
) -> bool {
	let service = tower::service_fn(|_: Request<AuthBody>| async {
		Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
	});
	let mut layered = SessionAuthLayer::new(gateway.borrow().clone()).layer(service);
	let mut all = true;
	for request in requests {
		let response = ServiceExt::<Request<AuthBody>>::ready(&mut layered)
			.await
			.expect("ready")
			.call(request)
			.await
			.expect("answered");
		all &= response.status() == StatusCode::OK;
	}
	all
}

/// Rounds of the in-process measurement.
const ROUNDS: usize = 5;

/// Latencies and count of one HTTP run.
struct Run {
	label: &'static str,
	ok: usize,
	failed: usize,
	seconds: f64,
	latencies: Vec<Duration>,
	/// Why requests failed, with counts.
	errors: HashMap<String, usize>,
}

impl Run {
	fn percentile(&self, p: f64) -> Duration {
		if self.latencies.is_empty() {
			return Duration::ZERO;
		}
		let index = ((self.latencies.len() - 1) as f64 * p).round() as usize;
		self.latencies[index]
	}
	fn row(&self) -> String {
		format!(
			"| {} | {:.0} | {:.2} | {:.2} | {} |\n",
			self.label,
			self.ok as f64 / self.seconds,
			self.percentile(0.5).as_secs_f64() * 1e3,
			self.percentile(0.99).as_secs_f64() * 1e3,
			self.failed
		)
	}
}

/// The reasons of the failed requests, as a Markdown list (empty when none failed).
fn failures(runs: &[&Run]) -> String {
	let mut text = String::new();
	for run in runs {
		let mut errors: Vec<_> = run.errors.iter().collect();
		errors.sort_by(|a, b| b.1.cmp(a.1));
		for (error, count) in errors {
			text.push_str(&format!("- {}: {count} x `{error}`\n", run.label));
		}
	}
	if !text.is_empty() {
		text.insert_str(0, "Failed requests:\n\n");
		text.push('\n');
	}
	text
}

/// What a client sends per request.
#[derive(Clone, Copy)]
enum Mode {
	/// Straight to the upstream, no header.
	Direct,
	/// Through the gateway, with a session header.
	Gateway,
	/// `sessionKeys_authenticateV2` first, then straight to the upstream.
	Rpc,
}

/// Runs `connections` clients for `seconds` in `mode`.
async fn run(
	label: &'static str,
	mode: Mode,
	base: &str,
	headers: Arc<Vec<(String, HeaderV2)>>,
	client: Option<Arc<Client>>,
	connections: usize,
	seconds: u64,
) -> Run {
	let http: HttpClient<_, Full<Bytes>> =
		HttpClient::builder(TokioExecutor::new()).pool_max_idle_per_host(connections).build_http();
	let stop = Arc::new(AtomicBool::new(false));
	let started = Instant::now();
	let mut tasks = tokio::task::JoinSet::new();
	for worker in 0..connections {
		let (http, stop, headers, client) =
			(http.clone(), stop.clone(), headers.clone(), client.clone());
		// Several URLs (replicas) share the clients: each client sends to one, in turn.
		let bases: Vec<&str> = base.split(' ').collect();
		let base = bases[worker % bases.len()].to_string();
		tasks.spawn(async move {
			let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
			let mut errors: HashMap<String, usize> = HashMap::new();
			let mut i = worker;
			while !stop.load(Ordering::Relaxed) {
				let (text, header) = &headers[i % headers.len()];
				i += connections;
				let path = format!("/orders/{}", i % headers.len());
				let path = if matches!(mode, Mode::Direct) { path } else { resource_path(header) };
				let sent = Instant::now();
				let mut request = Request::builder().uri(format!("{base}{path}"));
				if matches!(mode, Mode::Gateway) {
					request = request.header(session_keys_client::HTTP_HEADER, text.as_str());
				}
				let authorized = match (&mode, &client) {
					(Mode::Rpc, Some(client)) => match client.authenticate_v2(header).await {
						Ok(Ok(_)) => true,
						outcome => {
							let error = match outcome {
								Ok(Err(refused)) => format!("refused: {refused:?}"),
								Err(error) => format!("RPC error: {error}"),
								Ok(Ok(_)) => unreachable!("matched above"),
							};
							*errors.entry(error).or_insert(0) += 1;
							false
						}
					},
					_ => true,
				};
				let answered = if authorized {
					match http
						.request(request.body(Full::new(Bytes::new())).expect("a request"))
						.await
					{
						Ok(response) => {
							let status = response.status();
							let _ = response.into_body().collect().await;
							status == StatusCode::OK
						}
						Err(_) => false,
					}
				} else {
					false
				};
				if answered {
					ok += 1;
					latencies.push(sent.elapsed());
				} else {
					failed += 1;
				}
			}
			(ok, failed, latencies, errors)
		});
	}
	tokio::time::sleep(Duration::from_secs(seconds)).await;
	stop.store(true, Ordering::Relaxed);
	let mut result = Run {
		label,
		ok: 0,
		failed: 0,
		seconds: 0.0,
		latencies: Vec::new(),
		errors: HashMap::new(),
	};
	while let Some(outcome) = tasks.join_next().await {
		let (ok, failed, latencies, errors) = outcome.expect("a client task");
		for (error, count) in errors {
			*result.errors.entry(error).or_insert(0) += count;
		}
		result.ok += ok;
		result.failed += failed;
		result.latencies.extend(latencies);
	}
	result.seconds = started.elapsed().as_secs_f64();
	result.latencies.sort();
	result
}

/// The path and query a header was signed for (`GET /orders/7`, `page=7` ->
/// `/orders/7?page=7`).
fn resource_path(header: &HeaderV2) -> String {
	let path = String::from_utf8_lossy(&header.resource).trim_start_matches("GET ").to_string();
	if header.query.is_empty() {
		path
	} else {
		format!("{path}?{}", String::from_utf8_lossy(&header.query))
	}
}

/// Part 2: the proxy, the upstream directly, and authentication over RPC.
/// Each key's version 2 header for `GET /orders/<n>?page=<n>`, naming block `recent`.
fn sign_all(
	keys: &[(usize, SessionPair)],
	owners: &[Keypair],
	genesis: H256,
	recent: H256,
) -> Arc<Vec<(String, HeaderV2)>> {
	Arc::new(
		keys.iter()
			.enumerate()
			.map(|(i, (owner, key))| {
				let bound = BoundRequest::parse(&format!("GET /orders/{i}?page={i}"), b"")
					.expect("a request line");
				let header = key.sign_header_v2(
					genesis,
					&HeaderRequestV2 {
						account: &account_of(&owners[*owner]),
						block_hash: recent,
						nonce: i as u64,
						audience: AUDIENCE,
						request: &bound,
					},
				);
				(encode_header_v2(&header), header)
			})
			.collect(),
	)
}

/// CPU seconds (user and system) process `pid` has used, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32) -> f64 {
	let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
	// The fields after the command name (which may hold spaces) in parentheses.
	let fields: Vec<&str> = stat
		.rsplit_once(')')
		.map(|(_, rest)| rest.split_whitespace().collect())
		.unwrap_or_default();
	let ticks = |index: usize| fields.get(index).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
	// utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; in clock
	// ticks, 100 a second on Linux (USER_HZ).
	(ticks(11) + ticks(12)) / 100.0
}

async fn over_http(args: &Args) -> String {
	let mut node = None;
	let url = match &args.node {
		Some(url) => url.clone(),
		None => {
			let started = Node::dev("gateway-bench").await;
			let url = started.ws_url();
			node = Some(started);
			url
		}
	};
	let chain = Chain::from_url(&url).await.expect("the node answers");
	let owners: Vec<Keypair> =
		vec![dev::alice(), dev::bob(), dev::charlie(), dev::dave(), dev::eve(), dev::ferdie()];
	let keys: Vec<(usize, SessionPair)> = (0..args.keys)
		.map(|i| (i % owners.len(), SessionPair::generate(CryptoKind::Sr25519)))
		.collect();
	eprintln!("registering {} keys...", keys.len());
	// Each owner registers its keys one after the other (the owners side by side), so no
	// submission races another of the same account.
	let mut by_owner = tokio::task::JoinSet::new();
	for owner in 0..owners.len() {
		let signer = owners[owner].clone();
		let counterpart = account_of(&owners[(owner + 1) % owners.len()]);
		let own: Vec<SessionPair> =
			keys.iter().filter(|(o, _)| *o == owner).map(|(_, key)| key.clone()).collect();
		let client = chain.client.clone();
		by_owner.spawn(async move {
			let account = account_of(&signer);
			for key in own {
				let terms = Terms {
					counterpart: counterpart.clone(),
					duration: None,
					spending_limit: 0,
					collateral: 0,
					description: b"bench".to_vec(),
					scope: vec![b"GET /*".to_vec()],
				};
				let call = build::register(key.public(), key.ownership_proof(&account), &terms)
					.expect("a call");
				client.submit(&signer, call, Wait::InBlock).await.expect("registered");
			}
		});
	}
	while let Some(done) = by_owner.join_next().await {
		done.expect("an owner's registrations");
	}
	let recent = chain.header_block_hash().await;
	let genesis = chain.genesis_hash();
	let headers = sign_all(&keys, &owners, genesis, recent);
	let upstream = Upstream::counting().await;
	let gateway = GatewayProcess::start_logging(
		"bench",
		&url,
		&upstream.url,
		&[
			"--audience",
			"bench.api",
			"--tier",
			"bench:0:4000000000:4000000000",
			// Each client reuses its key's header (KIP_9), as the earlier figures did.
			"--reusable-headers",
			// The first sight of the 192 keys is the cache filling, not a flood: the per-address
			// limit on unknown keys (20 a second by default) would stretch it over the run.
			"--unknown-key-rate",
			"100000",
			"--unknown-key-burst",
			"100000",
		],
		"warn",
	)
	.await;
	let (c, s) = (args.connections, args.seconds);
	eprintln!("running the HTTP loads ({c} connections, {s} s each)...");
	let direct =
		run("upstream directly", Mode::Direct, &upstream.url, headers.clone(), None, c, s).await;
	let proxied =
		run("through the gateway", Mode::Gateway, &gateway.url, headers.clone(), None, c, s).await;
	let rpc = run(
		"sessionKeys_authenticateV2 per request, then the upstream",
		Mode::Rpc,
		&upstream.url,
		headers.clone(),
		Some(chain.client.clone()),
		c,
		s,
	)
	.await;
	let cpu_one = cpu_seconds(gateway.pid()) / proxied.ok.max(1) as f64;
	// Two replicas sharing their buckets through Redis, each client sending to one of them.
	let redis = Redis::start();
	let replica_args = [
		"--audience",
		"bench.api",
		"--tier",
		"bench:0:4000000000:4000000000",
		"--reusable-headers",
		"--unknown-key-rate",
		"100000",
		"--unknown-key-burst",
		"100000",
		"--redis",
		&redis.url(),
	];
	let replica_a =
		GatewayProcess::start_logging("bench-a", &url, &upstream.url, &replica_args, "warn").await;
	let replica_b =
		GatewayProcess::start_logging("bench-b", &url, &upstream.url, &replica_args, "warn").await;
	// Shared used headers bound freshness by time: the headers name a block the replicas saw
	// arrive.
	let seen_from = replica_a.head().await.max(replica_b.head().await) + 3;
	while replica_a.head().await < seen_from || replica_b.head().await < seen_from {
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let recent = chain.header_block_hash().await;
	let replica_headers = sign_all(&keys, &owners, genesis, recent);
	let cpu_before = cpu_seconds(replica_a.pid()) + cpu_seconds(replica_b.pid());
	let replicas = run(
		"two replicas sharing state through Redis",
		Mode::Gateway,
		&format!("{} {}", replica_a.url, replica_b.url),
		replica_headers,
		None,
		c,
		s,
	)
	.await;
	let cpu_two = (cpu_seconds(replica_a.pid()) + cpu_seconds(replica_b.pid()) - cpu_before)
		/ replicas.ok.max(1) as f64;
	drop((replica_a, replica_b, redis));
	let metrics = gateway.metrics().await;
	let accepted = metrics
		.lines()
		.find(|line| line.starts_with("session_keys_gateway_requests_total{outcome=\"accepted\"}"))
		.unwrap_or("(no accepted line)")
		.to_string();
	drop(gateway);
	drop(node);
	format!(
		"## Over HTTP, against a dev node\n\n{} sr25519 keys registered across the six dev \
		 accounts; {c} concurrent clients, {s} s per run, each request `GET /orders/<n>?page=<n>` \
		 with its key's version 2 header (reused, `--reusable-headers`). Load generator, gateway, \
		 upstream and node on the same machine.\n\n\
		 | run | requests/s | p50 ms | p99 ms | failed |\n| --- | ---: | ---: | ---: | ---: |\n{}{}{}{}\n\
		 {}Added latency over the upstream directly: one gateway (state in memory) p50 {:.2} ms, \
		 p99 {:.2} ms; two replicas sharing state through Redis p50 {:.2} ms, p99 {:.2} ms. \
		 Gateway CPU time per proxied request (the processes' own utime + stime over the \
		 requests served): one gateway {:.1} µs, two replicas with Redis {:.1} µs. Gateway \
		 against authenticating over RPC: **{:.1}x** the requests per second (goal > 20x).\n\n\
		 Gateway metric: `{accepted}`\n",
		keys.len(),
		direct.row(),
		proxied.row(),
		replicas.row(),
		rpc.row(),
		failures(&[&direct, &proxied, &replicas, &rpc]),
		added(&proxied, &direct, 0.5),
		added(&proxied, &direct, 0.99),
		added(&replicas, &direct, 0.5),
		added(&replicas, &direct, 0.99),
		cpu_one * 1e6,
		cpu_two * 1e6,
		(proxied.ok as f64 / proxied.seconds)
			/ (rpc.ok as f64 / rpc.seconds).max(f64::MIN_POSITIVE),
	)
}

/// Milliseconds `run` adds over `base` at percentile `p`.
fn added(run: &Run, base: &Run, p: f64) -> f64 {
	(run.percentile(p).as_secs_f64() - base.percentile(p).as_secs_f64()) * 1e3
}
