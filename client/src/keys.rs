//! Session keys made locally, their ownership proofs, and signatures over channel states and
//! request headers, exactly as the pallet and the runtime verify them.
//!
//! Keys come from the operating system's random source (sp-core's `Pair::generate`); no node
//! is involved and the secret never leaves the process unless the caller exports it
//! ([`SessionPair::secret`]) to seal it.

use codec::Encode;
use session_keys_primitives::{
	request_signing_payload, request_signing_payload_v2, ChannelState, CryptoKind, RequestBinding,
	RequestHeader, RequestHeaderV2, SessionPublic, SessionSignature,
};
use sp_core::{
	crypto::SecretStringError, ecdsa, ed25519, proof_of_possession::ProofOfPossessionGenerator,
	sr25519, Pair, H256,
};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{request::BoundRequest, AccountId, Balance};

/// A session key pair of any supported scheme.
///
/// Only the secret bytes are kept (zeroized on drop); the scheme's key pair is rebuilt from them
/// for each signature and dropped right after.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SessionPair {
	#[zeroize(skip)]
	kind: CryptoKind,
	#[zeroize(skip)]
	public: SessionPublic,
	/// sp-core's raw secret of the scheme: the 64-byte secret key for sr25519, the 32-byte seed
	/// for ed25519 and ecdsa.
	secret: Vec<u8>,
}

impl std::fmt::Debug for SessionPair {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("SessionPair").field("public", &self.public).finish_non_exhaustive()
	}
}

/// Why secret bytes or a secret URI do not make a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
	/// The bytes are not a secret of the scheme (wrong length or invalid).
	#[error("not a valid {0:?} secret")]
	InvalidSecret(CryptoKind),
	/// The secret URI (`//Alice`, a mnemonic, ...) is not valid.
	#[error("invalid secret URI: {0}")]
	InvalidUri(#[source] SecretStringError),
}

fn uri_error(error: SecretStringError) -> KeyError {
	KeyError::InvalidUri(error)
}

impl SessionPair {
	/// A new random key of `kind`, from the operating system's random source.
	pub fn generate(kind: CryptoKind) -> SessionPair {
		match kind {
			CryptoKind::Sr25519 => Self::from_generated(sr25519::Pair::generate()),
			CryptoKind::Ed25519 => Self::from_generated(ed25519::Pair::generate()),
			CryptoKind::Ecdsa => Self::from_generated(ecdsa::Pair::generate()),
		}
	}

	fn from_generated<P>((pair, mut seed): (P, P::Seed)) -> SessionPair
	where
		P: Pair,
		P::Public: Into<SessionPublic>,
		P::Seed: Zeroize,
	{
		seed.zeroize();
		Self::from_pair(&pair)
	}

	fn from_pair<P: Pair>(pair: &P) -> SessionPair
	where
		P::Public: Into<SessionPublic>,
	{
		let public: SessionPublic = pair.public().into();
		SessionPair { kind: public.kind(), public, secret: pair.to_raw_vec() }
	}

	/// The key of `kind` a secret URI stands for (`//Alice//session`, a mnemonic with a
	/// derivation path, ...): for development and tests, where both sides derive the same key.
	pub fn from_uri(kind: CryptoKind, uri: &str) -> Result<SessionPair, KeyError> {
		Ok(match kind {
			CryptoKind::Sr25519 => {
				Self::from_pair(&sr25519::Pair::from_string(uri, None).map_err(uri_error)?)
			}
			CryptoKind::Ed25519 => {
				Self::from_pair(&ed25519::Pair::from_string(uri, None).map_err(uri_error)?)
			}
			CryptoKind::Ecdsa => {
				Self::from_pair(&ecdsa::Pair::from_string(uri, None).map_err(uri_error)?)
			}
		})
	}

	/// Rebuilds a key from the bytes [`SessionPair::secret`] returned.
	pub fn from_secret(kind: CryptoKind, secret: &[u8]) -> Result<SessionPair, KeyError> {
		let invalid = |_| KeyError::InvalidSecret(kind);
		Ok(match kind {
			CryptoKind::Sr25519 => {
				Self::from_pair(&sr25519::Pair::from_seed_slice(secret).map_err(invalid)?)
			}
			CryptoKind::Ed25519 => {
				Self::from_pair(&ed25519::Pair::from_seed_slice(secret).map_err(invalid)?)
			}
			CryptoKind::Ecdsa => {
				Self::from_pair(&ecdsa::Pair::from_seed_slice(secret).map_err(invalid)?)
			}
		})
	}

	/// The secret bytes, to seal them (zeroized when the returned value drops).
	pub fn secret(&self) -> Zeroizing<Vec<u8>> {
		Zeroizing::new(self.secret.clone())
	}

	/// The scheme.
	pub fn kind(&self) -> CryptoKind {
		self.kind
	}

	/// The public key, as `register` takes it.
	pub fn public(&self) -> SessionPublic {
		self.public
	}

