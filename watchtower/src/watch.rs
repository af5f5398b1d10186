//! The watcher: follows best and finalized blocks, keeps the watchtower's view of every key it
//! holds a state for, and acts on [`crate::plan::decide`]: checkpoints, liquidations and
//! settlements, each submitted at once and retried at every block until it is included or can
//! no longer be.

use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
};

use futures::StreamExt;
use session_keys_client::{build, At, Block, BlockNumber, Client, KeyRecord, SessionPublic, Wait};

use crate::{
	plan::{decide, Action, Inputs, Policy, Why},
	signed::SignedState,
	signer::CounterpartSigner,
	tower::Watchtower,
	AdjudicatorEvent,
};

/// What the watcher remembers of one key between blocks.
#[derive(Clone, Debug, Default)]
struct Track {
	/// A submission for the key is on its way.
	in_flight: bool,
	/// The block of the last checkpoint included.
	last_checkpoint_at: Option<BlockNumber>,
	/// The first block at which the on-chain state was seen under-collateralized.
	under_since: Option<BlockNumber>,
	/// The at-risk alert was raised for the current window.
	alerted: bool,
	/// A checkpoint of this nonce failed for a reason that repeats (the state no longer fits
	/// the chain, or the window closed): it is not tried again.
	gave_up_nonce: Option<u64>,
	/// Settlement attempts that failed.
	settle_failures: u32,
}

/// The adjudicator errors after which a submission for the key is not retried.
const PERMANENT: &[&str] = &[
	"WindowClosed",
	"OverSpendingLimit",
	"OwedDecreased",
	"InvalidSignature",
	"NotCounterpart",
	"WeakKey",
];

/// Follows the chain and acts for the keys the watchtower holds states for.
pub struct Watcher {
	tower: Arc<Watchtower>,
	client: Arc<Client>,
	signer: Arc<CounterpartSigner>,
	policy: Policy,
	tracks: Arc<Mutex<HashMap<SessionPublic, Track>>>,
	finalized: Arc<Mutex<BlockNumber>>,
}

/// The keys an event names.
fn touched(event: &AdjudicatorEvent) -> Vec<SessionPublic> {
	use pallet_session_keys::Event as E;
	match event {
		E::SessionRegistered { public, .. }
		| E::SessionRenewed { public, .. }
		| E::SessionClosing { public, .. }
		| E::SessionEnded { public, .. }
		| E::StateCheckpointed { public, .. }
		| E::SessionUnderCollateralized { public, .. }
		| E::CollateralToppedUp { public, .. }
		| E::SpendingLimitChanged { public, .. }
		| E::SettlementShortfall { public, .. } => vec![*public],
		E::SessionRotated { old, new, .. } => vec![*old, *new],
		_ => Vec::new(),
	}
}

impl Watcher {
	/// A watcher for `tower`, submitting through `client` signed by `signer`.
	pub fn new(
		tower: Arc<Watchtower>,
		client: Arc<Client>,
		signer: Arc<CounterpartSigner>,
		policy: Policy,
	) -> Self {
		Self {
			tower,
			client,
			signer,
			policy,
			tracks: Default::default(),
			finalized: Default::default(),
		}
	}

