// The demo page's configuration, the key states read from sessionKeys_keyState, and durations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { u8aToString } from '@polkadot/util';

import { keyStateFromJson } from '../../src/key-state.js';
import { durationToBlocks } from '../../src/format.js';
import { describeAnswer, parseConfig } from '../../src/page.js';

const GENESIS = `0x${'ab'.repeat(32)}`;

test('config.json is taken whole or refused by field', () => {
  assert.deepEqual(parseConfig({ node: 'ws://127.0.0.1:9944', audience: 'api', genesis: GENESIS, extra: 1 }), {
    node: 'ws://127.0.0.1:9944',
    audience: 'api',
    genesis: GENESIS,
  });
  assert.throws(() => parseConfig({ audience: 'api', genesis: GENESIS }), /node must be a ws:\/\/ or wss:\/\/ URL, not undefined/);
  assert.throws(() => parseConfig({ node: 'http://x', audience: 'api', genesis: GENESIS }), /node must be/);
  assert.throws(() => parseConfig({ node: 'wss://x', audience: '', genesis: GENESIS }), /audience must be a non-empty string/);
  assert.throws(() => parseConfig({ node: 'wss://x', audience: 'api' }), /genesis must be 0x and 64/);
  assert.throws(() => parseConfig({ node: 'wss://x', audience: 'api', genesis: GENESIS.toUpperCase() }), /genesis must be/);
  assert.throws(() => parseConfig(null), /node must be/);
});

test('an answer is said by status and reason', () => {
  assert.equal(describeAnswer(200, 'OK', '{"hello":"x"}'), '200 OK');
  assert.equal(
    describeAnswer(401, 'Unauthorized', '{"error":"the key was revoked","reason":"KeyRevoked"}'),
    '401 Unauthorized: KeyRevoked (the key was revoked)',
  );
  assert.equal(describeAnswer(401, 'Unauthorized', '{"reason":{"KeyEnded":"Revoked"}}'), '401 Unauthorized: {"KeyEnded":"Revoked"}');
  assert.equal(describeAnswer(413, 'Payload Too Large', '{"error":"too big"}'), '413 Payload Too Large: too big');
  assert.equal(describeAnswer(502, 'Bad Gateway', 'upstream down'), '502 Bad Gateway');
});

const registered = {
  owner: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY',
  counterpart: '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty',
  delegate: null,
  registeredAt: 10,
  expiresAt: 100,
  settlesAt: 110,
  revoked: false,
  duration: 90,
  spendingLimit: '10000000000000',
  pendingLimit: { limit: '2000', appliesAt: 50 },
  collateral: '1000000000000',
  deposit: '5',
  description: '0x7b7d',
  scope: ['0x474554202f2a', '0x504f5354202f2a'],
  state: { nonce: 0, owed: '3000', margin: '0' },
};

test('a registered key shows its terms, the due limit folded in', () => {
  const before = keyStateFromJson({ registered }, 40);
  assert.equal(before.phase, 'live');
  assert.equal(before.counterpart, registered.counterpart);
  assert.equal(before.spendingLimit, 10_000_000_000_000n);
  assert.deepEqual(before.pendingLimit, { limit: 2000n, appliesAt: 50 });
  assert.deepEqual(before.scope?.map((item) => u8aToString(item)), ['GET /*', 'POST /*']);
  // Due: the lower limit applies, but never below what is owed (the pallet's limit_at).
  const after = keyStateFromJson({ registered }, 60);
  assert.equal(after.spendingLimit, 3000n);
  assert.equal(after.pendingLimit, undefined);
  assert.equal(keyStateFromJson({ registered }, 100).phase, 'closing');
  assert.equal(keyStateFromJson({ registered: { ...registered, revoked: true } }, 100).reason, 'Revoked');
});

test('unknown and retired keys, and malformed answers named', () => {
  assert.deepEqual(keyStateFromJson('unknown', 1), { phase: 'unknown', revoked: false });
  const retired = keyStateFromJson(
    { retired: { owner: 'x', counterpart: 'y', delegate: null, registeredAt: 1, endedAt: 9, reason: 'Revoked', nonce: 0, owed: '0', paid: '0' } },
    20,
  );
  assert.equal(retired.phase, 'ended');
  assert.equal(retired.revoked, true);
  assert.throws(() => keyStateFromJson({ registered: { ...registered, spendingLimit: 5 } }, 1), /spendingLimit is not a decimal amount/);
  assert.throws(() => keyStateFromJson({ registered: { ...registered, scope: ['zz'] } }, 1), /scope\[0\] is not hex/);
  assert.throws(() => keyStateFromJson({ other: 1 } as never, 1), /not a key record/);
});

test('durations are entered in minutes, hours or days', () => {
  assert.equal(durationToBlocks('30', 'minutes', 6000, 100_000), 300);
  assert.equal(durationToBlocks('24', 'hours', 6000, 100_000), 14_400);
  assert.equal(durationToBlocks('1.5', 'days', 6000, 100_000), 21_600);
  assert.throws(() => durationToBlocks('2', 'days', 6000, 10_000), /2 days is 28800 blocks; the chain allows at most 10000 \(16 h 40 min\)/);
  assert.throws(() => durationToBlocks('1', 'weeks', 6000, 10_000), /"weeks" is not a duration unit/);
  assert.throws(() => durationToBlocks('', 'hours', 6000, 10_000), /positive number of hours, not ""/);
  assert.throws(() => durationToBlocks('-1', 'hours', 6000, 10_000), /positive number/);
  assert.throws(() => durationToBlocks('0.01', 'minutes', 6000, 10_000), /shorter than one block \(6 s\)/);
});
