//! The daemon: follows the best block, records the finalized one, and keeps every profile
//! covered by a live key ([`crate::plan`] says what to do, this module does it).
//!
//! It plans at every new best block, against what the best block shows (a renewal or
//! revocation already in a best block is not sent again), and records in the store only what
//! the finalized block shows. It measures how far finality trails the best block and how long
//! its submissions take to be included, and renews early enough for both ([`Timing`]). A
//! renewal is waited for until it is in a block, so a refusal (`Expired`, say) is seen at once
//! and a successor registered in the same step.
//!
//! Crash safety: a new key is sealed and stored as pending in one transaction before anything
//! is submitted for it, and a pending key is looked up on chain, at the finalized and at the
//! best block, before it is submitted (again).
//! A crash at any point therefore leaves no registered key whose secret is lost, and no key is
//! registered twice (the chain would refuse the second registration anyway: keys are never
//! reused).

use std::{
	collections::{HashMap, HashSet, VecDeque},
	future::Future,
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc,
	},
	time::Duration,
};

use codec::Encode;
use session_keys_client::{At, BlockNumber, Client, Error as ClientError, SessionPair, Wait};
use sp_core::H256;

use crate::{
	chain::{self, KeeperError},
	leader::{Leadership, Role},
	metrics::Metrics,
	plan::{plan, Action, Heights, Observed, OnChain, Timing},
	signer::OwnerSigner,
	store::postgres::IDLE_IN_TRANSACTION,
	store::{hex, KeyStatus, Profile, Store, StoreError},
	terms,
};

/// Where the daemon stops and waits to be killed, for the crash tests (`run --halt-after`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HaltPoint {
	/// Right after a new key is stored as pending, before its registration is submitted.
	Stored,
	/// Right after the node's pool accepted a registration, before it is in a block.
	Submitted,
	/// Right after a registration is finalized, before the store records the key live.
	Registered,
}

/// How the daemon runs.
#[derive(Clone, Debug)]
pub struct Options {
	/// The node's WebSocket URL.
	pub node: String,
	/// How often the best and finalized heads are polled.
	pub poll: Duration,
	/// Stop for good at this point (crash tests only).
	pub halt_after: Option<HaltPoint>,
	/// The lead's lease term, on a store daemons share in failover ([`crate::leader`]).
	pub lease: Duration,
}

/// Runs until `shutdown` resolves, and stops between steps. A step that is only reading (say,
/// waiting for a node that went away) is dropped at once; a submission in flight is given
/// 30 s to be final, and nothing more is submitted meanwhile. One still waiting then
/// is dropped, which is as safe as a crash: every store write is a transaction made between
/// awaits, and a pending key is looked up on chain at the next start. An unreachable node is
/// retried with backoff, never a reason to exit; only the store failing is.
pub async fn run(
	store: &mut Store,
	signer: &OwnerSigner,
	options: &Options,
	metrics: &Arc<Metrics>,
	shutdown: impl Future<Output = ()>,
) -> Result<(), KeeperError> {
	tokio::pin!(shutdown);
	let mut backoff = Duration::from_secs(1);
	let client = loop {
		tokio::select! {
			_ = &mut shutdown => return Ok(()),
			connected = Client::connect(&options.node) => match connected {
				Ok(client) => break client,
				// Not a node URL at all: no retry makes it one.
				Err(error @ ClientError::InvalidUrl(_)) => return Err(error.into()),
				Err(error) => {
					tracing::warn!(node = %options.node, %error, retry_in = ?backoff, "node unreachable");
					tokio::select! {
						_ = &mut shutdown => return Ok(()),
						_ = tokio::time::sleep(backoff) => {},
					}
					backoff = (backoff * 2).min(Duration::from_secs(30));
				},
			},
		}
	};
	tracing::info!(
		node = %options.node,
		owner = %client_account(&signer.owner()),
		signer = %client_account(&signer.signer()),
		delegate = signer.delegate_of().is_some(),
		"connected; reconciling the store with the chain"
	);
	if signer.delegate_of().is_some() {
		warn_about_terms(&client, store, signer).await;
	}
	let takeover = if store.shared() { takeover_blocks(&client, options).await } else { 0 };
	let holder = format!("{}:{}", host_name(), std::process::id());
	let leadership =
		Leadership::start(store.lease(&holder, options.lease)?, options.lease, metrics.clone());
	if store.shared() {
		tracing::info!(
			holder = %holder,
			lease = ?options.lease,
			takeover_blocks = takeover,
			"sharing the store in failover: acting only while leading"
		);
	}
	lead(store, signer, options, metrics, client, leadership, takeover, shutdown).await
}

