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
import {
  flattenTensors,
  leanGradients,
  leanVariableGrads,
  recompute,
  recomputeChunks,
} from '../../src/core/gradients.js';

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

// ---- leanGradients (the backward pass that frees as it goes)

/**
 * A graph with the cases a backward pass must get right: fan-out (x used three times), a
 * multi-output op (split), an op whose gradient passes dy through (reshape, identity-like casts),
 * a broadcast, a custom gradient (recompute) and an unused branch.
 */
function tangled(x: tf.Tensor, w: tf.Tensor): tf.Scalar {
  const h = tf.tanh(tf.matMul(x, w)); // [4, 6]
  const [a, b] = tf.split(h, 2, 1) as [tf.Tensor, tf.Tensor]; // [4, 3] each
  const c = a.mul(b).reshape([12]).toFloat();
  const r = recompute((u, v) => tf.sigmoid(u.matMul(v)), [x, w]); // [4, 6]
  const unused = x.exp(); // not on the path to the loss
  void unused;
  return c
    .sum()
    .add(r.mul(x.sum(1, true)).sum())
    .add(x.square().mean()) as tf.Scalar;
}

test('leanGradients: the same value and gradients as tfjs gradients (fan-out, split, reshape, broadcast, custom gradient)', async () => {
  const x = rnd([4, 6], 11);
  const w = rnd([6, 6], 12);
  const dy = tf.scalar(1.5);
  const plain = tf.engine().gradients(() => tangled(x, w), [x, w], dy, true);
  const lean = leanGradients(() => tangled(x, w), [x, w], dy);
  assertClose(await read(lean.value), await read(plain.value), 1e-6, 1e-6, 'value');
  for (const i of [0, 1])
    assertClose(await read(lean.grads[i]!), await read(plain.grads[i]!), 1e-6, 1e-6, `gradient ${i}`);
  assert.equal(dy.isDisposed, false, "the caller's dy is not disposed");
  // a tensor the loss does not depend on gets no gradient
  const z = rnd([2], 13);
  const none = leanGradients(() => x.sum(), [x, z]);
  assert.equal(none.grads[1], undefined);
  tf.dispose([
    plain.value,
    ...plain.grads,
    lean.value,
    ...(lean.grads as tf.Tensor[]),
    none.value,
    none.grads[0]!,
    x,
    w,
    z,
    dy,
  ]);
});

test('leanVariableGrads = tf.variableGrads (names, values), and errors name the problem', async () => {
  const w1 = tf.variable(rnd([6, 6], 14));
  const w2 = tf.variable(rnd([6, 6], 15));
  const frozen = tf.variable(rnd([6, 6], 16), false);
  const x = rnd([4, 6], 17);
  const loss = () => tangled(x, w1).add(tangled(x, w2).mul(0.5)).add(frozen.sum()) as tf.Scalar;
  const a = tf.variableGrads(loss, [w1, w2, frozen]);
  const b = leanVariableGrads(loss, [w1, w2, frozen]);
  assert.deepEqual(Object.keys(b.grads).sort(), [w1.name, w2.name].sort());
  for (const v of [w1, w2])
    assertClose(await read(b.grads[v.name]!), await read(a.grads[v.name]!), 1e-6, 1e-6, v.name);
  assert.throws(() => leanVariableGrads(loss, [frozen]), /at least one trainable variable/);
  assert.throws(
    () => leanVariableGrads(() => x.sum() as tf.Scalar, [w1]),
    /uses at least one of the variables/,
  );
  tf.dispose([
    a.value,
    b.value,
    ...Object.values(a.grads).filter((g): g is tf.Tensor => g !== null),
    ...Object.values(b.grads),
    w1,
    w2,
    frozen,
    x,
  ]);
});

test('leanGradients: a deep chain of tidied steps peaks lower than tfjs gradients (gradients and saved tensors freed on the way), and nothing leaks', async () => {
  const x = rnd([128, 64], 18);
  const chain = () => {
    let y = x;
    // each step in its own tidy, as layers are: only the tensors saved for the backward pass
    // outlive it, so the backward pass (not the forward's intermediates) sets the peak
    for (let i = 0; i < 12; i++) {
      const yi = y;
      y = tf.tidy(() => tf.sin(yi.mul(1.1)).add(yi.square().mul(0.01)));
    }
    return y.sum();
  };
  const peak = async (lean: boolean) =>
    (
      await tf.profile(() => {
        const { value, grads } = lean
          ? leanGradients(chain, [x])
          : tf.engine().gradients(chain, [x], undefined, true);
        tf.dispose([value, ...(grads as tf.Tensor[])]);
      })
    ).peakBytes;
  const [plain, lean] = [await peak(false), await peak(true)];
  assert.ok(lean < 0.7 * plain, `lean peak ${lean} B < 0.7 × tfjs peak ${plain} B`);
  assertNoLeak(() => {
    const { value, grads } = leanGradients(chain, [x]);
    return [value, ...(grads as tf.Tensor[])];
  });
  x.dispose();
});
