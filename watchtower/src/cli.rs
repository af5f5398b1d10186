//! The command line of `session-keys-watchtower`.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Parser, Subcommand};
use session_keys_client::{Balance, BlockNumber};

use crate::plan::Liquidation;

/// The environment variable holding the store's passphrase.
pub const PASSPHRASE_ENV: &str = "SESSION_KEYS_WATCHTOWER_PASSPHRASE";
/// The environment variable holding the signing key's secret URI for `init`.
pub const SECRET_ENV: &str = "SESSION_KEYS_WATCHTOWER_SECRET";

/// The counterpart's watchtower for the session-key adjudicator: takes signed channel states,
/// stores the newest of each key durably, and checkpoints it on chain before the key's closing
/// window ends, with no human action.
#[derive(Debug, Parser)]
#[command(
	name = "session-keys-watchtower",
	version,
	after_help = "Examples:
  session-keys-watchtower init                        # seals the counterpart's key (prompted)
  session-keys-watchtower run --listen 127.0.0.1:8090 # takes states, watches, checkpoints
  session-keys-watchtower status                      # keys, newest states, windows open
  session-keys-watchtower export > states.jsonl       # every newest state, signed

The passphrase comes from --passphrase-file, else SESSION_KEYS_WATCHTOWER_PASSPHRASE, else a prompt."
)]
pub struct Cli {
	/// The store (SQLite file).
	#[arg(
		long,
		env = "SESSION_KEYS_WATCHTOWER_STORE",
		default_value = "session-keys-watchtower.db",
		global = true
	)]
	pub store: PathBuf,
	/// A file holding the store's passphrase (its trailing newline is not part of it).
	#[arg(long, env = "SESSION_KEYS_WATCHTOWER_PASSPHRASE_FILE", global = true)]
	pub passphrase_file: Option<PathBuf>,
	/// The node's RPC URL.
	#[arg(long, env = "SESSION_KEYS_NODE", default_value = "ws://127.0.0.1:9944", global = true)]
	pub node: String,
	/// The command.
	#[command(subcommand)]
	pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
	/// Creates a store holding the signing key, sealed under a passphrase (asked twice).
	///
	/// The key's secret URI (a mnemonic, a 0x seed, or //Bob on a dev chain) comes from
	/// --secret-file, else SESSION_KEYS_WATCHTOWER_SECRET, else a prompt.
	#[command(after_help = "Examples:
  session-keys-watchtower --store bob.db init                      # Bob's own key
  session-keys-watchtower --store bob.db init --secret-file key.txt
  # A hot key acting for Bob through his Counterpart proxy (Bob first calls
  # proxy.add_proxy(HOT, Counterpart, 0)):
  session-keys-watchtower --store hot.db init --proxy-of 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty")]
	Init {
		/// The key is a `Counterpart` proxy of this account (SS58), not the counterpart's own.
		#[arg(long)]
		proxy_of: Option<String>,
		/// A file holding the key's secret URI.
		#[arg(long)]
		secret_file: Option<PathBuf>,
		/// Argon2id memory cost in KiB (at least 19456; the default is 65536).
		#[arg(long, default_value_t = 64 * 1024)]
		kdf_memory_kib: u32,
	},
	/// Takes states over HTTP, watches the chain and checkpoints, liquidates and settles.
	#[command(after_help = "Examples:
  session-keys-watchtower run
  session-keys-watchtower run --listen 0.0.0.0:8090 --safety-margin 5
  session-keys-watchtower run --unbanked-threshold 1000000000000 --checkpoint-interval 600
  session-keys-watchtower run --liquidate after:20   # 20 blocks for the owner to top up
  curl -s localhost:8090/metrics | grep session_keys_watchtower_")]
	Run {
		/// Where the HTTP API (POST /v1/states, GET /v1/states/KEY, /metrics, /healthz)
		/// listens.
		#[arg(long, default_value = "127.0.0.1:8090")]
		listen: SocketAddr,
		/// Alert when fewer blocks than this are left before settles_at and the newest state is
		/// not on chain.
		#[arg(long, default_value_t = 3)]
		safety_margin: BlockNumber,
		/// Checkpoint a live key's newer state this many blocks before it expires (or before a
		/// limit decrease the state exceeds applies).
		#[arg(long, default_value_t = 5)]
		expiry_margin: BlockNumber,
		/// Checkpoint once the newest state owes this much more than the chain's (planck).
		#[arg(long)]
		unbanked_threshold: Option<Balance>,
		/// At most one such checkpoint per key every this many blocks.
		#[arg(long, default_value_t = 100)]
		checkpoint_interval: BlockNumber,
		/// When to liquidate an under-collateralized session: never, now, or after:N blocks.
		#[arg(long, default_value = "never")]
		liquidate: Liquidation,
		/// Rows kept in the audit log.
		#[arg(long, default_value_t = crate::store::DEFAULT_AUDIT_LIMIT)]
		audit_limit: u64,
	},
	/// Shows every key held: its newest state, what is on chain, the unbanked owed, the phase
	/// and the blocks left in an open window.
	#[command(after_help = "Examples:
  session-keys-watchtower status
  session-keys-watchtower status --all --json")]
	Status {
		/// Keys whose session ended too.
		#[arg(long)]
		all: bool,
		/// JSON, one object per key.
		#[arg(long)]
		json: bool,
	},
	/// Ends a session at once as its counterpart, settling at the state checkpointed: the newest
	/// state held here is checkpointed first if the chain's is older.
	#[command(after_help = "Examples:
  session-keys-watchtower discontinue 0x00d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")]
	Discontinue {
		/// The session key, 0x-hex of its SCALE encoding (as status shows it).
		key: String,
	},
	/// Liquidates an under-collateralized session (its checkpointed state needs more than the
	/// collateral): the newest state held here is checkpointed first if the chain's is older.
	#[command(after_help = "Examples:
  session-keys-watchtower liquidate 0x00d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")]
	Liquidate {
		/// The session key, 0x-hex of its SCALE encoding.
		key: String,
	},
	/// Writes every newest state held (signed, ready for `checkpoint` anywhere) as JSON lines,
	/// or the audit log.
	#[command(after_help = "Examples:
  session-keys-watchtower export > states.jsonl
  session-keys-watchtower export --all
  session-keys-watchtower export --audit 100")]
	Export {
		/// States of ended sessions too.
		#[arg(long)]
		all: bool,
		/// The newest N rows of the audit log instead.
		#[arg(long)]
		audit: Option<u64>,
	},
}

#[cfg(test)]
mod tests {
	use super::*;
	use clap::CommandFactory;

	#[test]
	fn the_command_line_is_consistent_and_every_command_has_examples() {
		Cli::command().debug_assert();
		for command in Cli::command().get_subcommands() {
			let help = command.get_after_help().map(|h| h.to_string()).unwrap_or_default();
			assert!(help.contains("Examples:"), "{} has no examples", command.get_name());
		}
		let cli = Cli::try_parse_from([
			"session-keys-watchtower",
			"run",
			"--liquidate",
			"after:20",
			"--unbanked-threshold",
			"1000",
		])
		.unwrap();
		let Command::Run { liquidate, unbanked_threshold, .. } = cli.command else { panic!("run") };
		assert_eq!((liquidate, unbanked_threshold), (Liquidation::AfterBlocks(20), Some(1000)));
		assert!(
			Cli::try_parse_from(["session-keys-watchtower", "run", "--liquidate", "soon"]).is_err()
		);
	}
}
