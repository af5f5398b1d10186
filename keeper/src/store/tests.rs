use super::*;
use rusqlite::Connection;

use crate::sealer::SALT_LEN;

const PASSPHRASE: &[u8] = b"a passphrase for the tests";

/// The weakest accepted derivation, so the tests stay fast.
fn fast() -> KdfParams {
	KdfParams {
		memory_kib: KdfParams::MIN_MEMORY_KIB,
		iterations: KdfParams::MIN_ITERATIONS,
		parallelism: 1,
		salt: [3; SALT_LEN],
	}
}

fn profile(name: &str) -> Profile {
	Profile {
		name: name.into(),
		counterpart: AccountId::from([2; 32]),
		duration: 100,
		spending_limit: 5_000_000_000_000_000_000_000,
		collateral: 7,
		scope: vec![b"GET /*".to_vec()],
		description: "api access".into(),
		crypto: CryptoKind::Sr25519,
		renew_margin: 25,
		rotation_interval: 100,
	}
}

fn public(byte: u8) -> SessionPublic {
	SessionPublic::Sr25519(sp_core::sr25519::Public::from_raw([byte; 32]))
}

fn new_store(dir: &tempfile::TempDir) -> (PathBuf, Store) {
	let path = dir.path().join("keeper.db");
	let store = Store::create_with(&path, PASSPHRASE, fast()).unwrap();
	(path, store)
}

/// Every byte of the store's files (the database, its WAL and any journal).
fn file_bytes(path: &Path) -> Vec<u8> {
	let mut bytes = Vec::new();
	for suffix in ["", "-wal", "-journal", "-shm"] {
		let file = PathBuf::from(format!("{}{suffix}", path.display()));
		if let Ok(contents) = std::fs::read(file) {
			bytes.extend(contents);
		}
	}
	bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
	haystack.windows(needle.len()).any(|window| window == needle)
}

#[test]
fn a_store_reopens_with_its_passphrase_and_keeps_everything() {
	let dir = tempfile::tempdir().unwrap();
	let (path, mut store) = new_store(&dir);
	store.add_profile(&profile("api")).unwrap();
	let owner = OwnerRecord { signer: AccountId::from([1; 32]), delegate_of: None };
	store.set_owner(&owner, "//Alice").unwrap();
	let key = store.add_pending_key("api", public(9), &[42; 64], 1_700_000_000).unwrap();
	assert_eq!(key.status, KeyStatus::Pending);
	store.update_key(key.id, KeyStatus::Live, Some(10), Some(110), None).unwrap();
	drop(store);

	let store = Store::open(&path, PASSPHRASE).unwrap();
	assert_eq!(store.profiles().unwrap(), vec![profile("api")]);
	let (read_owner, uri) = store.owner_secret().unwrap();
	assert_eq!((read_owner, uri.as_str()), (owner, "//Alice"));
	let [stored] = <[StoredKey; 1]>::try_from(store.keys().unwrap()).unwrap();
	assert_eq!(
		(stored.status, stored.registered_at, stored.expires_at),
		(KeyStatus::Live, Some(10), Some(110))
	);
	assert_eq!(store.key_secret(&stored).unwrap().as_slice(), &[42; 64]);
	assert_eq!(store.find_key(&hex(&public(9).encode())[..10]).unwrap().id, stored.id);
	assert_eq!(store.find_key("0909").unwrap().id, stored.id, "the raw key's hex works too");
}

#[test]
fn a_wrong_passphrase_is_refused_and_changes_nothing() {
	let dir = tempfile::tempdir().unwrap();
	let (path, mut store) = new_store(&dir);
	store.add_profile(&profile("api")).unwrap();
	drop(store);
	let before = file_bytes(&path);
	assert!(matches!(
		Store::open(&path, b"not the passphrase"),
		Err(StoreError::WrongPassphrase(_))
	));
	assert!(file_bytes(&path) == before, "the files changed");
	assert!(Store::open(&path, PASSPHRASE).is_ok());
}

