//! What the daemon does next for one profile: a pure function of the profile, its stored keys,
//! what the chain shows of them and the current block, so every rule is unit-tested without a
//! chain.
//!
//! The rules, in order:
//! 1. Each stored key's status follows the chain: registered and before expiry → live;
//!    revoked or expired → closing; retired → ended. A key the keeper treats as closing is
//!    already replaced: for its own use it is as good as ended.
//! 2. The newest live key is renewed once fewer than the renew margin's blocks are left, before
//!    anything else: a successor still on its way must not leave a gap.
//! 3. A pending key (made, sealed, maybe submitted) is registered next: the chain has been
//!    asked, at the block the plan is made for, and does not know it.
//! 4. With no live key a new one is made.
//! 5. Once a successor is live the older live keys are revoked; until then they stay, so every
//!    block has a live key.
//! 6. A live key of the rotation age gets a successor.

use session_keys_client::{BlockNumber, EndReason};

use crate::store::{KeyStatus, Profile, StoredKey};

/// What the chain shows of a stored key at one block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnChain {
	/// Neither registered nor retired.
	Unknown,
	/// Registered: live before `expires_at`, closing from it.
	Registered {
		/// The block it was registered in.
		registered_at: BlockNumber,
		/// Its expiry, or the block it was revoked in.
		expires_at: BlockNumber,
		/// Whether it was revoked.
		revoked: bool,
	},
	/// Retired for good.
	Retired {
		/// The block it was registered in.
		registered_at: BlockNumber,
		/// The first block it was no longer valid at.
		ended_at: BlockNumber,
		/// Why.
		reason: EndReason,
	},
}

/// One step of the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
	/// Record what the chain shows of stored key `id`.
	Record {
		/// The key's row.
		id: i64,
		/// Its new status.
		status: KeyStatus,
		/// The block it was registered in, if known.
		registered_at: Option<BlockNumber>,
		/// Its expiry (or end) block, if known.
		expires_at: Option<BlockNumber>,
		/// Why it ended, if it has.
		ended_reason: Option<String>,
	},
	/// Submit the registration of pending key `id` (its secret is stored).
	Register {
		/// The key's row.
		id: i64,
	},
	/// Make, seal and store a new key, then register it (`successor_of`: the live key it will
	/// replace).
	Generate {
		/// The live key being rotated out, if any.
		successor_of: Option<i64>,
	},
	/// Renew live key `id` for another term.
	Renew {
		/// The key's row.
		id: i64,
		/// Blocks it had left.
		blocks_left: BlockNumber,
	},
	/// Revoke live key `id`: its successor is live.
	Revoke {
		/// The key's row.
		id: i64,
		/// The successor that is live.
		successor: i64,
	},
}

/// A stored key with what the chain shows of it.
#[derive(Clone, Debug)]
pub struct Observed {
	/// The stored key.
	pub key: StoredKey,
	/// What the chain shows.
	pub chain: OnChain,
}

/// The actions for `profile` at block `now`, in the order they are to be taken. At most one
/// action submits anything; the daemon plans again after it.
pub fn plan(profile: &Profile, keys: &[Observed], now: BlockNumber) -> Vec<Action> {
	let mut actions = Vec::new();
	let mut live = Vec::new();
	let mut pending = Vec::new();
	for Observed { key, chain } in keys {
		let (status, registered_at, expires_at, reason) = match *chain {
			OnChain::Unknown if key.status == KeyStatus::Pending => {
				pending.push(key);
				continue;
			}
			// A key the keeper saw registered that the chain no longer knows: only a purged
			// chain does this; the key is of no use any more.
			OnChain::Unknown => {
				(KeyStatus::Ended, None, None, Some("no longer on chain".to_string()))
			}
			OnChain::Registered { registered_at, expires_at, .. } if now < expires_at => {
				live.push((key, registered_at, expires_at));
				(KeyStatus::Live, Some(registered_at), Some(expires_at), None)
			}
			OnChain::Registered { registered_at, expires_at, revoked } => (
				KeyStatus::Closing,
				Some(registered_at),
				Some(expires_at),
				Some(if revoked { "revoked" } else { "expired" }.to_string()),
			),
			OnChain::Retired { registered_at, ended_at, reason } => {
				(KeyStatus::Ended, Some(registered_at), Some(ended_at), Some(format!("{reason:?}")))
			}
		};
		let changed = status != key.status
			|| registered_at != key.registered_at
			|| expires_at != key.expires_at
			|| (reason.is_some() && reason != key.ended_reason);
		if changed {
			actions.push(Action::Record {
				id: key.id,
				status,
				registered_at,
				expires_at,
				ended_reason: reason,
			});
		}
	}

	// Newest registration last.
	live.sort_by_key(|(key, registered_at, _)| (*registered_at, key.id));
	if let Some(&(newest, _, expires_at)) = live.last() {
		let blocks_left = expires_at.saturating_sub(now);
		if blocks_left <= profile.renew_margin {
			actions.push(Action::Renew { id: newest.id, blocks_left });
			return actions;
		}
	}
	if let Some(key) = pending.first() {
		actions.push(Action::Register { id: key.id });
		return actions;
	}
	let Some(&(newest, registered_at, _)) = live.last() else {
		actions.push(Action::Generate { successor_of: None });
		return actions;
	};
	if let Some((older, ..)) = live.iter().rev().nth(1) {
		actions.push(Action::Revoke { id: older.id, successor: newest.id });
		return actions;
	}
	if now.saturating_sub(registered_at) >= profile.rotation_interval {
		actions.push(Action::Generate { successor_of: Some(newest.id) });
	}
	actions
}

#[cfg(test)]
mod tests {
	use session_keys_client::{AccountId, CryptoKind, SessionPublic};

