import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertNoLeak, seededTensor, tol, useTestBackend } from '../helpers.js';
import { foundation, near, numericGradient } from '../fixtures/foundation.js';
import {
  concatFfnPairMatrix,
  contextPairMatrix,
  EntityPairMatrixLayer,
  gatedPairMatrix,
  similarityPairMatrix,
  type DenseParams,
  type PairFfnParams,
  type PairStrategy,
} from '../../src/heads/pair-matrix.js';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';

await useTestBackend();
const pm = (await foundation()).pairMatrix;
const entity = () => tf.tensor3d(pm.entity);
const context = () => tf.tensor4d(pm.context);
const doc = () => tf.tensor2d(pm.doc);
const pairMask = () => tf.tensor3d(pm.pairMask);
const dense = (p: { kernel: number[][]; bias: number[] }): DenseParams => ({
  kernel: tf.tensor2d(p.kernel),
  bias: tf.tensor1d(p.bias),
});
const ffnParams = (p: (typeof pm)['gated']): PairFfnParams => ({
  subject: dense(p.subject),
  object: dense(p.object),
  ffn1: dense(p.ffn1),
  ffn2: dense(p.ffn2),
});

/** Runs one strategy through its pure function with the fixture's parameters. */
function run(
  strategy: PairStrategy,
  ent: tf.Tensor,
  ctx: tf.Tensor,
  d: tf.Tensor,
  mask: tf.Tensor,
  kernel?: tf.Tensor,
): tf.Tensor4D {
  const [e3, c4, d2, m3] = [ent as tf.Tensor3D, ctx as tf.Tensor4D, d as tf.Tensor2D, mask as tf.Tensor3D];
  switch (strategy) {
    case 'context': {
      const p = dense(pm.context_strategy.projection);
      return contextPairMatrix(c4, m3, kernel ? { ...p, kernel: kernel as tf.Tensor2D } : p);
    }
    case 'similarity':
      return similarityPairMatrix(e3, m3, (kernel as tf.Tensor2D) ?? tf.tensor2d(pm.similarity.bilinear));
    case 'concat-ffn': {
      const p = ffnParams(pm.concat_ffn);
      return concatFfnPairMatrix(
        e3,
        c4,
        d2,
        m3,
        kernel ? { ...p, subject: { ...p.subject, kernel: kernel as tf.Tensor2D } } : p,
      );
    }
    case 'gated': {
      const p = ffnParams(pm.gated);
      return gatedPairMatrix(
        e3,
        c4,
        m3,
        kernel ? { ...p, subject: { ...p.subject, kernel: kernel as tf.Tensor2D } } : p,
      );
    }
  }
}

const CASES: [
  PairStrategy,
  (typeof pm)['gated'] | (typeof pm)['similarity'] | (typeof pm)['context_strategy'],
  string,
  number[][],
][] = [
  ['context', pm.context_strategy, 'projection.kernel', pm.context_strategy.projection.kernel],
  ['similarity', pm.similarity, 'bilinear', pm.similarity.bilinear],
  ['concat-ffn', pm.concat_ffn, 'subject.kernel', pm.concat_ffn.subject.kernel],
  ['gated', pm.gated, 'subject.kernel', pm.gated.subject.kernel],
];

/** Layer inputs for a strategy, in the documented order. */
function layerInputs(
  strategy: PairStrategy,
  ent: tf.Tensor,
  ctx: tf.Tensor,
  d: tf.Tensor,
  mask: tf.Tensor,
): tf.Tensor[] {
  return {
    context: [ctx, mask],
    similarity: [ent, mask],
    'concat-ffn': [ent, ctx, d, mask],
    gated: [ent, ctx, mask],
  }[strategy];
}

