//! What to do for one key at one block: pure rules, unit-tested. The watcher applies them to
//! every key it holds a state for at every best block.

use session_keys_client::{Balance, BlockNumber, ChannelState, Registration};

/// When to liquidate a session whose checkpointed state needs more than its collateral.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liquidation {
	/// Never: only checkpoint (the owner may top up; settlement pays at most the collateral).
	Never,
	/// As soon as the under-collateralized state is on chain.
	Immediately,
	/// When it has stayed under-collateralized this many blocks (time for the owner to top up).
	AfterBlocks(BlockNumber),
}

impl std::str::FromStr for Liquidation {
	type Err = String;

	/// `never`, `now`, or `after:N` (blocks).
	fn from_str(text: &str) -> Result<Self, Self::Err> {
		match text {
			"never" => Ok(Liquidation::Never),
			"now" => Ok(Liquidation::Immediately),
			_ => text
				.strip_prefix("after:")
				.and_then(|n| n.parse().ok())
				.map(Liquidation::AfterBlocks)
				.ok_or_else(|| format!("`{text}`: expected never, now or after:N (blocks)")),
		}
	}
}

/// The watcher's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
	/// A closing window is *at risk* once fewer blocks than this are left before `settles_at`
	/// and the newest state is not on chain: alert (log and metric).
	pub safety_margin: BlockNumber,
	/// Checkpoint a live key's newer state this many blocks before its expiry (and before a
	/// pending limit decrease applies), not waiting for the window.
	pub expiry_margin: BlockNumber,
	/// Checkpoint once the newest state owes this much more than the state on chain (`None`:
	/// never for this reason)...
	pub unbanked_threshold: Option<Balance>,
	/// ...at most once every this many blocks.
	pub checkpoint_interval: BlockNumber,
	/// When to liquidate.
	pub liquidation: Liquidation,
}

impl Default for Policy {
	fn default() -> Self {
		Self {
			safety_margin: 3,
			expiry_margin: 5,
			unbanked_threshold: None,
			checkpoint_interval: 100,
			liquidation: Liquidation::Never,
		}
	}
}

/// Why a checkpoint is submitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
	/// The key is closing (revoked, or past its expiry).
	Closing,
	/// The key expires within the expiry margin.
	ExpiryAhead,
	/// A limit decrease below what the newest state owes applies within the expiry margin: after
	/// it the state no longer fits.
	LimitDecreaseAhead,
	/// The newest state needs more than the collateral: on chain it allows liquidation.
	UnderCollateralized,
	/// What is owed beyond the chain's state passed the threshold.
	Unbanked,
}

impl Why {
	/// The name in logs and metrics.
	pub fn name(self) -> &'static str {
		match self {
			Why::Closing => "closing",
			Why::ExpiryAhead => "expiry_ahead",
			Why::LimitDecreaseAhead => "limit_decrease_ahead",
			Why::UnderCollateralized => "under_collateralized",
			Why::Unbanked => "unbanked",
		}
	}
}

/// What to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
	/// Nothing.
	Nothing,
	/// Submit the stored state with `checkpoint`.
	Checkpoint(Why),
	/// Submit `liquidate`.
	Liquidate,
	/// The window is over and the session waits to be settled (behind a backlog): `settle`.
	Settle,
}

/// The decision for one key at one block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
	/// What to do.
	pub action: Action,
	/// Whether the key's closing window is at risk (see [`Policy::safety_margin`]).
	pub at_risk: bool,
}

/// What the watcher knows of one key at block `now`.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
	/// The block.
	pub now: BlockNumber,
	/// The key's registration on chain.
	pub registration: &'a Registration,
	/// The newest state stored for it.
	pub stored: &'a ChannelState<Balance>,
	/// The block of the last checkpoint the watchtower had included for it.
	pub last_checkpoint_at: Option<BlockNumber>,
	/// The first block at which the watcher saw its on-chain state under-collateralized.
	pub under_since: Option<BlockNumber>,
}

