import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BACKEND, useTestBackend } from '../helpers.js';
import { initBackend } from '../../src/core/backend.js';

test(`initBackend selects ${BACKEND}`, async () => {
  const name = await useTestBackend();
  assert.equal(name, BACKEND);
  assert.equal(tf.getBackend(), BACKEND);
  const info = await initBackend(BACKEND);
  if (BACKEND === 'webgpu') assert.ok(info.adapter && info.adapter.length > 0);
  if (BACKEND === 'wasm') assert.equal(info.wasm?.simd, true);
  const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
  assert.deepEqual(Array.from(await y.data()), [11]);
});

test('unknown backend is an ArgumentError naming the choices', async () => {
  await assert.rejects(() => initBackend('gpu' as never), /backend: expected cpu \| wasm \| webgpu \| tensorflow, got "gpu"/);
});

test('tensorflow backend without tfjs-node names the package', async () => {
  await assert.rejects(() => initBackend('tensorflow'), /@tensorflow\/tfjs-node/);
});
