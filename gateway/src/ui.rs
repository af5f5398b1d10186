//! The browser widget's static files (`web/`, built into `web/dist`), served by the gateway at
//! `/ui/` when it is started with `--ui DIR`, so the page and the API it calls share one origin
//! and no other server is needed. `/ui/config.json` tells the page the gateway's audience, the
//! node to connect to and the chain's genesis hash: the page takes these from here only (no
//! query or stored override), so a link cannot point the genuine page at another node, and the
//! page refuses a node of another chain. These paths are the gateway's own: they are not
//! authenticated and never reach the upstream.
//!
//! Every answer under `/ui/` carries a strict Content-Security-Policy ([`Ui::csp`]): scripts,
//! styles and workers only from this origin, connections only to it and to the configured
//! node, no framing, no plugins, no `<base>` and no form targets.

use std::{fmt, path::PathBuf, sync::Arc};

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use sp_core::H256;
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::{Gateway, NodeChain};

/// The path the widget is served under.
pub const PREFIX: &str = "/ui";

/// Where the chain's genesis hash comes from once the gateway knows it.
type GenesisSource = Arc<dyn Fn() -> Option<H256> + Send + Sync>;

/// The widget's files and the page's configuration.
#[derive(Clone)]
pub struct Ui {
	files: ServeDir,
	audience: String,
	node: String,
	/// The node's origin for `connect-src`, or why the node URL cannot be one.
	node_origin: Result<String, BadNodeUrl>,
	csp: HeaderValue,
	genesis: GenesisSource,
	/// The price of a call, when calls are metered (`--price`).
	price: Option<session_keys_client::Balance>,
}

impl fmt::Debug for Ui {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("Ui")
			.field("audience", &self.audience)
			.field("node", &self.node)
			.field("genesis", &(self.genesis)())
			.finish_non_exhaustive()
	}
}

/// The node URL given to the page is not a `ws://` or `wss://` URL with a host (and nothing
/// that could not stand in a Content-Security-Policy source).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the node URL for the widget must be ws://HOST[:PORT][/PATH] or wss://…, not {0:?}")]
pub struct BadNodeUrl(pub String);

/// The `scheme://host[:port]` origin of a `ws://` or `wss://` URL: the one source the page may
/// connect to beside its own origin.
pub fn node_origin(url: &str) -> Result<String, BadNodeUrl> {
	let bad = || BadNodeUrl(url.to_owned());
	let uri: Uri = url.parse().map_err(|_| bad())?;
	let scheme =
		uri.scheme_str().filter(|scheme| matches!(*scheme, "ws" | "wss")).ok_or_else(bad)?;
	let authority = uri.authority().ok_or_else(bad)?;
	// No credentials in a URL the page is told, and nothing but a host and a port in a CSP source.
	if authority.as_str().contains('@') || authority.host().is_empty() {
		return Err(bad());
	}
	Ok(format!("{scheme}://{authority}"))
}

/// The page's Content-Security-Policy, with `node_origin` allowed for WebSocket connections.
///
/// `'wasm-unsafe-eval'` is the one relaxation: Polkadot-JS signs and verifies sr25519 in
/// WebAssembly (`@polkadot/wasm-crypto`, compiled from bytes in the bundle), which Chromium and
/// Firefox refuse to compile under a `script-src` without it. It allows compiling WebAssembly
/// only, not `eval` or `new Function` for JavaScript; the bundles use neither.
fn csp(node_origin: Option<&str>) -> HeaderValue {
	let connect = match node_origin {
		Some(origin) => format!("'self' {origin}"),
		None => "'self'".to_owned(),
	};
	let policy = format!(
		"default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
		 connect-src {connect}; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
		 form-action 'none'; frame-ancestors 'none'"
	);
	// `node_origin` is a parsed authority: no byte a header value refuses.
	HeaderValue::from_str(&policy)
		.unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
}

impl Ui {
	/// Serves the files in `dir`; the page is told `audience` and to connect to `node` (a
	/// `ws://` or `wss://` URL, see [`node_origin`]). The page's configuration names the chain
	/// once [`Ui::with_genesis`] gives it the genesis hash; until then it answers 503.
	pub fn new(dir: PathBuf, audience: &[u8], node: &str) -> Ui {
		let node_origin = node_origin(node);
		if let Err(error) = &node_origin {
			tracing::error!(%error, "the widget cannot connect to its node");
		}
		Ui {
			files: ServeDir::new(dir),
			audience: String::from_utf8_lossy(audience).into_owned(),
			node: node.to_owned(),
			csp: csp(node_origin.as_deref().ok()),
			node_origin,
			genesis: Arc::new(|| None),
			price: None,
		}
	}

	/// The page's configuration announces `price` a call (`None`: calls are not metered), so
	/// the page sends the next signed state with each call.
	pub fn with_price(self, price: Option<session_keys_client::Balance>) -> Ui {
		Ui { price, ..self }
	}