/// The daemon's loop: a step at each new block while it leads, nothing on standby.
#[allow(clippy::too_many_arguments)]
async fn lead(
	store: &mut Store,
	signer: &OwnerSigner,
	options: &Options,
	metrics: &Arc<Metrics>,
	client: Client,
	mut leadership: Leadership,
	takeover: BlockNumber,
	shutdown: impl Future<Output = ()>,
) -> Result<(), KeeperError> {
	tokio::pin!(shutdown);
	let mut daemon = Daemon {
		client,
		store,
		signer,
		options,
		metrics,
		last: None,
		lags: VecDeque::new(),
		inclusions: VecDeque::new(),
		at_risk: HashSet::new(),
		margins: HashMap::new(),
		refused: HashSet::new(),
		shortened: HashMap::new(),
		settlement_reach: None,
		held_back: Default::default(),
		not_ours: Default::default(),
		paused: false,
		stopping: Arc::new(AtomicBool::new(false)),
		in_flight: Arc::new(AtomicBool::new(false)),
		takeover,
		token: None,
		fenced: None,
		role: leadership.watch(),
	};
	let (stopping, in_flight) = (daemon.stopping.clone(), daemon.in_flight.clone());
	let mut backoff = Duration::from_secs(1);
	loop {
		// Acting only while leading, with the fence of this lead on every write.
		match leadership.role().token().filter(|token| daemon.fenced != Some(*token)) {
			None => {
				if let Some(token) = daemon.token.take() {
					tracing::warn!(token, "no longer leading: standing by");
				}
				tokio::select! {
					_ = &mut shutdown => {
						tracing::info!("stopping");
						leadership.stop().await;
						return Ok(());
					},
					_ = leadership.changed(options.poll) => {},
				}
				continue;
			}
			Some(token) if daemon.token != Some(token) => daemon.lead_with(token),
			Some(_) => {}
		}
		let outcome = {
			let step = daemon.tick();
			tokio::pin!(step);
			tokio::select! {
				outcome = &mut step => outcome,
				_ = &mut shutdown => {
					stopping.store(true, Ordering::SeqCst);
					if !in_flight.load(Ordering::SeqCst) {
						tracing::info!("stopping");
						leadership.stop().await;
						return Ok(());
					}
					tracing::info!(grace = ?STEP_GRACE, "stopping once the submission in flight is final");
					if tokio::time::timeout(STEP_GRACE, &mut step).await.is_err() {
						tracing::warn!("stopping with a submission in flight; the next start looks its key up on chain");
					}
					leadership.stop().await;
					return Ok(());
				},
			}
		};
		match outcome {
			Ok(()) => backoff = Duration::from_secs(1),
			// Another daemon took over while this one was away (stopped, cut off): it stands
			// by under this lead, whatever its lease thread still believes.
			Err(KeeperError::Store(error @ StoreError::Fenced(_))) => {
				tracing::warn!(%error, "fenced");
				daemon.fenced = daemon.token.take();
				continue;
			}
			// Its lease lapsed before a submission: nothing was sent; the next round looks
			// at the lead again.
			Err(KeeperError::Store(error @ StoreError::NotLeading(_))) => {
				tracing::warn!(%error, "not sending");
			}
			// Only the store failing stops the daemon; a lost database connection is made
			// again (its lease lapses meanwhile, and a standby with its database takes over),
			// and the rest (the node) retried, with backoff.
			Err(error) => {
				let reconnect =
					matches!(&error, KeeperError::Store(error) if error.is_connection());
				if matches!(error, KeeperError::Store(_)) && !reconnect {
					leadership.stop().await;
					return Err(error);
				}
				tracing::warn!(%error, retry_in = ?backoff, "step failed; retrying");
				tokio::select! {
					_ = &mut shutdown => {
						leadership.stop().await;
						return Ok(());
					},
					_ = tokio::time::sleep(backoff) => {},
				}
				backoff = (backoff * 2).min(Duration::from_secs(30));
				if reconnect {
					if let Err(error) = daemon.store.reconnect() {
						tracing::warn!(%error, "cannot reconnect to the store's database yet");
					}
				}
				continue;
			}
		}
		tokio::select! {
			_ = &mut shutdown => {
				tracing::info!("stopping");
				leadership.stop().await;
				return Ok(());
			},
			_ = tokio::time::sleep(options.poll) => {},
		}
	}
}

/// The blocks a standby may take to take over from a leader that died: its lease's term, a
/// turn of the standby's lease thread, a poll, and the time the server takes to end a
/// transaction the leader died or stopped inside ([`IDLE_IN_TRANSACTION`]), in blocks of the
/// chain's block time (twice `Timestamp.MinimumPeriod`), rounded up. Every daemon of a store
/// runs with the same `--lease-ms`.
async fn takeover_blocks(client: &Client, options: &Options) -> BlockNumber {
	let seconds = options.lease + options.lease / 3 + options.poll + IDLE_IN_TRANSACTION;
	let block_ms = chain::block_ms(client).await.unwrap_or_else(|| {
		// Counted as one-second blocks, which over-counts.
		tracing::warn!("cannot read the block time; counting one-second blocks");
		1000
	});
	let blocks = (seconds.as_millis() as u64).div_ceil(block_ms);
	BlockNumber::try_from(blocks).unwrap_or(BlockNumber::MAX)
}

/// This machine's name, for the lease's holder (`host:pid`).
fn host_name() -> String {
	std::fs::read_to_string("/proc/sys/kernel/hostname")
		.ok()
		.map(|name| name.trim().to_owned())
		.filter(|name| !name.is_empty())
		.unwrap_or_else(|| "localhost".into())
}

/// Logs, once at the start, what in the owner's terms would refuse a delegate's keys: the
/// chain refuses them too, at a fee for each try.
async fn warn_about_terms(client: &Client, store: &Store, signer: &OwnerSigner) {
	let (owner, delegate) = (signer.owner(), signer.signer());
	let read = async {
		let at = client.resolve(At::Best).await?;
		let next = client.block_number(at).await?.saturating_add(1);
		let delegation = client.delegation(&owner, &delegate, At::Hash(at)).await?;
		Ok::<_, ClientError>((delegation, next))
	};
	let (delegation, next) = match read.await {
		Ok(read) => read,
		Err(error) => {
			tracing::warn!(%error, "cannot read the owner's terms for this delegate");
			return;
		}
	};
	match terms::terms_of(delegation.as_ref(), &owner, &delegate) {
		Err(error) => {
			tracing::warn!(%error, "no terms in force: the chain refuses every registration and renewal")
		}
		Ok((terms, usage)) => {
			tracing::info!(
				keys = usage.keys,
				max_keys = terms.max_keys,
				collateral = %usage.collateral,
				max_total_collateral = %terms.max_total_collateral,
				ends_at = ?terms.ends_at,
				"the owner's terms for this delegate"
			);
			for profile in store.profiles().unwrap_or_default() {
				match terms::check_profile(delegation.as_ref(), &owner, &delegate, &profile, next) {
					// (What the keys already hold changes as they settle.)
					Err(error) if !error.is_about_usage() => tracing::warn!(
						profile = %profile.name,
						%error,
						"outside the owner's terms: the chain refuses its keys; `profile edit` it"
					),
					_ => {}
				}
			}
		}
	}
}

