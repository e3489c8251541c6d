/**
 * NAIVE reference implementations of I-MSA (DRE-MIR §2.2) and ECA (DocRE-II eqs. 5–7), used by
 * the tests (efficient == naive, values and gradients) and by bench/reasoning.ts (memory).
 * They materialise every path / candidate literally as a `[b,e,e,e,·]` tensor, the way the
 * official DocRE-II code (`CCNet.py`, `expand(b, n, n, n, d)`) does; candidate pairs are
 * gathered with index arrays computed in plain JS from the equations, independently of the
 * row/column formulation in src/heads/pair-paths.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { maskedSoftmax } from '../../src/core/softmax.js';
import { BACKEND, assertClose, loadFixture } from '../helpers.js';
import type { IMSAParams } from '../../src/heads/imsa.js';
import type { ECAParams } from '../../src/heads/eca.js';

type Pair = readonly [number, number];

/** I-MSA head paths (p1, p2) for query (A,B) and intermediate k (DESIGN.md). */
export const NAIVE_IMSA_PATHS: ((A: number, B: number, k: number) => [Pair, Pair])[] = [
  (A, B, k) => [
    [A, k],
    [k, B],
  ],
  (A, B, k) => [
    [A, k],
    [B, k],
  ],
  (A, B, k) => [
    [k, A],
    [B, k],
  ],
  (A, B, k) => [
    [k, A],
    [k, B],
  ],
];

/** ECA head candidates for query (s,o) and k; null = excluded by construction (DESIGN.md). */
export const NAIVE_ECA_CANDIDATES: ((s: number, o: number, k: number) => Pair | null)[] = [
  (s, o, k) => (k !== o ? [s, k] : null),
  (s, o, k) => (k !== s ? [k, o] : null),
  (s, _o, k) => [k, s],
  (_s, o, k) => [o, k],
];

/** Flat gather indices [b·e·e·e] into a [b·e·e, ·] tensor, and whether the candidate exists. */
function candidateIndex(b: number, e: number, pick: (A: number, B: number, k: number) => Pair | null) {
  const idx = new Int32Array(b * e * e * e);
  const exists = new Float32Array(b * e * e * e);
  let t = 0;
  for (let i = 0; i < b; i++)
    for (let A = 0; A < e; A++)
      for (let B = 0; B < e; B++)
        for (let k = 0; k < e; k++, t++) {
          const p = pick(A, B, k);
          idx[t] = i * e * e + (p ? p[0] * e + p[1] : 0);
          exists[t] = p ? 1 : 0;
        }
  return { idx: tf.tensor1d(idx, 'int32'), exists: tf.tensor4d(exists, [b, e, e, e]) };
}

function lin(x: tf.Tensor, p: { kernel: tf.Tensor; bias: tf.Tensor }): tf.Tensor {
  const d = x.shape[x.rank - 1]!;
  return tf
    .matMul(x.reshape([-1, d]), p.kernel as tf.Tensor2D)
    .add(p.bias)
    .reshape([...x.shape.slice(0, -1), p.kernel.shape[1]!]);
}

/** Gathers x [b,e,e,c] at flat indices → [b,e,e,e,c] (used for masks: no gradient needed). */
function gatherPairs(x: tf.Tensor, idx: tf.Tensor): tf.Tensor {
  const [b, e, , c] = x.shape as number[];
  return tf.gather(x.reshape([b! * e! * e!, c!]), idx).reshape([b!, e!, e!, e!, c!]);
}

/**
 * Materialises the candidate pair of every (A,B,k) as x expanded to [b,e,e,e,c] — the official
 * code's `expand(b, n, n, n, d)`. Which of (A,k), (k,A), (B,k), (k,B) the candidate is, is read off
 * the literal candidate function at A = 0, B = 1, k = 2 (gradients flow through a broadcast add,
 * which is fast on every backend, unlike gather's scatter-add on cpu).
 */
