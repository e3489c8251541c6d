import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertNoLeak, seededTensor, tol, useTestBackend } from '../helpers.js';
import { foundation, near, numericGradient } from '../fixtures/foundation.js';
import {
  entityAttention,
  localizedContextPooling,
  LocalizedContextPoolingLayer,
} from '../../src/heads/context-pooling.js';
import { logSumExpPooling } from '../../src/heads/pooling.js';
import { ShapeError } from '../../src/core/errors.js';

await useTestBackend();
const fx = await foundation();
const p = fx.pooling;
const hidden = () => tf.tensor3d(p.hidden);
const attention = () => tf.tensor4d(p.attention);
const index = () => tf.tensor3d(p.mentionIndex, undefined, 'int32');
const mask = () => tf.tensor3d(p.mentionMask);

/** Naive reference: the [b,e,e,h,n] broadcast product, straight from ATLOP's formula. */
function naiveContext(h: tf.Tensor3D, att: tf.Tensor4D): tf.Tensor {
  const [b, e, heads, n] = att.shape;
  const q = att
    .reshape([b, e, 1, heads, n])
    .mul(att.reshape([b, 1, e, heads, n]))
    .mean(3); // [b,e,e,n]
  const a = q.div(q.sum(3, true).add(1e-5));
  return tf.matMul(a.reshape([b, e * e, n]), h).reshape([b, e, e, h.shape[2]]);
}

describe('entityAttention', () => {
  it('shapes', async () => {
    const y = entityAttention(attention(), index(), mask());
    assert.deepEqual(y.shape, [2, 4, 2, 12]);
    assert.equal(y.dtype, 'float32');
  });

  it('closed form: mean of the start-marker rows over real mentions; zeros without mentions', async () => {
    // b = 1, h = 2, n = 3: attention[0, head, query, key] = 10·head + 3·query + key
    const att = tf.tensor4d(
      Array.from({ length: 18 }, (_, i) => 10 * Math.floor(i / 9) + 3 * Math.floor((i % 9) / 3) + (i % 3)),
      [1, 2, 3, 3],
    );
    const idx = tf.tensor3d(
      [
        [
          [0, 2],
          [1, 1],
          [2, 0],
        ],
      ],
      [1, 3, 2],
      'int32',
    );
    const m = tf.tensor3d([
      [
        [1, 1],
        [1, 0],
        [0, 0],
      ],
    ]);
    const row = (head: number, query: number) => [0, 1, 2].map((key) => 10 * head + 3 * query + key);
    const mean = (a: number[], b: number[]) => a.map((x, i) => (x + b[i]!) / 2);
    await near(entityAttention(att, idx, m), [
      [
        [mean(row(0, 0), row(0, 2)), mean(row(1, 0), row(1, 2))],
        [row(0, 1), row(1, 1)],
        [
          [0, 0, 0],
          [0, 0, 0],
        ],
      ],
    ]);
  });

  it('golden: matches ATLOP get_hrt (PyTorch)', async () => {
    await near(entityAttention(attention(), index(), mask()), tf.tensor4d(p.entityAtt), tol(1e-5));
  });
});

