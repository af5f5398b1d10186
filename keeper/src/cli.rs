//! The command line.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use session_keys_client::{AccountId, Balance, BlockNumber};
use session_keys_primitives::CryptoKind;

use crate::{daemon::HaltPoint, sealer::pkcs11::DEFAULT_KEY_LABEL};

/// The key keeper: keeps each profile covered by a live session key. It generates keys,
/// registers them with their ownership proofs, renews and rotates them without a gap, and
/// keeps every secret encrypted at rest in one SQLite file or a PostgreSQL database (Argon2id
/// and XChaCha20-Poly1305 under a passphrase, or AES-256-GCM inside a PKCS#11 token).
#[derive(Debug, Parser)]
#[command(name = "session-keys-keeper", version, after_help = EXAMPLES)]
pub struct Cli {
	/// The store: an SQLite file's path, or a PostgreSQL database's URL
	/// (`postgres://user@host:port/database`; its password from --store-password-file,
	/// $PGPASSWORD or ~/.pgpass, not the URL) [default: the user's data directory,
	/// session-keys-keeper/keeper.db].
	#[arg(long, global = true, value_name = "PATH|URL", env = "SESSION_KEYS_KEEPER_STORE")]
	pub store: Option<PathBuf>,
	/// Read the PostgreSQL store's password from this file (else $PGPASSWORD, else ~/.pgpass).
	#[arg(long, global = true, value_name = "FILE")]
	pub store_password_file: Option<PathBuf>,
	/// Read the passphrase from this file (else $SESSION_KEYS_KEEPER_PASSPHRASE, else a prompt).
	/// Prefer it for `run`: a passphrase in the environment stays readable in
	/// `/proc/<pid>/environ` for as long as the daemon runs.
	#[arg(long, global = true, value_name = "FILE")]
	pub passphrase_file: Option<PathBuf>,
	/// The PKCS#11 module (an absolute path) of the token that seals a new store (`init
	/// --sealer pkcs11`, `reseal --sealer pkcs11`). A store sealed in a token records it.
	#[arg(long, global = true, value_name = "PATH")]
	pub pkcs11_module: Option<PathBuf>,
	/// The token's label (`init --sealer pkcs11`, `reseal --sealer pkcs11`).
	#[arg(long, global = true, value_name = "LABEL")]
	pub pkcs11_token: Option<String>,
	/// The label of the token's AES sealing key; the HMAC key is labelled with it and `-mac`.
	/// `init` and `reseal` make them when absent.
	#[arg(long, global = true, value_name = "LABEL", default_value = DEFAULT_KEY_LABEL)]
	pub pkcs11_key: String,
	/// Read the token's PIN from this file (else $SESSION_KEYS_KEEPER_PKCS11_PIN, else a
	/// prompt), for a store sealed in a token.
	#[arg(long, global = true, value_name = "FILE")]
	pub pkcs11_pin_file: Option<PathBuf>,
	/// What to do.
	#[command(subcommand)]
	pub command: Command,
}

const EXAMPLES: &str = "\
Examples (a dev chain: scripts/dev.sh):
  session-keys-keeper --store k.db init
  echo //Alice | session-keys-keeper --store k.db owner import --stdin
  session-keys-keeper --store k.db profile add api --counterpart 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty
  session-keys-keeper --store k.db run --metrics 127.0.0.1:9615
  session-keys-keeper --store k.db status
  session-keys-keeper --store k.db header --profile api --audience api.example --request 'GET /orders/17?page=2'

A hot key bounded by the owner's terms (the owner's key stays on the owner's machine):
  session-keys-keeper --store owner.db authorize --delegate 5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy \\
    --counterpart 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty --max-collateral 5000000000000 \\
    --max-spending-limit 1000000000000 --max-total-collateral 15000000000000 --max-duration 28800 --max-keys 3
  session-keys-keeper --store hot.db owner import --file hot.key --delegate-of 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

