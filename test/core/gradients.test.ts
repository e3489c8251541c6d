/**
 * src/core/gradients.ts: the Tile / broadcastTo gradient (one reshape + sum instead of one slice
 * per repetition) equals the closed form for ranks 1–5, including broadcastTo.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertClose, assertNoLeak, seededArray, useTestBackend } from '../helpers.js';
import { read } from './util.js';

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
