/**
 * Training throughput of the five models with cached (frozen-encoder) features: documents per
 * second of one optimizer step (forward + backward + Adam update), per backend.
 *
 *   npx tsx bench/models.ts [--quick] [--backends wasm,webgpu] [--models atlop,docunet,...] [--steps 3]
 *
 * Inputs are synthetic features of DocRED scale (full: n = 384 tokens, e = 20 entities, the
 * embedded encoder's d = 512 / h = 4; --quick: n = 128, e = 10), batch 4, and the model sizes of
 * the examples (reduced for CPU). A warm-up step (kernel compilation, weight creation) is not timed.
 * Prints a table; timings depend on the machine's load.
 */
import { option } from './common.js';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../src/core/backend.js';
import {
  createModel,
  disposeInput,
  MODEL_NAMES,
  syntheticBatch,
  type DocREModel,
} from '../src/models/index.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const backends = option('backends', 'wasm,webgpu').split(',') as BackendName[];
const models = option('models', MODEL_NAMES.join(',')).split(',');
const [n, e, b, d, h, r] = quick ? [128, 10, 4, 512, 4, 97] : [384, 20, 4, 512, 4, 97];
const steps = Number(option('steps', quick ? '2' : '3'));
if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps: expected a positive integer, got ${steps}`);

const configs: Record<string, Record<string, unknown>> = {
  atlop: { embSize: 128, blockSize: 16 },
  docunet: { unetChannels: 32, unetOut: 64, embSize: 128, blockSize: 16 },
  dremir: { pairSize: 128, numLayers: 2, ffnDim: 256, docPooling: 'mean' },
  gtn: { numLayers: 1, embSize: 128, blockSize: 16, docPooling: 'mean' },
  docreii: { pairSize: 128, numLayers: 2, iterations: 3, ffnDim: 256 },
};

async function step(
  model: DocREModel,
  optimizer: tf.Optimizer,
  vars: tf.Variable[],
  batch: ReturnType<typeof syntheticBatch>,
): Promise<void> {
  const cost = optimizer.minimize(
    () => model.forward(batch, { training: true }).losses['total']!,
    true,
    vars,
  );
  await cost!.data(); // wait for the device
  cost!.dispose();
}

const rows: string[][] = [];
for (const backend of backends) {
  await initBackend(backend);
  for (const name of models) {
    const model = createModel(name, { hiddenSize: d, numClasses: r, ...configs[name] });
    const batch = syntheticBatch({ b, n, d, h, e, m: 3, r, seed: 1, graph: name === 'gtn' });
    const vars = model.trainableVariables();
    const optimizer = tf.train.adam(1e-3);
    await step(model, optimizer, vars, batch); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await step(model, optimizer, vars, batch);
    const seconds = (performance.now() - t0) / 1000 / steps;
    rows.push([backend, name, (seconds * 1000).toFixed(0), (b / seconds).toFixed(2)]);
    console.error(`${backend} ${name}: ${(seconds * 1000).toFixed(0)} ms/step`);
    optimizer.dispose();
    disposeInput(batch);
    model.dispose();
  }
}
console.log(
  `\nTraining throughput, cached features (b = ${b}, n = ${n}, e = ${e}, d = ${d}, h = ${h}, r = ${r}; ${steps} timed steps${quick ? ', --quick' : ''})\n`,
);
console.log('| backend | model | ms / step | docs / s |\n|---|---|---:|---:|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
