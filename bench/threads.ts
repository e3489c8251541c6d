/**
 * Two threads against one on the wasm backend (`initBackend('wasm', { threads })`,
 * src/core/wasm-threads.ts): every case runs in its own child process per thread count (the pool
 * size is fixed when the backend starts), alternating 1, 2, 1, 2, … for `--rounds` rounds; a
 * cell is the fastest child's median. Prints one markdown table of the ratios and the load
 * average before and after (other processes on the machine take cores from both sides).
 *
 *   npx tsx bench/threads.ts                 # full: DocRED-scale ATLOP head, 20 encoder documents
 *   npx tsx bench/threads.ts --quick         # small sizes, a smoke run
 *   npx tsx bench/threads.ts --rounds 3 --docs 50 --only matmul,atlop
 *
 * Cases: the 512² matmul; the ATLOP head (ATLOPModel, paper sizes: embSize 768, block 64)
 * forward+backward at e = 42, n = 512, d = 768, r = 97, h = 12; one Adam step of each of the five
 * models at bench/models.ts' --quick sizes (b 4, n 128, e 10, d 512, r 97); the embedded encoder
 * over the first `--docs` bundled Re-DocRED documents (default 20; batches of 4, as the feature
 * cache encodes); the feature cache's encoding pass over `--cache-docs` documents (default 40) in
 * the calling thread against two encoder threads (documents in parallel, `startEncodeThreads`);
 * and `docre-kit predict` (the whole command) with the demo's model
 * (test/fixtures/browser-model) over the first `--predict-docs` documents (default 20).
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeInBatches, fmt, markdownTable, option, timeMs } from './common.js';
import { initBackend } from '../src/core/backend.js';
import { bundledAssetPath } from '../src/data/assets.js';
import { readDocRED } from '../src/data/docred.js';
import { Featurizer } from '../src/data/featurize.js';
import { EmbeddedEncoder } from '../src/encoders/embedded.js';
import { cacheFeatures } from '../src/encoders/cache.js';
import { startEncodeThreads } from '../src/encoders/encode-threads.js';
import { ATLOPModel, createModel, disposeInput, MODEL_NAMES, syntheticBatch } from '../src/models/index.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const rounds = Number(option('rounds', '2'));
const docs = Number(option('docs', quick ? '4' : '20'));
const predictDocs = Number(option('predict-docs', quick ? '4' : '20'));
const only = argv.includes('--only') ? option('only', '').split(',') : undefined;

/** The measured cases: name, shape text, and the child-side run returning milliseconds. */
interface Case {
  readonly name: string;
  readonly shape: string;
  readonly run: () => Promise<number>;
}

const HEAD = quick
  ? { e: 8, n: 64, d: 64, r: 11, h: 4, emb: 64, k: 16 }
  : { e: 42, n: 512, d: 768, r: 97, h: 12, emb: 768, k: 64 };
const STEP = quick ? { b: 2, n: 32, e: 5, d: 64, h: 2, r: 11 } : { b: 4, n: 128, e: 10, d: 512, h: 4, r: 97 };
const STEP_CONFIGS: Record<string, Record<string, unknown>> = quick
  ? {
      atlop: { embSize: 16, blockSize: 4 },
      docunet: { unetChannels: 8, unetOut: 8, embSize: 16, blockSize: 4 },
      dremir: { pairSize: 16, numLayers: 1, ffnDim: 16 },
      gtn: { numLayers: 1, embSize: 16, blockSize: 4 },
      docreii: { pairSize: 16, numLayers: 1, iterations: 2, ffnDim: 16 },
    }
  : {
      atlop: { embSize: 128, blockSize: 16 },
      docunet: { unetChannels: 32, unetOut: 64, embSize: 128, blockSize: 16 },
      dremir: { pairSize: 128, numLayers: 2, ffnDim: 256, docPooling: 'mean' },
      gtn: { numLayers: 1, embSize: 128, blockSize: 16, docPooling: 'mean' },
      docreii: { pairSize: 128, numLayers: 2, iterations: 3, ffnDim: 256 },
    };

function readDocs(limit: number) {
  const text = readFileSync(bundledAssetPath('re-docred/dev_revised.json'), 'utf8');
  const all = E.getOrElseW((e: unknown) => {
    throw new Error(String(e));
  })(readDocRED(text));
  return all.slice(0, limit);
}

