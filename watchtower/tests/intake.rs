//! The intake's rules, one test per refusal, with the chain given in advance
//! ([`FixedChain`]) and a real store on disk.

use std::sync::Arc;

use session_keys_client::{
	AccountId, ChannelState, CryptoKind, EndReason, KeyRecord, Registration, Retired, SessionPair,
	SessionPublic, SessionSignature,
};
use session_keys_keeper::sealer::{KdfParams, SALT_LEN};
use session_keys_primitives::{PendingLimit, WeakKey};
use session_keys_watchtower::{
	metrics::Metrics,
	store::{Identity, Store},
	FixedChain, SignedState, StateRefusal, SubmitError, Watchtower,
};
use sp_core::{sr25519, H256};

const GENESIS: H256 = H256::repeat_byte(7);
const BEST: u32 = 50;

fn counterpart() -> AccountId {
	AccountId::from([2; 32])
}

fn fast_kdf() -> KdfParams {
	KdfParams {
		memory_kib: KdfParams::MIN_MEMORY_KIB,
		iterations: KdfParams::MIN_ITERATIONS,
		parallelism: 1,
		salt: [3; SALT_LEN],
	}
}

fn registration(state: ChannelState<u128>) -> Registration {
	Registration {
		owner: AccountId::from([1; 32]),
		counterpart: counterpart(),
		delegate: None,
		registered_at: 1,
		expires_at: 100,
		settles_at: 110,
		revoked: false,
		duration: 99,
		spending_limit: 100,
		pending_limit: None,
		collateral: 60,
		deposit: 1,
		description: Vec::new(),
		scope: Vec::new(),
		state,
	}
}

struct Setup {
	_dir: tempfile::TempDir,
	path: std::path::PathBuf,
	chain: Arc<FixedChain>,
	tower: Watchtower,
	key: SessionPair,
}

fn setup() -> Setup {
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("watchtower.db");
	let identity = Identity { counterpart: counterpart(), via_proxy: false };
	let store = Store::create(&path, b"pass", &fast_kdf(), &identity, b"//Bob").unwrap();
	let chain = Arc::new(FixedChain::new(BEST));
	let key = SessionPair::from_uri(CryptoKind::Sr25519, "//Alice//intake").unwrap();
	chain.set(key.public(), KeyRecord::Registered(registration(ChannelState::default())));
	let tower = Watchtower::new(
		counterpart(),
		GENESIS,
		store.writer(100).unwrap(),
		chain.clone(),
		Vec::new(),
		Arc::new(Metrics::new()),
	);
	Setup { _dir: dir, path, chain, tower, key }
}

fn signed(key: &SessionPair, nonce: u64, owed: u128) -> SignedState {
	let state = ChannelState { nonce, owed, margin: 0 };
	SignedState { public: key.public(), state, signature: key.sign_state(GENESIS, &state) }
}

async fn refusal(tower: &Watchtower, state: SignedState) -> StateRefusal {
	match tower.submit_state(state).await {
		Err(SubmitError::Refused(refusal)) => refusal,
		other => panic!("expected a refusal, got {other:?}"),
	}
}

#[tokio::test]
async fn a_valid_state_is_stored_on_disk_before_it_is_accepted() {
	let s = setup();
	// sr25519 signatures are randomized: keep the one submitted.
	let first = signed(&s.key, 1, 10);
	let accepted = s.tower.submit_state(first.clone()).await.unwrap();
	assert_eq!(
		(accepted.nonce, accepted.owed, accepted.unbanked, accepted.duplicate),
		(1, 10, 10, false)
	);
	// Another connection sees it at once: the commit happened before the answer.
	let stored = Store::open(&s.path).unwrap().states(false).unwrap();
	assert_eq!(stored.len(), 1);
	assert_eq!(stored[0].signed, first);
	assert_eq!(s.tower.newest(&s.key.public()), Some(first.clone()));
	// The same state again changes nothing and is accepted (a retry does no harm).
	let again = s.tower.submit_state(first.clone()).await.unwrap();
	assert!(again.duplicate);
	// The same state signed again is another submission of a nonce already held.
	assert!(matches!(
		s.tower.submit_state(signed(&s.key, 1, 10)).await,
		Err(SubmitError::Refused(StateRefusal::StaleNonce { nonce: 1, newest: 1 }))
	));
	let newer = s.tower.submit_state(signed(&s.key, 2, 11)).await.unwrap();
	assert!(!newer.duplicate);
	let stored = Store::open(&s.path).unwrap().states(false).unwrap();
	assert_eq!(stored.len(), 1, "only the newest state per key");
	assert_eq!(stored[0].signed.state.nonce, 2);
	assert_eq!(s.tower.metrics.states_stored.get(), 2);
}

