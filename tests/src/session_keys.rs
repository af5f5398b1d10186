//! The client side of the `sessionKeys_*` RPC namespace and the calls the scenarios make.

use codec::{Decode, Encode};
use serde::Deserialize;
use session_keys_primitives::{
	request_signing_payload, ChannelState, RequestHeader, SessionPublic,
};
use session_keys_runtime::{AccountId, Balance, BlockNumber, RuntimeCall, SessionKeys};
use sp_core::{
	crypto::Ss58Codec, proof_of_possession::ProofOfPossessionGenerator, sr25519, Bytes, Pair, H256,
};
use subxt::rpcs::rpc_params;

use crate::Chain;

/// `sessionKeys_generate`'s answer.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedKey {
	/// SCALE of the `SessionPublic`.
	pub public: Bytes,
	/// The ownership proof.
	pub proof: Bytes,
}

/// `author_rotateKeysWithOwner`'s answer.
#[derive(Deserialize, Debug)]
pub struct GeneratedSessionKeys {
	/// SCALE of the runtime's `SessionKeys`.
	pub keys: Bytes,
	/// The ownership proof for the owner named in the call.
	pub proof: Option<Bytes>,
}

/// `sessionKeys_registration`'s answer.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
	/// SS58 owner.
	pub owner: String,
	/// SS58 counterpart.
	pub counterpart: String,
	/// First valid block.
	pub registered_at: BlockNumber,
	/// First block no longer valid.
	pub expires_at: BlockNumber,
	/// The settlement block.
	pub settles_at: BlockNumber,
	/// `Live` or `Closing`.
	pub phase: String,
	/// While closing: `Expired` or `Revoked`.
	pub closing_reason: Option<String>,
	/// Decimal spending limit that applies now.
	pub spending_limit: String,
	/// Decimal pending (lower) limit.
	pub pending_limit: Option<String>,
	/// When the pending limit applies.
	pub pending_limit_applies_at: Option<BlockNumber>,
	/// Decimal collateral.
	pub collateral: String,
	/// Description bytes.
	pub description: Bytes,
	/// Scope items.
	pub scope: Vec<Bytes>,
	/// Last checkpointed nonce.
	pub nonce: u64,
	/// Decimal amount owed.
	pub owed: String,
}

/// `sessionKeys_retired`'s answer.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Retired {
	/// SS58 owner.
	pub owner: String,
	/// SS58 counterpart.
	pub counterpart: String,
	/// First valid block.
	pub registered_at: BlockNumber,
	/// First block no longer valid.
	pub ended_at: BlockNumber,
	/// `Expired`, `Revoked`, ...
	pub reason: String,
	/// Final nonce.
	pub nonce: u64,
	/// Decimal amount owed at the end.
	pub owed: String,
}

/// `sessionKeys_authenticate`'s answer.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Authentication {
	/// Accepted or not.
	pub accepted: bool,
	/// Why not.
	pub reason: Option<String>,
	/// SS58 owner, when accepted.
	pub owner: Option<String>,
	/// SS58 counterpart, when accepted.
	pub counterpart: Option<String>,
	/// The key's expiry, when accepted.
	pub expires_at: Option<BlockNumber>,
	/// Decimal free balance of the owner, when accepted.
	pub free_balance: Option<String>,
}

/// SCALE bytes, which serialize as the `0x...` hex the RPC takes.
pub fn scale<T: Encode>(value: &T) -> Bytes {
	Bytes(value.encode())
}

impl Chain {
	/// `sessionKeys_generate(owner, crypto, seed)`.
	pub async fn generate_session_key(
		&self,
		owner: &AccountId,
		crypto: &str,
		seed: Option<&str>,
	) -> Result<(SessionPublic, Vec<u8>), subxt::rpcs::Error> {
		let key: GeneratedKey = self
			.request("sessionKeys_generate", rpc_params![owner.to_ss58check(), crypto, seed])
			.await?;
		let public = SessionPublic::decode(&mut &key.public[..]).expect("a SCALE SessionPublic");
		Ok((public, key.proof.to_vec()))
	}

	/// `sessionKeys_registration(public)` at the best block.
	pub async fn registration(&self, public: &SessionPublic) -> Option<Registration> {
		self.request("sessionKeys_registration", rpc_params![scale(public)])
			.await
			.expect("sessionKeys_registration answers")
	}

	/// `sessionKeys_registration(public, at)`: the registration in the state of block `at`.
	pub async fn registration_at(&self, public: &SessionPublic, at: H256) -> Option<Registration> {
		self.request("sessionKeys_registration", rpc_params![scale(public), at])
			.await
			.expect("sessionKeys_registration answers")
	}

