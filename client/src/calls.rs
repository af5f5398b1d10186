//! The adjudicator's calls: each one is signed, submitted, and waited for (in a block or
//! finalized, the caller's choice); the answer is the block and the extrinsic's events, or the
//! dispatch error by name.

use codec::{Decode, Encode};
use frame_system::EventRecord;
use session_keys_primitives::{ChannelState, SessionPublic, SessionSignature};
use session_keys_runtime::{Runtime, RuntimeCall, RuntimeError, RuntimeEvent};
use sp_core::H256;
use sp_runtime::DispatchError;
use std::sync::Arc;
use subxt::{
	client::OnlineClientAtBlockImpl,
	error::TransactionStatusError,
	transactions::{TransactionProgress, TransactionStatus},
};

use crate::{
	connection::Connection,
	extensions::{self, ChainConfig},
	AccountId, AdjudicatorEvent, Balance, BlockNumber, Client, DelegateTerms, DispatchFailure,
	Error, Result,
};

/// The signer of an extrinsic: any subxt signer for Substrate chains
/// (`subxt_signer::sr25519::Keypair`, ...).
pub trait Signer: subxt::transactions::Signer<ChainConfig> + Sync {}
impl<T: subxt::transactions::Signer<ChainConfig> + Sync> Signer for T {}

/// How long [`Client::submit`] waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Wait {
	/// Until the extrinsic is in a block of the best chain (which may still be reorganized).
	InBlock,
	/// Until the block that includes it is finalized.
	#[default]
	Finalized,
}

/// An extrinsic that was included and dispatched successfully.
#[derive(Debug, Clone)]
pub struct Included {
	/// The block that includes it.
	pub block_hash: H256,
	/// That block's number.
	pub block_number: BlockNumber,
	/// The extrinsic's events, in order.
	pub events: Vec<RuntimeEvent>,
}

impl Included {
	/// The adjudicator's events among [`Included::events`].
	pub fn adjudicator_events(&self) -> Vec<AdjudicatorEvent> {
		adjudicator_events(self.events.iter().cloned())
	}
}

/// The adjudicator events among `events`.
pub fn adjudicator_events(events: impl IntoIterator<Item = RuntimeEvent>) -> Vec<AdjudicatorEvent> {
	events
		.into_iter()
		.filter_map(|event| match event {
			RuntimeEvent::Adjudicator(event) => Some(event),
			_ => None,
		})
		.collect()
}

/// The terms of a new registration.
#[derive(Clone, Debug)]
pub struct Terms {
	/// The counterpart.
	pub counterpart: AccountId,
	/// Blocks until expiry (`None`: the runtime's default).
	pub duration: Option<BlockNumber>,
	/// The most the session may owe the counterpart.
	pub spending_limit: Balance,
	/// Collateral held from the owner.
	pub collateral: Balance,
	/// What the key is for.
	pub description: Vec<u8>,
	/// The resources the key may be used for.
	pub scope: Vec<Vec<u8>>,
}

/// A call's argument that does not fit the runtime's bounds.
fn too_long(what: &'static str) -> Error {
	Error::InvalidArgument { what }
}

type Call = pallet_session_keys::Call<Runtime>;

/// A registration's arguments in the runtime's bounded types, checked as the chain checks them.
struct Bounded {
	proof: pallet_session_keys::ProofOf,
	counterpart: pallet_session_keys::AccountIdLookupOf<Runtime>,
	description: pallet_session_keys::DescriptionOf<Runtime>,
	scope: pallet_session_keys::ScopeOf<Runtime>,
}