#[tokio::test]
async fn a_signature_that_is_not_the_keys_over_this_state_and_chain_is_refused() {
	let s = setup();
	let mut tampered = signed(&s.key, 1, 10);
	tampered.state.owed = 11;
	assert_eq!(refusal(&s.tower, tampered).await, StateRefusal::BadSignature);
	let state = ChannelState { nonce: 1, owed: 10, margin: 0 };
	let other_chain = SignedState {
		public: s.key.public(),
		state,
		signature: s.key.sign_state(H256::repeat_byte(8), &state),
	};
	assert_eq!(refusal(&s.tower, other_chain).await, StateRefusal::BadSignature);
	let other_key = SessionPair::generate(CryptoKind::Sr25519);
	let mut signed_by_other = signed(&other_key, 1, 10);
	signed_by_other.public = s.key.public();
	assert_eq!(refusal(&s.tower, signed_by_other).await, StateRefusal::BadSignature);
	assert_eq!(s.tower.metrics.states_refused.with_label_values(&["BadSignature"]).get(), 3);
}

#[tokio::test]
async fn a_key_that_binds_no_one_is_refused() {
	let s = setup();
	let identity = SessionPublic::Sr25519(sr25519::Public::from_raw([0; 32]));
	let weak = SignedState {
		public: identity,
		state: ChannelState { nonce: 1, owed: 1, margin: 0 },
		signature: SessionSignature::Sr25519(sr25519::Signature::from_raw([0; 64])),
	};
	assert_eq!(refusal(&s.tower, weak).await, StateRefusal::WeakKey(WeakKey::SmallOrder));
}

#[tokio::test]
async fn unknown_ended_closing_and_other_counterparts_keys_are_refused() {
	let s = setup();
	let unknown = SessionPair::generate(CryptoKind::Sr25519);
	assert_eq!(refusal(&s.tower, signed(&unknown, 1, 1)).await, StateRefusal::UnknownKey);

	let ended = SessionPair::generate(CryptoKind::Ed25519);
	s.chain.set(
		ended.public(),
		KeyRecord::Retired(Retired {
			owner: AccountId::from([1; 32]),
			counterpart: counterpart(),
			delegate: None,
			registered_at: 1,
			ended_at: 20,
			reason: EndReason::Revoked,
			nonce: 0,
			owed: 0,
			paid: 0,
		}),
	);
	assert_eq!(
		refusal(&s.tower, signed(&ended, 1, 1)).await,
		StateRefusal::KeyEnded(EndReason::Revoked)
	);

	let closing = SessionPair::generate(CryptoKind::Ecdsa);
	let revoked = Registration {
		expires_at: 45,
		settles_at: 55,
		revoked: true,
		..registration(Default::default())
	};
	s.chain.set(closing.public(), KeyRecord::Registered(revoked));
	assert_eq!(
		refusal(&s.tower, signed(&closing, 1, 1)).await,
		StateRefusal::KeyClosing { settles_at: 55 }
	);

	let theirs = SessionPair::generate(CryptoKind::Sr25519);
	let stranger = AccountId::from([9; 32]);
	let with_stranger =
		Registration { counterpart: stranger.clone(), ..registration(Default::default()) };
	s.chain.set(theirs.public(), KeyRecord::Registered(with_stranger));
	assert_eq!(
		refusal(&s.tower, signed(&theirs, 1, 1)).await,
		StateRefusal::WrongCounterpart { counterpart: stranger }
	);
	assert!(Store::open(&s.path).unwrap().states(true).unwrap().is_empty(), "nothing stored");
}

#[tokio::test]
async fn the_nonce_must_be_above_both_the_chains_and_the_stored_one() {
	let s = setup();
	// On chain: nonce 5, owed 20.
	let on_chain = ChannelState { nonce: 5, owed: 20, margin: 0 };
	s.chain.set(s.key.public(), KeyRecord::Registered(registration(on_chain)));
	assert_eq!(
		refusal(&s.tower, signed(&s.key, 5, 30)).await,
		StateRefusal::StaleNonce { nonce: 5, newest: 5 }
	);
	assert_eq!(
		refusal(&s.tower, signed(&s.key, 6, 19)).await,
		StateRefusal::OwedDecreased { owed: 19, newest: 20 }
	);
	s.tower.submit_state(signed(&s.key, 8, 30)).await.unwrap();
	// Stored: nonce 8, owed 30.
	assert_eq!(
		refusal(&s.tower, signed(&s.key, 7, 35)).await,
		StateRefusal::StaleNonce { nonce: 7, newest: 8 }
	);
	assert_eq!(
		refusal(&s.tower, signed(&s.key, 9, 25)).await,
		StateRefusal::OwedDecreased { owed: 25, newest: 30 }
	);
	assert_eq!(s.tower.newest(&s.key.public()).unwrap().state.nonce, 8);
	let audit = Store::open(&s.path).unwrap().audit(10).unwrap();
	assert_eq!(audit[0].event, "refused");
	assert_eq!(audit[0].detail, "OwedDecreased");
}

