/**
 * Balanced softmax (DocuNet, Zhang et al., 2021, §3.4, eq. 10; Su's multilabel categorical
 * cross-entropy with a fixed threshold 0):
 * `L = log(1 + Σ_{j∉pos} e^{s_j}) + log(1 + Σ_{i∈pos} e^{−s_i})`, mean over masked pairs.
 * All r columns are treated alike: column 0 (NA) is an ordinary class, labelled 1 for pairs
 * with no relation, exactly as in DocuNet's `multilabel_categorical_crossentropy`. Each term is
 * the negative log-softmax of an appended zero logit, computed with `maskedLogSoftmax` (no
 * ±1e30, finite on every backend).
 *
 * Dimension letters: r relation classes incl. class 0; `..` any leading dims (e.g. [b, e, e]).
 */
import * as tf from '@tensorflow/tfjs';
import { maskedLogSoftmax } from '../core/softmax.js';
import {
  checkLossInputs,
  decodeAboveThreshold,
  maskedMean,
  type DecodeOptions,
} from './adaptive-threshold.js';

/** `log(1 + Σ_{mask} e^{x})` over the last axis, as `−log softmax([0 ; x])_0`. x, mask [.., r] → [..]. */
function logOnePlusSumExp(x: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  const zero = tf.zeros([...x.shape.slice(0, -1), 1]);
  const one = tf.onesLike(zero);
  const logp = maskedLogSoftmax(tf.concat([zero, x], -1), tf.concat([one, mask], -1)); // [..,1+r]
  return logp
    .slice(new Array(x.rank).fill(0), [...x.shape.slice(0, -1), 1])
    .squeeze([x.rank - 1])
    .neg();
}

/**
 * DocuNet balanced softmax loss.
 *
 * @param logits [.., r] float32 scores s
 * @param labels [.., r] float32 multi-hot, column 0 = NA
 * @param mask [..] float32 optional, 1 for pairs that count
 * @returns scalar mean over masked pairs (0 when the mask is empty)
 *
 * @example
 * const loss = balancedSoftmaxLoss(logits, batch.labels, batch.pairMask);
 */
export function balancedSoftmaxLoss(logits: tf.Tensor, labels: tf.Tensor, mask?: tf.Tensor): tf.Scalar {
  checkLossInputs(logits, labels, mask);
  return tf.tidy(() => {
    const y = labels.toFloat();
    const neg = logOnePlusSumExp(logits, tf.sub(1, y)); // log(1 + Σ_neg e^{s})
    const pos = logOnePlusSumExp(logits.neg(), y); // log(1 + Σ_pos e^{−s})
    return maskedMean(neg.add(pos), mask);
  });
}

/**
 * DocuNet decoder: r > 0 is predicted when `s_r > 0` (and within the top k when given);
 * column 0 = 1 when no r > 0 is predicted.
 *
 * @param logits [.., r]
 * @returns [.., r] float32 multi-hot
 *
 * @example
 * const predicted = balancedSoftmaxDecode(logits, { topK: 3 });
 */
export function balancedSoftmaxDecode(logits: tf.Tensor, options: DecodeOptions = {}): tf.Tensor {
  return tf.tidy(() => decodeAboveThreshold(logits, tf.scalar(0), options));
}
