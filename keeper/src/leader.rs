//! Who leads among the daemons sharing a store in failover: a thread of its own takes the lease
//! when it is free and extends it while it leads ([`crate::store::Lease`]), and tells the
//! daemon its role ([`Leadership::role`]).
//!
//! The lease is counted on the database's clock. Locally, a leader counts its lease from the
//! moment it *sent* the last extension that succeeded, less a tenth for clocks that run at
//! different rates, so it stops acting before the database could hand the lead to another.
//! It is extended every third of its term, so one lost extension does not cost the lead.

use std::{
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc,
	},
	thread::JoinHandle,
	time::{Duration, Instant},
};

use tokio::sync::watch;

use crate::{
	metrics::Metrics,
	store::{Leader, Lease},
};

/// What this daemon is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
	/// It may not write or submit: another daemon leads, or it could not reach the database.
	Standby,
	/// It leads with this fencing token, until `until` (this machine's clock).
	Leading {
		/// The fencing token its writes carry.
		token: i64,
		/// When its lease may have lapsed.
		until: Instant,
	},
}

impl Role {
	/// The fencing token, while the lease has not lapsed.
	pub fn token(&self) -> Option<i64> {
		match *self {
			Role::Leading { token, until } if Instant::now() < until => Some(token),
			_ => None,
		}
	}
}

/// The lease's thread, and the role it last saw.
pub struct Leadership {
	role: watch::Receiver<Role>,
	stop: Arc<AtomicBool>,
	thread: Option<JoinHandle<()>>,
}

impl Leadership {
	/// Starts contending for `lease`, whose term is `term`.
	pub fn start(lease: Box<dyn Lease>, term: Duration, metrics: Arc<Metrics>) -> Self {
		let (sender, role) = watch::channel(Role::Standby);
		let stop = Arc::new(AtomicBool::new(false));
		let thread = {
			let stop = stop.clone();
			std::thread::Builder::new()
				.name("lease".into())
				.spawn(move || contend(lease, term, sender, stop, metrics))
				.expect("a thread starts")
		};
		Self { role, stop, thread: Some(thread) }
	}

	/// The role now (a lease that lapsed locally is [`Role::Standby`]).
	pub fn role(&self) -> Role {
		let role = *self.role.borrow();
		match role.token() {
			Some(_) => role,
			None => Role::Standby,
		}
	}

	/// The role as the lease thread last saw it, to read without waiting (a lease lapsed
	/// locally shows in [`Role::token`]).
	pub fn watch(&self) -> watch::Receiver<Role> {
		self.role.clone()
	}

	/// Waits until the role changes, or `timeout` passes.
	pub async fn changed(&mut self, timeout: Duration) {
		let changed = tokio::time::timeout(timeout, self.role.changed()).await;
		if matches!(changed, Ok(Err(_))) {
			// The lease thread ended (it only does when asked, or by a panic): no change will
			// come, so wait the time out rather than spin.
			tokio::time::sleep(timeout).await;
		}
	}

	/// Stops contending; a lease held is released, so a standby takes over at once. Waits
	/// for that at most 5 s, off the async threads (the release is a blocking call).
	pub async fn stop(mut self) {
		self.stop.store(true, Ordering::SeqCst);
		if let Some(thread) = self.thread.take() {
			let joined = tokio::task::spawn_blocking(move || thread.join());
			if tokio::time::timeout(STOP_WAIT, joined).await.is_err() {
				tracing::warn!("the lease was not released in time: it lapses instead");
			}
		}
	}
}

impl Drop for Leadership {
	fn drop(&mut self) {
		// (Dropped without `stop`: the thread ends at its next turn, without waiting.)
		self.stop.store(true, Ordering::SeqCst);
	}
}

/// The lease of a daemon that is alone by construction (an SQLite store).
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// How long a stop waits for the lease to be released.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// The lease thread's loop.
fn contend(
	mut lease: Box<dyn Lease>,
	term: Duration,
	role: watch::Sender<Role>,
	stop: Arc<AtomicBool>,
	metrics: Arc<Metrics>,
) {
	let turn = term / 3;
	// Stop acting a tenth of the term early: the clocks' rates differ a little. A lease no
	// other daemon can contend for never lapses.
	let usable = if lease.exclusive() { FOREVER } else { term - term / 10 };
	let mut seen: Option<String> = None;
	while !stop.load(Ordering::SeqCst) {
		let sent = Instant::now();
		let current = *role.borrow();
		let next = match current {
			Role::Leading { token, until } => match lease.extend(token) {
				Ok(true) => Role::Leading { token, until: sent + usable },
				Ok(false) => {
					tracing::warn!(token, "another keeper took the lead over: standing by");
					Role::Standby
				}
				Err(error) if Instant::now() >= until => {
					tracing::warn!(%error, token, "the lease lapsed (the database is unreachable): standing by");
					Role::Standby
				}
				Err(error) => {
					tracing::warn!(%error, token, "cannot extend the lease; retrying");
					current
				}
			},
			Role::Standby => match lease.try_take() {
				Ok(Some(token)) => {
					tracing::info!(token, "leading (fencing token {token})");
					Role::Leading { token, until: sent + usable }
				}
				Ok(None) => {
					if let Ok(Some(Leader { holder, token, .. })) = lease.current() {
						if seen.as_ref() != Some(&holder) {
							tracing::info!(leader = %holder, token, "standing by: another keeper leads");
							seen = Some(holder);
						}
					}
					Role::Standby
				}
				Err(error) => {
					tracing::warn!(%error, "cannot reach the lease; standing by");
					Role::Standby
				}
			},
		};
		if next != current {
			metrics.leading.set(i64::from(matches!(next, Role::Leading { .. })));
			if let Role::Leading { token, .. } = next {
				metrics.fencing_token.set(token);
				seen = None;
			}
			role.send_replace(next);
		}
		// Sleep the turn out in short naps, so a stop is seen soon.
		let wake = sent + turn;
		while !stop.load(Ordering::SeqCst) && Instant::now() < wake {
			std::thread::sleep((wake - Instant::now()).min(Duration::from_millis(50)));
		}
	}
	if let Role::Leading { token, .. } = *role.borrow() {
		match lease.release(token) {
			Ok(()) => tracing::info!(token, "released the lead"),
			Err(error) => tracing::warn!(%error, "cannot release the lead: it lapses instead"),
		}
	}
}
