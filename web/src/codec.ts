// The bytes a session key signs and the text form of a request header, exactly as the runtime
// (`session-keys-primitives`) and the Rust client (`session-keys-client`) define them. SCALE
// encoding is @polkadot/types' own, with the runtime's types declared once below; the fixed
// vector in test/vectors.json is checked against both this file and the Rust code.

import { TypeRegistry } from '@polkadot/types';
import { base64Decode, base64Encode } from '@polkadot/util-crypto';
import { stringToU8a, u8aConcat, u8aToHex } from '@polkadot/util';

/** Domain tag of a signed version 1 request header (`REQUEST_DOMAIN`). */
export const REQUEST_DOMAIN = stringToU8a('sadj:request:v1\0');
/** Domain tag of a signed version 2 request header (`REQUEST_DOMAIN_V2`). */
export const REQUEST_DOMAIN_V2 = stringToU8a('sadj:request:v2\0');
/** Domain tag of a signed channel state (`STATE_DOMAIN`). */
export const STATE_DOMAIN = stringToU8a('sadj:state:v1\0\0\0');
/** The statement prefix of an RFC-0048 ownership proof (sp-core's proof of possession). */
export const POP_PREFIX = stringToU8a('POP_');
/** The HTTP header that carries a session header. */
export const HTTP_HEADER = 'x-session-auth';
/** The prefix of the version 1 text form (gateways refuse it unless their operator accepts it). */
export const VERSION_PREFIX = 'v1.';
/** The prefix of the version 2 text form, the one the widget signs. */
export const VERSION_PREFIX_V2 = 'v2.';
/** The HTTP header that carries a metered call's next channel state (`STATE_HEADER`). */
export const STATE_HEADER = 'x-session-state';
/** The prefix of the `x-session-state` text form (`STATE_VERSION_PREFIX`). */
export const STATE_VERSION_PREFIX = 'v1.';
/** The longest header text a gateway accepts (`MAX_HEADER_LEN`). */
export const MAX_HEADER_LEN = 8 * 1024;

// A `Bytes` built from a `Uint8Array` is read as already SCALE-encoded (length first), so raw
// bytes go in as hex.

/** The runtime's types, for encoding without a chain connection. */
export const registry = new TypeRegistry();
registry.register({
  SessionPublic: { _enum: { Sr25519: '[u8; 32]', Ed25519: '[u8; 32]', Ecdsa: '[u8; 33]' } },
  SessionSignature: { _enum: { Sr25519: '[u8; 64]', Ed25519: '[u8; 64]', Ecdsa: '[u8; 65]' } },
  RequestHeader: {
    public: 'SessionPublic',
    account: 'AccountId32',
    blockHash: 'H256',
    nonce: 'u64',
    audience: 'Bytes',
    resource: 'Bytes',
    signature: 'SessionSignature',
  },
  RequestHeaderV2: {
    public: 'SessionPublic',
    account: 'AccountId32',
    blockHash: 'H256',
    nonce: 'u64',
    audience: 'Bytes',
    resource: 'Bytes',
    query: 'Bytes',
    contentDigest: '[u8; 32]',
    signature: 'SessionSignature',
  },
  RequestPayload: '([u8; 16], H256, AccountId32, H256, u64, Bytes, Bytes)',
  RequestPayloadV2: '([u8; 16], H256, AccountId32, H256, u64, Bytes, Bytes, Bytes, [u8; 32])',
  StatePayload: '([u8; 16], H256, SessionPublic, u64, u128, u128)',
  SignedStateHeader: '(u64, u128, u128, SessionSignature)',
});

/** What a request header says, before it is signed. */
export interface HeaderFields {
  /** The owner account, 32 bytes. */
  account: Uint8Array;
  /** A recent block's hash, 32 bytes. */
  blockHash: Uint8Array;
  /** A number not repeated while the block hash is fresh. */
  nonce: bigint;
  /** The service addressed (the gateway's audience). */
  audience: Uint8Array;
  /** The resource asked for, `METHOD /path` at a gateway. */
  resource: Uint8Array;
}

/** What a version 2 request header says, before it is signed: version 1's fields and the query and body. */
export interface HeaderFieldsV2 extends HeaderFields {
  /** The canonical query (`canonicalQuery`), empty if none. */
  query: Uint8Array;
  /** SHA-256 of the body, 32 bytes. */
  contentDigest: Uint8Array;
}

