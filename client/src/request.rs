//! What a version 2 request header binds of an HTTP request, derived the one way a client and
//! a gateway both derive it: the resource (`METHOD /path`, the path percent-decoded), the
//! canonical query ([`session_keys_primitives::canonical_query`]) and the body's SHA-256
//! digest ([`session_keys_primitives::content_digest`]).
//!
//! The resource's path is decoded before the scope is matched, so `/orders/%2e%2e/admin` is
//! seen as the `..` it is. Encoded separators (`%2F`, `%5C`) and an encoded `%` are left
//! encoded: decoded, `a%2Fb` would read as two segments while the upstream serves one. Their `%`
//! then makes the resource non-canonical, and the shared check
//! ([`session_keys_primitives::is_canonical_resource`]) refuses it with `NonCanonicalResource`,
//! as the runtime's `authenticate` refuses the same bytes.

use percent_encoding::percent_decode;
use session_keys_primitives::{canonical_query, content_digest, ContentDigest, MalformedQuery};

/// What a version 2 header signs of one HTTP request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundRequest {
	/// `METHOD /path`, the path percent-decoded ([`resource_of`]).
	pub resource: Vec<u8>,
	/// The canonical query, empty if the request has none.
	pub query: Vec<u8>,
	/// The SHA-256 digest of the body.
	pub content_digest: ContentDigest,
}

impl BoundRequest {
	/// Binds a request with `method`, `path` (the URI's path), `query` (the URI's query
	/// without its `?`, if any) and `body`. Fails if the query has a `%` not followed by two hex
	/// digits, which has no canonical form.
	pub fn new(
		method: &str,
		path: &str,
		query: Option<&str>,
		body: &[u8],
	) -> Result<Self, MalformedQuery> {
		Ok(Self {
			resource: resource_of(method, path),
			query: canonical_query(query.unwrap_or_default().as_bytes())?,
			content_digest: content_digest(body),
		})
	}

	/// Binds a request given as `METHOD /path?query` (the query optional) with `body`.
	pub fn parse(request: &str, body: &[u8]) -> Result<Self, RequestLineError> {
		let (method, target) = request.split_once(' ').ok_or(RequestLineError::NoMethod)?;
		if method.is_empty() || !method.bytes().all(|byte| byte.is_ascii_uppercase()) {
			return Err(RequestLineError::NoMethod);
		}
		if !target.starts_with('/') {
			return Err(RequestLineError::NoPath);
		}
		let (path, query) = match target.split_once('?') {
			Some((path, query)) => (path, Some(query)),
			None => (target, None),
		};
		Self::new(method, path, query, body).map_err(|_| RequestLineError::MalformedQuery)
	}

	/// The `Content-Digest` header value of the body (RFC 9530): `sha-256=:<base64>:`.
	pub fn content_digest_header(&self) -> String {
		content_digest_header(&self.content_digest)
	}
}

/// The RFC 9530 `Content-Digest` header value of a SHA-256 body digest: `sha-256=:<base64>:`.
pub fn content_digest_header(digest: &ContentDigest) -> String {
	use base64::{engine::general_purpose::STANDARD, Engine};
	format!("sha-256=:{}:", STANDARD.encode(digest))
}

/// Why `METHOD /path?query` could not be bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestLineError {
	/// It does not start with an upper-case method and a space.
	#[error("the request must start with a method in capitals and a space, as `GET /orders/17`")]
	NoMethod,
	/// The target does not start with `/`.
	#[error("the request's path must start with `/`")]
	NoPath,
	/// The query has a `%` not followed by two hex digits.
	#[error("the request's query has a `%` not followed by two hex digits")]
	MalformedQuery,
}

/// The resource of a request with `method` and `path` (the URI's path, without the query):
/// `METHOD /path`, the path percent-decoded except for encoded separators and `%`.
pub fn resource_of(method: &str, path: &str) -> Vec<u8> {
	let mut resource = Vec::with_capacity(method.len() + 1 + path.len());
	resource.extend_from_slice(method.as_bytes());
	resource.push(b' ');
	let bytes = path.as_bytes();
	let mut start = 0;
	// Decode the path piece by piece between the escapes that must stay encoded.
	let mut index = 0;
	while index < bytes.len() {
		if bytes[index] == b'%' && stays_encoded(&bytes[index..]) {
			resource.extend(percent_decode(&bytes[start..index]));
			resource.extend_from_slice(&bytes[index..index + 3]);
			index += 3;
			start = index;
		} else {
			index += 1;
		}
	}
	resource.extend(percent_decode(&bytes[start..]));
	resource
}

/// Whether the escape at the start of `rest` is one that decoding would turn into a
/// separator or a `%` (`%2F`, `%5C`, `%25`, any case).
fn stays_encoded(rest: &[u8]) -> bool {
	matches!(rest.get(1..3), Some([b'2', b'f' | b'F' | b'5']) | Some([b'5', b'c' | b'C']))
}