function expandPairs(x: tf.Tensor, pick: (A: number, B: number, k: number) => Pair | null): tf.Tensor {
  const [b, e, , c] = x.shape as number[];
  const [i, j] = pick(0, 1, 2)!; // e.g. (0,2) = (A,k), (2,1) = (k,B)
  const row = i !== 2; // (anchor, k) reads x, (k, anchor) reads xᵀ
  const src = row ? x : tf.transpose(x, [0, 2, 1, 3]);
  const anchor = row ? i : j; // 0 = A, 1 = B
  const shape = anchor === 0 ? [b!, e!, 1, e!, c!] : [b!, 1, e!, e!, c!]; // [A,·,k] or [·,B,k]
  const full = [b!, e!, e!, e!, c!];
  // tfjs-webgpu's Tile (broadcastTo) reads back to the CPU for rank ≥ 5: add zeros there instead
  return tf.getBackend() === 'webgpu'
    ? src.reshape(shape).add(tf.zeros(full))
    : tf.broadcastTo(src.reshape(shape), full);
}

/** One attention head over [paths ; self]: q [b,e,e,c], keys/vals [b,e,e,e,c], mask [b,e,e,e]. */
function attend(
  q: tf.Tensor,
  keys: tf.Tensor,
  vals: tf.Tensor,
  selfK: tf.Tensor,
  selfV: tf.Tensor,
  mask: tf.Tensor,
): tf.Tensor {
  const c = q.shape[3]!;
  const allK = tf.concat([keys, selfK.expandDims(3)], 3); // [b,e,e,e+1,c]
  const allV = tf.concat([vals, selfV.expandDims(3)], 3);
  const logits = tf.sum(q.expandDims(3).mul(allK), -1).div(Math.sqrt(c)); // [b,e,e,e+1]
  const m = tf.concat([mask, tf.onesLike(tf.slice(mask, [0, 0, 0, 0], [-1, -1, -1, 1]))], 3);
  const a = maskedSoftmax(logits, m, -1);
  return tf.sum(a.expandDims(-1).mul(allV), 3); // [b,e,e,c]
}

/** Literal I-MSA: path keys/values [b,e,e,e,dh] per head. */
export function naiveIMSA(x: tf.Tensor, pairMask: tf.Tensor, p: IMSAParams): tf.Tensor {
  return tf.tidy(() => {
    const [b, e, , d] = x.shape as number[];
    const dh = d! / 4;
    const q = lin(x, p.query),
      k = lin(x, p.key),
      v = lin(x, p.value);
    const pmFlat = pairMask.reshape([b! * e! * e!, 1]);
    const heads = NAIVE_IMSA_PATHS.map((path, h) => {
      const c1 = candidateIndex(b!, e!, (A, B, kk) => path(A, B, kk)[0]);
      const c2 = candidateIndex(b!, e!, (A, B, kk) => path(A, B, kk)[1]);
      const sl = (t: tf.Tensor) => tf.slice(t, [0, 0, 0, h * dh], [-1, -1, -1, dh]);
      const kh = sl(k),
        vh = sl(v),
        qh = sl(q);
      const proj = (pp: IMSAParams['pathKey'], src: tf.Tensor) => {
        const cat = tf.concat(
          [
            expandPairs(src, (A, B, kk) => path(A, B, kk)[0]),
            expandPairs(src, (A, B, kk) => path(A, B, kk)[1]),
          ],
          -1,
        ); // [b,e,e,e,2dh]
        const w = tf.slice(pp.kernel, [h, 0, 0], [1, -1, -1]).reshape([2 * dh, dh]);
        const bias = tf.slice(pp.bias, [h, 0], [1, -1]).reshape([dh]);
        return lin(cat, { kernel: w, bias }); // [b,e,e,e,dh]
      };
      const mask = gatherPairs(pmFlat.reshape([b!, e!, e!, 1]), c1.idx)
        .mul(gatherPairs(pmFlat.reshape([b!, e!, e!, 1]), c2.idx))
        .squeeze([4]);
      return attend(qh, proj(p.pathKey, kh), proj(p.pathValue, vh), kh, vh, mask);
    });
    return lin(tf.concat(heads, -1), p.output);
  });
}

