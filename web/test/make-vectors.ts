// Writes test/vectors.json: a fixed session key, a request header, a channel state and an
// ownership proof signed by this package's code. The widget's unit tests check that the code
// still makes exactly these bytes and that the signatures verify; the Rust client's test
// (`client/src/web_vectors.rs`) checks the same file against the runtime's types and
// verification. sr25519 signatures are randomized: regenerating changes the signatures only.
//
//   npm run vectors
import { writeFileSync } from 'node:fs';
import { hexToU8a, stringToU8a, u8aToHex } from '@polkadot/util';

import { encodeHeader, requestPayload, statePayload } from '../src/codec.js';
import { ownershipProof, publicOf, signHeader, signState } from '../src/keys.js';
import { VECTOR_INPUT } from './unit/vector-input.js';

const seed = hexToU8a(VECTOR_INPUT.seed);
const genesis = hexToU8a(VECTOR_INPUT.genesis);
const owner = hexToU8a(VECTOR_INPUT.owner);
const fields = {
  account: owner,
  blockHash: hexToU8a(VECTOR_INPUT.header.blockHash),
  nonce: BigInt(VECTOR_INPUT.header.nonce),
  audience: stringToU8a(VECTOR_INPUT.header.audience),
  resource: stringToU8a(VECTOR_INPUT.header.resource),
};
const state = {
  nonce: BigInt(VECTOR_INPUT.state.nonce),
  owed: BigInt(VECTOR_INPUT.state.owed),
  margin: BigInt(VECTOR_INPUT.state.margin),
};
const publicKey = publicOf(seed);
const header = signHeader(seed, genesis, fields);
const vectors = {
  ...VECTOR_INPUT,
  public: u8aToHex(publicKey),
  header: {
    ...VECTOR_INPUT.header,
    payload: u8aToHex(requestPayload(genesis, fields)),
    signature: u8aToHex(header.signature),
    text: encodeHeader(header),
  },
  state: {
    ...VECTOR_INPUT.state,
    payload: u8aToHex(statePayload(genesis, publicKey, state)),
    signature: u8aToHex(signState(seed, genesis, state)),
  },
  proof: u8aToHex(ownershipProof(seed, owner)),
};
const path = new URL('../test/vectors.json', import.meta.url);
writeFileSync(path, `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`wrote ${path.pathname}`);
