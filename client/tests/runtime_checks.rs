//! What the client signs verifies with the pallet's and the runtime's own checks, for each
//! scheme: the ownership proof (`register`), a channel state (`checkpoint`) and a request header
//! (`authenticate`), run in the runtime's own externalities. The proof also verifies with
//! sp-core's RFC-0048 verifier.

use codec::Encode;
use frame_support::{assert_noop, assert_ok};
use session_keys_client::{
	AccountId, AuthError, ChannelState, CryptoKind, HeaderRequest, SessionPair, SessionPublic,
};
use session_keys_primitives::runtime_decl_for_session_keys_api::SessionKeysApiV5;
use session_keys_runtime::{Adjudicator, Runtime, RuntimeOrigin, System, UNIT};
use sp_core::{ecdsa, ed25519, proof_of_possession::ProofOfPossessionVerifier, sr25519, H256};
use sp_runtime::BuildStorage;

const KINDS: [CryptoKind; 3] = [CryptoKind::Sr25519, CryptoKind::Ed25519, CryptoKind::Ecdsa];

fn alice() -> AccountId {
	AccountId::from([1; 32])
}

fn bob() -> AccountId {
	AccountId::from([2; 32])
}

/// The runtime's state with Alice and Bob funded, at block 2 with block 1's hash stored.
fn chain() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Runtime>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Runtime> {
		balances: vec![(alice(), 1_000 * UNIT), (bob(), 1_000 * UNIT)],
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		frame_system::BlockHash::<Runtime>::insert(1, H256::repeat_byte(1));
		System::set_block_number(2);
	});
	ext
}

fn register(pair: &SessionPair) -> frame_support::dispatch::DispatchResultWithPostInfo {
	Adjudicator::register(
		RuntimeOrigin::signed(alice()),
		pair.public(),
		pair.ownership_proof(&alice()).try_into().unwrap(),
		bob().into(),
		None,
		100 * UNIT,
		100 * UNIT,
		b"client".to_vec().try_into().unwrap(),
		vec![b"orders/*".to_vec().try_into().unwrap()].try_into().unwrap(),
	)
}

#[test]
fn proofs_verify_with_the_pallet_and_with_sp_core() {
	for kind in KINDS {
		let pair = SessionPair::generate(kind);
		let proof = pair.ownership_proof(&alice());
		let owner = alice().encode();
		assert_eq!(pair.public().verify_ownership(&owner, &proof), Ok(()), "{kind:?}");
		let standard = match pair.public() {
			SessionPublic::Sr25519(public) => sr25519::Pair::verify_proof_of_possession(
				&owner,
				&codec::Decode::decode(&mut &proof[..]).unwrap(),
				&public,
			),
			SessionPublic::Ed25519(public) => ed25519::Pair::verify_proof_of_possession(
				&owner,
				&codec::Decode::decode(&mut &proof[..]).unwrap(),
				&public,
			),
			SessionPublic::Ecdsa(public) => ecdsa::Pair::verify_proof_of_possession(
				&owner,
				&codec::Decode::decode(&mut &proof[..]).unwrap(),
				&public,
			),
		};
		assert!(standard, "{kind:?}: sp-core's verifier accepts the client's proof");
		assert!(pair.public().verify_ownership(&bob().encode(), &proof).is_err(), "another owner");
	}
}

#[test]
fn registration_checkpoint_and_authentication_accept_what_the_client_signs() {
	chain().execute_with(|| {
		let genesis = Adjudicator::genesis_hash();
		for kind in KINDS {
			let pair = SessionPair::generate(kind);
			assert_ok!(register(&pair));

			let state = ChannelState { nonce: 1, owed: 5 * UNIT, margin: UNIT };
			let signature = pair.sign_state(genesis, &state);
			assert_ok!(Adjudicator::checkpoint(
				RuntimeOrigin::signed(bob()),
				pair.public(),
				state,
				signature
			));
			// Signed for another chain: refused by the signature check, nothing changes.
			let elsewhere = ChannelState { nonce: 2, ..state };
			assert_noop!(
				Adjudicator::checkpoint(
					RuntimeOrigin::signed(bob()),
					pair.public(),
					elsewhere,
					pair.sign_state(H256::repeat_byte(7), &elsewhere),
				),
				pallet_session_keys::Error::<Runtime>::InvalidSignature
			);

			let owner = alice();
			let request = |resource: &'static [u8]| HeaderRequest {
				account: &owner,
				block_hash: H256::repeat_byte(1),
				nonce: 1,
				audience: b"api.example",
				resource,
			};
			let header = pair.sign_header(genesis, &request(b"orders/1"));
			// The runtime API, as nodes and gateways call it.
			let authenticate = |header| Runtime::authenticate(header);
			let accepted = authenticate(header).expect("accepted");
			assert_eq!((accepted.owner, accepted.counterpart), (alice(), bob()));
			let other_chain = pair.sign_header(H256::repeat_byte(7), &request(b"orders/1"));
			assert_eq!(authenticate(other_chain), Err(AuthError::BadSignature));
			let outside = pair.sign_header(genesis, &request(b"accounts/1"));
			assert_eq!(authenticate(outside), Err(AuthError::OutOfScope));
		}
	});
}

#[test]
fn secrets_round_trip_and_bad_secrets_are_refused() {
	for kind in KINDS {
		let pair = SessionPair::generate(kind);
		let again = SessionPair::from_secret(kind, &pair.secret()).expect("its own secret");
		assert_eq!(again.public(), pair.public());
		let proof = again.ownership_proof(&alice());
		assert_eq!(pair.public().verify_ownership(&alice().encode(), &proof), Ok(()), "{kind:?}");
		assert!(SessionPair::from_secret(kind, &[1, 2, 3]).is_err(), "{kind:?}: too short");
	}
	assert!(SessionPair::from_uri(CryptoKind::Sr25519, "not a uri at all //").is_err());
	assert_ne!(
		SessionPair::generate(CryptoKind::Sr25519).public(),
		SessionPair::generate(CryptoKind::Sr25519).public(),
		"fresh randomness each time"
	);
}
