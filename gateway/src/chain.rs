//! What the gateway reads from the chain, behind a trait so that the verification can be run
//! against any source of the same records (the node, or a runtime in a test).

use std::{future::Future, sync::OnceLock};

use session_keys_client::{AccountId, AdjudicatorEvent, At, Balance, Client, KeyRecord};
use session_keys_primitives::SessionPublic;
use sp_core::H256;

/// A read from the chain that failed (the node is unreachable, say).
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct ChainError(pub String);

/// The reads the gateway makes, each at a definite block.
pub trait Chain: Send + Sync + 'static {
	/// What the chain holds of `public` at block `at` (one read: the runtime API's
	/// `key_state`).
	fn key(
		&self,
		public: SessionPublic,
		at: H256,
	) -> impl Future<Output = Result<KeyRecord, ChainError>> + Send;

	/// The free balance of `owner` at block `at`.
	fn free_balance(
		&self,
		owner: AccountId,
		at: H256,
	) -> impl Future<Output = Result<Balance, ChainError>> + Send;
}

/// A shared source reads as the source itself.
impl<T: Chain> Chain for std::sync::Arc<T> {
	fn key(
		&self,
		public: SessionPublic,
		at: H256,
	) -> impl Future<Output = Result<KeyRecord, ChainError>> + Send {
		(**self).key(public, at)
	}

	fn free_balance(
		&self,
		owner: AccountId,
		at: H256,
	) -> impl Future<Output = Result<Balance, ChainError>> + Send {
		(**self).free_balance(owner, at)
	}
}

/// The chain through a node, once [`NodeChain::connected`] has a client.
#[derive(Default)]
pub struct NodeChain {
	client: OnceLock<Client>,
}

impl NodeChain {
	/// A source with no connection yet: every read fails until [`NodeChain::set_client`].
	pub fn new() -> Self {
		Self::default()
	}

	/// Uses `client` for every read from now on (the first client set stays).
	pub fn set_client(&self, client: Client) -> &Client {
		let _ = self.client.set(client);
		self.client.get().expect("set just above")
	}

	/// The client, once connected.
	pub fn connected(&self) -> Option<&Client> {
		self.client.get()
	}

	fn client(&self) -> Result<&Client, ChainError> {
		self.connected().ok_or_else(|| ChainError("not connected to the node yet".into()))
	}
}

fn chain_error(error: session_keys_client::Error) -> ChainError {
	ChainError(error.to_string())
}

impl Chain for NodeChain {
	/// One node read: `sessionKeys_keyState` (runtime API version 5).
	async fn key(&self, public: SessionPublic, at: H256) -> Result<KeyRecord, ChainError> {
		self.client()?.key_state(public, At::Hash(at)).await.map_err(chain_error)
	}

	async fn free_balance(&self, owner: AccountId, at: H256) -> Result<Balance, ChainError> {
		self.client()?.free_balance(&owner, At::Hash(at)).await.map_err(chain_error)
	}
}

/// The keys an adjudicator event changes the state of: registration, renewal, rotation (both
/// keys), closing and the end of a session. Other events leave what `authenticate` checks as
/// it was.
pub fn keys_changed_by(event: &AdjudicatorEvent) -> Vec<SessionPublic> {
	use pallet_session_keys::Event;
	match event {
		Event::SessionRegistered { public, .. }
		| Event::SessionRenewed { public, .. }
		| Event::SessionClosing { public, .. }
		| Event::SessionEnded { public, .. } => vec![*public],
		Event::SessionRotated { old, new, .. } => vec![*old, *new],
		_ => Vec::new(),
	}
}

#[cfg(test)]
pub(crate) mod tests {
	use super::*;
	use session_keys_client::{BlockNumber, ChannelState, Registration};
	use session_keys_primitives::KeyView;

	pub(crate) fn registration(expires_at: BlockNumber, revoked: bool) -> Registration {
		Registration {
			owner: AccountId::new([1; 32]),
			counterpart: AccountId::new([2; 32]),
			delegate: None,
			registered_at: 1,
			expires_at,
			settles_at: expires_at + 10,
			revoked,
			duration: 10,
			spending_limit: 0,
			pending_limit: None,
			collateral: 0,
			deposit: 0,
			description: Vec::new(),
			scope: vec![b"*".to_vec()],
			state: ChannelState { nonce: 0, owed: 0, margin: 0 },
		}
	}

	#[test]
	fn a_registration_is_live_until_its_expiry_block_and_closing_from_it() {
		let state = KeyRecord::Registered(registration(10, false));
		assert!(matches!(state.view(9), KeyView::Live { .. }));
		assert_eq!(state.view(10), KeyView::Closing { revoked: false });
		let revoked = KeyRecord::Registered(registration(10, true));
		assert_eq!(revoked.view(10), KeyView::Closing { revoked: true });
		assert_eq!(KeyRecord::Unknown.view(1), KeyView::Unknown);
	}
}
