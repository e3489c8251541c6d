/**
 * DocRE-II Extended Cross Attention and fusion gate (src/heads/eca.ts): the STYLE.md ladder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertNoLeak, tol, useTestBackend } from '../helpers.js';
import { ShapeError } from '../../src/core/errors.js';
import { ECALayer, eca, type ECAParams } from '../../src/heads/eca.js';
import { FusionGateLayer, fusionGate } from '../../src/heads/inference.js';
import {
  NAIVE_ECA_CANDIDATES,
  flattenParams,
  makePairMask,
  naiveECA,
  near,
  permuteEntities,
  randomECAParams,
  roundTripLayer,
  scalarOf,
  seeded,
  toTensors,
  unflattenParams,
  cpuWasmOnly,
  reasoningFixture,
} from './naive-reasoning.js';

await useTestBackend();

const fx = await reasoningFixture();

test('shapes: [b,e,e,d] from query, memory of any width dm; bad arguments', async () => {
  const pm = makePairMask(3, [3, 2]);
  const y = eca(seeded([2, 3, 3, 8], 1), seeded([2, 3, 3, 12], 2), pm, randomECAParams(8, 12));
  assert.deepEqual(y.shape, [2, 3, 3, 8]);
  assert.equal(y.dtype, 'float32');
  assert.deepEqual(
    new ECALayer().computeOutputShape([
      [null, 3, 3, 8],
      [null, 3, 3, 16],
      [null, 3, 3],
    ]),
    [null, 3, 3, 8],
  );
  assert.throws(
    () => eca(seeded([2, 3, 3, 8], 1), seeded([2, 4, 4, 12], 2), pm, randomECAParams(8, 12)),
    /memory: expected shape \[b, e, e, dm\]/,
  );
  assert.throws(
    () => eca(seeded([2, 3, 3, 8], 1), seeded([2, 3, 3, 12], 2), pm, randomECAParams(8, 8)),
    /params.key.kernel/,
  );
  assert.throws(
    () => fusionGate(seeded([2, 4], 1), seeded([2, 5], 1), { kernel: tf.zeros([8, 4]), bias: tf.zeros([4]) }),
    ShapeError,
  );
});

test('closed form: e = 2 — heads 0/1 see only the pair itself, heads 2/3 see the reverse pair', async () => {
  const I = tf.eye(4);
  const z = tf.zeros([4]);
  const params: ECAParams = {
    query: { kernel: I, bias: z },
    key: { kernel: I, bias: z },
    value: { kernel: I, bias: z },
    output: { kernel: I, bias: z },
  };
  const x = seeded([1, 2, 2, 4], 7, 1);
  const xv = (await x.array()) as number[][][][];
  const y = ((await eca(x, x, makePairMask(2, [2]), params).array()) as number[][][][])[0]![0]![1]!;
  const q = xv[0]![0]![1]!;
  const rev = xv[0]![1]![0]!;
  for (const h of [0, 1]) await near(y[h]!, q[h]!, tol(), tol(), `head ${h}`);
  for (const h of [2, 3]) {
    const a = Math.exp(q[h]! * rev[h]!) / (Math.exp(q[h]! * rev[h]!) + Math.exp(q[h]! * q[h]!));
    await near(y[h]!, a * rev[h]! + (1 - a) * q[h]!, tol(), tol(), `head ${h}`);
  }
});

test('golden parity with the literal torch implementation: values and gradients (query, memory, every param)', async () => {
  const g = fx['eca'];
  const [query, memory, pm] = [tf.tensor(g.query), tf.tensor(g.memory), tf.tensor(fx['pairMask'])];
  const params = toTensors(g.params) as ECAParams;
  await near(eca(query, memory, pm, params), tf.tensor(g.output), tol(1e-4), tol(1e-4), 'output');
  const named = flattenParams(params);
  const w = tf.tensor(g.lossWeights);
  const grads = tf.grads((q: tf.Tensor, m: tf.Tensor, ...ps: tf.Tensor[]) =>
    tf.sum(eca(q, m, pm, unflattenParams(params, ps)).mul(w)),
  )([query, memory, ...named.map(([, t]) => t)]);
  for (const [i, n] of ['query', 'memory', ...named.map(([n]) => n)].entries())
    await near(grads[i]!, tf.tensor(g.grads[n]), tol(1e-4), tol(1e-4), `grad ${n}`);
});

test('efficient == naive (values and gradients wrt query, memory and every param), padded entities and missing pairs', async () => {
  const e = 5;
  const [query, memory] = [seeded([2, e, e, 8], 11, 1), seeded([2, e, e, 16], 12, 1)];
  const pm = makePairMask(
    e,
    [5, 3],
    [
      [0, 1, 3],
      [0, 4, 0],
      [1, 2, 0],
    ],
  );
  const params = randomECAParams(8, 16, 21);
  const w = seeded([2, e, e, 8], 31, 1);
  await near(
    eca(query, memory, pm, params),
    naiveECA(query, memory, pm, params),
    tol(1e-5),
    tol(1e-5),
    'values',
  );
  const named = flattenParams(params);
  const lossOf =
    (fn: typeof eca) =>
    (q: tf.Tensor, m: tf.Tensor, ...ps: tf.Tensor[]) =>
      tf.sum(fn(q, m, pm, unflattenParams(params, ps)).mul(w));
  const inputs = [query, memory, ...named.map(([, t]) => t)];
  const ge = tf.grads(lossOf(eca))(inputs);
  const gn = tf.grads(lossOf(naiveECA as typeof eca))(inputs);
  for (const [i, n] of ['query', 'memory', ...named.map(([n]) => n)].entries())
    await near(ge[i]!, gn[i]!, tol(1e-5), tol(1e-4), `grad ${n}`);
});

test(
  'dependency: head h at (s,o) reads memory only at its candidates and the query only at (s,o)',
  cpuWasmOnly,
  async () => {
    const e = 4;
    const [query, memory] = [seeded([1, e, e, 8], 41, 1), seeded([1, e, e, 8], 42, 1)];
    const pm = makePairMask(e, [4], [[0, 3, 1]]);
    const pmv = (await pm.array())[0]!;
    const base = randomECAParams(8, 8, 51);
    const [s, o] = [0, 1];
    for (let h = 0; h < 4; h++) {
      const rowMask = tf.tensor2d(Array.from({ length: 8 }, (_, i) => [Math.floor(i / 2) === h ? 1 : 0]));
      const params = { ...base, output: { kernel: base.output.kernel.mul(rowMask), bias: tf.zeros([8]) } };
      const [gq, gm] = tf.grads((q: tf.Tensor, m: tf.Tensor) =>
        tf.sum(tf.slice(eca(q, m, pm, params), [0, s, o, 0], [1, 1, 1, 8])),
      )([query, memory]);
      const tq = (await tf.sum(tf.abs(gq!), -1).array()) as number[][][];
      const tm = (await tf.sum(tf.abs(gm!), -1).array()) as number[][][];
      const expected = new Set<string>([`${s},${o}`]);
      for (let k = 0; k < e; k++) {
        const c = NAIVE_ECA_CANDIDATES[h]!(s, o, k);
        if (c && pmv[c[0]]![c[1]] === 1) expected.add(`${c}`);
      }
      assert.ok(expected.size > 1, `head ${h} has a candidate`);
      for (let i = 0; i < e; i++)
        for (let j = 0; j < e; j++) {
          if (expected.has(`${i},${j}`))
            assert.ok(tm[0]![i]![j]! > 1e-6, `head ${h}: memory (${i},${j}) should influence (${s},${o})`);
          else assert.equal(tm[0]![i]![j], 0, `head ${h}: memory (${i},${j}) must not influence (${s},${o})`);
          if (i !== s || j !== o) assert.equal(tq[0]![i]![j], 0, `head ${h}: query (${i},${j})`);
        }
    }
  },
);

test('equivalence: permutation, padded entities, batched == per document', cpuWasmOnly, async () => {
  const e = 4;
  const [query, memory] = [seeded([2, e, e, 8], 61, 1), seeded([2, e, e, 16], 62, 1)];
  const pm = makePairMask(e, [4, 3], [[0, 2, 1]]);
  const params = randomECAParams(8, 16, 71);
  const y = eca(query, memory, pm, params);
  const perm = [3, 1, 0, 2];
  await near(
    eca(permuteEntities(query, perm), permuteEntities(memory, perm), permuteEntities(pm, perm), params),
    permuteEntities(y, perm),
    tol(1e-5),
    tol(1e-5),
    'permutation',
  );
  for (let i = 0; i < 2; i++)
    await near(
      eca(tf.slice(query, [i], [1]), tf.slice(memory, [i], [1]), tf.slice(pm, [i], [1]), params),
      tf.slice(y, [i], [1]),
      tol(1e-5),
      tol(1e-5),
      `doc ${i}`,
    );
  // doc 1 (3 real entities): garbage in every non-real pair of the memory changes no real pair
  const pm1 = tf.slice(pm, [1], [1]);
  const garbage = seeded([1, e, e, 16], 5, 100).mul(tf.sub(1, pm1).expandDims(-1));
  const y1 = eca(tf.slice(query, [1], [1]), tf.slice(memory, [1], [1]).add(garbage), pm1, params);
  await near(
    y1.mul(pm1.expandDims(-1)),
    tf.slice(y, [1], [1]).mul(pm1.expandDims(-1)),
    tol(1e-5),
    tol(1e-5),
    'padding',
  );
});

test('FusionGateLayer: closed form (eq. 9) and golden parity with gradients', async () => {
  const f = seeded([2, 3, 4], 1, 1);
  const r = seeded([2, 3, 4], 2, 1);
  await near(
    fusionGate(f, r, { kernel: tf.zeros([8, 4]), bias: tf.zeros([4]) }),
    f.add(r).div(2),
    tol(),
    tol(),
    's = 1/2',
  );
  await near(
    fusionGate(f, r, { kernel: tf.zeros([8, 4]), bias: tf.fill([4], 30) }),
    f,
    tol(),
    tol(),
    's → 1',
  );
  const g = fx['fusion'];
  const [ft, rt] = [tf.tensor(g.f), tf.tensor(g.r)];
  const p = toTensors(g.params);
  await near(fusionGate(ft, rt, p), tf.tensor(g.output), tol(1e-4), tol(1e-4), 'output');
  const w = tf.tensor(g.lossWeights);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, k: tf.Tensor, bias: tf.Tensor) =>
    tf.sum(fusionGate(a, b, { kernel: k, bias }).mul(w)),
  )([ft, rt, p.kernel, p.bias]);
  for (const [i, n] of ['f', 'r', 'kernel', 'bias'].entries())
    await near(grads[i]!, tf.tensor(g.grads[n]), tol(1e-4), tol(1e-4), `grad ${n}`);
});

test('serialization round trip (ECALayer, FusionGateLayer) and no leaks', async () => {
  const [query, memory] = [seeded([1, 3, 3, 8], 81, 1), seeded([1, 3, 3, 16], 82, 1)];
  const pm = makePairMask(3, [3]);
  const layer = new ECALayer({ name: 'eca_rt' });
  const y = layer.apply([query, memory, pm]) as tf.Tensor;
  const copy = roundTripLayer(layer, [query, memory, pm]);
  await near(copy.apply([query, memory, pm]) as tf.Tensor, y, tol(), tol(), 'ECALayer');
  assert.equal(layer.getWeights().length, 8);
  const gate = new FusionGateLayer();
  const gy = gate.apply([query, query.mul(2)]) as tf.Tensor;
  await near(
    roundTripLayer(gate, [query, query.mul(2)]).apply([query, query.mul(2)]) as tf.Tensor,
    gy,
    tol(),
    tol(),
    'FusionGateLayer',
  );
  const params = layer.params();
  assertNoLeak(() => eca(query, memory, pm, params), 'eca');
  assertNoLeak(() => tf.grad((m: tf.Tensor) => tf.sum(eca(query, m, pm, params)))(memory), 'grad eca');
  assertNoLeak(() => layer.apply([query, memory, pm]), 'ECALayer');
  assertNoLeak(() => gate.apply([query, query]), 'FusionGateLayer');
  assert.ok(Number.isFinite(await scalarOf(tf.sum(y))));
});
