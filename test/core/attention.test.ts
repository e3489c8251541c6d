/**
 * src/core/attention.ts — the ladder: shapes, closed form, torch golden parity (values and
 * gradients, test/fixtures/gen_attention.py), dependency (masked keys get no gradient),
 * equivalence (batched vs per-document, key permutation, heads vs manual split), errors, leaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertClose, assertNoLeak, loadFixture, seededTensor, tol, useTestBackend } from '../helpers.js';
import {
  attentionWeights,
  mergeHeads,
  multiHeadAttention,
  scaledDotProductAttention,
  splitHeads,
  type MultiHeadAttentionParams,
} from '../../src/core/attention.js';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';
import { read } from './util.js';

await useTestBackend();

type Nested = number[] | number[][] | number[][][] | number[][][][];
interface Linear {
  kernel: number[][];
  bias: number[];
}
interface Fixture {
  numHeads: number;
  q: Nested;
  k: Nested;
  v: Nested;
  mask: Nested;
  upstream: Nested;
  output: Nested;
  params: Record<'query' | 'key' | 'value' | 'output', Linear>;
  grads: Record<'q' | 'k' | 'v', Nested> & Record<'query' | 'key' | 'value' | 'output', Linear>;
  sdpa: Record<'q' | 'k' | 'v' | 'mask' | 'output', Nested>;
}
const fx = await loadFixture<Fixture>('attention.json');
const NAMES = ['query', 'key', 'value', 'output'] as const;

/** Seeded params: query/key/value [din, d], output [d, dout]. */
function seededParams(
  dq: number,
  dk: number,
  dv: number,
  d: number,
  dout: number,
  seed: number,
): MultiHeadAttentionParams {
  const lin = (din: number, o: number, s: number) => ({
    kernel: seededTensor([din, o], s, 0.5),
    bias: seededTensor([o], s + 1, 0.1),
  });
  return {
    query: lin(dq, d, seed),
    key: lin(dk, d, seed + 2),
    value: lin(dv, d, seed + 4),
    output: lin(d, dout, seed + 6),
  };
}

test('shapes: splitHeads/mergeHeads round trip and multiHeadAttention output', async () => {
  const x = seededTensor([2, 5, 8], 1);
  const s = splitHeads(x, 4);
  assert.deepEqual(s.shape, [2, 4, 5, 2]);
  // head 1 of position 3 is channels [2, 4)
  assertClose(await read(s.slice([0, 1, 3, 0], [1, 1, 1, 2])), await read(x.slice([0, 3, 2], [1, 1, 2])), 0);
  assertClose(await read(mergeHeads(s)), await read(x.clone()), 0);
  const p = seededParams(8, 6, 3, 4, 7, 2);
  const y = multiHeadAttention(x, seededTensor([2, 3, 6], 3), seededTensor([2, 3, 3], 4), null, p, 2);
  assert.deepEqual(y.shape, [2, 5, 7]);
  assert.equal(y.dtype, 'float32');
  tf.dispose([x, s, y, ...Object.values(p).flatMap((l) => [l.kernel, l.bias!])]);
});

test('closed form: one query, two keys, the second one masked or not', async () => {
  // q·k1 = 1·1 = 1, q·k2 = 1·3 = 3; dh = 1 → weights softmax([1, 3])
  const q = tf.tensor4d([[[[1]]]]);
  const k = tf.tensor4d([[[[1], [3]]]]);
  const v = tf.tensor4d([
    [
      [
        [10, 0],
        [0, 20],
      ],
    ],
  ]);
  const w1 = Math.exp(1) / (Math.exp(1) + Math.exp(3));
  const w2 = Math.exp(3) / (Math.exp(1) + Math.exp(3));
  assertClose(await read(scaledDotProductAttention(q, k, v)), [10 * w1, 20 * w2], tol(1e-6));
  const only1 = tf.tensor4d([[[[1, 0]]]]);
  assertClose(await read(attentionWeights(q, k, only1)), [1, 0], tol(1e-6));
  assertClose(await read(scaledDotProductAttention(q, k, v, only1)), [10, 0], tol(1e-6));
  // √dh scaling: dh = 4, q·k = 4·(1·2) = 8 → score 8 / 2 = 4 against 0
  const q4 = tf.ones([1, 1, 1, 4]);
  const k4 = tf.tensor4d([
    [
      [
        [2, 2, 2, 2],
        [0, 0, 0, 0],
      ],
    ],
  ]);
  assertClose(
    await read(attentionWeights(q4, k4)),
    [Math.exp(4) / (Math.exp(4) + 1), 1 / (Math.exp(4) + 1)],
    tol(1e-6),
  );
  tf.dispose([q, k, v, only1, q4, k4]);
});

