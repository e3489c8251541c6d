/**
 * Internal helpers shared by the pair-matrix reasoning modules (`imsa.ts`, `eca.ts`): attention
 * over "paths" through an intermediate entity k, computed with batched matmuls over rows and
 * columns of the entity-pair matrix so that no `[b,e,e,e,·]` tensor wider than 1 ever exists;
 * plus the dense / LayerNorm / FFN pieces both modules' layers use. Not part of the public API
 * (not re-exported from the barrel).
 *
 * Dimensions: b documents · e entities · c channels of one head (dh) · k intermediate entity.
 * For a query pair (A,B) a candidate pair through k is one of (A,k), (k,A), (B,k), (k,B):
 * a `PairRef` names the anchor entity (A = row/subject of the query pair, B = column/object) and
 * whether the anchor is the candidate's subject (`row`: (anchor,k)) or object (`col`: (k,anchor)).
 */
import * as tf from '@tensorflow/tfjs';
import { prng } from '../core/initializers.js';
import { ArgumentError, ShapeError } from '../core/errors.js';
import { recomputeChunks } from '../core/gradients.js';

/** tfjs' `LayerArgs` (not re-exported by the tfjs union package). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** Which pair of the matrix a candidate through intermediate k is, relative to query pair (A,B). */
export interface PairRef {
  readonly anchor: 'A' | 'B';
  readonly side: 'row' | 'col';
}

/** `{kernel [in,out], bias [out]}` of a dense projection. */
export interface DenseParams {
  kernel: tf.Tensor;
  bias: tf.Tensor;
}

/** `{gamma [d], beta [d]}` of a LayerNorm. */
export interface NormParams {
  gamma: tf.Tensor;
  beta: tf.Tensor;
}

/** Position-wise FFN `relu(x·W1 + b1)·W2 + b2` (two dense layers). */
export interface FFNParams {
  inner: DenseParams;
  outer: DenseParams;
}

/** x [.., in] · kernel [in, out] + bias [out] → [.., out]. */
export function dense(x: tf.Tensor, p: DenseParams): tf.Tensor {
  const inDim = x.shape[x.rank - 1]!;
  const outDim = p.kernel.shape[1]!;
  // [.., in] → [N, in] → [N, out] → [.., out]
  const y = tf.matMul(x.reshape([-1, inDim]), p.kernel as tf.Tensor2D).add(p.bias);
  return y.reshape([...x.shape.slice(0, -1), outDim]);
}

/** LayerNorm over the last axis: `(x − mean) / sqrt(var + eps) · gamma + beta`. */
export function layerNorm(x: tf.Tensor, p: NormParams, epsilon = 1e-5): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x
    .sub(mean)
    .mul(tf.rsqrt(variance.add(epsilon)))
    .mul(p.gamma)
    .add(p.beta);
}

/** FFN: `relu(x·W1 + b1)·W2 + b2`, x [.., d] → [.., d]. */
export function feedForward(x: tf.Tensor, p: FFNParams): tf.Tensor {
  return dense(tf.relu(dense(x, p.inner)), p.outer);
}

/** [b,e,e,c] → [b,e,e,c] with the two entity axes swapped: xT[i,j] = x[j,i]. */
export function swapPairs(x: tf.Tensor): tf.Tensor {
  return x.rank === 3 ? tf.transpose(x, [0, 2, 1]) : tf.transpose(x, [0, 2, 1, 3]);
}

/**
 * Path scores `s[A,B,k] = q[A,B] · src[anchor, k]` for a block of query rows A.
 * @param q [b,a,e,c] one vector per query pair (A,B), A in the block of a rows
 * @param src anchor A: [b,a,e,c], src[A, k] for the same rows; anchor B: [b,e,e,c], src[B, k]
 * @returns [b,a,e,e] indexed (A, B, k)
 */
export function pathScores(q: tf.Tensor, src: tf.Tensor, anchor: PairRef['anchor']): tf.Tensor {
  const [b, a, e, c] = q.shape as [number, number, number, number];
  return tf.tidy(() => {
    if (anchor === 'A') {
      // per (b,A): q[A] [B,c] · src[A]ᵀ [c,k] → [b·a, B, k]
      return tf
        .matMul(q.reshape([b * a, e, c]), src.reshape([b * a, e, c]), false, true)
        .reshape([b, a, e, e]);
    }
    // per (b,B): qT[B] [A,c] · src[B]ᵀ [c,k] → [b,B,A,k] → [b,A,B,k]
    const s = tf.matMul(swapPairs(q).reshape([b * e, a, c]), src.reshape([b * e, e, c]), false, true);
    return tf.transpose(s.reshape([b, e, a, e]), [0, 2, 1, 3]);
  });
}

