//! The `sessionKeys_*` JSON-RPC namespace of the session-key adjudicator.
//!
//! The namespace is declared once, as the trait `SessionKeysApi` with `#[rpc(client, server)]`,
//! which generates [`SessionKeysApiServer`] and [`SessionKeysApiClient`]: the node mounts the
//! server ([`SessionKeys`], over the runtime API [`SessionKeysRuntimeApi`]), and Rust clients
//! call the typed client, implemented for every jsonrpsee client.
//!
//! # Wire format
//!
//! Parameters and results are the shared types of `session-keys-primitives` with its `serde`
//! feature, so both ends use one definition:
//!
//! - keys (`SessionPublic`) and signatures: `0x`-hex of their SCALE encoding, the bytes the
//!   adjudicator's extrinsics take; decoding refuses trailing bytes;
//! - request headers: `0x`-hex SCALE of `RequestHeader`;
//! - accounts: SS58 strings; block hashes: `0x`-hex;
//! - balances: decimal strings; description and scope items: `0x`-hex;
//! - enums by name: `"sr25519"`, `"Revoked"`, `{"KeyEnded": "Rotated"}`; the answer to
//!   `authenticate` is `{"Ok": {...}}` or `{"Err": "StaleBlockHash"}`.
//!
//! Invalid parameters answer JSON-RPC `-32602` (`ErrorCode::InvalidParams`): when serde refuses
//! a parameter, jsonrpsee puts its reason in the error's `data`; the server's own checks (a
//! header that does not decode) say it in the `message`. A failed runtime call answers
//! [`RUNTIME_ERROR`].

use std::sync::Arc;

use codec::{Codec, DecodeAll};
use jsonrpsee::{
	core::RpcResult,
	proc_macros::rpc,
	types::{
		error::{ErrorCode, ErrorObject},
		ErrorObjectOwned,
	},
	Extensions,
};
use sc_rpc_api::check_if_safe;
use session_keys_primitives::{
	AuthError, Authenticated, CryptoKind, Delegation, GeneratedSessionKey, KeyRecord, Registration,
	RequestHeader, RequestHeaderV2, RetiredSession, SessionPublic,
};
use sp_api::{ApiExt, ProvideRuntimeApi};
use sp_blockchain::HeaderBackend;
use sp_core::Bytes;
use sp_keystore::{KeystoreExt, KeystorePtr};
use sp_runtime::traits::Block as BlockT;

pub use session_keys_primitives::SessionKeysApi as SessionKeysRuntimeApi;

/// The error code of a runtime call that failed (the node could not run the runtime API).
pub const RUNTIME_ERROR: i32 = 1;

/// The `sessionKeys` namespace.
#[rpc(
	client,
	server,
	namespace = "sessionKeys",
	client_bounds(
		BlockHash: serde::Serialize + Send + Sync + 'static,
		AccountId: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
		Balance: std::fmt::Display + std::str::FromStr + Send + Sync + 'static,
		BlockNumber: serde::de::DeserializeOwned + Send + Sync + 'static,
	),
	server_bounds(
		BlockHash: serde::de::DeserializeOwned + Send + Sync + 'static,
		AccountId: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
		Balance: Clone + std::fmt::Display + std::str::FromStr + Send + Sync + 'static,
		BlockNumber: Clone + serde::Serialize + Send + Sync + 'static,
	)
)]
pub trait SessionKeysApi<BlockHash, AccountId, Balance, BlockNumber> {
	/// Generates a session key of `crypto` (`"sr25519"`, `"ed25519"` or `"ecdsa"`) in the
	/// node's keystore and its ownership proof for `owner`; `seed` (a secret URI such as
	/// `//Alice//session`) makes it deterministic, for development.
	///
	/// Unsafe: refused unless the node exposes unsafe methods (`--rpc-methods unsafe`, or the
	/// default on localhost), like `author_rotateKeys`.
	#[method(name = "generate", with_extensions)]
	fn generate(
		&self,
		owner: AccountId,
		crypto: CryptoKind,
		seed: Option<String>,
	) -> RpcResult<GeneratedSessionKey>;

	/// The registration (live or closing) of `public` at the best block or `at`, if any.
	#[method(name = "registration")]
	fn registration(
		&self,
		public: SessionPublic,
		at: Option<BlockHash>,
	) -> RpcResult<Option<Registration<AccountId, Balance, BlockNumber>>>;

	/// The retired record of `public`, if its session ended.
	#[method(name = "retired")]
	fn retired(
		&self,
		public: SessionPublic,
		at: Option<BlockHash>,
	) -> RpcResult<Option<RetiredSession<AccountId, BlockNumber, Balance>>>;