#[cfg(test)]
mod tests {
	use super::*;
	use proptest::prelude::*;
	use session_keys_primitives::{is_canonical_query, is_canonical_resource};

	fn get(path: &str) -> Vec<u8> {
		resource_of("GET", path)
	}

	#[test]
	fn method_and_decoded_path() {
		assert_eq!(get("/orders/17"), b"GET /orders/17");
		assert_eq!(resource_of("DELETE", "/orders/17"), b"DELETE /orders/17");
		assert_eq!(get("/caf%C3%A9"), "GET /café".as_bytes());
		assert_eq!(get("/"), b"GET /");
		assert_eq!(get("/a%20b"), b"GET /a b");
	}

	#[test]
	fn encoded_dot_segments_are_decoded_and_then_refused() {
		for path in ["/orders/%2e%2e/admin", "/orders/%2E./admin", "/orders/.%2e", "/orders/%2e/17"]
		{
			let resource = get(path);
			assert!(
				!is_canonical_resource(&resource),
				"{path} -> {:?}",
				String::from_utf8_lossy(&resource)
			);
		}
	}

	#[test]
	fn encoded_separators_and_percent_stay_encoded_and_are_refused() {
		assert_eq!(get("/orders%2F..%2Fadmin"), b"GET /orders%2F..%2Fadmin");
		assert_eq!(get("/orders%5c..%5cadmin"), b"GET /orders%5c..%5cadmin");
		assert_eq!(get("/100%25"), b"GET /100%25");
		for path in ["/orders%2F..%2Fadmin", "/orders%5C..", "/100%25", "/a%2fb"] {
			assert!(!is_canonical_resource(&get(path)), "{path}");
		}
	}

	#[test]
	fn raw_traversal_is_refused() {
		for path in ["/orders/../admin", "/orders/./17", "//orders", "/orders//17", "/a\\b"] {
			assert!(!is_canonical_resource(&get(path)), "{path}");
		}
		assert!(is_canonical_resource(&get("/orders/17")));
		assert!(is_canonical_resource(&get("/orders/")));
	}

	#[test]
	fn encoded_bytes_that_are_not_utf8_are_refused() {
		// Overlong dots: `..` to a legacy decoder, nothing to UTF-8.
		assert!(!is_canonical_resource(&get("/orders/%C0%AE%C0%AE/admin")));
		assert!(!is_canonical_resource(&get("/orders/%FF")));
		assert!(is_canonical_resource(&get("/caf%C3%A9")));
	}

	#[test]
	fn an_encoded_control_byte_is_refused() {
		assert!(!is_canonical_resource(&get("/orders/17%00")));
		assert!(!is_canonical_resource(&get("/orders%0a")));
	}

	#[test]
	fn a_request_line_binds_resource_query_and_body() {
		let bound =
			BoundRequest::parse("POST /orders/17?b=2&a=%7e", b"{\"qty\":1}").expect("valid");
		assert_eq!(bound.resource, b"POST /orders/17");
		assert_eq!(bound.query, b"a=~&b=2");
		assert_ne!(bound, BoundRequest::parse("POST /orders/17?b=2&a=~", b"{\"qty\":2}").unwrap());
		// The empty body has a digest too: SHA-256 of nothing.
		let empty = BoundRequest::parse("GET /", b"").expect("valid");
		assert_eq!(
			empty.content_digest_header(),
			"sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
		);
		assert_eq!(BoundRequest::parse("get /", b""), Err(RequestLineError::NoMethod));
		assert_eq!(BoundRequest::parse("/orders", b""), Err(RequestLineError::NoMethod));
		assert_eq!(BoundRequest::parse("GET orders", b""), Err(RequestLineError::NoPath));
		assert_eq!(BoundRequest::parse("GET /?a=%", b""), Err(RequestLineError::MalformedQuery));
	}

	proptest! {
		/// Whatever the path, deriving never panics, and a canonical result never holds a
		/// dot segment or an empty one in the middle.
		#[test]
		fn any_path_gives_a_resource(path in "[/a-z.%0-9A-F]{0,40}") {
			let resource = get(&path);
			if is_canonical_resource(&resource) {
				let text = String::from_utf8_lossy(&resource).into_owned();
				prop_assert!(!text.split('/').any(|s| s == ".." || s == "."));
				prop_assert!(!text.contains("//"));
			}
		}

		/// The canonical form of any query is canonical, and canonicalizing it again changes
		/// nothing.
		#[test]
		fn any_query_canonicalizes_to_a_fixed_point(query in "[a-zA-Z0-9=&%+ ;~._-]{0,40}") {
			if let Ok(canonical) = canonical_query(query.as_bytes()) {
				prop_assert!(is_canonical_query(&canonical));
				prop_assert_eq!(canonical_query(&canonical), Ok(canonical.clone()));
			}
		}
	}
}