/**
 * Weighted path sum `out[A,B] = Σ_k w[A,B,k] · src[anchor, k]` for a block of query rows A.
 * @param w [b,a,e,e] weights indexed (A, B, k)
 * @param src anchor A: [b,a,e,c]; anchor B: [b,e,e,c] (as in `pathScores`)
 * @returns [b,a,e,c]
 */
export function pathSum(w: tf.Tensor, src: tf.Tensor, anchor: PairRef['anchor']): tf.Tensor {
  const [b, a, e] = w.shape as [number, number, number, number];
  const c = src.shape[3]!;
  return tf.tidy(() => {
    if (anchor === 'A') {
      // per (b,A): w[A] [B,k] · src[A] [k,c] → [b,A,B,c]
      return tf.matMul(w.reshape([b * a, e, e]), src.reshape([b * a, e, c])).reshape([b, a, e, c]);
    }
    // per (b,B): wT[B] [A,k] · src[B] [k,c] → [b,B,A,c] → [b,A,B,c]
    const wT = tf.transpose(w, [0, 2, 1, 3]).reshape([b * e, a, e]);
    return swapPairs(tf.matMul(wT, src.reshape([b * e, e, c])).reshape([b, e, a, c]));
  });
}

/** `x[anchor, k]` for candidates of `side`: 'row' the pair (anchor,k) itself (x), 'col' (k,anchor) (xᵀ). */
export function candidates(x: tf.Tensor, side: PairRef['side']): tf.Tensor {
  return side === 'row' ? x : swapPairs(x);
}

/**
 * `concat_r block(r, rowwise rows of block r, full)` over the row blocks `blocks` (axis 1):
 * each `rowwise` tensor [b,e,..] is split along axis 1 and block r gets its rows only; `full`
 * tensors go whole to every block. One block's intermediates at a time, forward and backward
 * (`recomputeChunks`); each block's gradients cover its own rows only (no padded full-size
 * gradients of a slice).
 */
export function overRowBlocks(
  blocks: readonly (readonly [number, number])[],
  rowwise: readonly tf.Tensor[],
  full: readonly tf.Tensor[],
  block: (r: number, rows: tf.Tensor[], full: tf.Tensor[]) => tf.Tensor,
): tf.Tensor {
  const n = blocks.length;
  if (n === 1) return block(0, [...rowwise], [...full]);
  const g = rowwise.length;
  const parts = rowwise.flatMap((t) =>
    tf.split(
      t,
      blocks.map(([, a]) => a),
      1,
    ),
  );
  return recomputeChunks(
    (r, ...xs) =>
      block(
        r,
        rowwise.map((_, i) => xs[i * n + r]!),
        xs.slice(g * n),
      ),
    n,
    [...parts, ...full],
    1,
  );
}

/**
 * Head j's columns of several dense maps of the same input, as one matmul (the input is read,
 * and kept for a gradient, once): x [.., in], maps {kernel [in, out], bias [out]} → one
 * [N, out/h] tensor per map, N = the product of x's leading dims.
 */
export function headProjections(
  x: tf.Tensor,
  maps: readonly DenseParams[],
  j: number,
  h: number,
): tf.Tensor[] {
  const inDim = x.shape[x.rank - 1]!;
  return tf.tidy(() => {
    const dh = maps[0]!.kernel.shape[1]! / h;
    const kernel = tf.concat(
      maps.map((p) => tf.slice(p.kernel, [0, j * dh], [inDim, dh])),
      1,
    );
    const bias = tf.concat(maps.map((p) => tf.slice(p.bias, [j * dh], [dh])));
    const y = tf.matMul(x.reshape([-1, inDim]), kernel as tf.Tensor2D).add(bias); // [N, maps·dh]
    return maps.length === 1 ? [y] : tf.split(y, maps.length, 1);
  });
}

/** [b,e,e,d] → [b,h,e,e,dh]: head h holds channels [h·dh, (h+1)·dh). */
export function splitHeads(x: tf.Tensor, h: number): tf.Tensor {
  const [b, e, , d] = x.shape as [number, number, number, number];
  return tf.transpose(x.reshape([b, e, e, h, d / h]), [0, 3, 1, 2, 4]);
}

