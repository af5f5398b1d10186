//! The browser widget's static files (`web/`, built into `web/dist`), served by the gateway at
//! `/ui/` when it is started with `--ui DIR`, so the page and the API it calls share one origin
//! and no other server is needed. `/ui/config.json` tells the page the gateway's audience and
//! the node to connect to. These paths are the gateway's own: they are not authenticated and
//! never reach the upstream.

use std::path::PathBuf;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// The path the widget is served under.
pub const PREFIX: &str = "/ui";

/// The widget's files and the page's configuration.
#[derive(Clone, Debug)]
pub struct Ui {
	files: ServeDir,
	config: Bytes,
}

impl Ui {
	/// Serves the files in `dir`; the page is told `audience` and to connect to `node`.
	pub fn new(dir: PathBuf, audience: &[u8], node: &str) -> Ui {
		let config = serde_json::json!({
			"audience": String::from_utf8_lossy(audience),
			"node": node,
		});
		Ui { files: ServeDir::new(dir), config: Bytes::from(config.to_string()) }
	}

	/// Whether `path` is one of the widget's.
	pub fn serves(path: &str) -> bool {
		path == PREFIX || path.strip_prefix(PREFIX).is_some_and(|rest| rest.starts_with('/'))
	}

	/// Answers a request for a path under [`PREFIX`].
	pub async fn answer<B>(&self, request: Request<B>) -> Response<Full<Bytes>> {
		let path = request.uri().path().to_owned();
		let path = path.as_str();
		if path == PREFIX {
			// The page's relative links need the trailing slash.
			return with_headers(
				Response::builder()
					.status(StatusCode::PERMANENT_REDIRECT)
					.header(header::LOCATION, "/ui/")
					.body(Full::default()),
			);
		}
		if path == "/ui/config.json" {
			return with_headers(
				Response::builder()
					.header(header::CONTENT_TYPE, "application/json")
					.body(Full::new(self.config.clone())),
			);
		}
		let rest = path.strip_prefix(PREFIX).unwrap_or(path);
		let (mut parts, _) = request.into_parts();
		let rest = match parts.uri.query() {
			Some(query) => format!("{rest}?{query}"),
			None => rest.to_owned(),
		};
		parts.uri = match rest.parse() {
			Ok(uri) => uri,
			Err(_) => return status(StatusCode::BAD_REQUEST),
		};
		let request = Request::from_parts(parts, Full::<Bytes>::default());
		let Ok(response) = self.files.clone().oneshot(request).await;
		let (parts, body) = response.into_parts();
		match body.collect().await {
			Ok(collected) => {
				let mut response = Response::from_parts(parts, Full::new(collected.to_bytes()));
				add_headers(response.headers_mut());
				response
			}
			Err(error) => {
				tracing::warn!(%error, "cannot read a widget file");
				status(StatusCode::INTERNAL_SERVER_ERROR)
			}
		}
	}
}

fn add_headers(headers: &mut http::HeaderMap) {
	headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
	headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
	headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

fn with_headers(built: Result<Response<Full<Bytes>>, http::Error>) -> Response<Full<Bytes>> {
	match built {
		Ok(mut response) => {
			add_headers(response.headers_mut());
			response
		}
		Err(_) => status(StatusCode::INTERNAL_SERVER_ERROR),
	}
}

fn status(status: StatusCode) -> Response<Full<Bytes>> {
	let mut response = Response::new(Full::default());
	*response.status_mut() = status;
	response
}

#[cfg(test)]
mod tests {
	use super::*;

	fn dir() -> PathBuf {
		let dir = std::env::temp_dir().join(format!("gateway-ui-{}", std::process::id()));
		std::fs::create_dir_all(dir.join("assets")).unwrap();
		std::fs::write(dir.join("index.html"), "<!doctype html><p>widget</p>").unwrap();
		std::fs::write(dir.join("assets/app.js"), "export {}").unwrap();
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
		let ui = Ui::new(dir(), b"api.example", "ws://127.0.0.1:9944");
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
}
