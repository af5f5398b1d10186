//! What each command does.

use std::{
	path::{Path, PathBuf},
	sync::Arc,
};

use codec::Encode;
use session_keys_client::{
	build, encode_header_v2, AccountId, AdjudicatorEvent, At, Balance, BlockNumber, BoundRequest,
	ChannelState, Client, DelegateTerms, HeaderRequestV2, SessionPublic, Wait,
};
use sp_core::crypto::Ss58Codec;
use zeroize::Zeroizing;

use crate::{
	chain::{self, KeeperError},
	cli::{
		Cli, Command, KeyChoice, OwnerCommand, ProfileArgs, ProfileCommand, ProfileEdit,
		SealerKind, TermsCheck,
	},
	daemon::{self, unix_now, Options},
	metrics::{self, Metrics},
	passphrase::{self, PassphraseError, NEW_PASSPHRASE_ENV, PASSPHRASE_ENV},
	plan::OnChain,
	sealer::{
		pkcs11::{self, Pkcs11Sealer, Pkcs11Settings},
		KdfParams, PassphraseSealer, Sealer, SealerSettings,
	},
	signer::OwnerSigner,
	store::{hex, Dump, KeyStatus, Location, OwnerRecord, Profile, Store, StoreError, StoredKey},
	terms::{self, TermsError},
};

