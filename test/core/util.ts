/**
 * Helpers of the core tests. WebGPU in Node has no synchronous read for GPU-resident data
 * (tfjs-backend-webgpu's readSync needs OffscreenCanvas), so these tests read with `await data()`.
 */
import * as tf from '@tensorflow/tfjs';

/** Reads a tensor asynchronously and disposes it. */
export async function read(t: tf.Tensor): Promise<Float32Array> {
  const v = Float32Array.from(await t.data());
  t.dispose();
  return v;
}

/** Runs fn on the cpu backend; the current backend is restored afterwards. */
export async function onCpu<T>(fn: () => Promise<T>): Promise<T> {
  const prev = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return await fn();
  } finally {
    await tf.setBackend(prev);
  }
}

/** fn's tensors read back as arrays, computed on the current backend and on cpu. */
export async function bothBackends(
  fn: () => tf.Tensor[],
): Promise<{ here: Float32Array[]; cpu: Float32Array[] }> {
  const run = () => Promise.all(tf.tidy(fn).map(read));
  return { here: await run(), cpu: await onCpu(run) };
}