/// Decides what to do for one key.
pub fn decide(policy: &Policy, inputs: &Inputs<'_>) -> Decision {
	let Inputs { now, registration: reg, stored, last_checkpoint_at, under_since } = *inputs;
	// The nonce on chain decides: a state already there is never submitted again.
	let newer = stored.nonce > reg.state.nonce;
	let at_risk = newer && now.saturating_add(policy.safety_margin) >= reg.settles_at;
	let decision = |action| Decision { action, at_risk };
	if now >= reg.settles_at {
		// The window is over: no checkpoint is accepted any more; the session waits for its
		// settlement (it carried over), which anyone may make.
		return decision(Action::Settle);
	}
	if newer {
		if !reg.is_live_at(now) {
			return decision(Action::Checkpoint(Why::Closing));
		}
		if reg.expires_at.saturating_sub(now) <= policy.expiry_margin {
			return decision(Action::Checkpoint(Why::ExpiryAhead));
		}
		if let Some(pending) = reg.pending_limit_at(now) {
			if stored.owed > pending.limit
				&& pending.applies_at.saturating_sub(now) <= policy.expiry_margin
			{
				return decision(Action::Checkpoint(Why::LimitDecreaseAhead));
			}
		}
		if policy.liquidation != Liquidation::Never
			&& stored.owed.saturating_add(stored.margin) > reg.collateral
		{
			return decision(Action::Checkpoint(Why::UnderCollateralized));
		}
		if let Some(threshold) = policy.unbanked_threshold {
			let due = last_checkpoint_at
				.is_none_or(|at| now.saturating_sub(at) >= policy.checkpoint_interval);
			if stored.owed.saturating_sub(reg.state.owed) >= threshold && due {
				return decision(Action::Checkpoint(Why::Unbanked));
			}
		}
		return decision(Action::Nothing);
	}
	if reg.is_under_collateralized() {
		let liquidate = match policy.liquidation {
			Liquidation::Never => false,
			Liquidation::Immediately => true,
			Liquidation::AfterBlocks(blocks) => {
				under_since.unwrap_or(now).saturating_add(blocks) <= now
			}
		};
		if liquidate {
			return decision(Action::Liquidate);
		}
	}
	decision(Action::Nothing)
}

#[cfg(test)]
mod tests {
	use super::*;
	use session_keys_client::AccountId;
	use session_keys_primitives::PendingLimit;

	fn registration() -> Registration {
		Registration {
			owner: AccountId::from([1; 32]),
			counterpart: AccountId::from([2; 32]),
			delegate: None,
			registered_at: 1,
			expires_at: 100,
			settles_at: 110,
			revoked: false,
			duration: 99,
			spending_limit: 50,
			pending_limit: None,
			collateral: 40,
			deposit: 1,
			description: Vec::new(),
			scope: Vec::new(),
			state: ChannelState { nonce: 2, owed: 5, margin: 0 },
		}
	}

	fn decide_at(
		policy: &Policy,
		now: BlockNumber,
		reg: &Registration,
		stored: ChannelState<Balance>,
	) -> Decision {
		decide(
			policy,
			&Inputs {
				now,
				registration: reg,
				stored: &stored,
				last_checkpoint_at: None,
				under_since: None,
			},
		)
	}

	const NEWER: ChannelState<Balance> = ChannelState { nonce: 7, owed: 20, margin: 0 };

	#[test]
	fn a_newer_state_is_checkpointed_when_the_key_closes_or_nears_expiry() {
		let policy = Policy::default();
		let reg = registration();
		assert_eq!(
			decide_at(&policy, 50, &reg, NEWER).action,
			Action::Nothing,
			"live, far from expiry"
		);
		assert_eq!(
			decide_at(&policy, 95, &reg, NEWER).action,
			Action::Checkpoint(Why::ExpiryAhead)
		);
		let revoked =
			Registration { expires_at: 60, settles_at: 70, revoked: true, ..registration() };
		let closing = decide_at(&policy, 60, &revoked, NEWER);
		assert_eq!(closing, Decision { action: Action::Checkpoint(Why::Closing), at_risk: false });
		let late = decide_at(&policy, 67, &revoked, NEWER);
		assert_eq!(late, Decision { action: Action::Checkpoint(Why::Closing), at_risk: true });
	}

