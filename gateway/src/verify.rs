//! Batched signature verification: the signatures of requests that reach verification at the
//! same moment are verified together, at a fraction of the cost of verifying them one by one
//! (schnorrkel's batch verification for sr25519, ed25519-zebra's for ed25519; ecdsa has none).
//!
//! The answer for each signature is the one single verification gives
//! ([`SessionPublic::verify`]): a batch that verifies proves every signature in it (a forged
//! one passes a batch with probability about 2^-128, as batch verification's random
//! coefficients make it), and a batch that fails is verified again one signature at a time,
//! to find the bad ones. Ristretto (sr25519) has no small-order points and ed25519-zebra
//! follows ZIP 215, so batch and single verification accept the same signatures.
//!
//! # When a request waits
//!
//! A request verifies its own signature at once when no batch is being verified (after one
//! yield, so the requests ready to run beside it join its batch); one that arrives while
//! every verifier is busy queues, and the next batch takes it. A verifier
//! collecting a batch waits for more only while other requests are on their way to
//! verification ([`BatchVerifier::approach`]) and for at most [`BatchSettings::max_wait`], so
//! a lone request never waits. At most one batch per core is verified at once.

use std::{
	collections::VecDeque,
	sync::{
		atomic::{AtomicUsize, Ordering},
		Arc,
	},
	time::{Duration, Instant},
};

use parking_lot::Mutex;
use prometheus::{Histogram, IntCounter};
use session_keys_primitives::{SessionPublic, SessionSignature};
use tokio::sync::oneshot;

/// sp-core's signing context for sr25519 (`sp_core::sr25519::Pair::verify`'s).
const SR25519_CONTEXT: &[u8] = b"substrate";

/// An sr25519 key's point, decompressed once (when the key is cached) rather than for every
/// signature verified in a batch.
#[derive(Clone, Copy, Debug)]
pub struct KeyPoint(schnorrkel::PublicKey);

impl KeyPoint {
	/// The point of `public`, if it is an sr25519 key whose bytes are a point.
	pub fn of(public: &SessionPublic) -> Option<KeyPoint> {
		match public {
			SessionPublic::Sr25519(public) => {
				schnorrkel::PublicKey::from_bytes(AsRef::<[u8]>::as_ref(public)).ok().map(KeyPoint)
			}
			_ => None,
		}
	}
}

/// One signature to verify: `signature` by `public` on `payload`.
#[derive(Clone, Debug)]
pub struct Item {
	/// The signer's key.
	pub public: SessionPublic,
	/// The signature.
	pub signature: SessionSignature,
	/// What was signed.
	pub payload: Vec<u8>,
	/// `public`'s point, if already decompressed ([`KeyPoint::of`] of `public`, never another
	/// key's).
	pub point: Option<KeyPoint>,
}

impl Item {
	/// Single verification, the reference every batch answer agrees with.
	pub fn verify(&self) -> bool {
		self.public.verify(&self.payload, &self.signature)
	}
}

/// Verifies `items` together: the answer for each is [`Item::verify`]'s.
pub fn verify_all(items: &[Item]) -> Vec<bool> {
	if items.len() == 1 {
		return vec![items[0].verify()];
	}
	let mut answers = vec![false; items.len()];
	let mut sr25519 = Vec::new();
	let mut ed25519 = Vec::new();
	for (index, item) in items.iter().enumerate() {
		match (&item.public, &item.signature) {
			(SessionPublic::Sr25519(_), SessionSignature::Sr25519(_)) => sr25519.push(index),
			(SessionPublic::Ed25519(_), SessionSignature::Ed25519(_)) => ed25519.push(index),
			// ecdsa has no batch verification; a key and a signature of different kinds are
			// refused by single verification without any work.
			_ => answers[index] = item.verify(),
		}
	}
	settle(items, &sr25519, batch_sr25519, &mut answers);
	settle(items, &ed25519, batch_ed25519, &mut answers);
	answers
}