	/// The page's configuration names the genesis hash `source` answers (`None` while it is
	/// not known yet). Clones made before share nothing with the result: set it before serving.
	pub fn with_genesis(self, source: impl Fn() -> Option<H256> + Send + Sync + 'static) -> Ui {
		Ui { genesis: Arc::new(source), ..self }
	}

	/// The page's configuration names the genesis hash of the chain `gateway` follows, once it
	/// is connected.
	pub fn following(self, gateway: Arc<Gateway<NodeChain>>) -> Ui {
		self.with_genesis(move || gateway.chain().connected().map(|client| client.genesis_hash()))
	}

	/// The Content-Security-Policy sent with every answer under [`PREFIX`].
	pub fn csp(&self) -> &HeaderValue {
		&self.csp
	}

	/// Whether `path` is one of the widget's.
	pub fn serves(path: &str) -> bool {
		path == PREFIX || path.strip_prefix(PREFIX).is_some_and(|rest| rest.starts_with('/'))
	}

	/// `/ui/config.json`: 200 with `{"audience", "node", "genesis"}` (and `"price"`, a decimal
	/// string, when calls are metered), or why the page cannot
	/// be configured yet (503, to retry) or at all (500).
	fn config(&self) -> Response<Full<Bytes>> {
		let (status, body) = match (&self.node_origin, (self.genesis)()) {
			(Err(error), _) => (
				StatusCode::INTERNAL_SERVER_ERROR,
				serde_json::json!({ "error": error.to_string() }),
			),
			(Ok(_), None) => (
				StatusCode::SERVICE_UNAVAILABLE,
				serde_json::json!({ "error": "the gateway has not reached its node yet: retry in a moment" }),
			),
			(Ok(_), Some(genesis)) => {
				let mut config = serde_json::json!({
					"audience": self.audience,
					"node": self.node,
					"genesis": format!("{genesis:?}"),
				});
				if let Some(price) = self.price {
					config["price"] = price.to_string().into();
				}
				(StatusCode::OK, config)
			}
		};
		let mut builder = Response::builder()
			.status(status)
			.header(header::CONTENT_TYPE, "application/json")
			// What the page trusts must not come from a cache.
			.header(header::CACHE_CONTROL, "no-store");
		if status == StatusCode::SERVICE_UNAVAILABLE {
			builder = builder.header(header::RETRY_AFTER, "1");
		}
		self.with_headers(builder.body(Full::new(Bytes::from(body.to_string()))))
	}

	/// Answers a request for a path under [`PREFIX`].
	pub async fn answer<B>(&self, request: Request<B>) -> Response<Full<Bytes>> {
		let path = request.uri().path().to_owned();
		let path = path.as_str();
		if path == PREFIX {
			// The page's relative links need the trailing slash.
			return self.with_headers(
				Response::builder()
					.status(StatusCode::PERMANENT_REDIRECT)
					.header(header::LOCATION, "/ui/")
					.body(Full::default()),
			);
		}
		if path == "/ui/config.json" {
			return self.config();
		}
		let rest = path.strip_prefix(PREFIX).unwrap_or(path);
		let (mut parts, _) = request.into_parts();
		let rest = match parts.uri.query() {
			Some(query) => format!("{rest}?{query}"),
			None => rest.to_owned(),
		};
		parts.uri = match rest.parse() {
			Ok(uri) => uri,
			Err(_) => return self.status(StatusCode::BAD_REQUEST),
		};
		let request = Request::from_parts(parts, Full::<Bytes>::default());
		let Ok(response) = self.files.clone().oneshot(request).await;
		let (parts, body) = response.into_parts();
		match body.collect().await {
			Ok(collected) => {
				let mut response = Response::from_parts(parts, Full::new(collected.to_bytes()));
				self.add_headers(response.headers_mut());
				response
			}
			Err(error) => {
				tracing::warn!(%error, "cannot read a widget file");
				self.status(StatusCode::INTERNAL_SERVER_ERROR)
			}
		}
	}

	fn add_headers(&self, headers: &mut http::HeaderMap) {
		headers.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
		headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
		headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
		// For browsers without CSP's frame-ancestors.
		headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
		headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-cache"));
	}

	fn with_headers(
		&self,
		built: Result<Response<Full<Bytes>>, http::Error>,
	) -> Response<Full<Bytes>> {
		match built {
			Ok(mut response) => {
				self.add_headers(response.headers_mut());
				response
			}
			Err(_) => self.status(StatusCode::INTERNAL_SERVER_ERROR),
		}
	}

