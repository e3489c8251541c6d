/**
 * USegmentationLayer / uSegmentation (DocuNet §3.3): the STYLE.md ladder at tiny sizes.
 * Golden values: test/fixtures/gen_unet_gtn.py (official AttentionUNet structure in torch).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  assertClose,
  assertNoLeak,
  loadFixture,
  numericGrad,
  seededTensor,
  tol,
  useTestBackend,
} from '../helpers.js';
import {
  maskedBatchNorm,
  uSegmentation,
  USegmentationLayer,
  type USegmentationParams,
} from '../../src/heads/unet.js';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';
// async assertClose (webgpu in Node has no synchronous read), shapes checked when both are tensors
import { near as close } from '../fixtures/foundation.js';

await useTestBackend();

interface UNetCase {
  b: number;
  e: number;
  cIn: number;
  channels: number;
  outChannels: number;
  padding: 'multiple-of-4' | 'official';
  x: number[];
  mask: number[] | null;
  params: Record<string, number[]>;
  yEval: number[];
  yTrain: number[];
  upstream: number[];
  grads: Record<string, number[]>;
  movingAfterTrain: Record<string, number[]>;
}
const fixture = await loadFixture<Record<'plain' | 'masked' | 'tiny' | 'official', UNetCase>>('unet.json');

/** Finds a layer weight by its docre-kit name (the layer scope and a uniqueness suffix aside). */
function weightByName(layer: tf.layers.Layer, key: string): tf.LayerVariable {
  const re = new RegExp(`(^|/)${key.replace(/\//g, '\\/')}(_\\d+)?$`);
  const w = layer.weights.find((v) => re.test(v.name));
  assert.ok(w, `weight ${key} not found in ${layer.weights.map((v) => v.name).join(', ')}`);
  return w;
}

/** Eagerly applied layers have no inbound nodes, so `Layer.dispose` refuses: free the variables. */
function disposeLayer(layer: tf.layers.Layer): void {
  for (const w of layer.weights) w.dispose();
}

function layerFromCase(c: UNetCase): USegmentationLayer {
  const layer = new USegmentationLayer({
    channels: c.channels,
    outChannels: c.outChannels,
    padding: c.padding,
  });
  layer.build([null, c.e, c.e, c.cIn]);
  for (const [key, values] of Object.entries(c.params)) {
    const w = weightByName(layer, key);
    w.write(tf.tensor(values, w.shape as number[]));
  }
  return layer;
}

function inputs(c: UNetCase): tf.Tensor[] {
  const x = tf.tensor(c.x, [c.b, c.e, c.e, c.cIn]);
  return c.mask ? [x, tf.tensor(c.mask, [c.b, c.e, c.e])] : [x];
}

function tinyLayer(cIn: number, channels: number, outChannels: number, seed: number): USegmentationLayer {
  const layer = new USegmentationLayer({ channels, outChannels });
  layer.build([null, 4, 4, cIn]);
  layer.weights.forEach((w, i) => {
    if (/moving/.test(w.name)) return;
    const isGamma = /gamma/.test(w.name);
    w.write(tf.tidy(() => seededTensor(w.shape as number[], seed + i, 0.5).add(isGamma ? 1 : 0)));
  });
  return layer;
}

// 1. Shapes ------------------------------------------------------------------------------------

test('computeOutputShape and concrete shapes for e = 1, 3, 4, 5 (padded internally, cropped back)', async () => {
  const layer = new USegmentationLayer({ channels: 4, outChannels: 3 });
  assert.deepEqual(layer.computeOutputShape([null, 5, 5, 2]), [null, 5, 5, 3]);
  for (const e of [1, 3, 4, 5]) {
    for (const training of [false, true]) {
      const y = tf.tidy(() => layer.apply(seededTensor([2, e, e, 2], e), { training }) as tf.Tensor);
      assert.deepEqual(y.shape, [2, e, e, 3], `e = ${e}`);
      assert.equal(y.dtype, 'float32');
      assert.ok(Array.from(await y.data()).every(Number.isFinite));
      y.dispose();
    }
  }
  disposeLayer(layer);
});

test('bad arguments throw typed errors naming the argument', () => {
  assert.throws(() => new USegmentationLayer({ channels: 3 }), ArgumentError);
  assert.throws(() => new USegmentationLayer({ outChannels: 0 }), /outChannels/);
  assert.throws(
    () => new USegmentationLayer({ padding: 'same' as never }),
    /padding: expected multiple-of-4 \| official/,
  );
  const layer = tinyLayer(2, 2, 2, 1);
  assert.throws(() => layer.apply(tf.zeros([1, 3, 3, 5])), ShapeError);
  assert.throws(() => layer.apply(tf.zeros([1, 3, 4, 2])), /x: expected shape/);
  assert.throws(() => layer.apply([tf.zeros([1, 3, 3, 2]), tf.ones([1, 3, 4])]), /mask: expected shape/);
  disposeLayer(layer);
});

