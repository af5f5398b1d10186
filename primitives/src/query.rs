//! The canonical form of a request's query string, which a version 2 request header signs.
//!
//! Servers read one query in many spellings: `%41` and `A` are the same letter, `%2f` and `%2F`
//! the same escape, and `b=2&a=1` holds the same parameters as `a=1&b=2`. A signature over the
//! raw string would break on any proxy that re-spells it, and a signature over a loose reading
//! would let a holder of the header re-spell it into something the upstream reads differently.
//! The canonical form sits between: it keeps every distinction a server may draw and drops the
//! ones none draws.
//!
//! - The query is split at `&` into parameters; empty parameters (`a=1&&b=2`) are dropped.
//! - Each parameter is split at its first `=` into a name and a value. `a` and `a=` stay
//!   distinct (some servers tell a flag from an empty value).
//! - Percent-encoding is normalized as RFC 3986 section 6.2.2 does: an escape of an unreserved
//!   character (`A-Z a-z 0-9 - . _ ~`) is decoded, every other escape is written with upper-case
//!   hex digits, and a byte that may not appear raw in a query is escaped. `+` stays `+` and
//!   `%2B` stays `%2B`: form decoders read the first as a space and the second as a plus.
//! - Parameters are ordered by their names, byte-wise, with a *stable* sort: repeated names keep
//!   their order, since servers disagree on whether the first or the last one wins.
//!
//! A `%` not followed by two hex digits has no canonical form: such a query is refused.

use alloc::vec::Vec;

/// Why a query has no canonical form.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MalformedQuery;

/// The canonical form of `raw`, the query string without its `?`; see the module docs.
pub fn canonical_query(raw: &[u8]) -> Result<Vec<u8>, MalformedQuery> {
	let mut parameters = Vec::new();
	for parameter in raw.split(|byte| *byte == b'&').filter(|parameter| !parameter.is_empty()) {
		let (name, value) = match parameter.iter().position(|byte| *byte == b'=') {
			Some(at) => (&parameter[..at], Some(&parameter[at + 1..])),
			None => (parameter, None),
		};
		let mut canonical = normalize(name)?;
		let name_len = canonical.len();
		if let Some(value) = value {
			canonical.push(b'=');
			canonical.extend(normalize(value)?);
		}
		parameters.push((name_len, canonical));
	}
	// `sort_by` is stable: repeated names keep the order they were sent in.
	parameters.sort_by(|(a_len, a), (b_len, b)| a[..*a_len].cmp(&b[..*b_len]));
	let mut query = Vec::with_capacity(raw.len());
	for (index, (_, parameter)) in parameters.into_iter().enumerate() {
		if index > 0 {
			query.push(b'&');
		}
		query.extend(parameter);
	}
	Ok(query)
}

/// Whether `query` is in canonical form: what a verifier that cannot see the request (the
/// runtime) checks, so that it refuses what a gateway, which derives the form itself, could never
/// have signed.
pub fn is_canonical_query(query: &[u8]) -> bool {
	canonical_query(query).is_ok_and(|canonical| canonical == query)
}

/// Percent-encoding normalized, for one name or value.
fn normalize(component: &[u8]) -> Result<Vec<u8>, MalformedQuery> {
	let mut out = Vec::with_capacity(component.len());
	let mut index = 0;
	while index < component.len() {
		let byte = component[index];
		if byte == b'%' {
			let high = component.get(index + 1).and_then(|digit| hex_value(*digit));
			let low = component.get(index + 2).and_then(|digit| hex_value(*digit));
			let (Some(high), Some(low)) = (high, low) else { return Err(MalformedQuery) };
			push_byte(&mut out, (high << 4) | low);
			index += 3;
		} else {
			// A raw byte that must not be raw (`&` and `=` never reach here unsplit but as a
			// value's later `=`, which may be raw) is escaped like a decoded one.
			if stays_raw(byte) || byte == b'=' {
				out.push(byte);
			} else {
				push_escaped(&mut out, byte);
			}
			index += 1;
		}
	}
	Ok(out)
}

/// Appends a byte that arrived escaped: raw if unreserved, else escaped again.
fn push_byte(out: &mut Vec<u8>, byte: u8) {
	if is_unreserved(byte) {
		out.push(byte);
	} else {
		push_escaped(out, byte);
	}
}

