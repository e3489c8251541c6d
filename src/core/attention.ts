/**
 * Multi-head scaled dot-product attention (Vaswani et al., "Attention Is All You Need", §3.2,
 * eqs. 1 and "MultiHead"), the primitive reused by the reasoning layers (GTN graph and cross
 * attention, encoder-style blocks):
 *
 *   Attention(Q, K, V) = softmax_mask(Q Kᵀ / √dh) V                       (eq. 1)
 *   MultiHead(q, k, v) = [head_1 ; … ; head_h] W_O + b_O,
 *   head_i = Attention(q W_Q + b_Q, k W_K + b_K, v W_V + b_V) restricted to channels
 *            [i·dh, (i+1)·dh), dh = d / h.
 *
 * The softmax is `maskedSoftmax` (finite on every backend, no ±1e30): a query row with no
 * candidate gets all-zero weights, so its context is zero; `multiHeadAttention` also returns zeros
 * (not b_O) for a query row that has no candidate in any head, so padded queries stay zero.
 * Differences from `torch.nn.MultiheadAttention`: kernels are `[in, out]` (torch stores
 * `[out, in]`), the mask is 1 = attend (torch: True = blocked), and fully masked rows give zeros
 * where torch gives NaN. Golden parity: test/fixtures/gen_attention.py.
 *
 * Dimensions: b batch · h heads · lq / lk query / key length (tokens n, nodes v or pairs e·e in
 * the callers) · d model width · dh = d / h.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, ShapeError, checkShape } from './errors.js';
import { maskedSoftmax } from './softmax.js';

/** A linear projection `x·kernel + bias`: kernel `[din, dout]`, bias `[dout]` (optional). */
export interface LinearParams {
  readonly kernel: tf.Tensor;
  readonly bias?: tf.Tensor;
}

/**
 * Parameters of {@link multiHeadAttention}: query `[dq, d]`, key `[dk, d]`, value `[dv, d]`,
 * output `[d, dout]` kernels, each with an optional bias of its output width.
 */
export interface MultiHeadAttentionParams {
  readonly query: LinearParams;
  readonly key: LinearParams;
  readonly value: LinearParams;
  readonly output: LinearParams;
}

/** `x [.., din] · kernel [din, dout] + bias [dout] → [.., dout]`. */
export function linear(x: tf.Tensor, p: LinearParams): tf.Tensor {
  return tf.tidy(() => {
    const din = x.shape[x.rank - 1]!;
    const dout = p.kernel.shape[1]!;
    // [.., din] → [N, din] · [din, dout] → [.., dout]
    const y = tf.matMul(x.reshape([-1, din]), p.kernel as tf.Tensor2D);
    return (p.bias ? y.add(p.bias) : y).reshape([...x.shape.slice(0, -1), dout]);
  });
}

/**
 * `[b, ...l, d] → [b, h, ...l, dh]`: head j holds channels [j·dh, (j+1)·dh) — a sequence
 * `[b, l, d]` (attention) or a pair matrix `[b, e, e, d]` (I-MSA, ECA).
 */
export function splitHeads(x: tf.Tensor3D, numHeads: number): tf.Tensor4D;
export function splitHeads(x: tf.Tensor, numHeads: number): tf.Tensor;
export function splitHeads(x: tf.Tensor, numHeads: number): tf.Tensor {
  const [b, ...rest] = x.shape;
  const inner = rest.slice(0, -1);
  const d = rest[rest.length - 1]!;
  // [b, ...l, d] → [b, ...l, h, dh] → [b, h, ...l, dh]
  const perm = [0, inner.length + 1, ...inner.map((_, i) => i + 1), inner.length + 2];
  return tf.tidy(() => x.reshape([b!, ...inner, numHeads, d / numHeads]).transpose(perm));
}

/** `[b, h, ...l, dh] → [b, ...l, h·dh]`, the inverse of {@link splitHeads}. */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D;
export function mergeHeads(x: tf.Tensor): tf.Tensor;
export function mergeHeads(x: tf.Tensor): tf.Tensor {
  const [b, h, ...rest] = x.shape;
  const inner = rest.slice(0, -1);
  const dh = rest[rest.length - 1]!;
  // [b, h, ...l, dh] → [b, ...l, h, dh] → [b, ...l, h·dh]
  const perm = [0, ...inner.map((_, i) => i + 2), 1, inner.length + 2];
  return tf.tidy(() => x.transpose(perm).reshape([b!, ...inner, h! * dh]));
}

/**
 * Attention weights `softmax_mask(q kᵀ / √dh + scoreBias)` on pre-split heads.
 * @param q `[b, h, lq, dh]`
 * @param k `[b, h, lk, dh]`
 * @param mask broadcastable to `[b, h, lq, lk]` (e.g. `[b|1, h|1, lq, lk]`), 1 = attend; omitted = all
 * @param scoreBias optional additive bias broadcastable to `[b, h, lq, lk]` (relative positions,
 *   edge biases); added before masking
 * @returns `[b, h, lq, lk]`; rows sum to 1 over candidates, rows with no candidate are all 0
 */
