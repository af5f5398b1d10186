// The demo page: one widget, configured only from the gateway's `/ui/config.json` (its
// audience, the node it follows and that chain's genesis hash; nothing in the page's address
// or storage overrides them, so a link cannot point this page at another node), and a "call the
// API" box that sends a request through the gateway signed (version 2) by the widget's live key.

import { mountSessionKeyWidget, type SessionKeyWidget } from './widget.js';
import { HTTP_HEADER } from './codec.js';
import { type PageConfig, describeAnswer, parseConfig } from './page.js';

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

async function callApi(widget: SessionKeyWidget): Promise<void> {
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
    const header = await widget.authorize(method, url, bytes);
    const response = await fetch(url, {
      method,
      headers: { [HTTP_HEADER]: header, ...(bytes.length ? { 'content-type': 'application/json' } : {}) },
      body: bytes.length ? bytes : undefined,
    });
    const text = await response.text();
    showAnswer(String(response.status), describeAnswer(response.status, response.statusText, text), text);
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
  element<HTMLButtonElement>('api-call').addEventListener('click', () => void callApi(widget));
}

void main();