describe('EntityPairMatrixLayer', () => {
  it('shapes: computeOutputShape, output shapes and weight shapes for every strategy', async () => {
    const s = { e: [2, 4, 8], c: [2, 4, 4, 8], d: [2, 8], m: [2, 4, 4] };
    const shapes = (st: PairStrategy) =>
      layerInputs(st, s.e as never, s.c as never, s.d as never, s.m as never) as unknown as number[][];
    const expected: Record<PairStrategy, [number[], number[][]]> = {
      context: [
        [2, 4, 4, 6],
        [[8, 6], [6]],
      ],
      similarity: [[2, 4, 4, 10], [[8, 8]]],
      'concat-ffn': [
        [2, 4, 4, 6],
        [[24, 6], [6], [24, 6], [6], [12, 5], [5], [5, 6], [6]],
      ],
      gated: [
        [2, 4, 4, 6],
        [[16, 6], [6], [16, 6], [6], [12, 5], [5], [5, 6], [6]],
      ],
    };
    for (const st of ['context', 'similarity', 'concat-ffn', 'gated'] as PairStrategy[]) {
      const layer = new EntityPairMatrixLayer(
        st === 'similarity' ? { strategy: st } : { strategy: st, units: 6, ffnUnits: 5 },
      );
      assert.deepEqual(layer.computeOutputShape(shapes(st)), expected[st][0], st);
      const y = layer.apply(layerInputs(st, entity(), context(), doc(), pairMask())) as tf.Tensor;
      assert.deepEqual(y.shape, expected[st][0], st);
      assert.equal(y.dtype, 'float32');
      assert.deepEqual(
        layer.getWeights().map((w) => w.shape),
        expected[st][1],
        st,
      );
    }
  });

  it('closed form: each strategy on d = 1 / d = 2 with Math.* expressions', async () => {
    const mask = tf.tensor3d([
      [
        [0, 1],
        [1, 0],
      ],
    ]);
    // context: F = c·w + b on the off-diagonal, 0 on the diagonal
    const c = tf.tensor4d([
      [
        [[1], [2]],
        [[3], [4]],
      ],
    ]);
    await near(contextPairMatrix(c, mask, { kernel: tf.tensor2d([[2, -1]]), bias: tf.tensor1d([0.5, 1]) }), [
      [
        [
          [0, 0],
          [4.5, -1],
        ],
        [
          [6.5, -2],
          [0, 0],
        ],
      ],
    ]);
    // similarity: e0 = (1, 2), e1 = (3, -1), W1 = [[1, 0.5], [0, 2]]
    const e = tf.tensor3d([
      [
        [1, 2],
        [3, -1],
      ],
    ]);
    const cos = (1 * 3 + 2 * -1) / (Math.hypot(1, 2) * Math.hypot(3, -1));
    const bil = (a: number[], b: number[]) =>
      a[0]! * (1 * b[0]! + 0.5 * b[1]!) + a[1]! * (0 * b[0]! + 2 * b[1]!);
    await near(
      similarityPairMatrix(
        e,
        mask,
        tf.tensor2d([
          [1, 0.5],
          [0, 2],
        ]),
      ),
      [
        [
          [
            [0, 0, 0, 0],
            [3, -2, cos, bil([1, 2], [3, -1])],
          ],
          [
            [3, -2, cos, bil([3, -1], [1, 2])],
            [0, 0, 0, 0],
          ],
        ],
      ],
    );
    // gated and concat-ffn with d = u = f = 1
    const e1 = tf.tensor3d([[[0.5], [-1]]]);
    const c1 = tf.tensor4d([
      [
        [[0], [0.3]],
        [[-0.2], [0]],
      ],
    ]);
    const k = (...xs: number[]) => tf.tensor2d(xs.map((x) => [x]));
    const b = (x: number) => tf.tensor1d([x]);
    const params = (parts: number): PairFfnParams => ({
      subject: { kernel: k(...[0.7, 0.2, -0.4].slice(3 - parts)), bias: b(0.1) },
      object: { kernel: k(...[-0.3, 0.6, 0.9].slice(3 - parts)), bias: b(-0.2) },
      ffn1: { kernel: k(1.5, -0.8), bias: b(0.05) },
      ffn2: { kernel: k(2), bias: b(-0.5) },
    });
    const relu = (x: number) => Math.max(x, 0);
    const ffnOut = (zs: number, zo: number) => 2 * relu(1.5 * zs - 0.8 * zo + 0.05) - 0.5;
    const es = [0.5, -1];
    const cs = [
      [0, 0.3],
      [-0.2, 0],
    ];
    const gated = (s: number, o: number) =>
      ffnOut(
        Math.tanh(0.2 * es[s]! - 0.4 * cs[s]![o]! + 0.1),
        Math.tanh(0.6 * es[o]! + 0.9 * cs[s]![o]! - 0.2),
      );
    await near(gatedPairMatrix(e1, c1, mask, params(2)), [
      [
        [[0], [gated(0, 1)]],
        [[gated(1, 0)], [0]],
      ],
    ]);
    const h = 0.25;
    const cat = (s: number, o: number) =>
      ffnOut(
        0.7 * es[s]! + 0.2 * h - 0.4 * cs[s]![o]! + 0.1,
        -0.3 * es[o]! + 0.6 * h + 0.9 * cs[s]![o]! - 0.2,
      );
    await near(concatFfnPairMatrix(e1, c1, tf.tensor2d([[h]]), mask, params(3)), [
      [
        [[0], [cat(0, 1)]],
        [[cat(1, 0)], [0]],
      ],
    ]);
  });

  for (const [strategy, fx, kernelName, kernel] of CASES) {
    it(`golden (${strategy}): values and gradients match the PyTorch transcription`, async () => {
      await near(run(strategy, entity(), context(), doc(), pairMask()), tf.tensor4d(fx.output), tol(1e-5));
      const ct = tf.tensor4d(fx.cotangent);
      // differentiate w.r.t. the inputs this strategy uses (the fixture stores null for the others)
      const all: [string, tf.Tensor][] = [
        ['entity', entity()],
        ['context', context()],
        ['doc', doc()],
        [kernelName, tf.tensor2d(kernel)],
      ];
      const used = all.filter(([name]) => fx.grads[name] != null);
      const f = (...xs: tf.Tensor[]) => {
        const get = (name: string) =>
          xs[used.findIndex(([n]) => n === name)] ?? all.find(([n]) => n === name)![1];
        return run(strategy, get('entity'), get('context'), get('doc'), pairMask(), get(kernelName))
          .mul(ct)
          .sum();
      };
      const grads = tf.grads(f)(used.map(([, x]) => x));
      for (const [i, [name]] of used.entries())
        await near(
          grads[i]!,
          tf.tensor(fx.grads[name] as number[]).reshape(grads[i]!.shape),
          tol(1e-4),
          tol(1e-4),
          `d${name}`,
        );
      assert.ok(used.length >= 2);
    });
  }

  it('gradient: similarity matches central differences; padded entities get zero gradient', async () => {
    const w = seededTensor([1, 3, 3, 4], 51);
    const mask = tf.tensor3d([
      [
        [0, 1, 0],
        [1, 0, 0],
        [0, 0, 0],
      ],
    ]);
    const e0 = seededTensor([1, 3, 2], 52);
    const f = (x: tf.Tensor) =>
      similarityPairMatrix(
        x as tf.Tensor3D,
        mask,
        tf.tensor2d([
          [1, 0.5],
          [-0.3, 2],
        ]),
      )
        .mul(w)
        .sum() as tf.Scalar;
    const g = tf.grad(f)(e0);
    await near(g, await numericGradient(f, e0, 1e-2), tol(3e-3));
    await near(g.slice([0, 2, 0], [1, 1, 2]), tf.zeros([1, 1, 2]));
    for (const [strategy] of CASES.filter(([st]) => st !== 'context')) {
      const ge = tf.grad((x: tf.Tensor) => run(strategy, x, context(), doc(), pairMask()).sum())(entity());
      // doc 0 entity 3 (no mention) and doc 1 entity 3 (padding) are outside every real pair
      await near(ge.slice([0, 3, 0], [1, 1, -1]), tf.zeros([1, 1, 8]), 0, 0, strategy);
      await near(ge.slice([1, 3, 0], [1, 1, -1]), tf.zeros([1, 1, 8]), 0, 0, strategy);
    }
  });

  it('edge case: a document with one entity gives an all-zero [1,1,1,·] map with finite gradients', async () => {
    const ent = entity().slice([0, 0, 0], [1, 1, -1]);
    const ctx = context().slice([0, 0, 0, 0], [1, 1, 1, -1]);
    const d = doc().slice([0, 0], [1, -1]);
    const noPairs = tf.zeros([1, 1, 1]);
    for (const [strategy] of CASES) {
      const y = run(strategy, ent, ctx, d, noPairs);
      await near(y, tf.zeros([1, 1, 1, y.shape[3]]), 0, 0, strategy);
      const viaEntity = strategy === 'similarity'; // the only strategy that ignores the context
      const g = tf.grad((x: tf.Tensor) =>
        (viaEntity ? run(strategy, x, ctx, d, noPairs) : run(strategy, ent, x, d, noPairs)).sum(),
      )(viaEntity ? ent : ctx);
      await near(g, tf.zerosLike(g), 0, 0, `${strategy} gradient`);
    }
  });

  it('equivalence: batched = per document; padded entities change nothing; permutation permutes', async () => {
    const perm = tf.tensor1d([2, 0, 3, 1], 'int32');
    const permE = (x: tf.Tensor) => tf.gather(x, perm, 1);
    const permPairs = (x: tf.Tensor) => tf.gather(tf.gather(x, perm, 1), perm, 2);
    const padE = (x: tf.Tensor) =>
      tf.pad(x, [
        [0, 0],
        [0, 1],
        [0, 0],
      ]);
    const padPairs = (x: tf.Tensor) =>
      tf.pad(x, [[0, 0], [0, 1], [0, 1], ...(x.rank === 4 ? [[0, 0] as [number, number]] : [])]);
    for (const [strategy] of CASES) {
      const full = run(strategy, entity(), context(), doc(), pairMask());
      for (let b = 0; b < 2; b++) {
        const one = run(
          strategy,
          entity().slice([b, 0, 0], [1, -1, -1]),
          context().slice([b, 0, 0, 0], [1, -1, -1, -1]),
          doc().slice([b, 0], [1, -1]),
          pairMask().slice([b, 0, 0], [1, -1, -1]),
        );
        await near(
          one,
          full.slice([b, 0, 0, 0], [1, -1, -1, -1]),
          tol(1e-5),
          tol(1e-5),
          `${strategy} doc ${b}`,
        );
      }
      const padded = run(strategy, padE(entity()), padPairs(context()), doc(), padPairs(pairMask()));
      await near(
        padded.slice([0, 0, 0, 0], [-1, 4, 4, -1]),
        full,
        tol(1e-5),
        tol(1e-5),
        `${strategy} padded`,
      );
      await near(
        padded.slice([0, 4, 0, 0], [-1, 1, -1, -1]),
        tf.zeros([2, 1, 5, full.shape[3]]),
        0,
        0,
        `${strategy} padding row`,
      );
      await near(
        padded.slice([0, 0, 4, 0], [-1, -1, 1, -1]),
        tf.zeros([2, 5, 1, full.shape[3]]),
        0,
        0,
        `${strategy} padding column`,
      );
      const permuted = run(strategy, permE(entity()), permPairs(context()), doc(), permPairs(pairMask()));
      await near(permuted, permPairs(full), tol(1e-5), tol(1e-5), `${strategy} permuted`);
    }
  });

  it('round trip: fromConfig(getConfig()) + weights reproduces every strategy', async () => {
    for (const [strategy] of CASES) {
      const args = strategy === 'similarity' ? { strategy } : { strategy, units: 6, ffnUnits: 5 };
      const layer = new EntityPairMatrixLayer({ ...args, name: `pairs_${strategy}` });
      const inputs = layerInputs(strategy, entity(), context(), doc(), pairMask());
      const y = layer.apply(inputs) as tf.Tensor;
      const config = layer.getConfig();
      assert.equal(config['strategy'], strategy);
      const copy = EntityPairMatrixLayer.fromConfig(EntityPairMatrixLayer, config) as EntityPairMatrixLayer;
      copy.apply(inputs);
      copy.setWeights(layer.getWeights());
      await near(copy.apply(inputs) as tf.Tensor, y, tol(1e-6), tol(1e-6), strategy);
    }
    assert.equal(
      tf.serialization.getRegisteredName(EntityPairMatrixLayer),
      'docre-kit>EntityPairMatrixLayer',
    );
  });

  it('no leaks: forward and training step of every strategy', async () => {
    const ent = entity();
    const ctx = context();
    const d = doc();
    const mask = pairMask();
    for (const [strategy] of CASES) {
      const layer = new EntityPairMatrixLayer(
        strategy === 'similarity' ? { strategy } : { strategy, units: 6, ffnUnits: 5 },
      );
      const inputs = layerInputs(strategy, ent, ctx, d, mask);
      layer.apply(inputs);
      assertNoLeak(() => layer.apply(inputs), `${strategy} apply`);
      assertNoLeak(
        () => tf.variableGrads(() => (layer.apply(inputs) as tf.Tensor).sum()),
        `${strategy} variableGrads`,
      );
    }
  });

  it('bad arguments throw ArgumentError / ShapeError naming them', async () => {
    assert.throws(
      () => new EntityPairMatrixLayer({ strategy: 'bilinear' as never, units: 3 }),
      (e: unknown) =>
        e instanceof ArgumentError &&
        /strategy: expected context \| similarity \| concat-ffn \| gated, got "bilinear"/.test(e.message),
    );
    assert.throws(
      () => new EntityPairMatrixLayer({ strategy: 'gated' }),
      /units: expected a positive integer for strategy 'gated', got undefined/,
    );
    assert.throws(
      () => new EntityPairMatrixLayer({ strategy: 'similarity', units: 4 }),
      /units: expected undefined for strategy 'similarity' \(its width is d \+ 2\), got 4/,
    );
    assert.throws(
      () => new EntityPairMatrixLayer({ strategy: 'gated', units: 3 }).apply([entity(), context()]),
      /strategy 'gated': entity, context, pairMask\) inputs: expected a list of 3 inputs, got 2/,
    );
    assert.throws(
      () =>
        gatedPairMatrix(
          entity(),
          context().slice([0, 0, 0, 0], [-1, 3, 3, -1]),
          pairMask(),
          ffnParams(pm.gated),
        ),
      (e: unknown) =>
        e instanceof ShapeError &&
        /context: expected shape \[b, e, e, d\] with e = 4, got \[2, 3, 3, 8\]/.test(e.message),
    );
    assert.throws(
      () => concatFfnPairMatrix(entity(), context(), doc(), pairMask(), ffnParams(pm.gated)),
      /subject.kernel: expected shape \[24, u\] \(dim 0 = 24\), got \[16, 6\]/,
    );
    assert.throws(
      () =>
        contextPairMatrix(
          context(),
          pairMask().slice([0, 0, 0], [1, -1, -1]),
          dense(pm.context_strategy.projection),
        ),
      /pairMask: expected shape \[b, e, e\] with b = 2, got \[1, 4, 4\]/,
    );
  });
});