impl Bounded {
	fn new(public: SessionPublic, proof: Vec<u8>, terms: &Terms) -> Result<Self> {
		public.check_key().map_err(Error::WeakKey)?;
		let scope = terms
			.scope
			.iter()
			.map(|item| item.clone().try_into().map_err(|_| too_long("a scope item")))
			.collect::<Result<Vec<_>>>()?;
		Ok(Self {
			proof: proof.try_into().map_err(|_| too_long("the ownership proof"))?,
			counterpart: terms.counterpart.clone().into(),
			description: terms
				.description
				.clone()
				.try_into()
				.map_err(|_| too_long("the description"))?,
			scope: scope.try_into().map_err(|_| too_long("the scope"))?,
		})
	}
}

/// The adjudicator's calls, built with the runtime's own types.
pub mod build {
	use super::*;

	/// `register(public, proof, terms...)`. Refuses a key that binds no one ([`Error::WeakKey`]), as the chain would.
	pub fn register(public: SessionPublic, proof: Vec<u8>, terms: &Terms) -> Result<RuntimeCall> {
		let t = Bounded::new(public, proof, terms)?;
		Ok(RuntimeCall::Adjudicator(Call::register {
			public,
			proof: t.proof,
			counterpart: t.counterpart,
			duration: terms.duration,
			spending_limit: terms.spending_limit,
			collateral: terms.collateral,
			description: t.description,
			scope: t.scope,
		}))
	}

	/// `register_for(owner, public, proof, terms...)`: a delegate registers for `owner` within
	/// the owner's terms; `proof` is made for the owner. Refuses a key that binds no one.
	pub fn register_for(
		owner: AccountId,
		public: SessionPublic,
		proof: Vec<u8>,
		terms: &Terms,
	) -> Result<RuntimeCall> {
		let t = Bounded::new(public, proof, terms)?;
		Ok(RuntimeCall::Adjudicator(Call::register_for {
			owner: owner.into(),
			public,
			proof: t.proof,
			counterpart: t.counterpart,
			duration: terms.duration,
			spending_limit: terms.spending_limit,
			collateral: terms.collateral,
			description: t.description,
			scope: t.scope,
		}))
	}

	/// `authorize_delegate(delegate, terms)`: the owner's own call (no proxy may make it).
	pub fn authorize_delegate(delegate: AccountId, terms: &DelegateTerms) -> Result<RuntimeCall> {
		Ok(RuntimeCall::Adjudicator(Call::authorize_delegate {
			delegate: delegate.into(),
			terms: pallet_session_keys::DelegateTerms {
				counterparts: terms
					.counterparts
					.clone()
					.try_into()
					.map_err(|_| too_long("the counterpart list"))?,
				max_collateral: terms.max_collateral,
				max_spending_limit: terms.max_spending_limit,
				max_total_collateral: terms.max_total_collateral,
				max_duration: terms.max_duration,
				max_keys: terms.max_keys,
				ends_at: terms.ends_at,
			},
		}))
	}

	/// `revoke_delegate(delegate, close_keys)`.
	pub fn revoke_delegate(delegate: AccountId, close_keys: bool) -> RuntimeCall {
		RuntimeCall::Adjudicator(Call::revoke_delegate { delegate: delegate.into(), close_keys })
	}

	/// `renew(public, duration)`.
	pub fn renew(public: SessionPublic, duration: Option<BlockNumber>) -> RuntimeCall {
		RuntimeCall::Adjudicator(Call::renew { public, duration })
	}

	/// `revoke(public)`.
	pub fn revoke(public: SessionPublic) -> RuntimeCall {
		RuntimeCall::Adjudicator(Call::revoke { public })
	}

	/// `revoke_all()`.
	pub fn revoke_all() -> RuntimeCall {
		RuntimeCall::Adjudicator(Call::revoke_all {})
	}

	/// `rotate(old, new, proof)`. Refuses a new key that binds no one ([`Error::WeakKey`]), as the chain would.
	pub fn rotate(old: SessionPublic, new: SessionPublic, proof: Vec<u8>) -> Result<RuntimeCall> {
		new.check_key().map_err(Error::WeakKey)?;
		Ok(RuntimeCall::Adjudicator(Call::rotate {
			old,
			new,
			proof: proof.try_into().map_err(|_| too_long("the ownership proof"))?,
		}))
	}

