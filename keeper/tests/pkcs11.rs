//! The PKCS#11 sealer against SoftHSM2: a token initialized in a directory of its own (through
//! `SOFTHSM2_CONF`) for this test binary.
//!
//! SoftHSM2 must be installed (Debian's `softhsm2`, which `scripts/setup.sh` installs): without
//! its module the tests fail, naming it. `SOFTHSM2_CONF` is read once per process, when the
//! module is initialized, and a token's login is shared by the process's sessions: the tests
//! share one token and run one at a time ([`token`]).

use std::{
	io::Write,
	path::{Path, PathBuf},
	process::{Command, Stdio},
	sync::{Mutex, MutexGuard, OnceLock},
};

use cryptoki::{
	error::{Error as CryptokiError, RvError},
	mechanism::Mechanism,
	object::{Attribute, AttributeType, KeyType, ObjectClass},
	session::UserType,
	types::AuthPin,
};
use session_keys_client::{AccountId, CryptoKind, SessionPublic};
use session_keys_keeper::{
	rusqlite::Connection,
	sealer::{
		pkcs11::{self, Pkcs11Error, IV_LEN, TAG_LEN},
		KdfParams, PassphraseSealer, Pkcs11Sealer, Pkcs11Settings, SealError, Sealer,
		SealerSettings, SALT_LEN,
	},
	store::{OwnerRecord, Profile, Store, StoreError},
};

/// Debian's SoftHSM2 module.
const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const TOKEN: &str = "keeper-test";
const PIN: &str = "1234-test-pin";
const SO_PIN: &str = "5678-test-so-pin";

/// The token the tests share.
struct Token {
	/// Where it lives (under Cargo's temporary directory for tests, wiped at each run).
	dir: PathBuf,
	/// A file holding the PIN, with a trailing newline as an editor leaves it.
	pin_file: PathBuf,
}

/// The shared token, initialized on first use, and the lock that runs the tests one at a time
/// (each drops its sessions before it returns, so the next one starts logged out).
fn token() -> (&'static Token, MutexGuard<'static, ()>) {
	static TOKEN_DIR: OnceLock<Token> = OnceLock::new();
	static SERIAL: Mutex<()> = Mutex::new(());
	let guard = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
	let token = TOKEN_DIR.get_or_init(|| {
		assert!(
			Path::new(MODULE).exists(),
			"SoftHSM2's PKCS#11 module {MODULE} is missing: install SoftHSM2 (`apt-get install \
			 softhsm2`, as scripts/setup.sh does) to run the PKCS#11 sealer's tests"
		);
		let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("keeper-pkcs11");
		let _ = std::fs::remove_dir_all(&dir);
		std::fs::create_dir_all(dir.join("tokens")).unwrap();
		let conf = dir.join("softhsm2.conf");
		std::fs::write(
			&conf,
			format!(
				"directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
				dir.join("tokens").display()
			),
		)
		.unwrap();
		// Before the module is first initialized in this process, and inherited by the
		// keeper's processes the tests start.
		std::env::set_var("SOFTHSM2_CONF", &conf);
		let output = Command::new("softhsm2-util")
			.args(["--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", SO_PIN])
			.output()
			.expect("softhsm2-util runs (the softhsm2 package installs it)");
		assert!(
			output.status.success(),
			"softhsm2-util --init-token failed: {}{}",
			String::from_utf8_lossy(&output.stdout),
			String::from_utf8_lossy(&output.stderr)
		);
		let pin_file = dir.join("pin");
		std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
		Token { dir, pin_file }
	});
	(token, guard)
}

/// The settings of the test token's keys labelled `key`.
fn settings(key: &str) -> Pkcs11Settings {
	Pkcs11Settings { module: MODULE.into(), token: TOKEN.into(), key: key.into() }
}

