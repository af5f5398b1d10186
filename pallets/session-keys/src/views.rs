//! Read-only views: sessions, retired records and owners' keys, the runtime API's registration,
//! and request authentication.

use alloc::vec::Vec;
use frame_support::{
	storage::unhashed,
	traits::{fungible::Inspect, Get},
};
use frame_system::pallet_prelude::BlockNumberFor;
use session_keys_primitives::{
	check_request, AuthError, Authenticated, Delegation, KeyRecord, Registration, RequestHeader,
	RequestHeaderV2, SessionPublic, SignedRequest,
};
use sp_runtime::traits::Saturating;

use crate::{
	migrations::retired::decode_record, BalanceOf, Config, DelegateUsages, Delegations,
	OwnerSessions, Pallet, RegistrationOf, Retired, RetiredOf, Sessions,
};

/// A registration in its plain form, as the runtime API returns it.
pub type PlainRegistrationOf<T> =
	Registration<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// An owner's authorization of a delegate with its usage, as the runtime API returns it.
pub type DelegationOf<T> =
	Delegation<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// A successful authentication in the runtime API's shape.
pub type AuthenticatedOf<T> =
	Authenticated<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// A request header on this chain.
pub type RequestHeaderOf<T> =
	RequestHeader<<T as frame_system::Config>::AccountId, <T as frame_system::Config>::Hash>;
/// A version 2 request header on this chain.
pub type RequestHeaderV2Of<T> =
	RequestHeaderV2<<T as frame_system::Config>::AccountId, <T as frame_system::Config>::Hash>;
/// What the chain holds of a key, as the runtime API returns it.
pub type KeyRecordOf<T> =
	KeyRecord<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

impl<T: Config> Pallet<T> {
	/// The session (live or closing) of `public`, if any.
	pub fn session(public: &SessionPublic) -> Option<RegistrationOf<T>> {
		Sessions::<T>::get(public)
	}

	/// The retired record of `public`, if its session was settled.
	///
	/// Read in whichever layout it is stored: until the multi-block migration
	/// ([`crate::migrations::retired`]) has rewritten it, a record may have an older one.
	pub fn retired(public: &SessionPublic) -> Option<RetiredOf<T>> {
		let raw = unhashed::get_raw(&Retired::<T>::hashed_key_for(public))?;
		decode_record::<T>(&raw).map(|(_, record)| record)
	}

	/// The live and closing keys of `owner`.
	pub fn keys_of(owner: &T::AccountId) -> Vec<SessionPublic> {
		OwnerSessions::<T>::get(owner).into_inner()
	}

	/// What `owner` allows `delegate` and what the delegate's live and closing keys hold, if the
	/// owner authorized it or such keys still count (after a revocation, `terms` is `None`).
	pub fn delegation(owner: &T::AccountId, delegate: &T::AccountId) -> Option<DelegationOf<T>> {
		let authorization = Delegations::<T>::get(owner, delegate);
		let usage = DelegateUsages::<T>::get(owner, delegate);
		if authorization.is_none() && usage.is_none() {
			return None;
		}
		let (terms, deposit) = match authorization {
			Some(authorization) => (Some(authorization.terms.into_plain()), authorization.deposit),
			None => (None, Default::default()),
		};
		Some(Delegation { terms, deposit, usage: usage.unwrap_or_default() })
	}

	/// Whether `public` was or is valid at `block`: a registered key in `[registered_at,
	/// expires_at)` (a revoked key expired when it was revoked), a retired one in
	/// `[registered_at, ended_at)`.
	pub fn is_valid_at(public: &SessionPublic, block: BlockNumberFor<T>) -> bool {
		if let Some(session) = Sessions::<T>::get(public) {
			return session.registered_at <= block && session.is_live_at(block);
		}
		Self::retired(public).is_some_and(|record| record.was_valid_at(block))
	}