	/// `checkpoint(public, state, signature)`.
	pub fn checkpoint(
		public: SessionPublic,
		state: ChannelState<Balance>,
		signature: SessionSignature,
	) -> RuntimeCall {
		RuntimeCall::Adjudicator(Call::checkpoint { public, state, signature })
	}

	/// `top_up(public, amount)`.
	pub fn top_up(public: SessionPublic, amount: Balance) -> RuntimeCall {
		RuntimeCall::Adjudicator(Call::top_up { public, amount })
	}

	/// `set_spending_limit(public, spending_limit)`.
	pub fn set_spending_limit(public: SessionPublic, spending_limit: Balance) -> RuntimeCall {
		RuntimeCall::Adjudicator(Call::set_spending_limit { public, spending_limit })
	}

	/// `liquidate(public)`.
	pub fn liquidate(public: SessionPublic) -> RuntimeCall {
		RuntimeCall::Adjudicator(Call::liquidate { public })
	}

	/// `discontinue(public)`.
	pub fn discontinue(public: SessionPublic) -> RuntimeCall {
		RuntimeCall::Adjudicator(Call::discontinue { public })
	}

	/// `claim_payment(public)`.
	pub fn claim_payment(public: SessionPublic) -> RuntimeCall {
		RuntimeCall::Adjudicator(Call::claim_payment { public })
	}
}

impl Client {
	/// Registers `public` with its ownership `proof` and `terms`, signed by the owner.
	pub async fn register(
		&self,
		owner: &impl Signer,
		public: SessionPublic,
		proof: Vec<u8>,
		terms: &Terms,
		wait: Wait,
	) -> Result<Included> {
		self.submit(owner, build::register(public, proof, terms)?, wait).await
	}

	/// Registers `public` for `owner` as its delegate, within the owner's terms; `proof` is the
	/// key's ownership proof for the owner.
	pub async fn register_for(
		&self,
		delegate: &impl Signer,
		owner: AccountId,
		public: SessionPublic,
		proof: Vec<u8>,
		terms: &Terms,
		wait: Wait,
	) -> Result<Included> {
		self.submit(delegate, build::register_for(owner, public, proof, terms)?, wait).await
	}

	/// Authorizes `delegate` with `terms` (or replaces its terms), signed by the owner itself.
	pub async fn authorize_delegate(
		&self,
		owner: &impl Signer,
		delegate: AccountId,
		terms: &DelegateTerms,
		wait: Wait,
	) -> Result<Included> {
		self.submit(owner, build::authorize_delegate(delegate, terms)?, wait).await
	}

	/// Revokes `delegate`'s authorization, and with `close_keys` every live key it made.
	pub async fn revoke_delegate(
		&self,
		owner: &impl Signer,
		delegate: AccountId,
		close_keys: bool,
		wait: Wait,
	) -> Result<Included> {
		self.submit(owner, build::revoke_delegate(delegate, close_keys), wait).await
	}

	/// Renews `public` for `duration` blocks from now (`None`: the default duration).
	pub async fn renew(
		&self,
		owner: &impl Signer,
		public: SessionPublic,
		duration: Option<BlockNumber>,
		wait: Wait,
	) -> Result<Included> {
		self.submit(owner, build::renew(public, duration), wait).await
	}

	/// Revokes `public`: invalid at once, settled when its closing window ends.
	pub async fn revoke(
		&self,
		owner: &impl Signer,
		public: SessionPublic,
		wait: Wait,
	) -> Result<Included> {
		self.submit(owner, build::revoke(public), wait).await
	}

	/// Revokes every live key of the signer.
	pub async fn revoke_all(&self, owner: &impl Signer, wait: Wait) -> Result<Included> {
		self.submit(owner, build::revoke_all(), wait).await
	}

