//! The whole watchtower in one call, for the binary's `run` and for a service that embeds it
//! (a gateway that hands each call's state to [`Watchtower::submit_state`] in process).

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use session_keys_client::Client;
use sp_core::crypto::Ss58Codec;

use crate::{
	commands::CommandError,
	http,
	metrics::Metrics,
	plan::Policy,
	signer::CounterpartSigner,
	store::{Store, StoreError},
	tower::Watchtower,
	watch::Watcher,
};

/// What [`Service::start`] needs.
pub struct ServiceConfig {
	/// The store made by `session-keys-watchtower init`.
	pub store: PathBuf,
	/// Its passphrase (zeroized by the caller).
	pub passphrase: zeroize::Zeroizing<Vec<u8>>,
	/// The node's RPC URL.
	pub node: String,
	/// Where to serve the HTTP API (`POST /v1/states`, `/metrics`, ...), if at all.
	pub listen: Option<SocketAddr>,
	/// The watcher's rules.
	pub policy: Policy,
	/// Rows kept in the audit log.
	pub audit_limit: u64,
}

/// A running watchtower: the intake ([`Service::tower`]), the watcher, and the HTTP API if one
/// was asked for. Dropping it stops the watcher and the API.
pub struct Service {
	/// The intake and what the watchtower knows: call [`Watchtower::submit_state`] on it.
	pub tower: Arc<Watchtower>,
	/// Where the HTTP API listens, if it does.
	pub address: Option<SocketAddr>,
	tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Service {
	fn drop(&mut self) {
		for task in &self.tasks {
			task.abort();
		}
	}
}

impl Service {
	/// Opens the store and its signing key, binds the API, connects to the node (waiting for
	/// it), then starts the watcher and the API. Only one process may run a watchtower on a
	/// store: the watcher reads the states of the others' intake only at its start.
	pub async fn start(config: ServiceConfig) -> Result<Service, CommandError> {
		let store = Store::open(&config.store)?;
		let identity = store.identity()?;
		let secret = store.signing_secret(&config.passphrase)?;
		let signer = CounterpartSigner::from_uri(
			&secret,
			identity.via_proxy.then(|| identity.counterpart.clone()),
		)?;
		drop(secret);
		if signer.counterpart() != identity.counterpart {
			return Err(StoreError::Corrupt { path: config.store, what: "counterpart" }.into());
		}
		let listener = match config.listen {
			Some(address) => Some(
				http::bind(address)
					.await
					.map_err(|error| CommandError::Listen { address, error })?,
			),
			None => None,
		};
		let address = listener.as_ref().and_then(|l| l.local_addr().ok());
		let client = Arc::new(connect(&config.node).await?);
		store.bind_genesis(client.genesis_hash().as_bytes())?;
		let held: Vec<_> = store.states(false)?.into_iter().map(|s| s.signed).collect();
		let tower = Arc::new(Watchtower::new(
			signer.counterpart(),
			client.genesis_hash(),
			store.writer(config.audit_limit)?,
			client.clone(),
			held,
			Arc::new(Metrics::new()),
		));
		tracing::info!(
			address = %address.map(|a| a.to_string()).unwrap_or_else(|| "none".into()),
			counterpart = %signer.counterpart().to_ss58check(),
			signer = %signer.signer().to_ss58check(),
			keys = tower.held().len(),
			policy = ?config.policy,
			"listening"
		);
		let mut tasks = Vec::new();
		if let Some(listener) = listener {
			tasks.push(tokio::spawn(http::serve(listener, tower.clone())));
		}
		let watcher = Watcher::new(tower.clone(), client, Arc::new(signer), config.policy);
		tasks.push(tokio::spawn(watcher.run()));
		Ok(Service { tower, address, tasks })
	}
}

/// Connects, waiting for a node that is not up yet.
pub async fn connect(url: &str) -> Result<Client, CommandError> {
	let mut pause = std::time::Duration::from_millis(200);
	loop {
		match Client::connect(url).await {
			Ok(client) => return Ok(client),
			Err(error @ session_keys_client::Error::InvalidUrl(_)) => return Err(error.into()),
			Err(error) => {
				tracing::warn!(%url, %error, ?pause, "the node is not reachable yet");
				tokio::time::sleep(pause).await;
				pause = (pause * 2).min(std::time::Duration::from_secs(5));
			}
		}
	}
}