test('a query row with no candidate gets zeros (and zero gradient), huge scores stay finite', async () => {
  const q = tf.tensor4d([[[[1e4], [2]]]]); // two query rows, scores up to 3e4
  const k = tf.tensor4d([[[[1], [3]]]]);
  const v = tf.tensor4d([[[[1], [2]]]]);
  const mask = tf.tensor4d([
    [
      [
        [1, 1],
        [0, 0],
      ],
    ],
  ]); // row 1 has no candidate
  const out = await read(scaledDotProductAttention(q, k, v, mask));
  assertClose(out, [2, 0], tol(1e-6)); // row 0: all weight on key 2; row 1: zeros
  const gq = await read(tf.grad((x: tf.Tensor) => scaledDotProductAttention(x, k, v, mask).sum())(q));
  assert.ok(gq.every(Number.isFinite));
  assert.equal(gq[1], 0);
  // multiHeadAttention: the dead row is exactly zero (no output bias)
  const p = seededParams(4, 4, 4, 4, 4, 5);
  const x = seededTensor([1, 2, 4], 6);
  const y = await read(
    multiHeadAttention(
      x,
      x,
      x,
      tf.tensor4d([
        [
          [
            [1, 1],
            [0, 0],
          ],
        ],
      ]),
      p,
      2,
    ),
  );
  assertClose(y.slice(4), [0, 0, 0, 0], 0);
  assert.ok(y.slice(0, 4).some((t) => t !== 0));
  tf.dispose([q, k, v, mask, x]);
});

function fixtureParams(): MultiHeadAttentionParams {
  const lin = (l: Linear) => ({ kernel: tf.tensor2d(l.kernel), bias: tf.tensor1d(l.bias) });
  return {
    query: lin(fx.params.query),
    key: lin(fx.params.key),
    value: lin(fx.params.value),
    output: lin(fx.params.output),
  };
}

test('golden parity with torch.nn.MultiheadAttention: output and every gradient', async () => {
  const p = fixtureParams();
  const [q, k, v, mask, up] = [fx.q, fx.k, fx.v, fx.mask, fx.upstream].map((a) => tf.tensor(a));
  const out = multiHeadAttention(q!, k!, v!, mask!, p, fx.numHeads);
  assertClose(await read(out), fx.output, tol(1e-5), tol(1e-5), 'output');
  const vars = [q!, k!, v!, ...NAMES.flatMap((n) => [p[n].kernel, p[n].bias!])];
  const f = (...xs: tf.Tensor[]) => {
    const [a, b, c, ...w] = xs;
    const pp = Object.fromEntries(NAMES.map((n, i) => [n, { kernel: w[2 * i]!, bias: w[2 * i + 1]! }]));
    return multiHeadAttention(a!, b!, c!, mask!, pp as unknown as MultiHeadAttentionParams, fx.numHeads)
      .mul(up!)
      .sum() as tf.Scalar;
  };
  const grads = tf.grads(f)(vars);
  const want: Nested[] = [
    fx.grads.q,
    fx.grads.k,
    fx.grads.v,
    ...NAMES.flatMap((n) => [fx.grads[n].kernel, fx.grads[n].bias]),
  ];
  const labels = ['q', 'k', 'v', ...NAMES.flatMap((n) => [`${n}.kernel`, `${n}.bias`])];
  for (let i = 0; i < grads.length; i++)
    assertClose(await read(grads[i]!), want[i]!, tol(1e-5), tol(1e-4), `grad ${labels[i]}`);
  tf.dispose([...vars, mask!, up!]);
});

test('golden parity: scaledDotProductAttention with a [b, 1, lq, lk] mask broadcast over heads', async () => {
  const [q, k, v, mask] = [fx.sdpa.q, fx.sdpa.k, fx.sdpa.v, fx.sdpa.mask].map((a) => tf.tensor(a));
  const out = scaledDotProductAttention(q!, k!, v!, mask!);
  assert.deepEqual(out.shape, [2, 2, 3, 2]);
  assertClose(await read(out), fx.sdpa.output, tol(1e-5), tol(1e-5));
  tf.dispose([q!, k!, v!, mask!]);
});

test('dependency: a key no query may attend gets zero gradient in k and v', async () => {
  const q = seededTensor([1, 2, 3, 4], 7);
  const k = seededTensor([1, 2, 5, 4], 8);
  const v = seededTensor([1, 2, 5, 3], 9);
  const mask = tf.tensor4d([
    [
      [
        [1, 1, 0, 1, 0],
        [1, 0, 0, 1, 1],
        [0, 1, 0, 1, 0],
      ],
    ],
  ]); // key 2 never attended
  const [gk, gv] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    scaledDotProductAttention(q, a, b, mask).square().sum(),
  )([k, v]);
  const gkv = await read(gk!.slice([0, 0, 2, 0], [1, 2, 1, 4]));
  const gvv = await read(gv!.slice([0, 0, 2, 0], [1, 2, 1, 3]));
  assert.ok(gkv.every((x) => x === 0) && gvv.every((x) => x === 0));
  const other = await read(gv!.slice([0, 0, 0, 0], [1, 2, 1, 3]));
  assert.ok(
    other.some((x) => x !== 0),
    'an attended key has a gradient',
  );
  tf.dispose([q, k, v, mask, gk!, gv!]);
});

