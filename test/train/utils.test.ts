/**
 * Schedule values, global-norm clipping, gradient accumulation (== one large batch), the seeded
 * RNG, and atomic checkpoint files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  AdamW,
  GradientAccumulator,
  loadOptimizerState,
  saveOptimizerState,
  SeededRandom,
  clipByGlobalNorm,
  linearWarmupDecay,
  loadTensorFile,
  saveTensorFile,
} from '../../src/train/index.js';
import { assertClose, seededTensor, tol, useTestBackend } from '../helpers.js';

await useTestBackend();

test('linearWarmupDecay: 0 → 1 over the warmup, then linearly to 0', () => {
  const s = linearWarmupDecay(100, 0.06);
  assert.deepEqual([0, 3, 6, 53, 100, 120].map(s), [0, 0.5, 1, 0.5, 0, 0]);
  assert.equal(s(5), 5 / 6);
  assert.equal(s(99), 1 / 94);
  const noWarm = linearWarmupDecay(10, 0);
  assert.deepEqual([0, 5, 10].map(noWarm), [1, 0.5, 0]);
  assert.throws(() => linearWarmupDecay(0), /totalSteps: expected an integer > 0, got 0/);
  assert.throws(() => linearWarmupDecay(10, 1.5), /warmupRatio: expected a number in \[0, 1\], got 1.5/);
});

test('clipByGlobalNorm: norm = √Σ‖g‖², scaled to maxNorm only when above it', () => {
  const a = tf.tensor1d([3, 0]);
  const b = tf.tensor2d([[0, 4]]);
  const big = clipByGlobalNorm({ a, b }, 1);
  assertClose(big.norm, 5, tol(1e-6));
  const coef = 1 / (5 + 1e-6);
  assertClose(big.grads['a']!, [3 * coef, 0], tol(1e-6));
  assertClose(big.grads['b']!, [[0, 4 * coef]], tol(1e-6));
  const small = clipByGlobalNorm({ a, b }, 10);
  assertClose(small.grads['a']!, [3, 0], 0, 0);
  assertClose(small.grads['b']!, [[0, 4]], 0, 0);
  assert.equal(a.isDisposed, false);
  tf.dispose([a, b, big.norm, small.norm, ...Object.values(big.grads), ...Object.values(small.grads)]);
  assert.throws(() => clipByGlobalNorm({}, 0), /maxNorm: expected a number > 0, got 0/);
});

test('accumulating k equal micro-batches gives the gradient of the whole batch', () => {
  const w = tf.variable(seededTensor([4, 2], 3));
  const x = seededTensor([8, 4], 4);
  const y = seededTensor([8, 2], 5);
  const lossOf = (xs: tf.Tensor, ys: tf.Tensor) => () =>
    tf.losses.meanSquaredError(ys, xs.matMul(w)) as tf.Scalar;
  const full = tf.variableGrads(lossOf(x, y), [w]);
  const acc = new GradientAccumulator(4);
  for (let i = 0; i < 4; i++) {
    const xs = x.slice([2 * i, 0], [2, 4]);
    const ys = y.slice([2 * i, 0], [2, 2]);
    const g = tf.variableGrads(lossOf(xs, ys), [w]);
    acc.add(g.grads);
    tf.dispose([xs, ys, g.value, ...Object.values(g.grads)]);
  }
  assert.equal(acc.ready, true);
  const got = acc.take();
  assert.equal(acc.count, 0);
  assertClose(got[w.name]!, full.grads[w.name]!, tol(1e-6));
  tf.dispose([w, x, y, full.value, ...Object.values(full.grads), ...Object.values(got)]);
  assert.throws(() => new GradientAccumulator(0), /steps: expected an integer >= 1, got 0/);
});

test('SeededRandom: same seed same permutations; state resumes the stream', () => {
  const a = new SeededRandom(7);
  const p1 = a.permutation(10);
  const saved = a.state;
  const p2 = a.permutation(10);
  assert.deepEqual(
    [...p1].sort((x, y) => x - y),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.deepEqual(new SeededRandom(7).permutation(10), p1);
  assert.deepEqual(new SeededRandom(7, saved).permutation(10), p2);
  assert.notDeepEqual(p1, p2);
  assert.notDeepEqual(new SeededRandom(8).permutation(10), p1);
});

test('saveTensorFile/loadTensorFile round trip, atomic (no temp file left), bad file is an error', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'docre-ckpt-'));
  const file = path.join(dir, 'x.ckpt');
  const w = seededTensor([2, 3], 1);
  const i = tf.tensor1d([1, -2, 3], 'int32');
  await saveTensorFile(file, { w, i }, { state: '{"step":3}' });
  await saveTensorFile(file, { w, i }, { state: '{"step":4}' }); // overwrite in place
  assert.deepEqual(await fs.readdir(dir), ['x.ckpt']);
  const back = await loadTensorFile(file);
  assert.deepEqual(back.metadata, { state: '{"step":4}' });
  assertClose(back.tensors['w']!, w, 0, 0);
  assert.equal(back.tensors['i']!.dtype, 'int32');
  assert.deepEqual(Array.from(back.tensors['i']!.dataSync()), [1, -2, 3]);
  await fs.writeFile(file, new Uint8Array([1, 2, 3]));
  await assert.rejects(loadTensorFile(file), /x\.ckpt/);
  tf.dispose([w, i, ...Object.values(back.tensors)]);
  await fs.rm(dir, { recursive: true });
});

test('saveOptimizerState/loadOptimizerState: a run split across fresh variables continues identically', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'docre-opt-'));
  const file = path.join(dir, 'opt.ckpt');
  const gs = [
    [0.5, -1],
    [2, 0.25],
    [-0.3, 0.8],
    [1, 1],
  ].map((g) => tf.tensor1d(g));
  const build = () => {
    const a = tf.variable(tf.tensor1d([0.1, -0.2]));
    const b = tf.variable(tf.scalar(3));
    const opt = new AdamW([
      { variables: [a], lr: 0.05, weightDecay: 0.1 },
      { variables: [b], lr: 0.01, weightDecay: 0 },
    ]);
    return { a, b, opt };
  };
  const step = (m: ReturnType<typeof build>, g: tf.Tensor) => {
    const gb = g.sum();
    m.opt.applyGradients({ [m.a.name]: g, [m.b.name]: gb });
    gb.dispose();
  };
  const straight = build();
  gs.forEach((g) => step(straight, g));
  const first = build();
  gs.slice(0, 2).forEach((g) => step(first, g));
  await saveOptimizerState(file, first.opt, [first.a, first.b]);
  const second = build(); // new variables (other names), fresh optimizer
  await loadOptimizerState(file, second.opt, [second.a, second.b]);
  gs.slice(2).forEach((g) => step(second, g));
  assertClose(second.a, straight.a, 0, 0, 'a');
  assertClose(second.b, straight.b, 0, 0, 'b');
  await assert.rejects(
    loadOptimizerState(file, second.opt, [second.a]),
    /opt\.ckpt variables: expected 1, got "2"/,
  );
  for (const m of [straight, first, second]) {
    m.opt.dispose();
    tf.dispose([m.a, m.b]);
  }
  tf.dispose(gs);
  await fs.rm(dir, { recursive: true });
});
