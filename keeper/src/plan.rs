//! What the daemon does next for one profile: a pure function of the profile, its stored keys,
//! what the chain shows of them at the best and at the finalized block, and how long the chain
//! takes to include and finalize a submission, so every rule is unit-tested without a chain.
//!
//! The plan acts on the best block and records the finalized one: a renewal, registration or
//! revocation already in a best block is not sent again (the best block shows it), while the
//! store only ever holds what is final. The rules, in order:
//! 1. Each stored key's status follows the chain at the finalized block: registered and before
//!    expiry → live; revoked or expired → closing; retired → ended. A key the keeper treats as
//!    closing is already replaced: for its own use it is as good as ended.
//! 2. The newest key live at the best block is renewed once no more than the renew margin's
//!    blocks are left, before anything else: a successor still on its way must not leave a
//!    gap. The margin is the profile's, or more when the chain needs it ([`Timing`]: the
//!    finality lag seen lately, plus the blocks a renewal and a fallback successor take to be
//!    included).
//! 3. A renewal at risk (refused near its expiry, `Expired` included, or with so few blocks
//!    left that it could land at its expiry) is not sent (again): a successor is registered at
//!    once, a pending key first if one waits.
//! 4. A pending key (made, sealed, maybe submitted) that the best block does not know is
//!    registered next; one the best block knows is on its way and is waited for.
//! 5. With no key live at the best block a new one is made.
//! 6. Once a successor is live at the finalized block the older live keys are revoked (those
//!    not revoked in a best block already); until then they stay, so every block has a live
//!    key.
//! 7. A live key of the rotation age gets a successor.

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
	/// What the finalized block shows: what the store records.
	pub finalized: OnChain,
	/// What the best block shows: what the plan acts on.
	pub best: OnChain,
}

/// Where the chain is when the plan is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heights {
	/// The best block's number: the plan acts on it.
	pub best: BlockNumber,
	/// The finalized block's number: the store records it.
	pub finalized: BlockNumber,
}

/// How long the chain takes to include and to finalize a submission, as the daemon measured
/// it lately (the most it saw, not an average: a margin sized on an average is short half the
/// time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
	/// Blocks the finalized block trailed the best block by.
	pub finality_lag: BlockNumber,
	/// Blocks from the best block a submission was sent at to the block that included it (at
	/// least 1).
	pub inclusion: BlockNumber,
	/// Blocks a standby may take to take the lead over from a leader that died (0 for a store
	/// only one daemon runs on).
	pub takeover: BlockNumber,
}

impl Default for Timing {
	/// Before anything is measured: included in the next block, final at once.
	fn default() -> Self {
		Timing { finality_lag: 0, inclusion: 1, takeover: 0 }
	}
}

impl Timing {
	/// The blocks a renewal needs before its key's expiry: for a standby to take over, were
	/// the leader to die just then; to be included, to be seen final (or refused: a refusal is
	/// seen in the including block), and, were it refused, for a successor to be included,
	/// with the expiry block itself kept free.
	pub fn needed(&self) -> BlockNumber {
		let inclusion = self.inclusion.max(1);
		self.finality_lag
			.saturating_add(self.takeover)
			.saturating_add(inclusion.saturating_mul(2))
			.saturating_add(1)
	}

	/// The renew margin used for `profile`: its own, or [`Timing::needed`] when that is more,
	/// but always less than the duration (a margin of the whole term would renew at every
	/// block).
	pub fn renew_margin(&self, profile: &Profile) -> BlockNumber {
		profile.renew_margin.max(self.needed()).min(profile.duration.saturating_sub(1)).max(1)
	}

	/// Whether a renewal sent with `blocks_left` could land at its key's expiry or after it (the
	/// chain then refuses it, `Expired`).
	pub fn too_late_to_renew(&self, blocks_left: BlockNumber) -> bool {
		blocks_left <= self.inclusion.max(1)
	}
}

