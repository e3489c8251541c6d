/**
 * Masked softmax that stays finite on every backend (no ±1e30 arithmetic, which overflows the
 * float16 textures of WebGL/WebGPU): masked logits are replaced (not offset) by the row's
 * masked-in maximum minus a constant, their exponentials multiplied by the mask, and a row with
 * no candidate returns zeros.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * softmax over `axis` restricted to entries where `mask` is 1.
 * @param logits any shape, float32
 * @param mask broadcastable to `logits`, 1 = candidate, 0 = excluded
 * @returns same shape as logits; excluded entries are exactly 0; all-excluded rows are all 0.
 */
export function maskedSoftmax(logits: tf.Tensor, mask: tf.Tensor, axis = -1): tf.Tensor {
  return tf.tidy(() => {
    const m = tf.broadcastTo(mask.toFloat(), logits.shape);
    // max over candidates only; excluded entries are set to the row min so they never win
    const low = tf.min(logits, axis, true);
    const filled = tf.where(m.greater(0), logits, tf.broadcastTo(low, logits.shape));
    const max = tf.max(filled, axis, true);
    const ex = tf.exp(tf.minimum(tf.sub(filled, max), 0)).mul(m);
    const den = tf.sum(ex, axis, true);
    return ex.div(tf.maximum(den, 1e-12));
  });
}

/**
 * log-softmax restricted to `mask`, finite everywhere: excluded entries return 0 (callers must
 * multiply by the mask before summing).
 */
export function maskedLogSoftmax(logits: tf.Tensor, mask: tf.Tensor, axis = -1): tf.Tensor {
  return tf.tidy(() => {
    const m = tf.broadcastTo(mask.toFloat(), logits.shape);
    const low = tf.min(logits, axis, true);
    const filled = tf.where(m.greater(0), logits, tf.broadcastTo(low, logits.shape));
    const max = tf.max(filled, axis, true);
    const shifted = tf.sub(filled, max);
    const lse = tf.log(tf.maximum(tf.sum(tf.exp(tf.minimum(shifted, 0)).mul(m), axis, true), 1e-30));
    return tf.sub(shifted, lse).mul(m);
  });
}