/// The `ss58` form of an account, for the log.
fn client_account(account: &session_keys_client::AccountId) -> String {
	use sp_core::crypto::Ss58Codec;
	account.to_ss58check()
}

struct Daemon<'a> {
	client: Client,
	store: &'a mut Store,
	signer: &'a OwnerSigner,
	options: &'a Options,
	metrics: &'a Arc<Metrics>,
	/// The best and finalized blocks last acted on.
	last: Option<Heights>,
	/// How far finality trailed the best block at the latest steps (newest last).
	lags: VecDeque<BlockNumber>,
	/// Blocks from sending to inclusion of the latest submissions (newest last).
	inclusions: VecDeque<BlockNumber>,
	/// Keys whose renewal the chain refused near their expiry: they get a successor instead.
	at_risk: HashSet<i64>,
	/// Per profile, the renew margin last used (logged when it changes).
	margins: HashMap<String, BlockNumber>,
	/// The refusals of profiles changed outside the keeper, each logged once.
	refused: HashSet<String>,
	/// Per profile, blocks taken off the term of its next registration: the chain refused
	/// the full term because every block its settlement could go to was full
	/// (`SettlementAgendaFull`, see [`shorter_term`]).
	shortened: HashMap<String, BlockNumber>,
	/// The blocks a settlement may be placed over (`MaxSettlementDelay + 1`), read once.
	settlement_reach: Option<BlockNumber>,
	/// Per profile and kind of submission, the failed one's next try.
	held_back: HashMap<(String, Submission), Retry>,
	/// Stored keys this delegate did not register (by the owner, or through an older keeper's
	/// `SessionKeys` proxy): it can neither renew nor revoke them.
	not_ours: HashSet<i64>,
	/// Whether the keeper was paused at the start of this tick.
	paused: bool,
	/// Set once the daemon is asked to stop: nothing more is submitted.
	stopping: Arc<AtomicBool>,
	/// Whether a submission is on its way (see [`in_flight`]).
	in_flight: Arc<AtomicBool>,
	/// Blocks a standby may take to take over ([`Timing::takeover`]).
	takeover: BlockNumber,
	/// The fencing token of the lead it acts under.
	token: Option<i64>,
	/// A lead it found taken over (a write refused): not acted under again.
	fenced: Option<i64>,
	/// The role the lease thread last saw ([`Leadership::watch`]).
	role: tokio::sync::watch::Receiver<Role>,
}

/// Runs `submission` with `flag` set, so that a stop waits for it (cleared however it ends,
/// dropped included).
async fn in_flight<T>(flag: &AtomicBool, submission: impl Future<Output = T>) -> T {
	struct Clear<'a>(&'a AtomicBool);
	impl Drop for Clear<'_> {
		fn drop(&mut self) {
			self.0.store(false, Ordering::SeqCst);
		}
	}
	flag.store(true, Ordering::SeqCst);
	let _clear = Clear(flag);
	submission.await
}