	use super::*;

	fn profile() -> Profile {
		Profile {
			name: "api".into(),
			counterpart: AccountId::from([2; 32]),
			duration: 100,
			spending_limit: 0,
			collateral: 0,
			scope: vec![],
			description: String::new(),
			crypto: CryptoKind::Sr25519,
			renew_margin: 25,
			rotation_interval: 300,
		}
	}

	fn key(
		id: i64,
		status: KeyStatus,
		registered_at: Option<u32>,
		expires_at: Option<u32>,
	) -> StoredKey {
		StoredKey {
			id,
			profile: "api".into(),
			public: SessionPublic::Sr25519(sp_core::sr25519::Public::from_raw([id as u8; 32])),
			status,
			created_at: 0,
			registered_at,
			expires_at,
			ended_reason: None,
		}
	}

	fn live(id: i64, registered_at: u32, expires_at: u32) -> Observed {
		Observed {
			key: key(id, KeyStatus::Live, Some(registered_at), Some(expires_at)),
			chain: OnChain::Registered { registered_at, expires_at, revoked: false },
		}
	}

	#[test]
	fn with_no_key_a_key_is_made() {
		assert_eq!(plan(&profile(), &[], 10), vec![Action::Generate { successor_of: None }]);
	}

	#[test]
	fn a_pending_key_unknown_to_the_chain_is_registered_before_anything_else() {
		let pending =
			Observed { key: key(1, KeyStatus::Pending, None, None), chain: OnChain::Unknown };
		assert_eq!(plan(&profile(), &[pending], 10), vec![Action::Register { id: 1 }]);
	}

	#[test]
	fn a_pending_key_the_chain_knows_is_recorded_live_and_not_registered_again() {
		let pending = Observed {
			key: key(1, KeyStatus::Pending, None, None),
			chain: OnChain::Registered { registered_at: 5, expires_at: 105, revoked: false },
		};
		assert_eq!(
			plan(&profile(), &[pending], 10),
			vec![Action::Record {
				id: 1,
				status: KeyStatus::Live,
				registered_at: Some(5),
				expires_at: Some(105),
				ended_reason: None
			}]
		);
	}

	#[test]
	fn a_live_key_is_renewed_at_the_margin_and_not_before() {
		assert_eq!(plan(&profile(), &[live(1, 0, 100)], 74), vec![]);
		assert_eq!(
			plan(&profile(), &[live(1, 0, 100)], 75),
			vec![Action::Renew { id: 1, blocks_left: 25 }]
		);
	}

	#[test]
	fn at_the_rotation_age_a_successor_is_made_and_the_old_key_kept() {
		assert_eq!(plan(&profile(), &[live(1, 0, 400)], 299), vec![]);
		assert_eq!(
			plan(&profile(), &[live(1, 0, 400)], 300),
			vec![Action::Generate { successor_of: Some(1) }]
		);
	}

	#[test]
	fn the_predecessor_is_revoked_only_once_the_successor_is_live() {
		let successor_pending =
			Observed { key: key(2, KeyStatus::Pending, None, None), chain: OnChain::Unknown };
		assert_eq!(
			plan(&profile(), &[live(1, 0, 400), successor_pending], 301),
			vec![Action::Register { id: 2 }]
		);
		assert_eq!(
			plan(&profile(), &[live(1, 0, 400), live(2, 302, 402)], 303),
			vec![Action::Revoke { id: 1, successor: 2 }]
		);
	}

	#[test]
	fn a_key_near_its_expiry_is_renewed_even_while_its_successor_is_on_its_way() {
		let successor_pending =
			Observed { key: key(2, KeyStatus::Pending, None, None), chain: OnChain::Unknown };
		assert_eq!(
			plan(&profile(), &[live(1, 0, 100), successor_pending], 80),
			vec![Action::Renew { id: 1, blocks_left: 20 }]
		);
		// The newest live key is the one renewed.
		assert_eq!(
			plan(&profile(), &[live(1, 0, 90), live(2, 50, 80)], 79),
			vec![Action::Renew { id: 2, blocks_left: 1 }]
		);
	}

	#[test]
	fn a_closing_or_retired_key_is_recorded_and_replaced() {
		let revoked = Observed {
			key: key(1, KeyStatus::Live, Some(0), Some(100)),
			chain: OnChain::Registered { registered_at: 0, expires_at: 50, revoked: true },
		};
		let actions = plan(&profile(), &[revoked], 60);
		assert_eq!(
			actions,
			vec![
				Action::Record {
					id: 1,
					status: KeyStatus::Closing,
					registered_at: Some(0),
					expires_at: Some(50),
					ended_reason: Some("revoked".into())
				},
				Action::Generate { successor_of: None },
			]
		);
		let liquidated = Observed {
			key: key(1, KeyStatus::Closing, Some(0), Some(50)),
			chain: OnChain::Retired {
				registered_at: 0,
				ended_at: 50,
				reason: EndReason::Liquidated,
			},
		};
		assert_eq!(
			plan(&profile(), &[liquidated], 60)[0],
			Action::Record {
				id: 1,
				status: KeyStatus::Ended,
				registered_at: Some(0),
				expires_at: Some(50),
				ended_reason: Some("Liquidated".into())
			}
		);
	}

	#[test]
	fn an_expired_key_is_closing_from_its_expiry_block() {
		let actions = plan(&profile(), &[live(1, 0, 100)], 100);
		assert!(matches!(actions[0], Action::Record { status: KeyStatus::Closing, .. }));
		assert_eq!(actions[1], Action::Generate { successor_of: None });
	}

	#[test]
	fn nothing_is_recorded_when_nothing_changed() {
		assert!(plan(&profile(), &[live(1, 0, 100)], 10).is_empty());
	}
}
