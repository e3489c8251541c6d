/**
 * DRE-MIR I-MSA, inference encoder layer and MIR masking (src/heads/imsa.ts): the STYLE.md ladder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertNoLeak, tol, useTestBackend } from '../helpers.js';
import { ShapeError, ArgumentError } from '../../src/core/errors.js';
import {
  IMSALayer,
  InferenceEncoderLayer,
  PairMaskingLayer,
  imsa,
  inferenceEncoder,
  maskPairMatrix,
  type IMSAParams,
  type InferenceEncoderParams,
} from '../../src/heads/imsa.js';
import {
  NAIVE_IMSA_PATHS,
  flattenParams,
  makePairMask,
  naiveIMSA,
  near,
  scalarOf,
  permuteEntities,
  randomIMSAParams,
  roundTripLayer,
  seeded,
  toTensors,
  unflattenParams,
  cpuWasmOnly,
  reasoningFixture,
} from './naive-reasoning.js';

await useTestBackend();

const fx = await reasoningFixture();

/** Σ out·w over real pairs only (padded query pairs excluded). */
function realLoss(out: tf.Tensor, pairMask: tf.Tensor, w: tf.Tensor): tf.Scalar {
  return tf.sum(out.mul(w).mul(pairMask.expandDims(-1)));
}

test('shapes: output [b,e,e,d] float32, computeOutputShape, bad arguments', async () => {
  const x = seeded([2, 3, 3, 8], 1);
  const pm = makePairMask(3, [3, 2]);
  const y = imsa(x, pm, randomIMSAParams(8));
  assert.deepEqual(y.shape, [2, 3, 3, 8]);
  assert.equal(y.dtype, 'float32');
  assert.deepEqual(
    new IMSALayer().computeOutputShape([
      [null, 3, 3, 8],
      [null, 3, 3],
    ]),
    [null, 3, 3, 8],
  );
  assert.throws(() => imsa(seeded([2, 3, 3, 6], 1), pm, randomIMSAParams(8)), ShapeError);
  assert.throws(
    () => imsa(x, makePairMask(4, [3, 2]), randomIMSAParams(8)),
    /pairMask: expected shape \[b, e, e\]/,
  );
  const p = randomIMSAParams(8);
  assert.throws(
    () => imsa(x, pm, { ...p, pathKey: { ...p.pathKey, kernel: tf.zeros([4, 2, 2]) } }),
    /params.pathKey.kernel/,
  );
  assert.throws(() => new InferenceEncoderLayer({ ffnDim: 0 }), ArgumentError);
  assert.throws(() => new PairMaskingLayer({ ratio: 1.5 }), /ratio: expected a number in \[0, 1\], got 1.5/);
});

/** d = 4 (dh = 1) with identity Q/K/V/O, path kernels [[1],[1]] (sum), zero biases. */
function identityParams(): IMSAParams {
  const I = tf.eye(4);
  const z = tf.zeros([4]);
  const path = { kernel: tf.ones([4, 2, 1]), bias: tf.zeros([4, 1]) };
  return {
    query: { kernel: I, bias: z },
    key: { kernel: I, bias: z },
    value: { kernel: I, bias: z },
    output: { kernel: I, bias: z },
    pathKey: path,
    pathValue: path,
  };
}

test('closed form: no path candidate → output is the pair itself; one path → softmax of two', async () => {
  // e = 2: every path goes through (A,A) or (B,B), which are never real → y = x on real pairs
  const x2 = seeded([1, 2, 2, 4], 3);
  const y2 = imsa(x2, makePairMask(2, [2]), identityParams());
  const sel = (t: tf.Tensor, s: number, o: number) => tf.slice(t, [0, s, o, 0], [1, 1, 1, 4]);
  await near(sel(y2, 0, 1), sel(x2, 0, 1), tol());
  await near(sel(y2, 1, 0), sel(x2, 1, 0), tol());
  // e = 3, real pairs (0,1), (0,2), (2,1) only: query (0,1), head 0 has path k = 2: (0,2),(2,1)
  const pm = tf.tensor3d([
    [
      [0, 1, 1],
      [0, 0, 0],
      [0, 1, 0],
    ],
  ]);
  const x = seeded([1, 3, 3, 4], 5);
  const xv = (await x.array()) as number[][][][];
  const y = ((await imsa(x, pm, identityParams()).array()) as number[][][][])[0]![0]![1]!;
  const c = xv[0]![0]![1]![0]!;
  const kp = xv[0]![0]![2]![0]! + xv[0]![2]![1]![0]!; // path key = value = x02 + x21 (head 0 channel)
  const a0 = Math.exp(c * kp) / (Math.exp(c * kp) + Math.exp(c * c));
  await near(y[0]!, a0 * kp + (1 - a0) * c, tol(), tol(), 'head 0');
  // heads 1–3 have no candidate with both pairs real → self
  for (const h of [1, 2, 3]) await near(y[h]!, xv[0]![0]![1]![h]!, tol(), tol(), `head ${h}`);
});

