//! Scenario 5: `author_rotateKeysWithOwner` makes consensus keys with a proof for their owner;
//! `session.set_keys(keys, proof)` accepts them from that owner only.

use codec::{Decode, Encode};
use session_keys_e2e::{account_of, Chain, Node};
use session_keys_runtime::{Runtime, RuntimeCall, SessionKeys};
use sp_core::Bytes;
use subxt_signer::sr25519::dev;

#[tokio::test]
async fn rotated_keys_are_accepted_from_their_owner_only() {
	let mut node = Node::dev("validator-keys").await;
	let chain = Chain::connect(&mut node).await;
	let alice = account_of(&dev::alice());

	let (keys, proof) = chain.rotate_keys_with_owner(&alice).await;
	let in_keystore: bool = chain
		.request("author_hasSessionKeys", jsonrpsee::rpc_params![Bytes(keys.encode())])
		.await
		.expect("author_hasSessionKeys answers");
	assert!(in_keystore, "the node keeps the private keys");

	// Bob submits Alice's keys and proof: the proof is for Alice, so it fails.
	let set_keys = RuntimeCall::Session(pallet_session::Call::set_keys {
		keys: keys.clone(),
		proof: proof.clone(),
	});
	let failure = chain.submit(&dev::bob(), set_keys.clone()).await.expect_err("not Bob's keys");
	println!("Bob: {failure:?}");
	assert!(
		matches!(&failure, session_keys_client::Error::Dispatch(f)
			if (f.pallet.as_deref(), f.name.as_deref()) == (Some("Session"), Some("InvalidProof"))),
		"InvalidProof, got {failure:?}"
	);

	// Alice submits them: accepted, and queued for the next session.
	let included = chain.submit(&dev::alice(), set_keys).await.expect("Alice's keys");
	println!("Alice: set_keys in block #{}", included.block_number);
	let next_keys = pallet_session::NextKeys::<Runtime>::hashed_key_for(&alice);
	let stored = chain
		.legacy
		.state_get_storage(&next_keys, Some(included.block_hash))
		.await
		.expect("RPC answers")
		.expect("Alice has next keys");
	assert_eq!(SessionKeys::decode(&mut &stored[..]).expect("SessionKeys"), keys);
}
