/**
 * src/core/initializers.ts: seeded initializers give the same values on every backend and every
 * call, follow their distributions' bounds and moments, and derived seeds differ per weight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertClose, assertNoLeak, useTestBackend } from '../helpers.js';
import {
  deriveSeed,
  glorotNormal,
  glorotUniform,
  heNormal,
  initialValue,
  ones,
  truncatedNormal,
  zeros,
} from '../../src/core/initializers.js';
import { bothBackends, read } from './util.js';

await useTestBackend();

const moments = (v: Float32Array) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean, variance: v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length };
};

test('glorotUniform: within ±√(6/(fanIn+fanOut)), variance 2/(fanIn+fanOut), same seed = same values', async () => {
  const [din, dout] = [64, 32];
  const v = await read(initialValue(glorotUniform(3), [din, dout]));
  const limit = Math.sqrt(6 / (din + dout));
  assert.ok(v.every((x) => Math.abs(x) <= limit));
  const { mean, variance } = moments(v);
  assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(variance / (2 / (din + dout)) - 1) < 0.1, `variance ${variance}`);
  assertClose(await read(initialValue(glorotUniform(3), [din, dout])), v, 0);
  const other = await read(initialValue(glorotUniform(4), [din, dout]));
  assert.ok(other.some((x, i) => x !== v[i]));
});

test('seeded initializers give identical values on this backend and on cpu', async () => {
  const { here, cpu } = await bothBackends(() => [
    initialValue(glorotUniform(1), [8, 6]),
    initialValue(glorotNormal(2), [8, 6]),
    initialValue(heNormal(3), [3, 3, 4, 5]),
    initialValue(truncatedNormal(0.02, 4), [16]),
  ]);
  here.forEach((h, i) => assertClose(h, cpu[i]!, 0, 0, `initializer ${i}`));
});

test('truncatedNormal stays within 2·stddev; heNormal variance ≈ 0.774·2/fanIn for a conv kernel', async () => {
  const t = await read(initialValue(truncatedNormal(0.02, 5), [4000]));
  assert.ok(t.every((x) => Math.abs(x) <= 0.04 + 1e-7));
  const h = await read(initialValue(heNormal(6), [3, 3, 16, 32])); // fanIn = 3·3·16
  // tfjs truncates N(0, 2/fanIn) at 2σ without rescaling σ: the variance is 0.774·2/fanIn
  assert.ok(Math.abs(moments(h).variance / ((0.774 * 2) / 144) - 1) < 0.1, `variance ${moments(h).variance}`);
});

test('zeros and ones', async () => {
  assertClose(await read(initialValue(zeros(), [2, 3])), [0, 0, 0, 0, 0, 0], 0);
  assertClose(await read(initialValue(ones(), [3])), [1, 1, 1], 0);
});

test('deriveSeed: deterministic, differs per name and per seed, undefined stays undefined', () => {
  assert.equal(deriveSeed(7, 'kernel'), deriveSeed(7, 'kernel'));
  assert.notEqual(deriveSeed(7, 'kernel'), deriveSeed(7, 'bias'));
  assert.notEqual(deriveSeed(7, 'kernel'), deriveSeed(8, 'kernel'));
  assert.equal(deriveSeed(undefined, 'kernel'), undefined);
  const s = deriveSeed(123456789, 'query/kernel')!;
  assert.ok(Number.isInteger(s) && s >= 0 && s < 2147483647);
});

test('an initializer inside a layer: addWeight with a derived seed reproduces the weights', async () => {
  const build = () => {
    const layer = tf.layers.dense({ units: 3, kernelInitializer: glorotUniform(deriveSeed(9, 'kernel')) });
    layer.apply(tf.zeros([1, 4]));
    return layer.getWeights()[0]!;
  };
  assertClose(await read(build()), await read(build()), 0);
});

test('initialValue leaks nothing beyond its result', () => {
  assertNoLeak(() => initialValue(glorotUniform(1), [5, 5]));
  assertNoLeak(() => initialValue(truncatedNormal(0.02, 1), [5, 5]));
});