/// What seals a store's secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SealerKind {
	/// A passphrase (Argon2id, XChaCha20-Poly1305).
	Passphrase,
	/// A PKCS#11 token (AES-256-GCM and HMAC-SHA256 inside it): --pkcs11-module,
	/// --pkcs11-token, --pkcs11-key, --pkcs11-pin-file.
	Pkcs11,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
	/// Create the store, sealed under a new passphrase, or (--sealer pkcs11) by keys in a
	/// PKCS#11 token, which are generated there if absent.
	#[command(after_help = "Examples:\n  \
		SESSION_KEYS_KEEPER_PASSPHRASE=… session-keys-keeper --store k.db init\n  \
		session-keys-keeper --store k.db --pkcs11-module /usr/lib/softhsm/libsofthsm2.so \\\n    \
		--pkcs11-token keeper --pkcs11-pin-file pin.txt init --sealer pkcs11")]
	Init {
		/// What seals the store.
		#[arg(long, value_enum, default_value_t = SealerKind::Passphrase)]
		sealer: SealerKind,
	},
	/// Write every row of the store, its secrets still sealed, to a new file: a backup, or a
	/// move to another backend (`import` it there). No passphrase is needed, and a daemon may
	/// run meanwhile (one snapshot is read).
	#[command(after_help = "Examples:\n  \
		session-keys-keeper --store k.db export --to keeper.export\n  \
		PGPASSWORD=… session-keys-keeper --store postgres://keeper@127.0.0.1/keeper export --to keeper.export")]
	Export {
		/// The new file (never overwritten).
		#[arg(long, value_name = "FILE")]
		to: PathBuf,
	},
	/// Make a new store from an `export` file, in one transaction, its secrets still sealed:
	/// it opens with what opened the exported store (the same passphrase, or token).
	#[command(after_help = "Examples (SQLite to PostgreSQL and back):\n  \
		session-keys-keeper --store k.db export --to keeper.export\n  \
		session-keys-keeper --store postgres://keeper@127.0.0.1/keeper --store-password-file pg.pw \\\n    \
		import --from keeper.export\n  \
		session-keys-keeper --store k2.db import --from keeper.export")]
	Import {
		/// The file `export` wrote.
		#[arg(long, value_name = "FILE")]
		from: PathBuf,
	},
	/// Re-seal every secret under a new passphrase (from --new-passphrase-file,
	/// $SESSION_KEYS_KEEPER_NEW_PASSPHRASE or a prompt), in one transaction.
	#[command(
		after_help = "Example:\n  session-keys-keeper change-passphrase --new-passphrase-file new.txt"
	)]
	ChangePassphrase {
		/// Read the new passphrase from this file.
		#[arg(long, value_name = "FILE")]
		new_passphrase_file: Option<PathBuf>,
	},
	/// Move every secret to another sealer, in one transaction: a new passphrase, or keys in a
	/// PKCS#11 token (--pkcs11-module, --pkcs11-token, --pkcs11-key; generated there if
	/// absent, the token's PIN read as --pkcs11-pin-file says).
	#[command(after_help = "Examples:\n  \
		session-keys-keeper --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pkcs11-token keeper \\\n    \
		--pkcs11-pin-file pin.txt reseal --sealer pkcs11\n  \
		session-keys-keeper --pkcs11-pin-file pin.txt reseal --sealer passphrase --new-passphrase-file new.txt")]
	Reseal {
		/// What seals the store from now on.
		#[arg(long, value_enum)]
		sealer: SealerKind,
		/// Read the new passphrase from this file (--sealer passphrase).
		#[arg(long, value_name = "FILE")]
		new_passphrase_file: Option<PathBuf>,
	},
	/// The key that signs the keeper's calls.
	#[command(
		subcommand,
		after_help = "Examples:\n  session-keys-keeper owner import            # prompts, no echo\n  \
		session-keys-keeper owner show"
	)]
	Owner(OwnerCommand),
	/// What the keeper keeps covered.
	#[command(
		subcommand,
		after_help = "Examples:\n  session-keys-keeper profile add api --counterpart \
		5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty\n  session-keys-keeper profile list"
	)]
	Profile(ProfileCommand),
	/// The daemon: keep every profile covered by a live key, following finalized blocks.
	#[command(
		after_help = "Example:\n  session-keys-keeper run --node ws://127.0.0.1:9944 --metrics 127.0.0.1:9615\n\n\
		Logs go to stderr (RUST_LOG=debug for more). Ctrl-C or SIGTERM stops it between steps."
	)]
	Run {
		/// The node.
		#[command(flatten)]
		node: NodeArg,
		/// Serve Prometheus metrics at http://ADDR/metrics.
		#[arg(long, value_name = "ADDR")]
		metrics: Option<SocketAddr>,
		/// How often to look for a new finalized block, in milliseconds.
		#[arg(long, value_name = "MS", default_value_t = 1000)]
		poll_ms: u64,
		/// On a PostgreSQL store several daemons may run, in failover: one leads and acts, the
		/// others stand by. The leader holds a lease of this many milliseconds (by the
		/// database's clock), extended every third of it; a standby takes over once it lapses.
		#[arg(long, value_name = "MS", default_value_t = 6000, value_parser = clap::value_parser!(u64).range(1000..=600_000))]
		lease_ms: u64,
		/// Stop at this point and wait to be killed (for the crash tests).
		#[arg(long, hide = true, value_enum)]
		halt_after: Option<HaltPoint>,
	},
	/// A table of the stored keys as the chain shows them; with a delegate's key, also the
	/// owner's terms and how much of them the delegate's keys use.
	#[command(after_help = "Example:\n  session-keys-keeper status --all")]
	Status {
		/// The node.
		#[command(flatten)]
		node: NodeArg,
		/// Include ended keys.
		#[arg(long)]
		all: bool,
	},
	/// Revoke one stored key (a prefix of its hex is enough).
	#[command(after_help = "Example:\n  session-keys-keeper revoke 0x00d43593")]
	Revoke {
		/// The key: `0x`-hex of its public key, or a unique prefix.
		key: String,
		/// The node.
		#[command(flatten)]
		node: NodeArg,
	},
	/// Revoke every live key of the owner: the compromise button. The keeper is paused first
	/// (a running daemon registers and renews nothing more) until `resume`. With a delegate's
	/// key, every live key the delegate registered for the owner, one by one.
	#[command(after_help = "Example:\n  session-keys-keeper revoke-all\n  \
		session-keys-keeper resume   # later: new keys again")]
	RevokeAll {
		/// The node.
		#[command(flatten)]
		node: NodeArg,
		/// How long to wait for a running daemon to pause before revoking anyway, in seconds.
		#[arg(long, value_name = "SECONDS", default_value_t = 60)]
		wait_daemon: u64,
	},
	/// Lift the pause of `revoke-all`: the daemon covers every profile with new keys again.
	#[command(after_help = "Example:\n  session-keys-keeper resume")]
	Resume,
	/// The owner's side: authorize a delegate (a keeper's hot key) to register and manage
	/// session keys for the owner within these terms, or replace its terms. Signed by the
	/// owner's own key (imported without --delegate-of): no proxy or delegate can do this.
	#[command(after_help = "Example (on the owner's machine, the owner's key imported):\n  \
		session-keys-keeper authorize --delegate 5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy \\\n    \
		--counterpart 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty --max-collateral 5000000000000 \\\n    \
		--max-spending-limit 1000000000000 --max-total-collateral 15000000000000 \\\n    \
		--max-duration 28800 --max-keys 3 --ends-at 5000000\n\n\
		The keeper rotates a key by registering its successor while it is live, and a revoked key \
		counts until it settles: leave room for about three keys per profile in --max-keys and \
		--max-total-collateral. Running it again replaces the terms at once.")]
	Authorize {
		/// The delegate (SS58 or 0x-hex account): the keeper's hot key.
		#[arg(long, value_name = "ACCOUNT", value_parser = parse_account)]
		delegate: AccountId,
		/// A counterpart the delegate may name in a registration (repeat for more).
		#[arg(long, value_name = "ACCOUNT", value_parser = parse_account, required = true)]
		counterpart: Vec<AccountId>,
		/// The most collateral one key may hold.
		#[arg(long, value_name = "AMOUNT")]
		max_collateral: Balance,
		/// The highest spending limit one key may have.
		#[arg(long, value_name = "AMOUNT")]
		max_spending_limit: Balance,
		/// The most collateral the delegate's live and closing keys may hold in total.
		#[arg(long, value_name = "AMOUNT")]
		max_total_collateral: Balance,
		/// The longest duration of a registration or renewal, in blocks.
		#[arg(long, value_name = "BLOCKS")]
		max_duration: BlockNumber,
		/// The most live and closing keys the delegate may have at once.
		#[arg(long, value_name = "COUNT")]
		max_keys: u32,
		/// The first block at which the authorization no longer holds [default: it does not
		/// end].
		#[arg(long, value_name = "BLOCK")]
		ends_at: Option<BlockNumber>,
		/// The node.
		#[command(flatten)]
		node: NodeArg,
	},
	/// The owner's side: revoke a delegate's authorization at once (every call it makes for
	/// the owner is refused from the next block), and with --close-keys revoke every live key
	/// it made. Signed by the owner's own key.
	#[command(after_help = "Example (on the owner's machine, the owner's key imported):\n  \
		session-keys-keeper revoke-delegate 5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy --close-keys")]
	RevokeDelegate {
		/// The delegate (SS58 or 0x-hex account).
		#[arg(value_name = "ACCOUNT", value_parser = parse_account)]
		delegate: AccountId,
		/// Also revoke every live key the delegate made (they close as with `revoke`).
		#[arg(long)]
		close_keys: bool,
		/// The node.
		#[command(flatten)]
		node: NodeArg,
	},
	/// Print a channel state signed by a stored key (JSON), for the counterpart.
	#[command(
		after_help = "Example:\n  session-keys-keeper sign-state --profile api --nonce 3 --owed 1500"
	)]
	SignState {
		/// The key that signs.
		#[command(flatten)]
		key: KeyChoice,
		/// The state's nonce (strictly increasing).
		#[arg(long)]
		nonce: u64,
		/// What the owner owes in total.
		#[arg(long)]
		owed: Balance,
		/// Collateral the open positions require.
		#[arg(long, default_value_t = 0)]
		margin: Balance,
		/// The node.
		#[command(flatten)]
		node: NodeArg,
	},
	/// Print an `x-session-auth` header value (version 2) signed by a stored key, for scripts
	/// and curl. It binds the method, the path, the query and the body: send exactly that
	/// request with it.
	#[command(
		after_help = "Examples:\n  curl -H \"x-session-auth: $(session-keys-keeper header --profile api \\\n    \
		--audience api.example --request 'GET /orders/17?page=2')\" \\\n    \
		'http://127.0.0.1:8080/orders/17?page=2'\n  curl -H \"x-session-auth: $(session-keys-keeper header --profile api \\\n    \
		--audience api.example --request 'POST /orders' --data '{\"qty\":1}')\" \\\n    \
		-H 'content-type: application/json' --data '{\"qty\":1}' http://127.0.0.1:8080/orders"
	)]
	Header {
		/// The key that signs.
		#[command(flatten)]
		key: KeyChoice,
		/// The service the request is for (the gateway's --audience).
		#[arg(long)]
		audience: String,
		/// The request: `METHOD /path`, with its query if it has one (`GET /orders?page=2`).
		#[arg(long)]
		request: String,
		/// The request's body, as sent [default: empty].
		#[arg(long, conflicts_with = "data_file")]
		data: Option<String>,
		/// A file holding the request's body, as sent.
		#[arg(long, value_name = "FILE")]
		data_file: Option<std::path::PathBuf>,
		/// The header's nonce [default: the current time in milliseconds].
		#[arg(long)]
		nonce: Option<u64>,
		/// The node.
		#[command(flatten)]
		node: NodeArg,
	},
}

