/**
 * A digest of every paper model's initial weights: one line per weight (model / config / seed /
 * stable path → shape and the first 12 hex digits of the sha1 of its float32 bytes), on the cpu
 * backend, for the tests' tiny configs and the examples' configs, seeds 0 and 3. Run it at two
 * commits and diff the outputs: a refactor of weight building or naming must print the same lines
 * (checkpoint names of the first format, `part/<i>:weight`, are printed as `part/weight`).
 *
 *   npx tsx scripts/weights-digest.ts > before.txt   # then, at the other commit: diff before.txt -
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { createModel, MODEL_NAMES, type BaseModel, type CommonModelConfig } from '../src/models/index.js';

await tf.setBackend('cpu');
const tiny: Record<string, Record<string, unknown>> = {
  atlop: { embSize: 8, blockSize: 4 },
  docunet: { unetChannels: 4, unetOut: 4, embSize: 8, blockSize: 4 },
  dremir: { pairSize: 8, ffnDim: 8, numLayers: 1 },
  gtn: { numLayers: 1, embSize: 8, blockSize: 4, numEntityIds: 8, numSentenceIds: 4 },
  docreii: { pairSize: 8, ffnDim: 8, numLayers: 1, iterations: 1 },
};
const examples: Record<string, Record<string, unknown>> = {
  atlop: { embSize: 128, blockSize: 16 },
  docunet: { embSize: 128, blockSize: 16 },
  dremir: { pairSize: 128, numLayers: 2, ffnDim: 256, docPooling: 'mean' },
  gtn: { embSize: 128, blockSize: 16, numLayers: 2 },
  docreii: { pairSize: 128, numLayers: 2, ffnDim: 256 },
};
for (const name of MODEL_NAMES)
  for (const [tag, config, d, r] of [
    ['tiny', tiny[name], 16, 4],
    ['examples', examples[name], 512, 97],
  ] as const)
    for (const seed of [0, 3]) {
      const model = createModel(name, {
        hiddenSize: d,
        numClasses: r,
        seed,
        ...config,
      }) as unknown as BaseModel<CommonModelConfig>;
      for (const [path, v] of model.namedWeights()) {
        const bytes = Buffer.from(((await v.data()) as Float32Array).buffer);
        const digest = createHash('sha1').update(bytes).digest('hex').slice(0, 12);
        console.log(`${name}/${tag}/${seed}/${path.replace(/\/\d+:/, '/')} [${v.shape}] ${digest}`);
      }
      model.dispose();
    }
