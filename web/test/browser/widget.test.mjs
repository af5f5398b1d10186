// The widget in a real browser (headless Debian Chromium) against the dev node and the gateway:
// the page under the gateway's Content-Security-Policy (no violation), configured from
// config.json only (`?node=` ignored), create and register a key (its seed drawn in the signing
// worker, never in the page), call the API through the gateway with version 2 headers (query and
// body bound), reload and unlock (a wrong passphrase refused, IndexedDB holding no plaintext
// secret), re-create (the new key live before the old one is revoked), revoke (the next call
// refused as revoked), forget; a node that doctors the metadata Polkadot-JS encodes with gets
// nothing signed through, and after a runtime upgrade the widget asks to reconnect rather than
// sign with metadata it cannot hash.
//
//   npm run test:browser      (after `cargo build --workspace`)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { createServer } from 'node:net';
import { u8aToHex, u8aToString } from '@polkadot/util';
import { decodeAddress, sr25519PairFromSeed } from '@polkadot/util-crypto';

import { freePort, startBrowser, startGateway, startMetadataDoctor, startNode } from './harness.mjs';

const AUDIENCE = 'widget-test-api';
const PASSPHRASE = 'a long passphrase for the test';
const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
/** Blocks are 3 s; a registration is final within a few. */
const CHAIN_TIMEOUT_MS = 90_000;

let node;
let gateway;
let browser;
let page;
let api;
/** Every 32-byte draw from the signing worker's secure random source (one is the seed). */
const workerSeeds = [];
/** CSP violations and console errors reported by the page or its worker. */
const violations = [];
/** The `x-session-auth` values the page sent. */
const sentHeaders = [];
/** Connections made to a decoy "node" a `?node=` link names. */
let decoy;
let decoyConnections = 0;