/// Any error of a command, for the user.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
	/// The keeper failed.
	#[error(transparent)]
	Keeper(#[from] KeeperError),
	/// No passphrase.
	#[error(transparent)]
	Passphrase(#[from] PassphraseError),
	/// A setting is refused.
	#[error("{0}")]
	Invalid(String),
	/// The owner's terms refuse a profile, or there are none.
	#[error(transparent)]
	Terms(#[from] TermsError),
	/// A file cannot be read or written.
	#[error("{0}")]
	Io(String),
}

impl From<crate::store::StoreError> for CommandError {
	fn from(error: crate::store::StoreError) -> Self {
		CommandError::Keeper(error.into())
	}
}

impl From<session_keys_client::Error> for CommandError {
	fn from(error: session_keys_client::Error) -> Self {
		CommandError::Keeper(error.into())
	}
}

/// The store's path: `--store`, else the user's data directory.
pub fn store_path(cli: &Cli) -> Result<PathBuf, CommandError> {
	match &cli.store {
		Some(path) => Ok(path.clone()),
		None => dirs::data_dir()
			.map(|dir| dir.join("session-keys-keeper").join("keeper.db"))
			.ok_or_else(|| {
				CommandError::Invalid("no data directory known here: pass --store PATH".into())
			}),
	}
}

/// The store `--store` names: a `postgres://` URL (its password from `--store-password-file`
/// if given), else an SQLite file ([`store_path`]).
pub fn store_location(cli: &Cli) -> Result<Location, CommandError> {
	match Location::parse(&store_path(cli)?) {
		Location::Postgres(target) => match &cli.store_password_file {
			Some(file) => {
				let contents = Zeroizing::new(std::fs::read_to_string(file).map_err(|error| {
					CommandError::Io(format!(
						"cannot read the store's password file {}: {error}",
						file.display()
					))
				})?);
				// A trailing newline, as an editor leaves it, is not part of it.
				let password = contents.trim_end_matches(['\n', '\r']);
				if password.is_empty() {
					return Err(CommandError::Invalid(format!(
						"the store's password file {} is empty",
						file.display()
					)));
				}
				Ok(Location::Postgres(target.with_password(Zeroizing::new(password.to_owned()))))
			}
			None => Ok(Location::Postgres(target)),
		},
		Location::Sqlite(path) => {
			if cli.store_password_file.is_some() {
				return Err(CommandError::Invalid(
					"--store-password-file is for a PostgreSQL store (--store postgres://…)".into(),
				));
			}
			Ok(Location::Sqlite(path))
		}
	}
}

/// Writes `bytes` to a new file at `path` (never over one), readable by its user only.
fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), CommandError> {
	use std::io::Write;
	let mut options = std::fs::OpenOptions::new();
	options.write(true).create_new(true);
	#[cfg(unix)]
	std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
	let written = options.open(path).and_then(|mut file| {
		file.write_all(bytes)?;
		file.sync_all()
	});
	written.map_err(|error| CommandError::Io(format!("cannot write {}: {error}", path.display())))
}

/// Whether the SQLite file at `location` is absent (a PostgreSQL store says so itself, once
/// reached).
fn missing(location: &Location) -> bool {
	location.path().is_some_and(|path| !path.exists())
}

fn open(cli: &Cli) -> Result<Store, CommandError> {
	Ok(open_with_source(cli)?.0)
}

/// Where the secret that unlocked a store (its passphrase, or its token's PIN) came from.
struct Unlocked {
	/// The file, the environment or a prompt.
	source: passphrase::Source,
	/// The environment variable it is read from when it comes from the environment.
	variable: &'static str,
}

/// The store, opened with what its file says seals it (a passphrase, or a PKCS#11 token's
/// PIN), and where that secret came from.
fn open_with_source(cli: &Cli) -> Result<(Store, Unlocked), CommandError> {
	let location = store_location(cli)?;
	if missing(&location) {
		return Err(StoreError::Missing(location).into());
	}
	let settings = Store::sealer_settings_at(&location)?;
	let (sealer, unlocked): (Box<dyn Sealer + Send>, _) = match &settings {
		SealerSettings::Passphrase(params) => {
			let (passphrase, source) = passphrase::read_with_source(
				cli.passphrase_file.as_deref(),
				PASSPHRASE_ENV,
				"Passphrase: ",
				false,
			)?;
			let sealer = PassphraseSealer::derive(&passphrase, params).map_err(StoreError::from)?;
			(Box::new(sealer), Unlocked { source, variable: PASSPHRASE_ENV })
		}
		SealerSettings::Pkcs11(token) => {
			let (pin, source) = pkcs11::read_pin(cli.pkcs11_pin_file.as_deref(), &token.token)
				.map_err(StoreError::from)?;
			let sealer = Pkcs11Sealer::open(token, &pin).map_err(StoreError::from)?;
			(Box::new(sealer), Unlocked { source, variable: pkcs11::PIN_ENV })
		}
	};
	Ok((Store::open_at_with(&location, |_| Ok(sealer))?, unlocked))
}

/// The token settings of `--pkcs11-module`, `--pkcs11-token` and `--pkcs11-key`, for `command`.
fn pkcs11_settings(cli: &Cli, command: &str) -> Result<Pkcs11Settings, CommandError> {
	let missing =
		|flag: &str| CommandError::Invalid(format!("`{command} --sealer pkcs11` needs {flag}"));
	let module = cli.pkcs11_module.clone().ok_or_else(|| missing("--pkcs11-module PATH"))?;
	let token = cli.pkcs11_token.clone().ok_or_else(|| missing("--pkcs11-token LABEL"))?;
	if cli.pkcs11_key.is_empty() {
		return Err(CommandError::Invalid("--pkcs11-key must not be empty".into()));
	}
	Ok(Pkcs11Settings { module, token, key: cli.pkcs11_key.clone() })
}

/// A sealer in the token `settings` name, logged in with the PIN `--pkcs11-pin-file` (or the
/// environment, or a prompt) gives; its keys are generated if absent, and the user is told.
fn token_sealer(cli: &Cli, settings: &Pkcs11Settings) -> Result<Pkcs11Sealer, CommandError> {
	let (pin, _) = pkcs11::read_pin(cli.pkcs11_pin_file.as_deref(), &settings.token)
		.map_err(StoreError::from)?;
	let (sealer, made) = Pkcs11Sealer::create(settings, &pin).map_err(StoreError::from)?;
	for (generated, kind, label) in
		[(made.seal, "AES-256", settings.key.clone()), (made.mac, "HMAC", settings.mac_key_label())]
	{
		println!(
			"{} the {kind} key {label:?} in token {:?}",
			if generated { "generated" } else { "using" },
			settings.token
		);
	}
	Ok(sealer)
}

/// `init`: a new store at `location`, sealed as `sealer` says.
fn init(cli: &Cli, location: &Location, sealer: SealerKind) -> Result<(), CommandError> {
	match sealer {
		SealerKind::Passphrase => {
			let passphrase = passphrase::read(
				cli.passphrase_file.as_deref(),
				PASSPHRASE_ENV,
				"New passphrase: ",
				true,
			)?;
			Store::create_at_with(location, &passphrase, KdfParams::generate())?;
		}
		SealerKind::Pkcs11 => {
			let settings = pkcs11_settings(cli, "init")?;
			let sealer = token_sealer(cli, &settings)?;
			Store::create_sealed_at(location, &SealerSettings::Pkcs11(settings), Box::new(sealer))?;
		}
	}
	Ok(())
}

/// Runs `cli`'s command.
pub async fn execute(mut cli: Cli) -> Result<(), CommandError> {
	// Whatever was given where `-` is allowed is moved out of the parsed command line, to be
	// zeroized when dropped: if it is a secret, it is refused below, but not kept.
	let source_argument = match &mut cli.command {
		Command::Owner(OwnerCommand::Import { source, .. }) => source.take().map(Zeroizing::new),
		_ => None,
	};
	match &cli.command {
		Command::Init { sealer } => {
			let location = store_location(&cli)?;
			if location.path().is_some_and(Path::exists) {
				return Err(StoreError::Exists(location).into());
			}
			init(&cli, &location, *sealer)?;
			println!("created {location}");
			Ok(())
		}
		Command::Export { to } => {
			let location = store_location(&cli)?;
			if missing(&location) {
				return Err(StoreError::Missing(location).into());
			}
			let dump = Store::export(&location)?;
			write_new_private(to, &dump.to_export())?;
			println!(
				"exported {location} to {} ({} profile(s), {} key(s){}), every secret still sealed",
				to.display(),
				dump.profiles.len(),
				dump.keys.len(),
				if dump.owner.is_some() { ", the owner's key" } else { "" },
			);
			Ok(())
		}
		Command::Import { from } => {
			let location = store_location(&cli)?;
			let bytes = std::fs::read(from)
				.map_err(|source| StoreError::ExportIo { path: from.clone(), source })?;
			let dump = Dump::from_export(&bytes, from)?;
			Store::import(&location, &dump)?;
			println!(
				"imported {} into {location} ({} profile(s), {} key(s){}): it opens with what \
				 opened the exported store",
				from.display(),
				dump.profiles.len(),
				dump.keys.len(),
				if dump.owner.is_some() { ", the owner's key" } else { "" },
			);
			Ok(())
		}
		Command::Reseal { sealer: SealerKind::Passphrase, new_passphrase_file } => {
			let mut store = open(&cli)?;
			let new = passphrase::read(
				new_passphrase_file.as_deref(),
				NEW_PASSPHRASE_ENV,
				"New passphrase: ",
				true,
			)?;
			store.change_passphrase(&new)?;
			println!("every secret in {} is sealed under the new passphrase", store.location());
			Ok(())
		}
		Command::Reseal { sealer: SealerKind::Pkcs11, new_passphrase_file: _ } => {
			let mut store = open(&cli)?;
			// Refused before the token is touched if a daemon runs; `reseal` asks again.
			drop(store.lock_daemon()?);
			let settings = pkcs11_settings(&cli, "reseal")?;
			let sealer = token_sealer(&cli, &settings)?;
			store.reseal(&SealerSettings::Pkcs11(settings.clone()), Box::new(sealer))?;
			println!(
				"every secret in {} is sealed by the keys {:?} and {:?} in token {:?}",
				store.location(),
				settings.key,
				settings.mac_key_label(),
				settings.token
			);
			Ok(())
		}
		Command::ChangePassphrase { new_passphrase_file } => {
			let mut store = open(&cli)?;
			let new = passphrase::read(
				new_passphrase_file.as_deref(),
				NEW_PASSPHRASE_ENV,
				"New passphrase: ",
				true,
			)?;
			store.change_passphrase(&new)?;
			println!("every secret in {} is sealed under the new passphrase", store.location());
			Ok(())
		}
		Command::Owner(OwnerCommand::Import { source: _, file, stdin, delegate_of }) => {
			let stdin = match source_argument.as_deref().map(String::as_str) {
				None => *stdin,
				Some("-") => true,
				Some(_) => return Err(secret_on_command_line()),
			};
			let mut store = open(&cli)?;
			let uri = read_secret_uri(file.as_deref(), stdin)?;
			let signer =
				OwnerSigner::from_uri(&uri, delegate_of.clone()).map_err(KeeperError::from)?;
			let record = OwnerRecord { signer: signer.signer(), delegate_of: delegate_of.clone() };
			let open = store.keys()?.iter().filter(|key| key.status != KeyStatus::Ended).count();
			let old = match store.owner() {
				Ok(old) => old,
				// Importing again is how the passphrase's holder vouches for the record anew;
				// which owner the open keys belong to is no longer known for sure.
				Err(tampered @ crate::store::StoreError::Tampered { .. }) => {
					eprintln!("warning: {tampered}");
					if open > 0 {
						eprintln!(
							"warning: replacing it; the store's {open} key(s) that have not \
							 ended were registered by the account the record named before: if \
							 that is not {}, revoke them with that account's key",
							record.owner().to_ss58check()
						);
					}
					None
				}
				Err(error) => return Err(error.into()),
			};
			if let Some(old) = old {
				// The stored keys are the old owner's: a new owner could neither renew nor
				// revoke them.
				if old.owner() != record.owner() && open > 0 {
					return Err(CommandError::Invalid(format!(
						"the store holds {open} key(s) of {} that have not ended: revoke them \
						 (`revoke-all`) and let them end before importing another owner",
						old.owner().to_ss58check()
					)));
				}
				// Nor could a delegate other than the one that registered them: a delegate
				// renews and revokes only its own keys.
				if record.delegate_of.is_some() && old.signer != record.signer && open > 0 {
					return Err(CommandError::Invalid(format!(
						"the store holds {open} key(s) registered by {} that have not ended: the \
						 delegate {} could neither renew nor revoke them. Revoke them \
						 (`revoke-all`) and let them end before importing it",
						old.signer.to_ss58check(),
						record.signer.to_ss58check()
					)));
				}
			}
			store.set_owner(&record, &uri)?;
			print_owner(&record);
			if let Some(owner) = &record.delegate_of {
				println!(
					"the owner must authorize this delegate, where the owner's key lives: \
					 `session-keys-keeper authorize --delegate {} --counterpart … --max-collateral \
					 … --max-spending-limit … --max-total-collateral … --max-duration … \
					 --max-keys …` (or adjudicator.authorizeDelegate in Polkadot-JS Apps, signed \
					 by {}); `status` shows the terms",
					record.signer.to_ss58check(),
					owner.to_ss58check()
				);
			}
			Ok(())
		}
		Command::Owner(OwnerCommand::Show) => {
			let store = open(&cli)?;
			print_owner(&store.owner()?.ok_or(crate::store::StoreError::NoOwner)?);
			Ok(())
		}
		Command::Profile(ProfileCommand::Add { profile: args, check }) => {
			let mut store = open(&cli)?;
			let profile = profile_of(args)?;
			let owner = store.owner()?;
			if let Some(owner) = &owner {
				if owner.owner() == &profile.counterpart {
					return Err(CommandError::Invalid(
						"the counterpart is the owner itself".into(),
					));
				}
			}
			if store.profile(&profile.name).is_ok() {
				return Err(crate::store::StoreError::ProfileExists(profile.name).into());
			}
			check_terms(owner.as_ref(), &profile, check, Check::Add).await?;
			store.add_profile(&profile)?;
			if profile.scope.is_empty() {
				eprintln!(
					"note: no --scope given: the keys allow no resource (`--scope '*'` allows all)"
				);
			}
			println!("added profile {:?}; `run` registers its first key", profile.name);
			Ok(())
		}
		Command::Profile(ProfileCommand::List) => {
			let store = open(&cli)?;
			let mut rows = vec![row(&[
				"PROFILE",
				"COUNTERPART",
				"DURATION",
				"RENEW AT",
				"ROTATE AT",
				"LIMIT",
				"COLLATERAL",
				"SCOPE",
				"CRYPTO",
			])];
			for profile in store.profiles()? {
				rows.push(vec![
					profile.name.clone(),
					profile.counterpart.to_ss58check(),
					profile.duration.to_string(),
					format!("{} left", profile.renew_margin),
					format!("age {}", profile.rotation_interval),
					profile.spending_limit.to_string(),
					profile.collateral.to_string(),
					profile
						.scope
						.iter()
						.map(|item| String::from_utf8_lossy(item).into_owned())
						.collect::<Vec<_>>()
						.join(", "),
					profile.crypto.name().into(),
				]);
			}
			print_table(&rows);
			Ok(())
		}
		Command::Profile(ProfileCommand::Edit { edit, check }) => {
			let mut store = open(&cli)?;
			let current = store.profile(&edit.name)?;
			let profile = edited(current.clone(), edit)?;
			if profile == current {
				return Err(CommandError::Invalid(format!(
					"nothing to change: profile {:?} already has these settings (see `profile \
					 edit --help`)",
					edit.name
				)));
			}
			let owner = store.owner()?;
			if let Some(owner) = &owner {
				if owner.owner() == &profile.counterpart {
					return Err(CommandError::Invalid(
						"the counterpart is the owner itself".into(),
					));
				}
			}
			check_terms(owner.as_ref(), &profile, check, Check::Edit).await?;
			store.update_profile(&profile)?;
			println!(
				"updated profile {:?}: keys registered from now on (a pending key's next try \
				 included) get these terms, renewals this duration",
				profile.name
			);
			Ok(())
		}
		Command::Profile(ProfileCommand::Remove { name }) => {
			let mut store = open(&cli)?;
			store.remove_profile(name)?;
			println!("removed profile {name:?}");
			Ok(())
		}
		Command::Run { node, metrics: address, poll_ms, lease_ms, halt_after } => {
			let (mut store, unlocked) = open_with_source(&cli)?;
			if unlocked.source == passphrase::Source::Environment {
				tracing::warn!(
					"the {} came from {}: it stays readable in /proc/{}/environ (to this user \
					 and root) for as long as the daemon runs; use {} FILE (mode 0600) instead",
					if unlocked.variable == PASSPHRASE_ENV { "passphrase" } else { "PIN" },
					unlocked.variable,
					std::process::id(),
					if unlocked.variable == PASSPHRASE_ENV {
						"--passphrase-file"
					} else {
						"--pkcs11-pin-file"
					},
				);
			}
			// One daemon per SQLite store; on PostgreSQL, any number, one leading. Either way
			// `change-passphrase` waits for them to stop.
			let _lock = store.join_daemons()?;
			let signer = signer_of(&store)?;
			let metrics = Arc::new(Metrics::new());
			let server = match address {
				Some(address) => {
					let listener = metrics::bind(*address).await.map_err(|error| {
						CommandError::Io(format!("cannot listen on {address} for metrics: {error}"))
					})?;
					tracing::info!("metrics at http://{address}/metrics");
					Some(tokio::spawn(metrics::serve(listener, metrics.clone())))
				}
				None => None,
			};
			let options = Options {
				node: node.node.clone(),
				poll: std::time::Duration::from_millis(*poll_ms),
				halt_after: *halt_after,
				lease: std::time::Duration::from_millis(*lease_ms),
			};
			let profiles = store.checked_profiles()?;
			tracing::info!(store = %store.location(), profiles = profiles.len(), "keeper started");
			// A profile stored before today's limits still runs, with a warning. (One changed
			// outside the keeper is refused by name, once, by the daemon, which skips it.)
			for profile in profiles.into_iter().flatten() {
				if let Err(error) = checked(profile.clone()) {
					tracing::warn!(profile = %profile.name, %error, "settings that may leave gaps: `profile edit` them");
				}
			}
			let result =
				daemon::run(&mut store, &signer, &options, &metrics, shutdown_signal()).await;
			if let Some(server) = server {
				server.abort();
			}
			Ok(result?)
		}
		Command::Status { node, all } => {
			let store = open(&cli)?;
			let client = Client::connect(&node.node).await?;
			status(&client, &store, *all).await
		}
		Command::Revoke { key, node } => {
			let mut store = open(&cli)?;
			let key = store.find_key(key)?;
			let signer = signer_of(&store)?;
			let client = Client::connect(&node.node).await?;
			if !chain::may_act_on(&client, &signer, key.public, At::Best).await? {
				return Err(CommandError::Invalid(format!(
					"{} was not registered by this delegate ({}): only the owner can revoke it",
					hex(&key.public.encode()),
					signer.signer().to_ss58check()
				)));
			}
			let included = chain::revoke(&client, &signer, key.public, Wait::Finalized).await?;
			store.mark_revoked(key.id, included.block_number)?;
			println!("revoked {} in block #{}", hex(&key.public.encode()), included.block_number);
			Ok(())
		}
		Command::RevokeAll { node, wait_daemon } => {
			let mut store = open(&cli)?;
			let signer = signer_of(&store)?;
			let client = Client::connect(&node.node).await?;
			// Paused first, so that a running daemon registers no new key behind the revocation.
			store.pause(unix_now())?;
			match store.lock_daemon() {
				Ok(_no_daemon) => {}
				Err(crate::store::StoreError::DaemonRunning(_)) => {
					wait_for_pause(&store, std::time::Duration::from_secs(*wait_daemon)).await?
				}
				Err(error) => return Err(error.into()),
			}
			let owner = signer.owner();
			let first = match signer.delegate_of() {
				None => signer
					.submit(&client, build::revoke_all(), Wait::Finalized)
					.await
					.map(|included| Swept::All(included.block_number))
					.map_err(CommandError::from),
				// `revoke_all` revokes the signer's own keys: a delegate revokes each live key
				// it registered for the owner.
				Some(_) => sweep(&client, &signer, &owner).await.map(Swept::Each),
			};
			let first = match first {
				Ok(first) => first,
				Err(error) => {
					eprintln!("the keeper stays paused: run `revoke-all` again (or `resume`)");
					return Err(error);
				}
			};
			// Checked on chain: a registration that landed after the first sweep (one a
			// daemon had on its way and did not pause in time for) is revoked on its own.
			let late = sweep(&client, &signer, &owner).await?;
			for &(public, block) in &late.revoked {
				if let Ok(key) = store.find_key(&hex(&public.encode())) {
					store.mark_revoked(key.id, block)?;
				}
				println!(
					"revoked {} too: it was registered after the first revocation (block #{block})",
					hex(&public.encode()),
				);
			}
			// A delegate that sent no revocation has no later nonce to keep a registration
			// it had sent from landing after the check below: wait for its pool to empty.
			if matches!(&first, Swept::Each(each) if each.revoked.is_empty())
				&& late.revoked.is_empty()
			{
				wait_for_empty_pool(&client, &signer.signer(), std::time::Duration::from_secs(60))
					.await?;
			}
			let mut retired = 0;
			for key in store.keys()? {
				match key.status {
					// (A running daemon may have recorded it already.)
					KeyStatus::Live => match &first {
						Swept::All(block) => store.mark_revoked(key.id, *block)?,
						Swept::Each(sweep) => {
							if let Some((_, block)) =
								sweep.revoked.iter().find(|(public, _)| *public == key.public)
							{
								store.mark_revoked(key.id, *block)?
							}
						}
					},
					// Never registered: its secret may be as exposed as the live keys', so it
					// is not registered after `resume` either. Nor can it be registered later
					// by a registration already sent: that was signed by the same account at a
					// lower nonce than the revocations (the daemon has paused; the nonce counts
					// the pool), so once they are in, it can never be included.
					KeyStatus::Pending
						if client.registration(key.public, At::Best).await?.is_none() =>
					{
						store.update_key(
							key.id,
							KeyStatus::Ended,
							None,
							None,
							Some("retired before registration (revoke-all)"),
						)?;
						retired += 1;
					}
					_ => {}
				}
			}
			match &first {
				Swept::All(block) => {
					println!("revoked every live key of {} in block #{block}", owner.to_ss58check())
				}
				Swept::Each(sweep) => {
					for (public, block) in &sweep.revoked {
						println!("revoked {} in block #{block}", hex(&public.encode()));
					}
					println!(
						"revoked the {} live key(s) this delegate ({}) registered for {}",
						sweep.revoked.len() + late.revoked.len(),
						signer.signer().to_ss58check(),
						owner.to_ss58check()
					);
				}
			}
			if !late.left.is_empty() {
				println!(
					"left open: {} live key(s) of the owner this delegate did not register \
					 (only the owner can revoke them: `revoke-all` with the owner's key): {}",
					late.left.len(),
					late.left
						.iter()
						.map(|public| hex(&public.encode()))
						.collect::<Vec<_>>()
						.join(", ")
				);
			}
			if retired > 0 {
				println!("retired {retired} pending key(s) that were never registered");
			}
			println!(
				"the keeper is paused: it registers and renews nothing until `session-keys-keeper \
				 resume`"
			);
			Ok(())
		}
		Command::Authorize {
			delegate,
			counterpart,
			max_collateral,
			max_spending_limit,
			max_total_collateral,
			max_duration,
			max_keys,
			ends_at,
			node,
		} => {
			let store = open(&cli)?;
			let signer = owner_only(&store, "authorize", "authorizeDelegate")?;
			let owner = signer.owner();
			let mut counterparts: Vec<AccountId> = Vec::new();
			for account in counterpart {
				if !counterparts.contains(account) {
					counterparts.push(account.clone());
				}
			}
			let terms = DelegateTerms {
				counterparts,
				max_collateral: *max_collateral,
				max_spending_limit: *max_spending_limit,
				max_total_collateral: *max_total_collateral,
				max_duration: *max_duration,
				max_keys: *max_keys,
				ends_at: *ends_at,
			};
			check_authorization(&owner, delegate, &terms)?;
			let client = Client::connect(&node.node).await?;
			if let Some(ends_at) = ends_at {
				let next = client.best_number().await?.saturating_add(1);
				if *ends_at <= next {
					return Err(CommandError::Invalid(format!(
						"--ends-at #{ends_at} is not after the next block (#{next})"
					)));
				}
			}
			let call = build::authorize_delegate(delegate.clone(), &terms)?;
			let included = signer.submit(&client, call, Wait::Finalized).await?;
			println!(
				"authorized {} as a delegate of {} in block #{}",
				delegate.to_ss58check(),
				owner.to_ss58check(),
				included.block_number
			);
			let delegation =
				client.delegation(&owner, delegate, At::Hash(included.block_hash)).await?;
			let block_ms = block_ms(&client).await;
			print_rows(&terms::status_rows(
				delegation.as_ref(),
				&owner,
				delegate,
				included.block_number,
				|blocks| about(u64::from(blocks) * block_ms),
			));
			println!(
				"on the keeper's machine: `session-keys-keeper owner import --file hot.key \
				 --delegate-of {}`",
				owner.to_ss58check()
			);
			Ok(())
		}
		Command::RevokeDelegate { delegate, close_keys, node } => {
			let store = open(&cli)?;
			let signer = owner_only(&store, "revoke-delegate", "revokeDelegate")?;
			let owner = signer.owner();
			let client = Client::connect(&node.node).await?;
			let call = build::revoke_delegate(delegate.clone(), *close_keys);
			let included = match signer.submit(&client, call, Wait::Finalized).await {
				Ok(included) => included,
				Err(error) if error.error_name() == Some("NotDelegate") => {
					return Err(CommandError::Invalid(format!(
						"{} is not a delegate of {}: never authorized, or revoked already",
						delegate.to_ss58check(),
						owner.to_ss58check()
					)))
				}
				Err(error) => return Err(error.into()),
			};
			let closed = included
				.adjudicator_events()
				.iter()
				.find_map(|event| match event {
					AdjudicatorEvent::DelegateRevoked { keys_closed, .. } => Some(*keys_closed),
					_ => None,
				})
				.unwrap_or(0);
			println!(
				"revoked the delegate {} of {} in block #{}: every call it makes for the owner is \
				 refused from now on",
				delegate.to_ss58check(),
				owner.to_ss58check(),
				included.block_number
			);
			if *close_keys {
				println!("revoked {closed} live key(s) it had registered");
			} else {
				println!(
					"the live keys it registered stay valid until they expire (`--close-keys` \
					 revokes them; the owner can also revoke them one by one)"
				);
			}
			Ok(())
		}
		Command::Resume => {
			let mut store = open(&cli)?;
			if store.pause_state()?.is_none() {
				println!("the keeper is not paused");
				return Ok(());
			}
			store.resume()?;
			println!("resumed: a running daemon makes new keys at its next block");
			Ok(())
		}
		Command::SignState { key, nonce, owed, margin, node } => {
			let store = open(&cli)?;
			let client = Client::connect(&node.node).await?;
			let stored = choose_key(&client, &store, key).await?;
			let pair = chain::pair_of(&store, &stored)?;
			let state = ChannelState::<Balance> { nonce: *nonce, owed: *owed, margin: *margin };
			let signature = pair.sign_state(client.genesis_hash(), &state);
			println!(
				"{{\"public\":\"{}\",\"nonce\":{nonce},\"owed\":\"{owed}\",\"margin\":\"{margin}\",\"signature\":\"{}\"}}",
				hex(&stored.public.encode()),
				hex(&signature.encode())
			);
			Ok(())
		}
		Command::Header { key, audience, request, data, data_file, nonce, node } => {
			let body = match (data, data_file) {
				(Some(data), _) => data.as_bytes().to_vec(),
				(None, Some(path)) => std::fs::read(path).map_err(|error| {
					CommandError::Invalid(format!("cannot read {}: {error}", path.display()))
				})?,
				(None, None) => Vec::new(),
			};
			let request = BoundRequest::parse(request, &body)
				.map_err(|error| CommandError::Invalid(format!("--request: {error}")))?;
			let store = open(&cli)?;
			let client = Client::connect(&node.node).await?;
			let stored = choose_key(&client, &store, key).await?;
			let owner = signer_owner(&store)?;
			let pair = chain::pair_of(&store, &stored)?;
			let nonce = nonce.unwrap_or_else(|| {
				std::time::SystemTime::now()
					.duration_since(std::time::UNIX_EPOCH)
					.map_or(0, |elapsed| elapsed.as_millis() as u64)
			});
			let header = pair.sign_header_v2(
				client.genesis_hash(),
				&HeaderRequestV2 {
					account: &owner,
					block_hash: client.header_block_hash().await?,
					nonce,
					audience: audience.as_bytes(),
					request: &request,
				},
			);
			println!("{}", encode_header_v2(&header));
			Ok(())
		}
	}
}

/// The refusal of a secret URI given as an argument (where only `-` is taken).
fn secret_on_command_line() -> CommandError {
	CommandError::Invalid(
		"`owner import` does not take the secret URI as an argument: `ps` and the shell's \
		 history would show it (treat one typed there as exposed). Give no argument to be \
		 prompted for it (not echoed), --file PATH to read it from a file, or --stdin (or `-`) to \
		 read it from standard input, e.g. `session-keys-keeper owner import --file hot.key`"
			.into(),
	)
}

/// The secret URI of `owner import`: from `file`, standard input (`stdin`), or a prompt that
/// does not echo. Surrounding whitespace (a file's or a pipe's newline) is not part of it.
fn read_secret_uri(
	file: Option<&std::path::Path>,
	stdin: bool,
) -> Result<Zeroizing<String>, CommandError> {
	let text = if let Some(file) = file {
		Zeroizing::new(std::fs::read_to_string(file).map_err(|error| {
			CommandError::Io(format!("cannot read {}: {error}", file.display()))
		})?)
	} else if stdin {
		let mut text = Zeroizing::new(String::new());
		std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
			.map_err(|error| CommandError::Io(format!("cannot read standard input: {error}")))?;
		text
	} else {
		Zeroizing::new(rpassword::prompt_password("Secret URI of the signing key: ").map_err(
			|error| {
				CommandError::Io(format!(
					"cannot prompt for the secret URI ({error}): give --file PATH or --stdin"
				))
			},
		)?)
	};
	let uri = Zeroizing::new(text.trim().to_string());
	if uri.is_empty() {
		return Err(CommandError::Invalid("the secret URI is empty".into()));
	}
	Ok(uri)
}

fn print_owner(record: &OwnerRecord) {
	match &record.delegate_of {
		None => println!("owner {} (its own key signs)", record.signer.to_ss58check()),
		Some(owner) => println!(
			"owner {}, signed for by its delegate {} (within the owner's terms on chain)",
			owner.to_ss58check(),
			record.signer.to_ss58check()
		),
	}
}

fn signer_of(store: &Store) -> Result<OwnerSigner, CommandError> {
	let (record, uri) = store.owner_secret()?;
	Ok(OwnerSigner::from_uri(&uri, record.delegate_of).map_err(KeeperError::from)?)
}

/// The store's signer, if it is the owner itself: `command` (the pallet's `call`) is the
/// owner's own, which no proxy or delegate may make.
fn owner_only(store: &Store, command: &str, call: &str) -> Result<OwnerSigner, CommandError> {
	let signer = signer_of(store)?;
	if let Some(owner) = signer.delegate_of() {
		return Err(CommandError::Invalid(format!(
			"`{command}` must be signed by the owner's own key, and this store holds the key of \
			 {}, a delegate of {}: run it where the owner's key is imported (without \
			 --delegate-of), or sign adjudicator.{call} as the owner in Polkadot-JS Apps \
			 (Developer > Extrinsics)",
			signer.signer().to_ss58check(),
			owner.to_ss58check()
		)));
	}
	Ok(signer)
}

/// What the chain would refuse of an authorization, said before anything is signed.
fn check_authorization(
	owner: &AccountId,
	delegate: &AccountId,
	terms: &DelegateTerms,
) -> Result<(), CommandError> {
	if delegate == owner {
		return Err(CommandError::Invalid(
			"the delegate is the owner itself: an owner is not its own delegate".into(),
		));
	}
	if terms.counterparts.contains(delegate) {
		return Err(CommandError::Invalid(
			"the delegate cannot be one of its own counterparts: it could then collect what the \
			 keys it registers owe"
				.into(),
		));
	}
	if terms.counterparts.contains(owner) {
		return Err(CommandError::Invalid(
			"the owner cannot be a counterpart of its own keys".into(),
		));
	}
	Ok(())
}

/// Which command checks a profile against the owner's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
	/// `profile add`: every term must allow a first key now.
	Add,
	/// `profile edit`: the profile's own terms must; a refusal for what the delegate's keys
	/// already hold (`maxKeys`, `maxTotalCollateral`, which the profile's own keys are part
	/// of) is only a warning, as it passes once keys settle.
	Edit,
}

