//! Proxies: an account lets another act for it.
//!
//! No proxy can move an owner's money into session keys: a proxy acting as the owner would be
//! bounded by nothing but the owner's balance (a stolen proxy key could register a key of its
//! own with an accomplice as counterpart and all the owner's funds as collateral). A key keeper's
//! hot key is instead the owner's *delegate*, bounded by terms the owner set with the
//! adjudicator's `authorize_delegate`, which no proxy type may call: only the owner's own key
//! can widen what a delegate may do.
//!
//! [`ProxyType::SessionKeys`] remains for what cannot move money: renewing, rotating (only
//! possible with nothing at stake) and revoking the owner's keys, and revoking delegates.
//!
//! [`ProxyType::Counterpart`] is the counterpart's hot key (a watchtower's): the adjudicator's
//! counterpart-side calls, each of which can only move money toward the counterpart.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{parameter_types, traits::InstanceFilter};
use scale_info::TypeInfo;
use sp_runtime::traits::BlakeTwo256;

use crate::{Balance, Balances, Runtime, RuntimeCall, RuntimeEvent, MILLI_UNIT};

/// What a proxy may do for the account that granted it.
#[derive(
	Copy,
	Clone,
	Eq,
	PartialEq,
	Ord,
	PartialOrd,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Debug,
	MaxEncodedLen,
	TypeInfo,
	Default,
)]
pub enum ProxyType {
	/// Everything the account can do.
	#[default]
	Any,
	/// The adjudicator's owner-side calls that move no money: `renew`, `revoke`, `revoke_all`,
	/// `rotate` and `revoke_delegate`. Not `register`, `register_for`, `top_up` or
	/// `set_spending_limit` (an increase moves what a key may owe), and no transfer, no other
	/// pallet, no change of proxies. (Until spec version 104 it also allowed `register`,
	/// `top_up` and `set_spending_limit`.)
	SessionKeys,
	/// The adjudicator's counterpart-side calls: `checkpoint`, `liquidate`, `discontinue`,
	/// `settle` and `claim_payment`. Each only moves money toward the counterpart (a checkpoint
	/// raises what the session owes it; the others pay it what is owed), so a
	/// stolen watchtower key can at worst end the counterpart's own sessions early. Nothing else:
	/// no transfer, no other pallet, no change of proxies. (Appended in spec version 105: the
	/// earlier variants keep their encoding.)
	Counterpart,
}

impl InstanceFilter<RuntimeCall> for ProxyType {
	fn filter(&self, call: &RuntimeCall) -> bool {
		use pallet_session_keys::Call;
		// Only the owner's own key authorizes a delegate, whatever a proxy may otherwise do.
		if matches!(call, RuntimeCall::Adjudicator(Call::authorize_delegate { .. })) {
			return false;
		}
		match self {
			ProxyType::Any => true,
			ProxyType::SessionKeys => {
				matches!(
					call,
					RuntimeCall::Adjudicator(
						Call::renew { .. }
							| Call::revoke { .. } | Call::revoke_all { .. }
							| Call::rotate { .. } | Call::revoke_delegate { .. }
					)
				)
			}
			ProxyType::Counterpart => {
				matches!(
					call,
					RuntimeCall::Adjudicator(
						Call::checkpoint { .. }
							| Call::liquidate { .. }
							| Call::discontinue { .. }
							| Call::settle { .. } | Call::claim_payment { .. }
					)
				)
			}
		}
	}

	fn is_superset(&self, other: &Self) -> bool {
		match (self, other) {
			(ProxyType::Any, _) => true,
			(this, other) => this == other,
		}
	}
}

/// Deposit for one storage item of `bytes` bytes, on the adjudicator's scale (a base of
/// 10 MILLI_UNIT and MILLI_UNIT / 10 per byte).
const fn deposit(items: u32, bytes: u32) -> Balance {
	items as Balance * 10 * MILLI_UNIT + bytes as Balance * (MILLI_UNIT / 10)
}

parameter_types! {
	/// A proxy list's storage item: its key (an account, 32 bytes) and a balance (16 bytes).
	pub const ProxyDepositBase: Balance = deposit(1, 48);
	/// Each proxy in the list: an account, a proxy type and a delay.
	pub const ProxyDepositFactor: Balance = deposit(0, 37);
	/// Proxies per account.
	pub const MaxProxies: u32 = 32;
	/// Pending announcements per proxy.
	pub const MaxPending: u32 = 32;
	/// An announcement list's storage item.
	pub const AnnouncementDepositBase: Balance = deposit(1, 48);
	/// Each announcement: an account, a hash and a block number.
	pub const AnnouncementDepositFactor: Balance = deposit(0, 68);
}

impl pallet_proxy::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type Currency = Balances;
	type ProxyType = ProxyType;
	type ProxyDepositBase = ProxyDepositBase;
	type ProxyDepositFactor = ProxyDepositFactor;
	type MaxProxies = MaxProxies;
	type WeightInfo = pallet_proxy::weights::SubstrateWeight<Runtime>;
	type MaxPending = MaxPending;
	type CallHasher = BlakeTwo256;
	type AnnouncementDepositBase = AnnouncementDepositBase;
	type AnnouncementDepositFactor = AnnouncementDepositFactor;
	type BlockNumberProvider = frame_system::Pallet<Runtime>;
}