/// The signing key's commands.
#[derive(Debug, Subcommand)]
pub enum OwnerCommand {
	/// Store the signing key: the owner's, or (with --delegate-of) a hot key the owner
	/// authorized as its delegate (`authorize`, run where the owner's key lives).
	///
	/// The secret URI (a mnemonic, a 0x seed, or //Alice on a dev chain) is read from a prompt
	/// that does not echo, from a file (--file) or from standard input (--stdin, or `-`);
	/// never from the command line, where `ps` and the shell's history would show it.
	#[command(after_help = "Examples:\n  session-keys-keeper owner import\n  \
		session-keys-keeper owner import --file hot.key --delegate-of 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\n  \
		echo //Alice | session-keys-keeper owner import --stdin   # a dev chain's account\n\n\
		A delegate registers keys for the owner only within the owner's terms (counterparts, \
		bounds per key and in total, an end), and renews and revokes only the keys it registered.")]
	Import {
		/// `-` reads the secret URI from standard input (as --stdin). Nothing else is taken
		/// here: a secret on the command line shows in `ps` and the shell's history.
		#[arg(value_name = "-", hide_short_help = true)]
		source: Option<String>,
		/// Read the secret URI from this file.
		#[arg(long, value_name = "FILE", conflicts_with_all = ["source", "stdin"])]
		file: Option<PathBuf>,
		/// Read the secret URI from standard input (its first line).
		#[arg(long, conflicts_with = "source")]
		stdin: bool,
		/// The owner this key is a delegate of (the owner authorizes it with `authorize`).
		#[arg(long, value_name = "ACCOUNT", value_parser = parse_account)]
		delegate_of: Option<AccountId>,
	},
	/// Show the signing and owning accounts.
	#[command(after_help = "Example:\n  session-keys-keeper owner show")]
	Show,
}

