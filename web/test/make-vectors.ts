// Writes test/vectors.json: a fixed session key, request headers (version 1, and version 2
// binding a query and a body), a channel state and an ownership proof signed by this package's
// code. The widget's unit tests check that the code still makes exactly these bytes and that the signatures verify; the Rust client's test
// (`client/src/web_vectors.rs`) checks the same file against the runtime's types and
// verification. sr25519 signatures are randomized: regenerating changes the signatures only.
//
//   npm run vectors
import { writeFileSync } from 'node:fs';
import { hexToU8a, stringToU8a, u8aToHex, u8aToString } from '@polkadot/util';

import { encodeHeader, encodeHeaderV2, requestPayload, requestPayloadV2, statePayload } from '../src/codec.js';
import { ownershipProof, publicOf, signHeader, signHeaderV2, signState } from '../src/keys.js';
import { bindRequest } from '../src/request.js';
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
const headersV2 = [];
for (const input of VECTOR_INPUT.headersV2) {
  const bound = await bindRequest(input.method, input.url, stringToU8a(input.body));
  const fieldsV2 = {
    account: owner,
    blockHash: hexToU8a(input.blockHash),
    nonce: BigInt(input.nonce),
    audience: stringToU8a(input.audience),
    resource: bound.resource,
    query: bound.query,
    contentDigest: bound.contentDigest,
  };
  const signed = signHeaderV2(seed, genesis, fieldsV2);
  headersV2.push({
    ...input,
    resource: u8aToHex(bound.resource),
    query: u8aToString(bound.query),
    contentDigest: u8aToHex(bound.contentDigest),
    payload: u8aToHex(requestPayloadV2(genesis, fieldsV2)),
    signature: u8aToHex(signed.signature),
    text: encodeHeaderV2(signed),
  });
}
const vectors = {
  ...VECTOR_INPUT,
  headersV2,
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
