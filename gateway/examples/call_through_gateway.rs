//! Call an API through `session-keys-gateway` with a session key: register a key, sign a header
//! for a request, send it through the gateway, revoke the key and send it again.
//!
//! With a dev chain (`scripts/dev.sh`), an upstream (any HTTP server, for example
//! `python3 -m http.server 3000`) and the gateway in front of it:
//!
//! ```sh
//! target/debug/session-keys-gateway --upstream http://127.0.0.1:3000 --audience api.example
//! target/debug/examples/call_through_gateway http://127.0.0.1:8080 api.example ws://127.0.0.1:9944
//! ```
//!
//! Alice registers a fresh sr25519 key scoped to `GET /*` with Bob as counterpart, signs a
//! version 2 header for `GET /?page=1` (the method, the path, the query and the empty body) and
//! the gateway's audience, prints a `curl` command that sends it, sends it, sends it again (the
//! gateway answers 401 `Replayed`: each header is accepted once), revokes the key and sends a
//! fresh header once the revoke is in a block (401 `KeyRevoked`).

use std::error::Error;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::{client::legacy::Client as HttpClient, rt::TokioExecutor};
use session_keys_client::{
	account_of, encode_header_v2, BoundRequest, Client, CryptoKind, HeaderRequestV2, SessionPair,
	Terms, Wait, HTTP_HEADER,
};
use subxt_signer::sr25519::dev;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
	let mut args = std::env::args().skip(1);
	let gateway = args.next().unwrap_or_else(|| "http://127.0.0.1:8080".into());
	let audience = args.next().unwrap_or_else(|| "api.example".into());
	let node = args.next().unwrap_or_else(|| "ws://127.0.0.1:9944".into());
	let client = Client::connect(&node).await?;
	let (alice, owner) = (dev::alice(), account_of(&dev::alice()));

	let key = SessionPair::generate(CryptoKind::Sr25519);
	let terms = Terms {
		counterpart: account_of(&dev::bob()),
		duration: None,
		spending_limit: 0,
		collateral: 0,
		description: br#"{"use_case": "gateway example"}"#.to_vec(),
		scope: vec![b"GET /*".to_vec()],
	};
	let proof = key.ownership_proof(&owner);
	let included = client.register(&alice, key.public(), proof, &terms, Wait::InBlock).await?;
	println!("registered {:?} in block #{}", key.public(), included.block_number);

	// The header binds the whole request: method, path, query and body (empty here), and the
	// gateway's name as audience. A new nonce per request: each header is accepted once.
	let request = BoundRequest::parse("GET /?page=1", b"")?;
	let sign = |nonce: u64, block_hash| {
		encode_header_v2(&key.sign_header_v2(
			client.genesis_hash(),
			&HeaderRequestV2 {
				account: &owner,
				block_hash,
				nonce,
				audience: audience.as_bytes(),
				request: &request,
			},
		))
	};
	let header = sign(1, client.header_block_hash().await?);
	println!("curl -i -H '{HTTP_HEADER}: {header}' '{gateway}/?page=1'");

	let http: HttpClient<_, Empty<Bytes>> = HttpClient::builder(TokioExecutor::new()).build_http();
	let (http, gateway) = (&http, &gateway);
	let send = |header: String| async move {
		let request = http::Request::get(format!("{gateway}/?page=1"))
			.header(HTTP_HEADER, header.as_str())
			.body(Empty::new())?;
		let response = http.request(request).await?;
		let status = response.status();
		let body = response.into_body().collect().await?.to_bytes();
		let shown = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
		Ok::<_, Box<dyn Error>>(format!("{status} {shown}"))
	};
	println!("through the gateway: {}", send(header.clone()).await?);
	println!("the same header again: {}", send(header).await?);

	let revoked = client.revoke(&alice, key.public(), Wait::InBlock).await?;
	println!("revoked in block #{}", revoked.block_number);
	// The gateway follows the best chain every half second.
	tokio::time::sleep(std::time::Duration::from_secs(1)).await;
	let fresh = sign(2, client.header_block_hash().await?);
	println!("through the gateway: {}", send(fresh).await?);
	Ok(())
}
