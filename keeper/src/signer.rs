//! The account that signs the keeper's calls: the owner itself, or the owner's *delegate* (a hot
//! account the owner authorized on chain with `authorize_delegate`, within terms the owner set).
//!
//! A delegate registers with `register_for(owner, ..)` (the key's ownership proof made for the
//! owner) and renews and revokes the keys it made with the plain calls, signed by itself: the
//! pallet accepts a key's recorded delegate as their signer. Nothing is wrapped in a proxy.

use std::str::FromStr;

use session_keys_client::{
	build, AccountId, Client, Included, SessionPublic, Submitted, Terms, Wait,
};
use session_keys_runtime::RuntimeCall;
use subxt_signer::{sr25519::Keypair, SecretUri};

/// Why a signing key could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
	/// The secret URI does not parse or derive.
	#[error(
		"not a valid sr25519 secret URI (a mnemonic, a 0x seed, or //Alice on a dev chain): {0}"
	)]
	InvalidUri(String),
	/// The key is the owner's own: it cannot be its own delegate.
	#[error(
		"the key is {0} itself: an owner is not its own delegate (import it without --delegate-of)"
	)]
	DelegateIsOwner(String),
}

/// Signs the keeper's calls for the owner.
pub struct OwnerSigner {
	keypair: Keypair,
	delegate_of: Option<AccountId>,
}

impl OwnerSigner {
	/// The key of `secret_uri`; `delegate_of`: the owner it is a delegate of, if it is not the
	/// owner.
	pub fn from_uri(secret_uri: &str, delegate_of: Option<AccountId>) -> Result<Self, SignerError> {
		let uri = SecretUri::from_str(secret_uri)
			.map_err(|error| SignerError::InvalidUri(error.to_string()))?;
		let keypair =
			Keypair::from_uri(&uri).map_err(|error| SignerError::InvalidUri(error.to_string()))?;
		let signer = Self { keypair, delegate_of };
		if signer.delegate_of.as_ref() == Some(&signer.signer()) {
			use sp_core::crypto::Ss58Codec;
			return Err(SignerError::DelegateIsOwner(signer.signer().to_ss58check()));
		}
		Ok(signer)
	}

	/// The account that signs.
	pub fn signer(&self) -> AccountId {
		session_keys_client::account_of(&self.keypair)
	}

	/// The account that owns the session keys.
	pub fn owner(&self) -> AccountId {
		self.delegate_of.clone().unwrap_or_else(|| self.signer())
	}

	/// The owner, when the signer is its delegate.
	pub fn delegate_of(&self) -> Option<&AccountId> {
		self.delegate_of.as_ref()
	}

	/// The registration of `public` with `terms`: `register` for the owner, `register_for(owner,
	/// ..)` for a delegate. `proof` is the key's ownership proof for the owner either way.
	pub fn register_call(
		&self,
		public: SessionPublic,
		proof: Vec<u8>,
		terms: &Terms,
	) -> session_keys_client::Result<RuntimeCall> {
		match &self.delegate_of {
			None => build::register(public, proof, terms),
			Some(owner) => build::register_for(owner.clone(), public, proof, terms),
		}
	}

	/// Signs, submits and waits for `call` (a plain call: a delegate signs its own).
	pub async fn submit(
		&self,
		client: &Client,
		call: RuntimeCall,
		wait: Wait,
	) -> session_keys_client::Result<Included> {
		client.submit(&self.keypair, call, wait).await
	}

	/// Signs `call` and hands it to the pool, without waiting for a block: [`Client::wait`]
	/// follows it.
	pub async fn send(
		&self,
		client: &Client,
		call: RuntimeCall,
	) -> session_keys_client::Result<Submitted> {
		client.send(&self.keypair, call, None).await
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn terms() -> Terms {
		Terms {
			counterpart: AccountId::from([2; 32]),
			duration: Some(100),
			spending_limit: 1,
			collateral: 1,
			description: Vec::new(),
			scope: Vec::new(),
		}
	}

	#[test]
	fn a_delegate_registers_for_its_owner_and_the_owner_for_itself() {
		use codec::Encode;
		let public =
			session_keys_client::SessionPair::generate(session_keys_client::CryptoKind::Sr25519)
				.public();
		let alice = OwnerSigner::from_uri("//Alice", None).unwrap();
		assert_eq!(alice.owner(), alice.signer());
		assert_eq!(
			alice.register_call(public, vec![0; 64], &terms()).unwrap().encode(),
			build::register(public, vec![0; 64], &terms()).unwrap().encode()
		);
		let dave = OwnerSigner::from_uri("//Dave", Some(alice.signer())).unwrap();
		assert_eq!(dave.owner(), alice.signer());
		assert_ne!(dave.signer(), alice.signer());
		assert_eq!(
			dave.register_call(public, vec![0; 64], &terms()).unwrap().encode(),
			build::register_for(alice.signer(), public, vec![0; 64], &terms()).unwrap().encode()
		);
	}

	#[test]
	fn an_owner_is_not_its_own_delegate() {
		let alice = OwnerSigner::from_uri("//Alice", None).unwrap().signer();
		assert!(matches!(
			OwnerSigner::from_uri("//Alice", Some(alice)),
			Err(SignerError::DelegateIsOwner(_))
		));
	}
}
