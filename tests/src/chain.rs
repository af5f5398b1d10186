//! The tests' view of a node: the project's client library ([`session_keys_client::Client`])
//! with the conveniences a test wants (reads that panic with a message instead of returning
//! errors, waits sized for 3-second blocks). Everything that talks to the chain, signs or
//! decodes is the client's; nothing here duplicates it.

use std::{future::Future, sync::Arc, time::Duration};

use codec::Decode;
use frame_system::Phase;
use jsonrpsee::core::params::ArrayParams;
use session_keys_client::{
	AccountData, At, AuthError, Authenticated, Client, ConnectOptions, CryptoKind, Error, Header,
	Included, Registration, Retired, SessionPublic, Wait,
};
use session_keys_runtime::{
	AccountId, Balance, BlockNumber, RuntimeCall, RuntimeEvent, TxExtension, UncheckedExtrinsic,
};
use sp_core::H256;
use sp_runtime::generic::Preamble;
use subxt_signer::sr25519::Keypair;

use crate::node::{Node, Rpc};

pub use session_keys_client::account_of;

/// How long a test waits for each block it needs finalized (blocks take 3 s).
const PER_BLOCK: Duration = Duration::from_secs(30);

/// A client of one node, for tests.
#[derive(Clone)]
pub struct Chain {
	/// The client library's client.
	pub client: Arc<Client>,
	/// Raw `chain_*` / `state_*` methods, for what the client does not wrap (block bodies,
	/// runtime versions).
	pub legacy: Rpc,
}

impl Chain {
	/// Connects to `node`, once it answers RPC.
	pub async fn connect(node: &mut Node) -> Chain {
		let rpc = node.rpc_client().await;
		// A short reconnection timeout: a test that stops its node wants the error soon.
		let options =
			ConnectOptions { reconnect_timeout: Duration::from_secs(10), ..Default::default() };
		let client = Client::connect_with(&node.ws_url(), options)
			.await
			.unwrap_or_else(|e| panic!("{}: {e}", node.name()));
		Chain { client: Arc::new(client), legacy: Rpc::new(rpc) }
	}

	/// Connects to the node at `url`.
	pub async fn from_url(url: &str) -> Result<Chain, Error> {
		let client = Client::connect(url).await?;
		let rpc = subxt::rpcs::RpcClient::from_insecure_url(url)
			.await
			.map_err(|e| Error::Connect { url: url.into(), source: Box::new(e) })?;
		Ok(Chain { client: Arc::new(client), legacy: Rpc::new(rpc) })
	}

	/// Calls a JSON-RPC method.
	pub async fn request<T: serde::de::DeserializeOwned>(
		&self,
		method: &'static str,
		params: ArrayParams,
	) -> Result<T, Error> {
		self.client.request(method, params).await
	}

	/// Signs `call` with `signer`, submits it, and waits until it is in a finalized block.
	pub async fn submit(&self, signer: &Keypair, call: RuntimeCall) -> Result<Included, Error> {
		self.client.submit(signer, call, Wait::Finalized).await
	}