/** A signed sr25519 version 2 request header. */
export interface SignedHeaderV2 extends HeaderFieldsV2 {
  /** The session key's public key, 32 bytes. */
  public: Uint8Array;
  /** Its signature over `requestPayloadV2`, 64 bytes. */
  signature: Uint8Array;
}

/** A signed sr25519 request header. */
export interface SignedHeader extends HeaderFields {
  /** The session key's public key, 32 bytes. */
  public: Uint8Array;
  /** Its signature over `requestPayload`, 64 bytes. */
  signature: Uint8Array;
}

/** A channel state (`ChannelState<u128>`). */
export interface ChannelState {
  nonce: bigint;
  owed: bigint;
  margin: bigint;
}

/** `(REQUEST_DOMAIN, genesis, account, block_hash, nonce, audience, resource)`, SCALE. */
export function requestPayload(genesis: Uint8Array, fields: HeaderFields): Uint8Array {
  return registry
    .createType('RequestPayload', [
      REQUEST_DOMAIN,
      genesis,
      fields.account,
      fields.blockHash,
      fields.nonce,
      u8aToHex(fields.audience),
      u8aToHex(fields.resource),
    ])
    .toU8a();
}

/**
 * `(REQUEST_DOMAIN_V2, genesis, account, block_hash, nonce, audience, resource, query,
 * content_digest)`, SCALE: what a version 2 header's key signs.
 */
export function requestPayloadV2(genesis: Uint8Array, fields: HeaderFieldsV2): Uint8Array {
  if (fields.contentDigest.length !== 32) throw new Error(`a content digest is 32 bytes, not ${fields.contentDigest.length}`);
  return registry
    .createType('RequestPayloadV2', [
      REQUEST_DOMAIN_V2,
      genesis,
      fields.account,
      fields.blockHash,
      fields.nonce,
      u8aToHex(fields.audience),
      u8aToHex(fields.resource),
      u8aToHex(fields.query),
      fields.contentDigest,
    ])
    .toU8a();
}

/** `(STATE_DOMAIN, genesis, public, nonce, owed, margin)`, SCALE, for an sr25519 key. */
export function statePayload(genesis: Uint8Array, publicKey: Uint8Array, state: ChannelState): Uint8Array {
  return registry
    .createType('StatePayload', [
      STATE_DOMAIN,
      genesis,
      { Sr25519: publicKey },
      state.nonce,
      state.owed,
      state.margin,
    ])
    .toU8a();
}

/**
 * The `x-session-state` value of an sr25519 `signature` over `state`: `v1.` then base64url
 * (no padding) of SCALE `(ChannelState<u128>, SessionSignature)`, as the Rust client's
 * `StateHeader::encode`.
 */
export function encodeStateHeader(state: ChannelState, signature: Uint8Array): string {
  if (signature.length !== 64) throw new Error(`an sr25519 signature is 64 bytes, not ${signature.length}`);
  const bytes = registry
    .createType('SignedStateHeader', [state.nonce, state.owed, state.margin, { Sr25519: signature }])
    .toU8a();
  return STATE_VERSION_PREFIX + base64UrlEncode(bytes);
}

/** The ownership statement an sr25519 key signs for `owner`: `POP_ ++ owner` (32 bytes). */
export function ownershipStatement(owner: Uint8Array): Uint8Array {
  return u8aConcat(POP_PREFIX, owner);
}

/** The SCALE bytes of a signed header (`RequestHeader<AccountId32, H256>`). */
export function encodeHeaderBytes(header: SignedHeader): Uint8Array {
  return registry
    .createType('RequestHeader', {
      public: { Sr25519: header.public },
      account: header.account,
      blockHash: header.blockHash,
      nonce: header.nonce,
      audience: u8aToHex(header.audience),
      resource: u8aToHex(header.resource),
      signature: { Sr25519: header.signature },
    })
    .toU8a();
}