impl Daemon<'_> {
	/// Starts acting under the lead of `token`: every write checks it from now on, and what a
	/// former leader (this one included) may have left is taken from the chain afresh.
	fn lead_with(&mut self, token: i64) {
		self.store.fence(Some(token));
		self.token = Some(token);
		self.last = None;
		self.at_risk.clear();
		self.held_back.clear();
		tracing::info!(token, "leading: reconciling the store with the chain");
	}

	/// Refuses a submission once this daemon's lead is taken over or its lease lapsed: as the
	/// database shows it, then (the round trip may have taken long) as its own clock does.
	/// The chain is not fenced: this check is what keeps a leader that was stopped or cut off
	/// from sending once another leads. (What is left is a send already under way, or one
	/// stopped between this check and the send; the chain refuses a key registered twice, and
	/// a stale renewal or revocation only does what the plan had decided.)
	fn ensure_leading(&self) -> Result<(), KeeperError> {
		if self.store.leads()? && self.role.borrow().token().is_some_and(|t| Some(t) == self.token)
		{
			Ok(())
		} else {
			Err(StoreError::NotLeading(self.store.location().clone()).into())
		}
	}

	/// Acts on the finalized head if it is new.
	async fn tick(&mut self) -> Result<(), KeeperError> {
		// Read between steps: once the pause is acknowledged, nothing more is submitted.
		let paused = self.store.pause_state()?;
		if let Some(pause) = paused.filter(|pause| !pause.seen) {
			self.store.pause_seen(unix_now())?;
			tracing::warn!(
				since = pause.since,
				"paused (revoke-all): registering, renewing and revoking nothing until `resume`"
			);
		}
		if self.paused && paused.is_none() {
			tracing::info!("resumed");
		}
		self.paused = paused.is_some();
		// Finalized first: a best block read after it is never behind it.
		let finalized_hash = self.client.finalized_hash().await?;
		let finalized = self.client.block_number(finalized_hash).await?;
		let best_hash = self.client.best_hash().await?;
		let best = self.client.block_number(best_hash).await?;
		// (A best block behind the finalized one is a node switching forks: plan at the
		// finalized one.)
		let (best_hash, best) =
			if best < finalized { (finalized_hash, finalized) } else { (best_hash, best) };
		let heights = Heights { best, finalized };
		if self.last == Some(heights) {
			return Ok(());
		}
		self.observe_lag(best - finalized);
		for profile in self.store.checked_profiles()? {
			if self.stopping.load(Ordering::SeqCst) {
				return Ok(());
			}
			// Changed outside the keeper: nothing is registered, renewed or revoked from it.
			let profile = match profile {
				Ok(profile) => profile,
				Err(error @ StoreError::Tampered { .. }) => {
					let said = error.to_string();
					if self.refused.insert(said.clone()) {
						tracing::error!(error = %said, "profile refused; skipped");
					}
					continue;
				}
				Err(error) => return Err(error.into()),
			};
			match self.step(&profile, heights, finalized_hash, best_hash).await {
				// Removed (`profile remove`) while this step planned for it: nothing to keep.
				Err(KeeperError::Store(StoreError::UnknownProfile(name))) => {
					tracing::info!(profile = %name, "profile removed; skipped");
				}
				result => result?,
			}
		}
		self.last = Some(heights);
		self.metrics.finalized.set(finalized.into());
		Ok(())
	}

	/// How long the chain took lately: the most of the last [`TIMING_WINDOW`] observations.
	fn timing(&self) -> Timing {
		Timing {
			finality_lag: self.lags.iter().copied().max().unwrap_or(0),
			inclusion: self.inclusions.iter().copied().max().unwrap_or(1).max(1),
			takeover: self.takeover,
		}
	}

	/// Notes that finality trails the best block by `lag` blocks now.
	fn observe_lag(&mut self, lag: BlockNumber) {
		push_bounded(&mut self.lags, lag);
		self.metrics.finality_lag.set(lag.into());
	}

	/// Notes that a submission sent at best block `sent_at` was included in block `included`.
	fn observe_inclusion(&mut self, sent_at: BlockNumber, included: BlockNumber) {
		push_bounded(&mut self.inclusions, included.saturating_sub(sent_at).max(1));
	}

	/// Plans `profile` at `heights` and takes the actions, up to the first that submits
	/// something (the next step plans again from what the chain then shows). A renewal refused
	/// near its key's expiry is followed at once, in this step, by its successor.
	async fn step(
		&mut self,
		profile: &Profile,
		heights: Heights,
		finalized_hash: H256,
		best_hash: H256,
	) -> Result<(), KeeperError> {
		// A renewal refused near expiry plans again once, for the successor.
		for _ in 0..2 {
			let observed = chain::observe_profile(
				&self.client,
				self.store,
				&profile.name,
				finalized_hash,
				best_hash,
			)
			.await?;
			self.at_risk.retain(|id| observed.iter().any(|key| key.key.id == *id));
			let timing = self.timing();
			let margin = timing.renew_margin(profile);
			if self.margins.insert(profile.name.clone(), margin) != Some(margin) {
				self.metrics.renew_margin.with_label_values(&[&profile.name]).set(margin.into());
				if margin > profile.renew_margin {
					tracing::info!(
						profile = %profile.name,
						configured = profile.renew_margin,
						margin,
						finality_lag = timing.finality_lag,
						inclusion = timing.inclusion,
						"renewing earlier than configured: finality lags and inclusion takes \
						 this long"
					);
				}
			}
			let at_risk: Vec<i64> = self.at_risk.iter().copied().collect();
			let actions = plan(profile, &observed, heights, timing, &at_risk);
			if !self.act(profile, &observed, actions, heights, best_hash).await? {
				break;
			}
		}
		self.update_gauges(profile, heights.finalized)
	}

	/// Takes `actions`, up to the first that submits something. Whether to plan again at once:
	/// a renewal was refused near its key's expiry, and the key needs a successor now.
	async fn act(
		&mut self,
		profile: &Profile,
		observed: &[Observed],
		actions: Vec<Action>,
		heights: Heights,
		best_hash: H256,
	) -> Result<bool, KeeperError> {
		let now = heights.best;
		for action in actions {
			match action {
				Action::Record { id, status, registered_at, expires_at, ended_reason } => {
					let key = self.store.key_by_id(id)?;
					self.store.update_key(
						id,
						status,
						registered_at,
						expires_at,
						ended_reason.as_deref(),
					)?;
					if key.status == status {
						// A renewal become final.
						tracing::debug!(
							profile = %profile.name,
							key = %hex(&key.public.encode()),
							block = heights.finalized,
							expires_at = ?expires_at,
							"key state final"
						);
					} else {
						tracing::info!(
							profile = %profile.name,
							key = %hex(&key.public.encode()),
							block = heights.finalized,
							from = %key.status.as_str(),
							to = %status.as_str(),
							reason = %ended_reason.as_deref().unwrap_or("-"),
							"key state"
						);
					}
				}
				// Paused or stopping: the chain's view is recorded, nothing is sent.
				_ if self.paused || self.stopping.load(Ordering::SeqCst) => break,
				// A failed submission is not sent again for a few blocks (each try costs a fee);
				// other kinds go ahead (a refused successor holds back no renewal).
				ref action
					if Submission::of(action)
						.is_some_and(|kind| self.is_held_back(profile, kind, now)) =>
				{
					break
				}
				Action::Register { id } => {
					self.register(profile, id, now).await?;
					break;
				}
				Action::Generate { successor_of } => {
					self.generate(profile, successor_of, now).await?;
					break;
				}
				Action::Renew { id, blocks_left } => {
					let key = self.store.key_by_id(id)?;
					if !self.is_ours(profile, id, best_hash).await? {
						// It runs out instead: a successor replaces it in time (its pending
						// key first, if one is waiting), then the plan goes on as for a
						// rotation.
						if self.is_held_back(profile, Submission::Register, now) {
							break;
						}
						match pending_of(observed) {
							Some(pending) => self.register(profile, pending, now).await?,
							None => self.generate(profile, Some(id), now).await?,
						}
						break;
					}
					self.ensure_leading()?;
					tracing::info!(profile = %profile.name, key = %hex(&key.public.encode()), block = now, blocks_left, "renewing");
					let renew = chain::renew(
						&self.client,
						self.signer,
						key.public,
						profile.duration,
						Wait::InBlock,
					);
					match in_flight(&self.in_flight, renew).await {
						Ok(included) => {
							self.observe_inclusion(now, included.block_number);
							let expires_at = included.block_number.saturating_add(profile.duration);
							self.metrics.renewals.with_label_values(&[&profile.name]).inc();
							self.succeeded(profile, Submission::Renew);
							tracing::info!(
								profile = %profile.name,
								key = %hex(&key.public.encode()),
								block = included.block_number,
								blocks_left,
								expires_at,
								"renewed"
							);
						}
						Err(error) => {
							let kind = refusal(&error);
							let expired = matches!(
								&error,
								KeeperError::Chain(error) if error.error_name() == Some("Expired")
							);
							let near = blocks_left <= self.timing().needed().saturating_mul(2);
							if kind != Refusal::Transient && (expired || near) {
								self.metrics
									.failures
									.with_label_values(&[&profile.name, Submission::Renew.as_str()])
									.inc();
								tracing::warn!(
									profile = %profile.name,
									key = %hex(&key.public.encode()),
									block = now,
									blocks_left,
									%error,
									"renewal refused near expiry; registering a successor at once"
								);
								self.at_risk.insert(id);
								return Ok(true);
							}
							self.failed(profile, Submission::Renew, error, now)?
						}
					}
					break;
				}
				Action::Revoke { id, successor } => {
					// Not ours to revoke: it is left to expire.
					if !self.is_ours(profile, id, best_hash).await? {
						break;
					}
					let key = self.store.key_by_id(id)?;
					let successor = self.store.key_by_id(successor)?;
					self.ensure_leading()?;
					tracing::info!(profile = %profile.name, key = %hex(&key.public.encode()), block = now, "revoking the predecessor");
					let revoke =
						chain::revoke(&self.client, self.signer, key.public, Wait::InBlock);
					match in_flight(&self.in_flight, revoke).await {
						// Recorded closing once final, as any key state.
						Ok(included) => {
							self.observe_inclusion(now, included.block_number);
							self.metrics.revocations.with_label_values(&[&profile.name]).inc();
							self.metrics.rotations.with_label_values(&[&profile.name]).inc();
							self.succeeded(profile, Submission::Revoke);
							tracing::info!(
								profile = %profile.name,
								key = %hex(&key.public.encode()),
								successor = %hex(&successor.public.encode()),
								block = included.block_number,
								"revoked the predecessor: its successor is live"
							);
						}
						Err(error) => self.failed(profile, Submission::Revoke, error, now)?,
					}
					break;
				}
			}
		}
		Ok(false)
	}

	/// Whether a failed submission of `kind` for `profile` waits still at `now`.
	fn is_held_back(&self, profile: &Profile, kind: Submission, now: BlockNumber) -> bool {
		self.held_back.get(&(profile.name.clone(), kind)).is_some_and(|retry| now < retry.at)
	}

	/// Whether the signer may renew and revoke stored key `id` (registered, as the chain shows
	/// at `at`): always for the owner; for a delegate, only a key it registered itself. A key
	/// that is not is logged once.
	async fn is_ours(&mut self, profile: &Profile, id: i64, at: H256) -> Result<bool, KeeperError> {
		if self.not_ours.contains(&id) {
			return Ok(false);
		}
		let key = self.store.key_by_id(id)?;
		if chain::may_act_on(&self.client, self.signer, key.public, At::Hash(at)).await? {
			return Ok(true);
		}
		tracing::warn!(
			profile = %profile.name,
			key = %hex(&key.public.encode()),
			"not registered by this delegate (by the owner, or through an older keeper's \
			 SessionKeys proxy): it can neither renew nor revoke it, so it runs until its expiry \
			 and a key of its own replaces it; the owner may revoke it"
		);
		self.not_ours.insert(id);
		Ok(false)
	}

	/// Makes, seals and stores a new pending key for `profile` (`successor_of`: the live key
	/// it will replace), then registers it.
	async fn generate(
		&mut self,
		profile: &Profile,
		successor_of: Option<i64>,
		now: BlockNumber,
	) -> Result<(), KeeperError> {
		let pair = SessionPair::generate(profile.crypto);
		let key =
			self.store.add_pending_key(&profile.name, pair.public(), &pair.secret(), unix_now())?;
		drop(pair);
		tracing::info!(
			profile = %profile.name,
			key = %hex(&key.public.encode()),
			block = now,
			rotation = successor_of.is_some(),
			"stored a new pending key"
		);
		self.halt_if(HaltPoint::Stored).await;
		self.register(profile, key.id, now).await
	}

	/// Registers pending key `id`, asking the best block first: a registration already in a
	/// block that is not final yet is waited for, not sent again.
	async fn register(
		&mut self,
		profile: &Profile,
		id: i64,
		now: BlockNumber,
	) -> Result<(), KeeperError> {
		let key = self.store.key_by_id(id)?;
		let public = hex(&key.public.encode());
		if self.client.registration(key.public, At::Best).await?.is_some() {
			tracing::info!(profile = %profile.name, key = %public, "registration in a block not yet final; waiting");
			return Ok(());
		}
		self.ensure_leading()?;
		// The term, shortened if the chain found no room for the full one's settlement.
		let cut = self.shortened.get(&profile.name).copied().unwrap_or(0);
		let term = Profile { duration: profile.duration.saturating_sub(cut), ..profile.clone() };
		tracing::info!(profile = %profile.name, key = %public, block = now, duration = term.duration, "registering");
		let registered = async {
			let submitted =
				chain::send_register(&self.client, self.signer, self.store, &term, &key).await?;
			tracing::info!(profile = %profile.name, key = %public, extrinsic = ?submitted.hash(), "registration submitted");
			self.halt_if(HaltPoint::Submitted).await;
			Ok::<_, KeeperError>(self.client.wait(submitted, Wait::Finalized).await?)
		};
		match in_flight(&self.in_flight, registered).await {
			Ok(included) => {
				self.observe_inclusion(now, included.block_number);
				self.halt_if(HaltPoint::Registered).await;
				self.shortened.remove(&profile.name);
				let expires_at = included.block_number.saturating_add(term.duration);
				self.store.update_key(
					id,
					KeyStatus::Live,
					Some(included.block_number),
					Some(expires_at),
					None,
				)?;
				self.metrics.registrations.with_label_values(&[&profile.name]).inc();
				self.succeeded(profile, Submission::Register);
				tracing::info!(
					profile = %profile.name,
					key = %public,
					block = included.block_number,
					expires_at,
					"registered and finalized"
				);
				Ok(())
			}
			// Every block the full term's settlement could go to is full (a flood, or a busy
			// chain): a term shorter by the search's reach settles in other blocks. Tried at the
			// next step, not held back; a profile too short for that backs off as for any
			// refusal.
			Err(KeeperError::Chain(ClientError::Dispatch(failure)))
				if failure.name.as_deref() == Some("SettlementAgendaFull") =>
			{
				let reach = self.settlement_reach().await;
				match shorter_term(profile.duration, cut, reach, profile.renew_margin) {
					Some(next_cut) => {
						tracing::warn!(
							profile = %profile.name,
							key = %public,
							duration = profile.duration - next_cut,
							"the chain's settlement agenda is full around this term's end; \
							 registering with a shorter term"
						);
						self.shortened.insert(profile.name.clone(), next_cut);
						Ok(())
					}
					None => {
						self.shortened.remove(&profile.name);
						self.failed(
							profile,
							Submission::Register,
							KeeperError::Chain(ClientError::Dispatch(failure)),
							now,
						)
					}
				}
			}
			Err(KeeperError::Chain(ClientError::Dispatch(failure)))
				if failure.name.as_deref() == Some("AlreadyRegistered") =>
			{
				tracing::info!(profile = %profile.name, key = %public, "already registered; the next step records it");
				self.succeeded(profile, Submission::Register);
				Ok(())
			}
			// Never registered (the chain was asked) and its secret does not open, or opens to
			// no key: it can never be used, so it is retired here and the profile gets a new
			// key.
			Err(
				error
				@ (KeeperError::Store(StoreError::Damaged { .. }) | KeeperError::BadSecret(_)),
			) => {
				tracing::error!(profile = %profile.name, key = %public, %error, "retiring a pending key whose secret does not open");
				self.metrics
					.failures
					.with_label_values(&[&profile.name, Submission::Register.as_str()])
					.inc();
				self.store.update_key(
					id,
					KeyStatus::Ended,
					None,
					None,
					Some("sealed secret damaged"),
				)?;
				// Its replacement waits too: a fault that damages every new key must not make
				// one per block.
				self.hold_back(profile, Submission::Register, Refusal::Refused, now);
				Ok(())
			}
			// Refused (say, too little balance for the collateral) or not known to be sent: the
			// pending key stays, and is looked up and retried a few blocks on.
			Err(error) => self.failed(profile, Submission::Register, error, now),
		}
	}

	/// The blocks a settlement may be placed over: the chain's `MaxSettlementDelay` and one
	/// (read once; 101, the runtime's, if it cannot be read).
	async fn settlement_reach(&mut self) -> BlockNumber {
		if let Some(reach) = self.settlement_reach {
			return reach;
		}
		let reach = match self.client.constant::<u32>("Adjudicator", "MaxSettlementDelay").await {
			Ok(delay) => delay.saturating_add(1),
			Err(error) => {
				tracing::warn!(%error, "cannot read MaxSettlementDelay; taking 100");
				101
			}
		};
		self.settlement_reach = Some(reach);
		reach
	}

	/// Logs and counts a failed call, and holds that kind of submission back for the profile
	/// ([`Retry::after`]); only the store failing (not one damaged record) stops the daemon.
	fn failed(
		&mut self,
		profile: &Profile,
		kind: Submission,
		error: KeeperError,
		now: BlockNumber,
	) -> Result<(), KeeperError> {
		self.metrics.failures.with_label_values(&[&profile.name, kind.as_str()]).inc();
		if let KeeperError::Store(store) = &error {
			if !matches!(store, StoreError::Damaged { .. }) {
				return Err(error);
			}
		}
		let retry = self.hold_back(profile, kind, refusal(&error), now);
		tracing::error!(
			profile = %profile.name,
			action = %kind.as_str(),
			block = now,
			retry_at = retry.at,
			%error,
			"failed; the key is kept and the step retried"
		);
		Ok(())
	}

	/// Holds `kind` of submission back for `profile` after a failure at `now`.
	fn hold_back(
		&mut self,
		profile: &Profile,
		kind: Submission,
		refusal: Refusal,
		now: BlockNumber,
	) -> Retry {
		let slot = (profile.name.clone(), kind);
		let retry = Retry::after(kind, self.held_back.get(&slot).copied(), refusal, now);
		self.held_back.insert(slot, retry);
		retry
	}

	/// A submission of `kind` went through: the next failure starts the backoff afresh.
	fn succeeded(&mut self, profile: &Profile, kind: Submission) {
		self.held_back.remove(&(profile.name.clone(), kind));
	}

	fn update_gauges(&self, profile: &Profile, now: BlockNumber) -> Result<(), KeeperError> {
		let live: Vec<_> = self
			.store
			.open_keys(&profile.name)?
			.into_iter()
			.filter(|key| {
				key.status == KeyStatus::Live && key.expires_at.is_some_and(|at| now < at)
			})
			.collect();
		self.metrics.live_keys.with_label_values(&[&profile.name]).set(live.len() as i64);
		let newest = live.iter().filter_map(|key| key.expires_at).max();
		self.metrics
			.blocks_to_expiry
			.with_label_values(&[&profile.name])
			.set(newest.map_or(0, |at| i64::from(at.saturating_sub(now))));
		Ok(())
	}

	async fn halt_if(&self, point: HaltPoint) {
		if self.options.halt_after == Some(point) {
			tracing::warn!(?point, "halting here as asked (--halt-after); kill the process");
			std::future::pending::<()>().await;
		}
	}
}

