//! `sessionKeys_*`: generate a session key with its ownership proof (unsafe, like
//! `author_rotateKeys`), query registrations, and authenticate signed request headers.
//!
//! Keys, proofs and headers travel as hex-encoded SCALE (`0x...`), exactly the bytes that
//! extrinsics and the runtime API take; accounts as SS58 strings. Every bad parameter gets a
//! JSON-RPC error with a message, never a panic.

use codec::{Decode, Encode};
use jsonrpsee::{
	core::RpcResult,
	proc_macros::rpc,
	types::{error::ErrorObjectOwned, ErrorObject},
	Extensions,
};
use sc_rpc_api::check_if_safe;
use serde::{Deserialize, Serialize};
use session_keys_primitives::{CryptoKind, Phase, RequestHeader, SessionKeysApi, SessionPublic};
use session_keys_runtime::{opaque::Block, AccountId, Balance, BlockNumber, Hash};
use sp_api::{ApiExt, ProvideRuntimeApi};
use sp_blockchain::HeaderBackend;
use sp_core::Bytes;
use sp_keystore::{KeystoreExt, KeystorePtr};
use std::sync::Arc;

/// Invalid parameters (JSON-RPC -32602).
const INVALID_PARAMS: i32 = -32602;
/// The runtime call failed.
const RUNTIME_ERROR: i32 = 1;

fn invalid(message: impl Into<String>) -> ErrorObjectOwned {
	ErrorObject::owned(INVALID_PARAMS, message.into(), None::<()>)
}

fn runtime(error: impl std::fmt::Display) -> ErrorObjectOwned {
	ErrorObject::owned(RUNTIME_ERROR, format!("runtime call failed: {error}"), None::<()>)
}

fn decode<T: Decode>(what: &str, bytes: &Bytes) -> RpcResult<T> {
	T::decode(&mut &bytes[..]).map_err(|e| invalid(format!("{what}: not valid SCALE ({e})")))
}

/// A generated key and its proof.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedKey {
	/// SCALE of the `SessionPublic`, as `register` takes it.
	pub public: Bytes,
	/// The ownership proof, as `register` takes it.
	pub proof: Bytes,
}

/// A registration, live or closing.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationJson {
	/// The owner (SS58).
	pub owner: AccountId,
	/// The counterpart (SS58).
	pub counterpart: AccountId,
	/// First valid block.
	pub registered_at: BlockNumber,
	/// First block no longer valid (the revocation block of a revoked key).
	pub expires_at: BlockNumber,
	/// The block whose `on_initialize` settles the session: `expiresAt` plus the challenge
	/// period.
	pub settles_at: BlockNumber,
	/// `Live`, or `Closing` (the key expired or was revoked; see `closingReason`).
	pub phase: String,
	/// While closing: how the session will end, `Expired` or `Revoked`.
	pub closing_reason: Option<String>,
	/// The spending limit that applies at the queried block, as a decimal string (u128).
	pub spending_limit: String,
	/// A lower limit waiting for the challenge period, as a decimal string.
	pub pending_limit: Option<String>,
	/// The first block the pending limit applies at.
	pub pending_limit_applies_at: Option<BlockNumber>,
	/// Held collateral, as a decimal string.
	pub collateral: String,
	/// Description bytes.
	pub description: Bytes,
	/// Scope items.
	pub scope: Vec<Bytes>,
	/// Nonce of the last checkpointed state.
	pub nonce: u64,
	/// Owed by the last checkpointed state, as a decimal string.
	pub owed: String,
}

/// A retired record.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RetiredJson {
	/// The owner (SS58).
	pub owner: AccountId,
	/// The counterpart (SS58).
	pub counterpart: AccountId,
	/// First valid block.
	pub registered_at: BlockNumber,
	/// First block no longer valid.
	pub ended_at: BlockNumber,
	/// Why it ended: `Expired`, `Revoked`, `Rotated`, `Discontinued` or `Liquidated`.
	pub reason: String,
	/// Final nonce.
	pub nonce: u64,
	/// Final owed, as a decimal string.
	pub owed: String,
}

/// The answer to `sessionKeys_authenticate`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationJson {
	/// Whether the header is accepted.
	pub accepted: bool,
	/// Why not, when refused (e.g. `StaleBlockHash`, `KeyRevoked`, `KeyEnded(Revoked)`).
	pub reason: Option<String>,
	/// The owner, when accepted.
	pub owner: Option<AccountId>,
	/// The counterpart, when accepted.
	pub counterpart: Option<AccountId>,
	/// The key's expiry block, when accepted.
	pub expires_at: Option<BlockNumber>,
	/// The owner's free balance (decimal string), when accepted.
	pub free_balance: Option<String>,
}

/// The `sessionKeys` RPC namespace.
#[rpc(server, namespace = "sessionKeys")]
pub trait SessionKeysApiRpc {
	/// Generates a session key (`crypto`: `sr25519`, `ed25519` or `ecdsa`) in this node's
	/// keystore and its ownership proof for `owner`. Unsafe: refused unless called from
	/// localhost or with `--rpc-methods unsafe`.
	#[method(name = "generate", with_extensions)]
	fn generate(
		&self,
		owner: AccountId,
		crypto: String,
		seed: Option<String>,
	) -> RpcResult<GeneratedKey>;

	/// The registration (live or closing) of a key (hex SCALE `SessionPublic`), if any.
	#[method(name = "registration")]
	fn registration(&self, public: Bytes, at: Option<Hash>) -> RpcResult<Option<RegistrationJson>>;