	/// The live and closing keys of `owner`.
	#[method(name = "keysOf")]
	fn keys_of(&self, owner: AccountId, at: Option<BlockHash>) -> RpcResult<Vec<SessionPublic>>;

	/// What `owner` allows `delegate` (its terms, `null` once revoked) and what the live and
	/// closing keys the delegate made hold, at the best block or `at`; `null` if the owner
	/// never authorized it and no such key counts.
	#[method(name = "delegation")]
	fn delegation(
		&self,
		owner: AccountId,
		delegate: AccountId,
		at: Option<BlockHash>,
	) -> RpcResult<Option<Delegation<AccountId, Balance, BlockNumber>>>;

	/// Authenticates a version 1 request header (`0x`-hex SCALE `RequestHeader`) as the runtime
	/// does, always at the best block. `at` may be omitted (do) or name the best block; any
	/// other block is refused (`InvalidParams`): at an older block, or a fork's, a key revoked
	/// since would still look live.
	#[method(name = "authenticate")]
	fn authenticate(
		&self,
		header: Bytes,
		at: Option<BlockHash>,
	) -> RpcResult<Result<Authenticated<AccountId, Balance, BlockNumber>, AuthError>>;

	/// What the chain holds of `public` at `at` (default: the best block): `"unknown"`,
	/// `{"registered": …}` or `{"retired": …}`, in one read (runtime API version 5).
	#[method(name = "keyState")]
	fn key_state(
		&self,
		public: SessionPublic,
		at: Option<BlockHash>,
	) -> RpcResult<KeyRecord<AccountId, Balance, BlockNumber>>;

	/// `authenticate` for a version 2 header (SCALE-encoded `RequestHeaderV2`), which binds the
	/// request's canonical query and body digest too (runtime API version 5). Always at the
	/// best block, as `authenticate`.
	#[method(name = "authenticateV2")]
	fn authenticate_v2(
		&self,
		header: Bytes,
		at: Option<BlockHash>,
	) -> RpcResult<Result<Authenticated<AccountId, Balance, BlockNumber>, AuthError>>;
}

/// The server side of the namespace, over a client that offers the runtime API.
pub struct SessionKeys<C, Block> {
	client: Arc<C>,
	keystore: KeystorePtr,
	_block: std::marker::PhantomData<Block>,
}

impl<C, Block> SessionKeys<C, Block> {
	/// A handler over `client` and the node's `keystore` (where `generate` keeps keys).
	pub fn new(client: Arc<C>, keystore: KeystorePtr) -> Self {
		Self { client, keystore, _block: Default::default() }
	}
}

/// An `InvalidParams` error naming the parameter.
fn invalid_params(message: String) -> ErrorObjectOwned {
	ErrorObject::owned(ErrorCode::InvalidParams.code(), message, None::<()>)
}

/// A runtime call that failed.
fn runtime_error(error: impl std::fmt::Display) -> ErrorObjectOwned {
	ErrorObject::owned(RUNTIME_ERROR, format!("runtime call failed: {error}"), None::<()>)
}