const matmul: Case = {
  name: 'matmul 512²',
  shape: '[512,512]·[512,512]',
  run: async () => {
    const a = tf.randomUniform([512, 512], -1, 1, 'float32', 1);
    const b = tf.randomUniform([512, 512], -1, 1, 'float32', 2);
    return timeMs(() => tf.matMul(a, b), { warmup: 3, reps: 15 });
  },
};

const atlopHead: Case = {
  name: 'ATLOP head fwd+bwd',
  shape: `e ${HEAD.e}, n ${HEAD.n}, d ${HEAD.d}, r ${HEAD.r}, h ${HEAD.h}; emb ${HEAD.emb}, block ${HEAD.k}`,
  run: async () => {
    const { e, n, d, r, h, emb, k } = HEAD;
    const model = new ATLOPModel({ hiddenSize: d, numClasses: r, embSize: emb, blockSize: k });
    const batch = syntheticBatch({ b: 1, n, d, h, e, m: 3, r, seed: 1 });
    const vars = model.trainableVariables();
    const ms = await timeMs(
      () => tf.variableGrads(() => model.forward(batch, { training: true }).losses['total']!, vars).grads,
      { warmup: 1, reps: quick ? 3 : 2 },
    );
    disposeInput(batch);
    model.dispose();
    return ms;
  },
};

const trainSteps: Case[] = MODEL_NAMES.map((name) => ({
  name: `${name} training step`,
  shape: `b ${STEP.b}, n ${STEP.n}, e ${STEP.e}, d ${STEP.d}, r ${STEP.r} (Adam)`,
  run: async () => {
    const model = createModel(name, { hiddenSize: STEP.d, numClasses: STEP.r, ...STEP_CONFIGS[name] });
    const batch = syntheticBatch({ ...STEP, m: 3, seed: 1, graph: name === 'gtn' });
    const vars = model.trainableVariables();
    const optimizer = tf.train.adam(1e-3);
    const ms = await timeMs(
      () => optimizer.minimize(() => model.forward(batch, { training: true }).losses['total']!, true, vars)!,
      { warmup: 1, reps: quick ? 2 : 3 },
    );
    optimizer.dispose();
    disposeInput(batch);
    model.dispose();
    return ms;
  },
}));

const encoder: Case = {
  name: 'embedded encoder',
  shape: `first ${docs} bundled Re-DocRED docs, batches of 4`,
  run: async () => {
    const enc = await EmbeddedEncoder.load();
    const featurizer = new Featurizer(enc.tokenizer, { markers: 'star' });
    const features = readDocs(docs).map((doc, i) =>
      E.getOrElseW((e: unknown) => {
        throw new Error(String(e));
      })(featurizer.featurize(doc, i)),
    );
    const encodeAll = () => encodeInBatches(enc, features);
    const warm = enc.encode(
      tf.tensor2d([features[0]!.inputIds.slice(0, 64)], undefined, 'int32'),
      tf.ones([1, 64]) as tf.Tensor2D,
    );
    await warm.hidden.data();
    tf.dispose([warm.hidden, warm.attention]);
    const t0 = performance.now();
    await encodeAll();
    return performance.now() - t0;
  },
};

/**
 * The feature cache's encoding pass (`cacheFeatures`, batches of 4) over the first `--cache-docs`
 * documents: 1 = the calling thread; 2 = two encoder threads (`startEncodeThreads`: documents in
 * parallel, each thread one wasm thread), started before the clock.
 */
