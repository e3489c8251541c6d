/**
 * Memory discipline of the pair-matrix reasoning modules (src/heads/imsa.ts, eca.ts): heads and
 * blocks of query rows run one at a time (`recomputeChunks`, `overRowBlocks`), forward and
 * backward. (1) The blocking changes nothing: values and gradients with one row per block equal
 * the unblocked ones and the naive reference. (2) Peak live tensor bytes (`tf.profile`) stay
 * within bounds derived from O(b·e²·d + one block): the tensor bookkeeping is the same on every
 * backend, so the bounds are deterministic (no time, no machine-dependent number).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { tol, useTestBackend } from '../helpers.js';
import {
  imsa,
  inferenceEncoder,
  InferenceEncoderLayer,
  type InferenceEncoderParams,
} from '../../src/heads/imsa.js';
import { eca } from '../../src/heads/eca.js';
import { inferenceLayer, InferenceLayer, type InferenceLayerParams } from '../../src/heads/inference.js';
import { setBlockElements } from '../../src/heads/pair-paths.js';
import {
  flattenParams,
  makePairMask,
  naiveECA,
  naiveIMSA,
  near,
  randomECAParams,
  randomIMSAParams,
  seeded,
  unflattenParams,
} from './naive-reasoning.js';

await useTestBackend();

/** Runs `fn` with the given block sizes, then restores the previous ones. */
async function withBlocks<T>(sizes: { path?: number; position?: number }, fn: () => Promise<T>): Promise<T> {
  const prev = setBlockElements(sizes);
  try {
    return await fn();
  } finally {
    setBlockElements(prev);
  }
}

/** Value and gradients wrt every input of Σ f(inputs)·w. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], w: tf.Tensor) {
  const value = f(...inputs);
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(f(...xs).mul(w)))(inputs);
  return { value, grads };
}

async function sameWithOneRowBlocks(
  what: string,
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  w: tf.Tensor,
  names: string[],
  reference?: (...xs: tf.Tensor[]) => tf.Tensor,
) {
  const whole = valueAndGrads(f, inputs, w);
  const blocked = await withBlocks({ path: 1, position: 1 }, async () => valueAndGrads(f, inputs, w));
  await near(blocked.value, whole.value, tol(1e-5), tol(1e-5), `${what} value`);
  for (const [i, n] of names.entries())
    await near(blocked.grads[i]!, whole.grads[i]!, tol(1e-5), tol(1e-4), `${what} grad ${n}`);
  if (reference) {
    const ref = valueAndGrads(reference, inputs, w);
    await near(blocked.value, ref.value, tol(1e-5), tol(1e-5), `${what} value vs naive`);
    for (const [i, n] of names.entries())
      await near(blocked.grads[i]!, ref.grads[i]!, tol(1e-5), tol(1e-4), `${what} grad ${n} vs naive`);
  }
}

// padded entities (doc 2 has 3 of 5) and missing pairs, as in the efficient == naive tests
const e = 5;
const pm = makePairMask(
  e,
  [5, 3],
  [
    [0, 1, 3],
    [0, 4, 0],
    [1, 2, 0],
  ],
);

test('one row per block == unblocked == naive: imsa, values and gradients (x, every param)', async () => {
  const x = seeded([2, e, e, 8], 11, 1);
  const params = randomIMSAParams(8, 21);
  const named = flattenParams(params);
  const run =
    (fn: typeof imsa) =>
    (xx: tf.Tensor, ...ps: tf.Tensor[]) =>
      fn(xx, pm, unflattenParams(params, ps));
  await sameWithOneRowBlocks(
    'imsa',
    run(imsa),
    [x, ...named.map(([, t]) => t)],
    seeded([2, e, e, 8], 31, 1),
    ['x', ...named.map(([n]) => n)],
    run(naiveIMSA as typeof imsa),
  );
});

test('one row per block == unblocked == naive: eca, values and gradients (query, memory, every param)', async () => {
  const [q, m] = [seeded([2, e, e, 8], 12, 1), seeded([2, e, e, 16], 13, 1)];
  const params = randomECAParams(8, 16, 22);
  const named = flattenParams(params);
  const run =
    (fn: typeof eca) =>
    (qq: tf.Tensor, mm: tf.Tensor, ...ps: tf.Tensor[]) =>
      fn(qq, mm, pm, unflattenParams(params, ps));
  await sameWithOneRowBlocks(
    'eca',
    run(eca),
    [q, m, ...named.map(([, t]) => t)],
    seeded([2, e, e, 8], 32, 1),
    ['query', 'memory', ...named.map(([n]) => n)],
    run(naiveECA as typeof eca),
  );
});

test('one row per block == unblocked: the inference layers (FFN and norms by blocks of rows)', async () => {
  const x = seeded([2, e, e, 8], 14, 1);
  const enc = new InferenceEncoderLayer({ ffnDim: 12 });
  enc.apply([x, pm]);
  const pe = enc.params();
  const ne = flattenParams(pe);
  await sameWithOneRowBlocks(
    'inferenceEncoder',
    (xx: tf.Tensor, ...ps: tf.Tensor[]) =>
      inferenceEncoder(xx, pm, unflattenParams(pe, ps) as InferenceEncoderParams),
    [x, ...ne.map(([, t]) => t)],
    seeded([2, e, e, 8], 33, 1),
    ['x', ...ne.map(([n]) => n)],
  );
  const [F, R] = [seeded([2, e, e, 8], 15, 1), seeded([2, e, e, 8], 16, 1)];
  const layer = new InferenceLayer({ ffnDim: 12 });
  layer.apply([F, R, pm]);
  const pl = layer.params();
  const nl = flattenParams(pl);
  await sameWithOneRowBlocks(
    'inferenceLayer',
    (f: tf.Tensor, r: tf.Tensor, ...ps: tf.Tensor[]) => {
      const out = inferenceLayer(f, r, pm, unflattenParams(pl, ps) as InferenceLayerParams);
      return tf.concat([out.features, out.relations], -1);
    },
    [F, R, ...nl.map(([, t]) => t)],
    seeded([2, e, e, 16], 34, 1),
    ['F', 'R', ...nl.map(([n]) => n)],
  );
});

/** tf.profile peak of live tensor bytes that `fn` adds, in units of b·e²·d float32s. */
async function peakUnits(fn: () => tf.TensorContainer, unitFloats: number): Promise<number> {
  const before = tf.memory().numBytes;
  let out: tf.TensorContainer = [];
  const info = await tf.profile(() => {
    out = fn();
    return out as tf.Tensor[];
  });
  tf.dispose(out);
  return (info.peakBytes - before) / (4 * unitFloats);
}