before(async () => {
  node = await startNode();
  gateway = await startGateway(node.url, AUDIENCE);
  browser = await startBrowser();
  api = await ApiPromise.create({ provider: new WsProvider(node.url), noInitWarn: true });
  const decoyPort = await freePort();
  decoy = createServer((socket) => {
    decoyConnections += 1;
    socket.destroy();
  });
  await new Promise((resolve) => decoy.listen(decoyPort, '127.0.0.1', resolve));
  page = await browser.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content.Security.Policy|Refused to/i.test(message.text())) violations.push(`console: ${message.text()}`);
  });
  page.on('request', (request) => {
    const header = request.headers()['x-session-auth'];
    if (header) sentHeaders.push({ url: request.url(), method: request.method(), header });
  });
  // The signing worker draws the seeds: record its 32-byte draws, and its CSP violations.
  page.on('workercreated', (worker) => {
    worker.on('console', (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) violations.push(`worker console: ${message.text()}`);
    });
    worker
      .evaluate(() => {
        const original = crypto.getRandomValues.bind(crypto);
        self.drawnSeeds = [];
        crypto.getRandomValues = (array) => {
          const filled = original(array);
          if (array.byteLength === 32) self.drawnSeeds.push(Array.from(new Uint8Array(array.buffer, array.byteOffset, 32)));
          return filled;
        };
        self.addEventListener('securitypolicyviolation', (event) => {
          console.error(`Content Security Policy violation in the worker: ${event.violatedDirective} ${event.blockedURI}`);
        });
      })
      .catch((error) => console.error('cannot hook the worker:', error.message));
    page.workerHandle = worker;
  });
  // Record every 32-byte draw from the page's secure random source: one of them is the
  // session key's seed, which the test then looks for in IndexedDB.
  await page.evaluateOnNewDocument(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI} (${event.sourceFile}:${event.lineNumber})`);
    });
    const original = crypto.getRandomValues.bind(crypto);
    window.drawnSeeds = [];
    crypto.getRandomValues = (array) => {
      const filled = original(array);
      if (array.byteLength === 32) {
        window.drawnSeeds.push(Array.from(new Uint8Array(array.buffer, array.byteOffset, 32)));
      }
      return filled;
    };
  });
});

after(async () => {
  await new Promise((resolve) => (decoy ? decoy.close(resolve) : resolve()));
  await api?.disconnect();
  await browser?.close();
  await gateway?.stop();
  await node?.stop();
});

/** Every seed the signing worker drew so far. */
async function drawnInWorker() {
  const seeds = await page.workerHandle.evaluate(() => self.drawnSeeds);
  workerSeeds.splice(0, workerSeeds.length, ...seeds);
  return seeds;
}

async function assertNoViolation() {
  const reported = await page.evaluate(() => window.cspViolations);
  assert.deepEqual([...reported, ...violations], [], 'no Content-Security-Policy violation');
}

async function openWidget(query = '', base = gateway.url) {
  await page.goto(`${base}/ui/${query}`);
  await page.waitForFunction(
    () => document.querySelector('[data-part="chain-status"]')?.textContent?.includes('best #'),
    { timeout: CHAIN_TIMEOUT_MS },
  );
  await page.waitForFunction(() => document.querySelector('[data-part="owner"]')?.value?.length > 0);
}

async function lockState() {
  return page.$eval('[data-part="lock"]', (element) => element.dataset.state);
}

async function enterPassphrase(passphrase) {
  await page.$eval('[data-part="passphrase"]', (input) => {
    input.value = '';
  });
  await page.type('[data-part="passphrase"]', passphrase);
  await page.click('[data-part="unlock"]');
  // PBKDF2 with 600,000 iterations takes a moment; done when the state or the error changes.
  await page.waitForFunction(
    () =>
      document.querySelector('[data-part="lock"]').dataset.state === 'unlocked' ||
      document.querySelector('[data-part="error"]').textContent.length > 0,
    { timeout: 30_000 },
  );
}

/** The cards: `{ public, phase }` in order. */
async function cards() {
  return page.$$eval('.sk-card', (elements) =>
    elements.map((element) => ({ public: element.dataset.public, phase: element.dataset.phase })),
  );
}

async function waitForCards(predicate, what) {
  const deadline = Date.now() + CHAIN_TIMEOUT_MS;
  for (;;) {
    const error = await page.$eval('[data-part="error"]', (element) => element.textContent);
    assert.equal(error, '', `the widget reported an error while waiting for ${what}`);
    const current = await cards();
    if (predicate(current)) return current;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${CHAIN_TIMEOUT_MS} ms; cards: ${JSON.stringify(current)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Clicks a card's button once it takes clicks: the widget runs one action at a time, and an
 * action goes on to finality after the card already shows its effect from the best block.
 */
async function clickAction(publicKey, action) {
  const selector = `.sk-card[data-public="${publicKey}"] [data-action="${action}"]:not([disabled])`;
  // Found and clicked in one step in the page: the cards are drawn again at every block, and a
  // button found first and clicked next may be gone by then ("Node is detached", seen in CI).
  await page.waitForFunction(
    (selector) => {
      const button = document.querySelector(selector);
      button?.click();
      return button !== null;
    },
    { timeout: CHAIN_TIMEOUT_MS },
    selector,
  );
}

async function callApi(path = '/api/hello', { method = 'GET', body = '' } = {}) {
  await page.$eval('#api-path', (input, value) => {
    input.value = value;
  }, path);
  await page.select('#api-method', method);
  await page.$eval('#api-body', (input, value) => {
    input.value = value;
  }, body);
  await page.$eval('#api-response', (element) => {
    element.dataset.status = '';
  });
  await page.click('#api-call');
  await page.waitForFunction(() => document.querySelector('#api-response').dataset.status !== '', { timeout: 30_000 });
  const status = await page.$eval('#api-response', (element) => element.dataset.status);
  const line = await page.$eval('#api-response .api-status', (element) => element.textContent);
  if (status === 'error') return { status, line, body: line };
  // The body is folded away under its summary.
  const folded = await page.$eval('#api-response details', (element) => !element.open);
  assert.ok(folded, 'the JSON is folded');
  const text = await page.$eval('#api-response .api-body', (element) => element.textContent);
  return { status, line, body: JSON.parse(text) };
}

/** Every record of the widget's IndexedDB, byte arrays as hex. */
async function dumpKeystore() {
  return page.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const request = indexedDB.open('session-keys-widget');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const all = async (store) =>
      new Promise((resolve, reject) => {
        const request = db.transaction(store).objectStore(store).getAll();
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    const plain = (value) => {
      if (value instanceof Uint8Array) return Array.from(value, (byte) => byte.toString(16).padStart(2, '0')).join('');
      if (Array.isArray(value)) return value.map(plain);
      if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
      return value;
    };
    const dump = { vault: plain(await all('vault')), keys: plain(await all('keys')) };
    db.close();
    return dump;
  });
}

async function session(publicKey) {
  const record = await api.query.adjudicator.sessions({ Sr25519: publicKey });
  return record.isSome ? record.unwrap() : undefined;
}

let first;
let seed;

test('/ui/ carries a strict Content-Security-Policy and the page takes its node from config.json only', async () => {
  const config = await (await fetch(`${gateway.url}/ui/config.json`)).json();
  assert.deepEqual(config, { audience: AUDIENCE, node: node.url, genesis: api.genesisHash.toHex() });
  for (const path of ['/ui/', '/ui/config.json', '/ui/signer-worker.js']) {
    const response = await fetch(`${gateway.url}${path}`);
    assert.equal(response.status, 200, path);
    const csp = response.headers.get('content-security-policy');
    assert.ok(csp, `${path} has a Content-Security-Policy`);
    for (const directive of [
      "default-src 'self'",
      "script-src 'self' 'wasm-unsafe-eval';",
      "style-src 'self';",
      `connect-src 'self' ${node.url};`,
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]) {
      assert.ok(csp.includes(directive), `${path}: ${directive} in ${csp}`);
    }
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
  }

  // A link naming another node (and audience) is ignored: the page connects to the gateway's.
  const decoyUrl = `ws://127.0.0.1:${decoy.address().port}`;
  await openWidget(`?node=${encodeURIComponent(decoyUrl)}&audience=evil`);
  assert.equal(await page.$eval('[data-part="node-url"]', (element) => element.textContent), node.url);
  assert.equal(await page.$eval('#api-audience', (element) => element.textContent), AUDIENCE);
  assert.equal(await page.$eval('session-key-widget', (element) => element.getAttribute('genesis')), api.genesisHash.toHex());
  assert.equal(decoyConnections, 0, 'nothing connected to the node the link named');
  await assertNoViolation();
});

