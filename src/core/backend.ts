/**
 * Backend selection: `initBackend('cpu' | 'wasm' | 'webgpu' | 'tensorflow')`.
 *
 * - cpu: tfjs' plain JavaScript kernels (reference).
 * - wasm: `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD). The kernels that training needs and
 *   that 4.22's wasm backend lacks or gets wrong are registered by `./wasm-kernels.ts`.
 *   Threads: `initBackend('wasm', { threads: N })` (default: the machine's cores). N ≥ 2 runs
 *   the threaded-SIMD build with a pool of N threads (XNNPACK's matmul, conv and the other
 *   XNNPACK ops are split across them; kernels outside XNNPACK stay on one thread); N = 1 runs
 *   the plain SIMD build. The pool spin-waits between operations, so threads pay off only on free
 *   cores: on a loaded machine 1 thread is faster (docs/benchmarks.md). In Node tfjs 4.22
 *   disables threads (tfjs#3830); `./wasm-threads.ts` makes its own pool work there with
 *   worker_threads, without patching the package. In browsers
 *   the threaded build needs cross-origin isolation (COOP/COEP headers, SharedArrayBuffer);
 *   without it tfjs runs single-threaded and the info says `threads: false`. The count is fixed
 *   when the backend first starts: a later call with another count is an error.
 * - webgpu: `@tensorflow/tfjs-backend-webgpu`. In Node, WebGPU comes from Dawn (npm `webgpu`); on a
 *   machine with no GPU Dawn runs on SwiftShader's Vulkan driver, which Debian's `chromium`
 *   package installs at /usr/lib/chromium/vk_swiftshader_icd.json.
 * - tensorflow: the user's own `@tensorflow/tfjs-node` or `@tensorflow/tfjs-node-gpu` (optional peer).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from './node-fs.js';
import { ArgumentError } from './errors.js';
import { registerGradientFixes } from './gradients.js';
import { registerCpuKernels } from './wasm-kernels.js';

export type BackendName = 'cpu' | 'wasm' | 'webgpu' | 'tensorflow';
export const BACKENDS: readonly BackendName[] = ['cpu', 'wasm', 'webgpu', 'tensorflow'];

/** Options of {@link initBackend}. */
export interface BackendOptions {
  /**
   * wasm: threads of the backend's pool (default: the machine's cores, `os.availableParallelism()`
   * in Node, `navigator.hardwareConcurrency` in browsers). At most the core count and 8 are used
   * (the build's pool size); `BackendInfo.wasm.threadsCount` says how many. Other backends ignore it.
   */
  readonly threads?: number;
}

