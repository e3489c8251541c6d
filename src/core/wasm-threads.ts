/**
 * The wasm backend's own thread pool (XNNPACK's pthreadpool over Emscripten pthreads) in Node,
 * without patching node_modules. `initBackend('wasm', { threads })` calls
 * {@link startNodeWasmThreads} when threads ≥ 2.
 *
 * tfjs-backend-wasm 4.22 ships the threaded-SIMD build and its worker script, but in Node three
 * things stop it (tfjs#3830):
 * 1. the flag `WASM_HAS_MULTITHREAD_SUPPORT` is hard-coded false under `IS_NODE`: it is set to
 *    true here, which makes tfjs pick `tfjs-backend-wasm-threaded-simd.wasm`;
 * 2. the Emscripten pool starts its 8 workers with `new Worker(URL.createObjectURL(blob))`, and
 *    Node's worker_threads rejects `blob:nodedata:` URLs (ERR_WORKER_PATH); the glue also sends
 *    each worker the main script as a `Blob` (`mainScriptUrlOrBlob`), which the worker cannot
 *    read synchronously. The glue looks `Worker` up on the global object (after assigning
 *    worker_threads' own to it), so a global `Worker` accessor here hands it {@link PthreadWorker}:
 *    a worker_threads `Worker` that runs the package's own worker script
 *    (`wasm-out/…-threaded-simd.worker.js`, as source) and replaces the `Blob` in the `load`
 *    message by the path of the same glue file (`wasm-out/…-threaded-simd.js`);
 * 3. the C++ side caps the pool at `emscripten_num_logical_cores() / 2` (it assumes two
 *    hyper-threads per core), which is `os.cpus().length / 2` in Node: 1 on a 2-core machine.
 *    `os.cpus` reports each core twice while the module starts, so the cap is the core count.
 *
 * The pool's threads never keep the process alive (`ref()` is a no-op): every op waits for its
 * workers synchronously, so nothing is left to wait for when the event loop empties.
 *
 * @example
 * const info = await initBackend('wasm', { threads: 2 });
 * console.log(info.wasm); // { simd: true, threads: true, threadsCount: 2 }
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Browsers: tfjs picks the threaded build by itself when the page is cross-origin isolated; the
 * pool is capped at `navigator.hardwareConcurrency / 2` like Node's (item 3 above), so the
 * reported core count is doubled while the module starts. Without isolation this just starts.
 */
export async function startBrowserWasmThreads(
  wasm: { setThreadsCount(n: number): void },
  threads: number,
  start: () => Promise<void>,
): Promise<void> {
  wasm.setThreadsCount(threads);
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  const cores = nav?.hardwareConcurrency;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  if (!nav || !cores || !isolated) return start();
  Object.defineProperty(nav, 'hardwareConcurrency', { value: 2 * cores, configurable: true });
  try {
    await start();
  } finally {
    delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency; // the prototype's getter again
  }
}

/** The package files the pthread workers load (resolved next to tfjs-backend-wasm's main). */
const WORKER_FILE = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js';
const GLUE_FILE = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js';

let installed = false;

/**
 * Prepares tfjs-backend-wasm (not yet initialised) to start with `threads` pool threads in Node,
 * then runs `start` (which calls `tf.setBackend('wasm')`) while the core count is doubled.
 */
export async function startNodeWasmThreads(
  wasm: { setThreadsCount(n: number): void },
  threads: number,
  start: () => Promise<void>,
): Promise<void> {
  const { createRequire } = await import('node:module');
  const { Worker: NodeWorker } = await import('node:worker_threads');
  const os = (await import('node:os')).default;
  const require = createRequire(import.meta.url);
  if (!installed) {
    // `\n` inside the worker's string literals must stay escaped (tfjs does the same for its Blob).
    const source = (require(WORKER_FILE) as { wasmWorkerContents: string }).wasmWorkerContents.replace(
      /\n/g,
      '\\n',
    );
    const glue = require.resolve(GLUE_FILE);
    class PthreadWorker extends NodeWorker {
      constructor(url: string | URL) {
        if (String(url).startsWith('blob:')) URL.revokeObjectURL(String(url));
        super(source, { eval: true, execArgv: [] });
      }
      override postMessage(msg: unknown, transfer?: readonly Transferable[]): void {
        const m = msg as { cmd?: string; urlOrBlob?: unknown } | null;
        super.postMessage(
          m?.cmd === 'load' && typeof m.urlOrBlob !== 'string' ? { ...m, urlOrBlob: glue } : msg,
          transfer as never,
        );
      }
      override ref(): void {}
    }
    Object.defineProperty(globalThis, 'Worker', {
      configurable: true,
      get: () => PthreadWorker,
      set: () => {}, // the glue's `Worker = require('worker_threads').Worker`
    });
    installed = true;
  }
  wasm.setThreadsCount(threads);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  const cpus = os.cpus;
  os.cpus = () => {
    const c = cpus();
    return [...c, ...c];
  };
  try {
    await start();
  } finally {
    os.cpus = cpus;
  }
}
