/**
 * End-to-end fine-tuning memory and time: one full training step of a BERT-base-shaped encoder
 * (12 layers, d = 768, 12 heads, intermediate 3072, vocabulary 28996; random weights written as a
 * real Hugging Face directory — config.json + model.safetensors — and loaded with
 * `BertEncoder.fromPretrained`) + the ATLOP head (paper preset: emb 768, block 64, r = 97) + the
 * AdamW update, run by the `Trainer` exactly as `docre-kit train` runs it (clipping at 1, encoder /
 * head parameter groups, warmup schedule), batch 1, one document of n = 512 pieces (one window)
 * or 1024 (three windows: `planWindows` covers all 1022 inner pieces, where ATLOP's two windows
 * would drop two of them; two windows hold up to 1022 pieces), 20 entities of 1–3 mentions. With and without per-layer recomputation
 * (`BertEncoder` `recompute`: every layer but the last keeps only its input for the backward pass).
 *
 * Each configuration runs in its own child process (an out-of-memory abort leaves the wasm module
 * unusable) and takes one step (the first: it also allocates the AdamW moments) under
 * `tf.profile`: its wall time and the peak of live tensor bytes (parameters, moments, gradients
 * and activations, everything alive at once). "wasm heap MiB" is the wasm memory's size after the
 * step (it only grows): what the 4 GiB heap actually had to hold, fragmentation included.
 *
 *   nice -n 5 npx tsx bench/finetune.ts [--backend wasm] [--layers 2,6,12] [--n 512,1024] [--recompute both|on|off]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../src/core/backend.js';
import { BertEncoder, parseBertConfig } from '../src/encoders/bert.js';
import { planWindows } from '../src/encoders/encoder.js';
import { createModel, PRESETS, syntheticBatch } from '../src/models/index.js';
import { Trainer } from '../src/train/trainer.js';
import { option } from './common.js';

const BASE = {
  model_type: 'bert',
  vocab_size: 28996,
  hidden_size: 768,
  num_attention_heads: 12,
  intermediate_size: 3072,
  max_position_embeddings: 512,
};

interface Row {
  layers: number;
  n: number;
  recompute: boolean;
  loss?: number;
  stepMs?: number;
  peakBytes?: number;
  heapBytes?: number;
  error?: string;
}

/** One configuration in this process: load the directory, build ATLOP, two trainer steps. */
async function child(dir: string, layers: number, n: number, recompute: boolean, backend: BackendName): Promise<Row> {
  await initBackend(backend);
  const encoder = await BertEncoder.fromPretrained(dir, { trainable: true, recompute });
  const model = createModel('atlop', { ...PRESETS.atlop.model, hiddenSize: 768, numClasses: 97, encoder, seed: 1 });
  const collate = async (): Promise<ReturnType<typeof syntheticBatch>> => {
    const { hidden, attention, inputIds, ...rest } = syntheticBatch({ b: 1, n, d: 768, h: 12, e: 20, m: 3, r: 97, seed: 1 });
    tf.dispose([hidden!, attention!, inputIds!]);
    const ids = tf.tensor2d(Int32Array.from({ length: n }, (_, k) => 1000 + ((k * 7919) % 27000)), [1, n], 'int32');
    return { ...rest, inputIds: ids };
  };
  const p = PRESETS.atlop.training;
  const trainer = new Trainer<number>(model, {
    collate,
    epochs: 1,
    batchSize: 1,
    optimizer: { encoderLr: p.encoderLr, headLr: p.headLr, weightDecay: 0.01, epsilon: p.adamEpsilon },
    warmupRatio: 0, // a one-step run: the schedule's first step at full lr
    maxGradNorm: p.maxGradNorm,
    progress: false,
    seed: 1,
  });
  let loss = NaN;
  const t0 = performance.now();
  const prof = await tf.profile(async () => {
    loss = (await trainer.fit([0])).history[0]!.loss;
  });
  const stepMs = performance.now() - t0;
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm;
  return { layers, n, recompute, loss, stepMs, peakBytes: prof.peakBytes, heapBytes: wasm?.HEAPU8.length ?? NaN, ...(Number.isFinite(loss) ? {} : { error: 'non-finite loss' }) };
}

