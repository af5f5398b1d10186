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
	header::{Header, HeaderV2},
	AccountId, Balance, BlockNumber, Client, Delegation, Error, KeyRecord, Registration, Result,
	Retired,
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

/// A value read at a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dated<T> {
	/// The block's hash.
	pub block_hash: H256,
	/// The block's number: the `now` to read a registration's phase and limit at.
	pub block_number: BlockNumber,
	/// What was read.
	pub value: T,
}

impl Client {
	/// The hash `at` names (the best or finalized hash, read now).
	pub async fn resolve(&self, at: At) -> Result<H256> {
		match at {
			At::Hash(hash) => Ok(hash),
			At::Best => self.best_hash().await,
			At::Finalized => self.finalized_hash().await,
		}
	}

	/// The hash to pass to `sessionKeys_*`: always a definite block, so that an answer can be
	/// read at the block it was made at (the best block is resolved first).
	async fn rpc_at(&self, at: At) -> Result<Option<H256>> {
		Ok(Some(self.resolve(at).await?))
	}

	/// The registration (live or closing) of `public`, if any.
	///
	/// The record is stored as it is: read its phase and the limit that applies with
	/// [`Registration::phase_at`] and [`Registration::limit_at`] at the block it was read at,
	/// which [`Client::registration_at`] returns with it.
	pub async fn registration(
		&self,
		public: SessionPublic,
		at: At,
	) -> Result<Option<Registration>> {
		Ok(self.registration_at(public, at).await?.value)
	}

	/// The registration of `public`, with the block it was read at.
	pub async fn registration_at(
		&self,
		public: SessionPublic,
		at: At,
	) -> Result<Dated<Option<Registration>>> {
		let block_hash = self.resolve(at).await?;
		let block_number = self.block_number(block_hash).await?;
		let at = Some(block_hash);
		let value = self
			.retrying(|c| async move {
				SessionKeysApiClient::<H256, AccountId, Balance, BlockNumber>::registration(
					&*c.ws, public, at,
				)
				.await
				.map_err(|e| Error::rpc("sessionKeys_registration", e))
			})
			.await?;
		Ok(Dated { block_hash, block_number, value })
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

	/// What `owner` allows `delegate` and what the delegate's live and closing keys use of it
	/// (`None` if the owner never authorized it and no such key counts).
	pub async fn delegation(
		&self,
		owner: &AccountId,
		delegate: &AccountId,
		at: At,
	) -> Result<Option<Delegation>> {
		let at = self.rpc_at(at).await?;
		self.retrying(|c| {
			let (owner, delegate) = (owner.clone(), delegate.clone());
			async move {
				SessionKeysApiClient::<H256, AccountId, Balance, BlockNumber>::delegation(
					&*c.ws, owner, delegate, at,
				)
				.await
				.map_err(|e| Error::rpc("sessionKeys_delegation", e))
			}
		})
		.await
	}

	/// Authenticates a version 1 `header` with the runtime's own check, at the node's best
	/// block (the only block it authenticates at: at an older one a key revoked since would
	/// still look live).
	pub async fn authenticate(
		&self,
		header: &Header,
	) -> Result<Result<Authenticated<AccountId, Balance, BlockNumber>, AuthError>> {
		let at = None;
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

	/// What the chain holds of `public` at `at`, in one read: nothing, its registration (live
	/// or closing) or its retired record. Needs runtime API version 5.
	pub async fn key_state(&self, public: SessionPublic, at: At) -> Result<KeyRecord> {
		let at = self.rpc_at(at).await?;
		self.retrying(|c| async move {
			SessionKeysApiClient::<H256, AccountId, Balance, BlockNumber>::key_state(
				&*c.ws, public, at,
			)
			.await
			.map_err(|e| Error::rpc("sessionKeys_keyState", e))
		})
		.await
	}

	/// Authenticates a version 2 `header` with the runtime's own check, at the node's best
	/// block (runtime API version 5).
	pub async fn authenticate_v2(
		&self,
		header: &HeaderV2,
	) -> Result<Result<Authenticated<AccountId, Balance, BlockNumber>, AuthError>> {
		let at = None;
		let bytes = sp_core::Bytes(header.encode());
		self.retrying(|c| {
			let bytes = bytes.clone();
			async move {
				SessionKeysApiClient::<H256, AccountId, Balance, BlockNumber>::authenticate_v2(
					&*c.ws, bytes, at,
				)
				.await
				.map_err(|e| Error::rpc("sessionKeys_authenticateV2", e))
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
		let account: Option<frame_system::AccountInfo<session_keys_runtime::Nonce, AccountData>> =
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

	/// The adjudicator's challenge period on this chain (a genesis override stored at `at`, or
	/// the constant in the metadata of the chain's current runtime): how long a closing session
	/// waits before it settles.
	pub async fn challenge_period(&self, at: At) -> Result<BlockNumber> {
		let key = pallet_session_keys::ChallengePeriodOverride::<Runtime>::hashed_key();
		match self.storage::<BlockNumber>(&key, at).await? {
			Some(period) => Ok(period),
			None => self.constant("Adjudicator", "ChallengePeriod").await,
		}
	}

	/// A pallet's constant, from the metadata of the connected chain (not of the runtime this
	/// library was built with): `client.constant::<u32>("Adjudicator", "MaxKeysPerOwner")`.
	pub async fn constant<T: Decode>(&self, pallet: &str, name: &str) -> Result<T> {
		let connection = self.connection().await?;
		let at = connection
			.api
			.at_current_block()
			.await
			.map_err(|e| Error::rpc("state_getMetadata", e))?;
		let metadata = at.metadata();
		let bytes = metadata
			.pallet_by_name(pallet)
			.and_then(|p| p.constant_by_name(name))
			.ok_or(Error::NotFound("the constant in the chain's metadata"))?
			.value();
		T::decode(&mut &bytes[..]).map_err(|source| Error::Decode { what: "a constant", source })
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

	/// The block a new request header should name: two blocks behind the best block.
	///
	/// The runtime's `authenticate` accepts only block hashes it can check itself, the
	/// `HeaderValidity` blocks before the one it runs at: a block's state does not hold its own
	/// hash, so a header naming the best block is refused at the best block and accepted from
	/// the next one on. A gateway applies the same window to the newest block it has seen, which
	/// may be a block behind this client's node. Two blocks back is accepted at once by both
	/// (and costs one block of the header's validity). Near genesis, the genesis block stands
	/// in.
	pub async fn header_block_hash(&self) -> Result<H256> {
		let best = self.best_number().await?;
		match best.checked_sub(2) {
			None => Ok(self.genesis_hash()),
			Some(number) => {
				self.block_hash(number).await?.ok_or(Error::NotFound("a block by number"))
			}
		}
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