#[tokio::test]
async fn owed_above_the_limit_that_applies_is_refused_and_above_the_collateral_is_not() {
	let s = setup();
	assert_eq!(
		refusal(&s.tower, signed(&s.key, 1, 101)).await,
		StateRefusal::OverSpendingLimit { owed: 101, limit: 100 }
	);
	// Above the collateral (60) but within the limit: accepted (the chain accepts it too, and
	// it allows liquidation).
	s.tower.submit_state(signed(&s.key, 1, 80)).await.unwrap();
	// A decrease to 90 that applied at block 40 (before the best block, 50).
	let other = SessionPair::generate(CryptoKind::Sr25519);
	let lowered = Registration {
		pending_limit: Some(PendingLimit { limit: 90, applies_at: 40 }),
		..registration(Default::default())
	};
	s.chain.set(other.public(), KeyRecord::Registered(lowered));
	assert_eq!(
		refusal(&s.tower, signed(&other, 1, 95)).await,
		StateRefusal::OverSpendingLimit { owed: 95, limit: 90 }
	);
}

#[tokio::test]
async fn concurrent_submissions_of_one_key_keep_the_newest_and_refuse_the_rest_by_name() {
	let s = setup();
	let tower = Arc::new(s.tower);
	let tasks: Vec<_> = (1..=60u64)
		.rev()
		.map(|nonce| {
			let tower = tower.clone();
			let state = signed(&s.key, nonce, u128::from(nonce));
			tokio::spawn(async move { tower.submit_state(state).await })
		})
		.collect();
	for task in tasks {
		match task.await.unwrap() {
			Ok(_) | Err(SubmitError::Refused(StateRefusal::StaleNonce { .. })) => {}
			other => panic!("{other:?}"),
		}
	}
	let stored = Store::open(&s.path).unwrap().states(false).unwrap();
	assert_eq!(stored[0].signed.state.nonce, 60);
	assert_eq!(tower.newest(&s.key.public()).unwrap().state.nonce, 60);
}

#[tokio::test]
async fn the_audit_log_is_bounded() {
	let s = setup();
	for nonce in 1..=130 {
		s.tower.submit_state(signed(&s.key, nonce, 1)).await.unwrap();
	}
	let audit = Store::open(&s.path).unwrap().audit(1000).unwrap();
	assert!(audit.len() <= 101, "{} rows kept with a bound of 100", audit.len());
	assert_eq!(audit[0].nonce, Some(130));
}

#[test]
fn malformed_bodies_name_what_is_wrong() {
	for body in [
		"{}",
		r#"{"public":"0x00","nonce":1,"owed":"1","margin":"0","signature":"0x"}"#,
		r#"{"public":"0x0000000000000000000000000000000000000000000000000000000000000000","nonce":1,"owed":"x","margin":"0","signature":"0x"}"#,
		"not json",
	] {
		let error = SignedState::from_json(body.as_bytes()).unwrap_err();
		let refusal = StateRefusal::Malformed(error);
		assert_eq!((refusal.status(), refusal.name()), (400, "Malformed"), "{body}");
	}
}

#[test]
fn the_store_opens_its_key_only_with_the_passphrase() {
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("w.db");
	let identity = Identity { counterpart: counterpart(), via_proxy: true };
	Store::create(&path, b"right", &fast_kdf(), &identity, b"//Bob//hot").unwrap();
	let store = Store::open(&path).unwrap();
	assert_eq!(store.identity().unwrap(), identity);
	assert_eq!(store.signing_secret(b"right").unwrap().as_slice(), b"//Bob//hot");
	assert!(matches!(
		store.signing_secret(b"wrong"),
		Err(session_keys_watchtower::store::StoreError::WrongPassphrase(_))
	));
	let bytes = std::fs::read(&path).unwrap();
	assert!(!bytes.windows(10).any(|w| w == b"//Bob//hot"), "the secret is not in the file");
	assert!(Store::create(&path, b"right", &fast_kdf(), &identity, b"//Bob").is_err());
	store.bind_genesis(&[1; 32]).unwrap();
	store.bind_genesis(&[1; 32]).unwrap();
	assert!(store.bind_genesis(&[2; 32]).is_err(), "another chain");
}
