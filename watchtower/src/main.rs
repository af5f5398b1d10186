//! `session-keys-watchtower`: see `session-keys-watchtower --help`.

use std::io::IsTerminal;

use clap::Parser;
use session_keys_watchtower::{cli::Cli, commands};

#[tokio::main]
async fn main() {
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
		)
		.with_writer(std::io::stderr)
		// Plain text when the log goes to a file (colour codes would break `grep`).
		.with_ansi(std::io::stderr().is_terminal())
		.init();
	let cli = Cli::parse();
	if let Err(error) = commands::run(cli).await {
		eprintln!("error: {error}");
		std::process::exit(1);
	}
}
