// The check that what Polkadot-JS encoded is the call the widget means, read with the metadata
// whose hash the transaction signs (`CheckMetadataHash`). That hash covers the runtime's call
// type, but Polkadot-JS encodes from the metadata's pallet list (its indices and call types),
// which the hash leaves out: a node could serve a pallet list that turns `register` into a
// transfer and keep the hash right. So the encoded call is decoded with the hashed call type,
// and must name the expected pallet and call, with argument bytes the widget encoded itself.

import { getDynamicBuilder, getLookupFn } from '@polkadot-api/metadata-builders';
import { decAnyMetadata, unifyMetadata } from '@polkadot-api/substrate-bindings';
import { compactToU8a, u8aConcat, u8aEq } from '@polkadot/util';

/** The call the widget means: pallet and call names, and the SCALE encoding of its arguments. */
export interface ExpectedCall {
  pallet: string;
  call: string;
  args: Uint8Array;
}

/** Reads an encoded call's pallet and call names with a metadata's own call type. */
export type CallNames = (encoded: Uint8Array) => { pallet: string; call: string };

/** The call-name reader of `metadata` (SCALE-encoded, version 15 or 16). */
export function callNamesOf(metadata: Uint8Array): CallNames {
  const lookup = getLookupFn(unifyMetadata(decAnyMetadata(metadata)));
  if (lookup.call === null) throw new Error('the metadata names no call type');
  const codec = getDynamicBuilder(lookup).buildDefinition(lookup.call);
  return (encoded) => {
    const decoded = codec.dec(encoded) as { type: string; value: { type: string } };
    return { pallet: decoded.type, call: decoded.value.type };
  };
}

/**
 * Throws unless `encoded` is `expected` as `names` reads it: the pallet and call it names, then
 * exactly the expected argument bytes (after the two index bytes).
 */
export function checkCall(names: CallNames, encoded: Uint8Array, expected: ExpectedCall): void {
  let named: { pallet: string; call: string };
  try {
    named = names(encoded);
  } catch {
    named = { pallet: '?', call: '?' };
  }
  const what = `${expected.pallet}.${expected.call}`;
  if (named.pallet !== expected.pallet || named.call !== expected.call) {
    throw new Error(`the node's metadata encodes ${what} as ${named.pallet}.${named.call}`);
  }
  if (!u8aEq(encoded.subarray(2), expected.args)) {
    throw new Error(`the node's metadata encodes the arguments of ${what} otherwise than they are`);
  }
}

/** `SessionPublic::Sr25519(public)`. */
function sr25519Public(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw new Error('an sr25519 public key is 32 bytes');
  return u8aConcat([0], publicKey);
}

/** `Option<u32>` (a block count). */
function optionU32(value: number | null): Uint8Array {
  if (value === null) return new Uint8Array([0]);
  const bytes = new Uint8Array(5);
  bytes[0] = 1;
  new DataView(bytes.buffer).setUint32(1, value, true);
  return bytes;
}

/** A `Vec<u8>` (bounded or not): compact length, then the bytes. */
function bytesOf(value: Uint8Array): Uint8Array {
  return u8aConcat(compactToU8a(value.length), value);
}

/** The expected `Adjudicator.register` (an sr25519 key, the counterpart as `MultiAddress::Id`). */
export function expectedRegister(args: {
  publicKey: Uint8Array;
  proof: Uint8Array;
  counterpart: Uint8Array;
  duration: number | null;
  spendingLimit: bigint;
  collateral: bigint;
  description: Uint8Array;
  scope: Uint8Array[];
}): ExpectedCall {
  if (args.counterpart.length !== 32) throw new Error('an account is 32 bytes');
  return {
    pallet: 'Adjudicator',
    call: 'register',
    args: u8aConcat(
      sr25519Public(args.publicKey),
      bytesOf(args.proof),
      u8aConcat([0], args.counterpart),
      optionU32(args.duration),
      compactToU8a(args.spendingLimit),
      compactToU8a(args.collateral),
      bytesOf(args.description),
      compactToU8a(args.scope.length),
      ...args.scope.map(bytesOf),
    ),
  };
}

/** The expected `Adjudicator.renew`. */
export function expectedRenew(publicKey: Uint8Array, duration: number | null): ExpectedCall {
  return { pallet: 'Adjudicator', call: 'renew', args: u8aConcat(sr25519Public(publicKey), optionU32(duration)) };
}

/** The expected `Adjudicator.revoke`. */
export function expectedRevoke(publicKey: Uint8Array): ExpectedCall {
  return { pallet: 'Adjudicator', call: 'revoke', args: sr25519Public(publicKey) };
}