/// Checks `profile` against the owner's terms on chain when the signer is a delegate.
async fn check_terms(
	record: Option<&OwnerRecord>,
	profile: &Profile,
	check: &TermsCheck,
	command: Check,
) -> Result<(), CommandError> {
	let Some((owner, delegate)) =
		record.and_then(|record| Some((record.delegate_of.as_ref()?, &record.signer)))
	else {
		return Ok(());
	};
	if check.offline {
		eprintln!(
			"note: --offline: the profile is not checked against the owner's terms (the chain \
			 refuses a registration outside them; `run` warns at start)"
		);
		return Ok(());
	}
	let client = Client::connect(&check.node.node).await.map_err(|error| {
		CommandError::Invalid(format!(
			"cannot read the owner's terms to check the profile against them: {error}. Start the \
			 node or give --node URL (or --offline to store the profile unchecked)"
		))
	})?;
	let at = client.resolve(At::Best).await?;
	// The first block a registration could be in.
	let next = client.block_number(at).await?.saturating_add(1);
	let delegation = client.delegation(owner, delegate, At::Hash(at)).await?;
	match terms::check_profile(delegation.as_ref(), owner, delegate, profile, next) {
		Ok(()) => {}
		Err(error) if command == Check::Edit && error.is_about_usage() => {
			eprintln!("warning: {error}; the daemon's next registration waits until it passes")
		}
		Err(error) => return Err(error.into()),
	}
	if command == Check::Add {
		if let Some(TermsError::Refused { refusal, detail }) =
			terms::rotation_refusal(delegation.as_ref(), owner, delegate, profile, next)
		{
			eprintln!(
				"warning: the owner's terms leave no room to rotate this profile's key (its \
				 successor is registered while it is live): {}: {detail}",
				refusal.term()
			);
		}
	}
	Ok(())
}

