//! The connection to a node: one WebSocket carries subxt (extrinsics, storage, metadata) and
//! the typed `sessionKeys_*` client; when the node goes away the next request reconnects with
//! exponential backoff.

use std::{sync::Arc, time::Duration};

use jsonrpsee::{core::client::ClientT, ws_client::WsClientBuilder};
use subxt::{
	config::RpcConfigFor,
	rpcs::{methods::LegacyRpcMethods, RpcClient},
	OnlineClient,
};
use tokio::sync::RwLock;

use crate::{
	extensions::{ChainConfig, MetadataHash},
	Error, Result,
};

/// Legacy (`chain_*`, `state_*`, `system_*`) RPC methods.
pub(crate) type LegacyRpc = LegacyRpcMethods<RpcConfigFor<ChainConfig>>;

/// How the client connects and reconnects.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
	/// How long one request may take.
	pub request_timeout: Duration,
	/// The first pause between reconnection attempts; it doubles after each failure.
	pub initial_backoff: Duration,
	/// The longest pause between reconnection attempts.
	pub max_backoff: Duration,
	/// How long to keep trying to reconnect before a request fails with [`Error::Connect`].
	pub reconnect_timeout: Duration,
}

impl Default for ConnectOptions {
	fn default() -> Self {
		Self {
			request_timeout: Duration::from_secs(60),
			initial_backoff: Duration::from_millis(100),
			max_backoff: Duration::from_secs(5),
			reconnect_timeout: Duration::from_secs(60),
		}
	}
}

/// One live WebSocket connection and the clients over it.
pub(crate) struct Connection {
	/// The raw jsonrpsee client: the typed `sessionKeys_*` methods run on it.
	pub(crate) ws: Arc<jsonrpsee::core::client::Client>,
	/// subxt over the same socket.
	pub(crate) api: OnlineClient<ChainConfig>,
	/// `chain_*`, `state_*`, `system_*`.
	pub(crate) legacy: LegacyRpc,
	/// The metadata hash of the runtime version last signed for, computed once per version.
	metadata_hash: tokio::sync::Mutex<Option<MetadataHash>>,
	/// Set once the connection's subscriptions can no longer be trusted (see
	/// [`Connection::retire`]): the next call opens a new connection.
	retired: std::sync::atomic::AtomicBool,
}

impl Connection {
	async fn open(url: &str, options: &ConnectOptions) -> Result<Connection> {
		let connect = |source: Box<dyn std::error::Error + Send + Sync>| Error::Connect {
			url: url.to_string(),
			source,
		};
		let ws = WsClientBuilder::default()
			.request_timeout(options.request_timeout)
			.max_response_size(64 * 1024 * 1024)
			.build(url)
			.await
			.map_err(|e| connect(Box::new(e)))?;
		let ws = Arc::new(ws);
		let rpc = RpcClient::new(ws.clone());
		let api = OnlineClient::<ChainConfig>::from_rpc_client(rpc.clone())
			.await
			.map_err(|e| connect(Box::new(e)))?;
		Ok(Connection {
			ws,
			api,
			legacy: LegacyRpc::new(rpc),
			metadata_hash: tokio::sync::Mutex::new(None),
			retired: std::sync::atomic::AtomicBool::new(false),
		})
	}

	/// Has the next call open a new connection instead of this one. For a transaction whose
	/// status stream broke: subxt's `chainHead_follow` subscription, once the node stopped it
	/// and it could not subscribe again, ends for good, and every later transaction on the
	/// same connection would lose its status the same way (seen on a loaded node).
	pub(crate) fn retire(&self) {
		self.retired.store(true, std::sync::atomic::Ordering::Relaxed);
	}

	/// The metadata hash of runtime version `spec_version`, the runtime of block `at`: computed
	/// from the node's metadata the first time that version signs anything.
	pub(crate) async fn metadata_hash(
		&self,
		spec_version: u32,
		at: sp_core::H256,
	) -> Result<MetadataHash> {
		let mut cached = self.metadata_hash.lock().await;
		if let Some(hash) = *cached {
			if hash.spec_version == spec_version {
				return Ok(hash);
			}
		}
		let hash = MetadataHash::of_block(&self.legacy, at).await?;
		*cached = Some(hash);
		Ok(hash)
	}

	fn is_connected(&self) -> bool {
		self.ws.is_connected() && !self.retired.load(std::sync::atomic::Ordering::Relaxed)
	}
}

/// A client of one node. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Client {
	url: String,
	options: ConnectOptions,
	connection: RwLock<Arc<Connection>>,
	/// Counts reconnection attempts that gave up, with the last one's reason: a caller that
	/// queued behind a failed attempt fails at once instead of starting another one.
	failures: std::sync::Mutex<(u64, String)>,
	pub(crate) genesis_hash: sp_core::H256,
}

