/**
 * A digest of every paper model's initial weights: one line per weight (model / config / seed /
 * stable path → shape and the first 12 hex digits of the sha1 of its float32 bytes), on the cpu
 * backend, for the tests' tiny configs (`TINY_CONFIGS`) and the examples' (`EXAMPLE_MODELS`),
 * seeds 0 and 3. Run it at two commits and diff the outputs: a refactor of weight building or naming must print the same lines
 * (checkpoint names of the first format, `part/<i>:weight`, are printed as `part/weight`).
 *
 *   npx tsx scripts/weights-digest.ts > before.txt   # then, at the other commit: diff before.txt -
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { createModel, MODEL_NAMES, type BaseModel, type CommonModelConfig } from '../src/models/index.js';
import { EXAMPLE_MODELS } from '../examples/redocred.js';
import { TINY_CONFIGS } from '../test/models/model-suite.js';

await tf.setBackend('cpu');
const examples = Object.fromEntries(Object.entries(EXAMPLE_MODELS).map(([name, m]) => [name, m.config]));
for (const name of MODEL_NAMES)
  for (const [tag, config, d, r] of [
    ['tiny', TINY_CONFIGS[name], 16, 4],
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