	/// Replaces `old` by `new` (with its ownership `proof`), when nothing is at stake.
	pub async fn rotate(
		&self,
		owner: &impl Signer,
		old: SessionPublic,
		new: SessionPublic,
		proof: Vec<u8>,
		wait: Wait,
	) -> Result<Included> {
		self.submit(owner, build::rotate(old, new, proof)?, wait).await
	}

	/// Checkpoints a state signed by the session key, signed by the counterpart.
	pub async fn checkpoint(
		&self,
		counterpart: &impl Signer,
		public: SessionPublic,
		state: ChannelState<Balance>,
		signature: SessionSignature,
		wait: Wait,
	) -> Result<Included> {
		self.submit(counterpart, build::checkpoint(public, state, signature), wait).await
	}

	/// Adds `amount` to the session's collateral.
	pub async fn top_up(
		&self,
		owner: &impl Signer,
		public: SessionPublic,
		amount: Balance,
		wait: Wait,
	) -> Result<Included> {
		self.submit(owner, build::top_up(public, amount), wait).await
	}

	/// Changes the spending limit (a decrease applies after the challenge period).
	pub async fn set_spending_limit(
		&self,
		owner: &impl Signer,
		public: SessionPublic,
		spending_limit: Balance,
		wait: Wait,
	) -> Result<Included> {
		self.submit(owner, build::set_spending_limit(public, spending_limit), wait).await
	}

	/// Liquidates an under-collateralized session, signed by the counterpart.
	pub async fn liquidate(
		&self,
		counterpart: &impl Signer,
		public: SessionPublic,
		wait: Wait,
	) -> Result<Included> {
		self.submit(counterpart, build::liquidate(public), wait).await
	}

	/// Ends the session at once, signed by the counterpart.
	pub async fn discontinue(
		&self,
		counterpart: &impl Signer,
		public: SessionPublic,
		wait: Wait,
	) -> Result<Included> {
		self.submit(counterpart, build::discontinue(public), wait).await
	}

	/// Takes a payment a settlement held for the counterpart (whose account could not receive
	/// it then), signed by the counterpart.
	pub async fn claim_payment(
		&self,
		counterpart: &impl Signer,
		public: SessionPublic,
		wait: Wait,
	) -> Result<Included> {
		self.submit(counterpart, build::claim_payment(public), wait).await
	}

	/// Signs `call` with `signer` at its next nonce (counting the node's pool), submits it and
	/// waits as `wait` says.
	pub async fn submit(
		&self,
		signer: &impl Signer,
		call: RuntimeCall,
		wait: Wait,
	) -> Result<Included> {
		self.submit_with_nonce(signer, call, None, wait).await
	}

	/// [`Client::submit`] with the given nonce (`None`: the signer's next nonce, counting the
	/// pool), to keep several of one signer's transactions in flight.
	pub async fn submit_with_nonce(
		&self,
		signer: &impl Signer,
		call: RuntimeCall,
		nonce: Option<u64>,
		wait: Wait,
	) -> Result<Included> {
		let submitted = self.send(signer, call, nonce).await?;
		self.wait(submitted, wait).await
	}

	/// Signs `call` (at `nonce`, or the signer's next one counting the pool) and hands it to
	/// the node's pool; returns once the pool accepted it, before it is in any block. For a
	/// caller that must act between the two (log it, record it): [`Client::wait`] then
	/// follows it.
	pub async fn send(
		&self,
		signer: &impl Signer,
		call: RuntimeCall,
		nonce: Option<u64>,
	) -> Result<Submitted> {
		let connection = self.connection().await?;
		let nonce = match nonce {
			Some(nonce) => nonce,
			None => connection
				.legacy
				.system_account_next_index(&signer.account_id())
				.await
				.map_err(|e| Error::rpc("system_accountNextIndex", e))?,
		};
		let at = connection.api.at_current_block().await.map_err(Error::submission)?;
		let mut transactions = at.tx();
		// subxt checks the call bytes against the chain's metadata: a call the chain does not
		// know is refused here, before anything is signed.
		let payload =
			transactions.from_call_data_bytes(&call.encode()).map_err(Error::submission)?;
		let metadata_hash = connection.metadata_hash(at.spec_version(), at.block_hash()).await?;
		let params = extensions::params(nonce, metadata_hash);
		let progress = transactions
			.sign_and_submit_then_watch(&payload, signer, params)
			.await
			.map_err(Error::submission)?;
		Ok(Submitted { progress, connection })
	}
}