test('equivalence: batched = per document; permuting keys (and mask) changes nothing', async () => {
  const p = seededParams(6, 6, 6, 6, 5, 10);
  const q = seededTensor([2, 3, 6], 11);
  const kv = seededTensor([2, 4, 6], 12);
  const mask = tf.tensor4d([
    [
      [
        [1, 1, 0, 1],
        [0, 1, 1, 0],
        [1, 0, 0, 0],
      ],
    ],
    [
      [
        [1, 1, 1, 1],
        [0, 0, 1, 0],
        [1, 1, 0, 0],
      ],
    ],
  ]);
  const batched = await read(multiHeadAttention(q, kv, kv, mask, p, 3));
  const perDoc = [];
  for (const i of [0, 1]) {
    const sl = (t: tf.Tensor) => t.slice([i], [1]);
    perDoc.push(...(await read(multiHeadAttention(sl(q), sl(kv), sl(kv), sl(mask), p, 3))));
  }
  assertClose(batched, perDoc, tol(1e-5));
  const perm = tf.tensor1d([2, 0, 3, 1], 'int32');
  const permuted = await read(
    multiHeadAttention(q, tf.gather(kv, perm, 1), tf.gather(kv, perm, 1), tf.gather(mask, perm, 3), p, 3),
  );
  assertClose(permuted, batched, tol(1e-5));
  tf.dispose([q, kv, mask, perm, ...Object.values(p).flatMap((l) => [l.kernel, l.bias!])]);
});

test('equivalence: multiHeadAttention = per-head attention on channel slices, concatenated, projected', async () => {
  const p = seededParams(4, 4, 4, 4, 4, 20);
  const x = seededTensor([1, 3, 4], 21);
  const mha = await read(multiHeadAttention(x, x, x, null, p, 2));
  const proj = (n: 'query' | 'key' | 'value') =>
    tf.matMul(x.reshape([3, 4]), p[n].kernel as tf.Tensor2D).add(p[n].bias!);
  const [Q, K, V] = [proj('query'), proj('key'), proj('value')];
  const heads = [0, 1].map((h) => {
    const s = (t: tf.Tensor) => t.slice([0, 2 * h], [3, 2]);
    const w = tf.softmax(tf.matMul(s(Q), s(K), false, true).div(Math.sqrt(2)));
    return tf.matMul(w, s(V));
  });
  const naive = tf.matMul(tf.concat(heads, 1), p.output.kernel as tf.Tensor2D).add(p.output.bias!);
  assertClose(mha, await read(naive), tol(1e-5));
  tf.dispose([x, Q, K, V, ...heads, ...Object.values(p).flatMap((l) => [l.kernel, l.bias!])]);
});

test('errors name the argument, the expected and the actual shape', () => {
  const p = seededParams(4, 4, 4, 4, 4, 30);
  const x = tf.zeros([1, 3, 4]);
  assert.throws(
    () => multiHeadAttention(x, tf.zeros([2, 3, 4]), x, null, p, 2),
    (e: unknown) =>
      e instanceof ShapeError &&
      /^k: expected shape \[b, lk, dk\] with b = 1, got \[2, 3, 4\]/.test(e.message),
  );
  assert.throws(
    () => multiHeadAttention(x, x, x, null, p, 3),
    (e: unknown) =>
      e instanceof ArgumentError &&
      /numHeads: expected a divisor of the projection width d = 4, got 3/.test(e.message),
  );
  assert.throws(() => multiHeadAttention(x, x, x, null, p, 0), ArgumentError);
  assert.throws(
    () => multiHeadAttention(x, x, x, tf.ones([1, 2, 3, 2]), p, 2),
    (e: unknown) =>
      e instanceof ShapeError &&
      /^mask: expected shape \[1 or 1, 2 or 1, 3 or 1, 3 or 1\], got \[1, 2, 3, 2\]/.test(e.message),
  );
  assert.throws(
    () => multiHeadAttention(x.reshape([3, 4]), x, x, null, p, 2),
    /q: expected shape \[b, lq, dq\], got \[3, 4\]/,
  );
  assert.throws(
    () => scaledDotProductAttention(tf.zeros([1, 2, 3, 4]), tf.zeros([1, 2, 5, 3]), tf.zeros([1, 2, 5, 2])),
    ShapeError,
  );
  tf.dispose([x, ...Object.values(p).flatMap((l) => [l.kernel, l.bias!])]);
});

test('no tensor leaks (forward and gradient)', () => {
  const p = seededParams(4, 4, 4, 4, 4, 40);
  const x = seededTensor([1, 3, 4], 41);
  const mask = tf.ones([1, 1, 3, 3]);
  assertNoLeak(() => multiHeadAttention(x, x, x, mask, p, 2), 'multiHeadAttention');
  assertNoLeak(
    () => tf.grad((a: tf.Tensor) => multiHeadAttention(a, a, a, mask, p, 2).sum())(x),
    'its gradient',
  );
  tf.dispose([x, mask, ...Object.values(p).flatMap((l) => [l.kernel, l.bias!])]);
});