/** Literal ECA: candidate keys/values [b,e,e,e,dh] per head. */
export function naiveECA(query: tf.Tensor, memory: tf.Tensor, pairMask: tf.Tensor, p: ECAParams): tf.Tensor {
  return tf.tidy(() => {
    const [b, e, , d] = query.shape as number[];
    const dh = d! / 4;
    const q = lin(query, p.query),
      k = lin(memory, p.key),
      v = lin(memory, p.value);
    const heads = NAIVE_ECA_CANDIDATES.map((cand, h) => {
      const c = candidateIndex(b!, e!, cand);
      const sl = (t: tf.Tensor) => tf.slice(t, [0, 0, 0, h * dh], [-1, -1, -1, dh]);
      const kh = sl(k),
        vh = sl(v);
      const mask = gatherPairs(pairMask.reshape([b!, e!, e!, 1]), c.idx)
        .squeeze([4])
        .mul(c.exists);
      return attend(sl(q), expandPairs(kh, cand), expandPairs(vh, cand), kh, vh, mask);
    });
    return lin(tf.concat(heads, -1), p.output);
  });
}

// ---------------------------------------------------------------------------------------------
// Parameter helpers shared by the reasoning tests and the bench

/** Nested JSON numbers → tensors (arrays of objects stay arrays). */
export function toTensors(v: unknown): any {
  if (Array.isArray(v)) {
    if (v.length > 0 && typeof v[0] === 'object' && !Array.isArray(v[0])) return v.map(toTensors);
    return tf.tensor(v as number[]);
  }
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, u]) => [k, toTensors(u)]));
  return v;
}

/** Flattens a nested parameter record to dotted names ("query.kernel", "layers.0.fusion.bias"). */
export function flattenParams(p: unknown, prefix = ''): [string, tf.Tensor][] {
  if (p instanceof tf.Tensor) return [[prefix.slice(0, -1), p]];
  if (Array.isArray(p)) return p.flatMap((u, i) => flattenParams(u, `${prefix}${i}.`));
  return Object.entries(p as Record<string, unknown>).flatMap(([k, u]) => flattenParams(u, `${prefix}${k}.`));
}

/** Inverse of `flattenParams` for the same structure. */
export function unflattenParams<T>(like: T, tensors: tf.Tensor[]): T {
  let i = 0;
  const rebuild = (p: unknown): unknown => {
    if (p instanceof tf.Tensor) return tensors[i++]!;
    if (Array.isArray(p)) return p.map(rebuild);
    return Object.fromEntries(Object.entries(p as Record<string, unknown>).map(([k, u]) => [k, rebuild(u)]));
  };
  return rebuild(like) as T;
}

/** Mulberry32 uniform(-scale, scale) tensor. */
export function seeded(shape: number[], seed: number, scale = 0.5): tf.Tensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return tf.tensor(out, shape);
}

const dense = (i: number, o: number, seed: number, scale = 0.5) => ({
  kernel: seeded([i, o], seed, scale),
  bias: seeded([o], seed + 1, 0.1),
});

export function randomIMSAParams(d: number, seed = 1, scale = 0.5): IMSAParams {
  const dh = d / 4;
  return {
    query: dense(d, d, seed, scale),
    key: dense(d, d, seed + 2, scale),
    value: dense(d, d, seed + 4, scale),
    output: dense(d, d, seed + 6, scale),
    pathKey: { kernel: seeded([4, 2 * dh, dh], seed + 8, scale), bias: seeded([4, dh], seed + 9, 0.1) },
    pathValue: { kernel: seeded([4, 2 * dh, dh], seed + 10, scale), bias: seeded([4, dh], seed + 11, 0.1) },
  };
}