/** What `initBackend` selected. */
export interface BackendInfo {
  readonly backend: BackendName;
  /** WebGPU: the adapter's vendor, architecture, device and description (see `describeAdapter`). */
  readonly adapter?: string;
  /** wasm: SIMD, and whether the threaded build runs with how many pool threads (see above). */
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
 * const info = await initBackend('wasm', { threads: 2 });
 * console.log(info.backend, info.wasm?.simd, info.wasm?.threadsCount);
 */
export async function initBackend(name: BackendName, options: BackendOptions = {}): Promise<BackendInfo> {
  if (!BACKENDS.includes(name)) throw new ArgumentError('backend', BACKENDS.join(' | '), name);
  const threads = options.threads ?? (await defaultThreads());
  if (!Number.isInteger(threads) || threads < 1)
    throw new ArgumentError('threads', 'an integer ≥ 1', String(options.threads));
  registerGradientFixes();
  registerCpuKernels(); // also serves the cpu reference that other backends' tests switch to
  if (name === 'wasm' && wasmThreads !== undefined && wasmThreads !== threads)
    throw new ArgumentError(
      'threads',
      `${wasmThreads} (the wasm backend started with ${wasmThreads} in this process; the count cannot change)`,
      String(threads),
    );
  if (current?.backend === name && tf.getBackend() === backendKey(name)) return current;
  switch (name) {
    case 'cpu':
      await setOrThrow('cpu', 'cpu');
      current = { backend: 'cpu' };
      break;
    case 'wasm':
      current = await initWasm(threads);
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

/**
 * The default wasm pool size: `DOCRE_THREADS` when set (e.g. 1 for parallel test processes on a
 * shared machine: XNNPACK's pool spin-waits, see docs/benchmarks.md), else the machine's cores:
 * `os.availableParallelism()` in Node, `navigator.hardwareConcurrency` elsewhere.
 */
export async function defaultThreads(): Promise<number> {
  const env = isNode ? process.env['DOCRE_THREADS'] : undefined;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new ArgumentError('DOCRE_THREADS', 'a positive integer', env);
    return n;
  }
  if (isNode) return (await import('node:os')).availableParallelism();
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return n && n > 0 ? n : 1;
}

/** The pool size the wasm backend was started with in this process (fixed from then on). */
let wasmThreads: number | undefined;

async function initWasm(threads: number): Promise<BackendInfo> {
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
  const start = () => setOrThrow('wasm', 'wasm');
  if (wasmThreads !== undefined)
    await start(); // started before (then tf.setBackend elsewhere)
  else if (!isNode) {
    const { startBrowserWasmThreads } = await import('./wasm-threads.js');
    await startBrowserWasmThreads(wasm, threads, start); // threads if cross-origin isolated
  } else if (threads >= 2) {
    const { startNodeWasmThreads } = await import('./wasm-threads.js');
    await startNodeWasmThreads(wasm, threads, start);
  } else {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    await start();
  }
  wasmThreads = threads;
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
      noAdapterMessage({
        node: isNode,
        vkIcdFilenames: isNode ? process.env['VK_ICD_FILENAMES'] : undefined,
        swiftShaderInstalled: isNode && existsSync(SWIFTSHADER_ICD),
      }),
    );
  const adapterText = describeAdapter(await adapterInfo(adapter));
  await import('@tensorflow/tfjs-backend-webgpu');
  const { registerWebGPUKernels } = await import('./webgpu-kernels.js');
  registerWebGPUKernels();
  await setOrThrow('webgpu', 'webgpu');
  return { backend: 'webgpu', adapter: adapterText };
}

/** The fields of `GPUAdapterInfo` that {@link describeAdapter} reads. */
export interface AdapterInfoLike {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}

/** `adapter.info` (current WebGPU), else the older `requestAdapterInfo()`, else undefined. */
async function adapterInfo(adapter: GPUAdapter): Promise<AdapterInfoLike | undefined> {
  const a = adapter as GPUAdapter & {
    info?: AdapterInfoLike;
    requestAdapterInfo?: () => Promise<AdapterInfoLike>;
  };
  if (a.info) return a.info;
  return a.requestAdapterInfo ? await a.requestAdapterInfo().catch(() => undefined) : undefined;
}

/**
 * One line describing a WebGPU adapter from its `GPUAdapterInfo` getters (they are prototype
 * getters, so the object itself prints as `{}`; each field is read explicitly). Dawn on
 * SwiftShader gives `google swiftshader swiftshader-device-subzero- SwiftShader driver 5.0.0
 * (fallback adapter)`. Browsers may blank fields for privacy; then `unknown adapter`.
 */
export function describeAdapter(info: AdapterInfoLike | undefined): string {
  if (!info) return 'unknown adapter';
  const text = [info.vendor, info.architecture, info.device, info.description]
    .map((f) => (f ?? '').trim())
    .filter((f) => f.length > 0)
    .join(' ');
  return (text || 'unknown adapter') + (info.isFallbackAdapter ? ' (fallback adapter)' : '');
}

/** What {@link noAdapterMessage} needs to know about the machine. */
export interface NoAdapterContext {
  /** Running in Node (Dawn) rather than a browser. */
  readonly node: boolean;
  /** The value of VK_ICD_FILENAMES when the adapter was requested. */
  readonly vkIcdFilenames?: string | undefined;
  /** Whether Debian's chromium SwiftShader ICD file exists. */
  readonly swiftShaderInstalled: boolean;
}

/**
 * The message of the error thrown when WebGPU yields no adapter: it says exactly what to install
 * or set for the situation at hand.
 */
export function noAdapterMessage(ctx: NoAdapterContext): string {
  const head = 'backend webgpu: no WebGPU adapter';
  if (!ctx.node)
    return `${head} (navigator.gpu.requestAdapter() returned null): enable WebGPU in this browser, or use the wasm backend`;
  if (!ctx.swiftShaderInstalled)
    return (
      `${head} from Dawn (no GPU Vulkan driver). With no GPU, install the SwiftShader software ` +
      `driver: apt-get install chromium (it provides ${SWIFTSHADER_ICD}); docre-kit then sets ` +
      `VK_ICD_FILENAMES=${SWIFTSHADER_ICD} itself` +
      (ctx.vkIcdFilenames ? ` (currently VK_ICD_FILENAMES=${ctx.vkIcdFilenames})` : '')
    );
  if (ctx.vkIcdFilenames && ctx.vkIcdFilenames !== SWIFTSHADER_ICD)
    return (
      `${head} from Dawn with VK_ICD_FILENAMES=${ctx.vkIcdFilenames}: that driver gave no usable ` +
      `adapter; set VK_ICD_FILENAMES=${SWIFTSHADER_ICD} (SwiftShader, installed) or unset it`
    );
  return (
    `${head} from Dawn although SwiftShader is installed (${SWIFTSHADER_ICD}): check that the ` +
    'Vulkan loader is installed (apt-get install libvulkan1) and that XDG_RUNTIME_DIR is set'
  );
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