// 2. Closed form -------------------------------------------------------------------------------

test('maskedBatchNorm: training statistics over real cells only, inference with moving statistics', async () => {
  // x [1,1,3,1] = 1, 2, 10; the third cell is padding
  const x = tf.tensor4d([1, 2, 10], [1, 1, 3, 1]);
  const mask = tf.tensor4d([1, 1, 0], [1, 1, 3, 1]);
  const p = {
    gamma: tf.tensor1d([2]),
    beta: tf.tensor1d([0.5]),
    movingMean: tf.tensor1d([1]),
    movingVariance: tf.tensor1d([4]),
  };
  const eps = 1e-5;
  const t = maskedBatchNorm(x, mask, p, true, eps);
  const sd = Math.sqrt(0.25 + eps); // mean 1.5, biased variance 0.25
  await close(
    t.y,
    [(2 * (1 - 1.5)) / sd + 0.5, (2 * (2 - 1.5)) / sd + 0.5, (2 * (10 - 1.5)) / sd + 0.5],
    tol(1e-4),
  );
  await close(t.mean!, [1.5]);
  await close(t.variance!, [0.5]); // unbiased: 0.25 · 2 / 1
  const i = maskedBatchNorm(x, mask, p, false, eps);
  const sdm = Math.sqrt(4 + eps);
  await close(i.y, [0.5, 2 * (1 / sdm) + 0.5, 2 * (9 / sdm) + 0.5], tol(1e-5));
  tf.dispose([x, mask, p, t, i] as unknown as tf.TensorContainer);
});

test('closed form: zero conv kernels make every block constant; output = relu(BN(bias))·K + b', async () => {
  const layer = tinyLayer(2, 2, 3, 7);
  for (const w of layer.weights) if (/conv\d\/kernel/.test(w.name)) w.write(tf.zerosLike(w.read()));
  const p = layer.params();
  const up2 = p.up2;
  const [bias, g, be, mm, mv, ob] = await Promise.all(
    [
      up2.conv2.bias,
      up2.norm2.gamma,
      up2.norm2.beta,
      up2.norm2.movingMean,
      up2.norm2.movingVariance,
      p.output.bias,
    ].map(async (t) => Array.from(await t.data())),
  );
  const K = (await p.output.kernel.array()) as number[][];
  const h = bias!.map((v, c) => Math.max(0, ((v - mm![c]!) / Math.sqrt(mv![c]! + 1e-5)) * g![c]! + be![c]!));
  const expected = ob!.map((v, o) => v + h.reduce((s, hc, c) => s + hc * K[c]![o]!, 0));
  const y = tf.tidy(() => layer.apply(seededTensor([1, 3, 3, 2], 3)) as tf.Tensor);
  await close(y, Array.from({ length: 9 }, () => expected).flat(), tol(1e-5));
  y.dispose();
  disposeLayer(layer);
});

// 3. Reference parity (torch) ------------------------------------------------------------------

for (const name of ['plain', 'masked', 'tiny', 'official'] as const) {
  test(`golden parity vs torch AttentionUNet (${name}): inference, training, gradients, moving statistics`, async () => {
    const c = fixture[name];
    const layer = layerFromCase(c);
    const shape = [c.b, c.e, c.e, c.outChannels];
    const [x, mask] = inputs(c);
    const yEval = tf.tidy(() => layer.apply(mask ? [x!, mask] : x!, { training: false }) as tf.Tensor);
    await close(yEval, tf.tensor(c.yEval, shape), tol(1e-4), tol(1e-4), 'inference');
    // gradients in training mode through the pure function (moving statistics untouched)
    const params = layer.params();
    const upstream = tf.tensor(c.upstream, shape);
    const f = (xx: tf.Tensor, k1: tf.Tensor, gamma: tf.Tensor, ko: tf.Tensor) => {
      const q: USegmentationParams = {
        ...params,
        inConv: { ...params.inConv, conv1: { ...params.inConv.conv1, kernel: k1 as tf.Tensor4D } },
        down2: { ...params.down2, norm2: { ...params.down2.norm2, gamma: gamma as tf.Tensor1D } },
        output: { ...params.output, kernel: ko as tf.Tensor2D },
      };
      return uSegmentation(xx, q, { training: true, mask, padding: c.padding }).output.mul(upstream).sum();
    };
    const grads = tf.grads(f)([
      x!,
      params.inConv.conv1.kernel,
      params.down2.norm2.gamma,
      params.output.kernel,
    ]);
    const keys = ['x', 'inConv/conv1/kernel', 'down2/norm2/gamma', 'output/kernel'];
    for (let i = 0; i < 4; i++)
      await close(grads[i]!, c.grads[keys[i]!]!, tol(1e-4), tol(1e-4), `dL/d ${keys[i]}`);
    // the layer in training mode: batch statistics, then one moving-average update
    const yTrain = tf.tidy(() => layer.apply(mask ? [x!, mask] : x!, { training: true }) as tf.Tensor);
    await close(yTrain, tf.tensor(c.yTrain, shape), tol(1e-4), tol(1e-4), 'training');
    for (const [key, values] of Object.entries(c.movingAfterTrain))
      await close(weightByName(layer, key).read(), values, tol(1e-5), tol(1e-4), key);
    tf.dispose([x!, mask!, yEval, yTrain, upstream, ...grads]);
    disposeLayer(layer);
  });
}

