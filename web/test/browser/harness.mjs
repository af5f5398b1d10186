// What the browser test runs against: the dev node and the gateway binaries (built by cargo,
// started here on free loopback ports and always stopped), the demo API behind the gateway,
// and headless Debian Chromium driven by puppeteer-core.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import WebSocket, { WebSocketServer } from 'ws';
import { Metadata, TypeRegistry } from '@polkadot/types';
import { compactAddLength, hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';

import { startDemoApi } from '../../scripts/demo-api.mjs';

const web = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const repo = join(web, '..');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(repo, 'target');
/** How long the node may take to start (it compiles the wasm runtime) and finalize a block. */
const START_TIMEOUT_MS = 180_000;
const POLL_MS = 250;

const running = new Set();
// A test that fails or is interrupted still stops what it started.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A port on 127.0.0.1 that nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function binary(env, name) {
  const path = process.env[env] ?? join(targetDir, 'debug', name);
  if (!existsSync(path)) {
    throw new Error(`${path} not found: build it first with \`cargo build --workspace\` (or set ${env})`);
  }
  return path;
}

/** A child process with its output in a log file; `stop` ends it (SIGINT, then SIGKILL). */
class Process {
  constructor(name, path, args) {
    this.name = name;
    this.dir = mkdtempSync(join(tmpdir(), `widget-test-${name}-`));
    this.log = join(this.dir, 'log');
    const fd = openSync(this.log, 'a');
    this.child = spawn(path, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
    running.add(this.child);
  }

  ensureRunning() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      throw new Error(`${this.name} exited early (${this.child.exitCode ?? this.child.signalCode}):\n${this.tail()}`);
    }
  }

  tail(lines = 40) {
    try {
      return readFileSync(this.log, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGINT');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      await this.exited;
      clearTimeout(timer);
    }
    running.delete(this.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function waitFor(what, process, check) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    process.ensureRunning();
    try {
      if (await check()) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${START_TIMEOUT_MS} ms:\n${process.tail()}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function rpc(port, method, params = []) {
  const response = await fetch(`http://127.0.0.1:${port}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(JSON.stringify(body.error));
  return body.result;
}

/** `session-keys-node --dev --tmp` on free ports, once it has finalized a block. */
export async function startNode() {
  const rpcPort = await freePort();
  const p2pPort = await freePort();
  const node = new Process('node', binary('SESSION_KEYS_NODE_BIN', 'session-keys-node'), [
    '--dev',
    '--tmp',
    '--rpc-port',
    String(rpcPort),
    '--rpc-cors',
    'all',
    '--listen-addr',
    `/ip4/127.0.0.1/tcp/${p2pPort}`,
    '--no-prometheus',
    '--no-telemetry',
    '--no-mdns',
  ]);
  await waitFor('the node', node, async () => {
    const hash = await rpc(rpcPort, 'chain_getFinalizedHead');
    const header = await rpc(rpcPort, 'chain_getHeader', [hash]);
    return parseInt(header.number, 16) >= 1;
  });
  node.url = `ws://127.0.0.1:${rpcPort}`;
  return node;
}

/** //Bob's account: the counterpart the widget proposes on a dev chain, and the gateway accepts. */
export const BOB = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';

/**
 * The gateway binary serving the widget (`web/dist`) in front of the demo API; `extraArgs` are
 * added to its command line.
 */
export async function startGateway(nodeUrl, audience, extraArgs = []) {
  const api = await startDemoApi(0);
  const port = await freePort();
  const gateway = new Process('gateway', binary('SESSION_KEYS_GATEWAY_BIN', 'session-keys-gateway'), [
    '--listen',
    `127.0.0.1:${port}`,
    '--upstream',
    `http://127.0.0.1:${api.address().port}`,
    '--node',
    nodeUrl,
    '--audience',
    audience,
    '--counterpart',
    BOB,
    '--ui',
    join(web, 'dist'),
    ...extraArgs,
  ]);
  gateway.url = `http://127.0.0.1:${port}`;
  await waitFor('the gateway', gateway, async () => (await fetch(`${gateway.url}/healthz`)).ok);
  const stop = gateway.stop.bind(gateway);
  gateway.stop = async () => {
    await stop();
    await new Promise((resolve) => api.close(resolve));
  };
  return gateway;
}

/** Headless Debian Chromium (`CHROMIUM` to use another), with a fresh profile. */
export async function startBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'widget-test-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
    ],
  });
  const close = browser.close.bind(browser);
  browser.close = async () => {
    await close();
    rmSync(profile, { recursive: true, force: true });
  };
  return browser;
}

/** A name in the metadata, as hex, and what the doctoring node makes of it (the same length). */
const RENAMED = ['transfer_keep_alive', 'transfer_keep_alivx'].map((name) => Buffer.from(name).toString('hex'));

/** The adjudicator's pallet index in a doctored metadata: one no pallet of the runtime has. */
const DOCTORED_INDEX = 99;

/** `Option<OpaqueMetadata>` (hex, as `Metadata_metadata_at_version` answers) with the adjudicator re-indexed. */
function reindexAdjudicator(answer) {
  const registry = new TypeRegistry();
  const bytes = registry.createType('Option<Bytes>', hexToU8a(answer)).unwrap().toU8a(true);
  // The magic number `meta` and the version byte, then version 16's body.
  if (bytes[4] !== 16) throw new Error(`not version 16 metadata: version ${bytes[4]}`);
  const decoded = new Metadata(registry, bytes).asV16.toJSON();
  const adjudicator = decoded.pallets.find((pallet) => pallet.name === 'Adjudicator');
  adjudicator.index = DOCTORED_INDEX;
  const doctored = u8aConcat(bytes.subarray(0, 5), registry.createType('MetadataV16', decoded).toU8a());
  // `Some`, then the bytes with their length.
  return u8aToHex(u8aConcat([1], compactAddLength(doctored)));
}

/**
 * A node that lies about its metadata: a WebSocket proxy in front of `nodeUrl` that passes
 * everything through, but
 * - `rename`: renames a call in the version 16 metadata it serves
 *   (`Metadata_metadata_at_version(16)`, which Polkadot-JS encodes with), and serves version 15
 *   and the rest as they are;
 * - `reindex`: gives the adjudicator another pallet index in that version 16 metadata's pallet
 *   list (which Polkadot-JS encodes calls from, and the metadata hash leaves out);
 * - `upgrade`: announces a runtime upgrade (a higher spec version in the runtime version
 *   subscription), after which Polkadot-JS loads metadata version 14 (`state_getMetadata`).
 * `doctored` counts the answers it changed.
 */
export async function startMetadataDoctor(nodeUrl, { rename = true, reindex = false, upgrade = false } = {}) {
  const port = await freePort();
  const server = new WebSocketServer({ host: '127.0.0.1', port });
  await new Promise((resolve) => server.once('listening', resolve));
  const doctor = { url: `ws://127.0.0.1:${port}`, doctored: 0 };
  server.on('connection', (client) => {
    const upstream = new WebSocket(nodeUrl);
    const pending = [];
    const v16Requests = new Set();
    client.on('message', (data) => {
      const text = data.toString();
      try {
        const request = JSON.parse(text);
        const [method, argument] = request.params ?? [];
        if (request.method === 'state_call' && method === 'Metadata_metadata_at_version' && argument === '0x10000000') {
          v16Requests.add(request.id);
        }
      } catch {
        // Not JSON: passed on as it is.
      }
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
      else pending.push(text);
    });
    upstream.on('open', () => {
      for (const text of pending.splice(0)) upstream.send(text);
    });
    upstream.on('message', (data) => {
      let text = data.toString();
      const answer = JSON.parse(text);
      const v16 = v16Requests.delete(answer.id) && typeof answer.result === 'string';
      if (v16 && rename && answer.result.includes(RENAMED[0])) {
        answer.result = answer.result.split(RENAMED[0]).join(RENAMED[1]);
        text = JSON.stringify(answer);
        doctor.doctored += 1;
      }
      if (v16 && reindex) {
        answer.result = reindexAdjudicator(answer.result);
        text = JSON.stringify(answer);
        doctor.doctored += 1;
      }
      if (upgrade && answer.method === 'state_runtimeVersion' && answer.params?.result?.specVersion) {
        answer.params.result.specVersion += 1;
        text = JSON.stringify(answer);
        doctor.doctored += 1;
      }
      client.send(text);
    });
    const close = () => {
      client.close();
      upstream.close();
    };
    client.on('close', close);
    upstream.on('close', close);
    upstream.on('error', close);
  });
  doctor.close = () =>
    new Promise((resolve) => {
      for (const client of server.clients) client.terminate();
      server.close(resolve);
    });
  return doctor;
}
