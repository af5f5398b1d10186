//! The session-key adjudicator node: `--dev` for a one-validator dev chain, `--chain local` with
//! `--alice` .. `--dave` for the four-validator local testnet.

// `sc_cli::Error` and `sc_service::Error` are large, and sc-cli's runner dictates the signatures
// that return them (the polkadot-sdk node templates allow this lint too).
#![allow(clippy::result_large_err)]

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