// 4. Gradients ---------------------------------------------------------------------------------

test('numeric gradient (training mode, masked) and zero gradient on padded cells', async () => {
  const layer = tinyLayer(2, 2, 2, 11);
  const params = layer.params();
  const mask = tf.tensor3d([
    [
      [1, 1, 0],
      [1, 1, 0],
      [0, 0, 0],
    ],
  ]); // entity 2 is padding
  const w = seededTensor([1, 3, 3, 2], 5);
  const f = (x: tf.Tensor) =>
    uSegmentation(x, params, { training: true, mask }).output.mul(w).sum() as tf.Scalar;
  const x = seededTensor([1, 3, 3, 2], 4);
  const g = tf.grad(f)(x);
  // numericGrad reads synchronously, which webgpu in Node cannot do; the golden test covers it there
  if (tf.getBackend() !== 'webgpu') assertClose(g, numericGrad(f, x, 1e-2), 5e-3, 5e-2, 'numeric');
  const gv = (await g.array()) as number[][][][];
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++)
      if (i === 2 || j === 2)
        assert.ok(
          gv[0]![i]![j]!.every((v) => v === 0),
          `padded cell (${i},${j})`,
        );
  assert.ok(Math.abs(gv[0]![0]![0]![0]!) > 0, 'real cells get gradient');
  tf.dispose([mask, w, x, g]);
  disposeLayer(layer);
});

// 5. Equivalence -------------------------------------------------------------------------------

test('batched equals per-document (inference mode; training-mode statistics couple the batch)', async () => {
  const layer = tinyLayer(2, 2, 3, 21);
  const x = seededTensor([2, 3, 3, 2], 8);
  const y = layer.apply(x) as tf.Tensor;
  for (let d = 0; d < 2; d++) {
    const [a, b] = tf.tidy(() => [y.slice([d], [1]), layer.apply(x.slice([d], [1])) as tf.Tensor]);
    await close(a!, b!, tol(1e-5), tol(1e-5), `doc ${d}`);
    tf.dispose([a!, b!]);
  }
  tf.dispose([x, y]);
  disposeLayer(layer);
});

test("padding 'official' equals 'multiple-of-4' when e is a multiple of 4, and handles e = 1, 3, 6", async () => {
  const layer = tinyLayer(2, 2, 3, 71);
  const params = layer.params();
  const x = seededTensor([2, 8, 8, 2], 12);
  for (const training of [false, true]) {
    const [a, o] = tf.tidy(() => [
      uSegmentation(x, params, { training }).output,
      uSegmentation(x, params, { training, padding: 'official' }).output,
    ]);
    await close(o!, a!, tol(1e-5), tol(1e-5), `training=${training}`);
    tf.dispose([a!, o!]);
  }
  for (const e of [1, 3, 6]) {
    const y = tf.tidy(
      () => uSegmentation(seededTensor([1, e, e, 2], e), params, { padding: 'official' }).output,
    );
    assert.deepEqual(y.shape, [1, e, e, 3]);
    assert.ok(Array.from(await y.data()).every(Number.isFinite));
    y.dispose();
  }
  x.dispose();
  disposeLayer(layer);
});

