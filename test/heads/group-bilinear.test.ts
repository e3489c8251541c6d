import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertNoLeak, seededTensor, tol, useTestBackend } from '../helpers.js';
import { foundation, near, numericGradient } from '../fixtures/foundation.js';
import {
  DEFAULT_MAX_CHUNK_ELEMENTS,
  groupBilinear,
  GroupBilinearLayer,
} from '../../src/heads/group-bilinear.js';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';

await useTestBackend();
const g = (await foundation()).groupBilinear;
const k = g.blockSize;

/** Naive reference: materialise every feature with plain tfjs ops, autodiff through all of it. */
function naive(zs: tf.Tensor, zo: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor, block: number): tf.Tensor {
  const d = zs.shape[zs.rank - 1]!;
  const lead = zs.shape.slice(0, -1);
  const p = lead.reduce((a, x) => a * x, 1);
  const feats = zs
    .reshape([p, d / block, block, 1])
    .mul(zo.reshape([p, d / block, 1, block]))
    .reshape([p, d * block]);
  return tf
    .matMul(feats, kernel)
    .add(bias)
    .reshape([...lead, kernel.shape[1]!]);
}

/** Loss whose cotangent is a fixed tensor, and its gradients w.r.t. zs, zo, kernel, bias. */
function allGrads(
  fn: (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.Tensor,
  inputs: tf.Tensor[],
  ct: tf.Tensor,
) {
  return tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => fn(a, b, c, d).mul(ct).sum())(
    inputs,
  );
}

