//! The daemon: follows finalized blocks and keeps every profile covered by a live key
//! ([`crate::plan`] says what to do, this module does it).
//!
//! Crash safety: a new key is sealed and stored as pending in one transaction before anything
//! is submitted for it, and a pending key is looked up on chain before it is submitted (again).
//! A crash at any point therefore leaves no registered key whose secret is lost, and no key is
//! registered twice (the chain would refuse the second registration anyway: keys are never
//! reused).

use std::{
	collections::HashMap,
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
	metrics::Metrics,
	plan::{plan, Action},
	signer::OwnerSigner,
	store::{hex, KeyStatus, Profile, Store, StoreError},
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
	/// How often the finalized head is polled.
	pub poll: Duration,
	/// Stop for good at this point (crash tests only).
	pub halt_after: Option<HaltPoint>,
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
		proxy = signer.proxy_of().is_some(),
		"connected; reconciling the store with the chain"
	);
	let mut daemon = Daemon {
		client,
		store,
		signer,
		options,
		metrics,
		last: None,
		held_back: Default::default(),
		paused: false,
		stopping: Arc::new(AtomicBool::new(false)),
		in_flight: Arc::new(AtomicBool::new(false)),
	};
	let (stopping, in_flight) = (daemon.stopping.clone(), daemon.in_flight.clone());
	let mut backoff = Duration::from_secs(1);
	loop {
		let step = daemon.tick();
		tokio::pin!(step);
		let outcome = tokio::select! {
			outcome = &mut step => outcome,
			_ = &mut shutdown => {
				stopping.store(true, Ordering::SeqCst);
				if !in_flight.load(Ordering::SeqCst) {
					tracing::info!("stopping");
					return Ok(());
				}
				tracing::info!(grace = ?STEP_GRACE, "stopping once the submission in flight is final");
				if tokio::time::timeout(STEP_GRACE, &mut step).await.is_err() {
					tracing::warn!("stopping with a submission in flight; the next start looks its key up on chain");
				}
				return Ok(());
			},
		};
		match outcome {
			Ok(()) => backoff = Duration::from_secs(1),
			Err(KeeperError::Store(error)) => return Err(error.into()),
			Err(error) => {
				tracing::warn!(%error, retry_in = ?backoff, "step failed; retrying");
				tokio::select! {
					_ = &mut shutdown => return Ok(()),
					_ = tokio::time::sleep(backoff) => {},
				}
				backoff = (backoff * 2).min(Duration::from_secs(30));
				continue;
			}
		}
		tokio::select! {
			_ = &mut shutdown => {
				tracing::info!("stopping");
				return Ok(());
			},
			_ = tokio::time::sleep(options.poll) => {},
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
	/// The finalized block last acted on.
	last: Option<BlockNumber>,
	/// Per profile and kind of submission, the failed one's next try.
	held_back: HashMap<(String, Submission), Retry>,
	/// Whether the keeper was paused at the start of this tick.
	paused: bool,
	/// Set once the daemon is asked to stop: nothing more is submitted.
	stopping: Arc<AtomicBool>,
	/// Whether a submission is on its way (see [`in_flight`]).
	in_flight: Arc<AtomicBool>,
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
		let hash = self.client.finalized_hash().await?;
		let now = self.client.block_number(hash).await?;
		if self.last == Some(now) {
			return Ok(());
		}
		for profile in self.store.profiles()? {
			if self.stopping.load(Ordering::SeqCst) {
				return Ok(());
			}
			match self.step(&profile, hash, now).await {
				// Removed (`profile remove`) while this step planned for it: nothing to keep.
				Err(KeeperError::Store(StoreError::UnknownProfile(name))) => {
					tracing::info!(profile = %name, "profile removed; skipped");
				}
				result => result?,
			}
		}
		self.last = Some(now);
		self.metrics.finalized.set(now.into());
		Ok(())
	}

	/// Plans `profile` at finalized block `now` and takes the actions, up to the first that
	/// submits something (the next step plans again from what the chain then shows).
	async fn step(
		&mut self,
		profile: &Profile,
		hash: H256,
		now: BlockNumber,
	) -> Result<(), KeeperError> {
		let observed =
			chain::observe_profile(&self.client, self.store, &profile.name, hash).await?;
		let actions = plan(profile, &observed, now);
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
					tracing::info!(
						profile = %profile.name,
						key = %hex(&key.public.encode()),
						block = now,
						from = %key.status.as_str(),
						to = %status.as_str(),
						reason = %ended_reason.as_deref().unwrap_or("-"),
						"key state"
					);
				}
				// Paused or stopping: the chain's view is recorded, nothing is sent.
				_ if self.paused || self.stopping.load(Ordering::SeqCst) => break,
				// A failed submission is not sent again for a few blocks (each try costs a fee);
				// other kinds go ahead (a refused successor holds back no renewal).
				ref action
					if Submission::of(action).is_some_and(|kind| {
						self.held_back
							.get(&(profile.name.clone(), kind))
							.is_some_and(|retry| now < retry.at)
					}) =>
				{
					break
				}
				Action::Register { id } => {
					self.register(profile, id, now).await?;
					break;
				}
				Action::Generate { successor_of } => {
					let pair = SessionPair::generate(profile.crypto);
					let key = self.store.add_pending_key(
						&profile.name,
						pair.public(),
						&pair.secret(),
						unix_now(),
					)?;
					drop(pair);
					tracing::info!(
						profile = %profile.name,
						key = %hex(&key.public.encode()),
						block = now,
						rotation = successor_of.is_some(),
						"stored a new pending key"
					);
					self.halt_if(HaltPoint::Stored).await;
					self.register(profile, key.id, now).await?;
					break;
				}
				Action::Renew { id, blocks_left } => {
					let key = self.store.key_by_id(id)?;
					let renew =
						chain::renew(&self.client, self.signer, key.public, profile.duration);
					match in_flight(&self.in_flight, renew).await {
						Ok(included) => {
							let expires_at = included.block_number.saturating_add(profile.duration);
							self.store.update_key(
								id,
								KeyStatus::Live,
								None,
								Some(expires_at),
								None,
							)?;
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
						Err(error) => self.failed(profile, Submission::Renew, error, now)?,
					}
					break;
				}
				Action::Revoke { id, successor } => {
					let key = self.store.key_by_id(id)?;
					let successor = self.store.key_by_id(successor)?;
					let revoke = chain::revoke(&self.client, self.signer, key.public);
					match in_flight(&self.in_flight, revoke).await {
						Ok(included) => {
							self.store.mark_revoked(id, included.block_number)?;
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
		self.update_gauges(profile, now)
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
		tracing::info!(profile = %profile.name, key = %public, block = now, "registering");
		let registered = async {
			let submitted =
				chain::send_register(&self.client, self.signer, self.store, profile, &key).await?;
			tracing::info!(profile = %profile.name, key = %public, extrinsic = ?submitted.hash(), "registration submitted");
			self.halt_if(HaltPoint::Submitted).await;
			Ok::<_, KeeperError>(self.client.wait(submitted, Wait::Finalized).await?)
		};
		match in_flight(&self.in_flight, registered).await {
			Ok(included) => {
				self.halt_if(HaltPoint::Registered).await;
				let expires_at = included.block_number.saturating_add(profile.duration);
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
				self.hold_back(profile, Submission::Register, true, now);
				Ok(())
			}
			// Refused (say, too little balance for the collateral) or not known to be sent: the
			// pending key stays, and is looked up and retried a few blocks on.
			Err(error) => self.failed(profile, Submission::Register, error, now),
		}
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
		let retry = self.hold_back(profile, kind, refused(&error), now);
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
		refused: bool,
		now: BlockNumber,
	) -> Retry {
		let slot = (profile.name.clone(), kind);
		let retry = Retry::after(kind, self.held_back.get(&slot).copied(), refused, now);
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

/// Whether `error` is the chain refusing the submission (which trying again soon would only
/// repeat, at a fee), rather than the node or the connection failing on the way.
fn refused(error: &KeeperError) -> bool {
	match error {
		KeeperError::Chain(error) => matches!(
			error,
			ClientError::Dispatch(_)
				| ClientError::Submission(_)
				| ClientError::InvalidArgument { .. }
				| ClientError::WeakKey(_)
		),
		KeeperError::Store(_) | KeeperError::BadSecret(_) | KeeperError::Signer(_) => true,
	}
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
	/// The next try after a failure at `now`. A renewal is tried again at the next finalized
	/// block: the live key's life depends on it, and its margin may leave room for few tries.
	/// A registration or revocation waits [`RETRY_BLOCKS`], doubling up to [`MAX_RETRY_BLOCKS`]
	/// while the chain keeps `refused` it (each try may cost a fee, and a refusal such as too
	/// little balance lasts until the owner acts); a node or connection failure does not
	/// double the wait.
	fn after(kind: Submission, previous: Option<Retry>, refused: bool, now: BlockNumber) -> Retry {
		let wait = match (kind, previous) {
			(Submission::Renew, _) => 1,
			(_, Some(previous)) if refused => {
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

	#[test]
	fn a_refused_registration_backs_off_and_a_renewal_or_a_lost_connection_does_not() {
		let first = Retry::after(Submission::Register, None, true, 10);
		assert_eq!(first, Retry { at: 13, wait: RETRY_BLOCKS });
		let second = Retry::after(Submission::Register, Some(first), true, 13);
		assert_eq!(second, Retry { at: 19, wait: 6 });
		let mut retry = second;
		for _ in 0..10 {
			retry = Retry::after(Submission::Revoke, Some(retry), true, 100);
		}
		assert_eq!(retry, Retry { at: 100 + MAX_RETRY_BLOCKS, wait: MAX_RETRY_BLOCKS });
		// The node away: the usual wait, and the doubling starts afresh after it.
		let transient = Retry::after(Submission::Register, Some(retry), false, 200);
		assert_eq!(transient, Retry { at: 203, wait: RETRY_BLOCKS });
		assert_eq!(Retry::after(Submission::Register, Some(transient), true, 203).wait, 6);
		// A renewal: the next finalized block, whatever came before.
		assert_eq!(
			Retry::after(Submission::Renew, Some(retry), true, 200),
			Retry { at: 201, wait: 1 }
		);
		assert_eq!(
			Retry::after(Submission::Register, None, true, BlockNumber::MAX).at,
			BlockNumber::MAX
		);
	}

	#[test]
	fn only_the_chain_refusing_counts_as_refused() {
		// (A dispatch failure, refused too, is seen end to end: `InsufficientBalance`.)
		assert!(refused(&KeeperError::Chain(ClientError::InvalidArgument { what: "scope" })));
		assert!(refused(&KeeperError::Chain(ClientError::Submission("invalid".into()))));
		assert!(!refused(&KeeperError::Chain(ClientError::Timeout(
			Duration::from_secs(1),
			"finality"
		))));
		assert!(!refused(&KeeperError::Chain(ClientError::StatusUnknown("dropped".into()))));
		assert!(!refused(&KeeperError::Chain(ClientError::NotFound("a block"))));
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