/** [b,h,e,e,dh] → [b,e,e,h·dh] (heads concatenated). */
export function mergeHeads(x: tf.Tensor): tf.Tensor {
  const [b, h, e, , dh] = x.shape as [number, number, number, number, number];
  return tf.transpose(x, [0, 2, 3, 1, 4]).reshape([b, e, e, h * dh]);
}

/** [b,h,e,e,c] → [b·h,e,e,c]: heads become extra documents for the batched matmuls. */
export function flatHeads(x: tf.Tensor): tf.Tensor {
  const [b, h, ...rest] = x.shape;
  return x.reshape([b! * h!, ...rest]);
}

/** 1 for heads whose candidate pair has `side` 'row', 0 for 'col': [1,h,1,..]. */
function rowSelector(sides: readonly PairRef['side'][], rank: number): tf.Tensor {
  return tf.tensor(
    sides.map((s) => (s === 'row' ? 1 : 0)),
    [1, sides.length, ...new Array<number>(rank - 2).fill(1)],
  );
}

/**
 * Per-head candidates, heads flattened: head i takes x5 (side 'row') or its transpose ('col').
 * @param x5 [b,h,e,e,c] @returns [b·h,e,e,c]
 */
export function headSources(x5: tf.Tensor, sides: readonly PairRef['side'][]): tf.Tensor {
  const s = rowSelector(sides, 5);
  const xT5 = tf.transpose(x5, [0, 1, 3, 2, 4]);
  return flatHeads(x5.mul(s).add(xT5.mul(tf.sub(1, s))));
}

/** Per-head candidate mask of `pairMask` [b,e,e], broadcastable to [b,h,e,e,e] (A,B,k). */
export function headMask(
  pairMask: tf.Tensor,
  sides: readonly PairRef['side'][],
  anchor: PairRef['anchor'],
): tf.Tensor {
  const [b, e] = pairMask.shape as [number, number, number];
  const s = rowSelector(sides, 4); // [1,h,1,1]
  const m = pairMask
    .expandDims(1)
    .mul(s)
    .add(swapPairs(pairMask).expandDims(1).mul(tf.sub(1, s)));
  return anchor === 'A' ? m.reshape([b, sides.length, e, 1, e]) : m.reshape([b, sides.length, 1, e, e]);
}

/** Per-head x5 [b,h,e,e,c] · w[h] (or w[h]ᵀ), w [h,c,c] → [b,h,e,e,c]. */
export function headProject(x5: tf.Tensor, w: tf.Tensor, transpose = false): tf.Tensor {
  const [b, h, e, , c] = x5.shape as [number, number, number, number, number];
  const byHead = tf.transpose(x5, [1, 0, 2, 3, 4]).reshape([h, b * e * e, c]);
  const y = tf.matMul(byHead, w as tf.Tensor3D, false, transpose);
  return tf.transpose(y.reshape([h, b, e, e, c]), [1, 0, 2, 3, 4]);
}

/** Default elements of one `[b,a,e,e]` block of path scores: a = this / (b·e·e) query rows. */
export const PATH_BLOCK_ELEMENTS = 2 ** 17;
/** Default elements of one block of a position-wise sub-layer's widest tensor ([b,a,e,f] FFN hidden). */
export const POSITION_BLOCK_ELEMENTS = 2 ** 21;
let blockElements = { path: PATH_BLOCK_ELEMENTS, position: POSITION_BLOCK_ELEMENTS };

/**
 * Sets the block sizes (elements; defaults PATH_BLOCK_ELEMENTS, POSITION_BLOCK_ELEMENTS) and
 * returns the previous ones. Values and gradients do not depend on them (up to float summation
 * order); tests lower them to run several blocks at small sizes.
 */
export function setBlockElements(sizes: { path?: number; position?: number }): {
  path: number;
  position: number;
} {
  for (const [k, n] of Object.entries(sizes))
    if (!(Number.isInteger(n) && n >= 1)) throw new ArgumentError(`${k} block elements`, 'an integer ≥ 1', n);
  const prev = blockElements;
  blockElements = { ...prev, ...sizes };
  return prev;
}

/**
 * Whether `g` heads of `[b,e,e,e]` path scores fit in one path block together: then a module
 * runs them batched, as extra documents of its matmuls, with the plain gradient tape (fewest
 * dispatches: small inputs, WebGPU); else one head and one row block at a time, recomputed in
 * the backward pass.
 */