test('a key made in the browser is registered, live, and accepted by the gateway', async () => {
  await openWidget();
  assert.equal(await lockState(), 'new');
  await enterPassphrase(PASSPHRASE);
  assert.equal(await lockState(), 'unlocked');
  await page.click('[data-part="create"]');
  const [card] = await waitForCards((current) => current.some((c) => c.phase === 'live'), 'a live key');
  first = card.public;
  // The card reads the best block, so it is live from inclusion; the progress line goes on to
  // finality.
  await page.waitForFunction(() => document.querySelector('[data-part="progress"]').dataset.stage === 'finalized', {
    timeout: CHAIN_TIMEOUT_MS,
  });

  const registration = await session(first);
  assert.ok(registration, 'registered on chain');
  assert.equal(registration.owner.toString(), ALICE);
  // The widget signed with `CheckMetadataHash` enabled: against the hash of the runtime's own
  // metadata, or the runtime would have refused it.
  const block = await api.rpc.chain.getBlock(await api.rpc.chain.getBlockHash(registration.registeredAt.toNumber()));
  const registering = block.block.extrinsics.filter((ext) => ext.isSigned && ext.method.section === 'adjudicator');
  assert.equal(registering.length, 1, 'the registration is in the block of its registered_at');
  assert.equal(registering[0].signer.toString(), ALICE);
  assert.equal(registering[0].mode.toNumber(), 1, 'CheckMetadataHash enabled');
  assert.deepEqual(JSON.parse(u8aToString(registration.description.toU8a(true))), {
    name: 'browser session',
    use_case: 'frontend_session_key',
  });

  // The card shows the terms registered.
  const field = (name) => page.$eval(`.sk-card[data-public="${first}"] [data-field="${name}"]`, (element) => element.textContent);
  assert.equal(await field('counterpart'), registration.counterpart.toString());
  assert.equal(await field('scope'), 'GET /*, POST /*');
  assert.match(await field('spending-limit'), /^10(\.0+)?\s/);

  const response = await callApi();
  assert.equal(response.status, '200', JSON.stringify(response.body));
  assert.equal(response.line, '200 OK');
  assert.equal(response.body.hello, ALICE);
  assert.equal(response.body.path, '/api/hello');
  assert.match(sentHeaders.at(-1).header, /^v2\./, 'the widget signs version 2');

  // A query that needs normalizing and a body, both bound by the signature.
  const posted = await callApi('/api/orders/17?b=2&a=%7e&a=1', { method: 'POST', body: '{"qty":1}' });
  assert.equal(posted.status, '200', JSON.stringify(posted.body));
  assert.equal(posted.body.method, 'POST');
  // The upstream sees the query in the canonical form that was authenticated.
  assert.equal(posted.body.path, '/api/orders/17?a=~&a=1&b=2');
  assert.equal(posted.body.body, '{"qty":1}');

  // The same header with another body or query is refused: it binds the whole request.
  const { header } = sentHeaders.at(-1);
  const replay = (path, body) =>
    fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'x-session-auth': header }, body });
  assert.equal((await replay('/api/orders/17?b=2&a=%7e&a=1', '{"qty":100000}')).status, 401, 'another body');
  assert.equal((await replay('/api/orders/17?b=2&a=%7e&a=1&admin=true', '{"qty":1}')).status, 401, 'another query');

  // A refusal shows its status and reason.
  const refused = await callApi('/api/hello', { method: 'DELETE' });
  assert.equal(refused.status, '401', JSON.stringify(refused.body));
  assert.match(refused.line, /^401 Unauthorized: OutOfScope/);
  await assertNoViolation();
});

