import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { seededTensor, tol, useTestBackend } from '../helpers.js';
import { foundation, near, scalar } from '../fixtures/foundation.js';
import { balancedSoftmaxDecode, balancedSoftmaxLoss } from '../../src/losses/balanced-softmax.js';
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
const bs = (await foundation()).balancedSoftmax;
const { exp, log } = Math;

describe('balancedSoftmaxLoss', () => {
  it('shapes: a scalar float32 for any leading dims', async () => {
    assertScalarLoss(balancedSoftmaxLoss);
  });

  it('closed form: log(1 + Σ_neg e^s) + log(1 + Σ_pos e^−s), column 0 an ordinary class', async () => {
    const s = [0.3, 1.2, -0.7, 2];
    const logits = tf.tensor2d([s, s, s]);
    const labels = tf.tensor2d([
      [0, 1, 0, 1], // two relations
      [1, 0, 0, 0], // NA: column 0 is the positive class
      [0, 1, 1, 1], // every relation positive
    ]);
    const two = log(1 + exp(s[0]!) + exp(s[2]!)) + log(1 + exp(-s[1]!) + exp(-s[3]!));
    const na = log(1 + exp(s[1]!) + exp(s[2]!) + exp(s[3]!)) + log(1 + exp(-s[0]!));
    const every = log(1 + exp(s[0]!)) + log(1 + exp(-s[1]!) + exp(-s[2]!) + exp(-s[3]!));
    for (const [i, want] of [two, na, every].entries())
      await near(
        balancedSoftmaxLoss(logits.slice([i, 0], [1, 4]), labels.slice([i, 0], [1, 4])),
        want,
        tol(1e-5),
      );
    await near(balancedSoftmaxLoss(logits, labels, tf.tensor1d([0, 1, 1])), (na + every) / 2, tol(1e-5));
    // all columns positive: the negative term is log(1 + 0) = 0
    await near(
      balancedSoftmaxLoss(tf.tensor2d([s]), tf.ones([1, 4])),
      log(1 + s.reduce((a, x) => a + exp(-x), 0)),
      tol(1e-5),
    );
  });

  it('golden: DocuNet multilabel_categorical_crossentropy (PyTorch), loss and gradient', async () => {
    await assertGoldenLoss(balancedSoftmaxLoss, bs);
  });

  it('finite for extreme logits and all-masked batches', async () => {
    const logits = tf.tensor2d([
      [3e4, -3e4, 0],
      [-3e4, 3e4, 1e4],
    ]);
    const labels = tf.tensor2d([
      [0, 1, 0],
      [1, 0, 0],
    ]);
    const loss = await scalar(balancedSoftmaxLoss(logits, labels));
    assert.ok(Number.isFinite(loss), `loss ${loss}`);
    // row 0: log(1 + e^3e4) + log(1 + e^3e4) ≈ 6e4; row 1: log(1 + e^3e4 + e^1e4) + log(1 + e^3e4) ≈ 6e4
    assert.ok(Math.abs(loss - 6e4) < 60, `loss ${loss}`);
    const g = await tf
      .grad((x: tf.Tensor) => balancedSoftmaxLoss(x, labels))(logits)
      .data();
    assert.ok(Array.from(g).every(Number.isFinite));
    await near(balancedSoftmaxLoss(logits, labels, tf.zeros([2])), 0);
  });

  it('edge cases: an all-NA batch; a document with one entity (no pairs)', async () => {
    const s = [0.4, -1, 2];
    const allNA = tf.tensor2d([[1, 0, 0]]);
    await near(
      balancedSoftmaxLoss(tf.tensor2d([s]), allNA),
      log(1 + exp(-1) + exp(2)) + log(1 + exp(-0.4)),
      tol(1e-5),
    );
    await assertEmptyDocument(balancedSoftmaxLoss, 45);
  });

  it('gradient: central differences; masked pairs get zero gradient', async () => {
    await assertMaskedGradient(balancedSoftmaxLoss, [1, 0, 1], 41, 1);
  });

  it('equivalence: [b,e,e,r] with pairMask = the flattened real pairs', async () => {
    const logits = seededTensor([1, 3, 3, 5], 42, 3);
    const labels = seededTensor([1, 3, 3, 5], 43).greater(0.3).toFloat();
    const pairMask = tf.tensor3d([
      [
        [0, 1, 1],
        [1, 0, 0],
        [1, 1, 0],
      ],
    ]);
    const rows = tf.tensor1d([1, 2, 3, 6, 7], 'int32');
    const flat = (x: tf.Tensor) => tf.gather(x.reshape([9, 5]), rows);
    await near(
      balancedSoftmaxLoss(flat(logits), flat(labels)),
      await scalar(balancedSoftmaxLoss(logits, labels, pairMask)),
      tol(1e-5),
    );
  });

  it('no leaks and bad shapes', async () => {
    const { logits, labels } = assertLossNoLeak(balancedSoftmaxLoss, balancedSoftmaxDecode, 44);
    assert.throws(
      () => balancedSoftmaxLoss(logits, tf.zeros([3, 3])),
      (e: unknown) =>
        e instanceof ShapeError &&
        /labels: expected shape \[4, 3\] \(the shape of logits\), got \[3, 3\]/.test(e.message),
    );
    assert.throws(
      () => balancedSoftmaxLoss(logits, labels, tf.ones([3])),
      /mask: expected shape \[4\] \(logits without r\), got \[3\]/,
    );
  });
});

describe('balancedSoftmaxDecode', () => {
  it('closed form: r > 0 with s_r > 0, top-k, column 0 when none', async () => {
    const logits = tf.tensor2d([
      [-1, 1, -0.2, 2, 0.7], // 1, 3, 4 positive
      [-3, -1, -2, 0, -1], // none (0 is not > 0)
      [5, 1, -1, -1, 2], // column 0 positive and ranked first: top-2 keeps only 4
      [2, -1, -1, -1, -2], // only column 0 positive: column 0 (DocuNet's code would output all zeros)
    ]);
    await near(balancedSoftmaxDecode(logits), [
      [0, 1, 0, 1, 1],
      [1, 0, 0, 0, 0],
      [0, 1, 0, 0, 1],
      [1, 0, 0, 0, 0],
    ]);
    await near(balancedSoftmaxDecode(logits, { topK: 2 }), [
      [0, 1, 0, 1, 0],
      [1, 0, 0, 0, 0],
      [0, 0, 0, 0, 1],
      [1, 0, 0, 0, 0],
    ]);
  });

  it('golden: DocuNet get_label (PyTorch), with and without top-k', async () => {
    await assertGoldenDecode(balancedSoftmaxDecode, bs);
  });

  it('bad topK throws ArgumentError', async () => {
    assert.throws(
      () => balancedSoftmaxDecode(tf.zeros([2, 3]), { topK: 1.5 }),
      (e: unknown) =>
        e instanceof ArgumentError && /topK: expected an integer in \[1, 3\], got 1.5/.test(e.message),
    );
  });
});
