import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringToU8a } from '@polkadot/util';

import { MAX_HEADER_LEN, base64UrlDecode, base64UrlEncode, decodeHeader, encodeHeader, encodeHeaderBytes } from '../../src/codec.js';
import { generateSeed, signHeader } from '../../src/keys.js';

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
