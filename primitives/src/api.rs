//! The runtime API that nodes, RPC servers and gateways call.

use alloc::vec::Vec;
use codec::{Codec, Decode, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;

use crate::{
	AuthError, Authenticated, ChannelState, CryptoKind, GeneratedSessionKey, PendingLimit, Phase,
	ProofError, RequestHeader, RetiredSession, SessionPublic,
};

/// A registration as the runtime API returns it: the stored session with plain vectors in place
/// of the pallet's bounded ones, and its phase at the block the call runs at.
#[derive(Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
pub struct Registration<AccountId, Balance, BlockNumber> {
	/// The account that registered the key.
	pub owner: AccountId,
	/// The account the session is opened with.
	pub counterpart: AccountId,
	/// The first block at which the key is valid.
	pub registered_at: BlockNumber,
	/// The first block at which the key is no longer valid (the revocation block for a revoked
	/// key).
	pub expires_at: BlockNumber,
	/// The block in whose `on_initialize` the session settles: `expires_at` plus the challenge
	/// period.
	pub settles_at: BlockNumber,
	/// Live, or closing (and why) at the block the call runs at.
	pub phase: Phase,
	/// The length of the current term.
	pub duration: BlockNumber,
	/// The spending limit that applies at the block the call runs at.
	pub spending_limit: Balance,
	/// A lower limit the owner asked for, and the block from which it applies.
	pub pending_limit: Option<PendingLimit<Balance, BlockNumber>>,
	/// Collateral held for the session.
	pub collateral: Balance,
	/// Storage deposit held for the session.
	pub deposit: Balance,
	/// What the key is for.
	pub description: Vec<u8>,
	/// The resources the key may be used for (empty: unrestricted).
	pub scope: Vec<Vec<u8>>,
	/// The latest checkpointed channel state.
	pub state: ChannelState<Balance>,
}

sp_api::decl_runtime_apis! {
	/// Session-key adjudicator: key generation, queries and request authentication.
	pub trait SessionKeysApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// Generates a session key of `crypto` in the node's keystore and its ownership proof for
		/// `owner`. `seed` (UTF-8, e.g. `//Alice//session`) makes it deterministic, for
		/// development. `None` if the keystore could not make the proof.
		fn generate_session_key(
			owner: AccountId,
			crypto: CryptoKind,
			seed: Option<Vec<u8>>,
		) -> Option<GeneratedSessionKey>;

		/// Checks an ownership proof exactly as `register` does.
		fn verify_ownership(
			public: SessionPublic,
			owner: AccountId,
			proof: Vec<u8>,
		) -> Result<(), ProofError>;

		/// The registration of `public` while its session is live or closing, if any.
		fn registration(public: SessionPublic) -> Option<Registration<AccountId, Balance, BlockNumber>>;

		/// The retired record of `public`, if its session ended.
		fn retired(public: SessionPublic) -> Option<RetiredSession<AccountId, BlockNumber, Balance>>;

		/// The live keys of `owner`.
		fn keys_of(owner: AccountId) -> Vec<SessionPublic>;

		/// Authenticates a request header signed by a session key.
		///
		/// `current_block_hash` must be the hash of the block the call runs at: the runtime
		/// cannot read its own block's hash, and a header naming the newest block is fresh.
		/// RPC servers pass the hash they call at.
		fn authenticate(
			header: RequestHeader<AccountId, Block::Hash>,
			current_block_hash: Block::Hash,
		) -> Result<Authenticated<AccountId, Balance, BlockNumber>, AuthError>;
	}
}