impl<C, Block, AccountId, Balance, BlockNumber>
	SessionKeysApiServer<Block::Hash, AccountId, Balance, BlockNumber> for SessionKeys<C, Block>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: SessionKeysRuntimeApi<Block, AccountId, Balance, BlockNumber>,
	AccountId:
		Codec + Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
	Balance: Codec + Clone + std::fmt::Display + std::str::FromStr + Send + Sync + 'static,
	BlockNumber: Codec + Clone + Into<u64> + serde::Serialize + Send + Sync + 'static,
{
	fn generate(
		&self,
		ext: &Extensions,
		owner: AccountId,
		crypto: CryptoKind,
		seed: Option<String>,
	) -> RpcResult<GeneratedSessionKey> {
		check_if_safe(ext)?;
		let best = self.client.info().best_hash;
		let mut api = self.client.runtime_api();
		api.register_extension(KeystoreExt::from(self.keystore.clone()));
		api.generate_session_key(best, owner, crypto, seed.map(String::into_bytes))
			.map_err(runtime_error)?
			.ok_or_else(|| runtime_error("the keystore could not make the proof"))
	}

	fn registration(
		&self,
		public: SessionPublic,
		at: Option<Block::Hash>,
	) -> RpcResult<Option<Registration<AccountId, Balance, BlockNumber>>> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		self.client.runtime_api().registration(at, public).map_err(runtime_error)
	}

	fn retired(
		&self,
		public: SessionPublic,
		at: Option<Block::Hash>,
	) -> RpcResult<Option<RetiredSession<AccountId, BlockNumber, Balance>>> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		self.client.runtime_api().retired(at, public).map_err(runtime_error)
	}

	fn keys_of(&self, owner: AccountId, at: Option<Block::Hash>) -> RpcResult<Vec<SessionPublic>> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		self.client.runtime_api().keys_of(at, owner).map_err(runtime_error)
	}

	fn delegation(
		&self,
		owner: AccountId,
		delegate: AccountId,
		at: Option<Block::Hash>,
	) -> RpcResult<Option<Delegation<AccountId, Balance, BlockNumber>>> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		self.client.runtime_api().delegation(at, owner, delegate).map_err(runtime_error)
	}

	fn authenticate(
		&self,
		header: Bytes,
		at: Option<Block::Hash>,
	) -> RpcResult<Result<Authenticated<AccountId, Balance, BlockNumber>, AuthError>> {
		let header = RequestHeader::<AccountId, Block::Hash>::decode_all(&mut &header[..])
			.map_err(|e| invalid_params(format!("header: not a valid SCALE encoding ({e})")))?;
		// Version 3 checks the block hash itself; an older runtime took it from the caller.
		let at = self.authentication_block::<AccountId, Balance, BlockNumber>(at, 3)?;
		// A runtime API instance serves one block: the checks ran at the best block, the call
		// runs at `at`.
		self.client.runtime_api().authenticate(at, header).map_err(runtime_error)
	}

	fn key_state(
		&self,
		public: SessionPublic,
		at: Option<Block::Hash>,
	) -> RpcResult<KeyRecord<AccountId, Balance, BlockNumber>> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		self.require_version::<AccountId, Balance, BlockNumber>(at, 5)?;
		self.client.runtime_api().key_state(at, public).map_err(runtime_error)
	}

	fn authenticate_v2(
		&self,
		header: Bytes,
		at: Option<Block::Hash>,
	) -> RpcResult<Result<Authenticated<AccountId, Balance, BlockNumber>, AuthError>> {
		let header = RequestHeaderV2::<AccountId, Block::Hash>::decode_all(&mut &header[..])
			.map_err(|e| invalid_params(format!("header: not a valid SCALE encoding ({e})")))?;
		let at = self.authentication_block::<AccountId, Balance, BlockNumber>(at, 5)?;
		self.client.runtime_api().authenticate_v2(at, header).map_err(runtime_error)
	}
}

impl<C, Block> SessionKeys<C, Block>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
{
	/// Fails unless the runtime's `SessionKeysApi` at `at` is at least `needed`.
	fn require_version<AccountId: Codec, Balance: Codec, BlockNumber: Codec>(
		&self,
		at: Block::Hash,
		needed: u32,
	) -> RpcResult<()>
	where
		C::Api: SessionKeysRuntimeApi<Block, AccountId, Balance, BlockNumber>,
	{
		let version = self
			.client
			.runtime_api()
			.api_version::<dyn SessionKeysRuntimeApi<Block, AccountId, Balance, BlockNumber>>(at)
			.map_err(runtime_error)?;
		if version.is_none_or(|version| version < needed) {
			return Err(runtime_error(format!(
				"the runtime's SessionKeysApi is version {version:?}; this call needs {needed}"
			)));
		}
		Ok(())
	}

	/// The block to authenticate at: always the best block, with the runtime there at least
	/// version `needed`. An `at` naming another block is refused (`InvalidParams`): at an older
	/// block, or a fork's, a key revoked since would still look live.
	fn authentication_block<AccountId: Codec, Balance: Codec, BlockNumber: Codec>(
		&self,
		at: Option<Block::Hash>,
		needed: u32,
	) -> RpcResult<Block::Hash>
	where
		C::Api: SessionKeysRuntimeApi<Block, AccountId, Balance, BlockNumber>,
	{
		let best = self.client.info().best_hash;
		self.require_version::<AccountId, Balance, BlockNumber>(best, needed)?;
		at_best(at, best).map_err(invalid_params)
	}
}

/// `best`, if `at` is omitted or names it; otherwise why not.
pub fn at_best<Hash: PartialEq + std::fmt::Debug>(
	at: Option<Hash>,
	best: Hash,
) -> Result<Hash, String> {
	match at {
		None => Ok(best),
		Some(at) if at == best => Ok(best),
		Some(at) => Err(format!(
			"at: {at:?} is not the best block; authentication runs at the best block only (at an \
			 older or a fork's block a revoked key would still look live): omit `at`"
		)),
	}
}

#[cfg(test)]
mod tests {
	use super::at_best;

	#[test]
	fn authentication_runs_at_the_best_block_only() {
		assert_eq!(at_best(None, 7), Ok(7), "omitted: the best block");
		assert_eq!(at_best(Some(7), 7), Ok(7), "the best block named");
		let refused = at_best(Some(6), 7).expect_err("an older block");
		assert!(refused.contains("best block only"), "{refused}");
	}
}
