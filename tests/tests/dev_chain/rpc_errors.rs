//! Bad parameters get JSON-RPC errors with a message, and key generation is unsafe: refused by
//! a node that exposes only safe methods.

use serde_json::Value;
use session_keys_e2e::{account_of, Chain, Node};
use session_keys_primitives::SessionPublic;
use sp_core::{crypto::Ss58Codec, sr25519, Bytes};
use subxt::rpcs::{rpc_params, Error, UserError};
use subxt_signer::sr25519::dev;

/// The JSON-RPC error of a call expected to fail.
fn user_error(result: Result<Value, Error>) -> UserError {
	match result {
		Err(Error::User(error)) => error,
		other => panic!("expected a JSON-RPC error, got {other:?}"),
	}
}

#[tokio::test]
async fn bad_parameters_get_invalid_params_errors() {
	let mut node = Node::dev("rpc-errors").await;
	let chain = Chain::connect(&mut node).await;
	let alice = account_of(&dev::alice()).to_ss58check();

	let cases = [
		("sessionKeys_registration", rpc_params![Bytes(vec![9, 9])], "public: not valid SCALE"),
		("sessionKeys_retired", rpc_params![Bytes(vec![])], "public: not valid SCALE"),
		("sessionKeys_authenticate", rpc_params![Bytes(vec![0; 3])], "header: not valid SCALE"),
		("sessionKeys_authenticate", rpc_params!["not hex"], "Invalid params"),
		("sessionKeys_keysOf", rpc_params!["not an address"], "Invalid params"),
		("sessionKeys_generate", rpc_params![alice.clone(), "rsa"], "crypto `rsa`"),
		("sessionKeys_generate", rpc_params![], "Invalid params"),
	];
	for (method, params, message) in cases {
		let error = user_error(chain.request::<Value>(method, params).await);
		println!("{method}: {} {}", error.code, error.message);
		assert_eq!(error.code, -32602, "{method}: invalid params");
		assert!(error.message.contains(message), "{method}: `{}` names the fault", error.message);
	}

	// The node is still serving.
	assert!(chain.keys_of(&account_of(&dev::alice())).await.is_empty());
}

#[tokio::test]
async fn key_generation_is_refused_when_only_safe_methods_are_exposed() {
	let mut node = Node::spawn("rpc-safe", &["--dev", "--tmp", "--rpc-methods", "safe"]);
	node.wait_until_finalizing(1).await;
	let chain = Chain::connect(&mut node).await;
	let alice = account_of(&dev::alice());

	let error = user_error(
		chain
			.request::<Value>(
				"sessionKeys_generate",
				rpc_params![alice.to_ss58check(), "sr25519", Option::<String>::None],
			)
			.await,
	);
	println!("sessionKeys_generate: {} {}", error.code, error.message);
	assert!(error.message.contains("unsafe"), "refused as unsafe: {}", error.message);
	let error = user_error(
		chain.request::<Value>("author_rotateKeysWithOwner", rpc_params![Bytes(vec![1; 32])]).await,
	);
	assert!(error.message.contains("unsafe"), "refused as unsafe: {}", error.message);

	// Safe methods still answer.
	let nobody = SessionPublic::Sr25519(sr25519::Public::from_raw([0; 32]));
	assert!(chain.registration(&nobody).await.is_none());
}
