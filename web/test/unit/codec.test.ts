import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringToU8a } from '@polkadot/util';

import {
  MAX_HEADER_LEN,
  base64UrlDecode,
  base64UrlEncode,
  decodeHeader,
  decodeHeaderV2,
  encodeHeader,
  encodeHeaderBytes,
  encodeHeaderV2,
  encodeHeaderV2Bytes,
} from '../../src/codec.js';
import { generateSeed, signHeader, signHeaderV2 } from '../../src/keys.js';

const header = () =>
  signHeader(generateSeed(), new Uint8Array(32).fill(1), {
    account: new Uint8Array(32).fill(7),
    blockHash: new Uint8Array(32).fill(2),
    nonce: 9n,
    audience: stringToU8a('api.example'),
    resource: stringToU8a('GET /orders/1'),
  });

test('base64url has no padding and the URL-safe alphabet', () => {
  const bytes = new Uint8Array([0xfb, 0xff, 0xfe, 0x00]);
  const text = base64UrlEncode(bytes);
  assert.equal(text, '-__-AA');
  assert.deepEqual(base64UrlDecode(text), bytes);
  assert.throws(() => base64UrlDecode('+//+AA'), /base64url/);
  assert.throws(() => base64UrlDecode('AAAA='), /base64url/);
});

test('the text form round trips', () => {
  const signed = header();
  const text = encodeHeader(signed);
  assert.match(text, /^v1\.[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeHeader(text), signed);
});

test('malformed text is refused with its reason', () => {
  const text = encodeHeader(header());
  assert.throws(() => decodeHeader(text.slice(3)), /does not start with v1\./);
  assert.throws(() => decodeHeader(`v2.${text.slice(3)}`), /does not start with v1\./);
  assert.throws(() => decodeHeader(`${text}!`), /base64url/);
  const long = new Uint8Array([...encodeHeaderBytes(header()), 0]);
  assert.throws(() => decodeHeader(`v1.${base64UrlEncode(long)}`), /trailing bytes/);
  assert.throws(() => decodeHeader(`v1.${'A'.repeat(MAX_HEADER_LEN)}`), /too long/);
});

test('the version 2 text form round trips and is told apart from version 1', async () => {
  const signed = signHeaderV2(generateSeed(), new Uint8Array(32).fill(1), {
    account: new Uint8Array(32).fill(7),
    blockHash: new Uint8Array(32).fill(2),
    nonce: 9n,
    audience: stringToU8a('api.example'),
    resource: stringToU8a('POST /orders/1'),
    query: stringToU8a('a=1'),
    contentDigest: new Uint8Array(32).fill(3),
  });
  const text = encodeHeaderV2(signed);
  assert.match(text, /^v2\.[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeHeaderV2(text), signed);
  assert.throws(() => decodeHeaderV2(encodeHeader(header())), /does not start with v2\./);
  assert.throws(() => decodeHeaderV2(`v2.${encodeHeader(header()).slice(3)}`), /./);
  const long = new Uint8Array([...encodeHeaderV2Bytes(signed), 0]);
  assert.throws(() => decodeHeaderV2(`v2.${base64UrlEncode(long)}`), /trailing bytes/);
  assert.throws(() => signHeaderV2(generateSeed(), new Uint8Array(32), { ...signed, contentDigest: new Uint8Array(31) }), /32 bytes/);
});