export function allHeadsAtOnce(b: number, e: number, g: number): boolean {
  return b * g * e * e * e <= blockElements.path;
}

/** Blocks `[r0, a]` of e rows, each row `rowElements` elements, a block ≤ `limit` elements (≥ 1 row). */
function blocksOfRows(e: number, rowElements: number, limit: number): [number, number][] {
  const a = Math.max(1, Math.min(e, Math.floor(limit / rowElements)));
  const out: [number, number][] = [];
  for (let r0 = 0; r0 < e; r0 += a) out.push([r0, Math.min(a, e - r0)]);
  return out;
}

/** Row blocks `[r0, a]` covering e query rows, each ≤ the block size in path scores (≥ 1 row). */
export const rowBlocks = (b: number, e: number): [number, number][] =>
  blocksOfRows(e, b * e * e, blockElements.path);

/** Row blocks `[r0, a]` of e rows whose [b,a,e,width] tensors have ≤ the position block size in elements. */
export const positionBlocks = (b: number, e: number, width: number): [number, number][] =>
  blocksOfRows(e, b * e * width, blockElements.position);

/**
 * Softmax over [path candidates ; the pair itself] with the pair itself always a candidate:
 *   M = self + max(0, max_k mask_k·(path_k − self))     (the candidates' maximum, as a constant)
 *   w_k = mask_k · exp(mask_k·(path_k − M)) / Z,  w_self = exp(self − M) / Z,
 *   Z = exp(self − M) + Σ_k mask_k · exp(mask_k·(path_k − M))  (≥ 1 up to rounding).
 * The same function as `maskedSoftmax` over the concatenation `[path ; self]` without building
 * it (two `[b,e,e,e+1]` copies and their masks): fewer and smaller intermediates, on the tape
 * too. Excluded entries may hold any finite value: their exponent is 0 before the mask zeroes
 * them. M only has to be the maximum up to rounding (softmax is shift invariant, so its
 * gradient is exactly zero and it is not taped, as in `maskedSoftmax`).
 * @param pathLogits [b,e,e,e] (A,B,k), already scaled
 * @param selfLogit [b,e,e,1]
 * @param mask float 0/1, broadcastable to [b,e,e,e]
 * @returns path weights [b,e,e,e] and self weight [b,e,e,1]
 */
export function softmaxWithSelf(
  pathLogits: tf.Tensor,
  selfLogit: tf.Tensor,
  mask: tf.Tensor,
): { path: tf.Tensor; self: tf.Tensor } {
  const max = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [path, self] = args as [tf.Tensor, tf.Tensor];
    const value = tf.relu(tf.max(path.sub(self).mul(mask), -1, true)).add(self);
    return { value, gradFunc: () => [tf.zerosLike(path), tf.zerosLike(self)] };
  })(pathLogits, selfLogit);
  const exPath = tf.exp(pathLogits.sub(max).mul(mask)).mul(mask);
  const exSelf = tf.exp(selfLogit.sub(max));
  const z = tf.sum(exPath, -1, true).add(exSelf);
  return { path: exPath.div(z), self: exSelf.div(z) };
}

type AddWeight = (
  name: string,
  shape: number[],
  init: ReturnType<typeof tf.initializers.zeros>,
) => tf.LayerVariable;

/** Creates `{kernel, bias}` layer variables `<name>/kernel [in,out]`, `<name>/bias [out]`. */
export function addDense(add: AddWeight, name: string, inDim: number, outDim: number) {
  return {
    kernel: add(`${name}/kernel`, [inDim, outDim], tf.initializers.glorotUniform({})),
    bias: add(`${name}/bias`, [outDim], tf.initializers.zeros()),
  };
}

/** Creates `{gamma, beta}` layer variables of a LayerNorm over d. */
export function addNorm(add: AddWeight, name: string, d: number) {
  return {
    gamma: add(`${name}/gamma`, [d], tf.initializers.ones()),
    beta: add(`${name}/beta`, [d], tf.initializers.zeros()),
  };
}

/** Creates the two dense layers of an FFN d → f → d. */
export function addFFN(add: AddWeight, name: string, d: number, f: number) {
  return { inner: addDense(add, `${name}/inner`, d, f), outer: addDense(add, `${name}/outer`, f, d) };
}

