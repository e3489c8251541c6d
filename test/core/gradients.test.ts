/**
 * src/core/gradients.ts: the Tile / broadcastTo gradient (one reshape + sum instead of one slice
 * per repetition) equals the closed form for ranks 1–5, including broadcastTo; `recompute` and
 * `recomputeChunks` give the values and gradients of the plain composition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertClose, assertNoLeak, seededArray, seededTensor, useTestBackend } from '../helpers.js';
import { read } from './util.js';
import { flattenTensors, recompute, recomputeChunks } from '../../src/core/gradients.js';

await useTestBackend(); // registers the gradient fixes

/** Closed form: d/dx Σ w ⊙ tile(x, reps) = Σ over repetitions of the matching block of w. */
function expectedTileGrad(xShape: number[], reps: number[], w: Float32Array): Float32Array {
  const outShape = xShape.map((s, i) => s * reps[i]!);
  const g = new Float32Array(xShape.reduce((a, b) => a * b, 1));
  const idx = outShape.map(() => 0);
  for (let flat = 0; flat < w.length; flat++) {
    let rem = flat;
    for (let i = outShape.length - 1; i >= 0; i--) {
      idx[i] = rem % outShape[i]!;
      rem = Math.floor(rem / outShape[i]!);
    }
    let src = 0;
    for (let i = 0; i < xShape.length; i++) src = src * xShape[i]! + (idx[i]! % xShape[i]!);
    g[src]! += w[flat]!;
  }
  return g;
}

test('tile gradient = closed form for ranks 1 to 5 (tfjs 4.22 threw above rank 4)', async () => {
  const cases: [number[], number[]][] = [
    [[3], [4]],
    [
      [2, 3],
      [3, 2],
    ],
    [
      [2, 1, 3],
      [1, 5, 2],
    ],
    [
      [1, 2, 3, 1],
      [2, 1, 2, 7],
    ],
    [
      [2, 1, 2, 1, 2],
      [1, 3, 1, 2, 2],
    ],
  ];
  for (const [shape, reps] of cases) {
    const x = tf.tensor(
      seededArray(
        shape.reduce((a, b) => a * b, 1),
        1,
      ),
      shape,
    );
    const outShape = shape.map((s, i) => s * reps[i]!);
    const wv = seededArray(
      outShape.reduce((a, b) => a * b, 1),
      2,
    );
    const w = tf.tensor(wv, outShape);
    const g = tf.grad((a: tf.Tensor) => tf.tile(a, reps).mul(w).sum())(x);
    assert.deepEqual(g.shape, shape);
    assertClose(await read(g), expectedTileGrad(shape, reps, wv), 1e-5, 1e-5, `rank ${shape.length}`);
    tf.dispose([x, w]);
  }
});

test('broadcastTo gradient sums over the broadcast axes', async () => {
  const x = tf.tensor3d([[[1], [2]]]); // [1, 2, 1]
  const w = tf.tensor3d([
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
    [
      [10, 20, 30],
      [40, 50, 60],
    ],
  ]); // [2, 2, 3]
  const g = tf.grad((a: tf.Tensor) => tf.broadcastTo(a, [2, 2, 3]).mul(w).sum())(x);
  assertClose(await read(g), [1 + 2 + 3 + 10 + 20 + 30, 4 + 5 + 6 + 40 + 50 + 60], 0);
  tf.dispose([x, w]);
});

test('the tile gradient leaks nothing', () => {
  const x = tf.ones([2, 1, 3]);
  assertNoLeak(() => tf.grad((a: tf.Tensor) => tf.tile(a, [1, 4, 2]).sum())(x));
  x.dispose();
});

// ---- recompute (gradient checkpointing)

const rnd = seededTensor;

/** A two-block stack with parameters as variables, as a model uses it. */
function stack() {
  const w1 = tf.variable(rnd([6, 6], 1));
  const w2 = tf.variable(rnd([6, 6], 2));
  const params = {
    blocks: [
      { w: w1, scale: 0.5 },
      { w: w2, scale: 2 },
    ],
  };
  const block = (x: tf.Tensor, p: { w: tf.Tensor; scale: number }) =>
    tf.tanh(tf.matMul(x, p.w)).mul(p.scale).add(x.square().sum(-1, true).sqrt());
  const run = (x: tf.Tensor, checkpoint: boolean) => {
    let y = x;
    for (const p of params.blocks) {
      if (!checkpoint) y = block(y, p);
      else {
        const { tensors, rebuild } = flattenTensors(p);
        y = recompute((a, ...ts) => block(a!, rebuild(ts)), [y, ...tensors]);
      }
    }
    return y.square().sum() as tf.Scalar;
  };
  return { vars: [w1, w2], run, dispose: () => tf.dispose([w1, w2]) };
}

