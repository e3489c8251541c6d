/**
 * Child process of test/core/wasm-threads.test.ts: starts wasm with `--threads N`, then prints one
 * JSON line with the info and the outputs of a 256×384·384×320 matmul, a 3×3 conv2d
 * [1,32,32,16]→32, and one Adam step of each of the five models (tiny sizes, seeded): the step's
 * loss and every trained variable afterwards.
 *
 *   node --import tsx test/core/threads-child.ts --threads 2
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/core/backend.js';
import { createModel, disposeInput, MODEL_NAMES, syntheticBatch } from '../../src/models/index.js';

const threads = Number(process.argv[process.argv.indexOf('--threads') + 1]);
const info = await initBackend('wasm', { threads });
const rand = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);
const matmul = Array.from(tf.matMul(rand([256, 384], 1), rand([384, 320], 2)).dataSync());
const conv = Array.from(
  tf
    .conv2d(rand([1, 32, 32, 16], 3) as tf.Tensor4D, rand([3, 3, 16, 32], 4) as tf.Tensor4D, 1, 'same')
    .dataSync(),
);
const configs: Record<string, Record<string, unknown>> = {
  atlop: { embSize: 16, blockSize: 4 },
  docunet: { unetIn: 3, unetChannels: 8, unetOut: 8, embSize: 16, blockSize: 4 },
  dremir: { pairSize: 16, ffnDim: 16, numLayers: 2 },
  gtn: { numLayers: 1, embSize: 16, blockSize: 4, numEntityIds: 8, numSentenceIds: 4 },
  docreii: { pairSize: 16, ffnDim: 16, numLayers: 1, iterations: 2 },
};
const models: Record<string, { loss: number; weights: number[] }> = {};
for (const name of MODEL_NAMES) {
  const model = createModel(name, { hiddenSize: 32, numClasses: 4, seed: 3, ...configs[name] });
  const batch = syntheticBatch({ b: 2, n: 24, d: 32, h: 2, e: 5, r: 4, seed: 5, graph: name === 'gtn' });
  const vars = model.trainableVariables();
  const optimizer = tf.train.adam(1e-2);
  const cost = optimizer.minimize(
    () => model.forward(batch, { training: true }).losses['total']!,
    true,
    vars,
  )!;
  models[name] = { loss: cost.dataSync()[0]!, weights: vars.flatMap((v) => Array.from(v.dataSync())) };
  cost.dispose();
  optimizer.dispose();
  disposeInput(batch);
  model.dispose();
}
console.log(JSON.stringify({ info, matmul, conv, models }));