#[test]
fn a_secret_sealed_in_the_token_opens_only_with_its_associated_data_and_bytes() {
	let (_token, _serial) = token();
	let (sealer, made) = Pkcs11Sealer::create(&settings("round-trip"), PIN).unwrap();
	assert!(made.seal && made.mac, "both keys are generated the first time: {made:?}");

	let sealed = sealer.seal(b"row 1", b"the secret").unwrap();
	assert_eq!(sealed.len(), IV_LEN + b"the secret".len() + TAG_LEN);
	assert!(!sealed.windows(10).any(|window| window == b"the secret"));
	assert_eq!(sealer.open(b"row 1", &sealed).unwrap().as_slice(), b"the secret");
	// Each seal draws its own IV.
	assert_ne!(sealer.seal(b"row 1", b"the secret").unwrap()[..IV_LEN], sealed[..IV_LEN]);

	// Moved to another row: the AAD differs.
	assert_eq!(sealer.open(b"row 2", &sealed), Err(SealError::DoesNotOpen));
	// A changed IV, ciphertext or tag.
	for at in [0, IV_LEN, IV_LEN + 3, sealed.len() - 1] {
		let mut changed = sealed.clone();
		changed[at] ^= 1;
		assert_eq!(sealer.open(b"row 1", &changed), Err(SealError::DoesNotOpen), "byte {at}");
	}
	assert_eq!(
		sealer.open(b"row 1", &sealed[..IV_LEN + TAG_LEN - 1]),
		Err(SealError::Truncated(IV_LEN + TAG_LEN - 1))
	);
	// An empty secret seals to a tag alone, and opens.
	let empty = sealer.seal(b"row 1", b"").unwrap();
	assert_eq!(empty.len(), IV_LEN + TAG_LEN);
	assert!(sealer.open(b"row 1", &empty).unwrap().is_empty());

	// The keys persist in the token: found again, not made again, and they open the value.
	let (again, made) = Pkcs11Sealer::create(&settings("round-trip"), PIN).unwrap();
	assert!(!made.seal && !made.mac, "{made:?}");
	assert_eq!(again.open(b"row 1", &sealed).unwrap().as_slice(), b"the secret");
	let opened = Pkcs11Sealer::open(&settings("round-trip"), PIN).unwrap();
	assert_eq!(opened.open(b"row 1", &sealed).unwrap().as_slice(), b"the secret");
	// Another key does not open it.
	let (other, _) = Pkcs11Sealer::create(&settings("round-trip-other"), PIN).unwrap();
	assert_eq!(other.open(b"row 1", &sealed), Err(SealError::DoesNotOpen));
}

#[test]
fn records_are_authenticated_by_the_token() {
	let (_token, _serial) = token();
	let (sealer, _) = Pkcs11Sealer::create(&settings("mac"), PIN).unwrap();
	let mac = sealer.authenticate(b"profile api: counterpart Bob").unwrap();
	assert_eq!(sealer.authenticate(b"profile api: counterpart Bob").unwrap(), mac);
	assert!(sealer.verify(b"profile api: counterpart Bob", &mac).unwrap());
	assert!(!sealer.verify(b"profile api: counterpart Eve", &mac).unwrap());
	let mut changed = mac;
	changed[0] ^= 1;
	assert!(!sealer.verify(b"profile api: counterpart Bob", &changed).unwrap());
	assert!(!sealer.verify(b"profile api: counterpart Bob", &mac[..16]).unwrap());
	// Another MAC key gives another MAC.
	let (other, _) = Pkcs11Sealer::create(&settings("mac-other"), PIN).unwrap();
	assert_ne!(other.authenticate(b"profile api: counterpart Bob").unwrap(), mac);
}

