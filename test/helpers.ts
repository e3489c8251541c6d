/**
 * Shared test helpers. Every tensor test file starts with `await useTestBackend()`: the backend
 * comes from DOCRE_BACKEND (cpu | wasm | webgpu; default cpu), so `scripts/test.sh` runs the same
 * suite on each backend. Tolerances: `tol()` is looser on webgpu (float32 in shaders, different
 * reduction order) but the same numbers must come out. wasm runs `DOCRE_THREADS` threads (default
 * 1: on a loaded machine the pool's threads slow the tests' many small ops, docs/benchmarks.md);
 * the threaded path itself is tested by test/core/wasm-threads.test.ts.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../src/core/backend.js';

export const BACKEND = (process.env['DOCRE_BACKEND'] ?? 'cpu') as BackendName;
export const THREADS = Number(process.env['DOCRE_THREADS'] ?? '1');

export async function useTestBackend(): Promise<string> {
  const info = await initBackend(BACKEND, { threads: THREADS });
  return info.backend;
}

/** Default absolute+relative tolerance for the current backend. */
export function tol(base = 1e-5): number {
  return BACKEND === 'webgpu' ? Math.max(base, 1e-4) * 10 : BACKEND === 'wasm' ? base * 10 : base;
}

type Numeric = tf.Tensor | number | number[] | number[][] | number[][][] | number[][][][] | Float32Array | Int32Array;

function flat(x: Numeric): { values: number[]; shape?: number[] } {
  if (x instanceof tf.Tensor) return { values: Array.from(x.dataSync()), shape: x.shape };
  if (typeof x === 'number') return { values: [x] };
  if (x instanceof Float32Array || x instanceof Int32Array) return { values: Array.from(x) };
  return { values: (x as unknown[]).flat(Infinity as 4) as number[] };
}

/**
 * Asserts |a - e| <= atol + rtol·|e| elementwise, and equal shapes when both are tensors.
 */
export function assertClose(actual: Numeric, expected: Numeric, atol = tol(), rtol = atol, what = 'value'): void {
  const a = flat(actual);
  const e = flat(expected);
  if (a.shape && e.shape) assert.deepEqual(a.shape, e.shape, `${what}: shape`);
  assert.equal(a.values.length, e.values.length, `${what}: length`);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < a.values.length; i++) {
    const err = Math.abs(a.values[i]! - e.values[i]!) - rtol * Math.abs(e.values[i]!);
    if (!(err <= atol) && (worst < 0 || err > worstErr || Number.isNaN(err))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0)
    assert.fail(
      `${what}: element ${worst} is ${a.values[worst]}, expected ${e.values[worst]} (atol ${atol}, rtol ${rtol})`,
    );
}

/**
 * Async twin of `assertClose` for computed tensors on webgpu in Node, where `dataSync` needs
 * OffscreenCanvas (absent in Node): reads tensors with `data()` first.
 */
export async function assertCloseAsync(
  actual: Numeric,
  expected: Numeric,
  atol = tol(),
  rtol = atol,
  what = 'value',
): Promise<void> {
  const read = async (x: Numeric): Promise<Numeric> =>
    x instanceof tf.Tensor ? tf.tensor(await x.data(), x.shape) : x;
  const a = await read(actual);
  const e = await read(expected);
  try {
    assertClose(a, e, atol, rtol, what);
  } finally {
    if (a !== actual) tf.dispose(a as tf.Tensor);
    if (e !== expected) tf.dispose(e as tf.Tensor);
  }
}

/** Runs fn, disposes what it returns, and asserts no tensor was left behind. */
export function assertNoLeak(fn: () => unknown, what = 'fn'): void {
  const before = tf.memory().numTensors;
  const out = fn();
  tf.dispose(out as tf.TensorContainer);
  const after = tf.memory().numTensors;
  assert.equal(after, before, `${what} leaked ${after - before} tensors`);
}

/** Deterministic uniform(-1, 1) tensor (mulberry32), independent of backend RNG. */
export function seededTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.tensor(seededArray(shape.reduce((a, b) => a * b, 1), seed, scale), shape);
}

export function seededArray(size: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296 * 2 - 1) * scale;
  }
  return out;
}

/** Central-difference gradient of a scalar function of one tensor, for gradient tests. */
export function numericGrad(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, eps = 1e-2): Float32Array {
  const base = x.dataSync().slice() as Float32Array;
  const g = new Float32Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const orig = base[i]!;
    base[i] = orig + eps;
    const fp = tf.tidy(() => f(tf.tensor(base, x.shape)).dataSync()[0]!);
    base[i] = orig - eps;
    const fm = tf.tidy(() => f(tf.tensor(base, x.shape)).dataSync()[0]!);
    base[i] = orig;
    g[i] = (fp - fm) / (2 * eps);
  }
  return g;
}

/** Loads a golden JSON fixture from test/fixtures. */
export async function loadFixture<T = Record<string, unknown>>(name: string): Promise<T> {
  const { readFile } = await import('node:fs/promises');
  const url = new URL(`./fixtures/${name}`, import.meta.url);
  return JSON.parse(await readFile(url, 'utf8')) as T;
}

/** Runs the CLI in-process, capturing what it writes: `{ code, out, err }`. */
export async function runCliCaptured(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { runCli } = await import('../src/cli/index.js');
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}
