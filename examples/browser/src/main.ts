/**
 * The demo page: wires the pipeline (./pipeline.ts) to the DOM. Every action reports failures in
 * the page's error box; nothing is left half-done (buttons come back, the previous model stays).
 *
 * Two inputs: the document box (DocRED JSON or marked text, with the model of the Model panel:
 * triples, pair matrix, iterations) and the plain-text box (the library's `extract(text)`:
 * entities found automatically, the pretrained model shipped in the package, served at
 * `models/shipped/`).
 *
 * URL parameters: `?backend=wasm` skips WebGPU; `?model=DIR` loads another model directory.
 * For tests, `window.__docre` mirrors the state: `state` (`starting | ready | running | done |
 * error`), backend, adapter, the setup and per-run timings, the triples, the plain-text box's
 * entities and triples, and the last error.
 */
import { extract, type EmbeddedEncoder, type ExtractResult, type OfficialTriple } from 'docre-kit';
import { renderHeatmap, renderLegend } from './heatmap.js';
import {
  DemoError,
  decodeMatrix,
  loadEncoder,
  loadSavedModel,
  readInput,
  runDocument,
  startBackend,
  type LoadedModel,
  type RunResult,
  type Timings,
} from './pipeline.js';
import { clearFiles, putFile } from './shims/node-fs-promises.js';

interface DemoState {
  state: 'starting' | 'ready' | 'running' | 'done' | 'error';
  backend?: string;
  adapter?: string;
  fallback?: string;
  setup: Timings;
  model?: string;
  result?: {
    title: string;
    triples: readonly OfficialTriple[];
    timings: Timings;
    entities: readonly string[];
    pieces: number;
    /** relations predicted after each DocRE-II iteration (base first) */
    iterationPredictions: readonly number[];
  };
  /** the plain-text box's last result; `ms` includes loading the shipped model on the first run */
  text?: Pick<ExtractResult, 'entities' | 'triples'> & { ms: number; first: boolean };
  error?: string;
  /** how many errors the page has shown */
  errors?: number;
  runs: number;
  textRuns: number;
}
const demo: DemoState = { state: 'starting', setup: {}, runs: 0, textRuns: 0 };
(window as unknown as { __docre: DemoState }).__docre = demo;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const base = new URL('.', location.href).pathname; // URL directory of the page

function showError(e: unknown): void {
  const msg =
    e instanceof DemoError
      ? e.message
      : `${(e as Error)?.name ?? 'Error'}: ${(e as Error)?.message ?? String(e)}`;
  const box = $('error');
  box.textContent = msg;
  box.hidden = false;
  demo.error = msg;
  demo.errors = (demo.errors ?? 0) + 1;
}
const clearError = () => {
  $('error').hidden = true;
  demo.error = undefined;
};
window.addEventListener('error', (ev) => showError(ev.error ?? ev.message));
window.addEventListener('unhandledrejection', (ev) => showError(ev.reason));

let encoder: EmbeddedEncoder | undefined;
let loaded: LoadedModel | undefined;
let docs: ReturnType<typeof readInput> = [];

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

function setStatus(): void {
  const parts = [
    `backend ${demo.backend ?? '…'}`,
    demo.adapter ? `adapter ${demo.adapter}` : '',
    loaded ? `model ${loaded.name} (${loaded.source})` : 'no model',
  ];
  $('status').textContent = parts.filter(Boolean).join(' · ');
}

async function loadModelFrom(dir: string): Promise<void> {
  if (!encoder) return;
  clearError();
  const t0 = performance.now();
  const next = await loadSavedModel(dir, encoder);
  loaded?.dispose();
  loaded = next;
  demo.setup['model load'] = performance.now() - t0;
  demo.model = `${next.name} ${dir}`;
  $('model-info').textContent =
    `${next.name}: ${next.parameters.toLocaleString()} weights, ${next.schema.size} classes, markers '${next.markers}'` +
    (next.iterations ? `, ${next.iterations} inference iterations` : '');
  setStatus();
}

function fillDocuments(): void {
  const select = $<HTMLSelectElement>('doc-select');
  select.innerHTML = '';
  docs.forEach((d, i) => select.append(new Option(`${i}: ${d.title}`, String(i))));
}

/** Parses the text area (errors surface in the page) and returns the selected document. */
function selectedDocument() {
  docs = readInput(
    $<HTMLTextAreaElement>('input').value,
    $<HTMLSelectElement>('format').value as 'auto' | 'json' | 'marked',
  );
  const prev = Number($<HTMLSelectElement>('doc-select').value || 0);
  fillDocuments();
  const i = prev < docs.length ? prev : 0;
  $<HTMLSelectElement>('doc-select').value = String(i);
  return docs[i]!;
}

