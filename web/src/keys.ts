// sr25519 session keys made in the browser: the seed comes from the browser's secure random
// source (`crypto.getRandomValues`), the key pair is @polkadot/util-crypto's (schnorrkel's
// expansion of a mini secret, as sp-core's `sr25519::Pair::from_seed`), and every signature is
// over the payloads of `codec.ts`.

import { sr25519PairFromSeed, sr25519Sign, sr25519Verify } from '@polkadot/util-crypto';

import {
  type ChannelState,
  type HeaderFields,
  type HeaderFieldsV2,
  type SignedHeader,
  type SignedHeaderV2,
  ownershipStatement,
  requestPayload,
  requestPayloadV2,
  statePayload,
} from './codec.js';

/** Bytes of a session key's seed (an sr25519 mini secret). */
export const SEED_LEN = 32;

/** A fresh seed from the browser's (or Node's) cryptographically secure random source. */
export function generateSeed(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(SEED_LEN));
}

/** The public key of the session key with `seed`. */
export function publicOf(seed: Uint8Array): Uint8Array {
  return withPair(seed, (pair) => pair.publicKey.slice());
}

/**
 * Runs `use` with the key pair of `seed`, then overwrites the pair's secret key: the expanded
 * secret lives only for one call.
 */
function withPair<T>(seed: Uint8Array, use: (pair: { publicKey: Uint8Array; secretKey: Uint8Array }) => T): T {
  if (seed.length !== SEED_LEN) throw new Error(`a session key seed is ${SEED_LEN} bytes, not ${seed.length}`);
  const pair = sr25519PairFromSeed(seed);
  try {
    return use(pair);
  } finally {
    pair.secretKey.fill(0);
  }
}

/** Signs `message` with the key of `seed`. */
export function sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return withPair(seed, (pair) => sr25519Sign(message, pair));
}

/**
 * The RFC-0048 ownership proof of the key for `owner` (32 account bytes), as `register`
 * takes it: the signature over `POP_ ++ owner`, whose SCALE encoding is the 64 bytes.
 */
export function ownershipProof(seed: Uint8Array, owner: Uint8Array): Uint8Array {
  return sign(seed, ownershipStatement(owner));
}

/** Signs a request header for the chain with `genesis`. */
export function signHeader(seed: Uint8Array, genesis: Uint8Array, fields: HeaderFields): SignedHeader {
  return withPair(seed, (pair) => ({
    ...fields,
    public: pair.publicKey.slice(),
    signature: sr25519Sign(requestPayload(genesis, fields), pair),
  }));
}

/** Signs a version 2 request header (binding the query and the body) for the chain with `genesis`. */
export function signHeaderV2(seed: Uint8Array, genesis: Uint8Array, fields: HeaderFieldsV2): SignedHeaderV2 {
  return withPair(seed, (pair) => ({
    ...fields,
    public: pair.publicKey.slice(),
    signature: sr25519Sign(requestPayloadV2(genesis, fields), pair),
  }));
}

/** Whether a version 2 `header`'s signature verifies for the chain with `genesis`. */
export function verifyHeaderV2(genesis: Uint8Array, header: SignedHeaderV2): boolean {
  return sr25519Verify(requestPayloadV2(genesis, header), header.signature, header.public);
}

/** Signs a channel state for the chain with `genesis`, as `checkpoint` verifies it. */
export function signState(seed: Uint8Array, genesis: Uint8Array, state: ChannelState): Uint8Array {
  return withPair(seed, (pair) => sr25519Sign(statePayload(genesis, pair.publicKey, state), pair));
}

/** Whether `header`'s signature verifies for the chain with `genesis`. */
export function verifyHeader(genesis: Uint8Array, header: SignedHeader): boolean {
  return sr25519Verify(requestPayload(genesis, header), header.signature, header.public);
}

/** Whether `signature` is `publicKey`'s over `state` for the chain with `genesis`. */
export function verifyState(
  genesis: Uint8Array,
  publicKey: Uint8Array,
  state: ChannelState,
  signature: Uint8Array,
): boolean {
  return sr25519Verify(statePayload(genesis, publicKey, state), signature, publicKey);
}

/** A random 64-bit header nonce. */
export function randomNonce(): bigint {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return new DataView(bytes.buffer).getBigUint64(0, true);
}
