//! The account that signs the watchtower's calls: the counterpart's own key, or a hot key the
//! counterpart made its `Counterpart` proxy (`proxy.add_proxy(hot, Counterpart, 0)`), which the
//! runtime lets make the adjudicator's counterpart calls (`checkpoint`, `liquidate`,
//! `discontinue`, `settle`, `claim_payment`) and nothing else.

use std::str::FromStr;

use session_keys_client::{AccountId, Client, Included, Submitted, Wait};
use session_keys_runtime::{configs::ProxyType, RuntimeCall};
use subxt_signer::{sr25519::Keypair, SecretUri};

/// Why a signing key could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
	/// The secret URI does not parse or derive.
	#[error(
		"not a valid sr25519 secret URI (a mnemonic, a 0x seed, or //Bob on a dev chain): {0}"
	)]
	InvalidUri(String),
	/// The secret is not UTF-8.
	#[error("the secret is not UTF-8 text")]
	NotText,
	/// The proxy is the counterpart itself.
	#[error("the key is the counterpart's own: drop --proxy-of")]
	ProxyIsCounterpart,
}

/// Signs for the counterpart.
pub struct CounterpartSigner {
	keypair: Keypair,
	proxy_of: Option<AccountId>,
	/// One submission reaches the pool at a time, so each takes the next account nonce.
	sending: tokio::sync::Mutex<()>,
}

impl CounterpartSigner {
	/// The key of `secret_uri`; `proxy_of`: the counterpart it is a `Counterpart` proxy of, if it
	/// is not the counterpart's own key.
	pub fn from_uri(secret_uri: &[u8], proxy_of: Option<AccountId>) -> Result<Self, SignerError> {
		let text = std::str::from_utf8(secret_uri).map_err(|_| SignerError::NotText)?;
		let uri = SecretUri::from_str(text.trim())
			.map_err(|error| SignerError::InvalidUri(error.to_string()))?;
		let keypair =
			Keypair::from_uri(&uri).map_err(|error| SignerError::InvalidUri(error.to_string()))?;
		let signer = Self { keypair, proxy_of, sending: Default::default() };
		if signer.proxy_of.as_ref() == Some(&signer.signer()) {
			return Err(SignerError::ProxyIsCounterpart);
		}
		Ok(signer)
	}

	/// The account that signs the extrinsics (and pays their fees).
	pub fn signer(&self) -> AccountId {
		session_keys_client::account_of(&self.keypair)
	}

	/// The counterpart the calls act for.
	pub fn counterpart(&self) -> AccountId {
		self.proxy_of.clone().unwrap_or_else(|| self.signer())
	}

	/// Whether calls go through `proxy.proxy`.
	pub fn via_proxy(&self) -> bool {
		self.proxy_of.is_some()
	}

	/// `call` as the signer submits it: itself, or wrapped in `proxy.proxy(counterpart,
	/// Counterpart, call)`.
	pub fn wrap(&self, call: RuntimeCall) -> RuntimeCall {
		match &self.proxy_of {
			None => call,
			Some(real) => RuntimeCall::Proxy(pallet_proxy::Call::proxy {
				real: real.clone().into(),
				force_proxy_type: Some(ProxyType::Counterpart),
				call: Box::new(call),
			}),
		}
	}

	/// Signs `call` (wrapped as [`CounterpartSigner::wrap`] says) and hands it to the pool.
	pub async fn send(
		&self,
		client: &Client,
		call: RuntimeCall,
	) -> session_keys_client::Result<Submitted> {
		let _one_at_a_time = self.sending.lock().await;
		client.send(&self.keypair, self.wrap(call), None).await
	}

	/// Signs, submits and waits for `call`.
	pub async fn submit(
		&self,
		client: &Client,
		call: RuntimeCall,
		wait: Wait,
	) -> session_keys_client::Result<Included> {
		let submitted = self.send(client, call).await?;
		client.wait(submitted, wait).await
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use codec::Encode;
	use session_keys_client::build;

	#[test]
	fn a_proxy_wraps_its_calls_for_the_counterpart_and_the_key_does_not() {
		let public =
			session_keys_client::SessionPair::generate(session_keys_client::CryptoKind::Sr25519)
				.public();
		let bob = CounterpartSigner::from_uri(b"//Bob", None).unwrap();
		assert_eq!(bob.counterpart(), bob.signer());
		assert_eq!(bob.wrap(build::liquidate(public)).encode(), build::liquidate(public).encode());
		let hot = CounterpartSigner::from_uri(b"//Bob//hot\n", Some(bob.signer())).unwrap();
		assert_eq!(hot.counterpart(), bob.signer());
		assert_ne!(hot.signer(), bob.signer());
		let RuntimeCall::Proxy(pallet_proxy::Call::proxy { real, force_proxy_type, call }) =
			hot.wrap(build::liquidate(public))
		else {
			panic!("a proxy call")
		};
		assert_eq!(real, bob.signer().into());
		assert_eq!(force_proxy_type, Some(ProxyType::Counterpart));
		assert_eq!(call.encode(), build::liquidate(public).encode());
		assert!(matches!(
			CounterpartSigner::from_uri(b"//Bob", Some(bob.signer())),
			Err(SignerError::ProxyIsCounterpart)
		));
		assert!(matches!(
			CounterpartSigner::from_uri(b"not a uri at all", None),
			Err(SignerError::InvalidUri(_))
		));
	}
}
