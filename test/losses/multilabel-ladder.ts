/**
 * Ladder rungs shared by the multi-label pair losses (adaptive threshold, balanced softmax):
 * each takes the loss `(logits [.., r], labels [.., r], mask? [..]) → scalar` (or its decoder)
 * and asserts what both losses must satisfy, so the two test files state only what differs.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertNoLeak, seededTensor, tol } from '../helpers.js';
import { near, numericGradient } from '../fixtures/foundation.js';
import type { DecodeOptions } from '../../src/losses/adaptive-threshold.js';

export type PairLoss = (logits: tf.Tensor, labels: tf.Tensor, mask?: tf.Tensor) => tf.Scalar;
export type PairDecode = (logits: tf.Tensor, options?: DecodeOptions) => tf.Tensor;

/** Shapes: a scalar float32 for logits/labels [2,3,3,4] and pairMask [2,3,3]. */
export function assertScalarLoss(loss: PairLoss): void {
  const value = loss(tf.zeros([2, 3, 3, 4]), tf.zeros([2, 3, 3, 4]), tf.ones([2, 3, 3]));
  assert.deepEqual(value.shape, []);
  assert.equal(value.dtype, 'float32');
}

/** One entity: logits [1,1,1,r] and pairMask [1,1,1] = 0 → loss 0 and zero gradient. */
export async function assertEmptyDocument(loss: PairLoss, seed: number): Promise<void> {
  const one = seededTensor([1, 1, 1, 3], seed);
  const noPairs = tf.zeros([1, 1, 1]);
  const labels = tf.tensor4d([[[[1, 0, 0]]]]);
  await near(loss(one, labels, noPairs), 0);
  await near(tf.grad((x: tf.Tensor) => loss(x, labels, noPairs))(one), tf.zeros([1, 1, 1, 3]));
}

/**
 * Gradient on 3 pairs × 4 classes equals central differences; the pair `maskedRow` (0 in `mask`)
 * gets zero gradient.
 */
export async function assertMaskedGradient(
  loss: PairLoss,
  mask: number[],
  seed: number,
  maskedRow: number,
): Promise<void> {
  const labels = tf.tensor2d([
    [0, 1, 0, 1],
    [1, 0, 0, 0],
    [0, 0, 1, 0],
  ]);
  const m = tf.tensor1d(mask);
  const x0 = seededTensor([3, 4], seed, 2);
  const f = (x: tf.Tensor) => loss(x, labels, m);
  const g = tf.grad(f)(x0);
  await near(g, await numericGradient(f, x0, 1e-2), tol(2e-3));
  await near(g.slice([maskedRow, 0], [1, 4]), tf.zeros([1, 4]));
}

/**
 * Loss, its gradient and the top-2 decoder leave no tensor behind on 4 pairs × 3 classes;
 * returns those logits and labels for the bad-shape checks.
 */
export function assertLossNoLeak(
  loss: PairLoss,
  decode: PairDecode,
  seed: number,
): { logits: tf.Tensor; labels: tf.Tensor } {
  const logits = seededTensor([4, 3], seed);
  const labels = tf.tensor2d([
    [1, 0, 0],
    [0, 1, 1],
    [0, 0, 1],
    [1, 0, 0],
  ]);
  const mask = tf.ones([4]);
  assertNoLeak(() => loss(logits, labels, mask), 'loss');
  assertNoLeak(() => tf.grad((x: tf.Tensor) => loss(x, labels))(logits), 'grad');
  assertNoLeak(() => decode(logits, { topK: 2 }), 'decode');
  return { logits, labels };
}

/** The decoder reproduces the PyTorch golden labels exactly, with and without top-2. */
export async function assertGoldenDecode(
  decode: PairDecode,
  golden: { decodeLogits: number[][]; decode: number[][]; decodeTop2: number[][] },
): Promise<void> {
  const logits = tf.tensor2d(golden.decodeLogits);
  await near(decode(logits), golden.decode, 0);
  await near(decode(logits, { topK: 2 }), golden.decodeTop2, 0);
}

/** Loss and gradient equal the PyTorch golden values, with and without the mask. */
export async function assertGoldenLoss(
  loss: PairLoss,
  golden: {
    logits: number[][];
    labels: number[][];
    mask: number[];
    loss: number;
    lossMasked: number;
    grad: number[][];
    gradMasked: number[][];
  },
): Promise<void> {
  const logits = tf.tensor2d(golden.logits);
  const labels = tf.tensor2d(golden.labels);
  const mask = tf.tensor1d(golden.mask);
  await near(loss(logits, labels), golden.loss, tol(1e-5));
  await near(loss(logits, labels, mask), golden.lossMasked, tol(1e-5));
  await near(tf.grad((x: tf.Tensor) => loss(x, labels))(logits), tf.tensor2d(golden.grad), tol(1e-5));
  await near(
    tf.grad((x: tf.Tensor) => loss(x, labels, mask))(logits),
    tf.tensor2d(golden.gradMasked),
    tol(1e-5),
  );
}
