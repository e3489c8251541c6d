#!/usr/bin/env node
/**
 * End-to-end test of the browser demo (examples/browser) in headless Chromium on WebGPU.
 *
 *  1. builds the page with Vite when the build is missing or older than its sources;
 *  2. serves examples/browser/dist from 127.0.0.1 on a free port (no network otherwise: the
 *     encoder, wasm binaries, model fixture and sample document are part of the build);
 *  3. runs the Node predict path (`docre-kit predict`, src/cli) on the same model fixture
 *     (test/fixtures/browser-model) and the same Re-DocRED document;
 *  4. in Chromium (/usr/bin/chromium, SwiftShader WebGPU): loads the page, asserts the backend is
 *     `webgpu`, extracts relations, asserts the triples equal Node's, that the heatmap and the
 *     per-iteration matrices are drawn, and saves a screenshot;
 *  5. loads the page again with `navigator.gpu` removed: asserts the wasm fallback and its notice,
 *     the same triples; runs the plain-text box (the library's `extract`, automatic entities, the
 *     shipped model) and asserts its entities and triples equal `extract` in Node (wasm, via
 *     test/browser/node-extract.ts) on the same text; then feeds bad input (malformed JSON, a
 *     mention outside its sentence, marked text across a line break, an unbalanced bracket, an
 *     empty plain-text box, a file that is not a model, a missing model) and asserts a clear
 *     message in the page each time and a page that still works;
 *  6. prints every check and the per-stage times (WebGPU vs wasm; with `--timings`, also a second,
 *     warm run on each: the first run includes WebGPU shader compilation).
 *
 * Exit code 0 when every check passes, 1 otherwise. Output: test-output/browser-e2e/ (screenshot
 * `browser-demo.png`, `timings.json`). `--update-docs` (implies `--timings`) also copies the screenshot to docs/.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
  mkdirSync,
  copyFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const APP = join(ROOT, 'examples/browser');
const DIST = join(APP, 'dist');
const FIXTURE = join(ROOT, 'test/fixtures/browser-model');
const SHIPPED = join(ROOT, 'assets/model/docunet-redocred'); // served at models/shipped/
const PLAIN_TEXT = 'Angela Merkel was born in Hamburg. She led Germany from 2005 to 2021.';
const OUT = join(ROOT, 'test-output/browser-e2e');
const SAMPLE_TITLE = 'Harbour Esplanade, Docklands'; // examples/browser/vite.config.ts
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--enable-unsafe-swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-gpu-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

// ------------------------------------------------------------------------------------------------
// checks

let failures = 0;
let passes = 0;
function check(ok, what, detail = '') {
  if (ok) passes++;
  else failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` — ${detail}` : ''}`);
  return ok;
}
const key = (t) => `${t.title}\t${t.h_idx}\t${t.t_idx}\t${t.r}`;
const sameTriples = (a, b) => JSON.stringify(a.map(key).sort()) === JSON.stringify(b.map(key).sort());

// ------------------------------------------------------------------------------------------------
// build, serve, Node path

function sh(cmd, args, opts = {}) {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', rej);
    p.on('close', (code) =>
      code === 0
        ? res({ out, err })
        : rej(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${err.slice(-2000)}`)),
    );
  });
}

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(
    0,
    ...readdirSync(path)
      .filter((f) => f !== 'dist' && f !== 'node_modules')
      .map((f) => newestMtime(join(path, f))),
  );
}

async function buildIfNeeded() {
  const built = existsSync(join(DIST, 'index.html')) ? statSync(join(DIST, 'index.html')).mtimeMs : 0;
  const sources = Math.max(
    newestMtime(APP),
    newestMtime(join(ROOT, 'src')),
    newestMtime(FIXTURE),
    newestMtime(SHIPPED),
  );
  if (built > sources) return console.log(`build: up to date (${DIST})`);
  console.log('build: npx vite build examples/browser …');
  await sh('npx', ['vite', 'build', 'examples/browser', '--logLevel', 'warn']);
  console.log(`build: done (${elapsed()})`);
}

const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
};
function serve(dir) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('not found');
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res(server)));
}

async function nodePredict(docFile) {
  const out = join(OUT, 'node-result.json');
  const t0 = Date.now();
  await sh('npx', [
    'tsx',
    'src/cli/main.ts',
    'predict',
    '--model-dir',
    FIXTURE,
    '--data',
    docFile,
    '--out',
    out,
    '--quiet',
  ]);
  return { triples: JSON.parse(readFileSync(out, 'utf8')), seconds: (Date.now() - t0) / 1000 };
}

/** The library's `extract(text, { modelDir: SHIPPED })` in Node, on wasm. */
async function nodeExtract(text) {
  const out = join(OUT, 'node-extract.json');
  const t0 = Date.now();
  await sh('npx', ['tsx', 'test/browser/node-extract.ts', SHIPPED, out, text]);
  return { result: JSON.parse(readFileSync(out, 'utf8')), seconds: (Date.now() - t0) / 1000 };
}
const entityKeys = (r) =>
  r.entities.map((e) => `${e.name}|${e.type}|${e.mentions.map((m) => `${m.start}-${m.end}`)}`);
