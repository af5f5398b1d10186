// The inputs of the fixed vector (test/vectors.json); see test/make-vectors.ts.
export const VECTOR_INPUT = {
  comment:
    'Made by web/test/make-vectors.ts (npm run vectors); checked by web/test/unit/vectors.test.ts and client/src/web_vectors.rs.',
  seed: '0x5a6f1e3c0b8d2f4a7c9e1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f1a',
  genesis: '0x0101010101010101010101010101010101010101010101010101010101010101',
  // //Alice's account.
  owner: '0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d',
  header: {
    blockHash: '0x0202020202020202020202020202020202020202020202020202020202020202',
    nonce: '18446744073709551615',
    audience: 'api.example',
    resource: 'GET /orders/17',
  },
  // Version 2 headers: each binds its request's method and path, canonical query and body.
  headersV2: [
    {
      // The query needs normalizing: `%7e` is `~`, and `a` sorts first, its two values kept in order.
      method: 'GET',
      url: '/orders/17?b=2&a=%7e&a=1',
      body: '',
      blockHash: '0x0303030303030303030303030303030303030303030303030303030303030303',
      nonce: '1',
      audience: 'api.example',
    },
    {
      method: 'POST',
      url: '/orders/caf%C3%A9?qty=1&note=a+b%2Bc',
      body: '{"qty":1}',
      blockHash: '0x0404040404040404040404040404040404040404040404040404040404040404',
      nonce: '18446744073709551615',
      audience: 'api.example',
    },
  ],
  state: {
    nonce: '7',
    owed: '340282366920938463463374607431768211455',
    margin: '250',
  },
};