export function randomECAParams(d: number, dm: number, seed = 1, scale = 0.5): ECAParams {
  return {
    query: dense(d, d, seed, scale),
    key: dense(dm, d, seed + 2, scale),
    value: dense(dm, d, seed + 4, scale),
    output: dense(d, d, seed + 6, scale),
  };
}

/** pairMask [b,e,e] of documents with `real[i]` real entities (s ≠ o), minus `missing` pairs [doc, s, o]. */
export function makePairMask(
  e: number,
  real: number[],
  missing: [number, number, number][] = [],
): tf.Tensor3D {
  const b = real.length;
  const m = new Float32Array(b * e * e);
  real.forEach((n, i) => {
    for (let s = 0; s < n; s++) for (let o = 0; o < n; o++) if (s !== o) m[i * e * e + s * e + o] = 1;
  });
  for (const [i, s, o] of missing) m[i * e * e + s * e + o] = 0;
  return tf.tensor3d(m, [b, e, e]);
}

/** Permutes the two entity axes of [b,e,e,...] by perm: out[:, perm[i], perm[j]] = x[:, i, j]. */
export function permuteEntities(x: tf.Tensor, perm: number[]): tf.Tensor {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  const idx = tf.tensor1d(inv, 'int32');
  return tf.tidy(() => tf.gather(tf.gather(x, idx, 1), idx, 2));
}

/**
 * Serialization round trip: JSON of {className, config} → the class registered under that name
 * (`docre-kit>ClassName`) → `fromConfig` → build → `setWeights(getWeights())`. Returns the copy.
 */
export function roundTripLayer(layer: tf.layers.Layer, inputs: tf.Tensor[]): tf.layers.Layer {
  const cls = layer.constructor as unknown as { className: string };
  const json = JSON.parse(JSON.stringify({ className: cls.className, config: layer.getConfig() }));
  const registered = tf.serialization.getRegisteredName(cls as never);
  if (registered !== `docre-kit>${cls.className}`)
    throw new Error(`${cls.className} registered as ${registered}`);
  const [ctor, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap[json.className]!;
  const copy = fromConfig(ctor, json.config) as tf.layers.Layer;
  copy.apply(inputs);
  copy.setWeights(layer.getWeights());
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Async reads (WebGPU in Node has no synchronous read-back: dataSync needs OffscreenCanvas)

type Value = tf.Tensor | number | number[] | Float32Array;

async function values(v: Value): Promise<Float32Array> {
  if (v instanceof tf.Tensor) return Float32Array.from(await v.data());
  return Float32Array.from(typeof v === 'number' ? [v] : v);
}

/** `assertClose` with asynchronous reads; compares shapes when both sides are tensors. */
export async function near(
  actual: Value,
  expected: Value,
  atol: number,
  rtol = atol,
  what = 'value',
): Promise<void> {
  if (
    actual instanceof tf.Tensor &&
    expected instanceof tf.Tensor &&
    actual.shape.join() !== expected.shape.join()
  )
    throw new Error(`${what}: shape [${actual.shape}] vs expected [${expected.shape}]`);
  assertClose(await values(actual), await values(expected), atol, rtol, what);
}

/** A scalar tensor's value. */
export async function scalarOf(t: tf.Tensor): Promise<number> {
  return (await t.data())[0]!;
}

/** The WebGPU pass (SwiftShader, slow) skips tests of backend-independent index logic, proven on cpu and wasm. */
export const cpuWasmOnly = {
  skip: BACKEND === 'webgpu' ? 'index logic, proven on cpu and wasm (short WebGPU pass)' : false,
};

/** Golden values of test/fixtures/reasoning.json (gen_reasoning.py, torch). */
export function reasoningFixture(): Promise<Record<string, any>> {
  return loadFixture<Record<string, any>>('reasoning.json');
}
