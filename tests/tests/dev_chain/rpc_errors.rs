//! Bad parameters get JSON-RPC `InvalidParams` errors with a message, key generation is unsafe
//! (refused by a node that exposes only safe methods), and the client survives a node restart.

use jsonrpsee::{core::ClientError, rpc_params};
use serde_json::Value;
use session_keys_client::{At, Error};
use session_keys_e2e::{account_of, build, Chain, Node, SessionPair, Terms};
use session_keys_primitives::{CryptoKind, RequestHeader, SessionPublic, SessionSignature};
use sp_core::{crypto::Ss58Codec, sr25519, Bytes, H256};
use subxt_signer::sr25519::dev;

/// The JSON-RPC error of a call expected to fail: its code, and its message followed by its
/// data (jsonrpsee puts serde's reason for refusing a parameter in the data).
fn call_error(result: Result<Value, Error>) -> (i32, String) {
	match result {
		Err(Error::Rpc { source, .. }) => match source.downcast_ref::<ClientError>() {
			Some(ClientError::Call(error)) => {
				let data = error.data().map(|data| data.get()).unwrap_or_default();
				(error.code(), format!("{} {data}", error.message()))
			}
			other => panic!("expected a JSON-RPC error, got {other:?}"),
		},
		other => panic!("expected a JSON-RPC error, got {other:?}"),
	}
}

#[tokio::test]
async fn bad_parameters_get_invalid_params_errors() {
	let mut node = Node::dev("rpc-errors").await;
	let chain = Chain::connect(&mut node).await;
	let alice = account_of(&dev::alice()).to_ss58check();
	let key = SessionPublic::Sr25519(sr25519::Public::from_raw([1; 32]));
	let mut trailing = codec::Encode::encode(&key);
	trailing.push(0);
	let header = RequestHeader {
		public: key,
		account: account_of(&dev::alice()),
		block_hash: H256::zero(),
		nonce: 0,
		audience: vec![],
		resource: vec![],
		signature: SessionSignature::Sr25519(sr25519::Signature::from_raw([0; 64])),
	};
	let header = Bytes(codec::Encode::encode(&header));
	let nowhere = H256::repeat_byte(0x99);

	let cases = [
		("sessionKeys_registration", rpc_params![Bytes(vec![9, 9])], "not a valid SCALE"),
		("sessionKeys_registration", rpc_params![Bytes(trailing)], "not a valid SCALE"),
		("sessionKeys_retired", rpc_params![Bytes(vec![])], "not a valid SCALE"),
		("sessionKeys_authenticate", rpc_params![Bytes(vec![0; 3])], "header: not a valid SCALE"),
		("sessionKeys_authenticate", rpc_params!["not hex"], "Invalid params"),
		("sessionKeys_authenticate", rpc_params![header, nowhere], "best block only"),
		("sessionKeys_keysOf", rpc_params!["not an address"], "Invalid params"),
		("sessionKeys_generate", rpc_params![alice.clone(), "rsa"], "unknown variant `rsa`"),
		("sessionKeys_generate", rpc_params![], "Invalid params"),
	];
	for (method, params, message) in cases {
		let (code, text) = call_error(chain.request::<Value>(method, params).await);
		println!("{method}: {code} {text}");
		assert_eq!(code, -32602, "{method}: invalid params");
		assert!(text.contains(message), "{method}: `{text}` names the fault");
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

	let error =
		chain.generate_session_key(&alice, CryptoKind::Sr25519, None).await.expect_err("unsafe");
	println!("sessionKeys_generate: {error}");
	assert!(error.to_string().contains("unsafe"), "refused as unsafe: {error}");
	let (_, text) = call_error(
		chain.request::<Value>("author_rotateKeysWithOwner", rpc_params![Bytes(vec![1; 32])]).await,
	);
	assert!(text.contains("unsafe"), "refused as unsafe: {text}");

	// Safe methods still answer.
	let nobody = SessionPublic::Sr25519(sr25519::Public::from_raw([0; 32]));
	assert!(chain.registration(&nobody).await.is_none());
}

#[tokio::test]
async fn the_client_reconnects_after_the_node_restarts() {
	let base = tempfile::tempdir().expect("a temp dir");
	let base_path = base.path().to_str().expect("a UTF-8 temp path").to_string();
	let mut node = Node::spawn("reconnect", &["--dev", "--base-path", &base_path]);
	node.wait_until_finalizing(1).await;
	let chain = Chain::connect(&mut node).await;
	let alice = account_of(&dev::alice());

	let pair = SessionPair::generate(CryptoKind::Ed25519);
	let terms = Terms {
		counterpart: account_of(&dev::bob()),
		duration: None,
		spending_limit: 0,
		collateral: 0,
		description: b"reconnect".to_vec(),
		scope: vec![b"*".to_vec()],
	};
	let register = build::register(pair.public(), pair.ownership_proof(&alice), &terms).unwrap();
	let included = chain.submit(&dev::alice(), register).await.expect("register");

	node.stop();
	let error = chain.client.registration(pair.public(), At::Best).await;
	println!("while the node is down: {error:?}");
	assert!(
		matches!(error, Err(Error::Connect { ref url, .. }) if *url == node.ws_url()),
		"{error:?}"
	);

	// Same base path, same ports: the client's next request reconnects by itself.
	node.start();
	node.wait_until_finalizing(u64::from(included.block_number)).await;
	let read = chain.registration(&pair.public()).await.expect("the registration survived");
	assert_eq!(read.owner, alice);
	chain.submit(&dev::alice(), build::revoke(pair.public())).await.expect("calls work again");
}
