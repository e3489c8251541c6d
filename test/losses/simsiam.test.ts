/**
 * DocRE-II SimSiam contrastive loss (src/losses/simsiam.ts, eq. 14), with stop-gradient.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertNoLeak, loadFixture, tol, useTestBackend } from '../helpers.js';
import { ShapeError } from '../../src/core/errors.js';
import { simSiamLoss } from '../../src/losses/simsiam.js';
import { near, scalarOf, seeded } from '../heads/naive-reasoning.js';

await useTestBackend();

const fx = await loadFixture<Record<string, any>>('reasoning.json');

test('shapes and errors', () => {
  const a = tf.zeros([2, 3, 4]);
  assert.throws(() => simSiamLoss(a, tf.zeros([2, 3, 5]), a, a), ShapeError);
  assert.deepEqual(simSiamLoss(a.add(1), a.add(1), a.add(1), a.add(1)).shape, []);
});

test('closed form: 2 − (cos + cos): aligned 0, orthogonal 2, opposite 4, scale invariant', async () => {
  const u = tf.tensor2d([[1, 2, 3]]);
  const v = tf.tensor2d([[-2, 1, 0]]); // u·v = 0
  await near(simSiamLoss(u, u.mul(5), u.mul(0.1), u), 0, tol(), tol(), 'aligned');
  await near(simSiamLoss(u, v, v, u), 2, tol(), tol(), 'orthogonal');
  await near(simSiamLoss(u, u.neg(), u, u.mul(-3)), 4, tol(), tol(), 'opposite');
  const w = tf.tensor2d([[1, 0, 1]]);
  const cos = (a: number[], b: number[]) =>
    a.reduce((s, x, i) => s + x * b[i]!, 0) / Math.hypot(...a) / Math.hypot(...b);
  await near(
    simSiamLoss(u, w, w, v),
    2 - cos([1, 2, 3], [1, 0, 1]) - cos([1, 0, 1], [-2, 1, 0]),
    tol(),
    tol(),
    'mixed',
  );
});

test('golden parity with torch (masked mean over pairs): value and gradients of the predictions', async () => {
  const g = fx['simsiam'];
  const [ph, zb, pb, zh, pm] = ['predictedHat', 'targetBar', 'predictedBar', 'targetHat']
    .map((n) => tf.tensor(g[n]))
    .concat([tf.tensor(fx['pairMask'])]);
  await near(simSiamLoss(ph!, zb!, pb!, zh!, pm), g.loss, tol(1e-5), tol(1e-5), 'loss');
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
    simSiamLoss(a, b, c, d, pm),
  )([ph!, zb!, pb!, zh!]);
  await near(grads[0]!, tf.tensor(g.grads.predictedHat), tol(1e-6), tol(1e-4), 'grad predictedHat');
  await near(grads[2]!, tf.tensor(g.grads.predictedBar), tol(1e-6), tol(1e-4), 'grad predictedBar');
  // stop-gradient: nothing flows into the target branches
  assert.equal(await scalarOf(tf.sum(tf.abs(grads[1]!))), 0, 'targetBar gets no gradient');
  assert.equal(await scalarOf(tf.sum(tf.abs(grads[3]!))), 0, 'targetHat gets no gradient');
  assert.ok((await scalarOf(tf.sum(tf.abs(grads[0]!)))) > 0, 'predictions do get gradient');
});

test('stop-gradient through a shared branch: only the predictor path carries gradient; no leaks', async () => {
  // M̂ = x·A, M̄ = x·B with predictor P: the gradient wrt A comes only from cos(P(M̄), SG(M̂)) → zero,
  // since A only enters through the stopped target. Compare with the loss without stop-gradient.
  const x = seeded([4, 3], 1, 1);
  const [A, B, P] = [seeded([3, 3], 2, 1), seeded([3, 3], 3, 1), seeded([3, 3], 4, 1)];
  const gA = tf.grad((a: tf.Tensor) => {
    const mHat = tf.matMul(x, a);
    const mBar = tf.matMul(x, B);
    return simSiamLoss(tf.matMul(mBar, P), mHat, tf.matMul(mBar, P), mHat);
  })(A);
  assert.equal(await scalarOf(tf.sum(tf.abs(gA))), 0);
  const [a, b] = [seeded([2, 4], 5, 1), seeded([2, 4], 6, 1)];
  const ones = tf.ones([2]);
  assertNoLeak(() => simSiamLoss(a, b, b, a, ones), 'loss');
  assertNoLeak(() => tf.grads((u: tf.Tensor, v: tf.Tensor) => simSiamLoss(u, v, v, u))([a, b]), 'grads');
});
