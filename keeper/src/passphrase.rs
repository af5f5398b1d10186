//! Where the passphrase comes from: `--passphrase-file`, the environment variable
//! `SESSION_KEYS_KEEPER_PASSPHRASE`, or a prompt that does not echo. It is zeroized after use.

use std::path::Path;

use zeroize::Zeroizing;

/// The environment variable holding the passphrase.
pub const PASSPHRASE_ENV: &str = "SESSION_KEYS_KEEPER_PASSPHRASE";
/// The environment variable holding the new passphrase for `change-passphrase`.
pub const NEW_PASSPHRASE_ENV: &str = "SESSION_KEYS_KEEPER_NEW_PASSPHRASE";

/// Why no passphrase was had.
#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
	/// The file cannot be read.
	#[error("cannot read the passphrase file {path}: {error}")]
	File {
		/// The file.
		path: String,
		/// Why.
		error: std::io::Error,
	},
	/// The prompt failed (no terminal, say).
	#[error(
		"cannot prompt for the passphrase ({0}); pass --passphrase-file or set {PASSPHRASE_ENV}"
	)]
	Prompt(std::io::Error),
	/// The passphrase is empty.
	#[error("the passphrase is empty")]
	Empty,
	/// A new passphrase and its confirmation differ.
	#[error("the two passphrases differ; nothing was changed")]
	Mismatch,
}

/// Where a passphrase came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
	/// A file (`--passphrase-file`).
	File,
	/// The environment. `remove_var` takes it out of the process's own environment, but not out
	/// of the copy the kernel keeps from its start: `/proc/<pid>/environ` shows it to the
	/// process's user (and root) for as long as it runs.
	Environment,
	/// The terminal, not echoed.
	Prompt,
}

/// The passphrase from `file`, else from the variable `env`, else prompted with `prompt` (twice
/// when `confirm`). A file's trailing newline is not part of it.
pub fn read(
	file: Option<&Path>,
	env: &str,
	prompt: &str,
	confirm: bool,
) -> Result<Zeroizing<Vec<u8>>, PassphraseError> {
	read_with_source(file, env, prompt, confirm).map(|(passphrase, _)| passphrase)
}

/// [`read`], and where the passphrase came from.
pub fn read_with_source(
	file: Option<&Path>,
	env: &str,
	prompt: &str,
	confirm: bool,
) -> Result<(Zeroizing<Vec<u8>>, Source), PassphraseError> {
	let (passphrase, source) = if let Some(path) = file {
		let contents =
			Zeroizing::new(std::fs::read(path).map_err(|error| PassphraseError::File {
				path: path.display().to_string(),
				error,
			})?);
		let end = contents
			.iter()
			.rposition(|byte| !matches!(byte, b'\n' | b'\r'))
			.map_or(0, |last| last + 1);
		(Zeroizing::new(contents[..end].to_vec()), Source::File)
	} else if let Some(value) = std::env::var_os(env) {
		// Read once; not left in the process's own environment (children do not inherit it),
		// though `/proc/<pid>/environ` still shows it: see [`Source::Environment`].
		std::env::remove_var(env);
		(Zeroizing::new(value.into_encoded_bytes()), Source::Environment)
	} else {
		let first =
			Zeroizing::new(rpassword::prompt_password(prompt).map_err(PassphraseError::Prompt)?);
		if confirm {
			let again = Zeroizing::new(
				rpassword::prompt_password("Repeat it: ").map_err(PassphraseError::Prompt)?,
			);
			if *first != *again {
				return Err(PassphraseError::Mismatch);
			}
		}
		(Zeroizing::new(first.as_bytes().to_vec()), Source::Prompt)
	};
	if passphrase.is_empty() {
		return Err(PassphraseError::Empty);
	}
	Ok((passphrase, source))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_file_passphrase_loses_its_trailing_newline_only() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("pass");
		std::fs::write(&path, "two words \n").unwrap();
		assert_eq!(
			read(Some(&path), "UNSET_FOR_TEST", "", false).unwrap().as_slice(),
			b"two words "
		);
		std::fs::write(&path, "\n").unwrap();
		assert!(matches!(
			read(Some(&path), "UNSET_FOR_TEST", "", false),
			Err(PassphraseError::Empty)
		));
		let missing = dir.path().join("none");
		assert!(matches!(
			read(Some(&missing), "UNSET_FOR_TEST", "", false),
			Err(PassphraseError::File { .. })
		));
	}

	/// `run` warns when the passphrase came from the environment: the source is told, and the
	/// variable is gone from the process's own environment afterwards.
	#[test]
	fn the_source_of_the_passphrase_is_told() {
		const VARIABLE: &str = "SESSION_KEYS_KEEPER_PASSPHRASE_SOURCE_TEST";
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("pass");
		std::fs::write(&path, "from a file\n").unwrap();
		std::env::set_var(VARIABLE, "from the environment");
		let (passphrase, source) = read_with_source(Some(&path), VARIABLE, "", false).unwrap();
		assert_eq!((passphrase.as_slice(), source), (&b"from a file"[..], Source::File));
		let (passphrase, source) = read_with_source(None, VARIABLE, "", false).unwrap();
		assert_eq!(
			(passphrase.as_slice(), source),
			(&b"from the environment"[..], Source::Environment)
		);
		assert!(std::env::var_os(VARIABLE).is_none(), "read once, then removed");
	}
}