/// An extrinsic the node's pool accepted (see [`Client::send`]), not yet known to be in a
/// block; [`Client::wait`] follows it.
pub struct Submitted {
	progress: TransactionProgress<ChainConfig, OnlineClientAtBlockImpl<ChainConfig>>,
	connection: Arc<Connection>,
}

impl std::fmt::Debug for Submitted {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("Submitted").field("hash", &self.hash()).finish_non_exhaustive()
	}
}

impl Submitted {
	/// The extrinsic's hash.
	pub fn hash(&self) -> H256 {
		self.progress.extrinsic_hash()
	}
}

impl Client {
	/// Follows `submitted` as `wait` says; the answer is the including block and the
	/// extrinsic's events, or its dispatch error by name (for a call through `proxy.proxy`,
	/// the inner call's).
	pub async fn wait(&self, submitted: Submitted, wait: Wait) -> Result<Included> {
		let Submitted { mut progress, connection } = submitted;
		let in_block = loop {
			let status = match progress.next().await {
				Some(Ok(status)) => status,
				Some(Err(error)) => {
					connection.retire();
					return Err(Error::StatusUnknown(Box::new(error)));
				}
				None => {
					connection.retire();
					return Err(Error::StatusUnknown("the status stream ended".into()));
				}
			};
			match status {
				TransactionStatus::InBestBlock(in_block) if wait == Wait::InBlock => {
					break in_block
				}
				TransactionStatus::InFinalizedBlock(in_block) => break in_block,
				TransactionStatus::Error { message } => {
					return Err(Error::submission(TransactionStatusError::Error(message)))
				}
				TransactionStatus::Invalid { message } => {
					return Err(Error::submission(TransactionStatusError::Invalid(message)))
				}
				TransactionStatus::Dropped { message } => {
					return Err(Error::submission(TransactionStatusError::Dropped(message)))
				}
				_ => continue,
			}
		};
		let block_hash = in_block.block_hash();
		let extrinsic_events = in_block.fetch_events().await.map_err(Error::submission)?;
		let mut events = Vec::new();
		for event in extrinsic_events.iter() {
			let event = event.map_err(Error::submission)?;
			events.push(decode_event_record(event.bytes())?.event);
		}
		let block_number = self.block_number(block_hash).await?;
		for event in &events {
			// A call dispatched through `proxy.proxy` fails inside a successful extrinsic: its
			// error is the one the caller needs.
			let dispatch_error = match event {
				RuntimeEvent::System(frame_system::Event::ExtrinsicFailed {
					dispatch_error,
					..
				}) => dispatch_error,
				RuntimeEvent::Proxy(pallet_proxy::Event::ProxyExecuted {
					result: Err(dispatch_error),
				}) => dispatch_error,
				_ => continue,
			};
			return Err(Error::Dispatch(
				name_failure(&connection, block_hash, *dispatch_error).await,
			));
		}
		tracing::debug!(block = block_number, ?block_hash, "included");
		Ok(Included { block_hash, block_number, events })
	}
}

