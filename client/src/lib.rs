//! A Rust client library for the session-key adjudicator.
//!
//! Add it to a service that drives the adjudicator: it connects to a node (and reconnects when
//! the node goes away), submits the adjudicator's calls and waits for them, reads
//! registrations, retired records and balances, streams blocks with the adjudicator's events,
//! and makes session keys, ownership proofs, signed channel states and signed request headers
//! locally, exactly as the pallet and the runtime verify them.
//!
//! ```no_run
//! use session_keys_client::{
//!     At, BoundRequest, Client, CryptoKind, HeaderRequestV2, SessionPair, Terms, Wait,
//! };
//! use subxt_signer::sr25519::dev;
//!
//! # async fn run() -> Result<(), session_keys_client::Error> {
//! let client = Client::connect("ws://127.0.0.1:9944").await?;
//! let alice = dev::alice();
//! let owner = session_keys_client::account_of(&alice);
//! let key = SessionPair::generate(CryptoKind::Sr25519);
//! let terms = Terms {
//!     counterpart: session_keys_client::account_of(&dev::bob()),
//!     duration: None,
//!     spending_limit: 0,
//!     collateral: 0,
//!     description: b"api access".to_vec(),
//!     scope: vec![b"GET /orders/*".to_vec()],
//! };
//! client.register(&alice, key.public(), key.ownership_proof(&owner), &terms, Wait::Finalized).await?;
//! // A version 2 header binds the method, the path, the query and the body.
//! let request = BoundRequest::parse("GET /orders/17?page=2", b"").expect("a valid request");
//! let header = key.sign_header_v2(client.genesis_hash(), &HeaderRequestV2 {
//!     account: &owner,
//!     block_hash: client.header_block_hash().await?,
//!     nonce: 1,
//!     audience: b"api.example",
//!     request: &request,
//! });
//! assert!(client.authenticate_v2(&header).await?.is_ok());
//! # Ok(()) }
//! ```
//!
//! # Modules
//!
//! - [`Client`] (connection and reconnection), with the calls ([`calls`]), the reads
//!   ([`reads`]) and the block streams ([`blocks`]) as its methods;
//! - [`keys`]: local keys, proofs and signatures; [`header`]: the HTTP text form of a signed
//!   request header; [`request`]: what a version 2 header binds of an HTTP request;
//! - [`Error`]: one error type, with the dispatch error of a failed call by name.
//!
//! Types are this project's runtime's (`session-keys-runtime`): calls are built as its
//! `RuntimeCall` and events decoded as its `RuntimeEvent`, and subxt checks the call bytes
//! against the connected chain's metadata before it signs them. Limits that can differ between
//! chains (the challenge period, `MaxKeysPerOwner`, ...) are read from the connected chain
//! ([`Client::constant`]), not from the runtime compiled in. The runtime crate's build script
//! compiles the wasm runtime too; a service that depends on this library and does not need it
//! can skip that with `SKIP_WASM_BUILD=1`.

pub mod blocks;
pub mod calls;
mod connection;
mod error;
pub mod extensions;
pub mod header;
pub mod keys;
pub mod metered;
pub mod reads;
pub mod request;
pub mod state_header;
#[cfg(test)]
mod web_vectors;

pub use blocks::Block;
pub use calls::{adjudicator_events, build, Included, Signer, Submitted, Terms, Wait};
pub use connection::{Client, ConnectOptions};
pub use error::{AdjudicatorError, DispatchFailure, Error, Result};
pub use header::{
	decode_header, decode_header_v2, encode_header, encode_header_v2, parse_any_header,
	parse_header, AnyHeader, Header, HeaderFormatError, HeaderV2, HTTP_HEADER,
};
pub use keys::{HeaderRequest, HeaderRequestV2, KeyError, SessionPair};
pub use metered::{MeteredCall, MeteredSession};
pub use reads::{AccountData, At, Dated};
pub use request::{content_digest_header, resource_of, BoundRequest, RequestLineError};
pub use state_header::{StateHeader, StateHeaderError, STATE_HEADER};

pub use session_keys_primitives::{
	AuthError, Authenticated, ChannelState, CryptoKind, DelegateUsage, EndReason, KeyRequest,
	Phase, SessionPublic, SessionSignature, TermRefusal, WeakKey,
};
pub use session_keys_runtime::{AccountId, Balance, BlockNumber};

/// A registration (live or closing) in its plain form.
pub type Registration = session_keys_primitives::Registration<AccountId, Balance, BlockNumber>;
/// What the chain holds of a key: nothing, its registration or its retired record.
pub type KeyRecord = session_keys_primitives::KeyRecord<AccountId, Balance, BlockNumber>;
/// A retired record.
pub type Retired = session_keys_primitives::RetiredSession<AccountId, BlockNumber, Balance>;
/// What an owner allows a delegate, in its plain form.
pub type DelegateTerms =
	session_keys_primitives::PlainDelegateTerms<AccountId, Balance, BlockNumber>;
/// An owner's authorization of a delegate with what the delegate's keys use of it.
pub type Delegation = session_keys_primitives::Delegation<AccountId, Balance, BlockNumber>;
/// An event of the adjudicator.
pub type AdjudicatorEvent = pallet_session_keys::Event<session_keys_runtime::Runtime>;

/// The account of a subxt sr25519 key pair, as the runtime types it.
pub fn account_of(signer: &subxt_signer::sr25519::Keypair) -> AccountId {
	AccountId::from(signer.public_key().0)
}