const cacheDocs = Number(option('cache-docs', quick ? '8' : '40'));
const encodeThreads: Case = {
  name: 'feature cache, encoder threads',
  shape: `first ${cacheDocs} bundled Re-DocRED docs, batches of 4; 2 = two document threads`,
  run: async () => {
    const threads = Number(option('threads', '1'));
    const enc = await EmbeddedEncoder.load();
    const docsIn = readDocs(cacheDocs).map((doc, i) => {
      const f = E.getOrElseW((e: unknown) => {
        throw new Error(String(e));
      })(new Featurizer(enc.tokenizer, { markers: 'star' }).featurize(doc, i));
      return {
        inputIds: f.inputIds,
        queryPositions: [...new Set(f.mentionStart.flat().filter((p) => p >= 0))].sort((a, b) => a - b),
      };
    });
    const pool = threads > 1 ? await startEncodeThreads({ count: threads }) : undefined;
    const dir = mkdtempSync(join(tmpdir(), 'docre-cache-bench-'));
    try {
      const t0 = performance.now();
      await cacheFeatures(docsIn, enc, { dir, batchSize: 4, ...(pool ? { pool } : {}) });
      return performance.now() - t0;
    } finally {
      await pool?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/** `docre-kit predict` as a user runs it: a whole process, timed from the parent. */
const PREDICT = {
  name: 'docre-kit predict',
  shape: `the demo's DocRE-II over ${predictDocs} docs, whole command`,
};

const CASES: Case[] = [matmul, atlopHead, ...trainSteps, encoder, encodeThreads];
const selected = (name: string) => !only || only.some((o) => name.includes(o));

if (argv.includes('--child')) {
  const threads = Number(option('threads', '1'));
  const info = await initBackend('wasm', { threads });
  const c = CASES.find((x) => x.name === option('child', ''))!;
  const ms = await c.run();
  console.log(JSON.stringify({ ms, threadsCount: info.wasm?.threadsCount }));
} else {
  const script = fileURLToPath(import.meta.url);
  const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const work = mkdtempSync(join(tmpdir(), 'docre-threads-'));
  const data = join(work, 'docs.json');
  writeFileSync(
    data,
    JSON.stringify(
      JSON.parse(readFileSync(bundledAssetPath('re-docred/dev_revised.json'), 'utf8')).slice(0, predictDocs),
    ),
  );
  const node = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 16 << 20,
    });
  const child = (c: string, threads: number): number => {
    const res = node([script, ...argv, '--child', c, '--threads', String(threads)]);
    const out = JSON.parse(res.stdout.trim().split('\n').at(-1) ?? 'null') as {
      ms: number;
      threadsCount: number;
    } | null;
    if (!out) throw new Error(`${c} with ${threads} threads: the child exited with ${res.status}`);
    if (out.threadsCount !== threads)
      throw new Error(`${c}: asked for ${threads} threads, the backend runs ${out.threadsCount}`);
    return out.ms;
  };
  const predict = (threads: number): number => {
    const t0 = performance.now();
    const res = node([
      main,
      'predict',
      '--model-dir',
      fileURLToPath(new URL('../test/fixtures/browser-model', import.meta.url)),
      '--data',
      data,
      '--out',
      join(work, 'result.json'),
      '-q',
      '--threads',
      String(threads),
    ]);
    if (res.status !== 0) throw new Error(`predict with ${threads} threads exited with ${res.status}`);
    return performance.now() - t0;
  };
  const load0 = loadavg();
  const rows: string[][] = [];
  const jobs: { name: string; shape: string; run: (t: number) => number }[] = [
    ...CASES.map((c) => ({ name: c.name, shape: c.shape, run: (t: number) => child(c.name, t) })),
    { ...PREDICT, run: predict },
  ];
  for (const job of jobs.filter((j) => selected(j.name))) {
    const times: Record<number, number[]> = { 1: [], 2: [] };
    for (let round = 0; round < rounds; round++)
      for (const t of [1, 2]) {
        times[t]!.push(job.run(t));
        process.stderr.write(`${job.name}, ${t} thread(s): ${fmt(times[t]!.at(-1)!)} ms\n`);
      }
    const [one, two] = [Math.min(...times[1]!), Math.min(...times[2]!)];
    rows.push([job.name, job.shape, fmt(one), fmt(two), `**${(one / two).toFixed(2)}×**`]);
  }
  rmSync(work, { recursive: true, force: true });
  const load1 = loadavg();
  console.log(
    `\n## Two threads against one (wasm) — bench/threads.ts${quick ? ' --quick' : ''}\n\n` +
      `${rounds} rounds (1, 2, 1, 2, …; one child process each), fastest child's median; ` +
      `load average ${load0.map((x) => x.toFixed(1)).join(' ')} before, ${load1.map((x) => x.toFixed(1)).join(' ')} after.\n`,
  );
  console.log(markdownTable(['case', 'shape', '1 thread ms', '2 threads ms', '1 / 2'], rows));
}
