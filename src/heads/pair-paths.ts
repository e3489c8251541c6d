/**
 * Internal helpers shared by the pair-matrix reasoning modules (`imsa.ts`, `eca.ts`): attention
 * over "paths" through an intermediate entity k, computed with batched matmuls over rows and
 * columns of the entity-pair matrix so that no `[b,e,e,e,·]` tensor wider than 1 ever exists.
 * Not part of the public API (not re-exported from the barrel).
 *
 * Dimensions: b documents · e entities · c channels of one head (dh) · k intermediate entity.
 * For a query pair (A,B) a candidate pair through k is one of (A,k), (k,A), (B,k), (k,B):
 * a `PairRef` names the anchor entity (A = row/subject of the query pair, B = column/object) and
 * whether the anchor is the candidate's subject (`row`: (anchor,k)) or object (`col`: (k,anchor)).
 * The dense / LayerNorm / FFN pieces, the masked mean and the seeded sampling are the toolkit's
 * (src/core/layer-kit.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../core/errors.js';
import type { DenseParams } from '../core/layer-kit.js';
import { recomputeChunks } from '../core/gradients.js';

/** Which pair of the matrix a candidate through intermediate k is, relative to query pair (A,B). */
export interface PairRef {
  readonly anchor: 'A' | 'B';
  readonly side: 'row' | 'col';
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