export function attentionWeights(
  q: tf.Tensor,
  k: tf.Tensor,
  mask?: tf.Tensor,
  scoreBias?: tf.Tensor,
): tf.Tensor4D {
  const dims = checkShape('q', q.shape, ['b', 'h', 'lq', 'dh']);
  checkShape('k', k.shape, ['b', 'h', 'lk', 'dh'], dims);
  if (mask) checkBroadcast('mask', mask.shape, [dims['b']!, dims['h']!, dims['lq']!, dims['lk']!]);
  return tf.tidy(() => {
    // [b, h, lq, dh] · [b, h, lk, dh]ᵀ → [b, h, lq, lk]
    let scores = tf.matMul(q, k, false, true).mul(1 / Math.sqrt(dims['dh']!));
    if (scoreBias) scores = scores.add(scoreBias);
    return (mask ? maskedSoftmax(scores, mask) : tf.softmax(scores)) as tf.Tensor4D;
  });
}

/**
 * Scaled dot-product attention on pre-split heads (eq. 1).
 * @param q `[b, h, lq, dh]` queries
 * @param k `[b, h, lk, dh]` keys
 * @param v `[b, h, lk, dv]` values
 * @param mask broadcastable to `[b, h, lq, lk]`, 1 = attend; omitted = attend everywhere
 * @param scoreBias optional additive score bias broadcastable to `[b, h, lq, lk]`
 * @returns `[b, h, lq, dv]`; a query row with no candidate gets zeros
 * @example
 * const out = scaledDotProductAttention(q, k, v, mask); // [b, h, lq, dv]
 */
export function scaledDotProductAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  mask?: tf.Tensor,
  scoreBias?: tf.Tensor,
): tf.Tensor4D {
  const dims = checkShape('k', k.shape, ['b', 'h', 'lk', null]);
  checkShape('v', v.shape, ['b', 'h', 'lk', null], dims);
  return tf.tidy(() => {
    const weights = attentionWeights(q, k, mask, scoreBias); // [b, h, lq, lk]
    return tf.matMul(weights, v) as tf.Tensor4D; // [b, h, lq, dv]
  });
}

/**
 * Multi-head attention with input and output projections ("MultiHead" in §3.2.2).
 * @param q `[b, lq, dq]` queries
 * @param k `[b, lk, dk]` keys
 * @param v `[b, lk, dv]` values
 * @param mask `[b|1, h|1, lq, lk]` (any shape broadcastable to `[b, h, lq, lk]`), 1 = attend;
 *   `null` = attend everywhere
 * @param params `query [dq, d]`, `key [dk, d]`, `value [dv, d]`, `output [d, dout]` (+ biases)
 * @param numHeads h; d must be divisible by h
 * @returns `[b, lq, dout]`; a query row with no candidate in any head is all zeros
 * @example
 * const out = multiHeadAttention(x, x, x, pairMask4d, params, 4); // self-attention
 */
export function multiHeadAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  mask: tf.Tensor | null,
  params: MultiHeadAttentionParams,
  numHeads: number,
): tf.Tensor3D {
  if (!Number.isInteger(numHeads) || numHeads < 1)
    throw new ArgumentError('numHeads', 'a positive integer', numHeads);
  const dims = checkShape('q', q.shape, ['b', 'lq', 'dq']);
  checkShape('k', k.shape, ['b', 'lk', 'dk'], dims);
  checkShape('v', v.shape, ['b', 'lk', 'dv'], dims);
  checkShape('params.query.kernel', params.query.kernel.shape, ['dq', 'd'], dims);
  checkShape('params.key.kernel', params.key.kernel.shape, ['dk', 'd'], dims);
  checkShape('params.value.kernel', params.value.kernel.shape, ['dv', 'd'], dims);
  checkShape('params.output.kernel', params.output.kernel.shape, ['d', 'dout'], dims);
  const d = dims['d']!;
  if (d % numHeads !== 0)
    throw new ArgumentError('numHeads', `a divisor of the projection width d = ${d}`, numHeads);
  if (mask) checkBroadcast('mask', mask.shape, [dims['b']!, numHeads, dims['lq']!, dims['lk']!]);
  return tf.tidy(() => {
    const qh = splitHeads(linear(q, params.query), numHeads); // [b, h, lq, dh]
    const kh = splitHeads(linear(k, params.key), numHeads); // [b, h, lk, dh]
    const vh = splitHeads(linear(v, params.value), numHeads); // [b, h, lk, dh]
    const context = mergeHeads(scaledDotProductAttention(qh, kh, vh, mask ?? undefined)); // [b, lq, d]
    const out = linear(context, params.output); // [b, lq, dout]
    if (!mask) return out as tf.Tensor3D;
    // 1 where the query row has a candidate in some head: [b|1, h|1, lq, lk] → [b|1, lq, 1]
    const live = mask.toFloat().max([1, 3]).greater(0).toFloat().expandDims(-1);
    return out.mul(live) as tf.Tensor3D;
  });
}

/** Throws a ShapeError unless `shape` broadcasts to `target` with the same rank. */
function checkBroadcast(argument: string, shape: readonly number[], target: readonly number[]): void {
  const ok = shape.length === target.length && shape.every((s, i) => s === 1 || s === target[i]);
  if (!ok) throw new ShapeError(argument, `[${target.map((t) => `${t} or 1`).join(', ')}]`, shape);
}
