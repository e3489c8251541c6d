import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { BACKEND, THREADS, useTestBackend } from '../helpers.js';
import { defaultThreads, describeAdapter, initBackend, noAdapterMessage } from '../../src/core/backend.js';

test(`initBackend selects ${BACKEND}`, async () => {
  const name = await useTestBackend();
  assert.equal(name, BACKEND);
  assert.equal(tf.getBackend(), BACKEND);
  const info = await initBackend(BACKEND, { threads: THREADS });
  if (BACKEND === 'webgpu') assert.ok(info.adapter && info.adapter.length > 0);
  if (BACKEND === 'wasm') assert.equal(info.wasm?.simd, true);
  const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
  assert.deepEqual(Array.from(await y.data()), [11]);
});

test('unknown backend is an ArgumentError naming the choices', async () => {
  await assert.rejects(
    () => initBackend('gpu' as never),
    /backend: expected cpu \| wasm \| webgpu \| tensorflow, got "gpu"/,
  );
});

test('tensorflow backend without tfjs-node names the package', async () => {
  await assert.rejects(() => initBackend('tensorflow'), /@tensorflow\/tfjs-node/);
});

test('webgpu: the adapter description has real text from GPUAdapterInfo', async () => {
  if (BACKEND !== 'webgpu') return;
  const info = await initBackend('webgpu');
  assert.ok(info.adapter && info.adapter.length > 0);
  assert.doesNotMatch(info.adapter, /unknown adapter/);
});

test("wasm: SIMD on, DOCRE_THREADS pool threads; the default is the machine's cores", async () => {
  assert.equal(await defaultThreads(), availableParallelism());
  if (BACKEND !== 'wasm') return;
  await useTestBackend();
  const info = await initBackend('wasm', { threads: THREADS });
  assert.deepEqual(info.wasm, { simd: true, threads: THREADS >= 2, threadsCount: THREADS });
});

test('describeAdapter reads each GPUAdapterInfo field (getters, blanks skipped)', () => {
  // Dawn's GPUAdapterInfo exposes prototype getters: the object spreads to {} but fields read fine
  class Info {
    get vendor() {
      return 'google';
    }
    get architecture() {
      return 'swiftshader';
    }
    get device() {
      return 'swiftshader-device-subzero-';
    }
    get description() {
      return 'SwiftShader driver 5.0.0';
    }
    get isFallbackAdapter() {
      return true;
    }
  }
  assert.deepEqual({ ...new Info() }, {});
  assert.equal(
    describeAdapter(new Info()),
    'google swiftshader swiftshader-device-subzero- SwiftShader driver 5.0.0 (fallback adapter)',
  );
  assert.equal(
    describeAdapter({ vendor: 'nvidia', architecture: '', device: ' ', description: 'RTX 4090' }),
    'nvidia RTX 4090',
  );
  assert.equal(describeAdapter({ vendor: '', architecture: '' }), 'unknown adapter');
  assert.equal(describeAdapter(undefined), 'unknown adapter');
});

test('noAdapterMessage says what to install or set in each situation', () => {
  const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
  assert.match(
    noAdapterMessage({ node: false, swiftShaderInstalled: false }),
    /enable WebGPU in this browser, or use the wasm backend/,
  );
  const missing = noAdapterMessage({ node: true, swiftShaderInstalled: false });
  assert.match(missing, /apt-get install chromium/);
  assert.ok(missing.includes(icd));
  assert.match(
    noAdapterMessage({ node: true, swiftShaderInstalled: false, vkIcdFilenames: '/x.json' }),
    /currently VK_ICD_FILENAMES=\/x\.json/,
  );
  const wrong = noAdapterMessage({
    node: true,
    swiftShaderInstalled: true,
    vkIcdFilenames: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json',
  });
  assert.match(wrong, /with VK_ICD_FILENAMES=\/usr\/share\/vulkan\/icd\.d\/lvp_icd\.x86_64\.json/);
  assert.ok(wrong.includes(`set VK_ICD_FILENAMES=${icd}`));
  assert.match(
    noAdapterMessage({ node: true, swiftShaderInstalled: true, vkIcdFilenames: icd }),
    /apt-get install libvulkan1/,
  );
});