/// The next cut off a term of `duration` whose settlement found no room with `cut` taken off
/// already: one more `reach` (the blocks the chain searched), so the settlement lands past the
/// blocks found full. None once the term would be no longer than twice `margin` (a key that
/// short would renew almost at once).
fn shorter_term(
	duration: BlockNumber,
	cut: BlockNumber,
	reach: BlockNumber,
	margin: BlockNumber,
) -> Option<BlockNumber> {
	let next = cut.checked_add(reach)?;
	(duration.saturating_sub(next) > margin.saturating_mul(2)).then_some(next)
}

/// How long a submission in flight may take to be final after the signal to stop (one is
/// usually final some 10 s after it is sent).
const STEP_GRACE: Duration = Duration::from_secs(30);

/// The kinds of submission a failure holds back, each on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Submission {
	/// Registering a pending or new key.
	Register,
	/// Renewing the live key.
	Renew,
	/// Revoking a predecessor.
	Revoke,
}

impl Submission {
	/// The kind of submission `action` makes, if it makes one.
	fn of(action: &Action) -> Option<Self> {
		match action {
			Action::Record { .. } => None,
			Action::Register { .. } | Action::Generate { .. } => Some(Submission::Register),
			Action::Renew { .. } => Some(Submission::Renew),
			Action::Revoke { .. } => Some(Submission::Revoke),
		}
	}