	/// Signs `message` with the key.
	pub fn sign(&self, message: &[u8]) -> SessionSignature {
		// The secret bytes came from the scheme's own `to_raw_vec`, so they always rebuild.
		match self.kind {
			CryptoKind::Sr25519 => {
				sr25519::Pair::from_seed_slice(&self.secret).map(|pair| pair.sign(message).into())
			}
			CryptoKind::Ed25519 => {
				ed25519::Pair::from_seed_slice(&self.secret).map(|pair| pair.sign(message).into())
			}
			CryptoKind::Ecdsa => {
				ecdsa::Pair::from_seed_slice(&self.secret).map(|pair| pair.sign(message).into())
			}
		}
		.expect("the secret was made by the scheme itself; qed")
	}

	/// The RFC-0048 ownership proof for `owner` (sp-core's proof of possession: the key's
	/// signature over `POP_` followed by the SCALE-encoded account), SCALE encoded, exactly as
	/// `register` and `rotate` take it.
	pub fn ownership_proof(&self, owner: &AccountId) -> Vec<u8> {
		let owner = owner.encode();
		match self.kind {
			CryptoKind::Sr25519 => sr25519::Pair::from_seed_slice(&self.secret)
				.map(|mut pair| pair.generate_proof_of_possession(&owner).encode()),
			CryptoKind::Ed25519 => ed25519::Pair::from_seed_slice(&self.secret)
				.map(|mut pair| pair.generate_proof_of_possession(&owner).encode()),
			CryptoKind::Ecdsa => ecdsa::Pair::from_seed_slice(&self.secret)
				.map(|mut pair| pair.generate_proof_of_possession(&owner).encode()),
		}
		.expect("the secret was made by the scheme itself; qed")
	}

	/// Signs a channel state for the chain with `genesis_hash`, as `checkpoint` verifies it.
	pub fn sign_state(
		&self,
		genesis_hash: H256,
		state: &ChannelState<Balance>,
	) -> SessionSignature {
		self.sign(&state.signing_payload(&genesis_hash, &self.public))
	}

	/// A version 2 request header for `request.account` (the key's owner) naming the recent
	/// block `request.block_hash`, bound to the request's resource, query and body, signed for
	/// the chain with `genesis_hash`, as the runtime's `authenticate_v2` and the gateway verify
	/// it.
	pub fn sign_header_v2(
		&self,
		genesis_hash: H256,
		request: &HeaderRequestV2<'_>,
	) -> RequestHeaderV2<AccountId, H256> {
		let bound = request.request;
		let payload = request_signing_payload_v2(
			&genesis_hash,
			&RequestBinding {
				account: request.account,
				block_hash: &request.block_hash,
				nonce: request.nonce,
				audience: request.audience,
				resource: &bound.resource,
				query: &bound.query,
				content_digest: &bound.content_digest,
			},
		);
		RequestHeaderV2 {
			public: self.public,
			account: request.account.clone(),
			block_hash: request.block_hash,
			nonce: request.nonce,
			audience: request.audience.to_vec(),
			resource: bound.resource.clone(),
			query: bound.query.clone(),
			content_digest: bound.content_digest,
			signature: self.sign(&payload),
		}
	}

	/// A request header for `account` (the key's owner) naming the recent block `block_hash`,
	/// signed for the chain with `genesis_hash`, as the runtime's `authenticate` and the
	/// gateway verify it.
	pub fn sign_header(
		&self,
		genesis_hash: H256,
		request: &HeaderRequest<'_>,
	) -> RequestHeader<AccountId, H256> {
		let payload = request_signing_payload(
			&genesis_hash,
			request.account,
			&request.block_hash,
			request.nonce,
			request.audience,
			request.resource,
		);
		RequestHeader {
			public: self.public,
			account: request.account.clone(),
			block_hash: request.block_hash,
			nonce: request.nonce,
			audience: request.audience.to_vec(),
			resource: request.resource.to_vec(),
			signature: self.sign(&payload),
		}
	}
}

/// What a version 2 request header says, before it is signed.
#[derive(Clone, Debug)]
pub struct HeaderRequestV2<'a> {
	/// The account the request acts for: the key's owner.
	pub account: &'a AccountId,
	/// A recent block's hash.
	pub block_hash: H256,
	/// A number not repeated while `block_hash` is fresh.
	pub nonce: u64,
	/// The service addressed.
	pub audience: &'a [u8],
	/// The request: its resource, canonical query and body digest.
	pub request: &'a BoundRequest,
}

/// What a request header says, before it is signed.
#[derive(Clone, Debug)]
pub struct HeaderRequest<'a> {
	/// The account the request acts for: the key's owner.
	pub account: &'a AccountId,
	/// A recent block's hash.
	pub block_hash: H256,
	/// A number not repeated while `block_hash` is fresh.
	pub nonce: u64,
	/// The service addressed.
	pub audience: &'a [u8],
	/// The resource asked for.
	pub resource: &'a [u8],
}
