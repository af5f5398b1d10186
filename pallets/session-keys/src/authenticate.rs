//! Read-only views for the runtime API: registrations and request authentication.

use alloc::vec::Vec;
use frame_support::traits::{fungible::Inspect, Get};
use frame_system::pallet_prelude::BlockNumberFor;
use session_keys_primitives::{
	scope_allows, AuthError, Authenticated, Registration, RequestHeader, SessionPublic,
};
use sp_runtime::traits::{One, Saturating};

use crate::{BalanceOf, Config, Pallet, Retired, Sessions};

/// A registration in the runtime API's shape.
pub type RegistrationOf<T> =
	Registration<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// A successful authentication in the runtime API's shape.
pub type AuthenticatedOf<T> =
	Authenticated<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// A request header on this chain.
pub type RequestHeaderOf<T> =
	RequestHeader<<T as frame_system::Config>::AccountId, <T as frame_system::Config>::Hash>;

impl<T: Config> Pallet<T> {
	/// The live registration of `public`, with plain vectors for description and scope.
	pub fn registration(public: &SessionPublic) -> Option<RegistrationOf<T>> {
		let session = Sessions::<T>::get(public)?;
		Some(Registration {
			owner: session.owner,
			counterpart: session.counterpart,
			registered_at: session.registered_at,
			expires_at: session.expires_at,
			duration: session.duration,
			spending_limit: session.spending_limit,
			collateral: session.collateral,
			deposit: session.deposit,
			description: session.description.into_inner(),
			scope: session.scope.into_iter().map(|item| item.into_inner()).collect(),
			state: session.state,
		})
	}

	/// Authenticates a request header signed by a session key (see
	/// [`session_keys_primitives::RequestHeader`]).
	///
	/// Valid when the key is live, not past its expiry, and owned by `header.account`; the block
	/// hash is `current_block_hash` (the block this runs at, which the runtime cannot read) or
	/// one of the `HeaderValidity - 1` blocks before it; the resource is within the key's scope;
	/// and the signature covers the header for this chain. Cheap checks come first; the
	/// signature is verified last.
	///
	/// Nonces are not tracked here: the gateway refuses a `(public, nonce)` it has seen while the
	/// header's block hash is fresh.
	pub fn authenticate(
		header: &RequestHeaderOf<T>,
		current_block_hash: T::Hash,
	) -> Result<AuthenticatedOf<T>, AuthError> {
		let Some(session) = Sessions::<T>::get(header.public) else {
			return Err(match Retired::<T>::get(header.public) {
				Some(record) => AuthError::KeyEnded(record.reason),
				None => AuthError::UnknownKey,
			});
		};
		let now = frame_system::Pallet::<T>::block_number();
		if now >= session.expires_at {
			return Err(AuthError::KeyExpired);
		}
		if session.owner != header.account {
			return Err(AuthError::WrongAccount);
		}
		if !Self::is_recent_block_hash(&header.block_hash, current_block_hash) {
			return Err(AuthError::StaleBlockHash);
		}
		if !scope_allows(&session.scope, &header.resource) {
			return Err(AuthError::OutOfScope);
		}
		let payload = header.signing_payload(&Self::genesis_hash());
		if !header.public.verify(&payload, &header.signature) {
			return Err(AuthError::BadSignature);
		}
		Ok(Authenticated {
			free_balance: T::Currency::balance(&session.owner),
			owner: session.owner,
			counterpart: session.counterpart,
			expires_at: session.expires_at,
			scope: session.scope.into_iter().map(|item| item.into_inner()).collect::<Vec<_>>(),
		})
	}

	/// Whether `hash` names one of the last `HeaderValidity` blocks, counting the current one
	/// (whose hash the caller supplies, as frame-system stores only its ancestors' hashes).
	fn is_recent_block_hash(hash: &T::Hash, current_block_hash: T::Hash) -> bool {
		if *hash == current_block_hash {
			return true;
		}
		// `HeaderValidity <= BlockHashCount` (checked in `integrity_test`), so every block in
		// the window still has its hash in frame-system.
		let now = frame_system::Pallet::<T>::block_number();
		let oldest = now.saturating_sub(T::HeaderValidity::get().saturating_sub(One::one()));
		let mut block = now;
		while block > oldest {
			block.saturating_dec();
			let stored = frame_system::Pallet::<T>::block_hash(block);
			if stored == *hash && stored != T::Hash::default() {
				return true;
			}
		}
		false
	}
}