/// How `revoke-all` revoked the first time.
enum Swept {
	/// The owner's `revoke_all`, in this block.
	All(BlockNumber),
	/// A delegate's revocations, one by one.
	Each(Sweep),
}

/// The live keys of an owner a signer revoked, and those it may not revoke.
struct Sweep {
	/// Each key revoked, with its block.
	revoked: Vec<(SessionPublic, BlockNumber)>,
	/// Live keys a delegate did not register (the owner's own, or another delegate's).
	left: Vec<SessionPublic>,
}

/// Revokes every live key of `owner` that `signer` may revoke (a delegate: those it
/// registered), as the best block shows them.
async fn sweep(
	client: &Client,
	signer: &OwnerSigner,
	owner: &AccountId,
) -> Result<Sweep, CommandError> {
	let at = client.resolve(At::Best).await?;
	let now = client.block_number(at).await?;
	let mut sweep = Sweep { revoked: Vec::new(), left: Vec::new() };
	for public in client.keys_of(owner, At::Hash(at)).await? {
		let Some(registration) = client.registration(public, At::Hash(at)).await? else {
			continue;
		};
		// Closing already (revoked, or expired and in its window).
		if registration.revoked || now >= registration.expires_at {
			continue;
		}
		if signer.delegate_of().is_some() && registration.delegate != Some(signer.signer()) {
			sweep.left.push(public);
			continue;
		}
		match chain::revoke(client, signer, public, Wait::Finalized).await {
			Ok(included) => sweep.revoked.push((public, included.block_number)),
			// Closed meanwhile (it expired, or the owner revoked it).
			Err(KeeperError::Chain(error))
				if matches!(error.error_name(), Some("Expired" | "Revoked")) => {}
			Err(error) => return Err(error.into()),
		}
	}
	Ok(sweep)
}