test('flattenTensors: nested records and arrays round-trip, non-tensor leaves kept', () => {
  const a = tf.scalar(1);
  const b = tf.scalar(2);
  const { tensors, rebuild } = flattenTensors({ x: a, list: [{ y: b, k: 3 }], name: 'n' });
  assert.deepEqual(tensors, [a, b]);
  const c = tf.scalar(5);
  const d = tf.scalar(6);
  assert.deepEqual(rebuild([c, d]), { x: c, list: [{ y: d, k: 3 }], name: 'n' });
  tf.dispose([a, b, c, d]);
});

test('recompute: the same loss and the same gradients for the input and every variable', async () => {
  const s = stack();
  const x = rnd([4, 6], 3);
  const plain = tf.variableGrads(() => s.run(x, false), s.vars);
  const ckpt = tf.variableGrads(() => s.run(x, true), s.vars);
  assertClose(await read(ckpt.value), await read(plain.value), 1e-5, 1e-5, 'loss');
  for (const v of s.vars)
    assertClose(await read(ckpt.grads[v.name]!), await read(plain.grads[v.name]!), 1e-5, 1e-5, v.name);
  const [gPlain] = tf.grads((a: tf.Tensor) => s.run(a, false))([x]);
  const [gCkpt] = tf.grads((a: tf.Tensor) => s.run(a, true))([x]);
  assertClose(await read(gCkpt!), await read(gPlain!), 1e-5, 1e-5, 'input gradient');
  x.dispose();
  s.dispose();
});

test('recompute: the gradient scope holds fewer bytes at its peak, and nothing leaks', async () => {
  const s = stack();
  const x = rnd([64, 6], 4);
  const peak = async (checkpoint: boolean) =>
    (
      await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => s.run(x, checkpoint), s.vars);
        tf.dispose([value, ...Object.values(grads)]);
      })
    ).peakBytes;
  const [p0, p1] = [await peak(false), await peak(true)];
  assert.ok(p1 < p0, `peak with recompute ${p1} B < without ${p0} B`);
  assertNoLeak(() => {
    const { value, grads } = tf.variableGrads(() => s.run(x, true), s.vars);
    tf.dispose([value, ...Object.values(grads)]);
  });
  x.dispose();
  s.dispose();
});

// ---- recomputeChunks (chunked checkpointing)

test('recomputeChunks: concat of chunks then a projection = the plain composition (values, gradients), no leak', async () => {
  const w = tf.variable(rnd([6, 5], 7));
  const k = rnd([5, 3], 8);
  const x = rnd([4, 6], 9);
  // chunk i: rows of tanh(x·w)·(i+1) along axis 0 … here along axis 1: columns i·2..i·2+1 of x·w
  const chunk = (i: number, a: tf.Tensor, ww: tf.Tensor) =>
    tf
      .tanh(tf.matMul(a, ww))
      .slice([0, i * 2], [-1, Math.min(2, 5 - i * 2)])
      .mul(i + 1);
  const then = (joined: tf.Tensor) => tf.matMul(joined, k).square();
  const plain = (a: tf.Tensor, ww: tf.Tensor) =>
    then(
      tf.concat(
        [0, 1, 2].map((i) => chunk(i, a, ww)),
        1,
      ),
    );
  const chunked = (a: tf.Tensor, ww: tf.Tensor) =>
    recomputeChunks(
      (i, aa, wv) => chunk(i, aa!, wv!),
      3,
      [a, ww],
      1,
      (j) => then(j),
    );
  assertClose(await read(chunked(x, w)), await read(plain(x, w)), 1e-6, 1e-6, 'value');
  const g = (f: typeof plain) => tf.grads((a: tf.Tensor, ww: tf.Tensor) => tf.sum(f(a, ww)))([x, w]);
  const [gp, gc] = [g(plain), g(chunked)];
  assertClose(await read(gc[0]!), await read(gp[0]!), 1e-5, 1e-5, 'grad x');
  assertClose(await read(gc[1]!), await read(gp[1]!), 1e-5, 1e-5, 'grad w');
  assertNoLeak(() => g(chunked), 'recomputeChunks gradient');
  assert.throws(() => recomputeChunks((_, a) => a!, 0, [x]), /integer ≥ 1/);
  tf.dispose([w, k, x]);
});
