/**
 * DocRE-II inference layer (eqs. 5–11), classifier (eq. 12) and iterative inference with
 * accumulated logits (src/heads/eca.ts): the STYLE.md ladder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BACKEND, assertNoLeak, tol, useTestBackend } from '../helpers.js';
import { ShapeError } from '../../src/core/errors.js';
import {
  InferenceLayer,
  IterativeInferenceLayer,
  inferenceLayer,
  inferenceModule,
  injectRelationNoise,
  iterativeInference,
  relationMatrix,
  thresholdDecode,
  type InferenceLayerParams,
  type IterativeInferenceParams,
} from '../../src/heads/inference.js';
import {
  flattenParams,
  makePairMask,
  near,
  permuteEntities,
  roundTripLayer,
  scalarOf,
  seeded,
  toTensors,
  unflattenParams,
  cpuWasmOnly,
  reasoningFixture,
} from './naive-reasoning.js';

await useTestBackend();

const fx = await reasoningFixture();

test('shapes: InferenceLayer → [F, R] [b,e,e,d]; IterativeInferenceLayer → [b,e,e,r]; errors', async () => {
  const [F, R] = [seeded([2, 3, 3, 8], 1), seeded([2, 3, 3, 8], 2)];
  const pm = makePairMask(3, [3, 2]);
  const layer = new InferenceLayer({ ffnDim: 8 });
  const out = layer.apply([F, R, pm]) as tf.Tensor[];
  assert.deepEqual(
    out.map((t) => t.shape),
    [
      [2, 3, 3, 8],
      [2, 3, 3, 8],
    ],
  );
  assert.deepEqual(
    layer.computeOutputShape([
      [null, 3, 3, 8],
      [null, 3, 3, 8],
      [null, 3, 3],
    ]),
    [
      [null, 3, 3, 8],
      [null, 3, 3, 8],
    ],
  );
  const it = new IterativeInferenceLayer({ numLayers: 1, iterations: 2, ffnDim: 8 });
  const logits = it.apply([F, seeded([2, 3, 3, 5], 3), pm]) as tf.Tensor;
  assert.deepEqual(logits.shape, [2, 3, 3, 5]);
  assert.throws(() => inferenceLayer(F, seeded([2, 3, 3, 4], 1), pm, layer.params()), ShapeError);
  assert.throws(
    () => new IterativeInferenceLayer({ numLayers: 0 }),
    /numLayers: expected an integer ≥ 1, got 0/,
  );
  assert.throws(
    () => iterativeInference(F, seeded([2, 3, 3, 5], 3), pm, it.params(), { iterations: 0 }),
    /iterations/,
  );
});

test('closed forms: threshold decoding, relation matrix = sum of embeddings', async () => {
  const logits = tf.tensor2d([
    [0, 1, -1, 2],
    [0, -1, -2, -3],
    [1, 1, 1, 1],
  ]);
  await near(
    thresholdDecode(logits),
    tf.tensor2d([
      [0, 1, 0, 1],
      [1, 0, 0, 0],
      [1, 0, 0, 0],
    ]),
    0,
    0,
    'decode',
  );
  const emb = tf.tensor2d([
    [1, 0],
    [0, 1],
    [10, 10],
    [100, 0],
  ]);
  const multiHot = tf.tensor4d([
    [
      [
        [0, 1, 0, 1],
        [1, 0, 0, 0],
      ],
    ],
  ]);
  await near(
    relationMatrix(multiHot, emb),
    tf.tensor4d([
      [
        [
          [100, 1],
          [1, 0],
        ],
      ],
    ]),
    0,
    0,
    'emb sum',
  );
});

test('InferenceLayer: golden parity with the literal torch implementation (values, gradients of F, R and every param)', async () => {
  const g = fx['inferenceLayer'];
  const [F, R, pm] = [tf.tensor(g.features), tf.tensor(g.relations), tf.tensor(fx['pairMask'])];
  const params = toTensors(g.params) as InferenceLayerParams;
  const out = inferenceLayer(F, R, pm, params);
  await near(out.features, tf.tensor(g.outputFeatures), tol(1e-4), tol(1e-4), 'F');
  await near(out.relations, tf.tensor(g.outputRelations), tol(1e-4), tol(1e-4), 'R');
  const named = flattenParams(params);
  const [wf, wr] = [tf.tensor(g.lossWeightsFeatures), tf.tensor(g.lossWeightsRelations)];
  const grads = tf.grads((f: tf.Tensor, r: tf.Tensor, ...ps: tf.Tensor[]) => {
    const o = inferenceLayer(f, r, pm, unflattenParams(params, ps));
    return tf.sum(o.features.mul(wf)).add(tf.sum(o.relations.mul(wr)));
  })([F, R, ...named.map(([, t]) => t)]);
  for (const [i, n] of ['features', 'relations', ...named.map(([n]) => n)].entries())
    await near(grads[i]!, tf.tensor(g.grads[n]), tol(1e-4), tol(1e-3), `grad ${n}`);
});

test('iterative inference: golden parity of accumulated logits and predictions (K = 2), one step = base + module', async () => {
  const g = fx['iterative'];
  const [F, base, pm] = [tf.tensor(g.features), tf.tensor(g.baseLogits), tf.tensor(fx['pairMask'])];
  const params = toTensors(g.params) as IterativeInferenceParams;
  const out = iterativeInference(F, base, pm, params, { iterations: g.iterations });
  await near(out.logits, tf.tensor(g.logits), tol(1e-4), tol(1e-4), 'logits');
  await near(out.predictions, tf.tensor(g.predictions), 0, 0, 'predictions');
  // K = 1 is base + classifier(inference(F, emb(decode(base))))
  const one = iterativeInference(F, base, pm, params, { iterations: 1 });
  const pred0 = thresholdDecode(base).mul(pm.expandDims(-1));
  const manual = base.add(
    inferenceModule(F, relationMatrix(pred0, params.relationEmbeddings), pm, params).logits,
  );
  await near(one.logits, manual, tol(1e-5), tol(1e-5), 'K = 1');
  // padded pairs predict nothing (all-zero rows) so they add nothing to R
  assert.equal(await scalarOf(tf.sum(out.predictions.mul(tf.sub(1, pm).expandDims(-1)))), 0);
});

test('noise injection: round(rate·#real) real pairs per document get a one-hot of a class they did not predict; seeded', async () => {
  const e = 5;
  const pm = makePairMask(e, [5, 4]);
  const pred = thresholdDecode(seeded([2, e, e, 6], 9, 2)).mul(pm.expandDims(-1));
  const noisy = injectRelationNoise(pred, pm, { rate: 0.25, seed: 4 });
  const [p, n, m] = (await Promise.all([pred.array(), noisy.array(), pm.array()])) as [
    number[][][][],
    number[][][][],
    number[][][],
  ];
  for (let i = 0; i < 2; i++) {
    let changed = 0;
    let real = 0;
    for (let s = 0; s < e; s++)
      for (let o = 0; o < e; o++) {
        real += m[i]![s]![o]!;
        const [a, b] = [p[i]![s]![o]!, n[i]![s]![o]!];
        if (a.join() === b.join()) continue;
        changed++;
        assert.equal(m[i]![s]![o], 1, 'only real pairs change');
        assert.equal(
          b.reduce((x, y) => x + y, 0),
          1,
          'a one-hot',
        );
        assert.equal(a[b.indexOf(1)], 0, 'a class that was not predicted');
      }
    assert.equal(changed, Math.round(0.25 * real), `doc ${i}`);
  }
  assert.deepEqual(await injectRelationNoise(pred, pm, { rate: 0.25, seed: 4 }).array(), n);
  assert.notDeepEqual(await injectRelationNoise(pred, pm, { rate: 0.25, seed: 5 }).array(), n);
});

test(
  'equivalence: permuting entities permutes the inference layer and the iterative logits; padding changes nothing',
  cpuWasmOnly,
  async () => {
    const e = 4;
    const [F, R] = [seeded([1, e, e, 8], 21, 1), seeded([1, e, e, 8], 22, 1)];
    const pm = makePairMask(e, [3]);
    const layer = new IterativeInferenceLayer({ numLayers: 2, iterations: 2, ffnDim: 8 });
    const base = seeded([1, e, e, 5], 23, 2);
    const logits = layer.apply([F, base, pm]) as tf.Tensor;
    const perm = [1, 3, 0, 2];
    const lp = layer.apply([
      permuteEntities(F, perm),
      permuteEntities(base, perm),
      permuteEntities(pm, perm),
    ]) as tf.Tensor;
    await near(lp, permuteEntities(logits, perm), tol(1e-4), tol(1e-4), 'permutation');
    const garbage = (t: tf.Tensor, seed: number) =>
      t.add(seeded(t.shape, seed, 50).mul(tf.sub(1, pm).expandDims(-1)));
    const lg = layer.apply([garbage(F, 31), garbage(base, 32), pm]) as tf.Tensor;
    await near(lg.mul(pm.expandDims(-1)), logits.mul(pm.expandDims(-1)), tol(1e-4), tol(1e-4), 'padding');
    const il = new InferenceLayer({ ffnDim: 8 });
    const [f1] = il.apply([F, R, pm]) as tf.Tensor[];
    const [fp] = il.apply([
      permuteEntities(F, perm),
      permuteEntities(R, perm),
      permuteEntities(pm, perm),
    ]) as tf.Tensor[];
    await near(fp!, permuteEntities(f1!, perm), tol(1e-4), tol(1e-4), 'inference layer permutation');
  },
);

test('serialization round trip (InferenceLayer, IterativeInferenceLayer) and no leaks', async () => {
  const [F, R] = [seeded([1, 3, 3, 8], 41, 1), seeded([1, 3, 3, 8], 42, 1)];
  const pm = makePairMask(3, [3]);
  const base = seeded([1, 3, 3, 4], 43, 2);
  const il = new InferenceLayer({ ffnDim: 8, epsilon: 1e-6 });
  const [f1, r1] = il.apply([F, R, pm]) as tf.Tensor[];
  const [f2, r2] = roundTripLayer(il, [F, R, pm]).apply([F, R, pm]) as tf.Tensor[];
  await near(f2!, f1!, tol(), tol(), 'F');
  await near(r2!, r1!, tol(), tol(), 'R');
  const it = new IterativeInferenceLayer({ numLayers: 1, iterations: 1, ffnDim: 8 });
  const l1 = it.apply([F, base, pm]) as tf.Tensor;
  const copy = roundTripLayer(it, [F, base, pm]) as IterativeInferenceLayer;
  assert.equal(copy.iterations, 1);
  await near(copy.apply([F, base, pm]) as tf.Tensor, l1, tol(), tol(), 'iterative');
  assert.equal(
    it.getWeights().length,
    1 + 30 + 2,
    'embeddings + one layer (2×8 ECA, 2 fusion, 2×(4 FFN + 2 norm)) + classifier',
  );
  const params = it.params();
  assertNoLeak(() => il.apply([F, R, pm]), 'InferenceLayer');
  assertNoLeak(() => it.apply([F, base, pm]), 'IterativeInferenceLayer');
  if (BACKEND !== 'webgpu') {
    // same code paths again (noise, K = 2): skipped in the short WebGPU pass
    assertNoLeak(() => it.apply([F, base, pm], { noise: { rate: 0.3, seed: 1 } }), 'with noise');
    assertNoLeak(() => iterativeInference(F, base, pm, params, { iterations: 2 }), 'iterativeInference');
  }
  assertNoLeak(
    () => tf.grad((f: tf.Tensor) => tf.sum(inferenceModule(f, R, pm, params).logits))(F),
    'grad module',
  );
});