/// The profiles' commands.
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
	/// Add a profile.
	///
	/// With a delegate's key (`owner import --delegate-of`), the profile is first checked
	/// against the owner's terms on chain (`--node`), and refused naming the term it is outside
	/// of.
	#[command(
		after_help = "Example:\n  session-keys-keeper profile add api --counterpart 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty \\\n    \
		--duration 28800 --collateral 1000000000000 --scope 'GET /*'"
	)]
	Add {
		/// The profile.
		#[command(flatten)]
		profile: ProfileArgs,
		/// Where the owner's terms are read (a delegate's only).
		#[command(flatten)]
		check: TermsCheck,
	},
	/// List the profiles.
	#[command(after_help = "Example:\n  session-keys-keeper profile list")]
	List,
	/// Change a profile's settings: keys registered from now on (a pending key's next try
	/// included) get the new terms, renewals the new duration.
	///
	/// With a delegate's key, the edited profile is checked against the owner's terms on chain
	/// first, as `profile add` does.
	#[command(
		after_help = "Examples:\n  session-keys-keeper profile edit api --duration 14400\n  \
		session-keys-keeper profile edit api --scope 'GET /*' --scope 'POST /orders'"
	)]
	Edit {
		/// The changes.
		#[command(flatten)]
		edit: ProfileEdit,
		/// Where the owner's terms are read (a delegate's only).
		#[command(flatten)]
		check: TermsCheck,
	},
	/// Remove a profile whose keys have all ended.
	#[command(after_help = "Example:\n  session-keys-keeper profile remove api")]
	Remove {
		/// The profile.
		name: String,
	},
}

