/**
 * Why two wasm threads can be slower than one on a loaded machine: one training step (bench/models.ts'
 * --quick sizes) on the plain SIMD build (`plain`), the threaded build with a pool of one thread
 * (`t1`: the build without its second thread) and with two (`t2`), with the process CPU time.
 *
 *   for m in plain t1 t2; do npx tsx bench/threads-spin.ts $m dremir; done
 *
 * `t2` using about twice `t1`'s CPU time for the same work is the pool's second thread
 * spin-waiting between operations (pthreadpool spins before it sleeps): free on an idle core,
 * taken from the main thread when other processes hold the cores. Model: dremir | docreii | atlop.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { registerWasmKernels, registerCpuKernels } from '../src/core/wasm-kernels.js';
import { registerGradientFixes } from '../src/core/gradients.js';
import { startNodeWasmThreads } from '../src/core/wasm-threads.js';
import { createModel, syntheticBatch } from '../src/models/index.js';
import { timeMs } from './common.js';
const mode = process.argv[2]!; // plain | t1 | t2
const name = process.argv[3] ?? 'dremir';
const wasm = await import('@tensorflow/tfjs-backend-wasm');
const require = createRequire(import.meta.url);
wasm.setWasmPaths(
  dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/',
);
registerGradientFixes();
registerCpuKernels();
registerWasmKernels();
const start = async () => {
  await tf.setBackend('wasm');
  await tf.ready();
};
if (mode === 'plain') await start();
else await startNodeWasmThreads(wasm, mode === 't1' ? 1 : 2, start);
const cfg: Record<string, Record<string, unknown>> = {
  dremir: { pairSize: 128, numLayers: 2, ffnDim: 256, docPooling: 'mean' },
  docreii: { pairSize: 128, numLayers: 2, iterations: 3, ffnDim: 256 },
  atlop: { embSize: 128, blockSize: 16 },
};
const model = createModel(name, { hiddenSize: 512, numClasses: 97, ...cfg[name] });
const batch = syntheticBatch({ b: 4, n: 128, e: 10, d: 512, h: 4, r: 97, m: 3, seed: 1 });
const vars = model.trainableVariables();
const opt = tf.train.adam(1e-3);
const c0 = process.cpuUsage();
const ms = await timeMs(
  () => opt.minimize(() => model.forward(batch, { training: true }).losses['total']!, true, vars)!,
  { warmup: 1, reps: 3 },
);
const cu = process.cpuUsage(c0);
console.log(
  mode,
  name,
  'threads',
  wasm.getThreadsCount(),
  'ms',
  ms.toFixed(0),
  'cpu-s total',
  ((cu.user + cu.system) / 1e6).toFixed(1),
);
if (process.argv[4] === 'profile') {
  const prof = await tf.profile(() =>
    opt.minimize(() => model.forward(batch, { training: true }).losses['total']!, true, vars)!,
  );
  const by = new Map<string, number>();
  for (const k of prof.kernels) by.set(k.name, (by.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  console.log(
    [...by]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(', '),
  );
}
