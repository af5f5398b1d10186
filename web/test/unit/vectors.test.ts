// The fixed vector (test/vectors.json) against this package's code: the same bytes are made
// and every signature in it verifies. client/src/web_vectors.rs checks the same file against
// the runtime's types and the Rust verification.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { hexToU8a, stringToU8a, u8aToHex, u8aToString } from '@polkadot/util';
import { sr25519Verify } from '@polkadot/util-crypto';

import {
  REQUEST_DOMAIN,
  REQUEST_DOMAIN_V2,
  decodeHeader,
  decodeHeaderV2,
  encodeHeader,
  encodeHeaderV2,
  ownershipStatement,
  requestPayload,
  requestPayloadV2,
  statePayload,
} from '../../src/codec.js';
import { publicOf, signHeader, signHeaderV2, signState, verifyHeader, verifyHeaderV2, verifyState } from '../../src/keys.js';
import { bindRequest } from '../../src/request.js';
import { VECTOR_INPUT } from './vector-input.js';

const vectors = JSON.parse(readFileSync(new URL('../../test/vectors.json', import.meta.url), 'utf8'));
const seed = hexToU8a(vectors.seed);
const genesis = hexToU8a(vectors.genesis);
const owner = hexToU8a(vectors.owner);
const fields = {
  account: owner,
  blockHash: hexToU8a(vectors.header.blockHash),
  nonce: BigInt(vectors.header.nonce),
  audience: stringToU8a(vectors.header.audience),
  resource: stringToU8a(vectors.header.resource),
};
const state = { nonce: BigInt(vectors.state.nonce), owed: BigInt(vectors.state.owed), margin: BigInt(vectors.state.margin) };

test('the vector was made from the committed inputs', () => {
  for (const name of ['seed', 'genesis', 'owner'] as const) assert.equal(vectors[name], VECTOR_INPUT[name]);
  assert.deepEqual({ ...vectors.header, payload: undefined, signature: undefined, text: undefined }, {
    ...VECTOR_INPUT.header,
    payload: undefined,
    signature: undefined,
    text: undefined,
  });
  assert.equal(vectors.headersV2.length, VECTOR_INPUT.headersV2.length);
  VECTOR_INPUT.headersV2.forEach((input, index) => {
    const { method, url, body, blockHash, nonce, audience } = vectors.headersV2[index];
    assert.deepEqual({ method, url, body, blockHash, nonce, audience }, input);
  });
});

test('the seed makes the vector key', () => {
  assert.equal(u8aToHex(publicOf(seed)), vectors.public);
});

test('the request payload is the vector bytes, laid out as SCALE', () => {
  const payload = requestPayload(genesis, fields);
  assert.equal(u8aToHex(payload), vectors.header.payload);
  // Independent of the codec library: fixed fields, little-endian nonce, compact lengths.
  assert.deepEqual(payload.slice(0, 16), REQUEST_DOMAIN);
  assert.deepEqual(payload.slice(16, 48), genesis);
  assert.deepEqual(payload.slice(48, 80), owner);
  assert.deepEqual(payload.slice(80, 112), fields.blockHash);
  assert.deepEqual(payload.slice(112, 120), new Uint8Array(8).fill(0xff));
  assert.equal(payload[120], fields.audience.length << 2);
  assert.deepEqual(payload.slice(121, 121 + fields.audience.length), fields.audience);
  assert.equal(payload[121 + fields.audience.length], fields.resource.length << 2);
  assert.equal(payload.length, 122 + fields.audience.length + fields.resource.length);
});

test('the vector header decodes to its fields and its signature verifies', () => {
  const header = decodeHeader(vectors.header.text);
  assert.equal(u8aToHex(header.public), vectors.public);
  assert.equal(u8aToHex(header.signature), vectors.header.signature);
  assert.deepEqual(header.account, owner);
  assert.equal(header.nonce, fields.nonce);
  assert.deepEqual(header.resource, fields.resource);
  assert.equal(encodeHeader(header), vectors.header.text);
  assert.ok(verifyHeader(genesis, header));
  assert.ok(!verifyHeader(new Uint8Array(32).fill(9), header), 'another chain');
  assert.ok(!verifyHeader(genesis, { ...header, resource: stringToU8a('GET /orders/18') }), 'another resource');
  assert.ok(!verifyHeader(genesis, { ...header, audience: stringToU8a('api.other') }), 'another audience');
});

test('the state payload is the vector bytes and its signature verifies', () => {
  const publicKey = hexToU8a(vectors.public);
  assert.equal(u8aToHex(statePayload(genesis, publicKey, state)), vectors.state.payload);
  const signature = hexToU8a(vectors.state.signature);
  assert.ok(verifyState(genesis, publicKey, state, signature));
  assert.ok(!verifyState(genesis, publicKey, { ...state, owed: state.owed - 1n }, signature), 'another state');
  // A state signature is no request signature (domain tags).
  assert.ok(!sr25519Verify(vectors.header.payload, signature, publicKey));
});

