import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertNoLeak, seededTensor, tol, useTestBackend } from '../helpers.js';
import { foundation, near, numericGradient } from '../fixtures/foundation.js';
import { LogSumExpPoolingLayer, logSumExpPooling } from '../../src/heads/pooling.js';
import { ShapeError } from '../../src/core/errors.js';

await useTestBackend();
const fx = await foundation();

// b = 1, n = 4, d = 2; entity 0: mentions at tokens 1 and 3; entity 1: token 2; entity 2: none.
const hidden = (): tf.Tensor3D =>
  tf.tensor3d([
    [
      [0, 0],
      [1, -2],
      [0.5, 3],
      [2, 0.25],
    ],
  ]);
const index = (): tf.Tensor3D =>
  tf.tensor3d(
    [
      [
        [1, 3],
        [2, 0],
        [0, 0],
      ],
    ],
    [1, 3, 2],
    'int32',
  );
const mask = (): tf.Tensor3D =>
  tf.tensor3d([
    [
      [1, 1],
      [1, 0],
      [0, 0],
    ],
  ]);

describe('logSumExpPooling', async () => {
  it('shapes: computeOutputShape, output shape and dtype', async () => {
    const layer = new LogSumExpPoolingLayer();
    assert.deepEqual(
      layer.computeOutputShape([
        [2, 7, 5],
        [2, 3, 4],
        [2, 3, 4],
      ]),
      [2, 3, 5],
    );
    const y = layer.apply([hidden(), index(), mask()]) as tf.Tensor;
    assert.deepEqual(y.shape, [1, 3, 2]);
    assert.equal(y.dtype, 'float32');
  });

  it('closed form: log(Σ exp) over real mentions, the state itself for one mention, zeros for none', async () => {
    const y = logSumExpPooling(hidden(), index(), mask());
    await near(y, [
      [
        [Math.log(Math.exp(1) + Math.exp(2)), Math.log(Math.exp(-2) + Math.exp(0.25))],
        [0.5, 3],
        [0, 0],
      ],
    ]);
  });

  it('stays finite and exact for large activations', async () => {
    const big = tf.tensor3d([
      [
        [0, 0],
        [1000, -1000],
        [0.5, 3],
        [1000, -999],
      ],
    ]);
    const y = logSumExpPooling(big, index(), mask());
    await near(
      y.slice([0, 0, 0], [1, 1, 2]),
      [[[1000 + Math.log(2), -999 + Math.log(1 + Math.exp(-1))]]],
      tol(1e-3),
    );
  });

  it('golden: matches ATLOP get_hrt (PyTorch) on a padded batch', async () => {
    const p = fx.pooling;
    const y = logSumExpPooling(
      tf.tensor3d(p.hidden),
      tf.tensor3d(p.mentionIndex, undefined, 'int32'),
      tf.tensor3d(p.mentionMask),
    );
    await near(y, tf.tensor3d(p.entity), tol(1e-5));
  });

  it('gradient: softmax weights over mentions (analytic), zero for padding and empty entities', async () => {
    const g = tf.grad((h: tf.Tensor) => logSumExpPooling(h as tf.Tensor3D, index(), mask()).sum())(hidden());
    const w = (a: number, b: number) => Math.exp(a) / (Math.exp(a) + Math.exp(b));
    // token 0 is only used by padded slots (mask 0): zero gradient
    await near(g, [
      [
        [0, 0],
        [w(1, 2), w(-2, 0.25)],
        [1, 1],
        [w(2, 1), w(0.25, -2)],
      ],
    ]);
  });

  it('gradient with one mention slot (m = 1): each entity state passes its gradient to its token', async () => {
    // every entity has one mention: pooling = the gathered state, d Σ out / d hidden[t] = entities at t
    const hidden = seededTensor([1, 5, 3], 41) as tf.Tensor3D;
    const idx = tf.tensor3d([[[1], [3], [1]]], [1, 3, 1], 'int32');
    const mask = tf.tensor3d([[[1], [1], [1]]]);
    const g = tf.grad((h: tf.Tensor) => logSumExpPooling(h as tf.Tensor3D, idx, mask).sum())(hidden);
    const counts = [0, 2, 0, 1, 0];
    await near(g, [counts.map((c) => [c, c, c])], 1e-5);
    tf.dispose([hidden, idx, mask, g]);
  });

  it('gradient: matches central differences', async () => {
    const h0 = seededTensor([1, 4, 2], 3);
    const f = (h: tf.Tensor) =>
      logSumExpPooling(h as tf.Tensor3D, index(), mask())
        .mul(tf.tensor([[[1], [2], [3]]]))
        .sum() as tf.Scalar;
    const analytic = tf.grad(f)(h0);
    await near(analytic, await numericGradient(f, h0, 1e-2), tol(2e-3));
  });

  it('equivalence: batched = per document; padded entities/mentions change nothing; permutation permutes', async () => {
    const p = fx.pooling;
    const h = tf.tensor3d(p.hidden);
    const idx = tf.tensor3d(p.mentionIndex, undefined, 'int32');
    const m = tf.tensor3d(p.mentionMask);
    const batched = logSumExpPooling(h, idx, m);
    for (let i = 0; i < 2; i++) {
      const one = logSumExpPooling(
        h.slice([i, 0, 0], [1, -1, -1]),
        idx.slice([i, 0, 0], [1, -1, -1]),
        m.slice([i, 0, 0], [1, -1, -1]),
      );
      await near(one, batched.slice([i, 0, 0], [1, -1, -1]));
    }
    // two more padded entities and one more padded mention slot, with garbage indices
    const idxPad = tf.pad(
      idx,
      [
        [0, 0],
        [0, 2],
        [0, 1],
      ],
      7,
    );
    const mPad = tf.pad(m, [
      [0, 0],
      [0, 2],
      [0, 1],
    ]);
    const padded = logSumExpPooling(h, idxPad, mPad);
    await near(padded.slice([0, 0, 0], [-1, 4, -1]), batched);
    await near(padded.slice([0, 4, 0], [-1, 2, -1]), tf.zeros([2, 2, 8]));
    // permuting entities (and the order of mentions within an entity)
    const perm = tf.tensor1d([2, 0, 3, 1], 'int32');
    const permuted = logSumExpPooling(
      h,
      tf.gather(idx, perm, 1).reverse(2),
      tf.gather(m, perm, 1).reverse(2),
    );
    await near(permuted, tf.gather(batched, perm, 1));
  });

  it('round trip: fromConfig(getConfig()) behaves the same; no weights', async () => {
    const layer = new LogSumExpPoolingLayer({ name: 'pool' });
    const copy = LogSumExpPoolingLayer.fromConfig(
      LogSumExpPoolingLayer,
      layer.getConfig(),
    ) as LogSumExpPoolingLayer;
    assert.equal(copy.name, 'pool');
    await near(
      copy.apply([hidden(), index(), mask()]) as tf.Tensor,
      layer.apply([hidden(), index(), mask()]) as tf.Tensor,
    );
    assert.equal(layer.getWeights().length, 0);
    assert.equal(
      tf.serialization.getRegisteredName(LogSumExpPoolingLayer),
      'docre-kit>LogSumExpPoolingLayer',
    );
  });

  it('no leaks (forward, layer, gradient)', async () => {
    const h = hidden();
    const i = index();
    const m = mask();
    const layer = new LogSumExpPoolingLayer();
    layer.apply([h, i, m]);
    assertNoLeak(() => logSumExpPooling(h, i, m), 'logSumExpPooling');
    assertNoLeak(() => layer.apply([h, i, m]), 'layer.apply');
    assertNoLeak(() => tf.grad((x: tf.Tensor) => logSumExpPooling(x as tf.Tensor3D, i, m).sum())(h), 'grad');
  });

  it('bad shapes and dtypes throw ShapeError naming the argument', async () => {
    assert.throws(
      () => logSumExpPooling(tf.zeros([1, 4]) as never, index(), mask()),
      (e: unknown) =>
        e instanceof ShapeError && /hidden: expected shape \[b, n, d\], got \[1, 4\]/.test(e.message),
    );
    assert.throws(
      () => logSumExpPooling(hidden(), index(), tf.zeros([1, 3, 5]) as tf.Tensor3D),
      /mentionMask: expected shape \[b, e, m\] with m = 2, got \[1, 3, 5\]/,
    );
    assert.throws(
      () => logSumExpPooling(hidden(), tf.zeros([2, 3, 2]) as tf.Tensor3D, mask()),
      /mentionIndex: expected shape \[b, e, m\] with b = 1, got \[2, 3, 2\]/,
    );
    assert.throws(
      () => logSumExpPooling(hidden(), tf.zeros([1, 3, 2]) as tf.Tensor3D, mask()),
      /mentionIndex: expected shape \[b, e, m\] int32, got dtype float32/,
    );
    assert.throws(
      () => new LogSumExpPoolingLayer().apply([hidden(), index()]),
      /inputs: expected a list of 3 inputs, got 2/,
    );
  });
});