/// A profile's settings.
#[derive(Debug, Args)]
pub struct ProfileArgs {
	/// The profile's name.
	pub name: String,
	/// The counterpart (SS58 or 0x-hex account).
	#[arg(long, value_parser = parse_account)]
	pub counterpart: AccountId,
	/// Each key's term, in blocks (at least 8) [default: a day of 3 s blocks].
	#[arg(long, default_value_t = 28_800)]
	pub duration: BlockNumber,
	/// Each session's spending limit.
	#[arg(long, default_value_t = 0)]
	pub spending_limit: Balance,
	/// Collateral held for each key.
	#[arg(long, default_value_t = 0)]
	pub collateral: Balance,
	/// A resource the keys may be used for (repeat; `*` for all).
	#[arg(long = "scope", value_name = "RESOURCE")]
	pub scope: Vec<String>,
	/// What the keys are for (registered as their description).
	#[arg(long, default_value = "")]
	pub description: String,
	/// The keys' scheme: sr25519, ed25519 or ecdsa.
	#[arg(long, value_enum, default_value_t = CryptoKind::Sr25519)]
	pub crypto: CryptoKind,
	/// Renew once fewer blocks than this are left (at least 4) [default: a quarter of the
	/// duration, at least 4].
	#[arg(long)]
	pub renew_margin: Option<BlockNumber>,
	/// Replace a key by a new one once it is this many blocks old [default: the duration].
	#[arg(long)]
	pub rotation_interval: Option<BlockNumber>,
}

