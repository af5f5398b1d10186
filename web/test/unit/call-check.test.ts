import assert from 'node:assert/strict';
import { test } from 'node:test';
import { u8aConcat } from '@polkadot/util';

import { type CallNames, checkCall, expectedRegister, expectedRenew, expectedRevoke } from '../../src/call-check.js';

const key = new Uint8Array(32).fill(7);
const bob = new Uint8Array(32).fill(2);

test('the arguments are SCALE as the pallet declares them', () => {
  assert.deepEqual(expectedRevoke(key).args, u8aConcat([0], key));
  assert.deepEqual(expectedRenew(key, null).args, u8aConcat([0], key, [0]));
  assert.deepEqual(expectedRenew(key, 0x01020304).args, u8aConcat([0], key, [1, 4, 3, 2, 1]));
  const register = expectedRegister({
    publicKey: key,
    proof: new Uint8Array([9, 9]),
    counterpart: bob,
    duration: 100,
    spendingLimit: 1n,
    collateral: 64n,
    description: new Uint8Array([5]),
    scope: [new Uint8Array([1, 2]), new Uint8Array()],
  });
  assert.deepEqual(
    register.args,
    u8aConcat(
      [0], key, // SessionPublic::Sr25519
      [2 << 2, 9, 9], // the proof, length-prefixed
      [0], bob, // MultiAddress::Id
      [1, 100, 0, 0, 0], // Some(100u32)
      [1 << 2], // Compact(1)
      [1, 1], // Compact(64): two-byte mode
      [1 << 2, 5], // the description
      [2 << 2, 2 << 2, 1, 2, 0], // the scope: two items
    ),
  );
  assert.deepEqual([register.pallet, register.call], ['Adjudicator', 'register']);
  assert.throws(() => expectedRevoke(new Uint8Array(33)), /32 bytes/);
});

test('a call is refused unless the hashed metadata reads it as the one meant, with its bytes', () => {
  const expected = expectedRevoke(key);
  const encoded = u8aConcat([8, 2], expected.args);
  const reads = (pallet: string, call: string): CallNames => () => ({ pallet, call });
  checkCall(reads('Adjudicator', 'revoke'), encoded, expected);
  assert.throws(
    () => checkCall(reads('Balances', 'transfer_keep_alive'), encoded, expected),
    /encodes Adjudicator\.revoke as Balances\.transfer_keep_alive/,
  );
  assert.throws(() => checkCall(reads('Adjudicator', 'revoke_all'), encoded, expected), /as Adjudicator\.revoke_all/);
  const unreadable: CallNames = () => {
    throw new Error('no such variant');
  };
  assert.throws(() => checkCall(unreadable, encoded, expected), /as \?\.\?/);
  const otherKey = u8aConcat([8, 2], expectedRevoke(bob).args);
  assert.throws(() => checkCall(reads('Adjudicator', 'revoke'), otherKey, expected), /arguments of Adjudicator\.revoke/);
  assert.throws(() => checkCall(reads('Adjudicator', 'revoke'), u8aConcat(encoded, [0]), expected), /arguments/);
});
