//! The gateway binary started for one test, a small upstream HTTP service that records what
//! reaches it, and an HTTP client: each on loopback ports, each stopped when dropped.

use std::{
	convert::Infallible,
	fs::File,
	io::{BufRead, BufReader},
	path::PathBuf,
	process::{Child, Command, Stdio},
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::{
	client::legacy::{connect::HttpConnector, Client},
	rt::{TokioExecutor, TokioIo},
};
use tokio::{net::TcpListener, task::JoinHandle};

use crate::node::free_port;

/// How long the gateway may take to connect and start serving.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

/// The gateway binary, next to the node binary (`SESSION_KEYS_GATEWAY_BIN` overrides).
pub fn binary() -> PathBuf {
	if let Some(path) = std::env::var_os("SESSION_KEYS_GATEWAY_BIN") {
		return path.into();
	}
	crate::node::binary().with_file_name("session-keys-gateway")
}

/// A request as the upstream saw it.
#[derive(Clone, Debug)]
pub struct Seen {
	/// Its method.
	pub method: Method,
	/// Its path and query.
	pub uri: String,
	/// Its headers.
	pub headers: HeaderMap,
}

/// An HTTP service that answers `200 upstream: <path>` and records every request (or, for load
/// tests, only counts them).
pub struct Upstream {
	/// `http://127.0.0.1:<port>`.
	pub url: String,
	seen: Arc<Mutex<Vec<Seen>>>,
	count: Arc<std::sync::atomic::AtomicUsize>,
	task: JoinHandle<()>,
}

impl Upstream {
	/// Starts it on a free loopback port, recording every request.
	pub async fn start() -> Upstream {
		Self::start_with(true).await
	}

	/// Starts it on a free loopback port, counting requests without recording them.
	pub async fn counting() -> Upstream {
		Self::start_with(false).await
	}

	async fn start_with(recording: bool) -> Upstream {
		let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("a loopback port");
		let url = format!("http://{}", listener.local_addr().expect("bound"));
		let seen = Arc::new(Mutex::new(Vec::new()));
		let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
		let (record, counter) = (seen.clone(), count.clone());
		let task = tokio::spawn(async move {
			loop {
				let Ok((stream, _)) = listener.accept().await else { continue };
				let (record, counter) = (record.clone(), counter.clone());
				tokio::spawn(async move {
					let service = hyper::service::service_fn(
						move |request: Request<hyper::body::Incoming>| {
							let (record, counter) = (record.clone(), counter.clone());
							async move {
								let path = request.uri().to_string();
								counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
								if recording {
									record.lock().expect("not poisoned").push(Seen {
										method: request.method().clone(),
										uri: path.clone(),
										headers: request.headers().clone(),
									});
								}
								Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
									"upstream: {path}"
								)))))
							}
						},
					);
					let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
						.serve_connection(TokioIo::new(stream), service)
						.await;
				});
			}
		});
		Upstream { url, seen, count, task }
	}

	/// How many requests reached it.
	pub fn count(&self) -> usize {
		self.count.load(std::sync::atomic::Ordering::Relaxed)
	}

	/// Every request seen so far (none when only counting).
	pub fn seen(&self) -> Vec<Seen> {
		self.seen.lock().expect("not poisoned").clone()
	}
}

impl Drop for Upstream {
	fn drop(&mut self) {
		self.task.abort();
	}
}

/// An answer of the gateway.
#[derive(Debug)]
pub struct Answer {
	/// The status.
	pub status: StatusCode,
	/// The headers.
	pub headers: HeaderMap,
	/// The body.
	pub body: Bytes,
}

impl Answer {
	/// The body as JSON (a refusal's `{"error", "reason", "detail"}`).
	pub fn json(&self) -> serde_json::Value {
		serde_json::from_slice(&self.body).unwrap_or_else(|_| {
			panic!("not JSON ({}): {}", self.status, String::from_utf8_lossy(&self.body))
		})
	}

	/// The refusal's reason.
	pub fn reason(&self) -> serde_json::Value {
		self.json()["reason"].clone()
	}
}

/// A running `session-keys-gateway`; dropping it stops the process (printing its log on a
/// panic).
pub struct Gateway {
	child: Option<Child>,
	/// `http://127.0.0.1:<port>`.
	pub url: String,
	log: PathBuf,
	client: Client<HttpConnector, Full<Bytes>>,
}

impl Gateway {
	/// Starts the gateway in front of `upstream`, following the node at `node_ws`, with
	/// `args` added, logging every request; waits until `/healthz` says it serves.
	pub async fn start(name: &str, node_ws: &str, upstream: &str, args: &[&str]) -> Gateway {
		Self::start_logging(name, node_ws, upstream, args, "info,session_keys_gateway=debug").await
	}

	/// [`Gateway::start`] with the log filter `log` (`RUST_LOG`).
	pub async fn start_logging(
		name: &str,
		node_ws: &str,
		upstream: &str,
		args: &[&str],
		log_filter: &str,
	) -> Gateway {
		let binary = binary();
		assert!(
			binary.exists(),
			"{} not found: build it first with `cargo build --workspace`",
			binary.display()
		);
		let port = free_port();
		let log = std::env::temp_dir()
			.join(format!("session-keys-gateway-{name}-{}-{port}.log", std::process::id()));
		let file = File::create(&log).expect("the temp dir is writable");
		let child = Command::new(&binary)
			.args([
				"--listen",
				&format!("127.0.0.1:{port}"),
				"--node",
				node_ws,
				"--upstream",
				upstream,
			])
			.args(args)
			.env("RUST_LOG", log_filter)
			.stdin(Stdio::null())
			.stdout(file.try_clone().expect("log handle"))
			.stderr(file)
			.spawn()
			.unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
		let gateway = Gateway {
			child: Some(child),
			url: format!("http://127.0.0.1:{port}"),
			log,
			client: Client::builder(TokioExecutor::new()).build_http(),
		};
		gateway.wait_until_serving(START_TIMEOUT).await;
		gateway
	}

