import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { seededTensor, tol, useTestBackend } from '../helpers.js';
import { foundation, near, scalar } from '../fixtures/foundation.js';
import { adaptiveThresholdDecode, adaptiveThresholdLoss } from '../../src/losses/adaptive-threshold.js';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';
import {
  assertEmptyDocument,
  assertGoldenDecode,
  assertGoldenLoss,
  assertLossNoLeak,
  assertMaskedGradient,
  assertScalarLoss,
} from './multilabel-ladder.js';

await useTestBackend();
const at = (await foundation()).adaptiveThreshold;
const { exp, log } = Math;

describe('adaptiveThresholdLoss', () => {
  it('shapes: a scalar float32 for any leading dims', async () => {
    assertScalarLoss(adaptiveThresholdLoss);
  });

  it('closed form: one relation, all-NA, every relation positive', async () => {
    const [a0, a1, a2] = [0.3, 1.2, -0.7];
    const logits = tf.tensor2d([
      [a0, a1, a2],
      [a0, a1, a2],
      [a0, a1, a2],
    ]);
    const labels = tf.tensor2d([
      [0, 1, 0], // relation 1
      [1, 0, 0], // NA
      [0, 1, 1], // every relation
    ]);
    const one = -log(exp(a1) / (exp(a0) + exp(a1))) - log(exp(a0) / (exp(a0) + exp(a2)));
    const na = -log(exp(a0) / (exp(a0) + exp(a1) + exp(a2)));
    const z = exp(a0) + exp(a1) + exp(a2);
    const every = -log(exp(a1) / z) - log(exp(a2) / z) - 0; // N is empty: L2 = −log 1
    for (const [i, want] of [one, na, every].entries())
      await near(
        adaptiveThresholdLoss(logits.slice([i, 0], [1, 3]), labels.slice([i, 0], [1, 3])),
        want,
        tol(1e-5),
      );
    await near(adaptiveThresholdLoss(logits, labels), (one + na + every) / 3, tol(1e-5));
    await near(adaptiveThresholdLoss(logits, labels, tf.tensor1d([1, 0, 1])), (one + every) / 2, tol(1e-5));
  });

  it('golden: ATLOP ATLoss (PyTorch), loss and gradient, with and without a mask', async () => {
    await assertGoldenLoss(adaptiveThresholdLoss, at);
  });

  it('does not mutate labels (ATLOP zeroes labels[:, 0] in place)', async () => {
    const labels = tf.tensor2d(at.labels);
    adaptiveThresholdLoss(tf.tensor2d(at.logits), labels);
    assert.deepEqual(await labels.array(), at.labels);
  });

  it('finite for extreme logits, all-masked batches and masked pairs', async () => {
    const logits = tf.tensor2d([
      [3e4, -3e4, 0],
      [-3e4, 3e4, 1e4],
    ]);
    const labels = tf.tensor2d([
      [0, 1, 0],
      [1, 0, 0],
    ]);
    const loss = await scalar(adaptiveThresholdLoss(logits, labels));
    assert.ok(Number.isFinite(loss), `loss ${loss}`);
    const g = await tf
      .grad((x: tf.Tensor) => adaptiveThresholdLoss(x, labels))(logits)
      .data();
    assert.ok(Array.from(g).every(Number.isFinite));
    await near(adaptiveThresholdLoss(logits, labels, tf.zeros([2])), 0);
  });

  it('edge cases: an all-NA batch; a document with one entity (no pairs)', async () => {
    const logits = tf.tensor2d([
      [0.4, -1, 2],
      [1.5, 0.5, 0],
    ]);
    const allNA = tf.tensor2d([
      [1, 0, 0],
      [1, 0, 0],
    ]);
    const na = (a: number[]) => -log(exp(a[0]!) / a.reduce((z, x) => z + exp(x), 0));
    await near(adaptiveThresholdLoss(logits, allNA), (na([0.4, -1, 2]) + na([1.5, 0.5, 0])) / 2, tol(1e-5));
    // one entity: logits [1,1,1,r] and pairMask [1,1,1] = 0 → loss 0 and zero gradient
    await assertEmptyDocument(adaptiveThresholdLoss, 36);
  });

  it('gradient: central differences; masked pairs get zero gradient', async () => {
    await assertMaskedGradient(adaptiveThresholdLoss, [1, 1, 0], 31, 2);
  });

  it('equivalence: [b,e,e,r] with pairMask = the flattened real pairs; permutation invariant', async () => {
    const logits = seededTensor([2, 3, 3, 5], 32, 3);
    const labels = seededTensor([2, 3, 3, 5], 33).greater(0.3).toFloat();
    const pairMask = tf.tensor3d([
      [
        [0, 1, 1],
        [1, 0, 1],
        [1, 1, 0],
      ],
      [
        [0, 1, 0],
        [1, 0, 0],
        [0, 0, 0],
      ],
    ]);
    const rows = tf.tensor1d([1, 2, 3, 5, 6, 7, 10, 12], 'int32');
    const flat = (x: tf.Tensor) => tf.gather(x.reshape([18, 5]), rows);
    const batched = await scalar(adaptiveThresholdLoss(logits, labels, pairMask));
    await near(adaptiveThresholdLoss(flat(logits), flat(labels)), batched, tol(1e-5));
    const rev = rows.reverse();
    await near(
      adaptiveThresholdLoss(tf.gather(logits.reshape([18, 5]), rev), tf.gather(labels.reshape([18, 5]), rev)),
      batched,
      tol(1e-5),
    );
  });

  it('no leaks and bad shapes', async () => {
    const { logits, labels } = assertLossNoLeak(adaptiveThresholdLoss, adaptiveThresholdDecode, 34);
    assert.throws(
      () => adaptiveThresholdLoss(logits, tf.zeros([4, 2])),
      (e: unknown) =>
        e instanceof ShapeError &&
        /labels: expected shape \[4, 3\] \(the shape of logits\), got \[4, 2\]/.test(e.message),
    );
    assert.throws(
      () => adaptiveThresholdLoss(logits, labels, tf.ones([4, 1])),
      /mask: expected shape \[4\] \(logits without r\), got \[4, 1\]/,
    );
  });
});