/// The actions for `profile` with its stored `keys` observed at `heights`, in the order they are
/// to be taken. `timing` sizes the renew margin; `at_risk` are keys whose renewal the chain
/// refused near their expiry (they get a successor, not another try). At most one action
/// submits anything; the daemon plans again after it.
pub fn plan(
	profile: &Profile,
	keys: &[Observed],
	heights: Heights,
	timing: Timing,
	at_risk: &[i64],
) -> Vec<Action> {
	let mut actions = Vec::new();
	// Live at the best block (registered, not revoked, before expiry), and at the finalized one.
	let mut live = Vec::new();
	let mut live_final = Vec::new();
	// Pending keys the best block does not know.
	let mut unsent = Vec::new();
	for observed @ Observed { key, finalized, best } in keys {
		if let OnChain::Registered { registered_at, expires_at, .. } = *best {
			if heights.best < expires_at {
				live.push((observed, registered_at, expires_at));
			}
		}
		let (status, registered_at, expires_at, reason) = match *finalized {
			OnChain::Unknown if key.status == KeyStatus::Pending => {
				if *best == OnChain::Unknown {
					unsent.push(key);
				}
				continue;
			}
			// A key the keeper saw registered that the chain no longer knows: only a purged
			// chain does this; the key is of no use any more.
			OnChain::Unknown => {
				(KeyStatus::Ended, None, None, Some("no longer on chain".to_string()))
			}
			OnChain::Registered { registered_at, expires_at, .. }
				if heights.finalized < expires_at =>
			{
				live_final.push((key, registered_at));
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
	live.sort_by_key(|(observed, registered_at, _)| (*registered_at, observed.key.id));
	live_final.sort_by_key(|(key, registered_at)| (*registered_at, key.id));
	if let Some(&(newest, _, expires_at)) = live.last() {
		let blocks_left = expires_at.saturating_sub(heights.best);
		if blocks_left <= timing.renew_margin(profile) {
			let id = newest.key.id;
			if at_risk.contains(&id) || timing.too_late_to_renew(blocks_left) {
				actions.push(match unsent.first() {
					Some(pending) => Action::Register { id: pending.id },
					None => Action::Generate { successor_of: Some(id) },
				});
			} else {
				actions.push(Action::Renew { id, blocks_left });
			}
			return actions;
		}
	}
	if let Some(key) = unsent.first() {
		actions.push(Action::Register { id: key.id });
		return actions;
	}
	let Some(&(newest, registered_at, _)) = live.last() else {
		actions.push(Action::Generate { successor_of: None });
		return actions;
	};
	// The successor must be final before its predecessor goes; a predecessor revoked in a best
	// block already is not live there, and not revoked again.
	if let Some(&(successor, _)) = live_final.last() {
		let revocable = live_final
			.iter()
			.rev()
			.skip(1)
			.find(|(older, _)| live.iter().any(|(observed, ..)| observed.key.id == older.id));
		if let Some((older, _)) = revocable {
			actions.push(Action::Revoke { id: older.id, successor: successor.id });
			return actions;
		}
	}
	if heights.best.saturating_sub(registered_at) >= profile.rotation_interval {
		actions.push(Action::Generate { successor_of: Some(newest.key.id) });
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

	/// The profile of the runs: a 12-block term and the least margin.
	fn short() -> Profile {
		Profile { duration: 12, renew_margin: 4, rotation_interval: 12, ..profile() }
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

	fn registered(registered_at: u32, expires_at: u32) -> OnChain {
		OnChain::Registered { registered_at, expires_at, revoked: false }
	}

	/// A key the store holds live, as both blocks show it.
	fn live(id: i64, registered_at: u32, expires_at: u32) -> Observed {
		Observed {
			key: key(id, KeyStatus::Live, Some(registered_at), Some(expires_at)),
			finalized: registered(registered_at, expires_at),
			best: registered(registered_at, expires_at),
		}
	}

	/// A pending key neither block knows.
	fn pending(id: i64) -> Observed {
		Observed {
			key: key(id, KeyStatus::Pending, None, None),
			finalized: OnChain::Unknown,
			best: OnChain::Unknown,
		}
	}

	/// The best and the finalized block at once, nothing measured yet.
	fn plan_at(profile: &Profile, keys: &[Observed], now: u32) -> Vec<Action> {
		plan(profile, keys, Heights { best: now, finalized: now }, Timing::default(), &[])
	}

	/// Finality `lag` blocks behind `best`, and that lag measured.
	fn plan_lagging(profile: &Profile, keys: &[Observed], best: u32, lag: u32) -> Vec<Action> {
		let heights = Heights { best, finalized: best - lag };
		plan(profile, keys, heights, Timing { finality_lag: lag, inclusion: 1, takeover: 0 }, &[])
	}

	#[test]
	fn with_no_key_a_key_is_made() {
		assert_eq!(plan_at(&profile(), &[], 10), vec![Action::Generate { successor_of: None }]);
	}

	#[test]
	fn a_pending_key_unknown_to_the_chain_is_registered_before_anything_else() {
		assert_eq!(plan_at(&profile(), &[pending(1)], 10), vec![Action::Register { id: 1 }]);
	}

	#[test]
	fn a_pending_key_the_chain_knows_is_recorded_live_and_not_registered_again() {
		let known = Observed {
			key: key(1, KeyStatus::Pending, None, None),
			finalized: registered(5, 105),
			best: registered(5, 105),
		};
		assert_eq!(
			plan_at(&profile(), &[known], 10),
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
	fn a_registration_in_a_best_block_not_final_yet_is_waited_for_and_not_recorded() {
		let on_its_way = Observed {
			key: key(1, KeyStatus::Pending, None, None),
			finalized: OnChain::Unknown,
			best: registered(9, 109),
		};
		assert_eq!(plan_lagging(&profile(), std::slice::from_ref(&on_its_way), 10, 3), vec![]);
		// Nor is a second key made for the profile while it is on its way.
		assert!(plan_lagging(&profile(), &[on_its_way], 10, 3)
			.iter()
			.all(|action| !matches!(action, Action::Generate { .. })));
	}

	#[test]
	fn a_live_key_is_renewed_at_the_margin_and_not_before() {
		assert_eq!(plan_at(&profile(), &[live(1, 0, 100)], 74), vec![]);
		assert_eq!(
			plan_at(&profile(), &[live(1, 0, 100)], 75),
			vec![Action::Renew { id: 1, blocks_left: 25 }]
		);
	}

	#[test]
	fn at_the_rotation_age_a_successor_is_made_and_the_old_key_kept() {
		assert_eq!(plan_at(&profile(), &[live(1, 0, 400)], 299), vec![]);
		assert_eq!(
			plan_at(&profile(), &[live(1, 0, 400)], 300),
			vec![Action::Generate { successor_of: Some(1) }]
		);
	}

	#[test]
	fn the_predecessor_is_revoked_only_once_the_successor_is_live() {
		assert_eq!(
			plan_at(&profile(), &[live(1, 0, 400), pending(2)], 301),
			vec![Action::Register { id: 2 }]
		);
		assert_eq!(
			plan_at(&profile(), &[live(1, 0, 400), live(2, 302, 402)], 303),
			vec![Action::Revoke { id: 1, successor: 2 }]
		);
	}

	#[test]
	fn a_key_near_its_expiry_is_renewed_even_while_its_successor_is_on_its_way() {
		assert_eq!(
			plan_at(&profile(), &[live(1, 0, 100), pending(2)], 80),
			vec![Action::Renew { id: 1, blocks_left: 20 }]
		);
		// The newest live key is the one renewed.
		assert_eq!(
			plan_at(&profile(), &[live(1, 0, 90), live(2, 50, 80)], 78),
			vec![Action::Renew { id: 2, blocks_left: 2 }]
		);
	}

	#[test]
	fn a_renewal_that_could_land_at_the_expiry_gives_way_to_a_successor() {
		// One block left: a renewal sent now is included at the expiry block and refused.
		assert_eq!(
			plan_at(&profile(), &[live(1, 0, 90), live(2, 50, 80)], 79),
			vec![Action::Generate { successor_of: Some(2) }]
		);
		// A pending key waiting is the successor.
		assert_eq!(
			plan_at(&profile(), &[live(1, 0, 80), pending(2)], 79),
			vec![Action::Register { id: 2 }]
		);
		// Measured: two blocks to be included, so two blocks left is too late as well.
		let slow = Timing { finality_lag: 0, inclusion: 2, takeover: 0 };
		let heights = Heights { best: 78, finalized: 78 };
		assert_eq!(
			plan(&profile(), &[live(1, 0, 80)], heights, slow, &[]),
			vec![Action::Generate { successor_of: Some(1) }]
		);
	}

	#[test]
	fn a_refused_renewal_falls_back_to_a_successor_at_once() {
		let heights = Heights { best: 90, finalized: 88 };
		let timing = Timing { finality_lag: 2, inclusion: 1, takeover: 0 };
		assert_eq!(
			plan(&profile(), &[live(1, 0, 100)], heights, timing, &[]),
			vec![Action::Renew { id: 1, blocks_left: 10 }]
		);
		assert_eq!(
			plan(&profile(), &[live(1, 0, 100)], heights, timing, &[1]),
			vec![Action::Generate { successor_of: Some(1) }]
		);
		assert_eq!(
			plan(&profile(), &[live(1, 0, 100), pending(2)], heights, timing, &[1]),
			vec![Action::Register { id: 2 }]
		);
		// Once the successor is in a best block nothing more is sent for the old key: it runs
		// out, and is revoked once the successor is final.
		let successor = Observed {
			key: key(2, KeyStatus::Pending, None, None),
			finalized: OnChain::Unknown,
			best: registered(91, 191),
		};
		let heights = Heights { best: 92, finalized: 89 };
		assert_eq!(plan(&profile(), &[live(1, 0, 100), successor], heights, timing, &[1]), vec![]);
	}

	#[test]
	fn the_margin_grows_with_the_finality_lag_and_the_inclusion_time() {
		let profile = short();
		assert_eq!(Timing::default().renew_margin(&profile), 4, "the configured floor");
		// The runs: GRANDPA three blocks behind, renewals in the next block.
		let lagging = Timing { finality_lag: 3, inclusion: 1, takeover: 0 };
		assert_eq!(lagging.needed(), 6);
		assert_eq!(lagging.renew_margin(&profile), 6);
		assert_eq!(
			Timing { finality_lag: 5, inclusion: 2, takeover: 0 }.renew_margin(&profile),
			10
		);
		// Never the whole term.
		assert_eq!(
			Timing { finality_lag: 30, inclusion: 2, takeover: 0 }.renew_margin(&profile),
			11
		);
		// In failover, a standby's takeover comes first.
		let failover = Timing { takeover: 3, ..lagging };
		assert_eq!(failover.needed(), 9);
		assert_eq!(failover.renew_margin(&profile), 9);
		// A margin set above what the chain needs stays.
		assert_eq!(lagging.renew_margin(&Profile { renew_margin: 9, ..profile }), 9);
	}

	/// The gap: planned at the finalized block #17 with 4 blocks left, the renewal of
	/// a key expiring at #21 landed at #21 and was refused. Planned at the best block with the
	/// lag in the margin, it is sent well before.
	#[test]
	fn with_finality_three_blocks_behind_the_renewal_is_planned_at_the_best_block() {
		let profile = short();
		let key = live(1, 9, 21);
		// Best #14, finalized #11: 7 blocks left, more than the lagging margin of 6.
		assert_eq!(plan_lagging(&profile, std::slice::from_ref(&key), 14, 3), vec![]);
		// Best #15: 6 left, renewed now (at the finalized block the daemon would see 10 left).
		assert_eq!(
			plan_lagging(&profile, std::slice::from_ref(&key), 15, 3),
			vec![Action::Renew { id: 1, blocks_left: 6 }]
		);
		// Renewed in best block #16 (expiring at #28 now), not final yet: not sent again, and
		// the store keeps what is final.
		let renewed = Observed { best: registered(9, 28), ..key.clone() };
		assert_eq!(plan_lagging(&profile, std::slice::from_ref(&renewed), 17, 3), vec![]);
		// Final: recorded.
		let final_ = Observed { finalized: registered(9, 28), ..renewed };
		assert_eq!(
			plan_lagging(&profile, &[final_], 19, 3),
			vec![Action::Record {
				id: 1,
				status: KeyStatus::Live,
				registered_at: Some(9),
				expires_at: Some(28),
				ended_reason: None
			}]
		);
	}

	/// A simulated chain: a submission sent at best block `b` is in block `b + inclusion`, and
	/// finality trails the best block by `lag`. The daemon plans at every best block it is not
	/// waiting in: a renewal is waited for until it is in a block, a registration until it is
	/// final. Over many cycles no block is without a live key, and no renewal lands at its
	/// key's expiry, whatever the lag.
	#[test]
	fn with_finality_lagging_every_block_of_many_cycles_has_a_live_key() {
		for lag in 0..=8 {
			for inclusion in 1..=2 {
				if let Err(gap) = simulate(lag, inclusion, false) {
					panic!("{gap}");
				}
			}
		}
	}

	/// The same runs planned at the finalized block with the configured margin, as the daemon
	/// did before: with GRANDPA three blocks behind they leave gaps (the runs), which
	/// is what the simulation must be able to see.
	#[test]
	fn planned_at_the_finalized_block_the_same_runs_leave_gaps() {
		assert!(simulate(0, 1, true).is_ok());
		for lag in 3..=8 {
			let gap = simulate(lag, 1, true).expect_err("a gap");
			assert!(gap.contains("no live key") || gap.contains("its expiry"), "{gap}");
		}
	}

	fn simulate(lag: u32, inclusion: u32, at_finalized: bool) -> Result<(), String> {
		let profile = short();
		let timing = Timing { finality_lag: lag, inclusion, takeover: 0 };
		let case = format!("lag {lag}, inclusion {inclusion}");
		// (key, the block it is in, registered_at, expires_at): the chain's history.
		let mut chain: Vec<(i64, u32, u32, u32)> = vec![(1, 1, 1, 13)];
		let mut store = vec![key(1, KeyStatus::Live, Some(1), Some(13))];
		// (the block it lands in, the block the daemon is done waiting, what).
		let mut in_flight: Option<(u32, u32, Action)> = None;
		let mut next_id = 2;
		let (mut renewals, mut registrations) = (0, 0);
		let view = |chain: &[(i64, u32, u32, u32)], id: i64, at: u32| {
			chain
				.iter()
				.rfind(|entry| entry.0 == id && entry.1 <= at)
				.map_or(OnChain::Unknown, |&(_, _, registered_at, expires_at)| {
					registered(registered_at, expires_at)
				})
		};
		for best in 2..400 {
			if let Some((lands, done, action)) = in_flight.clone() {
				if lands == best {
					let last = chain.iter().rev().find(|entry| entry.0 == action_key(&action));
					match action {
						Action::Renew { id, .. } => {
							let &(_, _, registered_at, expires_at) = last.expect("renewed key");
							if best >= expires_at {
								return Err(format!(
									"{case}: the renewal of {id} landed at #{best}, its expiry"
								));
							}
							chain.push((id, best, registered_at, best + profile.duration));
							renewals += 1;
						}
						Action::Register { id } => {
							chain.push((id, best, best, best + profile.duration));
							registrations += 1;
						}
						other => panic!("not simulated: {other:?}"),
					}
				}
				if best >= done {
					in_flight = None;
				}
			}
			let live_here = store.iter().any(|key| match view(&chain, key.id, best) {
				OnChain::Registered { expires_at, .. } => best < expires_at,
				_ => false,
			});
			if !live_here {
				return Err(format!("{case}: no live key at #{best}"));
			}
			if in_flight.is_some() {
				continue;
			}
			let finalized = best.saturating_sub(lag);
			// The old daemon: the finalized block stood for the best one, the margin was the
			// configured one.
			let (seen, heights, timing) = if at_finalized {
				(finalized, Heights { best: finalized, finalized }, Timing::default())
			} else {
				(best, Heights { best, finalized }, timing)
			};
			let observed: Vec<_> = store
				.iter()
				.map(|key| Observed {
					key: key.clone(),
					finalized: view(&chain, key.id, finalized),
					best: view(&chain, key.id, seen),
				})
				.collect();
			for action in plan(&profile, &observed, heights, timing, &[]) {
				match action {
					Action::Record { id, status, registered_at, expires_at, .. } => {
						let key = store.iter_mut().find(|key| key.id == id).expect("stored");
						key.status = status;
						key.registered_at = registered_at.or(key.registered_at);
						key.expires_at = expires_at.or(key.expires_at);
					}
					Action::Generate { .. } => {
						store.push(key(next_id, KeyStatus::Pending, None, None));
						let lands = best + inclusion;
						in_flight = Some((lands, lands + lag, Action::Register { id: next_id }));
						next_id += 1;
						break;
					}
					Action::Register { id } => {
						let lands = best + inclusion;
						in_flight = Some((lands, lands + lag, Action::Register { id }));
						break;
					}
					Action::Renew { id, blocks_left } => {
						let lands = best + inclusion;
						in_flight = Some((lands, lands, Action::Renew { id, blocks_left }));
						break;
					}
					// A revocation closes a key already replaced: the simulation leaves it to
					// run out, which changes no block's cover.
					Action::Revoke { .. } => break,
				}
			}
		}
		assert!(
			renewals >= 10 && registrations >= 5,
			"{case}: {renewals} renewals, {registrations} registrations"
		);
		Ok(())
	}

	fn action_key(action: &Action) -> i64 {
		match action {
			Action::Renew { id, .. } | Action::Register { id } | Action::Revoke { id, .. } => *id,
			Action::Record { id, .. } => *id,
			Action::Generate { .. } => 0,
		}
	}

	#[test]
	fn a_predecessor_revoked_in_a_best_block_is_not_revoked_again() {
		let revoked_at_best = Observed {
			best: OnChain::Registered { registered_at: 0, expires_at: 304, revoked: true },
			..live(1, 0, 400)
		};
		let successor = live(2, 300, 400);
		let heights = Heights { best: 305, finalized: 302 };
		assert_eq!(
			plan(&profile(), &[revoked_at_best, successor], heights, Timing::default(), &[]),
			vec![]
		);
		// Not revoked before the successor is final either.
		let successor_at_best = Observed {
			key: key(2, KeyStatus::Pending, None, None),
			finalized: OnChain::Unknown,
			best: registered(303, 403),
		};
		assert_eq!(
			plan(
				&profile(),
				&[live(1, 0, 400), successor_at_best],
				heights,
				Timing::default(),
				&[]
			),
			vec![]
		);
	}

	#[test]
	fn a_closing_or_retired_key_is_recorded_and_replaced() {
		let revoked = Observed {
			key: key(1, KeyStatus::Live, Some(0), Some(100)),
			finalized: OnChain::Registered { registered_at: 0, expires_at: 50, revoked: true },
			best: OnChain::Registered { registered_at: 0, expires_at: 50, revoked: true },
		};
		let actions = plan_at(&profile(), &[revoked], 60);
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
		let retired =
			OnChain::Retired { registered_at: 0, ended_at: 50, reason: EndReason::Liquidated };
		let liquidated = Observed {
			key: key(1, KeyStatus::Closing, Some(0), Some(50)),
			finalized: retired,
			best: retired,
		};
		assert_eq!(
			plan_at(&profile(), &[liquidated], 60)[0],
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
		let actions = plan_at(&profile(), &[live(1, 0, 100)], 100);
		assert!(matches!(actions[0], Action::Record { status: KeyStatus::Closing, .. }));
		assert_eq!(actions[1], Action::Generate { successor_of: None });
	}

	#[test]
	fn nothing_is_recorded_when_nothing_changed() {
		assert!(plan_at(&profile(), &[live(1, 0, 100)], 10).is_empty());
	}
}
