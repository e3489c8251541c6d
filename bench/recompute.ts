/**
 * Gradient checkpointing (`recompute`, src/core/gradients.ts) of DRE-MIR's and DocRE-II's
 * inference layers: one training step (forward + backward, stage 2 for DocRE-II) with and without
 * it, on synthetic cached features (b = 4, n = 512, d = 512, h = 4, r = 97, the examples' model
 * sizes): loss (must be equal), wall time of one step and the peak bytes `tf.profile` reports.
 *
 *   npx tsx bench/recompute.ts [--backend wasm] [--models dremir,docreii] [--e 30]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../src/core/backend.js';
import {
  createModel,
  DocREIIModel,
  disposeInput,
  syntheticBatch,
  type ModelName,
} from '../src/models/index.js';
import { EXAMPLE_MODELS } from '../examples/redocred.js';
import { option } from './common.js';

const backend = option('backend', 'wasm') as BackendName;
const models = option('models', 'dremir,docreii').split(',') as ModelName[];
const e = Number(option('e', '30'));
await initBackend(backend);
const batch = syntheticBatch({ b: 4, n: 512, d: 512, h: 4, e, m: 3, r: 97, seed: 1 });
const rows: string[] = [];
for (const name of models)
  for (const recompute of [false, true]) {
    const model = createModel(name, {
      hiddenSize: 512,
      numClasses: 97,
      ...EXAMPLE_MODELS[name].config,
      recompute,
    });
    if (model instanceof DocREIIModel) model.setStage(2);
    const vars = model.trainableVariables();
    const step = async () => {
      const { value, grads } = tf.variableGrads(
        () => model.forward(batch, { training: true }).losses['total']!,
        vars,
      );
      const loss = (await value.data())[0]!;
      tf.dispose([value, ...Object.values(grads)]);
      return loss;
    };
    await step(); // warm-up
    const t0 = performance.now();
    const loss = await step();
    const ms = performance.now() - t0;
    const { peakBytes } = await tf.profile(async () => void (await step()));
    rows.push(
      `| ${name} | ${recompute} | ${loss.toFixed(6)} | ${ms.toFixed(0)} | ${(peakBytes / 2 ** 20).toFixed(0)} |`,
    );
    console.error(rows.at(-1));
    model.dispose();
  }
disposeInput(batch);
console.log(`\nTraining step with / without recompute (${backend}, b = 4, n = 512, e = ${e}, d = 512)\n`);
console.log('| model | recompute | loss | ms / step | peak MiB |\n|---|---|---:|---:|---:|');
console.log(rows.join('\n'));
