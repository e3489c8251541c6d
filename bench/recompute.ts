/**
 * Gradient checkpointing (`recompute`, src/core/gradients.ts) of DRE-MIR's and DocRE-II's
 * inference layers: one training step (forward + backward, stage 2 for DocRE-II) with and without
 * it, on synthetic cached features (b = 4, n = 512, d = 512, h = 4, r = 97, the examples' model
 * sizes): loss (must be equal), wall time of one step and the peak bytes `tf.profile` reports.
 * `--preset` builds the paper presets instead (`PRESETS`: pair width 768, DRE-MIR 3 layers) on
 * d = 768 features (BERT-base width); `--b` sets the batch (DocRE-II's preset trains at 8).
 * A configuration that does not fit the backend's memory is reported as such, not as a crash.
 *
 *   npx tsx bench/recompute.ts [--backend wasm] [--models dremir,docreii] [--e 30] [--b 4] [--preset] [--recompute both|on|off] [--once]
 *
 * `--once`: a single (profiled) step per configuration, its time including the warm-up.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../src/core/backend.js';
import { leanVariableGrads } from '../src/core/gradients.js';
import {
  createModel,
  DocREIIModel,
  disposeInput,
  PRESETS,
  syntheticBatch,
  type ModelName,
} from '../src/models/index.js';
import { EXAMPLE_MODELS } from '../examples/redocred.js';
import { option } from './common.js';

const backend = option('backend', 'wasm') as BackendName;
const models = option('models', 'dremir,docreii').split(',') as ModelName[];
const e = Number(option('e', '30'));
const b = Number(option('b', '4'));
const preset = process.argv.includes('--preset');
// one profiled step only (no warm-up, no separately timed step): its time includes the warm-up
const once = process.argv.includes('--once');
const d = preset ? 768 : 512;
await initBackend(backend);
const batch = syntheticBatch({ b, n: 512, d, h: 4, e, m: 3, r: 97, seed: 1 });
const rows: string[] = [];
// an out-of-memory abort leaves the wasm module unusable: measure such configurations one per process
const modeArg = option('recompute', 'both');
const modes = { both: [false, true], on: [true], off: [false] }[modeArg];
if (!modes) throw new Error(`--recompute: expected both, on or off, got ${modeArg}`);
for (const name of models)
  for (const recompute of modes) {
    const model = createModel(name, {
      hiddenSize: d,
      numClasses: 97,
      ...(preset ? PRESETS[name].model : EXAMPLE_MODELS[name].config),
      recompute,
    });
    if (model instanceof DocREIIModel) model.setStage(2);
    const vars = model.trainableVariables();
    const step = async () => {
      // the Trainer's backward pass (frees gradients and saved tensors as it goes)
      const { value, grads } = leanVariableGrads(
        () => model.forward(batch, { training: true }).losses['total']!,
        vars,
      );
      const loss = (await value.data())[0]!;
      tf.dispose([value, ...Object.values(grads)]);
      return loss;
    };
    try {
      let loss = once ? NaN : await step(); // warm-up
      const t0 = performance.now();
      if (!once) loss = await step();
      let ms = performance.now() - t0;
      const t1 = performance.now();
      const { peakBytes } = await tf.profile(async () => void (loss = await step()));
      if (once) ms = performance.now() - t1;
      rows.push(
        `| ${name} | ${recompute} | ${loss.toFixed(6)} | ${ms.toFixed(0)} | ${(peakBytes / 2 ** 20).toFixed(0)} |`,
      );
    } catch (err) {
      // the wasm heap (4 GiB) cannot hold the step: a result of the bench, not a failure of it;
      // any other error is a bug and stops the bench
      if (!/memory|Aborted/i.test(String((err as Error).message))) throw err;
      rows.push(
        `| ${name} | ${recompute} | out of memory: ${String((err as Error).message).slice(0, 80)} | | |`,
      );
    }
    console.error(rows.at(-1));
    model.dispose();
  }
disposeInput(batch);
console.log(
  `\nTraining step with / without recompute (${backend}, b = ${b}, n = 512, e = ${e}, d = ${d}, ${preset ? 'paper presets' : "the examples' sizes"})\n`,
);
console.log(
  `| model | recompute | loss | ms / step${once ? ' (one step, incl. warm-up)' : ''} | peak MiB |\n|---|---|---:|---:|---:|`,
);
console.log(rows.join('\n'));
