//! Scenario 2: a validator rotates its consensus keys on the live network. Dave's node makes new
//! keys with `author_rotateKeysWithOwner`; `session.set_keys` refuses a proof made for another
//! owner and takes Dave's own; two session changes later Dave's new Aura key authors blocks and
//! finality goes on.

use session_keys_e2e::{account_of, testnet::Testnet, Chain};
use session_keys_runtime::{RuntimeCall, SessionKeys};
use subxt_signer::sr25519::dev;

/// Sessions last 10 blocks; keys set in session `s` take effect at the start of `s + 2`. Blocks
/// to wait for the new key to be an authority, with room for missed slots.
const ACTIVATION_BLOCKS: u32 = 30;

fn set_keys(keys: SessionKeys, proof: Vec<u8>) -> RuntimeCall {
	RuntimeCall::Session(pallet_session::Call::set_keys { keys, proof })
}

#[tokio::test]
async fn a_validator_rotates_its_keys_on_a_live_network() {
	let _turn = crate::turn().await;
	let mut net = Testnet::start("rotation").await;
	let chain = Chain::connect(net.node("dave")).await;
	let (alice, dave) = (account_of(&dev::alice()), account_of(&dev::dave()));

	// Keys proven for Alice, submitted by Dave: refused.
	let (keys, proof_for_alice) = chain.rotate_keys_with_owner(&alice).await;
	let failure = chain
		.submit(&dev::dave(), set_keys(keys, proof_for_alice))
		.await
		.expect_err("a proof for Alice does not prove Dave's keys");
	println!("set_keys with Alice's proof from Dave: {failure:?}");
	assert!(
		matches!(&failure, session_keys_client::Error::Dispatch(f)
			if (f.pallet.as_deref(), f.name.as_deref()) == (Some("Session"), Some("InvalidProof"))),
		"InvalidProof, got {failure:?}"
	);

	// Dave's own keys and proof: accepted.
	let (keys, proof) = chain.rotate_keys_with_owner(&dave).await;
	let set_id_before = chain.grandpa_set_id(chain.best_hash().await).await;
	let included =
		chain.submit(&dev::dave(), set_keys(keys.clone(), proof)).await.expect("set_keys");
	println!(
		"dave: set_keys in #{}, new aura {:?}, new grandpa {:?}",
		included.block_number, keys.aura, keys.grandpa
	);

	// Wait (on finalized blocks) until the new Aura key is an authority.
	let mut activated = None;
	for number in included.block_number..=included.block_number + ACTIVATION_BLOCKS {
		let hash = chain.wait_for_finalized(number).await;
		if chain.aura_authorities(hash).await.contains(&keys.aura) {
			activated = Some(number);
			break;
		}
	}
	let activated = activated.expect("the new Aura key became an authority");
	net.print_heights(&format!("new aura key an authority from #{activated}")).await;

	// Within two rounds of slots, a block sealed by the new key is finalized.
	let mut authored = None;
	for number in activated + 1..=activated + 8 {
		let hash = chain.wait_for_finalized(number).await;
		let authorship = chain.authorship(hash).await;
		println!("  #{number} slot {} author {}", authorship.slot, authorship.author_name());
		if authorship.key == keys.aura {
			authored = Some(number);
			break;
		}
	}
	let authored = authored.expect("dave's new key authored a finalized block");
	println!("dave's new key authored #{authored}");

	// Finality goes on past it, on every node, with a new GRANDPA set that holds the new key.
	net.wait_all_finalized(u64::from(authored) + 4).await;
	net.print_heights("after rotation").await;
	let set_id_after = chain.grandpa_set_id(chain.best_hash().await).await;
	println!("grandpa set id {set_id_before} -> {set_id_after}");
	assert!(set_id_after > set_id_before, "the GRANDPA authority set changed");
}