const tripleKeys = (r) => r.triples.map((t) => `${t.head}\t${t.tail}\t${t.relation}`).sort();

// ------------------------------------------------------------------------------------------------
// the page

const state = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.__docre)));

async function waitFor(page, pred, what, timeout = 150_000) {
  const t0 = Date.now();
  for (;;) {
    const s = await state(page);
    if (pred(s)) return s;
    if (Date.now() - t0 > timeout)
      throw new Error(
        `timed out after ${timeout / 1000} s waiting for ${what} (state ${s.state}, error ${s.error ?? 'none'})`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function extract(page) {
  const before = (await state(page)).runs;
  await page.click('#run');
  // a hang guard, not a speed check: the first WebGPU run on SwiftShader takes minutes on a loaded machine
  return waitFor(
    page,
    (s) => s.runs > before || (s.state === 'error' && s.error),
    'the run to finish',
    600_000,
  );
}

/** Feeds `text` as the document, runs, and returns the error shown in the page (or undefined). */
async function badInput(page, text, format = 'auto') {
  await page.selectOption('#format', format);
  await page.fill('#input', text);
  const errorsBefore = (await state(page)).errors ?? 0;
  await page.click('#run');
  const s = await waitFor(
    page,
    (x) => (x.errors ?? 0) > errorsBefore || x.state === 'done',
    'an error message',
    60_000,
  );
  const visible = await page.isVisible('#error');
  return visible ? await page.textContent('#error') : undefined;
}

async function badModel(page, url) {
  const errorsBefore = (await state(page)).errors ?? 0;
  await page.fill('#model-url', url);
  await page.click('#load-url');
  await waitFor(page, (x) => (x.errors ?? 0) > errorsBefore, `an error for model '${url}'`, 60_000);
  return (await page.isVisible('#error')) ? await page.textContent('#error') : undefined;
}

async function main() {
  const update = process.argv.includes('--update-docs');
  const repeat = process.argv.includes('--timings') || update;
  mkdirSync(OUT, { recursive: true });
  const { chromium } = await import('playwright-core');
  check(
    existsSync(join(FIXTURE, 'model.json')) && existsSync(join(FIXTURE, 'weights.bin')),
    'model fixture present',
    FIXTURE,
  );
  const docs = JSON.parse(readFileSync(join(ROOT, 'assets/re-docred/dev_revised.json'), 'utf8')).filter(
    (d) => d.title === SAMPLE_TITLE,
  );
  check(docs.length === 1, `Re-DocRED document '${SAMPLE_TITLE}' found in assets/re-docred/dev_revised.json`);
  const docFile = join(OUT, 'document.json');
  writeFileSync(docFile, JSON.stringify(docs));

  check(
    existsSync(join(SHIPPED, 'model.json')) && existsSync(join(SHIPPED, 'docre-kit.json')),
    'shipped model present',
    SHIPPED,
  );
  const [, node, nodeText] = await Promise.all([
    buildIfNeeded(),
    nodePredict(docFile),
    nodeExtract(PLAIN_TEXT),
  ]);
  check(
    node.triples.length > 0,
    `Node predict path: ${node.triples.length} triples`,
    `docre-kit predict in ${node.seconds.toFixed(1)} s`,
  );
  const server = await serve(DIST);
  const url = `http://127.0.0.1:${server.address().port}/index.html`;
  console.log(`serving ${DIST} at ${url} (${elapsed()})`);

  const profile = mkdtempSync(join(tmpdir(), 'docre-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 1000 },
  });
  const offsite = [];
  context.on('request', (r) => {
    if (
      !r.url().startsWith(`http://127.0.0.1:${server.address().port}/`) &&
      !r.url().startsWith('data:') &&
      !r.url().startsWith('blob:')
    )
      offsite.push(r.url());
  });
  const timings = {};
  try {
    // ---- WebGPU
    const logs = [];
    const page = await context.newPage();
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(url);
    let s = await waitFor(
      page,
      (x) => x.state === 'ready' || x.state === 'error',
      'the page to load the encoder and model',
    );
    console.log(`page ready on ${s.backend} (${elapsed()})`);
    check(s.state === 'ready', 'page loads the encoder and the model fixture', s.error ?? s.model);
    check(
      s.backend === 'webgpu',
      `backend is webgpu`,
      `backend ${s.backend}, adapter ${s.adapter}${s.fallback ? `, fallback: ${s.fallback}` : ''}`,
    );
    check(!(await page.isVisible('#notice')), 'no fallback notice on WebGPU');
    s = await extract(page);
    check(s.state === 'done', 'extraction runs on WebGPU', s.error);
    const web = s.result?.triples ?? [];
    check(
      sameTriples(web, node.triples),
      `WebGPU triples equal the Node predict path (${web.length} vs ${node.triples.length})`,
      sameTriples(web, node.triples)
        ? ''
        : `browser ${JSON.stringify(web)} node ${JSON.stringify(node.triples)}`,
    );
    const rows = await page.locator('#triples tr').count();
    check(
      rows === web.length + 1,
      `relations table lists ${web.length} triples with relation names`,
      (await page.locator('#triples tr').nth(1).textContent()) ?? '',
    );
    const canvases = await page.locator('#heatmap canvas').count();
    const iters = await page.locator('#iterations canvas').count();
    check(canvases === 1, 'entity-pair heatmap drawn');
    check(iters === 4, `per-iteration matrices drawn (base + K = 3 iterations: ${iters})`);
    const perIteration = s.result.iterationPredictions;
    check(
      perIteration.at(-1) === web.length,
      'the last iteration matrix decodes to the triples',
      `relations per iteration ${perIteration.join(' → ')}`,
    );
    // hover a predicted pair: the tooltip lists its relations
    if (web.length) {
      await page.locator('#heatmap canvas').scrollIntoViewIfNeeded();
      const box = await page.locator('#heatmap canvas').boundingBox();
      const e = s.result.entities.length;
      const cell = Math.max(10, Math.min(40, Math.floor(360 / e)));
      await page.mouse.move(
        box.x + 150 + (web[0].t_idx + 0.5) * cell,
        box.y + 130 + (web[0].h_idx + 0.5) * cell,
      );
      const tip = await page.locator('#heatmap .tooltip').textContent();
      check(
        tip.includes(s.result.entities[web[0].h_idx]) && tip.includes('✔'),
        'hovering a predicted cell shows its top relations',
        tip.replace(/\s+/g, ' ').slice(0, 120),
      );
    }
    timings.webgpu = { setup: s.setup, first: s.result.timings };
    if (repeat) {
      s = await extract(page);
      timings.webgpu.second = s.result.timings;
      check(sameTriples(s.result.triples, web), 'second WebGPU run gives the same triples');
    }
    const shot = join(OUT, 'browser-demo.png');
    await page.screenshot({ path: shot, fullPage: true });
    check(existsSync(shot), `screenshot saved`, shot);
    if (update) copyFileSync(shot, join(ROOT, 'docs/browser-demo.png'));
    await page.close();

    // ---- wasm (timings, and the same triples)
    // ---- no WebGPU (navigator.gpu removed): wasm with a visible notice; same triples; bad input
    // (the bad-input checks run here: they do not need WebGPU, and wasm is fast on this machine)
    const wpage = await context.newPage();
    await wpage.addInitScript(() =>
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }),
    );
    wpage.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    wpage.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await wpage.goto(url);
    s = await waitFor(wpage, (x) => x.state === 'ready' || x.state === 'error', 'the wasm page');
    check(
      s.backend === 'wasm' && s.fallback !== undefined,
      'without navigator.gpu the page falls back to wasm',
      `${s.adapter}; ${s.fallback}`,
    );
    const notice = (await wpage.isVisible('#notice')) ? await wpage.textContent('#notice') : '';
    check(/WebGPU is not available/.test(notice), 'the fallback notice is visible', notice);
    s = await extract(wpage);
    check(
      s.state === 'done' && sameTriples(s.result.triples, node.triples),
      'wasm triples equal the Node predict path',
      s.error,
    );
    timings.wasm = { setup: s.setup, first: s.result.timings };
    if (repeat) {
      s = await extract(wpage);
      timings.wasm.second = s.result.timings;
    }
    // ---- the plain-text box: extract(text) with the shipped model, on wasm (DocuNet on
    // SwiftShader WebGPU would add minutes); Node's extract runs on wasm too
    await wpage.fill('#plain', PLAIN_TEXT);
    await wpage.click('#run-text');
    s = await waitFor(wpage, (x) => x.textRuns > 0 || (x.state === 'error' && x.error), 'the plain-text run');
    const shown = (await wpage.locator('#text-entities').textContent()) ?? '';
    check(
      s.textRuns > 0 && ['Angela Merkel', 'Hamburg', 'Germany'].every((n) => shown.includes(n)),
      'plain-text box shows the recognised entities (Angela Merkel, Hamburg, Germany)',
      s.error ??
        `${s.text.entities.map((e) => `${e.name} ${e.type}`).join(', ')}; ${s.text.ms.toFixed(0)} ms with loading the shipped model`,
    );
    const textRows = await wpage.locator('#text-triples tr').count();
    const sameText =
      s.textRuns > 0 &&
      JSON.stringify(entityKeys(s.text)) === JSON.stringify(entityKeys(nodeText.result)) &&
      JSON.stringify(tripleKeys(s.text)) === JSON.stringify(tripleKeys(nodeText.result)) &&
      textRows === s.text.triples.length + 1;
    check(
      sameText,
      `plain-text box: entities and triples equal extract in Node (${s.text?.triples.length} vs ${nodeText.result.triples.length})`,
      sameText
        ? `min score ${Math.min(...s.text.triples.map((t) => t.score)).toFixed(3)}; Node extract in ${nodeText.seconds.toFixed(1)} s`
        : `browser ${JSON.stringify(s.text)} node ${JSON.stringify(nodeText.result)}`,
    );
    await wpage.screenshot({ path: join(OUT, 'browser-demo-wasm.png'), fullPage: true });
    // ---- bad input: a clear message in the page, and the page keeps working
    let msg = await badInput(wpage, '[{"title": "broken", "sents": [["a"');
    check(
      /JSON/.test(msg ?? '') && /invalid|Unexpected|truncated|parse/i.test(msg ?? ''),
      'malformed JSON → message',
      msg,
    );
    const outside = {
      title: 'outside',
      sents: [['Paris', 'is', 'nice', '.']],
      vertexSet: [
        [{ name: 'Paris', pos: [0, 1], sent_id: 0, type: 'LOC' }],
        [{ name: 'France', pos: [5, 6], sent_id: 0, type: 'LOC' }],
      ],
    };
    msg = await badInput(wpage, JSON.stringify([outside]));
    check(
      /vertexSet\[1\]\[0\]/.test(msg ?? '') && /pos|span|sentence/i.test(msg ?? ''),
      'mention outside its sentence (JSON) → message',
      msg,
    );
    msg = await badInput(wpage, '[Paris|LOC] is in [Fra\nnce|LOC] .', 'marked');
    check(/outside its sentence/.test(msg ?? ''), 'mention across a line break (marked text) → message', msg);
    msg = await badInput(wpage, '[Paris|LOC is in France .', 'marked');
    check(/unbalanced/.test(msg ?? ''), 'unbalanced bracket (marked text) → message', msg);
    await wpage.fill('#plain', '  ');
    const errorsBefore = (await state(wpage)).errors ?? 0;
    await wpage.click('#run-text');
    await waitFor(
      wpage,
      (x) => (x.errors ?? 0) > errorsBefore,
      'an error for the empty plain-text box',
      60_000,
    );
    msg = (await wpage.isVisible('#error')) ? await wpage.textContent('#error') : undefined;
    check(/plain text: the box is empty/.test(msg ?? ''), 'empty plain-text box → message', msg);
    msg = await badModel(wpage, 'embedded-en/');
    check(/docre-kit-model/.test(msg ?? ''), 'a model.json that is not a docre-kit model → message', msg);
    msg = await badModel(wpage, 'models/missing/');
    check(/404|no such|ENOENT/.test(msg ?? ''), 'a missing model directory → message', msg);
    await wpage.selectOption('#format', 'marked');
    await wpage.click('#sample-text');
    s = await extract(wpage);
    check(
      s.state === 'done' && s.result.entities.length === 5,
      'page still works after the errors (marked-text sample: 5 entities)',
      s.error ?? s.result?.entities.join(', '),
    );
    const pageErrors = logs.filter((l) => l.startsWith('pageerror'));
    check(pageErrors.length === 0, 'no uncaught page errors', pageErrors.join(' | '));
    await wpage.close();
    check(offsite.length === 0, 'no request leaves localhost', offsite.slice(0, 3).join(' '));
  } finally {
    await context.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }

  // ---- timings
  writeFileSync(join(OUT, 'timings.json'), JSON.stringify(timings, null, 1));
  const stages = [
    ...new Set(
      Object.values(timings).flatMap((t) => [
        ...Object.keys(t.setup).map((k) => `${k} (once)`),
        ...Object.keys(t.first),
      ]),
    ),
  ];
  const get = (t, k, run) =>
    k.endsWith(' (once)') ? (run === 'first' ? t.setup[k.slice(0, -7)] : undefined) : t[run]?.[k];
  const f = (x) => (x === undefined ? '' : x.toFixed(0));
  console.log(`\nper-stage times (ms), headless Chromium, document '${SAMPLE_TITLE}'`);
  console.log(
    `${'stage'.padEnd(22)}${'webgpu 1st'.padStart(12)}${'webgpu 2nd'.padStart(12)}${'wasm 1st'.padStart(12)}${'wasm 2nd'.padStart(12)}`,
  );
  for (const k of stages)
    console.log(
      `${k.padEnd(22)}${['webgpu', 'wasm'].flatMap((b) => ['first', 'second'].map((r) => f(timings[b] && get(timings[b], k, r)).padStart(12))).join('')}`,
    );
  const total = (t) => Object.values(t).reduce((a, b) => a + b, 0);
  console.log(
    `${'run total'.padEnd(22)}${['webgpu', 'wasm'].flatMap((b) => ['first', 'second'].map((r) => f(timings[b]?.[r] && total(timings[b][r])).padStart(12))).join('')}`,
  );
  console.log(`\nbrowser e2e: ${passes} checks passed, ${failures} failed (${elapsed()})`);
  return failures === 0;
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (e) => {
    console.error(`FAIL browser e2e: ${e.stack ?? e}`);
    process.exit(1);
  },
);
