// Builds the widget with esbuild: `dist/` holds the static site (the embeddable
// `session-key-widget.js`, its signing worker `signer-worker.js`, the demo page and its script); with `--tests`, `build/` holds
// the unit tests (`build/unit/`) and the vector generator, bundled for Node.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tests = process.argv.includes('--tests');

async function site() {
  const out = join(root, 'dist');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    absWorkingDir: root,
    // The signing worker is its own entry, loaded by `new Worker(new URL('./signer-worker.js',
    // import.meta.url), { type: 'module' })` from the same directory, so from the page's origin.
    entryPoints: { 'session-key-widget': 'src/index.ts', demo: 'src/demo.ts', 'signer-worker': 'src/signer-worker.ts' },
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  cpSync(join(root, 'public'), out, { recursive: true });
}

async function unitTests() {
  const out = join(root, 'build');
  rmSync(out, { recursive: true, force: true });
  const entries = readdirSync(join(root, 'test', 'unit'))
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => join('test', 'unit', name));
  await build({
    absWorkingDir: root,
    entryPoints: [...entries, 'test/make-vectors.ts'],
    outdir: out,
    outbase: 'test',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    target: 'node18',
    logLevel: 'warning',
  });
}

await (tests ? unitTests() : site());