/** Base64url without padding (RFC 4648 §5), as the Rust client's `URL_SAFE_NO_PAD`. */
export function base64UrlEncode(bytes: Uint8Array): string {
  return base64Encode(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The inverse of `base64UrlEncode`; throws on any other alphabet. */
export function base64UrlDecode(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new Error('not base64url without padding');
  }
  const standard = text.replace(/-/g, '+').replace(/_/g, '/');
  return base64Decode(standard + '='.repeat((4 - (standard.length % 4)) % 4));
}

/** The version 1 `x-session-auth` value: `v1.` then base64url of the SCALE header. */
export function encodeHeader(header: SignedHeader): string {
  return VERSION_PREFIX + base64UrlEncode(encodeHeaderBytes(header));
}

/** The SCALE bytes of a signed version 2 header (`RequestHeaderV2<AccountId32, H256>`). */
export function encodeHeaderV2Bytes(header: SignedHeaderV2): Uint8Array {
  return registry
    .createType('RequestHeaderV2', {
      public: { Sr25519: header.public },
      account: header.account,
      blockHash: header.blockHash,
      nonce: header.nonce,
      audience: u8aToHex(header.audience),
      resource: u8aToHex(header.resource),
      query: u8aToHex(header.query),
      contentDigest: header.contentDigest,
      signature: { Sr25519: header.signature },
    })
    .toU8a();
}

/** The `x-session-auth` value of a version 2 header: `v2.` then base64url of the SCALE header. */
export function encodeHeaderV2(header: SignedHeaderV2): string {
  return VERSION_PREFIX_V2 + base64UrlEncode(encodeHeaderV2Bytes(header));
}

/** Parses an sr25519 version 2 header's text form (for tests and tools; a gateway verifies headers). */
export function decodeHeaderV2(text: string): SignedHeaderV2 {
  if (text.length > MAX_HEADER_LEN) throw new Error('the session header is too long');
  if (!text.startsWith(VERSION_PREFIX_V2)) throw new Error(`the session header does not start with ${VERSION_PREFIX_V2}`);
  const bytes = base64UrlDecode(text.slice(VERSION_PREFIX_V2.length));
  const header = registry.createType('RequestHeaderV2', bytes);
  if (header.encodedLength !== bytes.length) throw new Error('trailing bytes after the session header');
  return { ...sr25519Parts(header), query: bareBytes(header, 'query'), contentDigest: bareBytes(header, 'contentDigest') };
}

type Fields = Record<string, { toU8a(bare?: boolean): Uint8Array }>;

/** A field's bytes without a length prefix. */
function bareBytes(header: unknown, name: string): Uint8Array {
  return (header as Fields)[name].toU8a(true);
}

/** The fields both versions share, from a decoded header; refuses other schemes than sr25519. */
function sr25519Parts(header: { toJSON(): unknown }): SignedHeader {
  const json = header.toJSON() as Record<string, unknown>;
  const publicKey = json.public as Record<string, string>;
  const signature = json.signature as Record<string, string>;
  if (!publicKey.sr25519 || !signature.sr25519) throw new Error('not an sr25519 session header');
  const field = (name: string) => (header as unknown as Fields)[name];
  return {
    public: registry.createType('[u8; 32]', publicKey.sr25519).toU8a(),
    account: field('account').toU8a(),
    blockHash: field('blockHash').toU8a(),
    nonce: BigInt(String(json.nonce)),
    audience: field('audience').toU8a(true),
    resource: field('resource').toU8a(true),
    signature: registry.createType('[u8; 64]', signature.sr25519).toU8a(),
  };
}

/** Parses an sr25519 header's text form (for tests and tools; a gateway verifies headers). */
export function decodeHeader(text: string): SignedHeader {
  if (text.length > MAX_HEADER_LEN) throw new Error('the session header is too long');
  if (!text.startsWith(VERSION_PREFIX)) throw new Error(`the session header does not start with ${VERSION_PREFIX}`);
  const bytes = base64UrlDecode(text.slice(VERSION_PREFIX.length));
  const header = registry.createType('RequestHeader', bytes);
  if (header.encodedLength !== bytes.length) throw new Error('trailing bytes after the session header');
  return sr25519Parts(header);
}

/** `0x`-hex of the SCALE encoding of an sr25519 `SessionPublic`, as the gateway's `X-Session-Key`. */
export function sessionPublicHex(publicKey: Uint8Array): string {
  return u8aToHex(registry.createType('SessionPublic', { Sr25519: publicKey }).toU8a());
}