	fn tracks(&self) -> std::sync::MutexGuard<'_, HashMap<SessionPublic, Track>> {
		self.tracks.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
	}

	/// Runs until the task is dropped: reads every held key at the best block, acts on them,
	/// then follows the best and finalized blocks.
	pub async fn run(self) {
		let client = self.client.clone();
		loop {
			match self.start().await {
				Ok(()) => break,
				Err(error) => {
					tracing::warn!(%error, "cannot read the chain yet; retrying");
					tokio::time::sleep(std::time::Duration::from_secs(1)).await;
				}
			}
		}
		let best = client.best_blocks();
		let finalized = client.finalized_blocks();
		let mut best = std::pin::pin!(best);
		let mut finalized = std::pin::pin!(finalized);
		loop {
			tokio::select! {
				Some(block) = best.next() => match block {
					Ok(block) => self.on_best(block).await,
					Err(error) => tracing::warn!(%error, "best block stream"),
				},
				Some(block) = finalized.next() => match block {
					Ok(block) => self.on_finalized(block).await,
					Err(error) => tracing::warn!(%error, "finalized block stream"),
				},
			}
		}
	}

	async fn start(&self) -> Result<(), session_keys_client::Error> {
		let hash = self.client.best_hash().await?;
		let number = self.client.block_number(hash).await?;
		*self.finalized.lock().unwrap_or_else(|p| p.into_inner()) =
			self.client.finalized_number().await?;
		self.tower.set_best(number);
		for signed in self.tower.held() {
			let record = self.client.key_state(signed.public, At::Hash(hash)).await?;
			self.tower.record_view(signed.public, record, number);
		}
		tracing::info!(best = number, keys = self.tower.held().len(), "watching");
		self.tick(number);
		Ok(())
	}

	async fn on_best(&self, block: Block) {
		self.tower.set_best(block.number);
		let mut keys: Vec<SessionPublic> = block.events.iter().flat_map(touched).collect();
		keys.sort();
		keys.dedup();
		for public in keys {
			if self.tower.view(&public).is_none() && self.tower.newest(&public).is_none() {
				continue;
			}
			match self.client.key_state(public, At::Hash(block.hash)).await {
				Ok(record) => self.tower.record_view(public, record, block.number),
				Err(error) => tracing::warn!(?public, %error, "cannot read the key"),
			}
		}
		self.tick(block.number);
	}

	async fn on_finalized(&self, block: Block) {
		*self.finalized.lock().unwrap_or_else(|p| p.into_inner()) = block.number;
		for event in &block.events {
			if let pallet_session_keys::Event::SessionEnded {
				public,
				reason,
				paid_to_counterpart,
				..
			} = event
			{
				if self.tower.newest(public).is_some() {
					tracing::info!(?public, ?reason, paid = %paid_to_counterpart, block = block.number, "session ended");
					self.end(*public).await;
				}
			}
		}
		// A reorganization may have dropped a checkpoint the best chain showed: read the closing
		// keys again at the best block.
		for signed in self.tower.held() {
			let closing = self.tower.view(&signed.public).is_some_and(|view| {
				view.registration().is_some_and(|reg| !reg.is_live_at(self.tower.best()))
			});
			if closing {
				if let Err(error) = self.tower.refresh(signed.public).await {
					tracing::warn!(public = ?signed.public, %error, "cannot read the key");
				}
			}
		}
	}

	/// The key's session ended: the state stays in the store for the record.
	async fn end(&self, public: SessionPublic) {
		match self.tower.store().mark_ended(public).await {
			Ok(()) => {
				self.tower.forget(&public);
				self.tracks().remove(&public);
			}
			Err(error) => tracing::error!(?public, %error, "cannot mark the session ended"),
		}
	}

	/// Decides for every held key at block `now`, and starts what is to be done.
	fn tick(&self, now: BlockNumber) {
		let finalized = *self.finalized.lock().unwrap_or_else(|p| p.into_inner());
		let mut at_risk = 0;
		let mut nearest: Option<BlockNumber> = None;
		for signed in self.tower.held() {
			let public = signed.public;
			let Some(view) = self.tower.view(&public) else {
				self.spawn_refresh(public);
				continue;
			};
			let registration = match &*view.record {
				KeyRecord::Registered(registration) => registration.clone(),
				KeyRecord::Retired(_) if view.read_at <= finalized => {
					let this = self.clone_parts();
					tokio::spawn(async move { this.end(public).await });
					continue;
				}
				_ => continue,
			};
			let mut tracks = self.tracks();
			let track = tracks.entry(public).or_default();
			if registration.is_under_collateralized() {
				track.under_since.get_or_insert(now);
			} else {
				track.under_since = None;
			}
			if !registration.is_live_at(now) && now < registration.settles_at {
				let left = registration.settles_at - now;
				nearest = Some(nearest.map_or(left, |n| n.min(left)));
			}
			let decision = decide(
				&self.policy,
				&Inputs {
					now,
					registration: &registration,
					stored: &signed.state,
					last_checkpoint_at: track.last_checkpoint_at,
					under_since: track.under_since,
				},
			);
			if decision.at_risk {
				at_risk += 1;
				if !track.alerted {
					track.alerted = true;
					tracing::error!(
						?public,
						nonce = signed.state.nonce,
						on_chain = registration.state.nonce,
						settles_at = registration.settles_at,
						now,
						"WINDOW AT RISK: the newest state is not on chain and the window ends soon"
					);
				}
			} else {
				track.alerted = false;
			}
			if track.in_flight || decision.action == Action::Nothing {
				continue;
			}
			if matches!(decision.action, Action::Checkpoint(_))
				&& track.gave_up_nonce == Some(signed.state.nonce)
			{
				continue;
			}
			if decision.action == Action::Settle && track.settle_failures >= 3 {
				continue;
			}
			track.in_flight = true;
			drop(tracks);
			let this = self.clone_parts();
			let closing_at = (!registration.is_live_at(now)).then_some(registration.expires_at);
			let action = decision.action;
			tokio::spawn(async move { this.act(signed, action, closing_at).await });
		}
		self.tower.metrics.windows_at_risk.set(at_risk);
		self.tower.metrics.blocks_to_nearest_settles_at.set(nearest.map_or(-1, i64::from));
	}

	fn spawn_refresh(&self, public: SessionPublic) {
		let tower = self.tower.clone();
		tokio::spawn(async move {
			if let Err(error) = tower.refresh(public).await {
				tracing::warn!(?public, %error, "cannot read the key");
			}
		});
	}

	fn clone_parts(&self) -> Watcher {
		Watcher {
			tower: self.tower.clone(),
			client: self.client.clone(),
			signer: self.signer.clone(),
			policy: self.policy.clone(),
			tracks: self.tracks.clone(),
			finalized: self.finalized.clone(),
		}
	}

	async fn act(&self, signed: SignedState, action: Action, closing_at: Option<BlockNumber>) {
		let public = signed.public;
		match action {
			Action::Checkpoint(why) => self.checkpoint(signed, why, closing_at).await,
			Action::Liquidate => self.end_call("liquidate", public).await,
			Action::Settle => self.end_call("settle", public).await,
			Action::Nothing => {}
		}
		if let Some(track) = self.tracks().get_mut(&public) {
			track.in_flight = false;
		}
	}

	async fn checkpoint(&self, signed: SignedState, why: Why, closing_at: Option<BlockNumber>) {
		let public = signed.public;
		let metrics = &self.tower.metrics;
		// Read again right before: a state already on chain is never submitted.
		match self.tower.refresh(public).await {
			Ok(view) => match view.registration() {
				Some(reg) if reg.state.nonce < signed.state.nonce => {}
				_ => return,
			},
			Err(error) => {
				tracing::warn!(?public, %error, "cannot read the key before the checkpoint");
				return;
			}
		}
		let nonce = signed.state.nonce;
		tracing::info!(?public, nonce, owed = %signed.state.owed, why = why.name(), "submitting checkpoint");
		metrics.checkpoints_submitted.with_label_values(&[why.name()]).inc();
		self.tower.store().audit(Some(public), Some(nonce), "checkpoint", why.name().into());
		let call = build::checkpoint(public, signed.state, signed.signature.clone());
		match self.signer.submit(&self.client, call, Wait::InBlock).await {
			Ok(included) => {
				metrics.checkpoints_included.inc();
				let latency = closing_at.map(|at| included.block_number.saturating_sub(at));
				if let Some(latency) = latency {
					metrics.checkpoint_latency_blocks.observe(latency.into());
				}
				tracing::info!(
					?public,
					nonce,
					owed = %signed.state.owed,
					block = included.block_number,
					closing_at,
					latency_blocks = latency,
					"checkpoint included"
				);
				self.tower.store().audit(
					Some(public),
					Some(nonce),
					"checkpointed",
					format!("block {}", included.block_number),
				);
				if let Some(track) = self.tracks().get_mut(&public) {
					track.last_checkpoint_at = Some(included.block_number);
				}
				match self.client.key_state(public, At::Hash(included.block_hash)).await {
					Ok(record) => self.tower.record_view(public, record, included.block_number),
					Err(error) => tracing::warn!(?public, %error, "cannot read the key"),
				}
			}
			Err(error) => {
				if self.failed("checkpoint", public, error).await {
					if let Some(track) = self.tracks().get_mut(&public) {
						track.gave_up_nonce = Some(nonce);
					}
				}
			}
		}
	}

	async fn end_call(&self, call_name: &'static str, public: SessionPublic) {
		let call =
			match call_name {
				"liquidate" => build::liquidate(public),
				_ => session_keys_runtime::RuntimeCall::Adjudicator(
					pallet_session_keys::Call::settle { public },
				),
			};
		tracing::info!(?public, call = call_name, "submitting");
		self.tower.store().audit(Some(public), None, call_name, String::new());
		match self.signer.submit(&self.client, call, Wait::InBlock).await {
			Ok(included) => {
				self.tower.metrics.endings.with_label_values(&[call_name]).inc();
				tracing::info!(
					?public,
					call = call_name,
					block = included.block_number,
					"included"
				);
				match self.client.key_state(public, At::Hash(included.block_hash)).await {
					Ok(record) => self.tower.record_view(public, record, included.block_number),
					Err(error) => tracing::warn!(?public, %error, "cannot read the key"),
				}
			}
			Err(error) => {
				if call_name == "settle" {
					if let Some(track) = self.tracks().get_mut(&public) {
						track.settle_failures += 1;
					}
				}
				self.failed(call_name, public, error).await;
			}
		}
	}

	/// Logs and counts a failed submission; whether it fails for good (not to be retried).
	async fn failed(
		&self,
		what: &'static str,
		public: SessionPublic,
		error: session_keys_client::Error,
	) -> bool {
		let name = error.error_name().unwrap_or("submission").to_string();
		if what == "checkpoint" {
			self.tower.metrics.checkpoints_failed.with_label_values(&[&name]).inc();
		}
		self.tower.store().audit(Some(public), None, "failed", format!("{what}: {error}"));
		let permanent = PERMANENT.contains(&name.as_str());
		if permanent {
			tracing::error!(?public, what, %error, "failed for good; not retried");
		} else {
			tracing::warn!(?public, what, %error, "failed; retried at the next block");
		}
		// The chain may hold something newer than the view (a state checkpointed meanwhile).
		let _ = self.tower.refresh(public).await;
		permanent
	}
}