/// Waits, for at most `limit`, until none of `account`'s extrinsics is in the node's pool
/// (its next nonce counting the pool is its nonce at the best block): whatever it had sent is
/// then in a block, or gone.
async fn wait_for_empty_pool(
	client: &Client,
	account: &AccountId,
	limit: std::time::Duration,
) -> Result<(), CommandError> {
	let key = frame_system::Account::<session_keys_runtime::Runtime>::hashed_key_for(account);
	type AccountInfo =
		frame_system::AccountInfo<session_keys_runtime::Nonce, session_keys_client::AccountData>;
	let deadline = tokio::time::Instant::now() + limit;
	loop {
		let in_pool = client.next_nonce(account).await?;
		let on_chain =
			client.storage::<AccountInfo>(&key, At::Best).await?.map_or(0, |info| info.nonce);
		if in_pool <= u64::from(on_chain) {
			return Ok(());
		}
		if tokio::time::Instant::now() >= deadline {
			eprintln!(
				"warning: an extrinsic of {} is still in the node's pool after {limit:?}: a \
				 registration among them may still land; check `status`",
				account.to_ss58check()
			);
			return Ok(());
		}
		tokio::time::sleep(std::time::Duration::from_millis(500)).await;
	}
}

fn signer_owner(store: &Store) -> Result<session_keys_client::AccountId, CommandError> {
	Ok(store.owner()?.ok_or(crate::store::StoreError::NoOwner)?.owner().clone())
}