	/// `author_rotateKeysWithOwner(owner)`: new consensus keys in the node's keystore and their
	/// ownership proof for `owner`, ready for `session.set_keys`.
	pub async fn rotate_keys_with_owner(&self, owner: &AccountId) -> (SessionKeys, Vec<u8>) {
		let generated: GeneratedSessionKeys = self
			.request("author_rotateKeysWithOwner", rpc_params![Bytes(owner.encode())])
			.await
			.expect("author_rotateKeysWithOwner answers");
		let keys =
			SessionKeys::decode(&mut &generated.keys[..]).expect("the runtime's SessionKeys");
		(keys, generated.proof.expect("the runtime makes ownership proofs").to_vec())
	}

	/// `sessionKeys_retired(public)` at the best block.
	pub async fn retired(&self, public: &SessionPublic) -> Option<Retired> {
		self.request("sessionKeys_retired", rpc_params![scale(public)])
			.await
			.expect("sessionKeys_retired answers")
	}

	/// `sessionKeys_keysOf(owner)` at the best block.
	pub async fn keys_of(&self, owner: &AccountId) -> Vec<SessionPublic> {
		let keys: Vec<Bytes> = self
			.request("sessionKeys_keysOf", rpc_params![owner.to_ss58check()])
			.await
			.expect("sessionKeys_keysOf answers");
		keys.iter()
			.map(|key| SessionPublic::decode(&mut &key[..]).expect("a SCALE SessionPublic"))
			.collect()
	}

	/// `sessionKeys_authenticate(header)` at the best block.
	pub async fn authenticate(&self, header: &RequestHeader<AccountId, H256>) -> Authentication {
		self.request("sessionKeys_authenticate", rpc_params![scale(header)])
			.await
			.expect("sessionKeys_authenticate answers")
	}
}

/// The terms of a registration.
#[derive(Clone, Debug)]
pub struct Terms {
	/// The counterpart.
	pub counterpart: AccountId,
	/// Blocks until expiry (`None`: the default).
	pub duration: Option<BlockNumber>,
	/// The spending limit.
	pub spending_limit: Balance,
	/// The collateral.
	pub collateral: Balance,
	/// The scope items.
	pub scope: Vec<&'static [u8]>,
}

/// `Adjudicator::register(public, proof, terms...)` with description `e2e`.
pub fn register_call(public: SessionPublic, proof: Vec<u8>, terms: &Terms) -> RuntimeCall {
	RuntimeCall::Adjudicator(pallet_session_keys::Call::register {
		public,
		proof: proof.try_into().expect("proofs fit MAX_PROOF_LEN"),
		counterpart: terms.counterpart.clone().into(),
		duration: terms.duration,
		spending_limit: terms.spending_limit,
		collateral: terms.collateral,
		description: b"e2e".to_vec().try_into().expect("short description"),
		scope: terms
			.scope
			.iter()
			.map(|item| item.to_vec().try_into().expect("short scope item"))
			.collect::<Vec<_>>()
			.try_into()
			.expect("few scope items"),
	})
}

/// The sr25519 session key a seed such as `//Alice//e2e` stands for; the node derives the same
/// key from the same seed.
pub fn session_pair(seed: &str) -> sr25519::Pair {
	sr25519::Pair::from_string(seed, None).expect("a valid seed")
}

/// An sr25519 key's ownership proof for `owner`, made client-side as the node's keystore would.
pub fn ownership_proof(pair: &sr25519::Pair, owner: &AccountId) -> Vec<u8> {
	pair.clone().generate_proof_of_possession(&owner.encode()).encode()
}

/// A channel state signed by `pair` for the chain with `genesis_hash`.
pub fn signed_state(
	pair: &sr25519::Pair,
	genesis_hash: H256,
	state: ChannelState<Balance>,
) -> RuntimeCall {
	let public: SessionPublic = pair.public().into();
	let signature = pair.sign(&state.signing_payload(&genesis_hash, &public));
	RuntimeCall::Adjudicator(pallet_session_keys::Call::checkpoint {
		public,
		state,
		signature: signature.into(),
	})
}

/// A request header for `account`, naming `block_hash`, signed by `pair` for the chain with
/// `genesis_hash`.
pub fn signed_header(
	pair: &sr25519::Pair,
	genesis_hash: H256,
	account: &AccountId,
	block_hash: H256,
	nonce: u64,
	audience: &[u8],
	resource: &[u8],
) -> RequestHeader<AccountId, H256> {
	let payload =
		request_signing_payload(&genesis_hash, account, &block_hash, nonce, audience, resource);
	RequestHeader {
		public: pair.public().into(),
		account: account.clone(),
		block_hash,
		nonce,
		audience: audience.to_vec(),
		resource: resource.to_vec(),
		signature: pair.sign(&payload).into(),
	}
}