#[test]
fn a_tampered_row_is_named_and_the_other_keys_still_open() {
	let dir = tempfile::tempdir().unwrap();
	let (path, mut store) = new_store(&dir);
	store.add_profile(&profile("api")).unwrap();
	let first = store.add_pending_key("api", public(1), &[11; 64], 0).unwrap();
	let second = store.add_pending_key("api", public(2), &[22; 64], 0).unwrap();
	let third = store.add_pending_key("api", public(3), &[33; 64], 0).unwrap();
	drop(store);

	let raw = Connection::open(&path).unwrap();
	// One ciphertext changed in place, one moved into another row.
	raw.execute(
		"UPDATE keys SET sealed_secret = CAST(substr(sealed_secret, 1, 30) || x'ff' || substr(sealed_secret, 32) AS BLOB) WHERE id = ?1",
		[first.id],
	)
	.unwrap();
	raw.execute(
		"UPDATE keys SET sealed_secret = (SELECT sealed_secret FROM keys WHERE id = ?1) WHERE id = ?2",
		[third.id, second.id],
	)
	.unwrap();
	drop(raw);

	let store = Store::open(&path, PASSPHRASE).unwrap();
	for key in [&first, &second] {
		match store.key_secret(key) {
			Err(error @ StoreError::Damaged { .. }) => {
				assert!(error.to_string().contains(&hex(&key.public.encode())), "{error}")
			}
			other => panic!("expected Damaged, got {other:?}"),
		}
	}
	assert_eq!(store.key_secret(&third).unwrap().as_slice(), &[33; 64]);
}

#[test]
fn a_store_from_a_newer_keeper_is_refused() {
	let dir = tempfile::tempdir().unwrap();
	let (path, store) = new_store(&dir);
	drop(store);
	Connection::open(&path)
		.unwrap()
		.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
		.unwrap();
	match Store::open(&path, PASSPHRASE) {
		Err(StoreError::NewerSchema { found, supported, .. }) => {
			assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION))
		}
		other => panic!("expected NewerSchema, got {other:?}"),
	}
}

#[test]
fn missing_and_existing_stores_and_unknown_names_are_errors() {
	let dir = tempfile::tempdir().unwrap();
	let missing = dir.path().join("none.db");
	assert!(matches!(Store::open(&missing, PASSPHRASE), Err(StoreError::Missing(_))));
	assert!(!missing.exists(), "opening does not create");
	let (path, mut store) = new_store(&dir);
	assert!(matches!(Store::create_with(&path, PASSPHRASE, fast()), Err(StoreError::Exists(_))));
	assert!(
		matches!(store.profile("nope"), Err(StoreError::UnknownProfile(name)) if name == "nope")
	);
	assert!(matches!(
		store.add_pending_key("nope", public(1), &[1; 64], 0),
		Err(StoreError::UnknownProfile(_))
	));
	assert!(matches!(store.find_key("0xdead"), Err(StoreError::UnknownKey(_))));
	assert!(matches!(store.find_key(""), Err(StoreError::UnknownKey(_))));
	assert!(matches!(store.owner_secret(), Err(StoreError::NoOwner)));
	store.add_profile(&profile("api")).unwrap();
	assert!(matches!(store.add_profile(&profile("api")), Err(StoreError::ProfileExists(_))));
}

#[test]
fn a_profile_with_open_keys_cannot_be_removed() {
	let dir = tempfile::tempdir().unwrap();
	let (_path, mut store) = new_store(&dir);
	store.add_profile(&profile("api")).unwrap();
	let key = store.add_pending_key("api", public(1), &[1; 64], 0).unwrap();
	assert!(matches!(store.remove_profile("api"), Err(StoreError::ProfileInUse { keys: 1, .. })));
	assert_eq!(store.profiles().unwrap().len(), 1);
	store.update_key(key.id, KeyStatus::Ended, None, None, Some("Revoked")).unwrap();
	store.remove_profile("api").unwrap();
	assert!(store.profiles().unwrap().is_empty());
	assert!(store.keys().unwrap().is_empty());
}

