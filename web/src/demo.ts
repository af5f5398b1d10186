// The demo page: one widget, configured from the gateway's `config.json` (its audience and the
// node it follows) or the page's query (`?node=ws://…&audience=…`), and a "call the API" box
// that sends a request through the gateway signed by the widget's live key.

import { mountSessionKeyWidget, type SessionKeyWidget } from './widget.js';
import { HTTP_HEADER } from './codec.js';

interface PageConfig {
  node?: string;
  audience?: string;
}

async function pageConfig(): Promise<PageConfig> {
  let config: PageConfig = {};
  try {
    const response = await fetch('config.json', { cache: 'no-store' });
    if (response.ok) config = (await response.json()) as PageConfig;
  } catch {
    // Not served by a gateway: the defaults and the query below.
  }
  const query = new URLSearchParams(location.search);
  return {
    node: query.get('node') ?? config.node ?? 'ws://127.0.0.1:9944',
    audience: query.get('audience') ?? config.audience,
  };
}

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

async function callApi(widget: SessionKeyWidget): Promise<void> {
  const method = element<HTMLSelectElement>('api-method').value;
  const path = element<HTMLInputElement>('api-path').value.trim() || '/';
  const output = element<HTMLPreElement>('api-response');
  output.dataset.status = '';
  output.textContent = `${method} ${path} …`;
  try {
    const header = await widget.authorize(method, path);
    const response = await fetch(path, { method, headers: { [HTTP_HEADER]: header } });
    const body = await response.text();
    output.dataset.status = String(response.status);
    output.textContent = `${response.status} ${response.statusText}\n\n${body}`;
  } catch (error) {
    output.dataset.status = 'error';
    output.textContent = error instanceof Error ? error.message : String(error);
  }
}

async function main(): Promise<void> {
  const config = await pageConfig();
  const widget = mountSessionKeyWidget(element('widget'), {
    node: config.node,
    audience: config.audience,
    appName: 'Session keys demo',
    autoconnect: true,
  });
  element('api-audience').textContent = config.audience ?? '(no audience: open this page through the gateway)';
  element<HTMLButtonElement>('api-call').addEventListener('click', () => void callApi(widget));
}

void main();
