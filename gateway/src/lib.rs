//! Session-key authentication and rate limiting for HTTP services (KIRA's KIP_9, Lit's
//! session signatures): a tower layer ([`SessionAuthLayer`]) for any axum / hyper / tonic
//! service, and the reverse proxy of the `session-keys-gateway` binary ([`proxy`]).
//!
//! Requests are authenticated **in the gateway**, not by the node per request: the header (the
//! client library's text form, version 2 unless the operator accepts version 1) is checked
//! with the runtime's own rule ([`session_keys_primitives::check_request`]) against the key's
//! record, read in one node call, cached and kept current from the adjudicator events of each
//! new block, and against the gateway's own ring of recent block hashes. The gateway fills in
//! the audience (its own name), the resource (`METHOD /path`), the canonical query and the
//! body's digest ([`session_keys_client::BoundRequest`]) rather than trusting the header's, so
//! a header is good for exactly the request it was signed for.
//!
//! # Modules
//!
//! - [`Gateway`]: the verification, caches and rate limits; [`follow`] keeps it current from a
//!   node;
//! - [`SessionAuthLayer`]: the tower layer; [`Refusal`]: each refusal and its HTTP answer;
//! - [`admission`]: rate limits and one-time headers, in memory or shared by replicas through
//!   Redis; [`verify`]: signatures verified in batches under load;
//! - [`meter`]: metered calls, paid by signed channel states handed to a watchtower;
//! - [`proxy`]: the reverse proxy; [`ui`]: the browser widget's files at `/ui/`; [`config`]:
//!   the binary's configuration.

pub mod admission;
mod cache;
pub mod chain;
pub mod config;
mod follow;
mod gateway;
mod layer;
pub mod limit;
pub mod meter;
pub mod metrics;
pub mod proxy;
mod refusal;
pub mod replay;
pub mod ring;
pub mod ui;
pub mod verify;

pub use chain::{Chain, ChainError, NodeChain};
pub use follow::follow;
pub use gateway::{
	AuthenticatedRequest, Gateway, HeaderVersion, Health, Inbound, NewBlock, Settings,
};
pub use layer::{AuthBody, PeerAddr, SessionAuth, SessionAuthLayer};
pub use limit::Tier;
pub use meter::{Meter, MeterSettings, PaymentRefusal};
pub use refusal::Refusal;
