//! The session-key adjudicator node: `--dev` for a one-validator dev chain, `--chain local` with
//! `--alice` .. `--dave` for the four-validator local testnet.

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