/// Answers the items at `indices`: all valid if `batch` verifies them together, else each
/// verified on its own.
fn settle(items: &[Item], indices: &[usize], batch: fn(&[&Item]) -> bool, answers: &mut [bool]) {
	match indices {
		[] => {}
		[index] => answers[*index] = items[*index].verify(),
		_ => {
			let group: Vec<&Item> = indices.iter().map(|index| &items[*index]).collect();
			if batch(&group) {
				for index in indices {
					answers[*index] = true;
				}
			} else {
				for index in indices {
					answers[*index] = items[*index].verify();
				}
			}
		}
	}
}

/// Whether every sr25519 signature of `items` verifies (false if any key or signature does
/// not even parse: single verification then finds which).
fn batch_sr25519(items: &[&Item]) -> bool {
	let mut publics = Vec::with_capacity(items.len());
	let mut signatures = Vec::with_capacity(items.len());
	let mut transcripts = Vec::with_capacity(items.len());
	let context = schnorrkel::signing_context(SR25519_CONTEXT);
	for item in items {
		let (SessionPublic::Sr25519(public), SessionSignature::Sr25519(signature)) =
			(&item.public, &item.signature)
		else {
			return false;
		};
		let public = match item.point {
			Some(KeyPoint(point)) => Ok(point),
			None => schnorrkel::PublicKey::from_bytes(AsRef::<[u8]>::as_ref(public)),
		};
		let (Ok(public), Ok(signature)) =
			(public, schnorrkel::Signature::from_bytes(AsRef::<[u8]>::as_ref(signature)))
		else {
			return false;
		};
		publics.push(public);
		signatures.push(signature);
		transcripts.push(context.bytes(&item.payload));
	}
	schnorrkel::verify_batch(transcripts, &signatures, &publics, false).is_ok()
}

/// Whether every ed25519 signature of `items` verifies, by ZIP 215's rules (sp-core's).
fn batch_ed25519(items: &[&Item]) -> bool {
	let mut batch = ed25519_zebra::batch::Verifier::new();
	for item in items {
		let (SessionPublic::Ed25519(public), SessionSignature::Ed25519(signature)) =
			(&item.public, &item.signature)
		else {
			return false;
		};
		let (Ok(public), Ok(signature)) = (
			ed25519_zebra::VerificationKeyBytes::try_from(AsRef::<[u8]>::as_ref(public)),
			ed25519_zebra::Signature::try_from(AsRef::<[u8]>::as_ref(signature)),
		) else {
			return false;
		};
		batch.queue((public, signature, &item.payload));
	}
	batch.verify(rand_core::OsRng).is_ok()
}

/// How requests' signatures are batched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSettings {
	/// The most signatures verified together (1: each on its own, no batching).
	pub max_batch: usize,
	/// The longest a verifier waits for more requests to fill its batch (only while some are
	/// on their way to verification).
	pub max_wait: Duration,
}

impl Default for BatchSettings {
	/// Batches of up to 64, waiting at most 200 µs.
	fn default() -> Self {
		Self { max_batch: 64, max_wait: Duration::from_micros(200) }
	}
}

/// A signature waiting in the queue, with where its answer goes.
struct Job {
	item: Item,
	answer: oneshot::Sender<bool>,
}

#[derive(Default)]
struct Queue {
	jobs: VecDeque<Job>,
	/// Verifiers collecting or verifying a batch now.
	verifiers: usize,
	/// Whether a verifier is collecting a batch (a new request then joins it rather than
	/// start another).
	collecting: bool,
}

/// Verifies requests' signatures in batches; see the module documentation.
pub struct BatchVerifier {
	settings: BatchSettings,
	max_verifiers: usize,
	queue: Mutex<Queue>,
	/// Requests between the start of their authentication and their verification.
	approaching: AtomicUsize,
	batch_sizes: Histogram,
	batch_failures: IntCounter,
}

/// A request on its way to verification: while it lives, a verifier collecting a batch may
/// wait for it.
pub struct Approach<'a>(&'a AtomicUsize);

impl Drop for Approach<'_> {
	fn drop(&mut self) {
		self.0.fetch_sub(1, Ordering::AcqRel);
	}
}