describe('localizedContextPooling', () => {
  it('shapes: computeOutputShape, output shape and dtype', async () => {
    const layer = new LocalizedContextPoolingLayer();
    assert.deepEqual(
      layer.computeOutputShape([
        [2, 12, 8],
        [2, 4, 2, 12],
      ]),
      [2, 4, 4, 8],
    );
    const y = layer.apply([hidden(), tf.tensor4d(p.entityAtt)]) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 4, 4, 8]);
    assert.equal(y.dtype, 'float32');
  });

  it('closed form: q = mean_h(A_s∘A_o), a = q/(Σq + 1e-5), c = Σ a·h', async () => {
    // b = 1, e = 2, h = 2, n = 2, d = 1; hidden = [3, 5]
    const A = [
      [
        [0.2, 0.8],
        [0.6, 0.4],
      ],
      [
        [0.5, 0.5],
        [0.1, 0.9],
      ],
    ]; // [e][h][n]
    const hid = [3, 5];
    const c = (s: number, o: number) => {
      const q = [0, 1].map((n) => (A[s]![0]![n]! * A[o]![0]![n]! + A[s]![1]![n]! * A[o]![1]![n]!) / 2);
      const z = q[0]! + q[1]! + 1e-5;
      return (q[0]! / z) * hid[0]! + (q[1]! / z) * hid[1]!;
    };
    const y = localizedContextPooling(tf.tensor3d([[[3], [5]]]), tf.tensor4d([A]));
    await near(y, [
      [
        [[c(0, 0)], [c(0, 1)]],
        [[c(1, 0)], [c(1, 1)]],
      ],
    ]);
  });

  it('golden: context and the gradients of entity + attention + context (ATLOP, PyTorch)', async () => {
    const objective = (h: tf.Tensor, att: tf.Tensor) => {
      const ea = entityAttention(att as tf.Tensor4D, index(), mask());
      const ent = logSumExpPooling(h as tf.Tensor3D, index(), mask());
      const ctx = localizedContextPooling(h as tf.Tensor3D, ea);
      return ent
        .mul(tf.tensor3d(p.cotangentEntity))
        .sum()
        .add(ea.mul(tf.tensor4d(p.cotangentEntityAtt)).sum())
        .add(ctx.mul(tf.tensor4d(p.cotangentContext)).sum()) as tf.Scalar;
    };
    await near(
      localizedContextPooling(hidden(), tf.tensor4d(p.entityAtt)),
      tf.tensor4d(p.context),
      tol(1e-5),
    );
    const [gh, ga] = tf.grads(objective)([hidden(), attention()]);
    await near(gh!, tf.tensor3d(p.gradHidden), tol(1e-4), tol(1e-4), 'dHidden');
    await near(ga!, tf.tensor4d(p.gradAttention), tol(1e-4), tol(1e-4), 'dAttention');
  });

  it('gradient: matches central differences w.r.t. entity attention', async () => {
    const h = seededTensor([1, 5, 3], 11) as tf.Tensor3D;
    const att = seededTensor([1, 3, 2, 5], 12).abs() as tf.Tensor4D;
    const w = seededTensor([1, 3, 3, 3], 13);
    const f = (x: tf.Tensor) =>
      localizedContextPooling(h, x as tf.Tensor4D)
        .mul(w)
        .sum() as tf.Scalar;
    await near(tf.grad(f)(att), await numericGradient(f, att, 1e-3), tol(3e-3));
  });

  it('gradient: only start-marker rows of real mentions receive attention gradient; empty entities give c = 0', async () => {
    const ga = tf.grad((att: tf.Tensor) =>
      localizedContextPooling(hidden(), entityAttention(att as tf.Tensor4D, index(), mask())).sum(),
    )(attention());
    const used = new Set<string>();
    p.mentionIndex.forEach((doc, b) =>
      doc.forEach((ent, e) => ent.forEach((t, j) => p.mentionMask[b]![e]![j] && used.add(`${b},${t}`))),
    );
    const g = (await ga.array()) as number[][][][];
    let nonzero = 0;
    g.forEach((doc, b) =>
      doc.forEach((head) =>
        head.forEach((row, t) => {
          const total = row.reduce((a, x) => a + Math.abs(x), 0);
          if (!used.has(`${b},${t}`)) assert.equal(total, 0, `row ${b},${t} is not a real start marker`);
          else if (total > 0) nonzero++;
        }),
      ),
    );
    assert.ok(nonzero > 0);
    const ctx = localizedContextPooling(hidden(), entityAttention(attention(), index(), mask()));
    // doc 0 entity 3 has no mention; doc 1 entity 3 is padding: whole rows and columns are 0
    await near(ctx.slice([0, 3, 0, 0], [1, 1, -1, -1]), tf.zeros([1, 1, 4, 8]));
    await near(ctx.slice([1, 0, 3, 0], [1, -1, 1, -1]), tf.zeros([1, 4, 1, 8]));
  });

  it('equivalence: batched matmuls = naive [b,e,e,h,n] product; batched = per document', async () => {
    const att = tf.tensor4d(p.entityAtt);
    const fast = localizedContextPooling(hidden(), att);
    await near(fast, naiveContext(hidden(), att), tol(1e-5));
    for (let b = 0; b < 2; b++)
      await near(
        localizedContextPooling(
          hidden().slice([b, 0, 0], [1, -1, -1]),
          att.slice([b, 0, 0, 0], [1, -1, -1, -1]),
        ),
        fast.slice([b, 0, 0, 0], [1, -1, -1, -1]),
      );
  });

  it('equivalence: padded entities change nothing; permuting entities permutes rows and columns', async () => {
    const att = entityAttention(attention(), index(), mask());
    const base = localizedContextPooling(hidden(), att);
    const idxPad = tf.pad(
      index(),
      [
        [0, 0],
        [0, 2],
        [0, 0],
      ],
      5,
    );
    const mPad = tf.pad(mask(), [
      [0, 0],
      [0, 2],
      [0, 0],
    ]);
    const padded = localizedContextPooling(hidden(), entityAttention(attention(), idxPad, mPad));
    await near(padded.slice([0, 0, 0, 0], [-1, 4, 4, -1]), base);
    await near(padded.slice([0, 4, 0, 0], [-1, 2, -1, -1]), tf.zeros([2, 2, 6, 8]));
    const perm = tf.tensor1d([3, 1, 0, 2], 'int32');
    const permuted = localizedContextPooling(hidden(), tf.gather(att, perm, 1));
    await near(permuted, tf.gather(tf.gather(base, perm, 1), perm, 2));
  });

  it('round trip and no leaks', async () => {
    const layer = new LocalizedContextPoolingLayer({ name: 'lcp' });
    const copy = LocalizedContextPoolingLayer.fromConfig(
      LocalizedContextPoolingLayer,
      layer.getConfig(),
    ) as LocalizedContextPoolingLayer;
    assert.equal(
      tf.serialization.getRegisteredName(LocalizedContextPoolingLayer),
      'docre-kit>LocalizedContextPoolingLayer',
    );
    const att = tf.tensor4d(p.entityAtt);
    const h = hidden();
    await near(copy.apply([h, att]) as tf.Tensor, layer.apply([h, att]) as tf.Tensor);
    const a = attention();
    const i = index();
    const m = mask();
    assertNoLeak(() => entityAttention(a, i, m), 'entityAttention');
    assertNoLeak(() => layer.apply([h, att]), 'layer.apply');
    assertNoLeak(
      () =>
        tf.grads((x: tf.Tensor, y: tf.Tensor) =>
          localizedContextPooling(x as tf.Tensor3D, entityAttention(y as tf.Tensor4D, i, m)).sum(),
        )([h, a]),
      'grads',
    );
  });

  it('bad shapes throw ShapeError naming the argument', async () => {
    assert.throws(
      () => localizedContextPooling(hidden(), tf.zeros([2, 4, 2, 11]) as tf.Tensor4D),
      (e: unknown) =>
        e instanceof ShapeError &&
        /entityAtt: expected shape \[b, e, h, n\] with n = 12, got \[2, 4, 2, 11\]/.test(e.message),
    );
    assert.throws(
      () => entityAttention(tf.zeros([2, 2, 12, 11]) as tf.Tensor4D, index(), mask()),
      /attention: expected shape \[b, h, n, n\] with n = 12, got \[2, 2, 12, 11\]/,
    );
    assert.throws(
      () => entityAttention(attention(), index(), tf.zeros([1, 4, 3]) as tf.Tensor3D),
      /mentionMask: expected shape \[b, e, m\] with b = 2, got \[1, 4, 3\]/,
    );
    assert.throws(
      () => new LocalizedContextPoolingLayer().apply([hidden()]),
      /inputs: expected a list of 2 inputs, got 1/,
    );
  });
});