#[test]
fn changing_the_passphrase_reseals_everything() {
	let dir = tempfile::tempdir().unwrap();
	let (path, mut store) = new_store(&dir);
	store.add_profile(&profile("api")).unwrap();
	store
		.set_owner(&OwnerRecord { signer: AccountId::from([1; 32]), delegate_of: None }, "//Alice")
		.unwrap();
	let key = store.add_pending_key("api", public(1), &[5; 64], 0).unwrap();
	store
		.change_passphrase_with(b"the new one", KdfParams { salt: [4; SALT_LEN], ..fast() })
		.unwrap();
	drop(store);
	assert!(matches!(Store::open(&path, PASSPHRASE), Err(StoreError::WrongPassphrase(_))));
	let store = Store::open(&path, b"the new one").unwrap();
	assert_eq!(store.key_secret(&key).unwrap().as_slice(), &[5; 64]);
	assert_eq!(store.owner_secret().unwrap().1.as_str(), "//Alice");
	// The rows' MACs follow the new key.
	assert_eq!(store.profile("api").unwrap(), profile("api"));
}

/// Edits as someone with write access to the file but not the passphrase would make them.
fn edit_raw(path: &Path, sql: &str) {
	Connection::open(path).unwrap().execute_batch(sql).unwrap();
}

fn assert_tampered<T: std::fmt::Debug>(result: Result<T>, record: &str) {
	match result {
		Err(error @ StoreError::Tampered { .. }) => assert!(
			error.to_string().starts_with(&format!(
				"{record} was changed outside the keeper: its MAC does not match"
			)),
			"{error}"
		),
		other => panic!("expected {record} refused, got {other:?}"),
	}
}

#[test]
fn a_profile_changed_outside_the_keeper_is_refused_by_name_and_the_others_read() {
	let dir = tempfile::tempdir().unwrap();
	let (path, mut store) = new_store(&dir);
	store.add_profile(&profile("api")).unwrap();
	store.add_profile(&profile("web")).unwrap();
	drop(store);
	// Every column counts: the counterpart (where the keys' payments go), the collateral, the
	// scope, the renew margin.
	let attacker = hex(&AccountId::from([6; 32]).encode());
	for (column, value) in [
		("counterpart", format!("x'{}'", &attacker[2..])),
		("collateral", "'7000000'".into()),
		("scope", "x'0404002a'".into()),
		("renew_margin", "99".into()),
		("mac", "NULL".into()),
	] {
		let before = Store::open(&path, PASSPHRASE).unwrap();
		let mac: Vec<u8> = before
			.backend
			.sqlite_connection()
			.unwrap()
			.query_row("SELECT mac FROM profiles WHERE name = 'api'", [], |row| row.get(0))
			.unwrap();
		drop(before);
		edit_raw(&path, &format!("UPDATE profiles SET {column} = {value} WHERE name = 'api'"));
		let store = Store::open(&path, PASSPHRASE).unwrap();
		assert_tampered(store.profile("api"), "profile `api`");
		assert_tampered(store.profiles(), "profile `api`");
		let checked = store.checked_profiles().unwrap();
		assert_eq!(checked.len(), 2);
		assert_tampered(checked.into_iter().next().unwrap(), "profile `api`");
		assert_eq!(store.profile("web").unwrap(), profile("web"), "{column}: the other reads");
		drop(store);
		// Put back as it was (its MAC too): read again.
		let api = profile("api");
		edit_raw(
			&path,
			&format!(
				"UPDATE profiles SET counterpart = x'{}', collateral = '{}', scope = x'{}',
				   renew_margin = {}, mac = x'{}' WHERE name = 'api'",
				&hex(&api.counterpart.encode())[2..],
				api.collateral,
				&hex(&api.scope.encode())[2..],
				api.renew_margin,
				&hex(&mac)[2..]
			),
		);
		assert_eq!(Store::open(&path, PASSPHRASE).unwrap().profile("api").unwrap(), api);
	}
	// Another profile's MAC does not pass for this one (the name is in what it is over), nor
	// does a row renamed.
	edit_raw(&path, "UPDATE profiles SET mac = (SELECT mac FROM profiles WHERE name = 'web') WHERE name = 'api'");
	assert_tampered(Store::open(&path, PASSPHRASE).unwrap().profile("api"), "profile `api`");
	edit_raw(&path, "UPDATE profiles SET name = 'www' WHERE name = 'web'");
	assert_tampered(Store::open(&path, PASSPHRASE).unwrap().profile("www"), "profile `www`");
	// Removing one refused registers nothing, and is allowed: it can then be added again.
	let mut store = Store::open(&path, PASSPHRASE).unwrap();
	store.remove_profile("api").unwrap();
	store.add_profile(&profile("api")).unwrap();
	assert_eq!(store.profile("api").unwrap(), profile("api"));
}

