/**
 * Masked softmax that stays finite on every backend. The usual trick (add −1e30 to excluded
 * logits) overflows the float16 textures of WebGL/WebGPU and turns into NaN; here excluded logits
 * are *replaced* (not offset), the row maximum is taken over candidates only, exponentials are
 * multiplied by the mask, and the normaliser of a row with no candidate is replaced by 1 (not by
 * a tiny epsilon, which float16 flushes to 0): such a row comes out as zeros, with zero gradient.
 * Logits must be finite (excluded ones may be huge: they are multiplied by 0, never by ∞).
 *
 *   softmax_mask(x)_i = m_i · exp(x_i − M) / Σ_j m_j · exp(x_j − M),   M = max_{j : m_j = 1} x_j
 *
 * Dimensions: any; `axis` is the candidate axis (r classes, lk keys, k candidates).
 */
import * as tf from '@tensorflow/tfjs';

/**
 * The row maximum over candidates, `[.., 1, ..]` (keepDims), as a constant: softmax and
 * log-softmax are shift-invariant, so its gradient is exactly zero and is not taped (this also
 * skips the costly max/min gradients). Excluded entries are replaced by the row minimum first so
 * that they never win.
 */
function candidateMax(logits: tf.Tensor, m: tf.Tensor, off: tf.Tensor, axis: number): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const low = tf.min(x, axis, true);
    const value = tf.max(x.mul(m).add(off.mul(low)), axis, true);
    return { value, gradFunc: () => tf.zerosLike(x) };
  });
  return op(logits) as tf.Tensor;
}

/**
 * Shared part: the mask (as float, rank-aligned with the logits, broadcast by arithmetic only —
 * `broadcastTo`/`where` would tile it), the shifted logits z ≤ 0, the masked exponentials and the
 * row normaliser.
 */
function shifted(logits: tf.Tensor, mask: tf.Tensor, axis: number) {
  const ax = axis < 0 ? logits.rank + axis : axis;
  // [..] → [1, .., 1, ..]: align a lower-rank mask on the trailing axes, as broadcasting does
  const m = mask.toFloat().reshape([...Array(logits.rank - mask.rank).fill(1), ...mask.shape]);
  const off = tf.sub(1, m); // 1 where excluded
  const max = candidateMax(logits, m, off, ax);
  // excluded entries take the max itself (finite, z = 0 there, then multiplied by m = 0)
  const z = tf.minimum(logits.mul(m).add(off.mul(max)).sub(max), 0);
  const ex = tf.exp(z).mul(m);
  const den = tf.sum(ex, ax, true);
  // den ≥ 1 when the row has a candidate (its max contributes exp(0)); a row with none has den = 0:
  // add 1 there (computed from the mask only, so no gradient flows through the test)
  const safeDen = den.add(tf.sub(1, tf.max(m, ax, true)));
  return { m, z, ex, safeDen };
}

/**
 * softmax over `axis` restricted to entries where `mask` is 1.
 * @param logits any shape, float32
 * @param mask broadcastable to `logits`, 1 = candidate, 0 = excluded
 * @param axis the softmax axis (default −1)
 * @returns same shape as logits; excluded entries are exactly 0; all-excluded rows are all 0.
 * @example
 * maskedSoftmax(tf.tensor1d([1, 2, 3]), tf.tensor1d([1, 0, 1])) // [e/(e+e³), 0, e³/(e+e³)]
 */
export function maskedSoftmax(logits: tf.Tensor, mask: tf.Tensor, axis = -1): tf.Tensor {
  return tf.tidy(() => {
    const { ex, safeDen } = shifted(logits, mask, axis);
    return ex.div(safeDen);
  });
}

/**
 * log-softmax over `axis` restricted to `mask`, finite everywhere: excluded entries (and rows with
 * no candidate) return 0, so callers multiply by the mask before summing, as usual.
 * @param logits any shape, float32
 * @param mask broadcastable to `logits`, 1 = candidate
 * @returns same shape as logits
 * @example
 * maskedLogSoftmax(tf.tensor1d([1, 2, 3]), tf.tensor1d([1, 0, 1])) // [1 − log(e+e³), 0, 3 − log(e+e³)]
 */
export function maskedLogSoftmax(logits: tf.Tensor, mask: tf.Tensor, axis = -1): tf.Tensor {
  return tf.tidy(() => {
    const { m, z, safeDen } = shifted(logits, mask, axis);
    return tf.sub(z, tf.log(safeDen)).mul(m);
  });
}
