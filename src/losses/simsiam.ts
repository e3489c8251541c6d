/**
 * DocRE-II contrastive loss (Zhang et al., §2.3, eq. 14), SimSiam style (Chen & He, 2021):
 *   L_C = 2 − (cos(MLP(M̂), SG(M̄)) + cos(MLP(M̄), SG(M̂)))
 * per pair, averaged over the real pairs. `SG` is `stopGradient` (src/core/ops.ts): no gradient
 * reaches the target branches. The predictor `MLP` belongs to the model; pass its outputs.
 * The official code (`model.py`, `contrast_loss_fn`) computes (2 − 2cos) + (2 − 2cos), which is
 * exactly twice this value; eq. 14 of the paper is followed here.
 *
 * Dimensions: d hidden width; any leading pair dimensions (e.g. b, e, e).
 */
import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../core/errors.js';
import { stopGradient } from '../core/ops.js';
import { maskedMean } from '../core/layer-kit.js';

/** Cosine similarity over the last axis, `a·b / (max(‖a‖, eps)·max(‖b‖, eps))`. @returns [..] */
function cosineSimilarity(a: tf.Tensor, b: tf.Tensor, eps = 1e-8): tf.Tensor {
  return tf.tidy(() => {
    const na = tf.maximum(tf.norm(a, 'euclidean', -1), eps);
    const nb = tf.maximum(tf.norm(b, 'euclidean', -1), eps);
    return tf.sum(a.mul(b), -1).div(na.mul(nb));
  });
}

/**
 * DocRE-II eq. 14.
 * @param predictedHat [.., d] MLP(M̂), the predictor applied to the (R̂, F) branch
 * @param targetBar [.., d] M̄, the (F, R̄) branch's output (gradient stopped)
 * @param predictedBar [.., d] MLP(M̄)
 * @param targetHat [.., d] M̂ (gradient stopped)
 * @param mask [..] optional, 1 for pairs that count (pairMask)
 * @returns scalar in [0, 4]
 * @example
 * const lC = simSiamLoss(mlp(mHat), mBar, mlp(mBar), mHat, pairMask);
 */
export function simSiamLoss(
  predictedHat: tf.Tensor,
  targetBar: tf.Tensor,
  predictedBar: tf.Tensor,
  targetHat: tf.Tensor,
  mask?: tf.Tensor,
): tf.Scalar {
  const shape = predictedHat.shape.join();
  for (const [n, t] of [
    ['targetBar', targetBar],
    ['predictedBar', predictedBar],
    ['targetHat', targetHat],
  ] as const)
    if (t.shape.join() !== shape)
      throw new ShapeError(n, `[${predictedHat.shape.join(', ')}] (the shape of predictedHat)`, t.shape);
  return tf.tidy(() => {
    const cos = cosineSimilarity(predictedHat, stopGradient(targetBar)).add(
      cosineSimilarity(predictedBar, stopGradient(targetHat)),
    );
    return maskedMean(tf.sub(2, cos), mask);
  });
}