test('peak bytes: O(b·e²·d + one block), not O(h·e³) — imsa and eca, forward and forward+backward', async () => {
  // e = 32, d = 32: one head's path scores [1,32,32,32] are one unit (b·e²·d); all four heads'
  // as one tensor (the former form, which held ~50 of them at once) are 4 units. Blocks of
  // 4096 path scores (4 query rows) make a block 1/8 unit.
  const [n, d] = [32, 32];
  const unit = n * n * d;
  const x = seeded([1, n, n, d], 1, 1);
  const m = seeded([1, n, n, 2 * d], 2, 1);
  const mask = makePairMask(n, [n]);
  const pi = randomIMSAParams(d, 3, 0.1);
  const pe = randomECAParams(d, 2 * d, 3, 0.1);
  const [ni, ne] = [flattenParams(pi).map(([, t]) => t), flattenParams(pe).map(([, t]) => t)];
  const peaks = await withBlocks({ path: 4096 }, async () => ({
    imsa: await peakUnits(() => imsa(x, mask, pi), unit),
    imsaGrad: await peakUnits(
      () =>
        tf.grads((xx: tf.Tensor, ...ps: tf.Tensor[]) => tf.sum(imsa(xx, mask, unflattenParams(pi, ps))))([
          x,
          ...ni,
        ]),
      unit,
    ),
    eca: await peakUnits(() => eca(x, m, mask, pe), unit),
    ecaGrad: await peakUnits(
      () =>
        tf.grads((qq: tf.Tensor, mm: tf.Tensor, ...ps: tf.Tensor[]) =>
          tf.sum(eca(qq, mm, mask, unflattenParams(pe, ps))),
        )([x, m, ...ne]),
      unit,
    ),
  }));
  // forward: the [b,e,e,d] input side (projections, output) plus one block: ≤ 8 units
  assert.ok(peaks.imsa <= 8, `imsa forward peak ${peaks.imsa.toFixed(2)} units > 8`);
  assert.ok(peaks.eca <= 8, `eca forward peak ${peaks.eca.toFixed(2)} units > 8`);
  // forward+backward: gradients of every [b,e,e,d] operand are kept to the end of tfjs' backward
  // pass, plus one head's and one block's tape: ≤ 40 units (the former form: ~700)
  assert.ok(peaks.imsaGrad <= 40, `imsa forward+backward peak ${peaks.imsaGrad.toFixed(2)} units > 40`);
  assert.ok(peaks.ecaGrad <= 40, `eca forward+backward peak ${peaks.ecaGrad.toFixed(2)} units > 40`);
  tf.dispose([x, m, mask, ...ni, ...ne]);
});

test('peak bytes: the inference layers hold one block of the FFN hidden layer, not [b,e,e,ffnDim]', async () => {
  // (path blocks of 4096: I-MSA one head and block at a time, as at DocRED scale)
  // ffnDim = 16·d: the whole hidden layer would be 16 units, its taped forward+backward several
  // times that; blocks of 2048 hidden values (2 rows) are 1/16 unit each
  const [n, d] = [16, 16];
  const unit = n * n * d;
  const x = seeded([1, n, n, d], 5, 1);
  const mask = makePairMask(n, [n]);
  const layer = new InferenceEncoderLayer({ ffnDim: 16 * d });
  layer.apply([x, mask]);
  const p = layer.params();
  const names = flattenParams(p).map(([, t]) => t);
  const [fwd, bwd] = await withBlocks({ position: 2048, path: 4096 }, async () => [
    await peakUnits(() => inferenceEncoder(x, mask, p), unit),
    await peakUnits(
      () =>
        tf.grads((xx: tf.Tensor, ...ps: tf.Tensor[]) =>
          tf.sum(inferenceEncoder(xx, mask, unflattenParams(p, ps) as InferenceEncoderParams)),
        )([x, ...names]),
      unit,
    ),
  ]);
  // measured with the whole hidden layer at once (the former form): 95 and 298 units
  assert.ok(fwd! <= 16, `inferenceEncoder forward peak ${fwd!.toFixed(2)} units > 16`);
  assert.ok(bwd! <= 120, `inferenceEncoder forward+backward peak ${bwd!.toFixed(2)} units > 120`);
  tf.dispose([x, mask]);
  layer.dispose();
});
