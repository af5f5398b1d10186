// What a version 2 request header binds of an HTTP request, derived exactly as the gateway
// derives it from what it receives (`session_keys_client::BoundRequest`): the resource
// (`METHOD /path`, see `resourceOf`), the canonical query (`canonicalQuery`, the rule of
// `session_keys_primitives::canonical_query`) and the SHA-256 digest of the body.

import { stringToU8a } from '@polkadot/util';

import { resourceOf } from './format.js';

/** What a version 2 header signs of one request. */
export interface BoundRequest {
  /** `METHOD /path`, the path percent-decoded (but `%2F`, `%5C`, `%25`). */
  resource: Uint8Array;
  /** The canonical query, empty if the request has none. */
  query: Uint8Array;
  /** SHA-256 of the body (of no bytes for an empty body). */
  contentDigest: Uint8Array;
}

/** A `%` not followed by two hex digits: such a query has no canonical form. */
export class MalformedQuery extends Error {
  constructor(query: string) {
    super(`The query "${query}" has a % not followed by two hex digits; encode a literal % as %25.`);
    this.name = 'MalformedQuery';
  }
}

const HEX = '0123456789ABCDEF';

/** RFC 3986's unreserved characters: `A-Z a-z 0-9 - . _ ~`. */
function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x5f ||
    byte === 0x7e
  );
}

/** Raw bytes that keep their raw form: unreserved, or allowed raw in a query (`!$'()*+,;:@/?`). */
function staysRaw(byte: number): boolean {
  return isUnreserved(byte) || "!$'()*+,;:@/?".includes(String.fromCharCode(byte));
}

function hexValue(byte: number | undefined): number | undefined {
  if (byte === undefined) return undefined;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  return undefined;
}

function pushEscaped(out: number[], byte: number): void {
  out.push(0x25, HEX.charCodeAt(byte >> 4), HEX.charCodeAt(byte & 0x0f));
}

/** One name or value with its percent-encoding normalized (RFC 3986 6.2.2); undefined if malformed. */
function normalize(component: Uint8Array): number[] | undefined {
  const out: number[] = [];
  for (let index = 0; index < component.length; ) {
    const byte = component[index];
    if (byte === 0x25) {
      const high = hexValue(component[index + 1]);
      const low = hexValue(component[index + 2]);
      if (high === undefined || low === undefined) return undefined;
      const decoded = (high << 4) | low;
      if (isUnreserved(decoded)) out.push(decoded);
      else pushEscaped(out, decoded);
      index += 3;
    } else {
      // `=` reaches here only inside a value (after the first one), where it may stay raw.
      if (staysRaw(byte) || byte === 0x3d) out.push(byte);
      else pushEscaped(out, byte);
      index += 1;
    }
  }
  return out;
}

function compareBytes(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index += 1) {
    if (a[index] !== b[index]) return a[index] - b[index];
  }
  return a.length - b.length;
}

/**
 * The canonical form of a query string (without its `?`), as bytes: split at `&` (empty
 * parameters dropped), each parameter split at its first `=`, escapes normalized (unreserved
 * decoded, others upper-case, disallowed raw bytes escaped, `+` and `%2B` kept apart), then
 * ordered by name with a stable sort, so repeated names keep their order.
 */
export function canonicalQuery(raw: string | Uint8Array): Uint8Array {
  const bytes = typeof raw === 'string' ? stringToU8a(raw) : raw;
  const parameters: { name: number[]; text: number[] }[] = [];
  let start = 0;
  for (let index = 0; index <= bytes.length; index += 1) {
    if (index < bytes.length && bytes[index] !== 0x26) continue;
    const parameter = bytes.subarray(start, index);
    start = index + 1;
    if (parameter.length === 0) continue;
    const at = parameter.indexOf(0x3d);
    const name = normalize(at < 0 ? parameter : parameter.subarray(0, at));
    const value = at < 0 ? [] : normalize(parameter.subarray(at + 1));
    if (!name || !value) throw new MalformedQuery(typeof raw === 'string' ? raw : new TextDecoder().decode(raw));
    parameters.push({ name, text: at < 0 ? name : [...name, 0x3d, ...value] });
  }
  // Array.prototype.sort is stable (ES2019): repeated names keep the order they were sent in.
  parameters.sort((a, b) => compareBytes(a.name, b.name));
  const out: number[] = [];
  parameters.forEach(({ text }, index) => {
    if (index > 0) out.push(0x26);
    out.push(...text);
  });
  return new Uint8Array(out);
}

/** SHA-256 of `body` (WebCrypto), the digest a version 2 header signs; the empty body has one too. */
export async function contentDigest(body: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', body as Uint8Array<ArrayBuffer>));
}

/** The RFC 9530 `Content-Digest` value of a digest: `sha-256=:<base64>:`. */
export function contentDigestHeader(digest: Uint8Array): string {
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return `sha-256=:${btoa(binary)}:`;
}

/**
 * Binds the request `method url` with `body`. `url` is resolved against `base` by the same
 * WHATWG URL parser `fetch` uses, so the path and query bound are the ones the browser sends;
 * send the request to the returned `url`, with exactly these body bytes.
 */
export async function bindRequest(
  method: string,
  url: string | URL,
  body: Uint8Array = new Uint8Array(),
  base = 'http://gateway.invalid',
): Promise<BoundRequest & { url: URL }> {
  if (!/^[A-Za-z]+$/.test(method)) throw new Error(`"${method}" is not an HTTP method.`);
  const resolved = new URL(url, base);
  return {
    url: resolved,
    resource: resourceOf(method, resolved.pathname),
    query: canonicalQuery(resolved.search.slice(1)),
    contentDigest: await contentDigest(body),
  };
}
