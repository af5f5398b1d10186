//! Reads: registrations, retired records, owners' keys, header authentication (the runtime
//! API, over the typed `sessionKeys_*` client), balances, constants and block facts, at the
//! best block, the finalized block, or a given hash.

use codec::{Decode, Encode};
use pallet_session_keys_rpc::SessionKeysApiClient;
use session_keys_primitives::{
	AuthError, Authenticated, CryptoKind, GeneratedSessionKey, SessionPublic,
};
use session_keys_runtime::Runtime;
use sp_core::H256;

use crate::{
	header::Header, AccountId, Balance, BlockNumber, Client, Error, Registration, Result, Retired,
};

/// The block a read looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum At {
	/// The best block (the node's default).
	#[default]
	Best,
	/// The latest finalized block.
	Finalized,
	/// The block with this hash.
	Hash(H256),
}

impl From<H256> for At {
	fn from(hash: H256) -> Self {
		At::Hash(hash)
	}
}

/// An account's balances.
pub type AccountData = pallet_balances::AccountData<Balance>;

impl Client {
	/// The hash `at` names (the best or finalized hash, read now).
	pub async fn resolve(&self, at: At) -> Result<H256> {
		match at {
			At::Hash(hash) => Ok(hash),
			At::Best => self.best_hash().await,
			At::Finalized => self.finalized_hash().await,
		}
	}

	/// The hash to pass to `sessionKeys_*` (`None`: the node's best block).
	async fn rpc_at(&self, at: At) -> Result<Option<H256>> {
		Ok(match at {
			At::Best => None,
			other => Some(self.resolve(other).await?),
		})
	}

	/// The registration (live or closing) of `public`, if any.
	pub async fn registration(
		&self,
		public: SessionPublic,
		at: At,
	) -> Result<Option<Registration>> {
		let at = self.rpc_at(at).await?;
		self.retrying(|c| async move {
			SessionKeysApiClient::<H256, AccountId, Balance, BlockNumber>::registration(
				&*c.ws, public, at,
			)
			.await
			.map_err(|e| Error::rpc("sessionKeys_registration", e))
		})
		.await
	}

	/// The retired record of `public`, if its session ended.
	pub async fn retired(&self, public: SessionPublic, at: At) -> Result<Option<Retired>> {
		let at = self.rpc_at(at).await?;
		self.retrying(|c| async move {
			SessionKeysApiClient::<H256, AccountId, Balance, BlockNumber>::retired(
				&*c.ws, public, at,
			)
			.await
			.map_err(|e| Error::rpc("sessionKeys_retired", e))
		})
		.await
	}

	/// The live and closing keys of `owner`.
	pub async fn keys_of(&self, owner: &AccountId, at: At) -> Result<Vec<SessionPublic>> {
		let at = self.rpc_at(at).await?;
		self.retrying(|c| {
			let owner = owner.clone();
			async move {
				SessionKeysApiClient::<H256, AccountId, Balance, BlockNumber>::keys_of(
					&*c.ws, owner, at,
				)
				.await
				.map_err(|e| Error::rpc("sessionKeys_keysOf", e))
			}
		})
		.await
	}

	/// Authenticates `header` with the runtime's own check.
	pub async fn authenticate(
		&self,
		header: &Header,
		at: At,
	) -> Result<Result<Authenticated<AccountId, Balance, BlockNumber>, AuthError>> {
		let at = self.rpc_at(at).await?;
		let bytes = sp_core::Bytes(header.encode());
		self.retrying(|c| {
			let bytes = bytes.clone();
			async move {
				SessionKeysApiClient::<H256, AccountId, Balance, BlockNumber>::authenticate(
					&*c.ws, bytes, at,
				)
				.await
				.map_err(|e| Error::rpc("sessionKeys_authenticate", e))
			}
		})
		.await
	}

	/// Asks the node to generate a key of `crypto` in its keystore, with its ownership proof
	/// for `owner` (an unsafe RPC method: the node must allow it). Prefer
	/// [`crate::SessionPair::generate`], which keeps the secret in this process.
	pub async fn generate_in_node(
		&self,
		owner: &AccountId,
		crypto: CryptoKind,
		seed: Option<&str>,
	) -> Result<GeneratedSessionKey> {
		let connection = self.connection().await?;
		SessionKeysApiClient::<H256, AccountId, Balance, BlockNumber>::generate(
			&*connection.ws,
			owner.clone(),
			crypto,
			seed.map(str::to_string),
		)
		.await
		.map_err(|e| Error::rpc("sessionKeys_generate", e))
	}

