//! A subxt client for the dev chain.
//!
//! subxt does the client's work: the connection, the transaction extensions, signing,
//! submission, waiting for finality, reading events and storage. Calls are built and events
//! decoded with the runtime's own Rust types (`RuntimeCall`, `RuntimeEvent`), which subxt
//! checks against the chain's metadata when it takes the call bytes, so the tests cannot drift
//! from the runtime they run against.

use std::future::Future;

use codec::{Decode, Encode};
use frame_system::{EventRecord, Phase};
use serde::de::DeserializeOwned;
use session_keys_runtime::{
	AccountId, Balance, BlockNumber, Nonce, Runtime, RuntimeCall, RuntimeError, RuntimeEvent,
};
use sp_core::H256;
use sp_runtime::DispatchError;
use subxt::{
	config::SubstrateExtrinsicParamsBuilder,
	rpcs::{client::RpcParams, RpcClient},
	OnlineClient, SubstrateConfig,
};
use subxt_signer::sr25519::Keypair;

use crate::node::{finalized_number, Node, Rpc};

/// The account of a subxt dev keypair, as the runtime types it.
pub fn account_of(signer: &Keypair) -> AccountId {
	AccountId::from(signer.public_key().0)
}

/// What became of a submitted extrinsic that was included in a finalized block.
#[derive(Debug)]
pub struct Included {
	/// The finalized block that includes it.
	pub block_hash: H256,
	/// That block's number.
	pub block_number: BlockNumber,
	/// The extrinsic's events, in order.
	pub events: Vec<RuntimeEvent>,
}

/// Why an extrinsic did not succeed.
#[derive(Debug)]
pub enum Failure {
	/// It was included, but its dispatch failed with this error (decoded to the runtime's
	/// error enum when it is a module error).
	Dispatch(DispatchError, Option<RuntimeError>),
	/// The pool or the client refused it, or waiting for it failed.
	Submission(String),
}

impl Failure {
	/// The runtime error of a failed dispatch, if it was one.
	pub fn runtime_error(&self) -> Option<&RuntimeError> {
		match self {
			Failure::Dispatch(_, error) => error.as_ref(),
			Failure::Submission(_) => None,
		}
	}
}

/// A connection to one node.
pub struct Chain {
	/// The subxt client.
	pub api: OnlineClient<SubstrateConfig>,
	/// The raw JSON-RPC client, for methods subxt does not wrap (`sessionKeys_*`, ...).
	pub rpc: RpcClient,
	/// `chain_*`, `state_*` and `system_*`.
	pub legacy: Rpc,
}

impl Chain {
	/// Connects to `node`.
	pub async fn connect(node: &mut Node) -> Chain {
		let rpc = node.rpc_client().await;
		Chain::from_rpc(rpc).await.unwrap_or_else(|e| panic!("{}: {e}", node.name()))
	}

	/// A client over an RPC connection.
	pub async fn from_rpc(rpc: RpcClient) -> Result<Chain, String> {
		let api = OnlineClient::<SubstrateConfig>::from_rpc_client(rpc.clone())
			.await
			.map_err(|e| format!("subxt cannot connect: {e}"))?;
		Ok(Chain { api, legacy: Rpc::new(rpc.clone()), rpc })
	}

	/// Calls a JSON-RPC method and deserializes its result.
	pub async fn request<T: DeserializeOwned>(
		&self,
		method: &str,
		params: RpcParams,
	) -> Result<T, subxt::rpcs::Error> {
		self.rpc.request(method, params).await
	}

	/// Signs `call` with `signer`, submits it, and waits until it is in a finalized block.
	pub async fn submit(&self, signer: &Keypair, call: RuntimeCall) -> Result<Included, Failure> {
		self.send(signer, call).await?.await
	}