fn push_escaped(out: &mut Vec<u8>, byte: u8) {
	const HEX: &[u8; 16] = b"0123456789ABCDEF";
	out.extend_from_slice(&[b'%', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0x0f)]]);
}

/// RFC 3986's unreserved characters.
fn is_unreserved(byte: u8) -> bool {
	byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Whether a raw byte keeps its raw form: unreserved, or a character RFC 3986 allows raw in a
/// query (sub-delims but `&` and `=`, `:`, `@`, `/`, `?`). Escaping one of these would change
/// its meaning for some server (`+` is a space to form decoders, `;` a separator to some).
fn stays_raw(byte: u8) -> bool {
	is_unreserved(byte)
		|| matches!(
			byte,
			b'!' | b'$'
				| b'\'' | b'('
				| b')' | b'*'
				| b'+' | b','
				| b';' | b':'
				| b'@' | b'/'
				| b'?'
		)
}

fn hex_value(digit: u8) -> Option<u8> {
	match digit {
		b'0'..=b'9' => Some(digit - b'0'),
		b'a'..=b'f' => Some(digit - b'a' + 10),
		b'A'..=b'F' => Some(digit - b'A' + 10),
		_ => None,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn canonical(raw: &str) -> String {
		String::from_utf8(canonical_query(raw.as_bytes()).expect("well formed")).expect("ASCII")
	}

	#[test]
	fn parameters_are_ordered_by_name_and_repeated_names_keep_their_order() {
		assert_eq!(canonical("b=2&a=1"), "a=1&b=2");
		assert_eq!(canonical("a=2&b=0&a=1"), "a=2&a=1&b=0");
		assert_eq!(canonical("a=1&a=2"), "a=1&a=2");
		assert_ne!(canonical("a=1&a=2"), canonical("a=2&a=1"));
		// Ordered by the name alone, not by what follows it.
		assert_eq!(canonical("ab=1&a=2"), "a=2&ab=1");
		// The example of docs/wire-format.md.
		assert_eq!(canonical("b=2&a=%7e&a=1&c=x%2fy"), "a=~&a=1&b=2&c=x%2Fy");
	}

	#[test]
	fn escapes_are_normalized_and_meaningful_differences_kept() {
		assert_eq!(canonical("%61=%7e"), "a=~");
		assert_eq!(canonical("q=%2f%3a"), "q=%2F%3A");
		assert_eq!(canonical("q=a b"), "q=a%20b");
		assert_eq!(canonical("q=a+b"), "q=a+b");
		assert_eq!(canonical("q=a%2Bb"), "q=a%2Bb");
		assert_ne!(canonical("q=a+b"), canonical("q=a%2Bb"));
		assert_eq!(canonical("q=a=b"), "q=a=b");
		assert_eq!(canonical("q=%26"), "q=%26");
		assert_ne!(canonical("q=%26x"), canonical("q=&x"));
		assert_eq!(canonical("q=caf\u{e9}"), "q=caf%C3%A9");
		assert_eq!(canonical("q=\"<>"), "q=%22%3C%3E");
	}

	#[test]
	fn flags_empty_values_and_empty_parameters() {
		assert_eq!(canonical(""), "");
		assert_eq!(canonical("&&"), "");
		assert_eq!(canonical("a&&b="), "a&b=");
		assert_ne!(canonical("a"), canonical("a="));
		assert_eq!(canonical("=x"), "=x");
	}

	#[test]
	fn a_bad_escape_has_no_canonical_form() {
		for raw in ["%", "a=%", "a=%4", "a=%zz", "%g1=1", "a=100%"] {
			assert_eq!(canonical_query(raw.as_bytes()), Err(MalformedQuery), "{raw}");
			assert!(!is_canonical_query(raw.as_bytes()));
		}
	}

	#[test]
	fn the_canonical_form_is_canonical() {
		for raw in ["b=2&a=1", "%61=%7e", "q=a b", "a&&b=", "q=%2f", "x=1&x=0&a", ""] {
			let once = canonical_query(raw.as_bytes()).expect("well formed");
			assert!(is_canonical_query(&once), "{raw}");
		}
		assert!(!is_canonical_query(b"b=2&a=1"));
		assert!(!is_canonical_query(b"q=%2f"));
		assert!(!is_canonical_query(b"a=1&"));
	}
}
