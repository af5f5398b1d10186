//! What each command of [`crate::cli`] does.

use session_keys_client::{build, AccountId, At, Client, KeyRecord, Phase, SessionPublic, Wait};
use session_keys_keeper::{
	passphrase::{self, PassphraseError},
	sealer::KdfParams,
};
use sp_core::crypto::Ss58Codec;

use crate::{
	cli::{Cli, Command, PASSPHRASE_ENV, SECRET_ENV},
	http,
	plan::Policy,
	service::{Service, ServiceConfig},
	signer::{CounterpartSigner, SignerError},
	store::{hex, Identity, Store, StoreError},
};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
	/// The store.
	#[error(transparent)]
	Store(#[from] StoreError),
	/// The passphrase or secret could not be read.
	#[error(transparent)]
	Passphrase(#[from] PassphraseError),
	/// The signing key.
	#[error(transparent)]
	Signer(#[from] SignerError),
	/// The chain.
	#[error(transparent)]
	Client(#[from] session_keys_client::Error),
	/// A bad argument.
	#[error("{0}")]
	Usage(String),
	/// The listener.
	#[error("cannot listen on {address}: {error}")]
	Listen {
		/// The address.
		address: std::net::SocketAddr,
		/// Why.
		error: std::io::Error,
	},
}

/// Runs the command line.
pub async fn run(cli: Cli) -> Result<(), CommandError> {
	match cli.command {
		Command::Init { ref proxy_of, ref secret_file, kdf_memory_kib } => {
			init(&cli, proxy_of.as_deref(), secret_file.as_deref(), kdf_memory_kib)
		}
		Command::Run {
			listen,
			safety_margin,
			expiry_margin,
			unbanked_threshold,
			checkpoint_interval,
			liquidate,
			audit_limit,
		} => {
			let policy = Policy {
				safety_margin,
				expiry_margin,
				unbanked_threshold,
				checkpoint_interval,
				liquidation: liquidate,
			};
			daemon(&cli, listen, policy, audit_limit).await
		}
		Command::Status { all, json } => status(&cli, all, json).await,
		Command::Discontinue { ref key } => end(&cli, key, "discontinue").await,
		Command::Liquidate { ref key } => end(&cli, key, "liquidate").await,
		Command::Export { all, audit } => export(&cli, all, audit),
	}
}

fn read_passphrase(
	cli: &Cli,
	confirm: bool,
) -> Result<zeroize::Zeroizing<Vec<u8>>, PassphraseError> {
	passphrase::read(cli.passphrase_file.as_deref(), PASSPHRASE_ENV, "Store passphrase: ", confirm)
}

fn init(
	cli: &Cli,
	proxy_of: Option<&str>,
	secret_file: Option<&std::path::Path>,
	kdf_memory_kib: u32,
) -> Result<(), CommandError> {
	if cli.store.exists() {
		return Err(StoreError::Exists(cli.store.clone()).into());
	}
	let proxy_of = proxy_of
		.map(|text| {
			AccountId::from_ss58check(text)
				.map_err(|e| CommandError::Usage(format!("--proxy-of {text}: {e:?}")))
		})
		.transpose()?;
	let secret = passphrase::read(secret_file, SECRET_ENV, "Signing key (secret URI): ", false)?;
	let signer = CounterpartSigner::from_uri(&secret, proxy_of.clone())?;
	let passphrase = read_passphrase(cli, true)?;
	let kdf = KdfParams { memory_kib: kdf_memory_kib, ..KdfParams::generate() };
	let identity = Identity { counterpart: signer.counterpart(), via_proxy: proxy_of.is_some() };
	Store::create(&cli.store, &passphrase, &kdf, &identity, &secret)?;
	println!(
		"store {} created for counterpart {}{}",
		cli.store.display(),
		identity.counterpart.to_ss58check(),
		if identity.via_proxy {
			format!(", signing as its Counterpart proxy {}", signer.signer().to_ss58check())
		} else {
			String::new()
		}
	);
	Ok(())
}

/// Opens the store and its signing key.
fn open_signer(cli: &Cli) -> Result<(Store, CounterpartSigner), CommandError> {
	let store = Store::open(&cli.store)?;
	let identity = store.identity()?;
	let passphrase = read_passphrase(cli, false)?;
	let secret = store.signing_secret(&passphrase)?;
	let signer = CounterpartSigner::from_uri(
		&secret,
		identity.via_proxy.then(|| identity.counterpart.clone()),
	)?;
	if signer.counterpart() != identity.counterpart {
		return Err(StoreError::Corrupt { path: cli.store.clone(), what: "counterpart" }.into());
	}
	Ok((store, signer))
}

async fn daemon(
	cli: &Cli,
	listen: std::net::SocketAddr,
	policy: Policy,
	audit_limit: u64,
) -> Result<(), CommandError> {
	let service = Service::start(ServiceConfig {
		store: cli.store.clone(),
		passphrase: read_passphrase(cli, false)?,
		node: cli.node.clone(),
		listen: Some(listen),
		policy,
		audit_limit,
	})
	.await?;
	let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
		.map_err(|e| CommandError::Usage(format!("cannot handle SIGTERM: {e}")))?;
	tokio::select! {
		_ = tokio::signal::ctrl_c() => {}
		_ = terminate.recv() => {}
	}
	tracing::info!("stopping");
	drop(service);
	Ok(())
}

/// One row of `status`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusRow {
	public: SessionPublic,
	nonce: u64,
	#[serde(with = "session_keys_primitives::serde_helpers::decimal")]
	owed: u128,
	on_chain_nonce: Option<u64>,
	#[serde(with = "session_keys_primitives::serde_helpers::decimal")]
	unbanked: u128,
	phase: String,
	settles_at: Option<u32>,
	blocks_left: Option<u32>,
	ended: bool,
}

async fn status(cli: &Cli, all: bool, json: bool) -> Result<(), CommandError> {
	let store = Store::open(&cli.store)?;
	let identity = store.identity()?;
	let states = store.states(all)?;
	let client = Client::connect(&cli.node).await?;
	let best = client.best_number().await?;
	let mut rows = Vec::new();
	for stored in states {
		let signed = &stored.signed;
		let record = client.key_state(signed.public, At::Best).await?;
		let (on_chain, phase, settles_at) = match &record {
			KeyRecord::Unknown => (None, "unknown".to_string(), None),
			KeyRecord::Retired(retired) => {
				(Some((retired.nonce, retired.owed)), format!("ended ({:?})", retired.reason), None)
			}
			KeyRecord::Registered(reg) => (
				Some((reg.state.nonce, reg.state.owed)),
				match reg.phase_at(best) {
					Phase::Live => "live".to_string(),
					Phase::Closing(reason) => format!("closing ({reason:?})"),
				},
				Some(reg.settles_at),
			),
		};
		let closing = matches!(record.phase_at(best), Some(Phase::Closing(_)));
		rows.push(StatusRow {
			public: signed.public,
			nonce: signed.state.nonce,
			owed: signed.state.owed,
			on_chain_nonce: on_chain.map(|(nonce, _)| nonce),
			unbanked: signed.state.owed.saturating_sub(on_chain.map_or(0, |(_, owed)| owed)),
			phase,
			settles_at,
			blocks_left: settles_at.filter(|_| closing).map(|at| at.saturating_sub(best)),
			ended: stored.ended,
		});
	}
	if json {
		for row in &rows {
			println!("{}", serde_json::to_string(row).unwrap_or_default());
		}
		return Ok(());
	}
	println!(
		"counterpart {}{}; best block #{best}; {} key(s)",
		identity.counterpart.to_ss58check(),
		if identity.via_proxy { " (signing as its Counterpart proxy)" } else { "" },
		rows.len()
	);
	for row in rows {
		let key = hex(&codec::Encode::encode(&row.public));
		let window = match (row.settles_at, row.blocks_left) {
			(Some(at), Some(left)) => {
				format!("window open: settles at #{at}, {left} block(s) left")
			}
			(Some(at), None) => format!("settles at #{at} if closed"),
			_ => String::new(),
		};
		println!(
			"{key}  nonce {} owed {}  on chain nonce {}  unbanked {}  {}  {window}",
			row.nonce,
			row.owed,
			row.on_chain_nonce.map_or("-".into(), |n| n.to_string()),
			row.unbanked,
			row.phase
		);
	}
	Ok(())
}

async fn end(cli: &Cli, key: &str, what: &'static str) -> Result<(), CommandError> {
	let public = http::parse_key(key).map_err(CommandError::Usage)?;
	let (store, signer) = open_signer(cli)?;
	let client = Client::connect(&cli.node).await?;
	// A newer state held here goes on chain first: ending the session settles at the state
	// checkpointed, and liquidation needs the state that under-collateralizes it.
	if let Some(stored) = store.state(&public)? {
		let on_chain = client
			.registration(public, At::Best)
			.await?
			.map(|registration| registration.state.nonce);
		if on_chain.is_some_and(|nonce| nonce < stored.signed.state.nonce) {
			let signed = stored.signed;
			let call = build::checkpoint(public, signed.state, signed.signature);
			let included = signer.submit(&client, call, Wait::InBlock).await?;
			println!(
				"checkpointed nonce {} (owed {}) in block #{}",
				signed.state.nonce, signed.state.owed, included.block_number
			);
		}
	}
	let call = match what {
		"liquidate" => build::liquidate(public),
		_ => build::discontinue(public),
	};
	let included = signer.submit(&client, call, Wait::InBlock).await?;
	println!("{what}d {key} in block #{}", included.block_number);
	Ok(())
}

fn export(cli: &Cli, all: bool, audit: Option<u64>) -> Result<(), CommandError> {
	let store = Store::open(&cli.store)?;
	if let Some(limit) = audit {
		for entry in store.audit(limit)? {
			println!("{}", serde_json::to_string(&entry).unwrap_or_default());
		}
		return Ok(());
	}
	for stored in store.states(all)? {
		let mut value = serde_json::to_value(&stored.signed).unwrap_or_default();
		value["receivedAt"] = stored.received_at.into();
		value["ended"] = stored.ended.into();
		println!("{value}");
	}
	Ok(())
}
