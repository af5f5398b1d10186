//! The account that signs the keeper's calls: the owner itself, or the owner's proxy (a hot
//! account the owner granted `ProxyType::SessionKeys`), whose calls are wrapped in
//! `proxy.proxy(owner, ..)`.

use std::str::FromStr;

use session_keys_client::{AccountId, Client, Included, Submitted, Wait};
use session_keys_runtime::{configs::ProxyType, RuntimeCall};
use subxt_signer::{sr25519::Keypair, SecretUri};

/// Why a signing key could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
	/// The secret URI does not parse or derive.
	#[error(
		"not a valid sr25519 secret URI (a mnemonic, a 0x seed, or //Alice on a dev chain): {0}"
	)]
	InvalidUri(String),
}

/// Signs the keeper's calls for the owner.
pub struct OwnerSigner {
	keypair: Keypair,
	proxy_of: Option<AccountId>,
}

impl OwnerSigner {
	/// The key of `secret_uri`; `proxy_of`: the owner it is a proxy of, if it is not the owner.
	pub fn from_uri(secret_uri: &str, proxy_of: Option<AccountId>) -> Result<Self, SignerError> {
		let uri = SecretUri::from_str(secret_uri)
			.map_err(|error| SignerError::InvalidUri(error.to_string()))?;
		let keypair =
			Keypair::from_uri(&uri).map_err(|error| SignerError::InvalidUri(error.to_string()))?;
		Ok(Self { keypair, proxy_of })
	}

	/// The account that signs.
	pub fn signer(&self) -> AccountId {
		session_keys_client::account_of(&self.keypair)
	}

	/// The account that owns the session keys.
	pub fn owner(&self) -> AccountId {
		self.proxy_of.clone().unwrap_or_else(|| self.signer())
	}

	/// The owner, when the signer is its proxy.
	pub fn proxy_of(&self) -> Option<&AccountId> {
		self.proxy_of.as_ref()
	}

	/// `call` as the signer submits it: wrapped in `proxy.proxy` for a proxy.
	pub fn wrap(&self, call: RuntimeCall) -> RuntimeCall {
		match &self.proxy_of {
			None => call,
			Some(owner) => RuntimeCall::Proxy(pallet_proxy::Call::proxy {
				real: owner.clone().into(),
				force_proxy_type: Some(ProxyType::SessionKeys),
				call: Box::new(call),
			}),
		}
	}

	/// Signs, submits and waits for `call` (wrapped for a proxy). A proxied call that fails
	/// comes back as the inner call's dispatch error, by name, as a direct one does.
	pub async fn submit(
		&self,
		client: &Client,
		call: RuntimeCall,
		wait: Wait,
	) -> session_keys_client::Result<Included> {
		client.submit(&self.keypair, self.wrap(call), wait).await
	}

	/// Signs `call` (wrapped for a proxy) and hands it to the pool, without waiting for a
	/// block: [`Client::wait`] follows it.
	pub async fn send(
		&self,
		client: &Client,
		call: RuntimeCall,
	) -> session_keys_client::Result<Submitted> {
		client.send(&self.keypair, self.wrap(call), None).await
	}
}