	/// The retired record of a key, if its session ended.
	#[method(name = "retired")]
	fn retired(&self, public: Bytes, at: Option<Hash>) -> RpcResult<Option<RetiredJson>>;

	/// The live keys of an owner, each as hex SCALE `SessionPublic`.
	#[method(name = "keysOf")]
	fn keys_of(&self, owner: AccountId, at: Option<Hash>) -> RpcResult<Vec<Bytes>>;

	/// Authenticates a request header (hex SCALE `RequestHeader`) at the best block or `at`.
	#[method(name = "authenticate")]
	fn authenticate(&self, header: Bytes, at: Option<Hash>) -> RpcResult<AuthenticationJson>;
}

/// Implementation of the `sessionKeys` namespace.
pub struct SessionKeysRpc<C> {
	client: Arc<C>,
	keystore: KeystorePtr,
}

impl<C> SessionKeysRpc<C> {
	/// A new handler over `client` and the node's `keystore`.
	pub fn new(client: Arc<C>, keystore: KeystorePtr) -> Self {
		Self { client, keystore }
	}
}

/// The RPC server trait, under a name that does not clash with the runtime API.
pub use SessionKeysApiRpcServer as SessionKeysRpcServer;

fn parse_crypto(crypto: &str) -> RpcResult<CryptoKind> {
	match crypto.to_ascii_lowercase().as_str() {
		"sr25519" => Ok(CryptoKind::Sr25519),
		"ed25519" => Ok(CryptoKind::Ed25519),
		"ecdsa" => Ok(CryptoKind::Ecdsa),
		other => Err(invalid(format!("crypto `{other}`: expected sr25519, ed25519 or ecdsa"))),
	}
}

impl<C> SessionKeysApiRpcServer for SessionKeysRpc<C>
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: SessionKeysApi<Block, AccountId, Balance, BlockNumber>,
{
	fn generate(
		&self,
		ext: &Extensions,
		owner: AccountId,
		crypto: String,
		seed: Option<String>,
	) -> RpcResult<GeneratedKey> {
		check_if_safe(ext)?;
		let crypto = parse_crypto(&crypto)?;
		let best = self.client.info().best_hash;
		let mut api = self.client.runtime_api();
		api.register_extension(KeystoreExt::from(self.keystore.clone()));
		let key = api
			.generate_session_key(best, owner, crypto, seed.map(String::into_bytes))
			.map_err(runtime)?
			.ok_or_else(|| runtime("the keystore could not make the proof"))?;
		Ok(GeneratedKey { public: key.public.encode().into(), proof: key.proof.into() })
	}

	fn registration(&self, public: Bytes, at: Option<Hash>) -> RpcResult<Option<RegistrationJson>> {
		let public: SessionPublic = decode("public", &public)?;
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		let found = self.client.runtime_api().registration(at, public).map_err(runtime)?;
		Ok(found.map(|r| RegistrationJson {
			owner: r.owner,
			counterpart: r.counterpart,
			registered_at: r.registered_at,
			expires_at: r.expires_at,
			settles_at: r.settles_at,
			phase: match r.phase {
				Phase::Live => "Live".into(),
				Phase::Closing(_) => "Closing".into(),
			},
			closing_reason: match r.phase {
				Phase::Live => None,
				Phase::Closing(reason) => Some(format!("{reason:?}")),
			},
			spending_limit: r.spending_limit.to_string(),
			pending_limit: r.pending_limit.map(|p| p.limit.to_string()),
			pending_limit_applies_at: r.pending_limit.map(|p| p.applies_at),
			collateral: r.collateral.to_string(),
			description: r.description.into(),
			scope: r.scope.into_iter().map(Into::into).collect(),
			nonce: r.state.nonce,
			owed: r.state.owed.to_string(),
		}))
	}

	fn retired(&self, public: Bytes, at: Option<Hash>) -> RpcResult<Option<RetiredJson>> {
		let public: SessionPublic = decode("public", &public)?;
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		let found = self.client.runtime_api().retired(at, public).map_err(runtime)?;
		Ok(found.map(|r| RetiredJson {
			owner: r.owner,
			counterpart: r.counterpart,
			registered_at: r.registered_at,
			ended_at: r.ended_at,
			reason: format!("{:?}", r.reason),
			nonce: r.nonce,
			owed: r.owed.to_string(),
		}))
	}

	fn keys_of(&self, owner: AccountId, at: Option<Hash>) -> RpcResult<Vec<Bytes>> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		let keys = self.client.runtime_api().keys_of(at, owner).map_err(runtime)?;
		Ok(keys.into_iter().map(|key| key.encode().into()).collect())
	}

	fn authenticate(&self, header: Bytes, at: Option<Hash>) -> RpcResult<AuthenticationJson> {
		let header: RequestHeader<AccountId, Hash> = decode("header", &header)?;
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		// The runtime cannot read the hash of the block it runs at; it is `at`.
		let result = self.client.runtime_api().authenticate(at, header, at).map_err(runtime)?;
		Ok(match result {
			Ok(ok) => AuthenticationJson {
				accepted: true,
				reason: None,
				owner: Some(ok.owner),
				counterpart: Some(ok.counterpart),
				expires_at: Some(ok.expires_at),
				free_balance: Some(ok.free_balance.to_string()),
			},
			Err(reason) => AuthenticationJson {
				accepted: false,
				reason: Some(format!("{reason:?}")),
				owner: None,
				counterpart: None,
				expires_at: None,
				free_balance: None,
			},
		})
	}
}