	/// Signs `call` with `signer` and submits it; once the pool has taken it, returns a future
	/// that waits until it is in a finalized block. To keep several of one signer's
	/// transactions in flight, give their nonces ([`Chain::send_with_nonce`]).
	pub async fn send(
		&self,
		signer: &Keypair,
		call: RuntimeCall,
	) -> Result<impl Future<Output = Result<Included, Failure>> + Send + 'static, Failure> {
		self.send_with_nonce(signer, call, None).await
	}

	/// [`Chain::send`] with the given nonce (`None`: the signer's nonce at the current best
	/// block, which does not count the pool's transactions).
	pub async fn send_with_nonce(
		&self,
		signer: &Keypair,
		call: RuntimeCall,
		nonce: Option<u64>,
	) -> Result<impl Future<Output = Result<Included, Failure>> + Send + 'static, Failure> {
		let at = self.api.at_current_block().await.map_err(|e| submission(&e))?;
		let mut transactions = at.tx();
		// subxt decodes the call bytes against the chain's metadata: a call the chain does not
		// know is refused here.
		let payload =
			transactions.from_call_data_bytes(&call.encode()).map_err(|e| submission(&e))?;
		let mut params = SubstrateExtrinsicParamsBuilder::<SubstrateConfig>::new();
		if let Some(nonce) = nonce {
			params = params.nonce(nonce);
		}
		let progress = transactions
			.sign_and_submit_then_watch(&payload, signer, params.build())
			.await
			.map_err(|e| submission(&e))?;
		let legacy = self.legacy.clone();
		Ok(async move {
			let in_block = progress.wait_for_finalized().await.map_err(|e| submission(&e))?;
			let block_hash = in_block.block_hash();
			let extrinsic_events = in_block.fetch_events().await.map_err(|e| submission(&e))?;
			let mut events = Vec::new();
			for event in extrinsic_events.iter() {
				let event = event.map_err(|e| submission(&e))?;
				events.push(decode_record(event.bytes()).event);
			}
			let block_number = block_number(&legacy, block_hash).await;
			for event in &events {
				if let RuntimeEvent::System(frame_system::Event::ExtrinsicFailed {
					dispatch_error,
					..
				}) = event
				{
					return Err(Failure::Dispatch(
						*dispatch_error,
						RuntimeError::from_dispatch_error(*dispatch_error),
					));
				}
			}
			Ok(Included { block_hash, block_number, events })
		})
	}

	/// All events of the block `hash`, with their phases.
	pub async fn events_at(&self, hash: H256) -> Vec<(Phase, RuntimeEvent)> {
		let at = self.api.at_block(hash).await.expect("the block exists");
		let events = at.events().fetch().await.expect("the block's events are readable");
		events
			.iter()
			.map(|event| {
				let record = decode_record(event.expect("events decode").bytes());
				(record.phase, record.event)
			})
			.collect()
	}

	/// The number of the block `hash`.
	pub async fn block_number(&self, hash: H256) -> BlockNumber {
		block_number(&self.legacy, hash).await
	}

	/// The hash of the best block.
	pub async fn best_hash(&self) -> H256 {
		self.legacy.chain_get_block_hash(None).await.expect("RPC answers").expect("a best block")
	}

	/// The hash of block `number` on the best chain.
	pub async fn block_hash(&self, number: BlockNumber) -> H256 {
		self.legacy
			.chain_get_block_hash(Some(u64::from(number).into()))
			.await
			.expect("RPC answers")
			.unwrap_or_else(|| panic!("block #{number} exists"))
	}

	/// Waits (polling) until block `number` is finalized; returns its hash.
	pub async fn wait_for_finalized(&self, number: BlockNumber) -> H256 {
		// Blocks take 3 s: allow each remaining block a generous 30 s.
		let start = finalized_number(&self.legacy).await.unwrap_or(0);
		let blocks = u64::from(number).saturating_sub(start) + 1;
		let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30 * blocks);
		loop {
			if finalized_number(&self.legacy).await.unwrap_or(0) >= u64::from(number) {
				return self.block_hash(number).await;
			}
			assert!(std::time::Instant::now() < deadline, "block #{number} was not finalized");
			tokio::time::sleep(std::time::Duration::from_millis(250)).await;
		}
	}

	/// `who`'s next nonce, counting the node's pool (`system_accountNextIndex`).
	pub async fn next_nonce(&self, who: &AccountId) -> u64 {
		let account = subxt::utils::AccountId32(who.clone().into());
		self.legacy.system_account_next_index(&account).await.expect("RPC answers")
	}

	/// The genesis hash.
	pub fn genesis_hash(&self) -> H256 {
		self.api.genesis_hash()
	}

	/// `who`'s account (nonce and balances) at the best block, read from storage by its key.
	pub async fn account(
		&self,
		who: &AccountId,
	) -> frame_system::AccountInfo<Nonce, pallet_balances::AccountData<Balance>> {
		self.account_at(who, self.best_hash().await).await
	}

	/// `who`'s account (nonce and balances) at block `hash`.
	pub async fn account_at(
		&self,
		who: &AccountId,
		hash: H256,
	) -> frame_system::AccountInfo<Nonce, pallet_balances::AccountData<Balance>> {
		let key = frame_system::Account::<Runtime>::hashed_key_for(who);
		self.storage(&key, hash).await.unwrap_or_default()
	}

	/// The value under a raw storage `key` at block `hash`, decoded.
	pub async fn storage<T: Decode>(&self, key: &[u8], hash: H256) -> Option<T> {
		let bytes = self.legacy.state_get_storage(key, Some(hash)).await.expect("RPC answers")?;
		Some(T::decode(&mut &bytes[..]).expect("the stored value decodes"))
	}
}

fn submission(error: &dyn std::fmt::Display) -> Failure {
	Failure::Submission(error.to_string())
}

async fn block_number(rpc: &Rpc, hash: H256) -> BlockNumber {
	let header = rpc.chain_get_header(Some(hash)).await.expect("RPC answers");
	let number = header.expect("the block exists").number;
	BlockNumber::try_from(number).expect("block numbers fit in u32")
}

fn decode_record(mut bytes: &[u8]) -> EventRecord<RuntimeEvent, H256> {
	EventRecord::decode(&mut bytes).expect("events decode as the runtime's EventRecord")
}
