/**
 * Adaptive-thresholding loss and decoder (ATLOP, Zhou et al., 2021, §2.4, eqs. 9–10).
 *
 * Class 0 is the learnable threshold TH. With `P` the positive classes (r > 0, label 1) and
 * `N` the others (r > 0, label 0):
 * `L1 = −Σ_{r∈P} log softmax(logits over P ∪ {TH})_r`, `L2 = −log softmax(logits over N ∪ {TH})_TH`,
 * loss = mean over pairs of `L1 + L2`. Matches ATLOP's `losses.py` (`ATLoss`) except that the
 * official code zeroes `labels[:, 0]` in place and masks with ±1e30; here labels are never
 * touched and the softmaxes are masked with `maskedLogSoftmax` (finite on every backend).
 *
 * Dimension letters: r relation classes incl. class 0; `..` any leading dims (e.g. [b, e, e]).
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, ShapeError } from '../core/errors.js';
import { maskedLogSoftmax } from '../core/softmax.js';
import { maskedMean } from '../core/layer-kit.js';

export { maskedMean };

/** Options of the multi-hot decoders. */
export interface DecodeOptions {
  /** Keep at most the k highest-scoring columns (ATLOP: 4, DocuNet: 3). Default: no limit. */
  readonly topK?: number;
}

/** Checks `labels` [.., r] and `mask` [..] against `logits` [.., r]. */
export function checkLossInputs(logits: tf.Tensor, labels: tf.Tensor, mask?: tf.Tensor): void {
  const shape = `[${logits.shape.join(', ')}]`;
  if (logits.rank < 1) throw new ShapeError('logits', '[.., r]', logits.shape);
  if (labels.shape.join() !== logits.shape.join())
    throw new ShapeError('labels', `${shape} (the shape of logits)`, labels.shape);
  if (mask && mask.shape.join() !== logits.shape.slice(0, -1).join())
    throw new ShapeError('mask', `[${logits.shape.slice(0, -1).join(', ')}] (logits without r)`, mask.shape);
}

/** One-hot of column 0 broadcastable to [.., r]. */
function thresholdColumn(r: number): tf.Tensor1D {
  return tf.oneHot(tf.tensor1d([0], 'int32'), r).reshape([r]) as tf.Tensor1D;
}

/**
 * ATLOP adaptive-thresholding loss.
 *
 * @param logits [.., r] float32, column 0 = TH
 * @param labels [.., r] float32 multi-hot (column 0 is ignored: TH is never a positive)
 * @param mask [..] float32 optional, 1 for pairs that count (e.g. `pairMask`)
 * @returns scalar, mean of `L1 + L2` over masked pairs (0 when the mask is empty)
 *
 * @example
 * const loss = adaptiveThresholdLoss(logits, batch.labels, batch.pairMask); // logits [b,e,e,r]
 */
export function adaptiveThresholdLoss(logits: tf.Tensor, labels: tf.Tensor, mask?: tf.Tensor): tf.Scalar {
  checkLossInputs(logits, labels, mask);
  const r = logits.shape[logits.rank - 1]!;
  return tf.tidy(() => {
    const th = thresholdColumn(r); // [r]
    const pos = labels.toFloat().mul(tf.sub(1, th)); // [..,r] positives among r > 0
    const l1 = maskedLogSoftmax(logits, pos.add(th)).mul(pos).sum(-1).neg(); // [..]
    const l2 = maskedLogSoftmax(logits, tf.sub(1, pos)).mul(th).sum(-1).neg(); // [..]
    return maskedMean(l1.add(l2), mask);
  });
}

/**
 * Shared multi-hot decoder: column r > 0 is predicted when `logits_r > threshold` and, with
 * `topK`, `logits_r` is among the k largest of all r columns (as in ATLOP's and DocuNet's
 * `get_label`, which rank column 0 too); column 0 is 1 exactly when no r > 0 is predicted.
 *
 * @param logits [.., r]
 * @param threshold broadcastable to [.., r] (e.g. `logits[.., 0:1]` or a scalar 0)
 * @returns [.., r] float32 multi-hot
 */
export function decodeAboveThreshold(
  logits: tf.Tensor,
  threshold: tf.Tensor,
  options: DecodeOptions = {},
): tf.Tensor {
  if (logits.rank < 1) throw new ShapeError('logits', '[.., r]', logits.shape);
  const r = logits.shape[logits.rank - 1]!;
  const { topK } = options;
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1 || topK > r))
    throw new ArgumentError('topK', `an integer in [1, ${r}]`, topK);
  return tf.tidy(() => {
    let keep = logits.greater(threshold); // [..,r]
    if (topK !== undefined) {
      const kth = tf.topk(logits, topK).values.min(-1, true); // [..,1] the k-th largest logit
      keep = keep.logicalAnd(logits.greaterEqual(kth));
    }
    const th = thresholdColumn(r); // [r]
    const rel = keep.toFloat().mul(tf.sub(1, th)); // [..,r] predictions among r > 0
    const none = rel.sum(-1, true).equal(0).toFloat(); // [..,1]
    return rel.add(none.mul(th));
  });
}

/**
 * ATLOP decoder: r > 0 is predicted when `logit_r > logit_0` (and within the top k when given).
 *
 * @param logits [.., r]
 * @returns [.., r] float32 multi-hot; column 0 = 1 when nothing is predicted
 *
 * @example
 * const predicted = adaptiveThresholdDecode(logits, { topK: 4 });
 */
export function adaptiveThresholdDecode(logits: tf.Tensor, options: DecodeOptions = {}): tf.Tensor {
  if (logits.rank < 1) throw new ShapeError('logits', '[.., r]', logits.shape);
  return tf.tidy(() => {
    const th = logits.slice(new Array(logits.rank).fill(0), [...logits.shape.slice(0, -1), 1]); // [..,1]
    return decodeAboveThreshold(logits, th, options);
  });
}