	/// Waits until `/healthz` answers 200 (serving), at most `timeout`.
	pub async fn wait_until_serving(&self, timeout: Duration) {
		let deadline = Instant::now() + timeout;
		loop {
			if let Some(health) = self.try_health().await {
				if health["serving"] == true {
					return;
				}
			}
			assert!(Instant::now() < deadline, "the gateway did not serve within {timeout:?}");
			tokio::time::sleep(POLL).await;
		}
	}

	/// `/healthz` as JSON, if the gateway answers.
	pub async fn try_health(&self) -> Option<serde_json::Value> {
		let answer = self.send(Method::GET, "/healthz", &[]).await.ok()?;
		serde_json::from_slice(&answer.body).ok()
	}

	/// `/healthz`.
	pub async fn health(&self) -> serde_json::Value {
		self.try_health().await.expect("the gateway answers /healthz")
	}

	/// The newest block the gateway knows.
	pub async fn head(&self) -> u64 {
		self.health().await["head"].as_u64().expect("a head")
	}

	/// `/metrics`.
	pub async fn metrics(&self) -> String {
		let answer = self.send(Method::GET, "/metrics", &[]).await.expect("metrics");
		String::from_utf8_lossy(&answer.body).into_owned()
	}

	/// The value of the metric line starting with `name` (labels included), 0 if absent.
	pub async fn metric(&self, name: &str) -> f64 {
		let metrics = self.metrics().await;
		metrics
			.lines()
			.find(|line| line.starts_with(name) && line[name.len()..].starts_with(' '))
			.and_then(|line| line.rsplit(' ').next())
			.and_then(|value| value.parse().ok())
			.unwrap_or(0.0)
	}

	/// The process id.
	pub fn pid(&self) -> u32 {
		self.child.as_ref().map_or(0, Child::id)
	}

	/// The gateway's `host:port`.
	pub fn address(&self) -> &str {
		self.url.trim_start_matches("http://")
	}

	/// Sends `method path` with `headers`.
	pub async fn send(
		&self,
		method: Method,
		path: &str,
		headers: &[(&str, &str)],
	) -> Result<Answer, hyper_util::client::legacy::Error> {
		self.send_body(method, path, headers, Bytes::new()).await
	}

	/// Sends `method path` with `headers` and `body`.
	pub async fn send_body(
		&self,
		method: Method,
		path: &str,
		headers: &[(&str, &str)],
		body: Bytes,
	) -> Result<Answer, hyper_util::client::legacy::Error> {
		Self::send_with(&self.client, &self.url, method, path, headers, body).await
	}

	/// Sends `method path` with `headers` and `body` from the loopback address `local` (say
	/// `127.0.0.2`): another client address, as the gateway's per-address limits see it.
	pub async fn send_from(
		&self,
		local: std::net::IpAddr,
		method: Method,
		path: &str,
		headers: &[(&str, &str)],
		body: Bytes,
	) -> Result<Answer, hyper_util::client::legacy::Error> {
		let mut connector = HttpConnector::new();
		connector.set_local_address(Some(local));
		let client = Client::builder(TokioExecutor::new()).build(connector);
		Self::send_with(&client, &self.url, method, path, headers, body).await
	}

	async fn send_with(
		client: &Client<HttpConnector, Full<Bytes>>,
		url: &str,
		method: Method,
		path: &str,
		headers: &[(&str, &str)],
		body: Bytes,
	) -> Result<Answer, hyper_util::client::legacy::Error> {
		let mut request = Request::builder().method(method).uri(format!("{url}{path}"));
		for (name, value) in headers {
			request = request.header(*name, *value);
		}
		let response = client.request(request.body(Full::new(body)).expect("a request")).await?;
		let (parts, body) = response.into_parts();
		let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
		Ok(Answer { status: parts.status, headers: parts.headers, body })
	}

	/// Sends `GET path` with the session header `header`.
	pub async fn get(&self, path: &str, header: &str) -> Answer {
		self.send(Method::GET, path, &[(session_keys_client::HTTP_HEADER, header)])
			.await
			.expect("the gateway answers")
	}

	/// Sends `GET path` with the session header `header` to `url` (a load balancer in front
	/// of gateways, say).
	pub async fn get_via(url: &str, path: &str, header: &str) -> Answer {
		let client = Client::builder(TokioExecutor::new()).build_http();
		let headers = [(session_keys_client::HTTP_HEADER, header)];
		Self::send_with(&client, url, Method::GET, path, &headers, Bytes::new())
			.await
			.expect("it answers")
	}

	fn print_log_tail(&self) {
		let Ok(file) = File::open(&self.log) else { return };
		let lines: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
		eprintln!("----- gateway log ({}), last 60 lines -----", self.log.display());
		for line in &lines[lines.len().saturating_sub(60)..] {
			eprintln!("{line}");
		}
	}
}

impl Drop for Gateway {
	fn drop(&mut self) {
		if std::thread::panicking() {
			self.print_log_tail();
		}
		if let Some(mut child) = self.child.take() {
			let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
			let deadline = Instant::now() + Duration::from_secs(15);
			while Instant::now() < deadline {
				if let Ok(Some(_)) = child.try_wait() {
					break;
				}
				std::thread::sleep(POLL);
			}
			let _ = child.kill();
			let _ = child.wait();
		}
		if !std::thread::panicking() {
			let _ = std::fs::remove_file(&self.log);
		}
	}
}