/// Accepts `ws://`, `wss://`, `http://` and `https://`. Substrate nodes serve HTTP and
/// WebSocket on one port, and the client needs subscriptions, so an HTTP URL is dialled as the
/// WebSocket on the same host and port.
fn websocket_url(url: &str) -> Result<String> {
	let (scheme, rest) = url.split_once("://").ok_or_else(|| Error::InvalidUrl(url.into()))?;
	let scheme = match scheme.to_ascii_lowercase().as_str() {
		"ws" | "http" => "ws",
		"wss" | "https" => "wss",
		_ => return Err(Error::InvalidUrl(url.into())),
	};
	if rest.is_empty() {
		return Err(Error::InvalidUrl(url.into()));
	}
	Ok(format!("{scheme}://{rest}"))
}

impl Client {
	/// Connects to the node at `url` with the default [`ConnectOptions`].
	pub async fn connect(url: &str) -> Result<Client> {
		Self::connect_with(url, ConnectOptions::default()).await
	}

	/// Connects to the node at `url`.
	pub async fn connect_with(url: &str, options: ConnectOptions) -> Result<Client> {
		let url = websocket_url(url)?;
		let connection = Connection::open(&url, &options).await?;
		let genesis_hash = connection.api.genesis_hash();
		tracing::debug!(%url, ?genesis_hash, "connected");
		Ok(Client {
			url,
			options,
			connection: RwLock::new(Arc::new(connection)),
			failures: std::sync::Mutex::new((0, String::new())),
			genesis_hash,
		})
	}

	/// The URL this client dials.
	pub fn url(&self) -> &str {
		&self.url
	}

	/// The genesis hash of the chain: every state and header signature covers it.
	pub fn genesis_hash(&self) -> sp_core::H256 {
		self.genesis_hash
	}

	/// The current connection, reconnecting first (with backoff, up to
	/// [`ConnectOptions::reconnect_timeout`]) if the node went away. One reconnection runs at a
	/// time; callers that waited for one that gave up fail with its reason at once.
	pub(crate) async fn connection(&self) -> Result<Arc<Connection>> {
		// Taken before waiting for the lock: a caller that waits while another one reconnects
		// sees that attempt's outcome.
		let failures_before = self.failures().0;
		{
			let current = self.connection.read().await;
			if current.is_connected() {
				return Ok(current.clone());
			}
		}
		let mut current = self.connection.write().await;
		if current.is_connected() {
			return Ok(current.clone());
		}
		let (failures, reason) = self.failures();
		if failures != failures_before {
			return Err(Error::Connect { url: self.url.clone(), source: reason.into() });
		}
		match self.reconnect().await {
			Ok(fresh) => {
				*current = Arc::new(fresh);
				Ok(current.clone())
			}
			Err(error) => {
				let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
				*failures = (failures.0.wrapping_add(1), error.to_string());
				Err(error)
			}
		}
	}

	fn failures(&self) -> (u64, String) {
		self.failures.lock().unwrap_or_else(|e| e.into_inner()).clone()
	}

	async fn reconnect(&self) -> Result<Connection> {
		let deadline = tokio::time::Instant::now() + self.options.reconnect_timeout;
		let mut backoff = self.options.initial_backoff;
		loop {
			match Connection::open(&self.url, &self.options).await {
				Ok(connection) => {
					if connection.api.genesis_hash() != self.genesis_hash {
						return Err(Error::Connect {
							url: self.url.clone(),
							source: "the node now serves another chain (genesis hash changed)"
								.into(),
						});
					}
					tracing::info!(url = %self.url, "reconnected");
					return Ok(connection);
				}
				Err(error) if tokio::time::Instant::now() + backoff < deadline => {
					tracing::warn!(url = %self.url, %error, ?backoff, "reconnecting");
					tokio::time::sleep(backoff).await;
					backoff = (backoff * 2).min(self.options.max_backoff);
				}
				Err(error) => return Err(error),
			}
		}
	}

	/// Runs a request on the current connection; if it fails because the connection dropped,
	/// reconnects and runs it once more. For reads only: a submission is not repeated.
	pub(crate) async fn retrying<T, F, Fut>(&self, request: F) -> Result<T>
	where
		F: Fn(Arc<Connection>) -> Fut,
		Fut: std::future::Future<Output = Result<T>>,
	{
		let connection = self.connection().await?;
		match request(connection.clone()).await {
			Err(error) if !connection.is_connected() => {
				tracing::debug!(%error, "connection lost during a read; retrying once");
				request(self.connection().await?).await
			}
			other => other,
		}
	}

	/// Calls any JSON-RPC method (for methods this client does not wrap).
	pub async fn request<T: serde::de::DeserializeOwned>(
		&self,
		method: &'static str,
		params: jsonrpsee::core::params::ArrayParams,
	) -> Result<T> {
		self.retrying(|c| {
			let params = params.clone();
			async move { c.ws.request(method, params).await.map_err(|e| Error::rpc(method, e)) }
		})
		.await
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn urls_map_to_websockets() {
		assert_eq!(websocket_url("ws://127.0.0.1:9944").unwrap(), "ws://127.0.0.1:9944");
		assert_eq!(websocket_url("http://localhost:9944/").unwrap(), "ws://localhost:9944/");
		assert_eq!(websocket_url("HTTPS://node.example").unwrap(), "wss://node.example");
		for bad in ["127.0.0.1:9944", "ftp://x", "ws://", ""] {
			assert!(matches!(websocket_url(bad), Err(Error::InvalidUrl(_))), "{bad}");
		}
	}
}