/// Names a dispatch error from the metadata of the block it happened in, on the connection the
/// extrinsic was submitted over.
async fn name_failure(
	connection: &Connection,
	block_hash: H256,
	error: DispatchError,
) -> DispatchFailure {
	let adjudicator = match RuntimeError::from_dispatch_error(error) {
		Some(RuntimeError::Adjudicator(error)) => Some(error),
		_ => None,
	};
	let (mut pallet, mut name) = (None, None);
	if let DispatchError::Module(module) = error {
		if let Ok(at) = connection.api.at_block(block_hash).await {
			let metadata = at.metadata();
			if let Some(p) = metadata.pallet_by_error_index(module.index) {
				pallet = Some(p.name().to_string());
				name = p.error_variant_by_index(module.error[0]).map(|v| v.name.clone());
			}
		}
	}
	DispatchFailure { error, pallet, name, adjudicator }
}

/// Decodes one event record with the runtime's types.
pub(crate) fn decode_event_record(mut bytes: &[u8]) -> Result<EventRecord<RuntimeEvent, H256>> {
	EventRecord::decode(&mut bytes)
		.map_err(|source| Error::Decode { what: "an event record", source })
}

impl Client {
	/// Signs each `(signer, call, nonce)` as an immortal extrinsic, offline, with the runtime's
	/// own extrinsic types; returns each one's hash and encoding, for
	/// `author_submitExtrinsic`.
	///
	/// For bulk work (load tests, batch jobs): one runtime-version read for the whole batch,
	/// then no node involved, far cheaper per extrinsic than subxt's metadata-driven encoding.
	/// Immortal extrinsics stay valid until the nonce is used, so a batch can be signed long
	/// before it is sent.
	pub async fn presign(
		&self,
		calls: Vec<(&sp_core::sr25519::Pair, RuntimeCall, session_keys_runtime::Nonce)>,
	) -> Result<Vec<(H256, Vec<u8>)>> {
		use sp_runtime::traits::{BlakeTwo256, Hash};
		let genesis = self.genesis_hash;
		let connection = self.connection().await?;
		let best = connection
			.legacy
			.chain_get_block_hash(None)
			.await
			.map_err(|e| Error::rpc("chain_getBlockHash", e))?
			.ok_or(Error::NotFound("the best block"))?;
		let version = connection
			.legacy
			.state_get_runtime_version(Some(best))
			.await
			.map_err(|e| Error::rpc("state_getRuntimeVersion", e))?;
		let metadata_hash = connection.metadata_hash(version.spec_version, best).await?;
		let chain = extensions::OfflineChain {
			spec_version: version.spec_version,
			transaction_version: version.transaction_version,
			genesis,
			metadata_hash: metadata_hash.hash,
		};
		Ok(calls
			.into_iter()
			.map(|(signer, call, nonce)| {
				let encoded = extensions::sign_immortal(signer, call, nonce, &chain);
				(BlakeTwo256::hash(&encoded), encoded)
			})
			.collect())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use session_keys_primitives::{CryptoKind, WeakKey};
	use sp_core::{ed25519, sr25519};

	#[test]
	fn calls_with_keys_that_bind_no_one_are_not_built() {
		let terms = Terms {
			counterpart: AccountId::from([2; 32]),
			duration: None,
			spending_limit: 0,
			collateral: 0,
			description: vec![],
			scope: vec![b"*".to_vec()],
		};
		let identity = SessionPublic::Sr25519(sr25519::Public::from_raw([0; 32]));
		let mut small = [0u8; 32];
		small[0] = 1;
		let small_order = SessionPublic::Ed25519(ed25519::Public::from_raw(small));
		for weak in [identity, small_order] {
			assert!(matches!(
				build::register(weak, vec![0; 64], &terms),
				Err(Error::WeakKey(WeakKey::SmallOrder))
			));
			assert!(matches!(
				build::rotate(weak, weak, vec![0; 64]),
				Err(Error::WeakKey(WeakKey::SmallOrder))
			));
		}
		let real = crate::SessionPair::generate(CryptoKind::Sr25519);
		assert!(build::register(real.public(), vec![0; 64], &terms).is_ok());
	}
}