#[test]
fn an_owner_record_changed_outside_the_keeper_is_refused() {
	let dir = tempfile::tempdir().unwrap();
	let (path, mut store) = new_store(&dir);
	let owner = OwnerRecord { signer: AccountId::from([1; 32]), delegate_of: None };
	store.set_owner(&owner, "//Alice").unwrap();
	drop(store);
	// The hot key made a delegate of another owner: its keys would be registered for it.
	let other = hex(&Some(AccountId::from([9; 32])).map(|a| a.encode()).unwrap());
	edit_raw(&path, &format!("UPDATE owner SET delegate_of = x'{}'", &other[2..]));
	let mut store = Store::open(&path, PASSPHRASE).unwrap();
	assert_tampered(store.owner(), "the owner record");
	assert_tampered(store.owner_secret(), "the owner record");
	// A passphrase change vouches for nothing it cannot check.
	assert_tampered(store.change_passphrase_with(b"new", fast()), "the owner record");
	// Imported again by whoever holds the passphrase: read again.
	store.set_owner(&owner, "//Alice").unwrap();
	assert_eq!(store.owner().unwrap(), Some(owner));
	drop(store);
	edit_raw(&path, "UPDATE owner SET mac = NULL");
	assert_tampered(Store::open(&path, PASSPHRASE).unwrap().owner(), "the owner record");
}

#[test]
fn a_row_written_under_another_passphrase_does_not_pass() {
	let dir = tempfile::tempdir().unwrap();
	let (path, mut store) = new_store(&dir);
	store.add_profile(&profile("api")).unwrap();
	drop(store);
	// An attacker's own store, the same profile with another counterpart, its MAC copied over.
	let other_dir = tempfile::tempdir().unwrap();
	let other_path = other_dir.path().join("keeper.db");
	let mut other = Store::create_with(&other_path, b"the attacker's", fast()).unwrap();
	let forged = Profile { counterpart: AccountId::from([6; 32]), ..profile("api") };
	other.add_profile(&forged).unwrap();
	let mac: Vec<u8> = other
		.backend
		.sqlite_connection()
		.unwrap()
		.query_row("SELECT mac FROM profiles WHERE name = 'api'", [], |row| row.get(0))
		.unwrap();
	drop(other);
	edit_raw(
		&path,
		&format!(
			"UPDATE profiles SET counterpart = x'{}', mac = x'{}' WHERE name = 'api'",
			&hex(&forged.counterpart.encode())[2..],
			&hex(&mac)[2..]
		),
	);
	assert_tampered(Store::open(&path, PASSPHRASE).unwrap().profile("api"), "profile `api`");
}

#[test]
fn the_files_hold_no_secret_and_no_passphrase() {
	let dir = tempfile::tempdir().unwrap();
	let (path, mut store) = new_store(&dir);
	store.add_profile(&profile("api")).unwrap();
	let uri = "bottom drive obey lake curtain smoke basket hold race lonely fit walk//Alice";
	store
		.set_owner(&OwnerRecord { signer: AccountId::from([1; 32]), delegate_of: None }, uri)
		.unwrap();
	let secret: Vec<u8> = (0u8..64).map(|byte| byte.wrapping_mul(37).wrapping_add(11)).collect();
	store.add_pending_key("api", public(1), &secret, 0).unwrap();
	// Looked at while the store is open (WAL not yet checkpointed) and after it is closed.
	for bytes in [file_bytes(&path), {
		drop(store);
		file_bytes(&path)
	}] {
		assert!(contains(&bytes, &public(1).encode()), "the public key is stored in clear");
		assert!(!contains(&bytes, &secret[..16]), "no secret key");
		assert!(!contains(&bytes, b"bottom drive obey"), "no owner phrase");
		assert!(!contains(&bytes, PASSPHRASE), "no passphrase");
	}
}