	/// `who`'s balances (free, reserved, frozen).
	pub async fn balances(&self, who: &AccountId, at: At) -> Result<AccountData> {
		let key = frame_system::Account::<Runtime>::hashed_key_for(who);
		let account: Option<frame_system::AccountInfo<u32, AccountData>> =
			self.storage(&key, at).await?;
		Ok(account.map(|account| account.data).unwrap_or_default())
	}

	/// `who`'s free balance.
	pub async fn free_balance(&self, who: &AccountId, at: At) -> Result<Balance> {
		Ok(self.balances(who, at).await?.free)
	}

	/// The value under a raw storage `key`, decoded.
	pub async fn storage<T: Decode>(&self, key: &[u8], at: At) -> Result<Option<T>> {
		let hash = self.resolve(at).await?;
		let bytes = self
			.retrying(|c| async move {
				c.legacy
					.state_get_storage(key, Some(hash))
					.await
					.map_err(|e| Error::rpc("state_getStorage", e))
			})
			.await?;
		bytes
			.map(|bytes| {
				T::decode(&mut &bytes[..])
					.map_err(|source| Error::Decode { what: "a storage value", source })
			})
			.transpose()
	}

	/// The adjudicator's challenge period on this chain (a genesis override, or the runtime's
	/// constant): how long a closing session waits before it settles.
	pub async fn challenge_period(&self, at: At) -> Result<BlockNumber> {
		let key = pallet_session_keys::ChallengePeriodOverride::<Runtime>::hashed_key();
		let stored: Option<BlockNumber> = self.storage(&key, at).await?;
		Ok(stored.unwrap_or_else(<Runtime as pallet_session_keys::Config>::ChallengePeriod::get))
	}

	/// The hash of the best block.
	pub async fn best_hash(&self) -> Result<H256> {
		self.retrying(|c| async move {
			c.legacy
				.chain_get_block_hash(None)
				.await
				.map_err(|e| Error::rpc("chain_getBlockHash", e))
		})
		.await?
		.ok_or(Error::NotFound("the best block"))
	}

	/// The hash of the latest finalized block.
	pub async fn finalized_hash(&self) -> Result<H256> {
		self.retrying(|c| async move {
			c.legacy
				.chain_get_finalized_head()
				.await
				.map_err(|e| Error::rpc("chain_getFinalizedHead", e))
		})
		.await
	}

	/// The hash of block `number` on the best chain, if it exists yet.
	pub async fn block_hash(&self, number: BlockNumber) -> Result<Option<H256>> {
		self.retrying(|c| async move {
			c.legacy
				.chain_get_block_hash(Some(u64::from(number).into()))
				.await
				.map_err(|e| Error::rpc("chain_getBlockHash", e))
		})
		.await
	}

	/// The number of the block `hash`.
	pub async fn block_number(&self, hash: H256) -> Result<BlockNumber> {
		let header = self
			.retrying(|c| async move {
				c.legacy
					.chain_get_header(Some(hash))
					.await
					.map_err(|e| Error::rpc("chain_getHeader", e))
			})
			.await?
			.ok_or(Error::NotFound("the block's header"))?;
		BlockNumber::try_from(header.number)
			.map_err(|_| Error::NotFound("a block number that fits u32"))
	}

	/// The number of the best block.
	pub async fn best_number(&self) -> Result<BlockNumber> {
		self.block_number(self.best_hash().await?).await
	}

	/// The number of the latest finalized block.
	pub async fn finalized_number(&self) -> Result<BlockNumber> {
		self.block_number(self.finalized_hash().await?).await
	}

	/// `who`'s next nonce, counting the node's transaction pool.
	pub async fn next_nonce(&self, who: &AccountId) -> Result<u64> {
		let account = subxt::utils::AccountId32(who.clone().into());
		self.retrying(|c| async move {
			c.legacy
				.system_account_next_index(&account)
				.await
				.map_err(|e| Error::rpc("system_accountNextIndex", e))
		})
		.await
	}

	/// Waits until block `number` is finalized (polling every 250 ms, for at most `timeout`);
	/// returns its hash.
	pub async fn wait_for_finalized(
		&self,
		number: BlockNumber,
		timeout: std::time::Duration,
	) -> Result<H256> {
		let deadline = tokio::time::Instant::now() + timeout;
		loop {
			if self.finalized_number().await? >= number {
				return self.block_hash(number).await?.ok_or(Error::NotFound("a finalized block"));
			}
			if tokio::time::Instant::now() >= deadline {
				return Err(Error::Timeout(timeout, "a block to be finalized"));
			}
			tokio::time::sleep(std::time::Duration::from_millis(250)).await;
		}
	}
}