/// The settings `profile edit` changes; the others stay.
#[derive(Debug, Args)]
pub struct ProfileEdit {
	/// The profile's name.
	pub name: String,
	/// The counterpart (SS58 or 0x-hex account).
	#[arg(long, value_parser = parse_account)]
	pub counterpart: Option<AccountId>,
	/// Each key's term, in blocks (a renew margin and rotation interval left at their defaults
	/// follow it).
	#[arg(long)]
	pub duration: Option<BlockNumber>,
	/// Each session's spending limit.
	#[arg(long)]
	pub spending_limit: Option<Balance>,
	/// Collateral held for each key.
	#[arg(long)]
	pub collateral: Option<Balance>,
	/// The resources the keys may be used for, replacing the old list (repeat).
	#[arg(long = "scope", value_name = "RESOURCE", conflicts_with = "no_scope")]
	pub scope: Vec<String>,
	/// Allow no resource at all.
	#[arg(long)]
	pub no_scope: bool,
	/// What the keys are for.
	#[arg(long)]
	pub description: Option<String>,
	/// The scheme of keys generated from now on: sr25519, ed25519 or ecdsa.
	#[arg(long, value_enum)]
	pub crypto: Option<CryptoKind>,
	/// Renew once fewer blocks than this are left.
	#[arg(long)]
	pub renew_margin: Option<BlockNumber>,
	/// Replace a key by a new one once it is this many blocks old.
	#[arg(long)]
	pub rotation_interval: Option<BlockNumber>,
}

/// The node to talk to.
#[derive(Debug, Args)]
pub struct NodeArg {
	/// The node's WebSocket URL.
	#[arg(long, default_value = "ws://127.0.0.1:9944", env = "SESSION_KEYS_NODE")]
	pub node: String,
}

/// Where `profile add` and `profile edit` read the owner's terms, for a delegate.
#[derive(Debug, Args)]
pub struct TermsCheck {
	/// The node.
	#[command(flatten)]
	pub node: NodeArg,
	/// Store the profile without checking it against the owner's terms (the node is not
	/// reachable): the chain still refuses a registration outside them, and `run` warns.
	#[arg(long)]
	pub offline: bool,
}

/// Which stored key signs.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct KeyChoice {
	/// The key (`0x`-hex or a unique prefix).
	#[arg(long)]
	pub key: Option<String>,
	/// The newest live key of this profile.
	#[arg(long)]
	pub profile: Option<String>,
}

/// An account in SS58 or `0x`-hex.
pub fn parse_account(text: &str) -> Result<AccountId, String> {
	use sp_core::crypto::Ss58Codec;
	if let Some(hex) = text.strip_prefix("0x") {
		let bytes: [u8; 32] = sp_core::bytes::from_hex(hex)
			.ok()
			.and_then(|bytes| bytes.try_into().ok())
			.ok_or_else(|| format!("`{text}` is not 32 bytes of hex"))?;
		return Ok(AccountId::from(bytes));
	}
	AccountId::from_ss58check(text)
		.map_err(|error| format!("`{text}` is not an SS58 account: {error:?}"))
}

#[cfg(test)]
mod tests {
	use clap::CommandFactory;

	use super::*;

	#[test]
	fn the_command_line_is_consistent() {
		Cli::command().debug_assert();
	}

	/// Every command's `--help` ends with an example of it.
	#[test]
	fn every_command_has_an_example() {
		fn check(command: &clap::Command, path: &str) {
			let help = command.get_after_help().map(|help| help.to_string()).unwrap_or_default();
			assert!(
				help.starts_with("Example") && help.contains("session-keys-keeper"),
				"`{path}` has no example in its --help"
			);
			for sub in command.get_subcommands().filter(|sub| sub.get_name() != "help") {
				check(sub, &format!("{path} {}", sub.get_name()));
			}
		}
		check(&Cli::command(), "session-keys-keeper");
	}

	/// The examples name the dev accounts they say: Alice the owner, Bob the counterpart, Dave
	/// the delegate.
	#[test]
	fn the_examples_name_the_dev_accounts() {
		use subxt_signer::sr25519::dev;
		let account = |text| parse_account(text).unwrap();
		let of = |pair: &subxt_signer::sr25519::Keypair| session_keys_client::account_of(pair);
		assert_eq!(account("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"), of(&dev::alice()));
		assert_eq!(account("5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"), of(&dev::bob()));
		assert_eq!(account("5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy"), of(&dev::dave()));
	}

	#[test]
	fn accounts_parse_in_ss58_and_hex() {
		let alice = parse_account("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY").unwrap();
		let hex = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
		assert_eq!(parse_account(hex).unwrap(), alice);
		assert!(parse_account("0xd435").is_err());
		assert!(parse_account("not an account").is_err());
	}
}