#[test]
fn a_prefix_of_several_keys_and_a_foreign_file_are_named() {
	let dir = tempfile::tempdir().unwrap();
	let (_path, mut store) = new_store(&dir);
	store.add_profile(&profile("api")).unwrap();
	store.add_pending_key("api", public(0x11), &[1; 64], 0).unwrap();
	store.add_pending_key("api", public(0x12), &[2; 64], 0).unwrap();
	assert!(matches!(store.find_key("0x001"), Err(StoreError::AmbiguousKey { count: 2, .. })));
	assert_eq!(store.find_key("0x0012").unwrap().public, public(0x12));

	let foreign = dir.path().join("other.db");
	Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE t (x INTEGER);").unwrap();
	let before = file_bytes(&foreign);
	assert!(matches!(Store::open(&foreign, PASSPHRASE), Err(StoreError::NotAStore(_))));
	assert!(file_bytes(&foreign) == before, "a foreign file is left as it was");
}

#[test]
fn one_daemon_per_store_and_no_passphrase_change_under_it() {
	let dir = tempfile::tempdir().unwrap();
	let (path, mut store) = new_store(&dir);
	let other = Store::open(&path, PASSPHRASE).unwrap();
	let lock = other.lock_daemon().unwrap();
	assert!(matches!(store.lock_daemon(), Err(StoreError::DaemonRunning(_))));
	assert!(matches!(
		store.change_passphrase_with(b"new", fast()),
		Err(StoreError::DaemonRunning(_))
	));
	assert!(Store::open(&path, PASSPHRASE).is_ok(), "still the old passphrase");
	drop(lock);
	store.lock_daemon().unwrap();
	store.change_passphrase_with(b"new", fast()).unwrap();
}

#[test]
fn a_first_version_store_is_migrated_on_open_and_keeps_its_keys() {
	let dir = tempfile::tempdir().unwrap();
	let (path, mut store) = new_store(&dir);
	store.add_profile(&profile("api")).unwrap();
	let key = store.add_pending_key("api", public(1), &[1; 64], 0).unwrap();
	// Back to the first schema: no pause columns, the owner's column named `proxy_of`, no MACs,
	// no PKCS#11 columns.
	store
		.backend
		.sqlite_connection()
		.unwrap()
		.execute_batch(
			"ALTER TABLE meta DROP COLUMN pkcs11_module;
			 ALTER TABLE meta DROP COLUMN pkcs11_token;
			 ALTER TABLE meta DROP COLUMN pkcs11_key;
			 ALTER TABLE meta DROP COLUMN paused_at;
			 ALTER TABLE meta DROP COLUMN pause_seen_at;
			 ALTER TABLE owner RENAME COLUMN delegate_of TO proxy_of;
			 ALTER TABLE profiles DROP COLUMN mac;
			 ALTER TABLE owner DROP COLUMN mac;
			 PRAGMA user_version = 1;",
		)
		.unwrap();
	drop(store);
	let mut store = Store::open(&path, PASSPHRASE).unwrap();
	let version: u32 = store
		.backend
		.sqlite_connection()
		.unwrap()
		.query_row("PRAGMA user_version", [], |row| row.get(0))
		.unwrap();
	assert_eq!(version, SCHEMA_VERSION);
	assert_eq!(store.pause_state().unwrap(), None);
	store.pause(5).unwrap();
	assert_eq!(store.key_secret(&key).unwrap().as_slice(), &[1; 64][..]);
	assert_eq!(store.profile("api").unwrap(), profile("api"), "authenticated on migration");
}

#[test]
fn a_proxy_record_of_the_second_version_becomes_a_delegate_record() {
	let dir = tempfile::tempdir().unwrap();
	let (path, mut store) = new_store(&dir);
	let hot = OwnerRecord {
		signer: AccountId::from([4; 32]),
		delegate_of: Some(AccountId::from([1; 32])),
	};
	store.set_owner(&hot, "//Dave").unwrap();
	// As a second-version keeper stored a `--proxy-of` hot key.
	store
		.backend
		.sqlite_connection()
		.unwrap()
		.execute_batch(
			"ALTER TABLE meta DROP COLUMN pkcs11_module;
			 ALTER TABLE meta DROP COLUMN pkcs11_token;
			 ALTER TABLE meta DROP COLUMN pkcs11_key;
			 ALTER TABLE owner RENAME COLUMN delegate_of TO proxy_of;
			 ALTER TABLE profiles DROP COLUMN mac;
			 ALTER TABLE owner DROP COLUMN mac;
			 PRAGMA user_version = 2;",
		)
		.unwrap();
	drop(store);
	let store = Store::open(&path, PASSPHRASE).unwrap();
	let version: u32 = store
		.backend
		.sqlite_connection()
		.unwrap()
		.query_row("PRAGMA user_version", [], |row| row.get(0))
		.unwrap();
	assert_eq!(version, SCHEMA_VERSION);
	let (record, uri) = store.owner_secret().unwrap();
	assert_eq!((record, uri.as_str()), (hot, "//Dave"));
	assert_eq!(store.owner().unwrap().unwrap().owner(), &AccountId::from([1; 32]));
}

