// The keystore's sealing, in Node's WebCrypto (the same API as the browser's); the IndexedDB
// side runs in the browser test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringToU8a, u8aToHex } from '@polkadot/util';

import {
  MIN_PBKDF2_ITERATIONS,
  WrongPassphrase,
  deriveKey,
  newVault,
  open,
  recordAad,
  seal,
  unlockVault,
} from '../../src/keystore.js';

test('the right passphrase opens the vault and a wrong one is refused by name', async () => {
  const { record, key } = await newVault('correct horse battery');
  assert.equal(record.iterations, 600_000);
  await unlockVault(record, 'correct horse battery');
  await assert.rejects(unlockVault(record, 'correct horse batterz'), WrongPassphrase);
  const secret = stringToU8a('a seed of thirty-two bytes, here');
  const sealed = await seal(key, secret, recordAad('0x01', 'owner'));
  assert.ok(!u8aToHex(sealed.ciphertext).includes(u8aToHex(secret).slice(2, 20)), 'no plaintext in the ciphertext');
  const other = await unlockVault(record, 'correct horse battery');
  assert.deepEqual(await open(other, sealed, recordAad('0x01', 'owner')), secret);
});

test('a sealed seed opens only in its own record, untampered', async () => {
  const { key } = await newVault('passphrase one');
  const secret = new Uint8Array(32).fill(5);
  const sealed = await seal(key, secret, recordAad('0xaa', 'alice'));
  assert.equal(await open(key, sealed, recordAad('0xbb', 'alice')), undefined, 'moved to another key');
  assert.equal(await open(key, sealed, recordAad('0xaa', 'bob')), undefined, 'moved to another owner');
  const tampered = { ...sealed, ciphertext: sealed.ciphertext.map((byte, i) => (i === 3 ? byte ^ 1 : byte)) };
  assert.equal(await open(key, tampered, recordAad('0xaa', 'alice')), undefined, 'a flipped bit');
  const { key: otherKey } = await newVault('passphrase two');
  assert.equal(await open(otherKey, sealed, recordAad('0xaa', 'alice')), undefined, 'another vault');
});

test('weak or unknown vault parameters are refused', async () => {
  await assert.rejects(deriveKey('x', new Uint8Array(16), MIN_PBKDF2_ITERATIONS - 1), /fewer than 600000/);
  const { record } = await newVault('passphrase');
  await assert.rejects(unlockVault({ ...record, version: 2 as 1 }, 'passphrase'), /newer widget/);
});