#[test]
fn the_keys_never_leave_the_token() {
	let (_token, _serial) = token();
	let (sealer, _) = Pkcs11Sealer::create(&settings("kept"), PIN).unwrap();
	let context = pkcs11::context(Path::new(MODULE)).unwrap();
	let slot = context
		.get_slots_with_initialized_token()
		.unwrap()
		.into_iter()
		.find(|slot| context.get_token_info(*slot).unwrap().label().trim_end() == TOKEN)
		.unwrap();
	let session = context.open_rw_session(slot).unwrap();
	// (The sealer's session logged the application in already.)
	match session.login(UserType::User, Some(&AuthPin::from(PIN.to_owned()))) {
		Ok(()) | Err(CryptokiError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
		Err(error) => panic!("login: {error}"),
	}
	for (label, key_type) in [("kept", KeyType::AES), ("kept-mac", KeyType::GENERIC_SECRET)] {
		let keys = session
			.find_objects(&[
				Attribute::Class(ObjectClass::SECRET_KEY),
				Attribute::KeyType(key_type),
				Attribute::Label(label.as_bytes().to_vec()),
			])
			.unwrap();
		assert_eq!(keys.len(), 1, "one key labelled {label}");
		let attributes = session
			.get_attributes(
				keys[0],
				&[
					AttributeType::Sensitive,
					AttributeType::Extractable,
					AttributeType::Token,
					AttributeType::Private,
					AttributeType::NeverExtractable,
					AttributeType::ValueLen,
				],
			)
			.unwrap();
		for expected in [
			Attribute::Sensitive(true),
			Attribute::Extractable(false),
			Attribute::Token(true),
			Attribute::Private(true),
			Attribute::NeverExtractable(true),
			Attribute::ValueLen(32u64.into()),
		] {
			assert!(attributes.contains(&expected), "{label}: {expected:?} in {attributes:?}");
		}
		// Its value cannot be read: the token answers CKR_ATTRIBUTE_SENSITIVE, and nothing
		// comes back.
		let value = session.get_attributes(keys[0], &[AttributeType::Value]).unwrap();
		assert!(value.is_empty(), "{label}'s value was read: {value:?}");
		// Nor can it be wrapped out under a key of ours.
		let wrapping = session
			.generate_key(
				&Mechanism::AesKeyGen,
				&[
					Attribute::ValueLen(32u64.into()),
					Attribute::Token(false),
					Attribute::Wrap(true),
					Attribute::Encrypt(true),
				],
			)
			.unwrap();
		assert!(session.wrap_key(&Mechanism::AesKeyWrapPad, wrapping, keys[0]).is_err());
	}

	// A key the token would let out is refused by the sealer.
	for (mechanism, key_type, label) in [
		(Mechanism::AesKeyGen, KeyType::AES, "leaky"),
		(Mechanism::GenericSecretKeyGen, KeyType::GENERIC_SECRET, "leaky-mac"),
	] {
		session
			.generate_key(
				&mechanism,
				&[
					Attribute::KeyType(key_type),
					Attribute::ValueLen(32u64.into()),
					Attribute::Label(label.as_bytes().to_vec()),
					Attribute::Token(true),
					Attribute::Private(true),
					Attribute::Sensitive(false),
					Attribute::Extractable(true),
				],
			)
			.unwrap();
	}
	match Pkcs11Sealer::open(&settings("leaky"), PIN) {
		Err(error @ Pkcs11Error::Extractable { .. }) => {
			assert!(error.to_string().contains("\"leaky\""), "{error}")
		}
		other => panic!("an extractable key was used: {other:?}"),
	}
	drop(sealer);
}

#[test]
fn a_wrong_pin_a_missing_token_key_or_module_are_named() {
	let (_token, _serial) = token();
	// No session of this process is logged in (the other tests dropped theirs): the PIN is
	// checked.
	match Pkcs11Sealer::open(&settings("anything"), "0000") {
		Err(error @ Pkcs11Error::WrongPin(_)) => {
			assert_eq!(error.to_string(), format!("wrong PIN for token {TOKEN:?}"))
		}
		other => panic!("expected a wrong PIN, got {other:?}"),
	}
	match Pkcs11Sealer::open(
		&Pkcs11Settings { token: "no-such-token".into(), ..settings("k") },
		PIN,
	) {
		Err(error @ Pkcs11Error::NoToken { .. }) => {
			let message = error.to_string();
			assert!(message.contains("no-such-token") && message.contains(TOKEN), "{message}");
		}
		other => panic!("expected no token, got {other:?}"),
	}
	match Pkcs11Sealer::open(&settings("never-made"), PIN) {
		Err(error @ Pkcs11Error::NoKey { .. }) => {
			let message = error.to_string();
			assert!(message.contains("never-made") && message.contains("init"), "{message}");
		}
		other => panic!("expected no key, got {other:?}"),
	}
	let missing = Pkcs11Settings { module: "/nonexistent/libpkcs11.so".into(), ..settings("k") };
	assert!(matches!(Pkcs11Sealer::open(&missing, PIN), Err(Pkcs11Error::ModuleMissing(_))));
	let relative = Pkcs11Settings { module: "libsofthsm2.so".into(), ..settings("k") };
	assert!(matches!(Pkcs11Sealer::open(&relative, PIN), Err(Pkcs11Error::ModuleRelative(_))));
}

fn profile(name: &str) -> Profile {
	Profile {
		name: name.into(),
		counterpart: AccountId::from([2; 32]),
		duration: 100,
		spending_limit: 5_000,
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

/// Opens a store sealed in the test token, as the keeper does: what it records, and the PIN.
fn open_in_token(path: &Path) -> Result<Store, StoreError> {
	Store::open_with(path, |settings| match settings {
		SealerSettings::Pkcs11(token) => Ok(Box::new(Pkcs11Sealer::open(token, PIN)?)),
		other => panic!("a store sealed in the token, not {other:?}"),
	})
}

#[test]
fn a_store_sealed_in_the_token_reopens_without_a_passphrase() {
	let (_token, _serial) = token();
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("keeper.db");
	let recorded = SealerSettings::Pkcs11(settings("store"));
	let (sealer, _) = Pkcs11Sealer::create(&settings("store"), PIN).unwrap();
	let mut store = Store::create_sealed(&path, &recorded, Box::new(sealer)).unwrap();
	store.add_profile(&profile("api")).unwrap();
	let key = store.add_pending_key("api", public(1), &[5; 64], 0).unwrap();
	let owner = OwnerRecord { signer: AccountId::from([1; 32]), delegate_of: None };
	store.set_owner(&owner, "//Alice").unwrap();
	drop(store);

	// The file says which token and keys, and holds no PIN and no secret.
	assert_eq!(Store::sealer_settings(&path).unwrap(), recorded);
	let mut bytes = Vec::new();
	for suffix in ["", "-wal"] {
		bytes.extend(std::fs::read(format!("{}{suffix}", path.display())).unwrap_or_default());
	}
	for needle in [PIN.as_bytes(), b"//Alice", &[5; 64]] {
		assert!(!bytes.windows(needle.len()).any(|window| window == needle));
	}

	// No passphrase: the token's PIN opens it, and everything reads.
	let store = open_in_token(&path).unwrap();
	assert_eq!(store.key_secret(&key).unwrap().as_slice(), &[5; 64]);
	assert_eq!(store.owner_secret().unwrap().1.as_str(), "//Alice");
	assert_eq!(store.profile("api").unwrap(), profile("api"));
	drop(store);
	// A passphrase opens nothing here.
	assert!(matches!(
		Store::open(&path, b"any passphrase"),
		Err(StoreError::NotPassphraseSealed { backend: "pkcs11", .. })
	));

	// A profile changed in the file is refused by its token-made MAC.
	Connection::open(&path)
		.unwrap()
		.execute("UPDATE profiles SET counterpart = ?1 WHERE name = 'api'", [vec![6u8; 32]])
		.unwrap();
	let store = open_in_token(&path).unwrap();
	assert!(matches!(store.profile("api"), Err(StoreError::Tampered { .. })));
	drop(store);
	Connection::open(&path)
		.unwrap()
		.execute("UPDATE profiles SET counterpart = ?1 WHERE name = 'api'", [vec![2u8; 32]])
		.unwrap();

	// Other keys of the token, named in the file, do not open it.
	Pkcs11Sealer::create(&settings("store-elsewhere"), PIN).unwrap();
	Connection::open(&path)
		.unwrap()
		.execute("UPDATE meta SET pkcs11_key = 'store-elsewhere'", [])
		.unwrap();
	match open_in_token(&path) {
		Err(error @ StoreError::WrongKeys { .. }) => {
			assert!(error.to_string().contains("store-elsewhere"), "{error}")
		}
		other => panic!("expected the wrong keys, got {other:?}"),
	}
	Connection::open(&path).unwrap().execute("UPDATE meta SET pkcs11_key = 'store'", []).unwrap();

	// Resealed under a passphrase, and back into the token under other keys.
	let mut store = open_in_token(&path).unwrap();
	let params = KdfParams {
		memory_kib: KdfParams::MIN_MEMORY_KIB,
		iterations: KdfParams::MIN_ITERATIONS,
		parallelism: 1,
		salt: [4; SALT_LEN],
	};
	let by_passphrase = PassphraseSealer::derive(b"a passphrase", &params).unwrap();
	store.reseal(&SealerSettings::Passphrase(params), Box::new(by_passphrase)).unwrap();
	drop(store);
	let mut store = Store::open(&path, b"a passphrase").unwrap();
	assert_eq!(store.key_secret(&key).unwrap().as_slice(), &[5; 64]);
	let (sealer, _) = Pkcs11Sealer::create(&settings("store-second"), PIN).unwrap();
	let second = SealerSettings::Pkcs11(settings("store-second"));
	store.reseal(&second, Box::new(sealer)).unwrap();
	drop(store);
	assert_eq!(Store::sealer_settings(&path).unwrap(), second);
	let store = open_in_token(&path).unwrap();
	assert_eq!(store.key_secret(&key).unwrap().as_slice(), &[5; 64]);
	assert_eq!(store.owner_secret().unwrap().1.as_str(), "//Alice");
	assert_eq!(store.profile("api").unwrap(), profile("api"));
}

/// Runs the keeper with `args` (and `stdin`), returning its status, stdout and stderr.
fn keeper(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (bool, String, String) {
	let mut command = Command::new(env!("CARGO_BIN_EXE_session-keys-keeper"));
	command
		.args(args)
		.env_remove("SESSION_KEYS_KEEPER_PASSPHRASE")
		.env_remove(pkcs11::PIN_ENV)
		.env_remove("SESSION_KEYS_KEEPER_STORE")
		.stdin(Stdio::piped())
		.stdout(Stdio::piped())
		.stderr(Stdio::piped());
	for (name, value) in env {
		command.env(name, value);
	}
	let mut child = command.spawn().unwrap();
	child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
	let output = child.wait_with_output().unwrap();
	(
		output.status.success(),
		String::from_utf8_lossy(&output.stdout).into_owned(),
		String::from_utf8_lossy(&output.stderr).into_owned(),
	)
}

#[test]
fn the_keeper_command_line_makes_a_store_in_the_token_and_opens_it_with_the_pin() {
	let (token, _serial) = token();
	let store = token.dir.join("cli.db");
	let _ = std::fs::remove_file(&store);
	let store = store.to_str().unwrap();
	let pin_file = token.pin_file.to_str().unwrap();

	// Both flags are needed to make one.
	let (ok, _, stderr) = keeper(&["--store", store, "init", "--sealer", "pkcs11"], "", &[]);
	assert!(!ok && stderr.contains("--pkcs11-module"), "{stderr}");

	let init = [
		"--store",
		store,
		"--pkcs11-module",
		MODULE,
		"--pkcs11-token",
		TOKEN,
		"--pkcs11-key",
		"cli",
		"--pkcs11-pin-file",
		pin_file,
		"init",
		"--sealer",
		"pkcs11",
	];
	let (ok, stdout, stderr) = keeper(&init, "", &[]);
	assert!(ok, "{stdout}{stderr}");
	assert!(stdout.contains("generated the AES-256 key \"cli\""), "{stdout}");
	assert!(stdout.contains("generated the HMAC key \"cli-mac\""), "{stdout}");

	// A sealed secret, then the store reopened: only the PIN is given, the rest is recorded.
	let (ok, stdout, stderr) = keeper(
		&["--store", store, "--pkcs11-pin-file", pin_file, "owner", "import", "--stdin"],
		"//Alice\n",
		&[],
	);
	assert!(ok, "{stdout}{stderr}");
	let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
	let (ok, stdout, stderr) =
		keeper(&["--store", store, "owner", "show"], "", &[(pkcs11::PIN_ENV, PIN)]);
	assert!(ok && stdout.contains(alice), "{stdout}{stderr}");
	let opened = open_in_token(Path::new(store)).unwrap();
	assert_eq!(opened.owner_secret().unwrap().1.as_str(), "//Alice");
	drop(opened);

	// A wrong PIN is named.
	let (ok, _, stderr) =
		keeper(&["--store", store, "owner", "show"], "", &[(pkcs11::PIN_ENV, "0000")]);
	assert!(!ok && stderr.contains("wrong PIN for token"), "{stderr}");

	// Resealed under a passphrase by the command line, then back into the token.
	let passphrase_file = token.dir.join("passphrase");
	std::fs::write(&passphrase_file, "a passphrase\n").unwrap();
	let passphrase_file = passphrase_file.to_str().unwrap();
	let (ok, stdout, stderr) = keeper(
		&[
			"--store",
			store,
			"--pkcs11-pin-file",
			pin_file,
			"reseal",
			"--sealer",
			"passphrase",
			"--new-passphrase-file",
			passphrase_file,
		],
		"",
		&[],
	);
	assert!(ok, "{stdout}{stderr}");
	assert!(Store::open(Path::new(store), b"a passphrase").is_ok());
	let mut back = init.to_vec();
	back.splice(
		back.len() - 3..,
		["--passphrase-file", passphrase_file, "reseal", "--sealer", "pkcs11"],
	);
	let (ok, stdout, stderr) = keeper(&back, "", &[]);
	assert!(ok, "{stdout}{stderr}");
	assert!(stdout.contains("using the AES-256 key \"cli\""), "{stdout}");
	let (ok, stdout, stderr) =
		keeper(&["--store", store, "--pkcs11-pin-file", pin_file, "owner", "show"], "", &[]);
	assert!(ok && stdout.contains(alice), "{stdout}{stderr}");
}