#[test]
fn the_pause_is_seen_by_the_daemon_and_lifted_by_resume() {
	let dir = tempfile::tempdir().unwrap();
	let (path, mut store) = new_store(&dir);
	assert_eq!(store.pause_state().unwrap(), None);
	// No pause: nothing to acknowledge.
	store.pause_seen(1).unwrap();
	assert_eq!(store.pause_state().unwrap(), None);
	store.pause(10).unwrap();
	assert_eq!(store.pause_state().unwrap(), Some(Pause { since: 10, seen: false }));
	// Another connection (the daemon's) sees it and says so.
	let mut daemon = Store::open(&path, PASSPHRASE).unwrap();
	assert_eq!(daemon.pause_state().unwrap(), Some(Pause { since: 10, seen: false }));
	daemon.pause_seen(11).unwrap();
	assert_eq!(store.pause_state().unwrap(), Some(Pause { since: 10, seen: true }));
	// Pausing again needs a new acknowledgement.
	store.pause(12).unwrap();
	assert_eq!(daemon.pause_state().unwrap(), Some(Pause { since: 12, seen: false }));
	store.resume().unwrap();
	assert_eq!(daemon.pause_state().unwrap(), None);
}

#[test]
fn a_profile_is_edited_in_place_and_an_unknown_one_is_named() {
	let dir = tempfile::tempdir().unwrap();
	let (_path, mut store) = new_store(&dir);
	store.add_profile(&profile("api")).unwrap();
	let key = store.add_pending_key("api", public(1), &[1; 64], 0).unwrap();
	let mut edited = profile("api");
	edited.duration = 400;
	edited.collateral = 9;
	edited.scope = vec![b"*".to_vec()];
	store.update_profile(&edited).unwrap();
	assert_eq!(store.profile("api").unwrap(), edited);
	assert_eq!(store.keys().unwrap(), vec![key], "its keys stay");
	assert!(matches!(
		store.update_profile(&profile("web")),
		Err(StoreError::UnknownProfile(name)) if name == "web"
	));
}

#[test]
fn a_revoked_key_is_recorded_closing_at_its_block() {
	let dir = tempfile::tempdir().unwrap();
	let (_path, mut store) = new_store(&dir);
	store.add_profile(&profile("api")).unwrap();
	let key = store.add_pending_key("api", public(1), &[1; 64], 0).unwrap();
	store.update_key(key.id, KeyStatus::Live, Some(3), Some(103), None).unwrap();
	store.mark_revoked(key.id, 40).unwrap();
	let key = store.key_by_id(key.id).unwrap();
	assert_eq!(
		(key.status, key.registered_at, key.expires_at, key.ended_reason.as_deref()),
		(KeyStatus::Closing, Some(3), Some(40), Some("revoked"))
	);
	assert!(matches!(store.mark_revoked(999, 1), Err(StoreError::UnknownKey(_))));
}

