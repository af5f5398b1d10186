//! What the keeper reads from and sends to the chain: each stored key's state, the owner's
//! terms for a delegate, and the owner-side calls on a stored key (signed by the owner, or by
//! the delegate that registered it).

use session_keys_client::{
	build, At, BlockNumber, Client, CryptoKind, Delegation, Error as ClientError, Included,
	SessionPair, SessionPublic, Submitted, Terms, Wait,
};
use sp_core::H256;

use crate::{
	plan::{Observed, OnChain},
	signer::OwnerSigner,
	store::{Profile, Store, StoreError, StoredKey},
};

/// An error of a keeper command or step.
#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
	/// The store refused or failed.
	#[error(transparent)]
	Store(#[from] StoreError),
	/// The node or the chain refused or failed.
	#[error(transparent)]
	Chain(#[from] ClientError),
	/// A stored secret is not a key of its scheme.
	#[error("the stored secret of {0} is not a valid key")]
	BadSecret(String),
	/// The stored signing key does not parse.
	#[error(transparent)]
	Signer(#[from] crate::signer::SignerError),
}

/// What the chain shows of `public` at block `at`.
pub async fn observe(
	client: &Client,
	public: SessionPublic,
	at: H256,
) -> Result<OnChain, ClientError> {
	if let Some(registration) = client.registration(public, At::Hash(at)).await? {
		return Ok(OnChain::Registered {
			registered_at: registration.registered_at,
			expires_at: registration.expires_at,
			revoked: registration.revoked,
		});
	}
	Ok(match client.retired(public, At::Hash(at)).await? {
		Some(retired) => OnChain::Retired {
			registered_at: retired.registered_at,
			ended_at: retired.ended_at,
			reason: retired.reason,
		},
		None => OnChain::Unknown,
	})
}

/// Every open key of `profile` with what the chain shows of it at the finalized block
/// `finalized` and at the best block `best`.
pub async fn observe_profile(
	client: &Client,
	store: &Store,
	profile: &str,
	finalized: H256,
	best: H256,
) -> Result<Vec<Observed>, KeeperError> {
	let mut observed = Vec::new();
	for key in store.open_keys(profile)? {
		let at_finalized = observe(client, key.public, finalized).await?;
		let at_best = if best == finalized {
			at_finalized
		} else {
			observe(client, key.public, best).await?
		};
		observed.push(Observed { key, finalized: at_finalized, best: at_best });
	}
	Ok(observed)
}

/// The scheme of a public key.
pub fn kind_of(public: &SessionPublic) -> CryptoKind {
	match public {
		SessionPublic::Sr25519(_) => CryptoKind::Sr25519,
		SessionPublic::Ed25519(_) => CryptoKind::Ed25519,
		SessionPublic::Ecdsa(_) => CryptoKind::Ecdsa,
	}
}

/// The stored key's pair, from its opened secret (zeroized when dropped).
pub fn pair_of(store: &Store, key: &StoredKey) -> Result<SessionPair, KeeperError> {
	let secret = store.key_secret(key)?;
	SessionPair::from_secret(kind_of(&key.public), &secret)
		.map_err(|_| KeeperError::BadSecret(crate::store::hex(&codec::Encode::encode(&key.public))))
}

/// The registration terms of a profile's keys.
pub fn terms_of(profile: &Profile) -> Terms {
	Terms {
		counterpart: profile.counterpart.clone(),
		duration: Some(profile.duration),
		spending_limit: profile.spending_limit,
		collateral: profile.collateral,
		description: profile.description.clone().into_bytes(),
		scope: profile.scope.clone(),
	}
}

/// Sends the registration of stored key `key` for `profile`, with its ownership proof for the
/// owner (`register`, or a delegate's `register_for`); returns once the pool accepted it
/// ([`Client::wait`] follows it).
pub async fn send_register(
	client: &Client,
	signer: &OwnerSigner,
	store: &Store,
	profile: &Profile,
	key: &StoredKey,
) -> Result<Submitted, KeeperError> {
	let pair = pair_of(store, key)?;
	let proof = pair.ownership_proof(&signer.owner());
	let call = signer.register_call(pair.public(), proof, &terms_of(profile))?;
	Ok(signer.send(client, call).await?)
}

/// The owner's authorization of the signer, when the signer is a delegate (`None` for the
/// owner itself, and for a delegate the owner never authorized).
pub async fn delegation(
	client: &Client,
	signer: &OwnerSigner,
	at: At,
) -> Result<Option<Delegation>, ClientError> {
	match signer.delegate_of() {
		Some(owner) => client.delegation(owner, &signer.signer(), at).await,
		None => Ok(None),
	}
}

/// Whether the signer may renew and revoke registered key `public`: the owner may act on any of
/// its keys, a delegate only on those it registered (the chain refuses it the others,
/// `NotOwner`, at a fee). A key the chain does not show is left to the chain to judge.
pub async fn may_act_on(
	client: &Client,
	signer: &OwnerSigner,
	public: SessionPublic,
	at: At,
) -> Result<bool, ClientError> {
	if signer.delegate_of().is_none() {
		return Ok(true);
	}
	Ok(client
		.registration(public, at)
		.await?
		.is_none_or(|registration| registration.delegate == Some(signer.signer())))
}

/// Renews `public` for `duration` more blocks from its inclusion, waiting as `wait` says (the
/// daemon waits for a block of the best chain only: a refusal is then seen at once, and the
/// finalized block reconciles the rest).
pub async fn renew(
	client: &Client,
	signer: &OwnerSigner,
	public: SessionPublic,
	duration: BlockNumber,
	wait: Wait,
) -> Result<Included, KeeperError> {
	Ok(signer.submit(client, build::renew(public, Some(duration)), wait).await?)
}

/// Revokes `public` (a delegate revokes only the keys it registered), waiting as `wait` says.
pub async fn revoke(
	client: &Client,
	signer: &OwnerSigner,
	public: SessionPublic,
	wait: Wait,
) -> Result<Included, KeeperError> {
	Ok(signer.submit(client, build::revoke(public), wait).await?)
}

/// How long a block is, in milliseconds: twice `Timestamp.MinimumPeriod`; None if the chain
/// does not say.
pub async fn block_ms(client: &Client) -> Option<u64> {
	match client.constant::<u64>("Timestamp", "MinimumPeriod").await {
		Ok(period) if period > 0 => Some(period.saturating_mul(2)),
		_ => None,
	}
}
