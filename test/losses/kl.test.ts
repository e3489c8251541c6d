/**
 * DRE-MIR bidirectional KL reconstruction loss (src/losses/kl.ts, eq. 5).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertNoLeak, loadFixture, tol, useTestBackend } from '../helpers.js';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';
import { bidirectionalKLLoss } from '../../src/losses/kl.js';
import { near, scalarOf, seeded } from '../heads/naive-reasoning.js';

await useTestBackend();

const fx = await loadFixture<Record<string, any>>('reasoning.json');

test('shape and argument errors', () => {
  assert.throws(() => bidirectionalKLLoss(tf.zeros([2, 3]), tf.zeros([2, 4])), ShapeError);
  assert.throws(
    () => bidirectionalKLLoss(tf.zeros([2, 3]), tf.zeros([2, 3]), tf.ones([3])),
    /mask: expected shape \[2\]/,
  );
  assert.throws(
    () => bidirectionalKLLoss(tf.zeros([2, 3]), tf.zeros([2, 3]), undefined, { distribution: 'x' as never }),
    ArgumentError,
  );
  assert.deepEqual(bidirectionalKLLoss(tf.zeros([2, 3]), tf.zeros([2, 3])).shape, []);
});

test('closed form: ½(KL(p‖q) + KL(q‖p)) for one pair, zero for equal logits, symmetric', async () => {
  const [a, b] = [
    [0.3, -1.2, 2.0],
    [1.0, 0.5, -0.4],
  ];
  const sm = (v: number[]) => v.map((x) => Math.exp(x) / v.reduce((s, y) => s + Math.exp(y), 0));
  const [p, q] = [sm(a), sm(b)];
  const kl = (u: number[], v: number[]) => u.reduce((s, ui, i) => s + ui * Math.log(ui / v[i]!), 0);
  await near(
    bidirectionalKLLoss(tf.tensor2d([a]), tf.tensor2d([b])),
    0.5 * (kl(p, q) + kl(q, p)),
    tol(),
    tol(),
    'softmax',
  );
  const sg = (x: number) => 1 / (1 + Math.exp(-x));
  const bern = (u: number, v: number) => u * Math.log(u / v) + (1 - u) * Math.log((1 - u) / (1 - v));
  const expectedSig = 0.5 * a.reduce((s, x, i) => s + bern(sg(x), sg(b[i]!)) + bern(sg(b[i]!), sg(x)), 0);
  await near(
    bidirectionalKLLoss(tf.tensor2d([a]), tf.tensor2d([b]), undefined, { distribution: 'sigmoid' }),
    expectedSig,
    tol(),
    tol(),
    'sigmoid',
  );
  await near(bidirectionalKLLoss(tf.tensor2d([a]), tf.tensor2d([a])), 0, tol(), tol(), 'equal');
  const [x, y] = [seeded([3, 4, 5], 1, 3), seeded([3, 4, 5], 2, 3)];
  await near(bidirectionalKLLoss(x, y), bidirectionalKLLoss(y, x), tol(), tol(), 'symmetric');
});

test('golden parity with torch (softmax and sigmoid readings): masked mean over pairs, values and gradients', async () => {
  const g = fx['kl'];
  const [lo, lm, pm] = [tf.tensor(g.logitsOriginal), tf.tensor(g.logitsMasked), tf.tensor(fx['pairMask'])];
  for (const distribution of ['softmax', 'sigmoid'] as const) {
    const f = (a: tf.Tensor, b: tf.Tensor) => bidirectionalKLLoss(a, b, pm, { distribution });
    await near(f(lo, lm), g[distribution].loss, tol(1e-5), tol(1e-5), `${distribution} loss`);
    const [ga, gb] = tf.grads(f)([lo, lm]);
    await near(
      ga!,
      tf.tensor(g[distribution].grads.logitsOriginal),
      tol(1e-6),
      tol(1e-4),
      `${distribution} grad original`,
    );
    await near(
      gb!,
      tf.tensor(g[distribution].grads.logitsMasked),
      tol(1e-6),
      tol(1e-4),
      `${distribution} grad masked`,
    );
    // padded pairs get exactly zero gradient
    assert.equal(await scalarOf(tf.sum(tf.abs(ga!).mul(tf.sub(1, pm).expandDims(-1)))), 0);
  }
});

test('mask: pairs with mask 0 do not count; an empty mask gives 0; no leaks', async () => {
  const [x, y] = [seeded([1, 2, 3], 1, 2), seeded([1, 2, 3], 2, 2)];
  const only0 = bidirectionalKLLoss(tf.slice(x, [0, 0], [1, 1]), tf.slice(y, [0, 0], [1, 1]));
  await near(bidirectionalKLLoss(x, y, tf.tensor2d([[1, 0]])), only0, tol(), tol(), 'mask');
  await near(bidirectionalKLLoss(x, y, tf.zeros([1, 2])), 0, 0, 0, 'empty mask');
  const ones = tf.ones([1, 2]);
  assertNoLeak(() => bidirectionalKLLoss(x, y, ones), 'loss');
  assertNoLeak(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => bidirectionalKLLoss(a, b))([x, y]), 'grads');
});