test('the seed is drawn in the signing worker, and IndexedDB holds it only encrypted', async () => {
  const ofKey = (bytes) => u8aToHex(sr25519PairFromSeed(new Uint8Array(bytes)).publicKey) === first;
  const inPage = await page.evaluate(() => window.drawnSeeds);
  assert.ok(!inPage.some(ofKey), 'the page never drew the seed');
  const match = (await drawnInWorker()).find(ofKey);
  assert.ok(match, 'the key came from the worker secure random source');
  seed = new Uint8Array(match);
  const secretKey = sr25519PairFromSeed(seed).secretKey;
  const dump = JSON.stringify(await dumpKeystore());
  assert.ok(dump.includes(first.slice(2)), 'the public key is stored');
  assert.ok(!dump.includes(u8aToHex(seed).slice(2)), 'no plaintext seed');
  assert.ok(!dump.includes(u8aToHex(secretKey).slice(2, 66)), 'no plaintext secret key');
  assert.ok(!dump.includes(Buffer.from(PASSPHRASE).toString('hex')) && !dump.includes(PASSPHRASE), 'no passphrase');
  const [record] = JSON.parse(dump).keys;
  assert.equal(record.sealed.ciphertext.length, (32 + 16) * 2, 'a sealed 32-byte seed with its tag');
});

test('after a reload the key comes back only with the right passphrase', async () => {
  await openWidget();
  assert.equal(await lockState(), 'locked');
  assert.deepEqual((await cards()).map((card) => card.public), [first]);
  const before = JSON.stringify(await dumpKeystore());
  await enterPassphrase('not the passphrase');
  assert.match(await page.$eval('[data-part="error"]', (element) => element.textContent), /Wrong passphrase/);
  assert.equal(await lockState(), 'locked');
  assert.equal(JSON.stringify(await dumpKeystore()), before, 'nothing overwritten');
  const refused = await callApi();
  assert.equal(refused.status, 'error');
  assert.match(refused.body, /Unlock the keystore/);

  await enterPassphrase(PASSPHRASE);
  assert.equal(await lockState(), 'unlocked');
  await waitForCards((current) => current[0]?.phase === 'live', 'the key, live');
  const response = await callApi();
  assert.equal(response.status, '200', JSON.stringify(response.body));
});

let second;

test('re-create registers a new key and revokes the old one only once the new one is live', async () => {
  await clickAction(first, 'recreate');
  const current = await waitForCards(
    (cards) => cards.length === 1 && cards[0].public !== first && cards[0].phase === 'live',
    'the new key alone, live',
  );
  second = current[0].public;
  const fresh = await session(second);
  assert.ok(fresh, 'the new key is on chain');
  // The old key is closing (revoked), or already settled if the closing window ran out.
  const closing = await session(first);
  const retired = closing ? undefined : (await api.query.adjudicator.retired({ Sr25519: first })).unwrap();
  const old = closing ?? retired;
  assert.equal(closing ? closing.revoked.toPrimitive() : retired.reason.toString(), closing ? true : 'Revoked');
  const registeredAt = fresh.registeredAt.toNumber();
  const revokedAt = closing ? closing.expiresAt.toNumber() : retired.endedAt.toNumber();
  assert.ok(registeredAt < revokedAt, `new key live at #${registeredAt}, old revoked at #${revokedAt}`);
  console.log(`re-create: new key registered in #${registeredAt}, old key revoked in #${revokedAt}`);
  assert.equal(fresh.counterpart.toString(), old.counterpart.toString(), 'the terms carried over');

  const response = await callApi();
  assert.equal(response.status, '200', JSON.stringify(response.body));
  assert.equal(response.body.key, `0x00${second.slice(2)}`, 'signed by the new key');
});