describe('groupBilinear', () => {
  it('shapes: computeOutputShape, output shape and dtype', async () => {
    const layer = new GroupBilinearLayer({ units: 5, blockSize: 4 });
    assert.deepEqual(
      layer.computeOutputShape([
        [2, 3, 3, 8],
        [2, 3, 3, 8],
      ]),
      [2, 3, 3, 5],
    );
    const y = layer.apply([tf.zeros([2, 3, 3, 8]), tf.zeros([2, 3, 3, 8])]) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 3, 3, 5]);
    assert.equal(y.dtype, 'float32');
    assert.deepEqual(
      layer.getWeights().map((w) => w.shape),
      [[32, 5], [5]],
    );
  });

  it('closed form: feature g·k·k + i·k + j is zs[g·k+i]·zo[g·k+j]', async () => {
    // d = 4, k = 2: columns pick features 5 (g1,i0,j1), 0 (g0,i0,j0), 7 (g1,i1,j1), 2 (g0,i1,j0)
    const picks = [5, 0, 7, 2];
    const kernel = tf.tensor2d(Array.from({ length: 8 }, (_, f) => picks.map((q) => (q === f ? 1 : 0))));
    const zs = [2, 3, 5, 7];
    const zo = [11, 13, 17, 19];
    const y = groupBilinear(
      tf.tensor2d([zs]),
      tf.tensor2d([zo]),
      { kernel, bias: tf.tensor1d([0.5, 0, 0, -1]) },
      2,
    );
    await near(y, [[zs[2]! * zo[3]! + 0.5, zs[0]! * zo[0]!, zs[3]! * zo[3]!, zs[1]! * zo[0]! - 1]]);
  });

  it('golden: values and gradients match ATLOP (PyTorch)', async () => {
    const inputs = [tf.tensor2d(g.zs), tf.tensor2d(g.zo), tf.tensor2d(g.kernel), tf.tensor1d(g.bias)];
    const fn = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
      groupBilinear(a, b, { kernel: c as tf.Tensor2D, bias: d as tf.Tensor1D }, k, { maxChunkElements: 70 });
    await near(
      fn(...(inputs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor])),
      tf.tensor2d(g.output),
      tol(1e-5),
    );
    const [gs, go, gk, gb] = allGrads(fn, inputs, tf.tensor2d(g.cotangent));
    await near(gs!, tf.tensor2d(g.gradZs), tol(1e-5), tol(1e-5), 'dZs');
    await near(go!, tf.tensor2d(g.gradZo), tol(1e-5), tol(1e-5), 'dZo');
    await near(gk!, tf.tensor2d(g.gradKernel), tol(1e-5), tol(1e-5), 'dKernel');
    await near(gb!, tf.tensor1d(g.gradBias), tol(1e-5), tol(1e-5), 'dBias');
  });

  it('chunked = unchunked = naive: values and gradients, for every chunk size', async () => {
    const zs = seededTensor([2, 3, 3, 8], 1);
    const zo = seededTensor([2, 3, 3, 8], 2);
    const kernel = seededTensor([32, 5], 3);
    const bias = seededTensor([5], 4);
    const ct = seededTensor([2, 3, 3, 5], 5);
    const ref = allGrads((a, b, c, d) => naive(a, b, c, d, 4), [zs, zo, kernel, bias], ct);
    await near(
      groupBilinear(zs, zo, { kernel: kernel as tf.Tensor2D, bias: bias as tf.Tensor1D }, 4),
      naive(zs, zo, kernel, bias, 4),
    );
    for (const budget of [1, 100, 32 * 17, 1e9]) {
      const fn = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
        groupBilinear(a, b, { kernel: c as tf.Tensor2D, bias: d as tf.Tensor1D }, 4, {
          maxChunkElements: budget,
        });
      await near(
        fn(zs, zo, kernel, bias),
        naive(zs, zo, kernel, bias, 4),
        tol(1e-5),
        tol(1e-5),
        `value @${budget}`,
      );
      const got = allGrads(fn, [zs, zo, kernel, bias], ct);
      for (let i = 0; i < 4; i++) await near(got[i]!, ref[i]!, tol(1e-5), tol(1e-5), `grad ${i} @${budget}`);
    }
  });

  it('memory: chunking bounds the peak bytes of forward and backward', async () => {
    // 64 pairs, d = 16, k = 8: all features = 64·128 floats = 32 KiB; budget 1024 floats = 4 KiB
    const zs = seededTensor([64, 16], 6);
    const zo = seededTensor([64, 16], 7);
    const kernel = seededTensor([128, 3], 8) as tf.Tensor2D;
    const peak = async (budget: number) => {
      const fwd = await tf.profile(() => groupBilinear(zs, zo, { kernel }, 8, { maxChunkElements: budget }));
      const bwd = await tf.profile(() =>
        tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          groupBilinear(a, b, { kernel: c as tf.Tensor2D }, 8, { maxChunkElements: budget }).sum(),
        )([zs, zo, kernel]),
      );
      return [fwd.peakBytes, bwd.peakBytes];
    };
    const [fFull, bFull] = await peak(1e9);
    const [fChunk, bChunk] = await peak(1024);
    const full = 64 * 128 * 4;
    assert.ok(fFull >= full, `unchunked forward holds all features (${fFull} >= ${full})`);
    assert.ok(fChunk < fFull - full / 2, `chunked forward peak ${fChunk} vs unchunked ${fFull}`);
    assert.ok(bChunk < bFull - full / 2, `chunked backward peak ${bChunk} vs unchunked ${bFull}`);
    // the default budget splits ATLOP's DocRED case (42·42 pairs × 768 × 64) into several chunks
    assert.ok(DEFAULT_MAX_CHUNK_ELEMENTS < (42 * 42 * 768 * 64) / 4);
  });

  it('gradient: matches central differences', async () => {
    const zs = seededTensor([3, 4], 9);
    const zo = seededTensor([3, 4], 10);
    const kernel = seededTensor([8, 2], 11) as tf.Tensor2D;
    const f = (x: tf.Tensor) =>
      groupBilinear(x, zo, { kernel }, 2, { maxChunkElements: 8 })
        .mul(
          tf.tensor2d([
            [1, -2],
            [3, 0.5],
            [-1, 2],
          ]),
        )
        .sum() as tf.Scalar;
    await near(tf.grad(f)(zs), await numericGradient(f, zs, 1e-2), tol(2e-3));
  });

  it('equivalence: [b,e,e] leading dims = flat pairs; a pair depends on its own inputs only; permutation', async () => {
    const zs = seededTensor([2, 3, 3, 8], 12);
    const zo = seededTensor([2, 3, 3, 8], 13);
    const params = {
      kernel: seededTensor([32, 4], 14) as tf.Tensor2D,
      bias: seededTensor([4], 15) as tf.Tensor1D,
    };
    const y = groupBilinear(zs, zo, params, 4, { maxChunkElements: 64 });
    await near(groupBilinear(zs.reshape([18, 8]), zo.reshape([18, 8]), params, 4).reshape([2, 3, 3, 4]), y);
    const perm = tf.tensor1d([5, 17, 0, 3, 9], 'int32');
    const pick = (x: tf.Tensor) => tf.gather(x.reshape([18, -1]), perm);
    await near(groupBilinear(pick(zs), pick(zo), params, 4), pick(y));
    // the gradient of pair 0's output touches pair 0's inputs only
    const gs = tf.grad((a: tf.Tensor) =>
      groupBilinear(a, zo, params, 4, { maxChunkElements: 64 }).reshape([18, 4]).slice([0, 0], [1, 4]).sum(),
    )(zs);
    await near(gs.reshape([18, 8]).slice([1, 0], [17, 8]), tf.zeros([17, 8]));
  });

  it('edge cases: no pairs, one pair, no bias', async () => {
    const kernel = seededTensor([32, 5], 16) as tf.Tensor2D;
    const none = groupBilinear(tf.zeros([0, 8]), tf.zeros([0, 8]), { kernel }, 4);
    assert.deepEqual(none.shape, [0, 5]);
    // (no .sum(): reducing an empty tensor fails on tfjs-webgpu 4.22)
    const gNone = tf.grad((a: tf.Tensor) => groupBilinear(a, tf.zeros([1, 0, 0, 8]), { kernel }, 4))(
      tf.zeros([1, 0, 0, 8]),
    );
    assert.deepEqual(gNone.shape, [1, 0, 0, 8]);
    const one = groupBilinear(seededTensor([1, 1, 1, 8], 17), seededTensor([1, 1, 1, 8], 18), { kernel }, 4);
    assert.deepEqual(one.shape, [1, 1, 1, 5]);
  });

  it('round trip: fromConfig(getConfig()) + weights reproduces the outputs', async () => {
    const layer = new GroupBilinearLayer({ units: 5, blockSize: 4, maxChunkElements: 100, name: 'bil' });
    const zs = seededTensor([2, 8], 19);
    const zo = seededTensor([2, 8], 20);
    const y = layer.apply([zs, zo]) as tf.Tensor;
    const config = layer.getConfig();
    assert.equal(config['units'], 5);
    assert.equal(config['blockSize'], 4);
    assert.equal(config['maxChunkElements'], 100);
    const copy = GroupBilinearLayer.fromConfig(GroupBilinearLayer, config) as GroupBilinearLayer;
    copy.apply([zs, zo]);
    copy.setWeights(layer.getWeights());
    await near(copy.apply([zs, zo]) as tf.Tensor, y);
    assert.equal(tf.serialization.getRegisteredName(GroupBilinearLayer), 'docre-kit>GroupBilinearLayer');
    const noBias = new GroupBilinearLayer({ units: 3, blockSize: 2, useBias: false });
    noBias.apply([zs, zo]);
    assert.equal(noBias.getWeights().length, 1);
  });

  it('no leaks: forward, layer, chunked gradient', async () => {
    const zs = seededTensor([6, 8], 21);
    const zo = seededTensor([6, 8], 22);
    const kernel = seededTensor([32, 5], 23) as tf.Tensor2D;
    const layer = new GroupBilinearLayer({ units: 5, blockSize: 4, maxChunkElements: 64 });
    layer.apply([zs, zo]);
    assertNoLeak(() => groupBilinear(zs, zo, { kernel }, 4, { maxChunkElements: 64 }), 'forward');
    assertNoLeak(() => layer.apply([zs, zo]), 'layer');
    assertNoLeak(
      () =>
        tf.grads((a: tf.Tensor, c: tf.Tensor) =>
          groupBilinear(a, zo, { kernel: c as tf.Tensor2D }, 4, { maxChunkElements: 64 }).sum(),
        )([zs, kernel]),
      'grads',
    );
    assertNoLeak(() => tf.variableGrads(() => (layer.apply([zs, zo]) as tf.Tensor).sum()), 'variableGrads');
  });

  it('bad arguments throw ShapeError / ArgumentError naming them', async () => {
    const kernel = tf.zeros([32, 5]) as tf.Tensor2D;
    assert.throws(
      () => groupBilinear(tf.zeros([2, 8]), tf.zeros([3, 8]), { kernel }, 4),
      (e: unknown) =>
        e instanceof ShapeError &&
        /zo: expected shape \[2, 8\] \(the shape of zs\), got \[3, 8\]/.test(e.message),
    );
    assert.throws(
      () => groupBilinear(tf.zeros([2, 8]), tf.zeros([2, 8]), { kernel }, 3),
      (e: unknown) =>
        e instanceof ArgumentError &&
        /blockSize: expected a positive integer dividing d = 8, got 3/.test(e.message),
    );
    assert.throws(
      () =>
        groupBilinear(tf.zeros([2, 8]), tf.zeros([2, 8]), { kernel: tf.zeros([16, 5]) as tf.Tensor2D }, 4),
      /kernel: expected shape \[32, r\] \(dim 0 = 32\), got \[16, 5\]/,
    );
    assert.throws(
      () =>
        groupBilinear(tf.zeros([2, 8]), tf.zeros([2, 8]), { kernel, bias: tf.zeros([4]) as tf.Tensor1D }, 4),
      /bias: expected shape \[5\]/,
    );
    assert.throws(
      () => groupBilinear(tf.zeros([2, 8]), tf.zeros([2, 8]), { kernel }, 4, { maxChunkElements: 0 }),
      /maxChunkElements: expected a number >= 1, got 0/,
    );
    assert.throws(() => new GroupBilinearLayer({ units: 0 }), /units: expected a positive integer, got 0/);
    assert.throws(
      () => new GroupBilinearLayer({ units: 3, kernelInitializer: 'ones' as never }),
      /kernelInitializer: expected glorotUniform \| .*, got "ones"/,
    );
    assert.throws(
      () => new GroupBilinearLayer({ units: 3, blockSize: 3 }).apply([tf.zeros([2, 8]), tf.zeros([2, 8])]),
      /zs: expected shape \[\.\., d\] with d divisible by blockSize 3, got \[2, 8\]/,
    );
  });
});
