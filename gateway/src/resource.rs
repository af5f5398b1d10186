//! The resource of an HTTP request: what the session key must have signed and its scope allow.
//!
//! The resource is the method, a space and the path, percent-decoded: `GET /orders/17` (the
//! query string is not part of it). Binding the method means a header signed for a read cannot
//! be replayed as a delete of the same path.
//!
//! Decoding comes before the scope is matched, so `/orders/%2e%2e/admin` is seen as the
//! `..` it is. Encoded separators (`%2F`, `%5C`) and an encoded `%` are left encoded: decoded,
//! `a%2Fb` would read as two segments while the upstream serves one. Their `%` then makes the
//! resource non-canonical, and the shared check
//! ([`session_keys_primitives::is_canonical_resource`]) refuses it with
//! `NonCanonicalResource`, as the runtime's `authenticate` refuses the same bytes.

use percent_encoding::percent_decode;

/// The resource of a request with `method` and `path` (the URI's path, without the query).
pub fn resource_of(method: &http::Method, path: &str) -> Vec<u8> {
	let mut resource = Vec::with_capacity(method.as_str().len() + 1 + path.len());
	resource.extend_from_slice(method.as_str().as_bytes());
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
	use http::Method;
	use proptest::prelude::*;
	use session_keys_primitives::is_canonical_resource;

	fn get(path: &str) -> Vec<u8> {
		resource_of(&Method::GET, path)
	}

	#[test]
	fn method_and_decoded_path() {
		assert_eq!(get("/orders/17"), b"GET /orders/17");
		assert_eq!(resource_of(&Method::DELETE, "/orders/17"), b"DELETE /orders/17");
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
	fn an_encoded_control_byte_is_refused() {
		assert!(!is_canonical_resource(&get("/orders/17%00")));
		assert!(!is_canonical_resource(&get("/orders%0a")));
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
	}
}
