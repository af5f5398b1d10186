//! Register a session key made locally, sign a request header with it, and authenticate the
//! header with the runtime's own check.
//!
//! Start a dev chain (`scripts/dev.sh`), then:
//!
//! ```sh
//! cargo build --workspace --examples
//! target/debug/examples/register_and_authenticate ws://127.0.0.1:9944
//! ```
//!
//! Alice (a dev account) registers a fresh sr25519 key with Bob as counterpart, scoped to
//! `GET /orders/*`; the example prints the registration, a version 2 header for
//! `GET /orders/17?page=2` in its HTTP text form and the runtime's answer, then revokes the key.

use session_keys_client::{
	account_of, encode_header_v2, At, BoundRequest, Client, CryptoKind, Error, HeaderRequestV2,
	SessionPair, Terms, Wait, HTTP_HEADER,
};
use subxt_signer::sr25519::dev;

#[tokio::main]
async fn main() -> Result<(), Error> {
	let url = std::env::args().nth(1).unwrap_or_else(|| "ws://127.0.0.1:9944".into());
	let client = Client::connect(&url).await?;
	let (alice, owner) = (dev::alice(), account_of(&dev::alice()));

	// The key is made here, from the OS random source; only its public half goes on chain.
	let key = SessionPair::generate(CryptoKind::Sr25519);
	let terms = Terms {
		counterpart: account_of(&dev::bob()),
		duration: None,
		spending_limit: 0,
		collateral: 0,
		description: br#"{"use_case": "example"}"#.to_vec(),
		scope: vec![b"GET /orders/*".to_vec()],
	};
	let proof = key.ownership_proof(&owner);
	let included = client.register(&alice, key.public(), proof, &terms, Wait::Finalized).await?;
	println!("registered {:?} in block #{}", key.public(), included.block_number);
	let registration = client.registration(key.public(), At::Finalized).await?;
	println!("registration: {registration:?}");

	// What a gateway derives from the request: `GET /orders/17`, the query `page=2`, the
	// digest of the empty body.
	let request = BoundRequest::parse("GET /orders/17?page=2", b"").expect("a valid request");
	let header = key.sign_header_v2(
		client.genesis_hash(),
		&HeaderRequestV2 {
			account: &owner,
			block_hash: client.header_block_hash().await?,
			nonce: 1,
			audience: b"api.example",
			request: &request,
		},
	);
	println!("{HTTP_HEADER}: {}", encode_header_v2(&header));
	println!("the runtime says: {:?}", client.authenticate_v2(&header).await?);

	client.revoke(&alice, key.public(), Wait::InBlock).await?;
	println!("revoked; the runtime now says: {:?}", client.authenticate_v2(&header).await?);
	Ok(())
}
