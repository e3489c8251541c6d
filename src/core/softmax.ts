/**
 * Masked softmax that stays finite on every backend. The usual trick (add −1e30 to excluded
 * logits) overflows the float16 textures of WebGL/WebGPU and turns into NaN; here excluded logits
 * are *replaced* (not offset) by the row's minimum, so the row maximum is taken over real values
 * only, their exponentials are multiplied by the mask, and the normaliser of a row with no
 * candidate is replaced by 1 (not by a tiny epsilon, which float16 flushes to 0): such a row comes
 * out as zeros, with zero gradient.
 *
 *   softmax_mask(x)_i = m_i · exp(x_i − M) / Σ_j m_j · exp(x_j − M),   M = max_{j : m_j = 1} x_j
 *
 * Dimensions: any; `axis` is the candidate axis (r classes, lk keys, k candidates).
 */
import * as tf from '@tensorflow/tfjs';

/** Shared part: the mask broadcast to the logits, the shifted logits and the row normaliser. */
function shifted(logits: tf.Tensor, mask: tf.Tensor, axis: number) {
  const m = tf.broadcastTo(mask.toFloat(), logits.shape);
  // excluded entries take the row minimum so that they never win the max
  const low = tf.min(logits, axis, true);
  const filled = tf.where(m.greater(0), logits, tf.broadcastTo(low, logits.shape));
  const z = tf.minimum(tf.sub(filled, tf.max(filled, axis, true)), 0); // ≤ 0, 0 at the max
  const ex = tf.exp(z).mul(m);
  const den = tf.sum(ex, axis, true);
  // den ≥ 1 when the row has a candidate (its max contributes exp(0)); a row with none has den = 0:
  // add 1 there (computed from the mask only, so no gradient flows through the test)
  const safeDen = den.add(tf.sub(1, tf.max(m, axis, true)));
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
