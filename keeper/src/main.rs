//! `session-keys-keeper`: keeps the owner's profiles covered by live session keys. See
//! `--help`.

use std::process::ExitCode;

use clap::Parser;
use session_keys_keeper::{cli::Cli, commands};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
	tracing_subscriber::fmt()
		.with_env_filter(
			EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
		)
		.with_writer(std::io::stderr)
		.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
		.init();
	match commands::execute(Cli::parse()).await {
		Ok(()) => ExitCode::SUCCESS,
		Err(error) => {
			eprintln!("error: {error}");
			ExitCode::FAILURE
		}
	}
}