#[test]
fn another_sealer_plugs_in_through_create_sealed_open_with_and_reseal() {
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("keeper.db");
	let first = SealerSettings::Passphrase(fast());
	let sealer = |settings: &SealerSettings, passphrase: &[u8]| -> Box<dyn Sealer + Send> {
		let SealerSettings::Passphrase(params) = settings else {
			panic!("a passphrase store, not {settings:?}")
		};
		Box::new(PassphraseSealer::derive(passphrase, params).unwrap())
	};
	let mut store = Store::create_sealed(&path, &first, sealer(&first, b"one")).unwrap();
	store.add_profile(&profile("api")).unwrap();
	let key = store.add_pending_key("api", public(1), &[5; 64], 0).unwrap();
	drop(store);

	// The recorded settings are handed to whoever opens the store.
	let mut seen = None;
	let mut store = Store::open_with(&path, |settings| {
		seen = Some(settings.clone());
		Ok(sealer(settings, b"one"))
	})
	.unwrap();
	assert_eq!(seen, Some(first.clone()));
	// A sealer that does not open the check value is refused before anything is read.
	assert!(matches!(
		Store::open_with(&path, |settings| Ok(sealer(settings, b"two"))),
		Err(StoreError::WrongPassphrase(_))
	));

	let second = SealerSettings::Passphrase(KdfParams { salt: [9; SALT_LEN], ..fast() });
	store.reseal(&second, sealer(&second, b"two")).unwrap();
	drop(store);
	let store = Store::open_with(&path, |settings| {
		assert_eq!(settings, &second);
		Ok(sealer(settings, b"two"))
	})
	.unwrap();
	assert_eq!(store.key_secret(&key).unwrap().as_slice(), &[5; 64]);
	drop(store);

	// A backend this build does not know is named, not guessed at.
	Connection::open(&path).unwrap().execute("UPDATE meta SET kdf = 'vault'", []).unwrap();
	match Store::open(&path, b"two") {
		Err(StoreError::Corrupt { what, .. }) => assert!(what.contains("vault"), "{what}"),
		other => panic!("expected an unknown backend, got {other:?}"),
	}
}

/// The settings of a store sealed in a PKCS#11 token are recorded and read back (the sealing
/// itself is tested against SoftHSM2 in `tests/pkcs11.rs`); a passphrase does not open it.
#[test]
fn a_token_sealers_settings_are_recorded_and_a_passphrase_is_refused() {
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("keeper.db");
	let token = SealerSettings::Pkcs11(Pkcs11Settings {
		module: "/usr/lib/softhsm/libsofthsm2.so".into(),
		token: "keeper".into(),
		key: "session-keys-keeper".into(),
	});
	// Any sealer will do for the settings' round trip.
	let sealer = PassphraseSealer::derive(PASSPHRASE, &fast()).unwrap();
	drop(Store::create_sealed(&path, &token, Box::new(sealer)).unwrap());
	assert_eq!(Store::sealer_settings(&path).unwrap(), token);
	assert!(matches!(
		Store::open(&path, PASSPHRASE),
		Err(StoreError::NotPassphraseSealed { backend: "pkcs11", .. })
	));
	// The backend named without its columns is damage, named.
	Connection::open(&path).unwrap().execute("UPDATE meta SET pkcs11_token = NULL", []).unwrap();
	match Store::sealer_settings(&path) {
		Err(StoreError::Corrupt { what, .. }) => assert!(what.contains("PKCS#11"), "{what}"),
		other => panic!("expected damaged settings, got {other:?}"),
	}
	// A passphrase store records none of them.
	let other = dir.path().join("other.db");
	drop(Store::create_with(&other, PASSPHRASE, fast()).unwrap());
	assert_eq!(Store::sealer_settings(&other).unwrap(), SealerSettings::Passphrase(fast()));
	let module: Option<String> = Connection::open(&other)
		.unwrap()
		.query_row("SELECT pkcs11_module FROM meta", [], |row| row.get(0))
		.unwrap();
	assert_eq!(module, None);
}

#[cfg(unix)]
#[test]
fn only_its_user_can_read_the_store() {
	use std::os::unix::fs::PermissionsExt;
	let dir = tempfile::tempdir().unwrap();
	let (path, mut store) = new_store(&dir);
	store.add_profile(&profile("api")).unwrap();
	store.add_pending_key("api", public(1), &[1; 64], 0).unwrap();
	for suffix in ["", "-wal"] {
		let file = PathBuf::from(format!("{}{suffix}", path.display()));
		let mode = std::fs::metadata(&file).unwrap().permissions().mode();
		assert_eq!(mode & 0o777, 0o600, "{} has mode {mode:o}", file.display());
	}
}

#[cfg(unix)]
#[test]
fn an_older_store_readable_by_others_is_made_private_when_opened() {
	use std::os::unix::fs::PermissionsExt;
	let dir = tempfile::tempdir().unwrap();
	let (path, store) = new_store(&dir);
	drop(store);
	std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
	// A wrong passphrase changes nothing, not even the mode.
	assert!(Store::open(&path, b"wrong").is_err());
	assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
	let _store = Store::open(&path, PASSPHRASE).unwrap();
	assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}