test('padded entities change nothing with a mask (values in padded cells are ignored, both modes)', async () => {
  for (const training of [false, true]) {
    const layer = tinyLayer(2, 2, 3, 31);
    const movingVars = layer.weights.filter((w) => /moving/.test(w.name));
    const moving = async () =>
      (await Promise.all(movingVars.map(async (w) => Array.from(await w.read().data())))).flat();
    const real = seededTensor([1, 3, 3, 2], 9);
    // e = 4 with entity 3 padded (value 7 in its cells) vs e = 3 unpadded: both use the 4 × 4 grid
    const padded = tf.pad(
      real,
      [
        [0, 0],
        [0, 1],
        [0, 1],
        [0, 0],
      ],
      7,
    );
    const mask = tf.pad(tf.ones([1, 3, 3]), [
      [0, 0],
      [0, 1],
      [0, 1],
    ]);
    const before = await Promise.all(movingVars.map((w) => w.read().clone()));
    const yp = layer.apply([padded, mask], { training }) as tf.Tensor;
    const afterPadded = await moving();
    movingVars.forEach((w, i) => w.write(before[i]!));
    const yu = layer.apply(real, { training }) as tf.Tensor;
    const [ypReal, ypPad] = tf.tidy(() => [
      yp.slice([0, 0, 0, 0], [1, 3, 3, 3]),
      yp.slice([0, 3, 0, 0], [1, 1, 4, 3]),
    ]);
    await close(ypReal!, yu, tol(1e-5), tol(1e-5), `training=${training}`);
    await close(ypPad!, new Array(12).fill(0), 0, 0, 'padded output cells are 0');
    assertClose(afterPadded, await moving(), tol(1e-6), tol(1e-6), 'same moving statistics');
    tf.dispose([real, padded, mask, ...before, yp, yu, ypReal!, ypPad!]);
    disposeLayer(layer);
  }
});

// 6. Hygiene -----------------------------------------------------------------------------------

test('inference leaves moving statistics alone; training updates them (momentum 0.1)', async () => {
  const layer = tinyLayer(2, 2, 2, 41);
  const mm = weightByName(layer, 'inConv/norm1/movingMean');
  const before = Array.from(await mm.read().data());
  const x = seededTensor([1, 2, 2, 2], 1);
  tf.tidy(() => layer.apply(x, { training: false }) as tf.Tensor);
  assert.deepEqual(Array.from(await mm.read().data()), before);
  const { output, batchStatistics } = uSegmentation(x, layer.params(), { training: true });
  assert.equal(batchStatistics.length, 10);
  const batchMean = Array.from(await batchStatistics[0]!.mean.data());
  tf.tidy(() => layer.apply(x, { training: true }) as tf.Tensor);
  await close(
    mm.read(),
    before.map((v, i) => 0.9 * v + 0.1 * batchMean[i]!),
    tol(1e-6),
  );
  tf.dispose([x, output, ...batchStatistics.flatMap((s) => [s.mean, s.variance])]);
  disposeLayer(layer);
});

test('serialization round trip: fromConfig(getConfig()) + weights gives the same outputs', async () => {
  const layer = tinyLayer(2, 4, 3, 51);
  const config = layer.getConfig();
  assert.equal(config['padding'], 'multiple-of-4');
  assert.equal(config['channels'], 4);
  assert.equal(config['outChannels'], 3);
  const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap['USegmentationLayer']!;
  const copy = fromConfig(cls, config) as USegmentationLayer;
  assert.ok(copy instanceof USegmentationLayer);
  copy.build([null, 3, 3, 2]);
  copy.setWeights(layer.getWeights());
  const x = seededTensor([2, 3, 3, 2], 6);
  const [a, b] = tf.tidy(() => [copy.apply(x) as tf.Tensor, layer.apply(x) as tf.Tensor]);
  await close(a!, b!, 0, 0);
  tf.dispose([x, a!, b!]);
  disposeLayer(layer);
  disposeLayer(copy);
});

test('no tensor leaks (inference, training, gradient)', () => {
  const layer = tinyLayer(2, 2, 2, 61);
  const x = seededTensor([1, 3, 3, 2], 2);
  const mask = tf.ones([1, 3, 3]);
  (layer.apply(x) as tf.Tensor).dispose(); // first call may create lazily cached tensors
  assertNoLeak(() => layer.apply([x, mask], { training: false }), 'inference');
  assertNoLeak(() => layer.apply([x, mask], { training: true }), 'training');
  const params = layer.params();
  assertNoLeak(
    () => tf.grad((xx: tf.Tensor) => uSegmentation(xx, params, { training: true }).output.sum())(x),
    'grad',
  );
  tf.dispose([x, mask]);
  disposeLayer(layer);
});