	/// The registration of `public` while its session is live or closing, in its plain form
	/// (the stored record with `Vec` terms).
	pub fn registration(public: &SessionPublic) -> Option<PlainRegistrationOf<T>> {
		Sessions::<T>::get(public).map(|session| session.into_plain())
	}

	/// Authenticates a request header signed by a session key (see
	/// [`session_keys_primitives::RequestHeader`]) at the current block.
	///
	/// Valid when the key is live (not closing: a revoked key answers `KeyRevoked`, an expired
	/// one `KeyExpired`) and owned by `header.account`; the block hash is one of the
	/// `HeaderValidity` blocks before this one, whose hashes frame-system keeps (nothing the
	/// caller says is trusted: this block's own hash is not in its state, so a header naming it
	/// is accepted from the next block on); the resource is canonical (no `..`, `.` or empty
	/// segment, no `%`, `\`, `;` or control byte: `NonCanonicalResource`) and within the key's scope
	/// (an empty scope allows nothing); and the signature covers the header for this chain.
	/// The rule is [`session_keys_primitives::check_request`], which gateways share: cheap checks
	/// come first, the signature is verified last.
	///
	/// Nonces are not tracked here: the gateway refuses a `(public, nonce)` it has seen while the
	/// header's block hash is fresh.
	pub fn authenticate(header: &RequestHeaderOf<T>) -> Result<AuthenticatedOf<T>, AuthError> {
		Self::authenticate_signed(header)
	}

	/// Authenticates a version 2 request header (see
	/// [`session_keys_primitives::RequestHeaderV2`]) as [`Pallet::authenticate`] does a version
	/// 1 header; its query must be canonical too (`NonCanonicalQuery`). The body's digest is
	/// only covered by the signature: the runtime does not see the body.
	pub fn authenticate_v2(header: &RequestHeaderV2Of<T>) -> Result<AuthenticatedOf<T>, AuthError> {
		Self::authenticate_signed(header)
	}

	fn authenticate_signed(
		header: &impl SignedRequest<T::AccountId, T::Hash>,
	) -> Result<AuthenticatedOf<T>, AuthError> {
		let record = Self::key_state(header.public());
		let now = frame_system::Pallet::<T>::block_number();
		check_request(header, record.view(now), Self::is_recent_block_hash, &Self::genesis_hash())?;
		// `check_request` accepts only a live key, so the registration is there.
		let KeyRecord::Registered(session) = record else { return Err(AuthError::UnknownKey) };
		Ok(Authenticated {
			free_balance: T::Currency::balance(&session.owner),
			owner: session.owner,
			counterpart: session.counterpart,
			expires_at: session.expires_at,
			scope: session.scope,
		})
	}

	/// What the chain holds of `public`: its registration (live or closing) in plain form, its
	/// retired record, or nothing.
	pub fn key_state(public: &SessionPublic) -> KeyRecordOf<T> {
		if let Some(session) = Sessions::<T>::get(public) {
			return KeyRecord::Registered(session.into_plain());
		}
		match Self::retired(public) {
			Some(record) => KeyRecord::Retired(record),
			None => KeyRecord::Unknown,
		}
	}

	/// Whether `hash` names one of the `HeaderValidity` blocks before the current one, as
	/// frame-system recorded their hashes.
	pub fn is_recent_block_hash(hash: &T::Hash) -> bool {
		// `HeaderValidity <= BlockHashCount` (checked in `integrity_test`), so every block in
		// the window still has its hash in frame-system; a pruned or future block reads as the
		// default hash, which never matches.
		if *hash == T::Hash::default() {
			return false;
		}
		let now = frame_system::Pallet::<T>::block_number();
		let oldest = now.saturating_sub(T::HeaderValidity::get());
		let mut block = now;
		while block > oldest {
			block.saturating_dec();
			if frame_system::Pallet::<T>::block_hash(block) == *hash {
				return true;
			}
		}
		false
	}
}