/// The key `choice` names: a stored key, or the newest live key of a profile.
async fn choose_key(
	client: &Client,
	store: &Store,
	choice: &KeyChoice,
) -> Result<StoredKey, CommandError> {
	if let Some(prefix) = &choice.key {
		return Ok(store.find_key(prefix)?);
	}
	let name = choice.profile.as_deref().unwrap_or_default();
	store.profile(name)?;
	let at = client.resolve(At::Best).await?;
	let now = client.block_number(at).await?;
	let mut newest: Option<(BlockNumber, StoredKey)> = None;
	for key in store.open_keys(name)? {
		if let OnChain::Registered { registered_at, expires_at, .. } =
			chain::observe(client, key.public, at).await?
		{
			if now < expires_at && newest.as_ref().is_none_or(|(at, _)| registered_at >= *at) {
				newest = Some((registered_at, key));
			}
		}
	}
	newest.map(|(_, key)| key).ok_or_else(|| {
		CommandError::Invalid(format!("profile {name:?} has no live key now (is `run` running?)"))
	})
}

fn profile_of(args: &ProfileArgs) -> Result<Profile, CommandError> {
	let profile = Profile {
		name: args.name.clone(),
		counterpart: args.counterpart.clone(),
		duration: args.duration,
		spending_limit: args.spending_limit,
		collateral: args.collateral,
		scope: args.scope.iter().map(|item| item.as_bytes().to_vec()).collect(),
		description: args.description.clone(),
		crypto: args.crypto,
		renew_margin: args.renew_margin.unwrap_or(default_renew_margin(args.duration)),
		rotation_interval: args.rotation_interval.unwrap_or(args.duration),
	};
	checked(profile)
}

/// `profile` with `edit`'s changes. A renew margin or rotation interval left at its default
/// follows a new duration; one set by hand stays.
fn edited(profile: Profile, edit: &ProfileEdit) -> Result<Profile, CommandError> {
	let duration = edit.duration.unwrap_or(profile.duration);
	let renew_margin = match edit.renew_margin {
		Some(margin) => margin,
		// (A quarter of the duration was the default before the least margin was set.)
		None if profile.renew_margin == default_renew_margin(profile.duration)
			|| profile.renew_margin == profile.duration / 4 =>
		{
			default_renew_margin(duration)
		}
		None => profile.renew_margin,
	};
	let rotation_interval = match edit.rotation_interval {
		Some(interval) => interval,
		None if profile.rotation_interval == profile.duration => duration,
		None => profile.rotation_interval,
	};
	checked(Profile {
		counterpart: edit.counterpart.clone().unwrap_or(profile.counterpart),
		duration,
		spending_limit: edit.spending_limit.unwrap_or(profile.spending_limit),
		collateral: edit.collateral.unwrap_or(profile.collateral),
		scope: if edit.no_scope {
			Vec::new()
		} else if edit.scope.is_empty() {
			profile.scope
		} else {
			edit.scope.iter().map(|item| item.as_bytes().to_vec()).collect()
		},
		description: edit.description.clone().unwrap_or(profile.description),
		crypto: edit.crypto.unwrap_or(profile.crypto),
		renew_margin,
		rotation_interval,
		name: profile.name,
	})
}