impl BatchVerifier {
	/// A verifier batching by `settings`, with one verifier per core at most, recording each
	/// batch's size in `batch_sizes` and each batch that failed in `batch_failures`.
	pub fn new(
		settings: BatchSettings,
		batch_sizes: Histogram,
		batch_failures: IntCounter,
	) -> Self {
		let max_verifiers = std::thread::available_parallelism().map_or(1, |cores| cores.get());
		Self {
			settings: BatchSettings { max_batch: settings.max_batch.max(1), ..settings },
			max_verifiers,
			queue: Mutex::new(Queue::default()),
			approaching: AtomicUsize::new(0),
			batch_sizes,
			batch_failures,
		}
	}

	/// The settings.
	pub fn settings(&self) -> BatchSettings {
		self.settings
	}

	/// Marks a request on its way to verification until the returned guard is dropped. Take
	/// it only where nothing but computation is left before [`BatchVerifier::verify`].
	#[must_use = "the mark lasts as long as the guard"]
	pub fn approach(&self) -> Approach<'_> {
		self.approaching.fetch_add(1, Ordering::AcqRel);
		Approach(&self.approaching)
	}

	/// Verifies `item`, in a batch with the requests verified at the same moment; the answer
	/// is [`Item::verify`]'s.
	///
	/// The request only waits for its answer: batches are collected and verified by verifier
	/// tasks of their own, so a request dropped while it waits (its client gone) leaves the
	/// others' batches untouched.
	pub async fn verify(self: &Arc<Self>, item: Item) -> bool {
		if self.settings.max_batch == 1 {
			return item.verify();
		}
		let (answer, answered) = oneshot::channel();
		let start = {
			let mut queue = self.queue.lock();
			queue.jobs.push_back(Job { item, answer });
			let start = !queue.collecting && queue.verifiers < self.max_verifiers;
			if start {
				queue.verifiers += 1;
				queue.collecting = true;
			}
			start
		};
		if start {
			let verifier = self.clone();
			tokio::spawn(async move { verifier.drain().await });
		}
		// A verifier answers every job it takes (a panic drops the job, and the request is
		// refused rather than let through).
		answered.await.unwrap_or(false)
	}

	/// A verifier task: verifies batches until the queue is empty.
	async fn drain(self: Arc<Self>) {
		// Whatever ends this task (the queue empty, a panic, the runtime shutting down), the
		// verifier's slot is given back, and jobs left behind get a new verifier.
		struct Slot(Arc<BatchVerifier>);
		impl Drop for Slot {
			fn drop(&mut self) {
				let mut queue = self.0.queue.lock();
				queue.verifiers = queue.verifiers.saturating_sub(1);
				queue.collecting = false;
				if !queue.jobs.is_empty() && !std::thread::panicking() {
					queue.verifiers += 1;
					queue.collecting = true;
					drop(queue);
					let verifier = self.0.clone();
					if let Ok(runtime) = tokio::runtime::Handle::try_current() {
						runtime.spawn(async move { verifier.drain().await });
					}
				}
			}
		}
		let slot = Slot(self);
		loop {
			slot.0.verify_next_batch().await;
			if slot.0.queue.lock().jobs.is_empty() {
				return;
			}
		}
	}

	/// Takes the next batch from the queue (waiting briefly for it to fill while requests
	/// are on their way) and answers each of its jobs.
	async fn verify_next_batch(&self) {
		let started = Instant::now();
		self.queue.lock().collecting = true;
		// Yields while the batch grows (the requests ready to run beside this one reach
		// verification and join it; a lone request pays one reschedule), or while requests are
		// on their way, up to the batch's size and `max_wait`.
		loop {
			let before = self.queue.lock().jobs.len();
			if before >= self.settings.max_batch || started.elapsed() >= self.settings.max_wait {
				break;
			}
			tokio::task::yield_now().await;
			let after = self.queue.lock().jobs.len();
			if after == before && self.approaching.load(Ordering::Acquire) == 0 {
				break;
			}
		}
		let jobs: Vec<Job> = {
			let mut queue = self.queue.lock();
			queue.collecting = false;
			let count = queue.jobs.len().min(self.settings.max_batch);
			queue.jobs.drain(..count).collect()
		};
		if jobs.is_empty() {
			return;
		}
		let (items, senders): (Vec<Item>, Vec<_>) =
			jobs.into_iter().map(|job| (job.item, job.answer)).unzip();
		self.batch_sizes.observe(items.len() as f64);
		let answers = verify_all(&items);
		if answers.iter().any(|valid| !valid) {
			self.batch_failures.inc();
		}
		for (answer, valid) in senders.into_iter().zip(answers) {
			let _ = answer.send(valid);
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use proptest::prelude::*;
	use sp_core::{ecdsa, ed25519, sr25519, Pair};

	/// A signed item: by an sr25519, ed25519 or ecdsa key (`kind` 0, 1, 2) from `seed`, on
	/// `payload`, made invalid by `flaw` (0: none, 1: another payload, 2: a flipped signature
	/// byte, 3: the signature of another key, 4: a signature out of its encoding's rules, 5: a
	/// key that is no key, or a degenerate one).
	fn item(kind: u8, seed: u8, payload: Vec<u8>, flaw: u8) -> Item {
		// A first byte of 1 or 2 keeps every seed (0 and 0xff included) a valid secret of
		// every kind (below secp256k1's order, not zero).
		let mut other_seed = [seed; 32];
		other_seed[0] = 2;
		let mut seed = [seed; 32];
		seed[0] = 1;
		let signed = if flaw == 1 { [payload.as_slice(), b"!"].concat() } else { payload.clone() };
		let (public, mut signature) = match kind % 3 {
			0 => {
				let pair = sr25519::Pair::from_seed(&seed);
				let other = sr25519::Pair::from_seed(&other_seed);
				let signer = if flaw == 3 { &other } else { &pair };
				(
					SessionPublic::from(pair.public()),
					SessionSignature::Sr25519(signer.sign(&signed)),
				)
			}
			1 => {
				let pair = ed25519::Pair::from_seed(&seed);
				let other = ed25519::Pair::from_seed(&other_seed);
				let signer = if flaw == 3 { &other } else { &pair };
				(
					SessionPublic::Ed25519(pair.public()),
					SessionSignature::Ed25519(signer.sign(&signed)),
				)
			}
			_ => {
				let pair = ecdsa::Pair::from_seed(&seed);
				let other = ecdsa::Pair::from_seed(&other_seed);
				let signer = if flaw == 3 { &other } else { &pair };
				(SessionPublic::Ecdsa(pair.public()), SessionSignature::Ecdsa(signer.sign(&signed)))
			}
		};
		match (flaw, &mut signature) {
			(2, SessionSignature::Sr25519(signature)) => {
				AsMut::<[u8]>::as_mut(signature)[7] ^= 0x20
			}
			(2, SessionSignature::Ed25519(signature)) => {
				AsMut::<[u8]>::as_mut(signature)[7] ^= 0x20
			}
			(2, SessionSignature::Ecdsa(signature)) => AsMut::<[u8]>::as_mut(signature)[7] ^= 0x20,
			// schnorrkel's marker bit cleared (a pre-0.8 signature's form).
			(4, SessionSignature::Sr25519(signature)) => {
				AsMut::<[u8]>::as_mut(signature)[63] &= 0x7f
			}
			// A non-canonical s (at or above the group order).
			(4, SessionSignature::Ed25519(signature)) => {
				AsMut::<[u8]>::as_mut(signature)[63] |= 0xf0
			}
			// A recovery id out of range.
			(4, SessionSignature::Ecdsa(signature)) => AsMut::<[u8]>::as_mut(signature)[64] = 9,
			_ => {}
		}
		let public = match (flaw, public) {
			// Bytes that are no point (sr25519), a small-order point (ed25519, which ZIP 215
			// accepts as a key), a point off the curve (ecdsa).
			(5, SessionPublic::Sr25519(_)) => SessionPublic::Sr25519([0xff; 32].into()),
			(5, SessionPublic::Ed25519(_)) => {
				let mut identity = [0u8; 32];
				identity[0] = 1;
				SessionPublic::Ed25519(identity.into())
			}
			(5, SessionPublic::Ecdsa(_)) => SessionPublic::Ecdsa([2; 33].into()),
			(_, public) => public,
		};
		// Half the good sr25519 items carry their decompressed point, as cached keys do.
		let point = if payload.len().is_multiple_of(2) { KeyPoint::of(&public) } else { None };
		Item { public, signature, payload, point }
	}

	#[test]
	fn a_good_batch_verifies_and_one_bad_signature_is_found() {
		let mut items: Vec<Item> = (0..40).map(|n| item(n % 2, n, vec![n; 50], 0)).collect();
		assert!(verify_all(&items).iter().all(|valid| *valid));
		items[17] = item(1, 17, vec![17; 50], 2);
		items[30] = item(0, 30, vec![30; 50], 1);
		let answers = verify_all(&items);
		for (index, valid) in answers.iter().enumerate() {
			assert_eq!(*valid, index != 17 && index != 30, "item {index}");
		}
	}

	#[test]
	fn a_signature_of_another_kind_than_its_key_is_refused() {
		let mut mixed = item(0, 1, b"x".to_vec(), 0);
		mixed.signature = item(1, 1, b"x".to_vec(), 0).signature;
		let good = item(0, 2, b"x".to_vec(), 0);
		assert_eq!(verify_all(&[mixed, good]), vec![false, true]);
	}

	proptest! {
		#![proptest_config(ProptestConfig::with_cases(64))]
		/// Batches of good and bad signatures of every kind get exactly the answers of single
		/// verification.
		#[test]
		fn batch_answers_agree_with_single_verification(
			items in prop::collection::vec(
				(0u8..3, any::<u8>(), prop::collection::vec(any::<u8>(), 0..80), 0u8..6),
				1..48,
			)
		) {
			let items: Vec<Item> = items
				.into_iter()
				.map(|(kind, seed, payload, flaw)| item(kind, seed, payload, flaw))
				.collect();
			let single: Vec<bool> = items.iter().map(Item::verify).collect();
			prop_assert_eq!(verify_all(&items), single);
		}
	}

	fn verifier(max_batch: usize) -> Arc<BatchVerifier> {
		let sizes = Histogram::with_opts(prometheus::HistogramOpts::new("sizes", "sizes")).unwrap();
		let failures = IntCounter::new("failures", "failures").unwrap();
		Arc::new(BatchVerifier::new(
			BatchSettings { max_batch, max_wait: Duration::from_micros(200) },
			sizes,
			failures,
		))
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn a_request_dropped_while_waiting_leaves_the_others_answered() {
		let verifier = verifier(16);
		for round in 0..20u8 {
			// Polled once (queued, a verifier started), then dropped: its client went away.
			let dropped = verifier.verify(item(0, round, vec![round; 8], 2));
			let mut dropped = Box::pin(dropped);
			let _ = futures::poll!(dropped.as_mut());
			drop(dropped);
			let good = item(round % 3, round, vec![round; 8], 0);
			let answer = tokio::time::timeout(Duration::from_secs(5), verifier.verify(good)).await;
			assert_eq!(answer, Ok(true), "round {round}");
		}
		let deadline = Instant::now() + Duration::from_secs(2);
		while verifier.queue.lock().verifiers > 0 {
			assert!(Instant::now() < deadline, "every verifier slot given back");
			tokio::time::sleep(Duration::from_millis(5)).await;
		}
		assert!(!verifier.queue.lock().collecting);
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn concurrent_requests_get_their_own_answers_in_batches() {
		let verifier = verifier(16);
		let mut tasks = Vec::new();
		for n in 0..200u8 {
			let flaw = if n % 7 == 0 { 2 } else { 0 };
			let item = item(n % 3, n, vec![n; 40], flaw);
			let verifier = verifier.clone();
			tasks.push(tokio::spawn(async move {
				let approach = verifier.approach();
				let expected = item.verify();
				drop(approach);
				(verifier.verify(item).await, expected)
			}));
		}
		for task in tasks {
			let (answer, expected) = task.await.unwrap();
			assert_eq!(answer, expected);
		}
		assert!(verifier.batch_sizes.get_sample_count() > 0);
		let deadline = Instant::now() + Duration::from_secs(2);
		while verifier.queue.lock().verifiers > 0 {
			assert!(Instant::now() < deadline, "every verifier finished");
			tokio::time::sleep(Duration::from_millis(5)).await;
		}
		assert!(verifier.queue.lock().jobs.is_empty());
	}
}
