//! The node's JSON-RPC methods beyond Substrate's built-in set (`author_*`, `chain_*`,
//! `state_*`, `system_*` come from sc-service): account nonces, fee queries, and the
//! session-key namespace `sessionKeys_*` (from `pallet-session-keys-rpc`).

use jsonrpsee::RpcModule;
use sc_transaction_pool_api::TransactionPool;
use session_keys_runtime::{opaque::Block, AccountId, Balance, Nonce};
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};
use std::sync::Arc;

/// What the RPC methods need.
pub struct FullDeps<C, P> {
	/// The client.
	pub client: Arc<C>,
	/// The transaction pool.
	pub pool: Arc<P>,
	/// The node's keystore, where generated session keys are kept.
	pub keystore: sp_keystore::KeystorePtr,
}

/// Builds the RPC methods of a full node.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ HeaderMetadata<Block, Error = BlockChainError>
		+ Send
		+ Sync
		+ 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>
		+ pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>
		+ session_keys_primitives::SessionKeysApi<
			Block,
			AccountId,
			Balance,
			session_keys_runtime::BlockNumber,
		> + BlockBuilder<Block>,
	P: TransactionPool + 'static,
{
	use pallet_session_keys_rpc::{SessionKeys, SessionKeysApiServer};
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool, keystore } = deps;

	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client.clone()).into_rpc())?;
	module.merge(SessionKeys::<_, Block>::new(client, keystore).into_rpc())?;

	Ok(module)
}