function render(r: RunResult, l: LoadedModel): void {
  const name = (c: number) => l.schema.nameOf(c);
  const cls = new Map(l.schema.ids.map((id, c) => [id, c]));
  const predicted = new Set(r.triples.map((t) => `${t.h_idx},${t.t_idx},${cls.get(t.r)}`));
  const gold = new Set((r.document.labels ?? []).map((x) => `${x.h},${x.t},${x.r}`));
  const hasGold = r.document.labels !== undefined;
  const table = $<HTMLTableElement>('triples');
  table.innerHTML = '';
  const head = table.insertRow();
  for (const h of ['subject', 'relation', 'object', 'probability', ...(hasGold ? ['in gold'] : [])])
    head.append(Object.assign(document.createElement('th'), { textContent: h }));
  for (const t of r.triples) {
    const row = table.insertRow();
    const c = cls.get(t.r)!;
    const rel = name(c) === t.r ? t.r : `${name(c)} (${t.r})`;
    const cells = [
      `${r.entities[t.h_idx]} [${t.h_idx}]`,
      rel,
      `${r.entities[t.t_idx]} [${t.t_idx}]`,
      r.matrix.probs[t.h_idx]![t.t_idx]![c]!.toFixed(3),
    ];
    if (hasGold) cells.push(gold.has(`${t.h_idx},${t.t_idx},${t.r}`) ? '✔' : '—');
    for (const v of cells) row.insertCell().textContent = v;
  }
  if (r.triples.length === 0) table.insertRow().insertCell().textContent = 'no relation predicted';
  const opts = { entities: r.entities, relationName: name, predicted };
  $('legend').replaceChildren(renderLegend());
  $('heatmap').replaceChildren(
    renderHeatmap({ ...r.matrix, label: `${r.document.title}: final (${r.entities.length} entities)` }, opts),
  );
  $('iterations-block').hidden = r.iterations.length === 0;
  // each iteration outlined with its own decode (the last one equals the triples above)
  $('iterations').replaceChildren(
    ...r.iterations.map((m) =>
      renderHeatmap(m, { ...opts, predicted: decodeMatrix(m.probs, l.topK), compact: true, size: 200 }),
    ),
  );
  const timings = $<HTMLTableElement>('timings');
  timings.innerHTML = '<tr><th>stage</th><th>ms</th></tr>';
  const all: [string, number][] = [
    ...Object.entries(demo.setup).map(([k, v]): [string, number] => [`${k} (once)`, v]),
    ...Object.entries(r.timings),
  ];
  for (const [k, v] of all) {
    const row = timings.insertRow();
    row.insertCell().textContent = k;
    Object.assign(row.insertCell(), { textContent: ms(v), className: 'num' });
  }
  const total = Object.values(r.timings).reduce((a, b) => a + b, 0);
  const row = timings.insertRow();
  row.insertCell().textContent = `run total (${r.pieces} pieces, ${r.entities.length} entities, run ${demo.runs})`;
  Object.assign(row.insertCell(), { textContent: ms(total), className: 'num' });
  $('results').hidden = false;
}

async function run(): Promise<void> {
  if (!encoder || !loaded) return;
  clearError();
  const button = $<HTMLButtonElement>('run');
  button.disabled = true;
  demo.state = 'running';
  try {
    const t0 = performance.now();
    const doc = selectedDocument();
    const parse = performance.now() - t0;
    const r = await runDocument(doc, encoder, loaded);
    const timings = { 'read input': parse, ...r.timings };
    demo.runs++;
    render({ ...r, timings }, loaded);
    demo.result = {
      title: doc.title,
      triples: r.triples,
      timings,
      entities: r.entities,
      pieces: r.pieces,
      iterationPredictions: r.iterations.map((m) => decodeMatrix(m.probs, loaded!.topK).size),
    };
    demo.state = 'done';
  } catch (e) {
    showError(e);
    demo.state = 'error';
  } finally {
    button.disabled = false;
  }
}

/** The text with each mention marked (entity id as a subscript, type on hover). */
function markedText(r: ExtractResult): Node[] {
  const text = r.text ?? '';
  const spans = r.entities
    .flatMap((e) => e.mentions.map((m) => ({ ...m, e })))
    .sort((a, b) => a.start - b.start);
  const out: Node[] = [];
  let at = 0;
  for (const m of spans) {
    if (m.start < at) continue; // overlapping mentions: the first one is marked
    out.push(document.createTextNode(text.slice(at, m.start)));
    const mark = Object.assign(document.createElement('mark'), {
      textContent: text.slice(m.start, m.end),
      title: `${m.e.type} [${m.e.id}] ${m.e.name}`,
    });
    mark.append(Object.assign(document.createElement('sub'), { textContent: String(m.e.id) }));
    out.push(mark);
    at = m.end;
  }
  out.push(document.createTextNode(text.slice(at)));
  return out;
}