test('the ownership proof is the key signature over POP_ and the owner', () => {
  const publicKey = hexToU8a(vectors.public);
  assert.ok(sr25519Verify(ownershipStatement(owner), hexToU8a(vectors.proof), publicKey));
  assert.ok(!sr25519Verify(owner, hexToU8a(vectors.proof), publicKey), 'over the bare account');
  const bob = hexToU8a('0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48');
  assert.ok(!sr25519Verify(ownershipStatement(bob), hexToU8a(vectors.proof), publicKey), 'for another owner');
});

test('fresh signatures verify too', () => {
  assert.ok(verifyHeader(genesis, signHeader(seed, genesis, fields)));
  assert.ok(verifyState(genesis, publicOf(seed), state, signState(seed, genesis, state)));
});

interface VectorV2 {
  method: string;
  url: string;
  body: string;
  blockHash: string;
  nonce: string;
  audience: string;
  resource: string;
  query: string;
  contentDigest: string;
  payload: string;
  signature: string;
  text: string;
}

async function fieldsV2(vector: VectorV2) {
  const bound = await bindRequest(vector.method, vector.url, stringToU8a(vector.body));
  return {
    account: owner,
    blockHash: hexToU8a(vector.blockHash),
    nonce: BigInt(vector.nonce),
    audience: stringToU8a(vector.audience),
    resource: bound.resource,
    query: bound.query,
    contentDigest: bound.contentDigest,
  };
}

test('the version 2 vectors bind their request: resource, canonical query, body digest', async () => {
  const [get, post] = vectors.headersV2 as VectorV2[];
  assert.equal(u8aToString(hexToU8a(get.resource)), 'GET /orders/17');
  assert.equal(get.query, 'a=~&a=1&b=2');
  // SHA-256 of the empty body.
  assert.equal(get.contentDigest, '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(u8aToString(hexToU8a(post.resource)), 'POST /orders/café');
  assert.equal(post.query, 'note=a+b%2Bc&qty=1');
  for (const vector of vectors.headersV2 as VectorV2[]) {
    const fields = await fieldsV2(vector);
    assert.equal(u8aToHex(fields.resource), vector.resource);
    assert.equal(u8aToString(fields.query), vector.query);
    assert.equal(u8aToHex(fields.contentDigest), vector.contentDigest);
  }
});

test('the version 2 payloads are the vector bytes, laid out as SCALE', async () => {
  for (const vector of vectors.headersV2 as VectorV2[]) {
    const fields = await fieldsV2(vector);
    const payload = requestPayloadV2(genesis, fields);
    assert.equal(u8aToHex(payload), vector.payload);
    assert.deepEqual(payload.slice(0, 16), REQUEST_DOMAIN_V2);
    assert.deepEqual(payload.slice(16, 48), genesis);
    assert.deepEqual(payload.slice(48, 80), owner);
    assert.deepEqual(payload.slice(80, 112), fields.blockHash);
    assert.equal(new DataView(payload.buffer, payload.byteOffset + 112, 8).getBigUint64(0, true), fields.nonce);
    let at = 120;
    for (const bytes of [fields.audience, fields.resource, fields.query]) {
      assert.equal(payload[at], bytes.length << 2, 'a one-byte compact length');
      assert.deepEqual(payload.slice(at + 1, at + 1 + bytes.length), bytes);
      at += 1 + bytes.length;
    }
    assert.deepEqual(payload.slice(at), fields.contentDigest, 'the raw digest last, no length');
    assert.equal(payload.length, at + 32);
  }
});

test('the version 2 vector headers decode to their fields and their signatures verify', async () => {
  for (const vector of vectors.headersV2 as VectorV2[]) {
    const fields = await fieldsV2(vector);
    const header = decodeHeaderV2(vector.text);
    assert.equal(u8aToHex(header.public), vectors.public);
    assert.equal(u8aToHex(header.signature), vector.signature);
    assert.deepEqual({ ...header, public: undefined, signature: undefined }, { ...fields, public: undefined, signature: undefined });
    assert.equal(encodeHeaderV2(header), vector.text);
    assert.ok(verifyHeaderV2(genesis, header));
    assert.ok(!verifyHeaderV2(new Uint8Array(32).fill(9), header), 'another chain');
    assert.ok(!verifyHeaderV2(genesis, { ...header, query: stringToU8a('a=~&b=2') }), 'another query');
    const other = await bindRequest(vector.method, vector.url, stringToU8a(`${vector.body} `));
    assert.ok(!verifyHeaderV2(genesis, { ...header, contentDigest: other.contentDigest }), 'another body');
    assert.ok(!verifyHeaderV2(genesis, { ...header, resource: stringToU8a('DELETE /orders/17') }), 'another method');
    // A version 2 signature is no version 1 signature (domain tags), and the forms do not mix.
    assert.ok(!sr25519Verify(requestPayload(genesis, fields), header.signature, header.public));
    assert.throws(() => decodeHeader(vector.text), /does not start with v1\./);
    assert.throws(() => decodeHeaderV2(vectors.header.text), /does not start with v2\./);
    assert.ok(verifyHeaderV2(genesis, signHeaderV2(seed, genesis, fields)), 'a fresh signature');
  }
});