/// A quarter of the duration, and at least [`MIN_RENEW_MARGIN`].
fn default_renew_margin(duration: BlockNumber) -> BlockNumber {
	(duration / 4).max(MIN_RENEW_MARGIN)
}

/// The least renew margin: the daemon plans at the finalized block, which trails the best block
/// by about two, and the renewal then needs a block to be included in before the key expires.
const MIN_RENEW_MARGIN: BlockNumber = 4;
/// The least duration: twice the least margin, so a key spends at least half its term before
/// it is due for renewal.
const MIN_DURATION: BlockNumber = 2 * MIN_RENEW_MARGIN;

/// `profile` if its settings leave no gap between keys.
fn checked(profile: Profile) -> Result<Profile, CommandError> {
	// A renewal takes a few blocks to be included: a shorter term or margin would leave gaps.
	if profile.duration < MIN_DURATION {
		return Err(CommandError::Invalid(format!(
			"--duration must be at least {MIN_DURATION} blocks"
		)));
	}
	if profile.renew_margin < MIN_RENEW_MARGIN {
		return Err(CommandError::Invalid(format!(
			"--renew-margin must be at least {MIN_RENEW_MARGIN} blocks (the daemon acts on \
			 finalized blocks, which trail the best block)"
		)));
	}
	if profile.renew_margin >= profile.duration {
		return Err(CommandError::Invalid(format!(
			"--renew-margin {} must be less than --duration {}",
			profile.renew_margin, profile.duration
		)));
	}
	if profile.rotation_interval == 0 {
		return Err(CommandError::Invalid("--rotation-interval must be at least one block".into()));
	}
	if profile.name.is_empty() {
		return Err(CommandError::Invalid("the profile needs a name".into()));
	}
	Ok(profile)
}

/// Waits until the daemon running on `store` has seen the pause (it then submits nothing),
/// for at most `limit`.
async fn wait_for_pause(store: &Store, limit: std::time::Duration) -> Result<(), CommandError> {
	eprintln!("a daemon runs on this store: waiting for it to pause");
	let deadline = tokio::time::Instant::now() + limit;
	loop {
		if store.pause_state()?.is_some_and(|pause| pause.seen) {
			eprintln!("the daemon has paused");
			return Ok(());
		}
		if tokio::time::Instant::now() >= deadline {
			eprintln!(
				"warning: the daemon has not paused within {limit:?} (is its node reachable?); \
				 revoking anyway. A registration it sent before the pause may still land: check \
				 `status` and stop the daemon if the keeper itself is compromised"
			);
			return Ok(());
		}
		tokio::time::sleep(std::time::Duration::from_millis(200)).await;
	}
}

/// Prints the stored keys as the chain shows them at the best block; fails, after the table,
/// naming every profile changed outside the keeper (and the owner record, if it was).
async fn status(client: &Client, store: &Store, all: bool) -> Result<(), CommandError> {
	let refused: Vec<_> = store.checked_profiles()?.into_iter().filter_map(Result::err).collect();
	let at = client.resolve(At::Best).await?;
	let now = client.block_number(at).await?;
	let block_ms = block_ms(client).await;
	if store.shared() {
		// (A short term: this lease is only read, never taken.)
		match store.lease("status", std::time::Duration::from_secs(1))?.current()? {
			Some(leader) if leader.lease_left_ms > 0 => println!(
				"leader {} (fencing token {}), its lease runs {} more ms",
				leader.holder, leader.token, leader.lease_left_ms
			),
			Some(leader) => println!(
				"no daemon leads: the lease of {} (fencing token {}) lapsed {} ms ago",
				leader.holder,
				leader.token,
				leader.lease_left_ms.saturating_neg()
			),
			None => println!("no daemon has led this store yet"),
		}
	}
	let mut rows =
		vec![row(&["PROFILE", "KEY", "PHASE", "EXPIRES", "COLLATERAL", "OWED", "CHECKPOINT"])];
	for key in store.keys()? {
		if !all && key.status == KeyStatus::Ended {
			continue;
		}
		let short = short_hex(&hex(&key.public.encode()));
		let row = match client.registration(key.public, At::Hash(at)).await? {
			Some(registration) => {
				let live = now < registration.expires_at;
				vec![
					key.profile.clone(),
					short,
					if live {
						"live".into()
					} else {
						format!(
							"closing ({})",
							if registration.revoked { "revoked" } else { "expired" }
						)
					},
					if live {
						format!(
							"#{} (in {})",
							registration.expires_at,
							about(u64::from(registration.expires_at - now) * block_ms)
						)
					} else {
						format!(
							"#{} (settles #{})",
							registration.expires_at, registration.settles_at
						)
					},
					registration.collateral.to_string(),
					registration.state.owed.to_string(),
					if registration.state.nonce == 0 {
						"-".into()
					} else {
						format!("nonce {}", registration.state.nonce)
					},
				]
			}
			None => match client.retired(key.public, At::Hash(at)).await? {
				Some(retired) => {
					if !all {
						continue;
					}
					vec![
						key.profile.clone(),
						short,
						format!("ended ({:?})", retired.reason),
						format!("#{}", retired.ended_at),
						"-".into(),
						retired.owed.to_string(),
						if retired.nonce == 0 {
							"-".into()
						} else {
							format!("nonce {}", retired.nonce)
						},
					]
				}
				None => vec![
					key.profile.clone(),
					short,
					"pending (not on chain)".into(),
					"-".into(),
					"-".into(),
					"-".into(),
					"-".into(),
				],
			},
		};
		rows.push(row);
	}
	println!("best block #{now}");
	if let Some(pause) = store.pause_state()? {
		println!(
			"paused (revoke-all) {} ago{}: nothing is registered or renewed until `resume`",
			about(u64::try_from(unix_now().saturating_sub(pause.since)).unwrap_or(0) * 1000),
			if pause.seen { ", seen by the daemon" } else { "" }
		);
	}
	print_table(&rows);
	// A delegate's terms, and how much of them its keys use.
	if let Some(record) = store.owner()? {
		if let Some(owner) = &record.delegate_of {
			let delegation = client.delegation(owner, &record.signer, At::Hash(at)).await?;
			println!();
			print_rows(&terms::status_rows(
				delegation.as_ref(),
				owner,
				&record.signer,
				now,
				|blocks| about(u64::from(blocks) * block_ms),
			));
		}
	}
	let mut refused = refused.into_iter();
	match refused.next() {
		None => Ok(()),
		Some(first) => {
			for other in refused {
				eprintln!("error: {other}");
			}
			Err(first.into())
		}
	}
}

/// About how long a block is, in milliseconds ([`chain::block_ms`]; 3 s if unknown).
async fn block_ms(client: &Client) -> u64 {
	chain::block_ms(client).await.unwrap_or(3000)
}

/// Prints `what: value` rows, the values aligned.
fn print_rows(rows: &[(&str, String)]) {
	let rows: Vec<Vec<String>> =
		rows.iter().map(|(what, value)| vec![format!("{what}:"), value.clone()]).collect();
	print_table(&rows);
}

fn short_hex(text: &str) -> String {
	if text.len() <= 18 {
		return text.into();
	}
	format!("{}…{}", &text[..12], &text[text.len() - 6..])
}