describe('adaptiveThresholdDecode', () => {
  it('closed form: r > 0 above logit_0, top-k, column 0 when nothing is predicted', async () => {
    const logits = tf.tensor2d([
      [0.5, 1, 0.2, 2, 0.7], // 1, 3, 4 above TH
      [3, 1, 2, 0, -1], // none above TH
      [0, 1, 1, -1, 0], // tie above TH
    ]);
    await near(adaptiveThresholdDecode(logits), [
      [0, 1, 0, 1, 1],
      [1, 0, 0, 0, 0],
      [0, 1, 1, 0, 0],
    ]);
    // top-2 over all columns (ATLOP ranks column 0 too): row 0 keeps 3 and 1
    await near(adaptiveThresholdDecode(logits, { topK: 2 }), [
      [0, 1, 0, 1, 0],
      [1, 0, 0, 0, 0],
      [0, 1, 1, 0, 0],
    ]);
    const y = adaptiveThresholdDecode(seededTensor([2, 3, 3, 6], 35));
    assert.deepEqual(y.shape, [2, 3, 3, 6]);
    assert.equal(y.dtype, 'float32');
  });

  it('golden: ATLOP get_label (PyTorch), with and without top-k', async () => {
    await assertGoldenDecode(adaptiveThresholdDecode, at);
  });

  it('bad topK throws ArgumentError', async () => {
    assert.throws(
      () => adaptiveThresholdDecode(tf.zeros([2, 3]), { topK: 0 }),
      (e: unknown) =>
        e instanceof ArgumentError && /topK: expected an integer in \[1, 3\], got 0/.test(e.message),
    );
    assert.throws(
      () => adaptiveThresholdDecode(tf.zeros([2, 3]), { topK: 4 }),
      /topK: expected an integer in \[1, 3\], got 4/,
    );
  });
});