	/// Its name in the log and the failure metric.
	fn as_str(self) -> &'static str {
		match self {
			Submission::Register => "register",
			Submission::Renew => "renew",
			Submission::Revoke => "revoke",
		}
	}
}

/// How a submission failed, for its next try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
	/// The node or the connection failed on the way.
	Transient,
	/// The chain refused it (trying again soon would only repeat that, at a fee).
	Refused,
	/// The chain refused it because the signer may not act for the owner at all (a delegate
	/// whose authorization the owner revoked or that ended, or a key it did not register), or
	/// because the owner's terms refuse it (say a renewal that would outlive `endsAt`). Only
	/// the owner can change that, so even a renewal backs off.
	NotAllowed,
}

/// How `error` failed: see [`Refusal`].
fn refusal(error: &KeeperError) -> Refusal {
	match error {
		KeeperError::Chain(error)
			if error.error_name().is_some_and(|name| NOT_ALLOWED.contains(&name)) =>
		{
			Refusal::NotAllowed
		}
		KeeperError::Chain(
			ClientError::Dispatch(_)
			| ClientError::Submission(_)
			| ClientError::InvalidArgument { .. }
			| ClientError::WeakKey(_),
		) => Refusal::Refused,
		KeeperError::Chain(_) => Refusal::Transient,
		KeeperError::Store(_) | KeeperError::BadSecret(_) | KeeperError::Signer(_) => {
			Refusal::Refused
		}
	}
}

