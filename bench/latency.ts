/**
 * Inference latency per document, end to end, with the embedded encoder: tokenize + featurize
 * (`Featurizer`) → encode (`EmbeddedEncoder`, no cache) → heads (`model.predict`, the examples'
 * model sizes) → triples (`triplesFromPredictions`). One document at a time (b = 1), the last
 * `--docs` validation documents of the bundled Re-DocRED split; one untimed warm-up document
 * first. Weights are the untrained initial ones: latency does not depend on their values.
 *
 *   npx tsx bench/latency.ts [--quick] [--backends wasm,webgpu] [--models atlop,...] [--docs 5]
 *
 * Prints one row per backend × model: median ms per stage and in total. Timings depend on load.
 */
import { option } from './common.js';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { initBackend, type BackendName } from '../src/core/backend.js';
import {
  collate,
  Featurizer,
  loadBundledReDocRED,
  reDocREDSplit,
  RelationSchema,
  triplesFromPredictions,
} from '../src/data/index.js';
import { EmbeddedEncoder } from '../src/encoders/index.js';
import { createModel, MODEL_NAMES, type ModelName } from '../src/models/index.js';
import { EXAMPLE_MODELS } from '../examples/redocred.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const backends = option('backends', 'wasm,webgpu').split(',') as BackendName[];
const models = option('models', quick ? 'atlop,docreii' : MODEL_NAMES.join(',')).split(',') as ModelName[];
const nDocs = Number(option('docs', quick ? '2' : '5'));

const right = <A>(e: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(e)) throw new Error(e.left.message);
  return e.right;
};
const docs = reDocREDSplit(right(await loadBundledReDocRED()())).validation.slice(-(nDocs + 1));
const schema = RelationSchema.docred();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const rows: string[][] = [];
for (const backend of backends) {
  await initBackend(backend);
  const encoder = await EmbeddedEncoder.load();
  const featurizer = new Featurizer(encoder.tokenizer, { markers: 'star' });
  for (const name of models) {
    const model = createModel(name, {
      hiddenSize: 512,
      numClasses: schema.size,
      ...EXAMPLE_MODELS[name].config,
    });
    const times: number[][] = [];
    for (const doc of docs) {
      const t0 = performance.now();
      const feature = right(featurizer.featurize(doc));
      const batch = right(collate([feature], schema, { graph: name === 'gtn' }));
      const t1 = performance.now();
      const enc = await encoder.encodeAsync(batch.inputIds, batch.attentionMask);
      await enc.hidden.data();
      const t2 = performance.now();
      const multiHot = model.predict({ ...batch, hidden: enc.hidden, attention: enc.attention });
      const values = (await multiHot.array()) as number[][][][];
      const t3 = performance.now();
      right(triplesFromPredictions(values, batch.titles, schema, batch.entityCounts));
      const t4 = performance.now();
      tf.dispose([multiHot, enc.hidden, enc.attention, batch as unknown as tf.TensorContainer]);
      times.push([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0]);
    }
    const timed = times.slice(1); // the first document warms up kernels / shaders
    const cols = [0, 1, 2, 3, 4].map((k) => median(timed.map((t) => t[k]!)).toFixed(k === 3 ? 2 : 0));
    rows.push([backend, name, ...cols]);
    console.error(`${backend} ${name}: ${cols[4]} ms/doc`);
    model.dispose();
  }
  encoder.dispose();
}
console.log(
  `\nInference latency per document (b = 1, median of ${nDocs} Re-DocRED validation documents after one warm-up; embedded encoder, untrained heads of the examples' sizes)\n`,
);
console.log(
  '| backend | model | featurize ms | encode ms | heads ms | triples ms | total ms |\n|---|---|---:|---:|---:|---:|---:|',
);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