test('golden parity with the literal torch implementation: values and gradients of x and every param', async () => {
  const g = fx['imsa'];
  const x = tf.tensor(g.x);
  const pm = tf.tensor(fx['pairMask']);
  const params = toTensors(g.params) as IMSAParams;
  const w = tf.tensor(g.lossWeights);
  await near(imsa(x, pm, params), tf.tensor(g.output), tol(1e-4), tol(1e-4), 'output');
  const named = flattenParams(params);
  const grads = tf.grads((xx: tf.Tensor, ...ps: tf.Tensor[]) =>
    tf.sum(imsa(xx, pm, unflattenParams(params, ps)).mul(w)),
  )([x, ...named.map(([, t]) => t)]);
  await near(grads[0]!, tf.tensor(g.grads.x), tol(1e-4), tol(1e-4), 'grad x');
  for (const [i, [n]] of named.entries())
    await near(grads[i + 1]!, tf.tensor(g.grads[n]), tol(1e-4), tol(1e-4), `grad ${n}`);
});

test('efficient == naive (values and gradients wrt x and every param), padded entities and missing pairs', async () => {
  const e = 5;
  const x = seeded([2, e, e, 8], 11, 1);
  const pm = makePairMask(
    e,
    [5, 3],
    [
      [0, 1, 3],
      [0, 4, 0],
      [1, 2, 0],
    ],
  );
  const params = randomIMSAParams(8, 21);
  const w = seeded([2, e, e, 8], 31, 1);
  await near(imsa(x, pm, params), naiveIMSA(x, pm, params), tol(1e-5), tol(1e-5), 'values');
  const named = flattenParams(params);
  const lossOf =
    (fn: typeof imsa) =>
    (xx: tf.Tensor, ...ps: tf.Tensor[]) =>
      tf.sum(fn(xx, pm, unflattenParams(params, ps)).mul(w));
  const inputs = [x, ...named.map(([, t]) => t)];
  const ge = tf.grads(lossOf(imsa))(inputs);
  const gn = tf.grads(lossOf(naiveIMSA as typeof imsa))(inputs);
  for (const [i, n] of ['x', ...named.map(([n]) => n)].entries())
    await near(ge[i]!, gn[i]!, tol(1e-5), tol(1e-4), `grad ${n}`);
});

test(
  'dependency: head h at (A,B) reads exactly its candidates {(A,B)} ∪ paths through real k; padding gets zero gradient',
  cpuWasmOnly,
  async () => {
    const e = 4;
    const x = seeded([1, e, e, 8], 41, 1);
    const pm = makePairMask(e, [4], [[0, 3, 1]]);
    const pmv = (await pm.array())[0]!;
    const base = randomIMSAParams(8, 51);
    for (let h = 0; h < 4; h++) {
      // keep only head h in the output projection: rows [2h, 2h+2) of W_O
      const rowMask = tf.tensor2d(Array.from({ length: 8 }, (_, i) => [Math.floor(i / 2) === h ? 1 : 0]));
      const params = { ...base, output: { kernel: base.output.kernel.mul(rowMask), bias: tf.zeros([8]) } };
      const [A, B] = [0, 1];
      const gx = tf.grad((xx: tf.Tensor) =>
        tf.sum(tf.slice(imsa(xx, pm, params), [0, A, B, 0], [1, 1, 1, 8])),
      )(x);
      const touched = (await tf.sum(tf.abs(gx), -1).array()) as number[][][];
      const expected = new Set<string>([`${A},${B}`]);
      for (let k = 0; k < e; k++) {
        const [p1, p2] = NAIVE_IMSA_PATHS[h]!(A, B, k);
        if (pmv[p1[0]]![p1[1]]! * pmv[p2[0]]![p2[1]]! === 1) expected.add(`${p1}`).add(`${p2}`);
      }
      assert.ok(expected.size > 1, `head ${h} has a path candidate in this setup`);
      for (let s = 0; s < e; s++)
        for (let o = 0; o < e; o++) {
          const g = touched[0]![s]![o]!;
          if (expected.has(`${s},${o}`))
            assert.ok(g > 1e-6, `head ${h}: (${s},${o}) should influence (${A},${B})`);
          else assert.equal(g, 0, `head ${h}: (${s},${o}) must not influence (${A},${B})`);
        }
    }
    // the loss over real pairs has zero gradient at non-real pairs (padding, diagonal, missing)
    const gx = tf.grad((xx: tf.Tensor) => realLoss(imsa(xx, pm, base), pm, seeded([1, e, e, 8], 7, 1)))(x);
    const gNonReal = tf.sum(tf.abs(gx).mul(tf.sub(1, pm).expandDims(-1)));
    assert.equal(await scalarOf(gNonReal), 0);
  },
);