/// The adjudicator's errors that only the owner can lift: the delegate is not (or no longer)
/// allowed to act, or a term of the owner's refuses the call.
const NOT_ALLOWED: [&str; 9] = [
	"NotDelegate",
	"DelegationEnded",
	"NotOwner",
	"CounterpartNotAllowed",
	"CollateralAboveTerms",
	"SpendingLimitAboveTerms",
	"DurationAboveTerms",
	"TooManyDelegateKeys",
	"TotalCollateralAboveTerms",
];

/// The pending key among `observed` that the best block does not know yet, if any.
fn pending_of(observed: &[Observed]) -> Option<i64> {
	observed
		.iter()
		.find(|key| key.key.status == KeyStatus::Pending && key.best == OnChain::Unknown)
		.map(|key| key.key.id)
}

/// How many observations of the finality lag and of inclusion times the daemon keeps: the
/// margin follows the most of them, so one slow stretch raises it for a while.
const TIMING_WINDOW: usize = 64;

/// Appends `value`, dropping the oldest beyond [`TIMING_WINDOW`].
fn push_bounded(window: &mut VecDeque<BlockNumber>, value: BlockNumber) {
	if window.len() == TIMING_WINDOW {
		window.pop_front();
	}
	window.push_back(value);
}

/// When a failed submission is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Retry {
	/// The first block it may be sent at.
	at: BlockNumber,
	/// The blocks waited this time.
	wait: BlockNumber,
}

impl Retry {
	/// The next try after a failure at `now`. A renewal is tried again at the next best
	/// block: the live key's life depends on it, and its margin may leave room for few tries.
	/// A registration or revocation waits [`RETRY_BLOCKS`], doubling up to [`MAX_RETRY_BLOCKS`]
	/// while the chain keeps refusing it (each try may cost a fee, and a refusal such as too
	/// little balance lasts until the owner acts); a node or connection failure does not
	/// double the wait. A renewal the signer is not allowed at all ([`Refusal::NotAllowed`])
	/// backs off as a registration does: no try of it can pass until the owner acts.
	fn after(
		kind: Submission,
		previous: Option<Retry>,
		refusal: Refusal,
		now: BlockNumber,
	) -> Retry {
		let wait = match (kind, previous) {
			(Submission::Renew, _) if refusal != Refusal::NotAllowed => 1,
			(_, Some(previous)) if refusal != Refusal::Transient => {
				previous.wait.saturating_mul(2).clamp(RETRY_BLOCKS, MAX_RETRY_BLOCKS)
			}
			_ => RETRY_BLOCKS,
		};
		Retry { at: now.saturating_add(wait), wait }
	}
}

