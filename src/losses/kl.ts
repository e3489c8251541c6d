/**
 * DRE-MIR reconstruction loss (Zhang & Cheng, §2.2, eq. 5): the bidirectional KL divergence
 * between the relation distributions of the original and of the masked entity-pair matrix,
 * `L_R = ½ (KL(p_o ‖ p_m) + KL(p_m ‖ p_o))`, averaged over the real pairs.
 *
 * DRE-MIR has no public code and writes `p = σ(W_r M)` (eq. 6) while training with the
 * adaptive-threshold loss (a softmax over classes); both readings are offered:
 * `softmax` (default: one categorical distribution over the r classes per pair) and `sigmoid`
 * (r independent Bernoulli distributions per pair, KL summed over classes).
 * Closed forms used (finite on every backend, no log of probabilities):
 *   softmax: KL(p‖q) + KL(q‖p) = Σ_r (p_r − q_r)(log p_r − log q_r)
 *   sigmoid: KL(p‖q) + KL(q‖p) = Σ_r (p_r − q_r)(x_r − y_r)   (x, y the logits)
 *
 * Dimensions: r relation classes; any leading pair dimensions (e.g. b, e, e).
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, ShapeError } from '../core/errors.js';
import { maskedMean } from '../core/layer-kit.js';

/** Options of `bidirectionalKLLoss`. */
export interface BidirectionalKLOptions {
  /** How logits become distributions. Default 'softmax'. */
  distribution?: 'softmax' | 'sigmoid';
}

/**
 * DRE-MIR eq. 5, masked mean over pairs.
 * @param logitsOriginal [.., r] classifier logits of the original matrix M_o
 * @param logitsMasked [.., r] classifier logits of the masked matrix M_m
 * @param mask [..] optional, 1 for pairs that count (e.g. pairMask [b,e,e])
 * @returns scalar
 * @example
 * const lR = bidirectionalKLLoss(logitsO, logitsM, pairMask); // + adaptiveThresholdLoss(...)
 */
export function bidirectionalKLLoss(
  logitsOriginal: tf.Tensor,
  logitsMasked: tf.Tensor,
  mask?: tf.Tensor,
  { distribution = 'softmax' }: BidirectionalKLOptions = {},
): tf.Scalar {
  if (logitsOriginal.shape.join() !== logitsMasked.shape.join())
    throw new ShapeError(
      'logitsMasked',
      `[${logitsOriginal.shape.join(', ')}] (the shape of logitsOriginal)`,
      logitsMasked.shape,
    );
  if (distribution !== 'softmax' && distribution !== 'sigmoid')
    throw new ArgumentError('distribution', "'softmax' | 'sigmoid'", distribution);
  return tf.tidy(() => {
    let sym: tf.Tensor; // KL(p‖q) + KL(q‖p) per class
    if (distribution === 'softmax') {
      const lp = tf.logSoftmax(logitsOriginal);
      const lq = tf.logSoftmax(logitsMasked);
      sym = tf.exp(lp).sub(tf.exp(lq)).mul(lp.sub(lq));
    } else {
      sym = tf.sigmoid(logitsOriginal).sub(tf.sigmoid(logitsMasked)).mul(logitsOriginal.sub(logitsMasked));
    }
    return maskedMean(tf.sum(sym, -1).mul(0.5), mask);
  });
}