function renderText(r: ExtractResult): void {
  $('text-marked').replaceChildren(...markedText(r));
  const fill = (id: string, head: string[], rows: string[][], empty: string) => {
    const table = $<HTMLTableElement>(id);
    table.innerHTML = '';
    const tr = table.insertRow();
    for (const h of head) tr.append(Object.assign(document.createElement('th'), { textContent: h }));
    for (const cells of rows) {
      const row = table.insertRow();
      for (const v of cells) row.insertCell().textContent = v;
    }
    if (rows.length === 0) table.insertRow().insertCell().textContent = empty;
  };
  fill(
    'text-entities',
    ['', 'entity', 'type', 'mentions (characters)'],
    r.entities.map((e) => [
      `[${e.id}]`,
      e.name,
      e.type,
      e.mentions.map((m) => `${m.text} ${m.start}–${m.end}`).join(', '),
    ]),
    'no entity found',
  );
  const name = (i: number) => `${r.entities[i]!.name} [${i}]`;
  fill(
    'text-triples',
    ['subject', 'relation', 'object', 'score'],
    r.triples.map((t) => [
      name(t.head),
      `${t.relationName} (${t.relation})`,
      name(t.tail),
      t.score.toFixed(3),
    ]),
    r.entities.length < 2 ? 'fewer than two entities: no pair to classify' : 'no relation predicted',
  );
  $('text-results').hidden = false;
}

/** The plain-text box: `extract(text)` with the shipped model (loaded on the first run, then reused). */
async function runText(): Promise<void> {
  clearError();
  const button = $<HTMLButtonElement>('run-text');
  button.disabled = true;
  demo.state = 'running';
  try {
    const text = $<HTMLTextAreaElement>('plain').value;
    if (text.trim() === '') throw new DemoError('plain text: the box is empty');
    const t0 = performance.now();
    const [r] = await extract(text, {
      modelDir: `${base}models/shipped/`,
      embeddedDir: `${base}embedded-en`,
    }).catch((e: unknown) => {
      throw new DemoError(
        `cannot run the shipped model (models/shipped/): ${(e as Error).message.split('\n')[0]}`,
      );
    });
    if (r!.error) throw new DemoError(`plain text: ${r!.error}`);
    demo.text = {
      entities: r!.entities,
      triples: r!.triples,
      ms: performance.now() - t0,
      first: demo.textRuns === 0,
    };
    demo.textRuns++;
    renderText(r!);
    demo.state = 'done';
  } catch (e) {
    showError(e);
    demo.state = 'error';
  } finally {
    button.disabled = false;
  }
}

async function fetchText(path: string): Promise<string> {
  const res = await fetch(path);
  if (!res.ok) throw new DemoError(`cannot fetch '${path}' (HTTP ${res.status})`);
  return res.text();
}

const MARKED_SAMPLE = `[Anthony Steel|PER] was an English film actor .
[Steel|PER|Anthony Steel] was born in [Chelsea|LOC] , [London|LOC] .
[He|PER|Anthony Steel] starred in [The Wooden Horse|MISC] in [1950|TIME] .`;

async function main(): Promise<void> {
  $('sample-json').addEventListener(
    'click',
    () =>
      void fetchText(`${base}samples/re-docred-sample.json`)
        .then(
          (t) => (
            ($<HTMLTextAreaElement>('input').value = t),
            ($<HTMLSelectElement>('format').value = 'auto')
          ),
        )
        .catch(showError),
  );
  $('sample-text').addEventListener('click', () => {
    $<HTMLTextAreaElement>('input').value = MARKED_SAMPLE;
    $<HTMLSelectElement>('format').value = 'auto';
  });
  $('run').addEventListener('click', () => void run());
  $('run-text').addEventListener('click', () => void runText());
  $('load-url').addEventListener('click', () => {
    const dir = $<HTMLInputElement>('model-url').value.trim();
    void loadModelFrom(dir.startsWith('/') ? dir : `${base}${dir}`).catch(showError);
  });
  $('model-files').addEventListener('change', () => {
    const files = [...($<HTMLInputElement>('model-files').files ?? [])];
    void (async () => {
      clearFiles('/picked/');
      for (const f of files) putFile(`/picked/${f.name}`, new Uint8Array(await f.arrayBuffer()));
      await loadModelFrom('/picked/');
    })().catch(showError);
  });

  const t0 = performance.now();
  const { info, fallback } = await startBackend(
    params.get('backend') === 'wasm' ? 'wasm' : 'webgpu',
    `${base}tfjs-wasm/`,
  );
  demo.setup['backend init'] = performance.now() - t0;
  demo.backend = info.backend;
  demo.adapter =
    info.adapter ??
    (info.wasm
      ? `wasm simd ${info.wasm.simd}, threads ${info.wasm.threads ? info.wasm.threadsCount : 'off'}`
      : undefined);
  if (fallback) {
    demo.fallback = fallback;
    const n = $('notice');
    n.textContent = `WebGPU is not available (${fallback}); running on the wasm backend instead (slower).`;
    n.hidden = false;
  }
  setStatus();
  $<HTMLButtonElement>('run-text').disabled = false; // extract loads its own model and encoder
  const t1 = performance.now();
  encoder = await loadEncoder(`${base}embedded-en`);
  demo.setup['encoder load'] = performance.now() - t1;
  const model = params.get('model');
  await loadModelFrom(model ? (model.startsWith('/') ? model : `${base}${model}`) : `${base}models/fixture/`);
  $<HTMLTextAreaElement>('input').value = await fetchText(`${base}samples/re-docred-sample.json`);
  $<HTMLButtonElement>('run').disabled = false;
  demo.state = 'ready';
}

main().catch((e) => {
  showError(e);
  demo.state = 'error';
});
