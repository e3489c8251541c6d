/**
 * Backend selection: `initBackend('cpu' | 'wasm' | 'webgpu' | 'tensorflow')`.
 *
 * - cpu: tfjs' plain JavaScript kernels (reference).
 * - wasm: `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD). The kernels that training needs and
 *   that 4.22's wasm backend lacks or gets wrong are registered by `./wasm-kernels.ts`.
 * - webgpu: `@tensorflow/tfjs-backend-webgpu`. In Node, WebGPU comes from Dawn (npm `webgpu`); on a
 *   machine with no GPU Dawn runs on SwiftShader's Vulkan driver, which Debian's `chromium`
 *   package installs at /usr/lib/chromium/vk_swiftshader_icd.json.
 * - tensorflow: the user's own `@tensorflow/tfjs-node` or `@tensorflow/tfjs-node-gpu` (optional peer).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from './node-fs.js';
import { ArgumentError } from './errors.js';

export type BackendName = 'cpu' | 'wasm' | 'webgpu' | 'tensorflow';
export const BACKENDS: readonly BackendName[] = ['cpu', 'wasm', 'webgpu', 'tensorflow'];

/** What `initBackend` selected. */
export interface BackendInfo {
  readonly backend: BackendName;
  /** WebGPU: the adapter's vendor/architecture/description as reported. */
  readonly adapter?: string;
  /** wasm: SIMD and threads as detected by the backend. */
  readonly wasm?: { readonly simd: boolean; readonly threads: boolean; readonly threadsCount: number };
}

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** The error thrown when a backend cannot be initialised; the message says what to install. */
export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
}

let current: BackendInfo | undefined;

/**
 * Selects and initialises a backend; idempotent for the same name.
 *
 * @example
 * const info = await initBackend('wasm');
 * console.log(info.backend, info.wasm?.simd);
 */
export async function initBackend(name: BackendName): Promise<BackendInfo> {
  if (!BACKENDS.includes(name)) throw new ArgumentError('backend', BACKENDS.join(' | '), name);
  if (current?.backend === name && tf.getBackend() === backendKey(name)) return current;
  switch (name) {
    case 'cpu':
      await setOrThrow('cpu', 'cpu');
      current = { backend: 'cpu' };
      break;
    case 'wasm':
      current = await initWasm();
      break;
    case 'webgpu':
      current = await initWebGPU();
      break;
    case 'tensorflow':
      current = await initTensorflow();
      break;
  }
  return current;
}

function backendKey(name: BackendName): string {
  return name;
}

async function setOrThrow(key: string, label: string): Promise<void> {
  const ok = await tf.setBackend(key);
  await tf.ready();
  if (!ok || tf.getBackend() !== key)
    throw new BackendUnavailableError(`backend ${label}: tf.setBackend('${key}') failed`);
}

async function initWasm(): Promise<BackendInfo> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (isNode) {
    const { createRequire } = await import('node:module');
    const { dirname } = await import('node:path');
    const require = createRequire(import.meta.url);
    const file = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
    wasm.setWasmPaths(dirname(file) + '/');
  }
  const { registerWasmKernels } = await import('./wasm-kernels.js');
  registerWasmKernels();
  await setOrThrow('wasm', 'wasm');
  return {
    backend: 'wasm',
    wasm: {
      simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
      threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
      threadsCount: wasm.getThreadsCount(),
    },
  };
}

async function initWebGPU(): Promise<BackendInfo> {
  const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
  if (!g.navigator?.gpu) {
    if (!isNode)
      throw new BackendUnavailableError(
        'backend webgpu: this browser has no navigator.gpu (enable WebGPU, or use wasm)',
      );
    if (!process.env['VK_ICD_FILENAMES'] && existsSync(SWIFTSHADER_ICD))
      process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
    let dawn: typeof import('webgpu');
    try {
      dawn = await import('webgpu');
    } catch (e) {
      throw new BackendUnavailableError(
        `backend webgpu: the npm package 'webgpu' (Dawn for Node) is missing: npm install webgpu (${String(e)})`,
      );
    }
    Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create([]);
    if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    else (globalThis as Record<string, unknown>)['navigator'] = { gpu };
  }
  const adapter = await g.navigator!.gpu!.requestAdapter();
  if (!adapter)
    throw new BackendUnavailableError(
      'backend webgpu: no WebGPU adapter. With no GPU, install a software Vulkan driver: ' +
        `apt-get install chromium (provides ${SWIFTSHADER_ICD}) and set VK_ICD_FILENAMES to it`,
    );
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const adapterText = info
    ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ')
    : 'unknown';
  await import('@tensorflow/tfjs-backend-webgpu');
  await setOrThrow('webgpu', 'webgpu');
  return { backend: 'webgpu', adapter: adapterText };
}

async function initTensorflow(): Promise<BackendInfo> {
  const tried: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      await setOrThrow('tensorflow', 'tensorflow');
      return { backend: 'tensorflow' };
    } catch (e) {
      tried.push(`${pkg}: ${String((e as Error).message ?? e).split('\n')[0]}`);
    }
  }
  throw new BackendUnavailableError(
    'backend tensorflow: needs the optional peer @tensorflow/tfjs-node (CPU) or ' +
      `@tensorflow/tfjs-node-gpu (CUDA): npm install @tensorflow/tfjs-node. Tried: ${tried.join('; ')}`,
  );
}

/** The backend currently selected by `initBackend`, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}