/** Reads a (possibly nested) record of LayerVariables into the same shape of tensors. */
export type ReadVars<T> = T extends tf.LayerVariable ? tf.Tensor : { [K in keyof T]: ReadVars<T[K]> };
export function readVars<T>(vars: T): ReadVars<T> {
  if (vars instanceof tf.LayerVariable) return vars.read() as ReadVars<T>;
  if (Array.isArray(vars)) return vars.map((v) => readVars(v)) as unknown as ReadVars<T>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(vars as Record<string, unknown>)) out[k] = readVars(v);
  return out as ReadVars<T>;
}

/** mulberry32: a small seeded PRNG, uniform [0, 1), identical on every backend. */
export const seededRandom: (seed: number) => () => number = prng;

/** Mean of `perPair` [..] over entries where `mask` [..] is 1 (0 when the mask is empty). */
export function maskedPairMean(perPair: tf.Tensor, mask?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    if (!mask) return tf.mean(perPair) as tf.Scalar;
    if (mask.shape.join() !== perPair.shape.join())
      throw new ShapeError('mask', `[${perPair.shape.join(', ')}]`, mask.shape);
    const m = mask.toFloat();
    return tf.sum(perPair.mul(m)).div(tf.maximum(tf.sum(m), 1)) as tf.Scalar;
  });
}

/**
 * Chooses `round(ratio · #real pairs)` real pairs per document uniformly at random, on the
 * device (no read-back, so it runs synchronously on WebGPU too): each pair gets a distinct random
 * rank from a seeded JS permutation (identical on every backend); per document, the real pairs
 * with the smallest ranks are taken (threshold = the count-th smallest rank, found with topk).
 * @param pairMask [b,e,e] @returns [b,e,e] float32 0/1
 */
export function choosePairs(pairMask: tf.Tensor, ratio: number, seed: number): tf.Tensor3D {
  const [b, e] = pairMask.shape as [number, number, number];
  const n = e * e;
  const kMax = Math.min(n, Math.floor(ratio * e * (e - 1) + 0.5));
  if (kMax === 0) return tf.zeros([b, e, e]);
  const rand = seededRandom(seed);
  const ranks = new Float32Array(b * n);
  for (let i = 0; i < b; i++) {
    const perm = Array.from({ length: n }, (_, j) => j);
    for (let j = n - 1; j > 0; j--) {
      const u = Math.floor(rand() * (j + 1));
      [perm[j], perm[u]] = [perm[u]!, perm[j]!];
    }
    ranks.set(perm, i * n);
  }
  return tf.tidy(() => {
    const real = pairMask.reshape([b, n]).greater(0);
    const key = tf.where(real, tf.tensor2d(ranks, [b, n]), tf.fill([b, n], n)); // non-real last
    const count = tf.floor(real.toFloat().sum(-1).mul(ratio).add(0.5)); // [b]
    const smallest = tf.neg(tf.topk(tf.neg(key), kMax).values); // [b,kMax] ascending ranks
    const offsets = tf.tensor1d(
      Array.from({ length: b }, (_, i) => i * kMax),
      'int32',
    );
    const at = offsets.add(tf.maximum(count.sub(1), 0).toInt());
    const threshold = tf.gather(smallest.reshape([b * kMax]), at).reshape([b, 1]);
    const chosen = real.logicalAnd(key.lessEqual(threshold)).logicalAnd(count.reshape([b, 1]).greater(0));
    return chosen.toFloat().reshape([b, e, e]) as tf.Tensor3D;
  });
}

/** Seeded uniform [0,1) tensor of the given shape (identical on every backend). */
export function seededUniform(shape: number[], seed: number): tf.Tensor {
  const rand = seededRandom(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, c) => a * c, 1) }, rand), shape);
}

/** Throws `ArgumentError` unless the optional FFN hidden width `ffnDim` is a positive integer. */
export function checkFFNDim(ffnDim: number | undefined): void {
  if (ffnDim !== undefined && !(Number.isInteger(ffnDim) && ffnDim > 0))
    throw new ArgumentError('ffnDim', 'a positive integer', ffnDim);
}

/** The `ffnDim` (only when set) and `epsilon` entries of an FFN-bearing layer's `getConfig`. */
export function ffnConfig(ffnDim: number | undefined, epsilon: number): tf.serialization.ConfigDict {
  return { ...(ffnDim !== undefined ? { ffnDim } : {}), epsilon };
}