test(
  'equivalence: permuting entities permutes outputs; padding changes nothing; batched == per document',
  cpuWasmOnly,
  async () => {
    const e = 4;
    const x = seeded([2, e, e, 8], 61, 1);
    const pm = makePairMask(e, [4, 3], [[0, 2, 1]]);
    const params = randomIMSAParams(8, 71);
    const y = imsa(x, pm, params);
    const perm = [2, 0, 3, 1];
    const yp = imsa(permuteEntities(x, perm), permuteEntities(pm, perm), params);
    await near(yp, permuteEntities(y, perm), tol(1e-5), tol(1e-5), 'permutation');
    // per document == batched
    for (let i = 0; i < 2; i++) {
      const yi = imsa(tf.slice(x, [i], [1]), tf.slice(pm, [i], [1]), params);
      await near(yi, tf.slice(y, [i], [1]), tol(1e-5), tol(1e-5), `doc ${i}`);
    }
    // doc 1 has 3 real entities: drop the padded entity (e = 3) or fill it with garbage
    const real = [1, 1, 1, 0] as const;
    const x1 = tf.slice(x, [1, 0, 0, 0], [1, 3, 3, 8]);
    const y1 = imsa(x1, tf.slice(pm, [1, 0, 0], [1, 3, 3]), params);
    const xGarbage = tf
      .slice(x, [1], [1])
      .add(seeded([1, e, e, 8], 99, 50).mul(tf.sub(1, tf.slice(pm, [1], [1])).expandDims(-1)));
    const yG = imsa(xGarbage, tf.slice(pm, [1], [1]), params);
    const realPairs = tf.slice(pm, [1, 0, 0], [1, 3, 3]).expandDims(-1);
    await near(
      tf.slice(yG, [0, 0, 0, 0], [1, 3, 3, 8]).mul(realPairs),
      y1.mul(realPairs),
      tol(1e-5),
      tol(1e-5),
      'padded vs unpadded',
    );
    assert.equal(real.length, e);
  },
);

test('InferenceEncoderLayer: golden parity (values, gradients) and stacking', async () => {
  const g = fx['inferenceEncoder'];
  const x = tf.tensor(g.x);
  const pm = tf.tensor(fx['pairMask']);
  const params = toTensors(g.params) as InferenceEncoderParams;
  await near(inferenceEncoder(x, pm, params), tf.tensor(g.output), tol(1e-4), tol(1e-4), 'output');
  const named = flattenParams(params);
  const w = tf.tensor(g.lossWeights);
  const grads = tf.grads((xx: tf.Tensor, ...ps: tf.Tensor[]) =>
    tf.sum(inferenceEncoder(xx, pm, unflattenParams(params, ps)).mul(w)),
  )([x, ...named.map(([, t]) => t)]);
  await near(grads[0]!, tf.tensor(g.grads.x), tol(1e-4), tol(1e-3), 'grad x');
  for (const [i, [n]] of named.entries())
    await near(grads[i + 1]!, tf.tensor(g.grads[n]), tol(1e-4), tol(1e-3), `grad ${n}`);
  // a stack of 3 layers keeps the shape and runs eagerly
  let y: tf.Tensor = x;
  for (let i = 0; i < 3; i++) y = new InferenceEncoderLayer({ ffnDim: 16 }).apply([y, pm]) as tf.Tensor;
  assert.deepEqual(y.shape, x.shape);
  assert.ok(Number.isFinite(await scalarOf(tf.sum(y))));
});

