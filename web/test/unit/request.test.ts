// The request binding of version 2 headers, against the cases of the Rust rule
// (primitives/src/query.rs and client/src/request.rs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringToU8a, u8aToHex, u8aToString } from '@polkadot/util';

import { MalformedQuery, bindRequest, canonicalQuery, contentDigest, contentDigestHeader } from '../../src/request.js';

const canonical = (raw: string) => u8aToString(canonicalQuery(raw));

test('parameters are ordered by name and repeated names keep their order', () => {
  assert.equal(canonical('b=2&a=1'), 'a=1&b=2');
  assert.equal(canonical('a=2&b=0&a=1'), 'a=2&a=1&b=0');
  assert.equal(canonical('a=1&a=2'), 'a=1&a=2');
  assert.notEqual(canonical('a=1&a=2'), canonical('a=2&a=1'));
  assert.equal(canonical('ab=1&a=2'), 'a=2&ab=1');
  // Byte order, not locale order: upper case before lower case.
  assert.equal(canonical('b=1&B=2'), 'B=2&b=1');
});

test('escapes are normalized and meaningful differences kept', () => {
  assert.equal(canonical('%61=%7e'), 'a=~');
  assert.equal(canonical('q=%2f%3a'), 'q=%2F%3A');
  assert.equal(canonical('q=a b'), 'q=a%20b');
  assert.equal(canonical('q=a+b'), 'q=a+b');
  assert.equal(canonical('q=a%2Bb'), 'q=a%2Bb');
  assert.equal(canonical('q=a=b'), 'q=a=b');
  assert.equal(canonical('q=%26'), 'q=%26');
  assert.notEqual(canonical('q=%26x'), canonical('q=&x'));
  assert.equal(canonical('q=caf\u00e9'), 'q=caf%C3%A9');
  assert.equal(canonical('q="<>'), 'q=%22%3C%3E');
  assert.equal(canonical("q=!$'()*,;:@/?"), "q=!$'()*,;:@/?");
});

test('flags, empty values and empty parameters', () => {
  assert.equal(canonical(''), '');
  assert.equal(canonical('&&'), '');
  assert.equal(canonical('a&&b='), 'a&b=');
  assert.notEqual(canonical('a'), canonical('a='));
  assert.equal(canonical('=x'), '=x');
});

test('a bad escape has no canonical form, and says so', () => {
  for (const raw of ['%', 'a=%', 'a=%4', 'a=%zz', '%g1=1', 'a=100%']) {
    assert.throws(() => canonicalQuery(raw), MalformedQuery, raw);
  }
  assert.throws(() => canonicalQuery('a=100%'), /"a=100%" has a % not followed by two hex digits/);
});

test('the canonical form is a fixed point', () => {
  for (const raw of ['b=2&a=1', '%61=%7e', 'q=a b', 'a&&b=', 'q=%2f', 'x=1&x=0&a', '']) {
    const once = canonicalQuery(raw);
    assert.deepEqual(canonicalQuery(once), once, raw);
  }
});

test('the body digest is SHA-256, the empty body included', async () => {
  const empty = await contentDigest(new Uint8Array());
  assert.equal(u8aToHex(empty), '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(contentDigestHeader(empty), 'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:');
  assert.equal(
    u8aToHex(await contentDigest(stringToU8a('abc'))),
    '0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
});

test('a request binds what the browser sends: resolved path, its query, its body', async () => {
  const bound = await bindRequest('post', '/orders/../orders/17?b=2&a=%7e#frag', stringToU8a('{"qty":1}'));
  assert.equal(u8aToString(bound.resource), 'POST /orders/17');
  assert.equal(u8aToString(bound.query), 'a=~&b=2');
  assert.equal(bound.url.pathname + bound.url.search, '/orders/17?b=2&a=%7e');
  // The URL parser escapes a raw space in the query before it is sent; the binding follows it.
  assert.equal(u8aToString((await bindRequest('GET', '/x?q=a b')).query), 'q=a%20b');
  assert.equal(u8aToString((await bindRequest('GET', '/x?')).query), '');
  await assert.rejects(bindRequest('GET', '/x?a=%zz'), MalformedQuery);
  await assert.rejects(bindRequest('GET /', '/x'), /not an HTTP method/);
});
