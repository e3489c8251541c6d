/**
 * The README's main job (`npm run main`). PROVISIONAL VERSION: the corpus pipeline and the
 * embedded encoder are still being built, so this trains the ATLOP head on synthetic encoder
 * features (random hidden states and attention, random labels) and prints the loss falling.
 * It will be replaced by training on the bundled Re-DocRED split with official scores.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/core/backend.js';
import { ATLOPModel, disposeInput, syntheticBatch } from '../src/models/index.js';

const backend = (process.env['DOCRE_BACKEND'] ?? 'wasm') as 'wasm';
await initBackend(backend);
const d = 64;
const r = 8;
const model = new ATLOPModel({ hiddenSize: d, numClasses: r, embSize: 64, blockSize: 16 });
const batches = [1, 2, 3, 4].map((seed) => syntheticBatch({ b: 2, n: 48, d, h: 4, e: 8, m: 3, r, seed }));
const optimizer = tf.train.adam(3e-3);
console.log(`ATLOP head on synthetic features (backend ${backend}): 4 batches × 2 docs, e=8, d=${d}, r=${r}`);
for (let epoch = 1; epoch <= 15; epoch++) {
  let sum = 0;
  for (const batch of batches) {
    const cost = optimizer.minimize(() => model.forward(batch, { training: true }).losses['total']!, true, model.trainableVariables());
    sum += cost!.dataSync()[0]!;
    cost!.dispose();
  }
  console.log(`epoch ${String(epoch).padStart(2)}  loss ${(sum / batches.length).toFixed(4)}`);
}
batches.forEach(disposeInput);
