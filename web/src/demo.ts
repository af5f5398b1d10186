// The demo page: one widget, configured only from the gateway's `/ui/config.json` (its
// audience, the node it follows and that chain's genesis hash; nothing in the page's address
// or storage overrides them, so a link cannot point this page at another node), and a "call the
// API" box that sends a request through the gateway signed (version 2) by the widget's live key.
// When config.json announces a price, each call also carries the key's next signed channel
// state (`x-session-state`); after a 402 naming the expected state, the call is signed again
// once from there.

import { mountSessionKeyWidget, type SessionKeyWidget } from './widget.js';
import { HTTP_HEADER, STATE_HEADER } from './codec.js';
import { type PageConfig, describeAnswer, expectedState, parseConfig } from './page.js';

/** How long the page waits for a gateway that has not reached its node yet. */
const CONFIG_WAIT_MS = 60_000;

async function pageConfig(): Promise<PageConfig> {
  const deadline = Date.now() + CONFIG_WAIT_MS;
  for (;;) {
    let response: Response;
    try {
      response = await fetch('config.json', { cache: 'no-store' });
    } catch {
      throw new Error('Cannot load config.json: open this page through the session-key gateway (…/ui/).');
    }
    if (response.status === 503 && Date.now() < deadline) {
      // The gateway has not reached its node yet.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new Error(`config.json (HTTP ${response.status}) is not JSON: open this page through the session-key gateway (…/ui/).`);
    }
    if (!response.ok) {
      const reason = (body as { error?: unknown })?.error;
      throw new Error(`The gateway cannot configure this page (HTTP ${response.status}): ${typeof reason === 'string' ? reason : 'no reason given'}.`);
    }
    return parseConfig(body);
  }
}

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

function showAnswer(status: string, line: string, body?: string): void {
  const output = element<HTMLElement>('api-response');
  const summary = document.createElement('p');
  summary.className = 'api-status';
  summary.textContent = line;
  output.replaceChildren(summary);
  if (body !== undefined) {
    const details = document.createElement('details');
    const label = document.createElement('summary');
    label.textContent = 'Response body';
    const pre = document.createElement('pre');
    pre.className = 'api-body';
    try {
      pre.textContent = JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      pre.textContent = body;
    }
    details.append(label, pre);
    output.append(details);
  }
  output.dataset.status = status;
}

/** Sends one call, metered at `price` if given: the answer's status, status text and body. */
async function send(
  widget: SessionKeyWidget,
  method: string,
  url: URL,
  bytes: Uint8Array<ArrayBuffer>,
  price: bigint | undefined,
): Promise<{ status: number; statusText: string; text: string }> {
  const headers: Record<string, string> = bytes.length ? { 'content-type': 'application/json' } : {};
  if (price === undefined) {
    headers[HTTP_HEADER] = await widget.authorize(method, url, bytes);
  } else {
    const call = await widget.authorizeMetered(method, url, bytes, price);
    headers[HTTP_HEADER] = call.auth;
    headers[STATE_HEADER] = call.state;
  }
  const response = await fetch(url, { method, headers, body: bytes.length ? bytes : undefined });
  return { status: response.status, statusText: response.statusText, text: await response.text() };
}

async function callApi(widget: SessionKeyWidget, price: bigint | undefined): Promise<void> {
  const method = element<HTMLSelectElement>('api-method').value;
  const path = element<HTMLInputElement>('api-path').value.trim() || '/';
  const body = element<HTMLTextAreaElement>('api-body').value;
  const output = element<HTMLElement>('api-response');
  output.dataset.status = '';
  output.textContent = `${method} ${path} …`;
  try {
    if ((method === 'GET' || method === 'HEAD') && body.length > 0) {
      throw new Error(`A ${method} request has no body: clear the body or choose POST.`);
    }
    // The same URL and bytes that were signed are sent.
    const url = new URL(path, document.baseURI);
    const bytes = new TextEncoder().encode(body);
    let answer = await send(widget, method, url, bytes, price);
    const expected = answer.status === 402 && price !== undefined ? expectedState(answer.text) : undefined;
    if (expected && price !== undefined) {
      // The gateway knows a newer state of this key (signed elsewhere, or before a reload).
      widget.resumeMetered(expected.nonce, expected.minOwed, price);
      answer = await send(widget, method, url, bytes, price);
    }
    const { status, statusText, text } = answer;
    showAnswer(String(status), describeAnswer(status, statusText, text), text);
  } catch (error) {
    showAnswer('error', error instanceof Error ? error.message : String(error));
  }
}

async function main(): Promise<void> {
  let config: PageConfig;
  try {
    config = await pageConfig();
  } catch (error) {
    const message = document.createElement('p');
    message.className = 'sk-error';
    message.dataset.part = 'config-error';
    message.textContent = error instanceof Error ? error.message : String(error);
    element('widget').replaceChildren(message);
    return;
  }
  const widget = mountSessionKeyWidget(element('widget'), {
    node: config.node,
    genesis: config.genesis,
    audience: config.audience,
    appName: 'Session keys demo',
    autoconnect: true,
  });
  element('api-audience').textContent = config.audience;
  if (config.price !== undefined) {
    element('api-audience').textContent = `${config.audience} (metered: ${config.price} a call)`;
  }
  element<HTMLButtonElement>('api-call').addEventListener('click', () => void callApi(widget, config.price));
}

void main();
