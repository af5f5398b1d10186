//! The runtime API that nodes, RPC servers and gateways call.

use alloc::vec::Vec;
use codec::Codec;

use crate::{
	AuthError, Authenticated, CryptoKind, Delegation, GeneratedSessionKey, KeyRecord, ProofError,
	Registration, RequestHeader, RequestHeaderV2, RetiredSession, SessionPublic,
};

sp_api::decl_runtime_apis! {
	/// Session-key adjudicator: key generation, queries and request authentication.
	///
	/// Version 2: `registration` returns the stored record in its plain form (with `revoked`,
	/// the stored limit and pending decrease) in place of version 1's view (phase and applied
	/// limit at the block).
	///
	/// Version 3: `authenticate` takes no `current_block_hash` from the caller; the runtime
	/// checks the header's block hash against the hashes it keeps itself. Retired records carry
	/// `paid` beside `owed`; `header_validity` is new.
	///
	/// Version 4: registrations and retired records name the `delegate` that registered the
	/// key, if any; `delegation` is new.
	///
	/// Version 5: `key_state` answers what a key is in one read; `authenticate_v2` checks a
	/// version 2 header, which binds the request's query and body too.
	#[api_version(4)]
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

		/// The registration of `public` while its session is live or closing, if any, in its
		/// plain form: the stored record as it is (a pending limit decrease may already apply:
		/// read it with `Registration::limit_at`, and the phase with `Registration::phase_at`,
		/// at the block the call ran at).
		fn registration(public: SessionPublic) -> Option<Registration<AccountId, Balance, BlockNumber>>;

		/// The retired record of `public`, if its session ended.
		fn retired(public: SessionPublic) -> Option<RetiredSession<AccountId, BlockNumber, Balance>>;

		/// The live and closing keys of `owner`.
		fn keys_of(owner: AccountId) -> Vec<SessionPublic>;

		/// Authenticates a request header signed by a session key, at the block the call runs
		/// at.
		///
		/// The header's block hash must be one of the `HeaderValidity` blocks before that block,
		/// whose hashes frame-system keeps: the runtime trusts no hash it cannot check itself. A
		/// block's own hash is not known to its state, so a header naming the newest block is
		/// accepted from the next block on. Call it at a recent block: an RPC server refuses an
		/// `at` older than `HeaderValidity` blocks behind its best block.
		fn authenticate(
			header: RequestHeader<AccountId, Block::Hash>,
		) -> Result<Authenticated<AccountId, Balance, BlockNumber>, AuthError>;

		/// `HeaderValidity`: how many blocks before the current one a request header may name.
		/// Added in version 3.
		fn header_validity() -> BlockNumber;

		/// What `owner` allows `delegate` to do and how much of it the delegate's live and
		/// closing keys use, if the owner authorized it or keys it made still count. Added in
		/// version 4.
		#[api_version(4)]
		fn delegation(owner: AccountId, delegate: AccountId) -> Option<Delegation<AccountId, Balance, BlockNumber>>;

		/// What the chain holds of `public`: nothing, its registration (live or closing) or its
		/// retired record, in one read. Added in version 5.
		#[api_version(5)]
		fn key_state(public: SessionPublic) -> KeyRecord<AccountId, Balance, BlockNumber>;

		/// Authenticates a version 2 request header as `authenticate` does a version 1 header;
		/// its query must be in canonical form too (`NonCanonicalQuery`). The body is not seen
		/// here: its digest is only covered by the signature. Added in version 5.
		#[api_version(5)]
		fn authenticate_v2(
			header: RequestHeaderV2<AccountId, Block::Hash>,
		) -> Result<Authenticated<AccountId, Balance, BlockNumber>, AuthError>;
	}
}