test('maskPairMatrix: round(ratio·#real) real pairs per document, seeded, gradients reach x and the mask vector', async () => {
  const e = 6;
  const pm = makePairMask(e, [6, 4]);
  const x = seeded([2, e, e, 4], 81, 1);
  const mv = tf.tensor1d([10, 20, 30, 40]);
  const { masked, maskedPairs } = maskPairMatrix(x, pm, mv, { ratio: 0.2, seed: 5 });
  const mp = (await maskedPairs.array()) as number[][][];
  const count = (i: number) => mp[i]!.flat().reduce((a, b) => a + b, 0);
  assert.equal(count(0), Math.round(0.2 * 30));
  assert.equal(count(1), Math.round(0.2 * 12));
  assert.equal(await scalarOf(tf.sum(maskedPairs.mul(tf.sub(1, pm)))), 0, 'only real pairs are masked');
  const m = maskedPairs.expandDims(-1);
  await near(masked.mul(m), m.mul(mv), 0, 0, 'masked pairs hold the mask vector');
  await near(masked.mul(tf.sub(1, m)), x.mul(tf.sub(1, m)), 0, 0, 'other pairs unchanged');
  // reproducible, and a different seed gives a different choice
  assert.deepEqual(await maskPairMatrix(x, pm, mv, { seed: 5 }).maskedPairs.array(), mp);
  assert.notDeepEqual(await maskPairMatrix(x, pm, mv, { seed: 6 }).maskedPairs.array(), mp);
  const [gx, gv] = tf.grads((xx: tf.Tensor, vv: tf.Tensor) =>
    tf.sum(maskPairMatrix(xx, pm, vv, { seed: 5 }).masked),
  )([x, mv]);
  await near(gv!, tf.fill([4], count(0) + count(1)), 0, 0, 'grad mask vector');
  await near(gx!, tf.sub(1, m).tile([1, 1, 1, 4]), 0, 0, 'grad x');
  // the layer advances its seed per call and owns the mask vector
  const layer = new PairMaskingLayer({ ratio: 0.5, seed: 3 });
  const [, first] = layer.apply([x, pm]) as tf.Tensor[];
  const [, second] = layer.apply([x, pm]) as tf.Tensor[];
  assert.equal(layer.trainableWeights.length, 1);
  assert.equal(await scalarOf(tf.sum(first!)), 15 + 6);
  assert.notDeepEqual(await first!.array(), await second!.array());
  const again = PairMaskingLayer.fromConfig(PairMaskingLayer, layer.getConfig()) as PairMaskingLayer;
  const [, first2] = again.apply([x, pm]) as tf.Tensor[];
  assert.deepEqual(await first2!.array(), await first!.array(), 'same config → same first mask');
});

test('serialization round trip: IMSALayer, InferenceEncoderLayer, PairMaskingLayer (config + weights)', async () => {
  const x = seeded([1, 3, 3, 8], 91, 1);
  const pm = makePairMask(3, [3]);
  for (const layer of [
    new IMSALayer({ name: 'imsa_rt' }),
    new InferenceEncoderLayer({ ffnDim: 12, epsilon: 1e-6 }),
  ]) {
    const y = layer.apply([x, pm]) as tf.Tensor;
    const copy = roundTripLayer(layer, [x, pm]);
    const cls = layer.constructor as typeof IMSALayer;
    await near(copy.apply([x, pm]) as tf.Tensor, y, tol(), tol(), `${cls.className} round trip`);
    assert.deepEqual(copy.getConfig(), layer.getConfig());
  }
  const enc = new InferenceEncoderLayer({ ffnDim: 12 });
  enc.apply([x, pm]);
  assert.equal(enc.getWeights().length, 12 + 2 + 4 + 2, 'I-MSA 12 + norm 2 + FFN 4 + norm 2');
  assert.deepEqual(enc.getConfig()['ffnDim'], 12);
});

test('no leaks: imsa, its gradient, the layers', async () => {
  const x = seeded([1, 3, 3, 8], 101, 1);
  const pm = makePairMask(3, [3]);
  const params = randomIMSAParams(8, 3);
  const zeros = tf.zeros([8]);
  const layer = new InferenceEncoderLayer({ ffnDim: 8 });
  const masker = new PairMaskingLayer();
  layer.apply([x, pm]);
  masker.apply([x, pm]);
  assertNoLeak(() => imsa(x, pm, params), 'imsa');
  assertNoLeak(() => tf.grad((xx: tf.Tensor) => tf.sum(imsa(xx, pm, params)))(x), 'grad imsa');
  assertNoLeak(() => layer.apply([x, pm]), 'InferenceEncoderLayer');
  assertNoLeak(() => masker.apply([x, pm]), 'PairMaskingLayer');
  assertNoLeak(() => maskPairMatrix(x, pm, zeros), 'maskPairMatrix');
});
