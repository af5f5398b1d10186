// The signing worker's core in Node: keys are made and opened only inside it, it signs version
// 2 headers for the chain and audience it was pinned to, and it forgets the vault key when
// locked or idle.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringToU8a, u8aToHex } from '@polkadot/util';
import { decodeAddress, sr25519Verify } from '@polkadot/util-crypto';

import { ownershipStatement } from '../../src/codec.js';
import { verifyHeaderV2 } from '../../src/keys.js';
import { WrongPassphrase } from '../../src/keystore.js';
import { bindRequest } from '../../src/request.js';
import { SignerCore } from '../../src/signer-core.js';

const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const BOB = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';
const genesis = new Uint8Array(32).fill(1);

async function request(core: SignerCore, made: { publicKey: string; sealed: { iv: Uint8Array; ciphertext: Uint8Array } }, owner = ALICE) {
  const bound = await bindRequest('POST', '/orders/17?b=2&a=1', stringToU8a('{"qty":1}'));
  return core.signRequest({
    publicKey: made.publicKey,
    owner,
    sealed: made.sealed,
    blockHash: new Uint8Array(32).fill(2),
    nonce: 5n,
    resource: bound.resource,
    query: bound.query,
    contentDigest: bound.contentDigest,
  });
}

test('a key made in the signer proves its owner and signs headers pinned to the chain and audience', async () => {
  const core = new SignerCore();
  await core.configure(genesis, stringToU8a('api.example'), 5);
  const vault = await core.createVault('a long passphrase');
  assert.ok(core.unlocked);
  const made = await core.newKey(ALICE);
  assert.equal(made.sealed.ciphertext.length, 32 + 16, 'a sealed seed and its tag');
  assert.ok(sr25519Verify(ownershipStatement(decodeAddress(ALICE)), made.proof, made.publicKey));
  const header = await request(core, made);
  assert.equal(u8aToHex(header.public), made.publicKey);
  assert.deepEqual(header.account, decodeAddress(ALICE), 'signed as the record owner');
  assert.deepEqual(header.audience, stringToU8a('api.example'), 'the pinned audience');
  assert.ok(verifyHeaderV2(genesis, header));
  assert.ok(!verifyHeaderV2(new Uint8Array(32).fill(3), header), 'only for the pinned chain');

  // Pinned once: another chain or audience is refused.
  await assert.rejects(core.configure(new Uint8Array(32).fill(3), stringToU8a('api.example'), 5), /pinned to another chain/);
  await assert.rejects(core.configure(genesis, stringToU8a('api.other'), 5), /pinned to another chain or audience/);
  await core.configure(genesis, stringToU8a('api.example'), 5);

  // A record moved to another owner does not open.
  await assert.rejects(request(core, made, BOB), /damaged or was tampered with/);

  // Locked, nothing opens; unlocked again with the passphrase only.
  core.lock();
  assert.ok(!core.unlocked);
  await assert.rejects(request(core, made), /Unlock the keystore/);
  await assert.rejects(core.newKey(ALICE), /Unlock the keystore/);
  await assert.rejects(core.unlock(vault, 'not the passphrase'), WrongPassphrase);
  await core.unlock(vault, 'a long passphrase');
  assert.ok(verifyHeaderV2(genesis, await request(core, made)));
  core.lock();
});

test('an unconfigured signer signs nothing, and bad settings are named', async () => {
  const core = new SignerCore();
  await core.createVault('a long passphrase');
  const made = await core.newKey(ALICE);
  await assert.rejects(request(core, made), /not configured with a chain and an audience/);
  await assert.rejects(core.configure(new Uint8Array(31), stringToU8a('api'), 5), /32 bytes, not 31/);
  await assert.rejects(core.configure(genesis, new Uint8Array(), 5), /audience is empty/);
  await assert.rejects(core.configure(genesis, stringToU8a('api'), 0), /positive number of minutes/);
  await assert.rejects(core.createVault('short'), /at least 8 characters/);
  core.lock();
});

test('the signer locks itself after the idle time, and user input starts it over', async () => {
  const locks: string[] = [];
  const core = new SignerCore((reason) => locks.push(reason));
  // 0.002 minutes: 120 ms.
  await core.configure(genesis, stringToU8a('api.example'), 0.002);
  await core.createVault('a long passphrase');
  const made = await core.newKey(ALICE);
  await new Promise((resolve) => setTimeout(resolve, 80));
  core.touch();
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.ok(core.unlocked, 'touched 80 ms ago: still open');
  // Signing is no user input: it does not keep the keystore open.
  await request(core, made);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.ok(!core.unlocked, 'idle for 160 ms: locked');
  assert.deepEqual(locks, ['idle']);
  await assert.rejects(request(core, made), /Unlock the keystore/);
});
