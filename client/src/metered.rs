//! [`MeteredSession`]: API calls paid by signed channel states.
//!
//! A gateway with a price (`session-keys-gateway --price`) takes each call only with the next
//! channel state, signed by the same session key: `nonce` one above the last, `owed` at least
//! the last plus the price. The session tracks the last state and, for each call, signs the
//! version 2 request header ([`crate::HTTP_HEADER`]) and the next state
//! ([`crate::STATE_HEADER`], [`crate::StateHeader`]). The counterpart's watchtower keeps the
//! newest state and checkpoints it on chain before the key's window closes.
//!
//! ```no_run
//! use session_keys_client::{BoundRequest, CryptoKind, MeteredSession, SessionPair};
//! # fn run(owner: session_keys_client::AccountId, genesis: sp_core::H256, block: sp_core::H256) {
//! let key = SessionPair::generate(CryptoKind::Sr25519);
//! let mut session = MeteredSession::new(key, owner, genesis, b"api.example".to_vec(), 1);
//! let request = BoundRequest::parse("GET /orders/17", b"").expect("a valid request");
//! let call = session.sign_call(block, &request);
//! // Send `call.auth` as `x-session-auth` and `call.state` as `x-session-state`.
//! # }
//! ```

use sp_core::H256;

use crate::{
	encode_header_v2, AccountId, Balance, BoundRequest, ChannelState, HeaderRequestV2, SessionPair,
	StateHeader,
};

/// The two header values of one metered call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeteredCall {
	/// The `x-session-auth` value: a version 2 header bound to the request.
	pub auth: String,
	/// The `x-session-state` value: the next state, signed.
	pub state: String,
	/// The state it carries (now the session's last).
	pub channel_state: ChannelState<Balance>,
}

/// A session key's metered calls to one gateway: the last state signed, the price per call,
/// and the header nonces.
#[derive(Debug)]
pub struct MeteredSession {
	key: SessionPair,
	account: AccountId,
	genesis: H256,
	audience: Vec<u8>,
	price: Balance,
	last: ChannelState<Balance>,
	header_nonce: u64,
}

impl MeteredSession {
	/// A session for `key` (owned by `account`) on the chain with `genesis`, calling the
	/// gateway named `audience` at `price` a call, starting from the registration's state
	/// (nonce 0, nothing owed, no margin). Header nonces start at the current time in
	/// microseconds, so a restarted client does not reuse one the gateway has seen.
	pub fn new(
		key: SessionPair,
		account: AccountId,
		genesis: H256,
		audience: Vec<u8>,
		price: Balance,
	) -> Self {
		let header_nonce = std::time::SystemTime::now()
			.duration_since(std::time::UNIX_EPOCH)
			.map_or(1, |since| since.as_micros() as u64);
		Self {
			key,
			account,
			genesis,
			audience,
			price,
			last: ChannelState { nonce: 0, owed: 0, margin: 0 },
			header_nonce,
		}
	}

	/// Continues from `last`, the newest state signed before (held by the watchtower, or
	/// named by a gateway's 402 answer: `expectedNonce - 1` and `minOwed - price`).
	pub fn resume_from(&mut self, last: ChannelState<Balance>) {
		self.last = last;
	}

	/// The last state signed.
	pub fn last(&self) -> ChannelState<Balance> {
		self.last
	}

	/// The price per call.
	pub fn price(&self) -> Balance {
		self.price
	}

	/// The session key.
	pub fn key(&self) -> &SessionPair {
		&self.key
	}

	/// Signs the next call of `request`, naming the recent block `block_hash`: a version 2
	/// header and the next state (`nonce + 1`, `owed + price`, the same margin), which becomes
	/// the last.
	pub fn sign_call(&mut self, block_hash: H256, request: &BoundRequest) -> MeteredCall {
		self.header_nonce = self.header_nonce.wrapping_add(1);
		let header = self.key.sign_header_v2(
			self.genesis,
			&HeaderRequestV2 {
				account: &self.account,
				block_hash,
				nonce: self.header_nonce,
				audience: &self.audience,
				request,
			},
		);
		let next = ChannelState {
			nonce: self.last.nonce.saturating_add(1),
			owed: self.last.owed.saturating_add(self.price),
			margin: self.last.margin,
		};
		let signature = self.key.sign_state(self.genesis, &next);
		self.last = next;
		MeteredCall {
			auth: encode_header_v2(&header),
			state: StateHeader { state: next, signature }.encode(),
			channel_state: next,
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{decode_header_v2, CryptoKind};

	#[test]
	fn each_call_carries_the_next_state_signed_by_the_same_key() {
		let key = SessionPair::from_uri(CryptoKind::Sr25519, "//Alice//metered").unwrap();
		let public = key.public();
		let genesis = H256::repeat_byte(9);
		let owner = AccountId::from([1u8; 32]);
		let mut session = MeteredSession::new(key, owner.clone(), genesis, b"api".to_vec(), 3);
		session.resume_from(ChannelState { nonce: 4, owed: 10, margin: 2 });
		let request = BoundRequest::parse("GET /a?b=1", b"").unwrap();
		let first = session.sign_call(H256::repeat_byte(2), &request);
		let second = session.sign_call(H256::repeat_byte(2), &request);
		for (call, nonce, owed) in [(&first, 5, 13), (&second, 6, 16)] {
			let state = StateHeader::parse(&call.state).unwrap();
			assert_eq!(state.state, ChannelState { nonce, owed, margin: 2 });
			assert_eq!(call.channel_state, state.state);
			let payload = state.state.signing_payload(&genesis, &public);
			assert!(public.verify(&payload, &state.signature));
			let header = decode_header_v2(&call.auth).unwrap();
			assert_eq!(header.public, public);
			assert_eq!(header.account, owner);
			assert_eq!(header.resource, b"GET /a".to_vec());
		}
		let (one, two) =
			(decode_header_v2(&first.auth).unwrap(), decode_header_v2(&second.auth).unwrap());
		assert_eq!(two.nonce, one.nonce + 1, "each header has its own nonce");
		assert_eq!(session.last(), ChannelState { nonce: 6, owed: 16, margin: 2 });
		assert_eq!(session.price(), 3);
	}
}
