/**
 * src/core/softmax.ts: closed form, equality with tf.softmax when nothing is masked, finiteness
 * for huge logits (the reason it exists: no ±1e30 on float16 GPU textures), all-masked rows,
 * gradients (analytic softmax Jacobian; masked entries get zero gradient), broadcasting, leaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertClose, assertNoLeak, seededTensor, tol, useTestBackend } from '../helpers.js';
import { maskedLogSoftmax, maskedSoftmax } from '../../src/core/softmax.js';
import { read } from './util.js';

await useTestBackend();

const E = Math.E;
const E3 = Math.exp(3);

test('closed form: masked entries are 0, the rest renormalised', async () => {
  const x = tf.tensor1d([1, 2, 3]);
  const m = tf.tensor1d([1, 0, 1]);
  assertClose(await read(maskedSoftmax(x, m)), [E / (E + E3), 0, E3 / (E + E3)], tol(1e-6));
  assertClose(await read(maskedLogSoftmax(x, m)), [1 - Math.log(E + E3), 0, 3 - Math.log(E + E3)], tol(1e-6));
  tf.dispose([x, m]);
});

test('all-ones mask equals tf.softmax / tf.logSoftmax; axis 0 works', async () => {
  const x = seededTensor([3, 5], 1, 4);
  const ones = tf.ones([3, 5]);
  assertClose(await read(maskedSoftmax(x, ones)), await read(tf.softmax(x)), tol(1e-6));
  assertClose(await read(maskedLogSoftmax(x, ones)), await read(tf.logSoftmax(x)), tol(1e-5));
  assertClose(
    await read(maskedSoftmax(x, ones, 0)),
    await read(tf.softmax(x.transpose()).transpose()),
    tol(1e-6),
  );
  tf.dispose([x, ones]);
});

test('huge logits stay finite (no overflow, no NaN), on this backend', async () => {
  const x = tf.tensor2d([
    [1e30, -1e30, 5e29],
    [3e38, 1, -3e38],
    [1e4, 1e4 + 1, -1e4],
  ]);
  const m = tf.tensor2d([
    [1, 1, 1],
    [0, 1, 1],
    [1, 1, 0],
  ]);
  const p = await read(maskedSoftmax(x, m));
  const lp = await read(maskedLogSoftmax(x, m));
  assert.ok(p.every(Number.isFinite) && lp.every(Number.isFinite), `${p} / ${lp}`);
  assertClose(p, [1, 0, 0, 0, 1, 0, 1 / (1 + E), E / (1 + E), 0], tol(1e-6));
  // the masked-out 3e38 must not win the row's max
  assertClose(lp.slice(3, 6), [0, 0, -3e38], tol(1e-6), 1e-6);
  tf.dispose([x, m]);
});

test('a row with no candidate is all zeros, with finite zero gradient', async () => {
  const x = tf.tensor2d([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const m = tf.tensor2d([
    [0, 0, 0],
    [1, 1, 0],
  ]);
  const p = await read(maskedSoftmax(x, m));
  assertClose(p.slice(0, 3), [0, 0, 0], 0);
  assertClose(
    p.slice(3),
    [Math.exp(4) / (Math.exp(4) + Math.exp(5)), Math.exp(5) / (Math.exp(4) + Math.exp(5)), 0],
    tol(1e-6),
  );
  assertClose(await read(maskedLogSoftmax(x, m).slice([0], [1])), [0, 0, 0], 0);
  const w = tf.tensor2d([
    [1, 2, 3],
    [1, -1, 5],
  ]);
  for (const f of [maskedSoftmax, maskedLogSoftmax]) {
    const g = await read(tf.grad((a: tf.Tensor) => f(a, m).mul(w).sum())(x));
    assert.ok(g.every(Number.isFinite));
    assertClose(g.slice(0, 3), [0, 0, 0], 0);
    assert.equal(g[5], 0, 'masked entry gets no gradient');
  }
  tf.dispose([x, m, w]);
});

test('gradient equals the analytic softmax Jacobian: dL/dx_i = m_i·y_i·(w_i − Σ_j y_j w_j)', async () => {
  const x = seededTensor([2, 4], 2, 3);
  const m = tf.tensor2d([
    [1, 0, 1, 1],
    [1, 1, 1, 0],
  ]);
  const w = seededTensor([2, 4], 3);
  const g = await read(tf.grad((a: tf.Tensor) => maskedSoftmax(a, m).mul(w).sum())(x));
  const y = tf.tidy(() => maskedSoftmax(x, m));
  const expected = tf.tidy(() => y.mul(w.sub(y.mul(w).sum(-1, true))).mul(m));
  assertClose(g, await read(expected), tol(1e-6));
  // log-softmax: dL/dx_i = m_i·(w_i − y_i·Σ_j m_j w_j)
  const gl = await read(tf.grad((a: tf.Tensor) => maskedLogSoftmax(a, m).mul(w).sum())(x));
  const expectedL = tf.tidy(() => w.sub(y.mul(w.mul(m).sum(-1, true))).mul(m));
  assertClose(gl, await read(expectedL), tol(1e-5));
  tf.dispose([x, m, w, y]);
});

test('mask broadcasts: [1, r] and [r] against [b, r], [b, 1, lk] against [b, lq, lk], axis 0', async () => {
  const x = seededTensor([2, 3, 4], 4, 2);
  const m = tf.tensor3d([[[1, 1, 0, 1]], [[0, 1, 1, 1]]]);
  const full = tf.tile(m, [1, 3, 1]);
  assertClose(await read(maskedSoftmax(x, m)), await read(maskedSoftmax(x, full)), 0);
  const x2 = seededTensor([3, 4], 5);
  const m2 = tf.tensor2d([[1, 0, 1, 1]]);
  const p = await read(maskedSoftmax(x2, m2));
  for (let i = 0; i < 3; i++) assertClose(p[i * 4 + 0]! + p[i * 4 + 2]! + p[i * 4 + 3]!, 1, tol(1e-6));
  // a rank-1 mask aligns on the trailing axis, like broadcasting
  assertClose(await read(maskedSoftmax(x2, tf.tensor1d([1, 0, 1, 1]))), p, 0);
  // axis 0 with a [b, 1] mask: column softmax over rows 0 and 2 only
  const pc = await read(maskedSoftmax(x2, tf.tensor2d([[1], [0], [1]]), 0));
  for (let j = 0; j < 4; j++) assertClose(pc[j]! + pc[8 + j]!, 1, tol(1e-6));
  assertClose([pc[4]!, pc[5]!, pc[6]!, pc[7]!], [0, 0, 0, 0], 0);
  tf.dispose([x, m, full, x2, m2]);
});

test('no tensor leaks', () => {
  const x = seededTensor([2, 3], 6);
  const m = tf.tensor2d([
    [1, 0, 1],
    [0, 0, 0],
  ]);
  assertNoLeak(() => maskedSoftmax(x, m), 'maskedSoftmax');
  assertNoLeak(() => maskedLogSoftmax(x, m), 'maskedLogSoftmax');
  assertNoLeak(() => tf.grad((a: tf.Tensor) => maskedSoftmax(a, m).sum())(x), 'gradient');
  tf.dispose([x, m]);
});
