import assert from 'node:assert/strict';
import { test } from 'node:test';
import { u8aToString } from '@polkadot/util';

import { describeDuration, parseUnits, resourceOf } from '../../src/format.js';

test('the resource is the method and the decoded path, as the gateway derives it', () => {
  const resource = (method: string, path: string) => u8aToString(resourceOf(method, path));
  assert.equal(resource('get', '/orders/17'), 'GET /orders/17');
  assert.equal(resource('DELETE', '/orders/17?force=1#x'), 'DELETE /orders/17');
  assert.equal(resource('GET', '/caf%C3%A9'), 'GET /café');
  assert.equal(resource('GET', '/café'), 'GET /café');
  assert.equal(resource('GET', '/a%2Fb/%5c/%25'), 'GET /a%2Fb/%5c/%25');
  // The browser resolves dot segments, encoded ones too, before it sends the request.
  assert.equal(resource('GET', '/orders/../admin'), 'GET /admin');
  assert.equal(resource('GET', '/orders/%2e%2e/admin'), 'GET /admin');
  assert.equal(resource('GET', '/orders/%2e%2ex/admin'), 'GET /orders/..x/admin');
  assert.equal(resource('GET', '/a%zz'), 'GET /a%zz');
  // Only the six methods fetch normalizes are upper-cased: `patch` is sent as `patch`.
  assert.equal(resource('patch', '/orders/17'), 'patch /orders/17');
  assert.equal(resource('PATCH', '/orders/17'), 'PATCH /orders/17');
  assert.equal(resource('pUt', '/orders/17'), 'PUT /orders/17');
});

test('amounts are parsed exactly', () => {
  assert.equal(parseUnits('1', 12), 1_000_000_000_000n);
  assert.equal(parseUnits('0.000000000001', 12), 1n);
  assert.equal(parseUnits('1_000.5', 12), 1_000_500_000_000_000n);
  assert.equal(parseUnits('2.', 12), 2_000_000_000_000n);
  assert.throws(() => parseUnits('-1', 12), /not an amount/);
  assert.throws(() => parseUnits('1e3', 12), /not an amount/);
  assert.throws(() => parseUnits('0.0000000000001', 12), /more than 12 decimals/);
});

test('durations read as a person would say them', () => {
  assert.equal(describeDuration(0), 'now');
  assert.equal(describeDuration(40_000), 'in 40 s');
  assert.equal(describeDuration(24 * 3_600_000 - 60_000), 'in 23 h 59 min');
  assert.equal(describeDuration(3 * 24 * 3_600_000), 'in 3 days 0 h');
});
