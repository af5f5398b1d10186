// A small HTTP API to put behind the gateway for the widget's demo and its browser test: it
// answers every request with what the gateway told it about the caller, and what it received.
//
//   node scripts/demo-api.mjs [PORT]      (default 3000, on 127.0.0.1)
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

/** Starts the API on 127.0.0.1:`port` (0: any free port); resolves to the server. */
export function startDemoApi(port = 0) {
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.stringify({
        hello: request.headers['x-session-owner'] ?? null,
        key: request.headers['x-session-key'] ?? null,
        tier: request.headers['x-session-tier'] ?? null,
        method: request.method,
        path: request.url,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 3000);
  const server = await startDemoApi(port);
  console.log(`demo API on http://127.0.0.1:${server.address().port}`);
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