	fn status(&self, status: StatusCode) -> Response<Full<Bytes>> {
		let mut response = Response::new(Full::default());
		*response.status_mut() = status;
		self.add_headers(response.headers_mut());
		response
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// A directory of widget files of its own for each test: tests run at once, and one
	/// rewriting files another is reading made the reader see an empty page.
	fn dir() -> tempfile::TempDir {
		let dir = tempfile::tempdir().unwrap();
		std::fs::create_dir_all(dir.path().join("assets")).unwrap();
		std::fs::write(dir.path().join("index.html"), "<!doctype html><p>widget</p>").unwrap();
		std::fs::write(dir.path().join("assets/app.js"), "export {}").unwrap();
		dir
	}

	async fn get(ui: &Ui, path: &str) -> Response<Full<Bytes>> {
		ui.answer(Request::get(path).body(()).unwrap()).await
	}

	async fn body(response: Response<Full<Bytes>>) -> String {
		let bytes = response.into_body().collect().await.unwrap().to_bytes();
		String::from_utf8(bytes.to_vec()).unwrap()
	}

	#[tokio::test]
	async fn serves_the_files_the_config_and_nothing_outside() {
		let files = dir();
		let genesis = H256::repeat_byte(0xab);
		let ui = Ui::new(files.path().into(), b"api.example", "ws://127.0.0.1:9944")
			.with_genesis(move || Some(genesis));
		let index = get(&ui, "/ui/").await;
		assert_eq!(index.status(), StatusCode::OK);
		assert_eq!(index.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
		assert!(body(index).await.contains("widget"));
		let script = get(&ui, "/ui/assets/app.js?v=1").await;
		assert_eq!(script.status(), StatusCode::OK);
		assert!(script.headers()[header::CONTENT_TYPE].to_str().unwrap().contains("javascript"));
		let config: serde_json::Value =
			serde_json::from_str(&body(get(&ui, "/ui/config.json").await).await).unwrap();
		assert_eq!(config["audience"], "api.example");
		assert_eq!(config["node"], "ws://127.0.0.1:9944");
		assert_eq!(config["genesis"], format!("0x{}", "ab".repeat(32)));
		assert!(config.get("price").is_none(), "calls are not metered");
		let metered = ui.clone().with_price(Some(7));
		let config: serde_json::Value =
			serde_json::from_str(&body(get(&metered, "/ui/config.json").await).await).unwrap();
		assert_eq!(config["price"], "7");
		let redirect = get(&ui, "/ui").await;
		assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
		assert_eq!(redirect.headers()[header::LOCATION], "/ui/");
		assert_eq!(get(&ui, "/ui/missing.js").await.status(), StatusCode::NOT_FOUND);
		for escape in ["/ui/../Cargo.toml", "/ui/%2e%2e/Cargo.toml", "/ui/..%2fCargo.toml"] {
			assert_eq!(get(&ui, escape).await.status(), StatusCode::NOT_FOUND, "{escape}");
		}
		assert!(
			Ui::serves("/ui") && Ui::serves("/ui/x") && !Ui::serves("/uix") && !Ui::serves("/api")
		);
	}

	#[tokio::test]
	async fn every_answer_carries_the_policy_headers() {
		let files = dir();
		let ui = Ui::new(files.path().into(), b"api.example", "wss://node.example:443/rpc")
			.with_genesis(|| Some(H256::repeat_byte(1)));
		for path in ["/ui/", "/ui/assets/app.js", "/ui/config.json", "/ui", "/ui/missing.js"] {
			let response = get(&ui, path).await;
			let headers = response.headers();
			let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
			for directive in [
				"default-src 'self'",
				"script-src 'self' 'wasm-unsafe-eval'",
				"style-src 'self'",
				"connect-src 'self' wss://node.example:443;",
				"img-src 'self' data:",
				"object-src 'none'",
				"base-uri 'none'",
				"form-action 'none'",
				"frame-ancestors 'none'",
			] {
				assert!(csp.contains(directive), "{path}: {directive} missing from {csp}");
			}
			assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"), "{csp}");
			assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
			assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{path}");
			assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
		}
		assert_eq!(get(&ui, "/ui/config.json").await.headers()[header::CACHE_CONTROL], "no-store");
	}

	#[tokio::test]
	async fn the_config_waits_for_the_genesis_and_refuses_a_bad_node() {
		let files = dir();
		let waiting = Ui::new(files.path().into(), b"api.example", "ws://127.0.0.1:9944");
		let response = get(&waiting, "/ui/config.json").await;
		assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
		assert_eq!(response.headers()[header::RETRY_AFTER], "1");
		assert!(body(response).await.contains("not reached its node"));
		// The page is still served, so it can say why it waits.
		assert_eq!(get(&waiting, "/ui/").await.status(), StatusCode::OK);

		for bad in
			["http://127.0.0.1:9944", "ws://user:pw@host:1", "ws:///path", "not a url", "ws://a b"]
		{
			assert!(node_origin(bad).is_err(), "{bad}");
			let ui = Ui::new(files.path().into(), b"api.example", bad)
				.with_genesis(|| Some(H256::zero()));
			let response = get(&ui, "/ui/config.json").await;
			assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR, "{bad}");
			assert!(body(response).await.contains("ws://HOST"), "{bad}");
			let csp = get(&ui, "/ui/").await.headers()[header::CONTENT_SECURITY_POLICY].clone();
			assert!(csp.to_str().unwrap().contains("connect-src 'self';"), "{bad}: {csp:?}");
		}
		assert_eq!(node_origin("ws://127.0.0.1:9944").unwrap(), "ws://127.0.0.1:9944");
		assert_eq!(node_origin("wss://rpc.example/ws?x=1").unwrap(), "wss://rpc.example");
	}
}