/// Blocks to wait before a failed submission is sent again the first time.
const RETRY_BLOCKS: BlockNumber = 3;
/// The longest wait between tries of a submission that keeps failing (about 2.4 minutes of
/// 3-second blocks).
const MAX_RETRY_BLOCKS: BlockNumber = 48;

/// The time in unix seconds (0 if the clock is before 1970).
pub(crate) fn unix_now() -> i64 {
	std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map_or(0, |elapsed| elapsed.as_secs() as i64)
}

#[cfg(test)]
mod tests {
	use super::*;

	/// A full settlement agenda around a term's end: the next registration's term is shorter
	/// by the chain's reach, then by twice it, until the term would be too short to keep.
	#[test]
	fn a_full_agenda_shortens_the_term_by_the_reach_while_it_stays_useful() {
		// A day's term, the runtime's reach, a margin of a quarter of an hour.
		assert_eq!(shorter_term(14_400, 0, 101, 300), Some(101));
		assert_eq!(shorter_term(14_400, 101, 101, 300), Some(202));
		// A short term has no room for it: it backs off as for any refusal.
		assert_eq!(shorter_term(12, 0, 101, 4), None);
		assert_eq!(shorter_term(300, 0, 101, 100), None, "199 left is not above 200");
		assert_eq!(shorter_term(302, 0, 101, 100), Some(101), "201 left is");
		assert_eq!(shorter_term(302, 0, 101, 101), None);
		assert_eq!(shorter_term(100, BlockNumber::MAX, 1, 4), None, "no overflow");
	}

	#[test]
	fn a_refused_registration_backs_off_and_a_renewal_or_a_lost_connection_does_not() {
		let first = Retry::after(Submission::Register, None, Refusal::Refused, 10);
		assert_eq!(first, Retry { at: 13, wait: RETRY_BLOCKS });
		let second = Retry::after(Submission::Register, Some(first), Refusal::Refused, 13);
		assert_eq!(second, Retry { at: 19, wait: 6 });
		let mut retry = second;
		for _ in 0..10 {
			retry = Retry::after(Submission::Revoke, Some(retry), Refusal::Refused, 100);
		}
		assert_eq!(retry, Retry { at: 100 + MAX_RETRY_BLOCKS, wait: MAX_RETRY_BLOCKS });
		// The node away: the usual wait, and the doubling starts afresh after it.
		let transient = Retry::after(Submission::Register, Some(retry), Refusal::Transient, 200);
		assert_eq!(transient, Retry { at: 203, wait: RETRY_BLOCKS });
		assert_eq!(
			Retry::after(Submission::Register, Some(transient), Refusal::Refused, 203).wait,
			6
		);
		// A renewal: the next best block, whatever came before.
		assert_eq!(
			Retry::after(Submission::Renew, Some(retry), Refusal::Refused, 200),
			Retry { at: 201, wait: 1 }
		);
		assert_eq!(
			Retry::after(Submission::Register, None, Refusal::Refused, BlockNumber::MAX).at,
			BlockNumber::MAX
		);
	}

	#[test]
	fn only_the_chain_refusing_counts_as_refused() {
		// (A dispatch failure, refused too, is seen end to end: `InsufficientBalance`, and a
		// revoked delegate's `NotDelegate`.)
		let chain = |error| refusal(&KeeperError::Chain(error));
		assert_eq!(chain(ClientError::InvalidArgument { what: "scope" }), Refusal::Refused);
		assert_eq!(chain(ClientError::Submission("invalid".into())), Refusal::Refused);
		assert_eq!(
			chain(ClientError::Timeout(Duration::from_secs(1), "finality")),
			Refusal::Transient
		);
		assert_eq!(chain(ClientError::StatusUnknown("dropped".into())), Refusal::Transient);
		assert_eq!(chain(ClientError::NotFound("a block")), Refusal::Transient);
	}

	#[test]
	fn a_renewal_the_signer_is_not_allowed_backs_off_as_a_registration_does() {
		let first = Retry::after(Submission::Renew, None, Refusal::NotAllowed, 10);
		assert_eq!(first, Retry { at: 13, wait: RETRY_BLOCKS });
		let second = Retry::after(Submission::Renew, Some(first), Refusal::NotAllowed, 13);
		assert_eq!(second, Retry { at: 19, wait: 6 });
		// Allowed again (the owner authorized the delegate anew): the next block.
		assert_eq!(Retry::after(Submission::Renew, Some(second), Refusal::Refused, 19).wait, 1);
	}

	#[test]
	fn each_action_names_what_a_failure_of_it_holds_back() {
		assert_eq!(
			Submission::of(&Action::Generate { successor_of: None }),
			Some(Submission::Register)
		);
		assert_eq!(Submission::of(&Action::Register { id: 1 }), Some(Submission::Register));
		assert_eq!(
			Submission::of(&Action::Renew { id: 1, blocks_left: 2 }),
			Some(Submission::Renew)
		);
		assert_eq!(
			Submission::of(&Action::Revoke { id: 1, successor: 2 }),
			Some(Submission::Revoke)
		);
		let record = Action::Record {
			id: 1,
			status: KeyStatus::Live,
			registered_at: None,
			expires_at: None,
			ended_reason: None,
		};
		assert_eq!(Submission::of(&record), None);
	}
}