/// About how long `ms` is, for people.
fn about(ms: u64) -> String {
	let seconds = ms / 1000;
	match seconds {
		0..=119 => format!("{seconds} s"),
		120..=7199 => format!("{} min", seconds / 60),
		7200..=172_799 => format!("{} h", seconds / 3600),
		_ => format!("{} days", seconds / 86_400),
	}
}

fn row(cells: &[&str]) -> Vec<String> {
	cells.iter().map(|cell| cell.to_string()).collect()
}

fn print_table(rows: &[Vec<String>]) {
	let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
	let widths: Vec<usize> = (0..columns)
		.map(|column| {
			rows.iter()
				.filter_map(|row| row.get(column))
				.map(|cell| cell.chars().count())
				.max()
				.unwrap_or(0)
		})
		.collect();
	for row in rows {
		let line: Vec<String> =
			row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
		println!("{}", line.join("  ").trim_end());
	}
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
	let ctrl_c = tokio::signal::ctrl_c();
	#[cfg(unix)]
	{
		match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
			Ok(mut term) => {
				tokio::select! {
					_ = ctrl_c => {},
					_ = term.recv() => {},
				}
			}
			Err(_) => {
				let _ = ctrl_c.await;
			}
		}
	}
	#[cfg(not(unix))]
	{
		let _ = ctrl_c.await;
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn an_authorization_the_chain_would_refuse_is_refused_before_signing() {
		let (owner, delegate, bob) =
			(AccountId::from([1; 32]), AccountId::from([4; 32]), AccountId::from([2; 32]));
		let terms = |counterparts| DelegateTerms {
			counterparts,
			max_collateral: 1,
			max_spending_limit: 1,
			max_total_collateral: 1,
			max_duration: 10,
			max_keys: 1,
			ends_at: None,
		};
		assert!(check_authorization(&owner, &delegate, &terms(vec![bob.clone()])).is_ok());
		assert!(check_authorization(&owner, &owner, &terms(vec![bob.clone()])).is_err());
		assert!(
			check_authorization(&owner, &delegate, &terms(vec![bob, delegate.clone()])).is_err()
		);
		assert!(check_authorization(&owner, &delegate, &terms(vec![owner.clone()])).is_err());
	}

	#[test]
	fn durations_read_for_people() {
		assert_eq!(about(45_000), "45 s");
		assert_eq!(about(3_600_000), "60 min");
		assert_eq!(about(86_400_000), "24 h");
		assert_eq!(about(7 * 86_400_000), "7 days");
	}

	#[test]
	fn profile_settings_are_checked() {
		let args = |duration, renew_margin, rotation_interval| ProfileArgs {
			name: "api".into(),
			counterpart: session_keys_client::AccountId::from([2; 32]),
			duration,
			spending_limit: 0,
			collateral: 0,
			scope: vec!["GET /*".into()],
			description: String::new(),
			crypto: session_keys_client::CryptoKind::Sr25519,
			renew_margin,
			rotation_interval,
		};
		let profile = profile_of(&args(100, None, None)).unwrap();
		assert_eq!((profile.renew_margin, profile.rotation_interval), (25, 100));
		assert!(profile_of(&args(0, None, None)).is_err());
		assert!(profile_of(&args(7, None, None)).is_err());
		let shortest = profile_of(&args(8, None, None)).unwrap();
		assert_eq!(shortest.renew_margin, MIN_RENEW_MARGIN, "the default is at least the least");
		assert!(profile_of(&args(100, Some(MIN_RENEW_MARGIN - 1), None)).is_err());
		assert!(profile_of(&args(100, Some(MIN_RENEW_MARGIN), None)).is_ok());
		assert!(profile_of(&args(100, Some(0), None)).is_err());
		assert!(profile_of(&args(100, Some(100), None)).is_err());
		assert!(profile_of(&args(100, None, Some(0))).is_err());
	}

	fn no_change(name: &str) -> ProfileEdit {
		ProfileEdit {
			name: name.into(),
			counterpart: None,
			duration: None,
			spending_limit: None,
			collateral: None,
			scope: Vec::new(),
			no_scope: false,
			description: None,
			crypto: None,
			renew_margin: None,
			rotation_interval: None,
		}
	}

	fn base() -> Profile {
		Profile {
			name: "api".into(),
			counterpart: session_keys_client::AccountId::from([2; 32]),
			duration: 100,
			spending_limit: 1,
			collateral: 2,
			scope: vec![b"GET /*".to_vec()],
			description: "d".into(),
			crypto: session_keys_client::CryptoKind::Sr25519,
			renew_margin: 25,
			rotation_interval: 100,
		}
	}

	#[test]
	fn an_edit_changes_what_it_names_and_defaults_follow_the_duration() {
		assert_eq!(edited(base(), &no_change("api")).unwrap(), base());
		let longer = edited(base(), &ProfileEdit { duration: Some(400), ..no_change("api") });
		let longer = longer.unwrap();
		assert_eq!(
			(longer.duration, longer.renew_margin, longer.rotation_interval),
			(400, 100, 400)
		);
		// Settings made by hand stay when the duration changes.
		let by_hand = Profile { renew_margin: 10, rotation_interval: 50, ..base() };
		let edit = ProfileEdit { duration: Some(400), collateral: Some(9), ..no_change("api") };
		let longer = edited(by_hand, &edit).unwrap();
		assert_eq!(
			(
				longer.renew_margin,
				longer.rotation_interval,
				longer.collateral,
				longer.spending_limit
			),
			(10, 50, 9, 1)
		);
		let scope = edited(
			base(),
			&ProfileEdit { scope: vec!["*".into(), "POST /a".into()], ..no_change("api") },
		)
		.unwrap();
		assert_eq!(scope.scope, vec![b"*".to_vec(), b"POST /a".to_vec()]);
		let none = edited(base(), &ProfileEdit { no_scope: true, ..no_change("api") }).unwrap();
		assert!(none.scope.is_empty());
	}

	#[test]
	fn an_edit_that_would_leave_gaps_is_refused() {
		let edit = |edit: ProfileEdit| edited(base(), &edit);
		assert!(edit(ProfileEdit { duration: Some(3), ..no_change("api") }).is_err());
		assert!(edit(ProfileEdit { renew_margin: Some(100), ..no_change("api") }).is_err());
		assert!(edit(ProfileEdit { renew_margin: Some(0), ..no_change("api") }).is_err());
		assert!(edit(ProfileEdit { rotation_interval: Some(0), ..no_change("api") }).is_err());
		// A hand-set margin the shorter duration no longer leaves room for.
		let by_hand = Profile { renew_margin: 60, ..base() };
		assert!(edited(by_hand, &ProfileEdit { duration: Some(50), ..no_change("api") }).is_err());
	}

	#[test]
	fn a_profile_stored_with_the_old_default_margin_can_still_be_edited() {
		// Stored when the default was a quarter of the duration, with no least margin.
		let old = Profile { duration: 12, renew_margin: 3, rotation_interval: 12, ..base() };
		let edit = ProfileEdit { collateral: Some(9), ..no_change("api") };
		let mended = edited(old, &edit).unwrap();
		assert_eq!((mended.renew_margin, mended.collateral), (MIN_RENEW_MARGIN, 9));
	}
}