	#[test]
	fn a_state_already_on_chain_is_never_submitted_again() {
		let policy = Policy::default();
		let revoked =
			Registration { expires_at: 60, settles_at: 70, revoked: true, ..registration() };
		let on_chain = revoked.state;
		for now in [60, 65, 69] {
			let decision = decide_at(&policy, now, &revoked, on_chain);
			assert_eq!(decision, Decision { action: Action::Nothing, at_risk: false });
		}
		let older = ChannelState { nonce: 1, owed: 5, margin: 0 };
		assert_eq!(decide_at(&policy, 65, &revoked, older).action, Action::Nothing);
	}

	#[test]
	fn a_window_that_is_over_is_settled_not_checkpointed() {
		let revoked =
			Registration { expires_at: 60, settles_at: 70, revoked: true, ..registration() };
		let decision = decide_at(&Policy::default(), 70, &revoked, NEWER);
		assert_eq!(decision, Decision { action: Action::Settle, at_risk: true });
	}

	#[test]
	fn a_limit_decrease_below_the_state_is_beaten_by_a_checkpoint() {
		let policy = Policy::default();
		let reg = Registration {
			pending_limit: Some(PendingLimit { limit: 10, applies_at: 40 }),
			..registration()
		};
		assert_eq!(decide_at(&policy, 30, &reg, NEWER).action, Action::Nothing);
		assert_eq!(
			decide_at(&policy, 36, &reg, NEWER).action,
			Action::Checkpoint(Why::LimitDecreaseAhead)
		);
		let small = ChannelState { nonce: 7, owed: 8, margin: 0 };
		assert_eq!(decide_at(&policy, 36, &reg, small).action, Action::Nothing, "it still fits");
	}

	#[test]
	fn under_collateralization_checkpoints_then_liquidates_per_policy() {
		let over = ChannelState { nonce: 7, owed: 30, margin: 20 };
		let reg = registration();
		let never = Policy::default();
		assert_eq!(decide_at(&never, 50, &reg, over).action, Action::Nothing);
		let now_policy = Policy { liquidation: Liquidation::Immediately, ..Policy::default() };
		assert_eq!(
			decide_at(&now_policy, 50, &reg, over).action,
			Action::Checkpoint(Why::UnderCollateralized)
		);
		let checkpointed = Registration { state: over, ..registration() };
		assert_eq!(decide_at(&now_policy, 51, &checkpointed, over).action, Action::Liquidate);
		assert_eq!(decide_at(&never, 51, &checkpointed, over).action, Action::Nothing);
		let after = Policy { liquidation: Liquidation::AfterBlocks(5), ..Policy::default() };
		let at = |now, since| {
			decide(
				&after,
				&Inputs {
					now,
					registration: &checkpointed,
					stored: &over,
					last_checkpoint_at: None,
					under_since: Some(since),
				},
			)
			.action
		};
		assert_eq!(at(53, 51), Action::Nothing);
		assert_eq!(at(56, 51), Action::Liquidate);
	}

	#[test]
	fn unbanked_owed_is_checkpointed_on_a_schedule() {
		let policy =
			Policy { unbanked_threshold: Some(10), checkpoint_interval: 20, ..Policy::default() };
		let reg = registration();
		let small = ChannelState { nonce: 7, owed: 14, margin: 0 };
		assert_eq!(decide_at(&policy, 50, &reg, small).action, Action::Nothing, "9 unbanked");
		assert_eq!(decide_at(&policy, 50, &reg, NEWER).action, Action::Checkpoint(Why::Unbanked));
		let recently = |last| {
			decide(
				&policy,
				&Inputs {
					now: 50,
					registration: &reg,
					stored: &NEWER,
					last_checkpoint_at: Some(last),
					under_since: None,
				},
			)
			.action
		};
		assert_eq!(recently(40), Action::Nothing);
		assert_eq!(recently(30), Action::Checkpoint(Why::Unbanked));
	}

	#[test]
	fn liquidation_policies_parse() {
		assert_eq!("never".parse(), Ok(Liquidation::Never));
		assert_eq!("now".parse(), Ok(Liquidation::Immediately));
		assert_eq!("after:12".parse(), Ok(Liquidation::AfterBlocks(12)));
		assert!("after:x".parse::<Liquidation>().is_err());
		assert!("soon".parse::<Liquidation>().is_err());
	}
}