const script = fileURLToPath(import.meta.url);
const mib = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : (x / 2 ** 20).toFixed(0));

if (process.argv.includes('--child')) {
  const [dir, layers, n, rc] = option('child', '').split(',');
  const row = await child(dir!, Number(layers), Number(n), rc === '1', option('backend', 'wasm') as BackendName);
  process.stdout.write('\n' + JSON.stringify(row) + '\n');
  process.exit(0);
}

const backend = option('backend', 'wasm');
const layerList = option('layers', '2,6,12').split(',').map(Number);
const nList = option('n', '512,1024').split(',').map(Number);
const modes = { both: [false, true], on: [true], off: [false] }[option('recompute', 'both')];
if (!modes) throw new Error('--recompute: both, on or off');
await initBackend('cpu'); // writing the random checkpoints
const tmp = await mkdtemp(join(tmpdir(), 'docre-bench-finetune-'));
const rows: Row[] = [];
try {
  for (const layers of layerList) {
    const dir = join(tmp, `bert-${layers}`);
    const enc = BertEncoder.random(parseBertConfig({ ...BASE, num_hidden_layers: layers }), 1);
    await enc.save(dir);
    const params = enc.trainableVariables().reduce((a, v) => a + v.size, 0);
    enc.dispose();
    console.error(`${dir}: ${layers} layers, ${(params / 1e6).toFixed(1)} M parameters`);
    for (const n of nList.filter((x) => layers === Math.max(...layerList) || x === 512)) // 1024 pieces: the largest encoder only
      for (const recompute of modes) {
        const args = ['--import', 'tsx', script, '--child', `${dir},${layers},${n},${recompute ? 1 : 0}`, '--backend', backend];
        const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
        const line = r.stdout.trim().split('\n').at(-1) ?? '';
        let row: Row;
        try {
          row = JSON.parse(line) as Row;
        } catch {
          const lines = `${r.stderr}`.split('\n').filter((l) => l.length < 300); // not the wasm module's source
          const why = lines.find((l) => /out of memory|Aborted|RangeError/i.test(l)) ?? lines.find((l) => /Error/.test(l)) ?? `exit ${r.status} ${r.signal ?? ''}`;
          row = { layers, n, recompute, error: why.trim().slice(0, 90) };
        }
        rows.push(row);
        console.error(JSON.stringify(row));
      }
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}

console.log(`\nOne training step (encoder + ATLOP + AdamW), BERT-base shape, batch 1, ${backend}\n`);
console.log('| layers | pieces (windows) | recompute | step s | peak tensor MiB | wasm heap MiB | loss |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows)
  console.log(
    `| ${r.layers} | ${r.n} (${planWindows(r.n, { windowLength: 512, head: 1, tail: 1 }).length}) | ${r.recompute ? 'on' : 'off'} | ${r.error ? `failed: ${r.error}` : ((r.stepMs ?? 0) / 1000).toFixed(1)} | ${mib(r.peakBytes)} | ${mib(r.heapBytes)} | ${r.loss?.toFixed(4) ?? '—'} |`,
  );
console.log('\nRatios recompute on / off (same layers and pieces):\n');
console.log('| layers | pieces | step time | peak tensor bytes |');
console.log('| --- | --- | --- | --- |');
for (const on of rows.filter((r) => r.recompute && !r.error)) {
  const off = rows.find((r) => !r.recompute && r.layers === on.layers && r.n === on.n);
  const ratio = (a?: number, b?: number) => (a && b && !off?.error ? (a / b).toFixed(2) : off?.error ? 'off failed' : '—');
  console.log(`| ${on.layers} | ${on.n} | ${ratio(on.stepMs, off?.stepMs)} | ${ratio(on.peakBytes, off?.peakBytes)} |`);
}
