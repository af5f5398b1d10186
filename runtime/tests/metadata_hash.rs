//! `CheckMetadataHash` is one of the runtime's transaction extensions: a signer that enables it
//! signs the metadata hash it checked, and the runtime refuses the transaction unless that is the
//! hash of its own metadata (built in with the `metadata-hash` feature).

mod common;

use codec::{Decode, Encode};
use common::*;
use session_keys_runtime::{
	Executive, RuntimeCall, SignedPayload, System, TxExtension, UncheckedExtrinsic,
};
use sp_keyring::Sr25519Keyring::{Alice, Bob};
use sp_runtime::transaction_validity::{
	InvalidTransaction, TransactionValidityError, UnknownTransaction,
};

fn transfer() -> RuntimeCall {
	RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
		dest: account(Bob).into(),
		value: 1_000_000_000_000,
	})
}

/// Alice's transfer signed with `metadata_hash` for `CheckMetadataHash`, sent as bytes the way a
/// wallet sends it (the hash itself is not in the extrinsic, only that it was checked).
fn signed_with(
	metadata_hash: frame_metadata_hash_extension::CheckMetadataHash<session_keys_runtime::Runtime>,
) -> UncheckedExtrinsic {
	let nonce = System::account_nonce(account(Alice));
	let mut extension: TxExtension = session_keys_runtime::immortal_tx_extension(nonce);
	extension.8 = metadata_hash;
	let payload = SignedPayload::new(transfer(), extension.clone()).expect("payload builds");
	let signature = payload.using_encoded(|bytes| Alice.sign(bytes));
	let xt = UncheckedExtrinsic::new_signed(
		transfer(),
		account(Alice).into(),
		signature.into(),
		extension,
	);
	UncheckedExtrinsic::decode(&mut &xt.encode()[..]).expect("decodes")
}

#[test]
fn a_transaction_signed_against_another_metadata_hash_is_refused() {
	dev_chain().execute_with(|| {
		next_block();
		let made_up =
			frame_metadata_hash_extension::CheckMetadataHash::new_with_custom_hash([7; 32]);
		let refused = Executive::apply_extrinsic(signed_with(made_up));
		// Without the built-in hash the runtime cannot check it; with it, the signed payload
		// differs and the signature fails.
		assert!(
			matches!(
				refused,
				Err(TransactionValidityError::Unknown(UnknownTransaction::CannotLookup))
					| Err(TransactionValidityError::Invalid(InvalidTransaction::BadProof))
			),
			"{refused:?}"
		);
		// A signer that does not enable the check is served as before.
		let disabled = frame_metadata_hash_extension::CheckMetadataHash::new(false);
		assert_eq!(Executive::apply_extrinsic(signed_with(disabled)), Ok(Ok(())));
	});
}