test('renew moves the expiry on', async () => {
  const before = (await session(second)).expiresAt.toNumber();
  await clickAction(second, 'renew');
  const deadline = Date.now() + CHAIN_TIMEOUT_MS;
  let after = before;
  while (after === before) {
    const error = await page.$eval('[data-part="error"]', (element) => element.textContent);
    assert.equal(error, '', 'the widget reported an error while renewing');
    assert.ok(Date.now() < deadline, `the expiry stayed at #${before}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    after = (await session(second)).expiresAt.toNumber();
  }
  assert.ok(after > before, `the expiry moved on: #${before} to #${after}`);
  // The renewal goes on to finality before the widget takes clicks again.
  await page.waitForSelector('session-key-widget:not([busy])', { timeout: CHAIN_TIMEOUT_MS });
});

test('revoke: the next call is refused as revoked, and forget wipes the key', async () => {
  await clickAction(second, 'revoke');
  await waitForCards((cards) => cards[0]?.phase === 'closing', 'the key, closing');
  assert.equal((await session(second)).revoked.toPrimitive(), true);
  // The card shows the best block; the revocation is final once the widget takes clicks again.
  // The gateway follows the chain from its own poll, so it is given a few blocks to see it.
  await page.waitForSelector('session-key-widget:not([busy])', { timeout: CHAIN_TIMEOUT_MS });
  // The widget signs only with a live key, so sign as a stale client would, with the package's
  // own functions and the revoked key's seed (drawn in the worker, recorded by the test): the
  // gateway must refuse it by itself.
  const best = (await api.rpc.chain.getHeader()).number.toNumber();
  const blockHash = (await api.rpc.chain.getBlockHash(best - 2)).toHex();
  const seeds = await drawnInWorker();
  const staleCall = (nonce) => page.evaluate(
    async ({ publicKey, genesis, blockHash, owner, audience, nonce, seeds }) => {
      const widget = await import('./session-key-widget.js');
      const seed = seeds.map((bytes) => new Uint8Array(bytes)).find(
        (bytes) => widget.sessionPublicHex(widget.publicOf(bytes)) === `0x00${publicKey.slice(2)}`,
      );
      const hex = (text) => Uint8Array.from(text.slice(2).match(/../g), (byte) => parseInt(byte, 16));
      const bound = await widget.bindRequest('GET', '/api/hello');
      const header = widget.signHeaderV2(seed, hex(genesis), {
        account: hex(owner),
        blockHash: hex(blockHash),
        nonce: BigInt(nonce),
        audience: new TextEncoder().encode(audience),
        resource: bound.resource,
        query: bound.query,
        contentDigest: bound.contentDigest,
      });
      const answer = await fetch('/api/hello', { headers: { [widget.HTTP_HEADER]: widget.encodeHeaderV2(header) } });
      return { status: answer.status, body: await answer.json() };
    },
    {
      publicKey: second,
      genesis: api.genesisHash.toHex(),
      blockHash,
      owner: u8aToHex(decodeAddress(ALICE)),
      audience: AUDIENCE,
      nonce,
      seeds,
    },
  );
  let response = await staleCall(1);
  for (let nonce = 2; response.status !== 401 && nonce <= 20; nonce += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    response = await staleCall(nonce);
  }
  assert.equal(response.status, 401, JSON.stringify(response.body));
  assert.equal(response.body.reason, 'KeyRevoked');

  await clickAction(second, 'forget');
  await waitForCards((cards) => cards.length === 0, 'no key left');
  const dump = JSON.stringify(await dumpKeystore());
  assert.ok(!dump.includes(second.slice(2)), 'the record is gone');
});

test('the keystore locks itself after lock-after minutes without user input', async () => {
  await openWidget();
  // A widget mounted by script with a short idle time (0.05 min: 3 s), the page's own one gone.
  await page.evaluate(async ({ node, genesis, audience }) => {
    const { mountSessionKeyWidget } = await import('./session-key-widget.js');
    const container = document.getElementById('widget');
    container.replaceChildren();
    mountSessionKeyWidget(container, { node, genesis, audience, lockAfterMinutes: 0.05, autoconnect: true });
  }, { node: node.url, genesis: api.genesisHash.toHex(), audience: AUDIENCE });
  await page.waitForFunction(
    () => document.querySelector('[data-part="chain-status"]')?.textContent?.includes('best #'),
    { timeout: CHAIN_TIMEOUT_MS },
  );
  await enterPassphrase(PASSPHRASE);
  assert.equal(await lockState(), 'unlocked');
  await page.waitForFunction(() => document.querySelector('[data-part="lock"]').dataset.state === 'locked', { timeout: 10_000 });
  assert.match(await page.$eval('[data-part="lock-status"]', (element) => element.textContent), /locked after 0\.05 min without input/);
  const refused = await page.evaluate(() =>
    document.querySelector('session-key-widget').authorize('GET', '/api/hello').then(
      () => 'signed',
      (error) => error.message,
    ),
  );
  assert.match(refused, /Unlock the keystore/);
  await assertNoViolation();
});

/**
 * Opens the widget behind a doctoring node (`startMetadataDoctor(options)`, through a gateway
 * whose page uses it), unlocks a keystore of that origin's own and asks for a new key: what the
 * widget reports, how many answers the node doctored, and whether Alice sent anything.
 */
async function createBehindDoctor(options) {
  const doctor = await startMetadataDoctor(node.url, options);
  const behind = await startGateway(node.url, AUDIENCE, ['--ui-node', doctor.url]);
  try {
    const nonce = async () => (await api.query.system.account(ALICE)).nonce.toNumber();
    const before = await nonce();
    await openWidget('', behind.url);
    await enterPassphrase(PASSPHRASE);
    assert.equal(await lockState(), 'unlocked');
    await page.click('[data-part="create"]');
    await page.waitForFunction(() => document.querySelector('[data-part="error"]').textContent.length > 0, {
      timeout: CHAIN_TIMEOUT_MS,
    });
    const error = await page.$eval('[data-part="error"]', (element) => element.textContent);
    const live = (await cards()).filter((card) => card.phase === 'live').length;
    return { error, doctored: doctor.doctored, live, sent: (await nonce()) !== before };
  } finally {
    await behind.stop();
    await doctor.close();
  }
}

test('a node that doctors the metadata the calls are encoded with gets nothing signed through', async () => {
  // The page's node is a proxy that renames a call in the version 16 metadata it serves and
  // passes version 15 on untouched: the widget must hash what Polkadot-JS encodes with.
  const { error, doctored, live, sent } = await createBehindDoctor({ rename: true });
  assert.ok(doctored > 0, 'the page was served the doctored metadata');
  // The runtime checks the signature against the hash of its own metadata.
  assert.match(error, /bad signature/i);
  assert.equal(live, 0, 'no key registered');
  assert.equal(sent, false, 'nothing of Alice was included');
});

test('a node whose pallet list encodes the call as another (the metadata hash unchanged) gets nothing signed', async () => {
  // The hash covers the runtime's call type, not the pallet list Polkadot-JS encodes from: the
  // widget reads the call back with the hashed call type before it signs.
  const { error, doctored, sent } = await createBehindDoctor({ rename: false, reindex: true });
  assert.ok(doctored > 0, 'the page was served the doctored metadata');
  assert.match(error, /Refusing to sign: the node's metadata encodes Adjudicator\.register as /);
  assert.equal(sent, false, 'nothing of Alice was included');
});

test('after a runtime upgrade the widget asks to reconnect rather than sign with metadata it cannot hash', async () => {
  const { error, doctored, sent } = await createBehindDoctor({ rename: false, upgrade: true });
  assert.ok(doctored > 0, 'the page was told of an upgrade');
  assert.match(error, /metadata came as version 14 \(as Polkadot-JS loads it after a runtime upgrade.*which cannot be hashed: press Reconnect\.$/);
  assert.equal(sent, false, 'nothing was sent');
});
