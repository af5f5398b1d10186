// A metered call's `x-session-state`: the text form the Rust client's `StateHeader` parses
// (`v1.` then base64url of SCALE `(ChannelState<u128>, SessionSignature)`), signed in the
// signing worker for the chain it was pinned to; config.json's price and a 402's expected
// state, as the demo page reads them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hexToU8a, stringToU8a, u8aToHex } from '@polkadot/util';

import { STATE_HEADER, base64UrlDecode, encodeStateHeader } from '../../src/codec.js';
import { verifyState } from '../../src/keys.js';
import { expectedState, parseConfig } from '../../src/page.js';
import { SignerCore } from '../../src/signer-core.js';

const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const genesis = new Uint8Array(32).fill(1);
const GENESIS_HEX = `0x${'01'.repeat(32)}`;

test('the state header is v1. and base64url of SCALE (nonce, owed, margin, Sr25519 signature)', () => {
  const signature = new Uint8Array(64).fill(0xaa);
  const text = encodeStateHeader({ nonce: 7n, owed: 2n ** 128n - 1n, margin: 3n }, signature);
  assert.equal(STATE_HEADER, 'x-session-state');
  assert.ok(text.startsWith('v1.'));
  const bytes = base64UrlDecode(text.slice(3));
  assert.equal(bytes.length, 8 + 16 + 16 + 1 + 64);
  assert.equal(u8aToHex(bytes.slice(0, 8)), '0x0700000000000000', 'nonce, u64 little-endian');
  assert.equal(u8aToHex(bytes.slice(8, 24)), `0x${'ff'.repeat(16)}`, 'owed, u128');
  assert.equal(u8aToHex(bytes.slice(24, 40)), `0x03${'00'.repeat(15)}`, 'margin, u128');
  assert.equal(bytes[40], 0, 'the Sr25519 variant');
  assert.deepEqual(bytes.slice(41), signature);
  assert.throws(() => encodeStateHeader({ nonce: 1n, owed: 1n, margin: 0n }, new Uint8Array(63)), /64 bytes, not 63/);
});

test('the signer signs a state with the stored key for its pinned chain', async () => {
  const core = new SignerCore();
  await core.configure(genesis, stringToU8a('api.example'), 5);
  await core.createVault('a long passphrase');
  const made = await core.newKey(ALICE);
  const state = { nonce: 1n, owed: 5n, margin: 0n };
  const signature = await core.signState({ publicKey: made.publicKey, owner: ALICE, sealed: made.sealed, state });
  assert.ok(verifyState(genesis, hexToU8a(made.publicKey), state, signature));
  assert.ok(!verifyState(new Uint8Array(32).fill(2), hexToU8a(made.publicKey), state, signature), 'another chain');
  await assert.rejects(
    core.signState({ publicKey: made.publicKey, owner: ALICE, sealed: made.sealed, state: { ...state, owed: -1n } }),
    /no negative field/,
  );
  core.lock();
  await assert.rejects(core.signState({ publicKey: made.publicKey, owner: ALICE, sealed: made.sealed, state }), /Unlock the keystore/);
});

test('config.json may announce a price; a 402 names the expected state', () => {
  const base = { node: 'ws://127.0.0.1:9944', audience: 'api', genesis: GENESIS_HEX };
  assert.equal(parseConfig(base).price, undefined);
  assert.equal(parseConfig({ ...base, price: '12' }).price, 12n);
  assert.throws(() => parseConfig({ ...base, price: 12 }), /price must be a decimal string, not 12/);
  assert.throws(() => parseConfig({ ...base, price: '-1' }), /price must be a decimal string/);
  assert.deepEqual(expectedState('{"reason":"MissingState","expectedNonce":4,"minOwed":"12"}'), { nonce: 4n, minOwed: 12n });
  assert.equal(expectedState('{"reason":"KeyRevoked"}'), undefined);
  assert.equal(expectedState('not json'), undefined);
});