	/// Submits `call` signed by `signer` with `nonce` (`None`: the next one, counting the
	/// pool) from a task of its own; the returned future waits until it is finalized. Give
	/// nonces to keep several of one signer's transactions in flight.
	pub fn send_with_nonce(
		&self,
		signer: &Keypair,
		call: RuntimeCall,
		nonce: Option<u64>,
	) -> impl Future<Output = Result<Included, Error>> + Send + 'static {
		let (client, signer) = (self.client.clone(), signer.clone());
		let task = tokio::spawn(async move {
			client.submit_with_nonce(&signer, call, nonce, Wait::Finalized).await
		});
		async move { task.await.expect("the submission task does not panic") }
	}

	/// `sessionKeys_generate`: a key in the node's keystore and its proof for `owner`.
	pub async fn generate_session_key(
		&self,
		owner: &AccountId,
		crypto: CryptoKind,
		seed: Option<&str>,
	) -> Result<(SessionPublic, Vec<u8>), Error> {
		let key = self.client.generate_in_node(owner, crypto, seed).await?;
		Ok((key.public, key.proof))
	}

	/// The registration of `public` at the best block.
	pub async fn registration(&self, public: &SessionPublic) -> Option<Registration> {
		self.client.registration(*public, At::Best).await.expect("sessionKeys_registration")
	}

	/// The registration of `public` in the state of block `at`.
	pub async fn registration_at(&self, public: &SessionPublic, at: H256) -> Option<Registration> {
		self.client.registration(*public, At::Hash(at)).await.expect("sessionKeys_registration")
	}

	/// The retired record of `public` at the best block.
	pub async fn retired(&self, public: &SessionPublic) -> Option<Retired> {
		self.client.retired(*public, At::Best).await.expect("sessionKeys_retired")
	}

	/// The keys of `owner` at the best block.
	pub async fn keys_of(&self, owner: &AccountId) -> Vec<SessionPublic> {
		self.client.keys_of(owner, At::Best).await.expect("sessionKeys_keysOf")
	}

	/// The runtime's answer to `header` at the best block.
	pub async fn authenticate(
		&self,
		header: &Header,
	) -> Result<Authenticated<AccountId, Balance, BlockNumber>, AuthError> {
		self.client.authenticate(header).await.expect("sessionKeys_authenticate")
	}

	/// `sessionKeys_authenticateV2(header)` at the best block.
	pub async fn authenticate_v2(
		&self,
		header: &session_keys_client::HeaderV2,
	) -> Result<Authenticated<AccountId, Balance, BlockNumber>, AuthError> {
		self.client.authenticate_v2(header).await.expect("sessionKeys_authenticateV2")
	}

	/// `author_rotateKeysWithOwner(owner)`: new consensus keys in the node's keystore and their
	/// ownership proof for `owner`, ready for `session.set_keys`.
	pub async fn rotate_keys_with_owner(
		&self,
		owner: &AccountId,
	) -> (session_keys_runtime::SessionKeys, Vec<u8>) {
		#[derive(serde::Deserialize)]
		struct Generated {
			keys: sp_core::Bytes,
			proof: Option<sp_core::Bytes>,
		}
		let generated: Generated = self
			.request(
				"author_rotateKeysWithOwner",
				jsonrpsee::rpc_params![sp_core::Bytes(codec::Encode::encode(owner))],
			)
			.await
			.expect("author_rotateKeysWithOwner answers");
		let keys = session_keys_runtime::SessionKeys::decode(&mut &generated.keys[..])
			.expect("the runtime's SessionKeys");
		(keys, generated.proof.expect("the runtime makes ownership proofs").to_vec())
	}

	/// All events of the block `hash`, with their phases.
	pub async fn events_at(&self, hash: H256) -> Vec<(Phase, RuntimeEvent)> {
		self.client.events(hash).await.expect("the block's events")
	}

	/// The signer and the transaction extensions of each signed extrinsic in block `hash`,
	/// decoded with the runtime's types.
	pub async fn signed_extensions(&self, hash: H256) -> Vec<(AccountId, TxExtension)> {
		let block = self.legacy.chain_get_block(Some(hash)).await.expect("chain_getBlock");
		let block = block.unwrap_or_else(|| panic!("block {hash:?} exists"));
		block
			.block
			.extrinsics
			.iter()
			.filter_map(|bytes| {
				let extrinsic = UncheckedExtrinsic::decode(&mut &bytes.0[..]).expect("decodes");
				match extrinsic.preamble {
					Preamble::Signed(sp_runtime::MultiAddress::Id(signer), _, extension) => {
						Some((signer, extension))
					}
					_ => None,
				}
			})
			.collect()
	}

	/// The number of the block `hash`.
	pub async fn block_number(&self, hash: H256) -> BlockNumber {
		self.client.block_number(hash).await.expect("the block exists")
	}

	/// The hash of the best block.
	pub async fn best_hash(&self) -> H256 {
		self.client.best_hash().await.expect("a best block")
	}

	/// The block a new request header names: two behind the best block (see
	/// `Client::header_block_hash`).
	pub async fn header_block_hash(&self) -> H256 {
		self.client.header_block_hash().await.expect("a best block")
	}

	/// The hash of block `number` on the best chain.
	pub async fn block_hash(&self, number: BlockNumber) -> H256 {
		self.client
			.block_hash(number)
			.await
			.expect("chain_getBlockHash")
			.unwrap_or_else(|| panic!("block #{number} exists"))
	}

	/// Waits until block `number` is finalized; returns its hash.
	pub async fn wait_for_finalized(&self, number: BlockNumber) -> H256 {
		let start = self.client.finalized_number().await.unwrap_or(0);
		let blocks = number.saturating_sub(start).saturating_add(1);
		self.client
			.wait_for_finalized(number, PER_BLOCK * blocks)
			.await
			.unwrap_or_else(|e| panic!("block #{number}: {e}"))
	}

	/// `who`'s next nonce, counting the node's pool.
	pub async fn next_nonce(&self, who: &AccountId) -> u64 {
		self.client.next_nonce(who).await.expect("system_accountNextIndex")
	}

	/// The genesis hash.
	pub fn genesis_hash(&self) -> H256 {
		self.client.genesis_hash()
	}

	/// `who`'s balances at the best block.
	pub async fn balances(&self, who: &AccountId) -> AccountData {
		self.client.balances(who, At::Best).await.expect("the account is readable")
	}

	/// `who`'s balances at block `hash`.
	pub async fn balances_at(&self, who: &AccountId, hash: H256) -> AccountData {
		self.client.balances(who, At::Hash(hash)).await.expect("the account is readable")
	}

	/// The value under a raw storage `key` at block `hash`, decoded.
	pub async fn storage<T: Decode>(&self, key: &[u8], hash: H256) -> Option<T> {
		self.client.storage(key, At::Hash(hash)).await.expect("the stored value decodes")
	}
}
