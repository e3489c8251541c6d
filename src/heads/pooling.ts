/**
 * Entity pooling: log-sum-exp over the start-marker states of an entity's mentions.
 *
 * ATLOP (Zhou et al., 2021) §2.1 and DocuNet eq. 2: `e_i = log Σ_{j=1}^{N_ei} exp(m_j)`, where
 * `m_j` is the encoder state of mention j's start marker. The official ATLOP code returns the
 * embedding itself for a single mention and zeros for an entity whose mentions were all cut
 * off by truncation; both are special cases of the masked form below.
 *
 * Dimension letters: b documents · n tokens · d hidden · e entities (padded) · m mentions (padded).
 */
import * as tf from '@tensorflow/tfjs';
import { checkShape, ShapeError } from '../core/errors.js';
import { registerClass } from '../core/registry.js';
import { shapesOf, tensorsOf, type LayerArgs } from '../core/layer-kit.js';

/**
 * Gathers per-mention rows of a `[b, n, w]` tensor at `mentionIndex` without `batchDims`
 * (wrong on wasm, tfjs#8658): the table is flattened to `[b·n, w]` and each index is offset
 * by `batch·n`. Padded mentions (mask 0) are redirected to token 0 so that any padding value
 * in `mentionIndex` is safe.
 *
 * @param table [b, n, w] float32
 * @param mentionIndex [b, e, m] int32
 * @param mentionMask [b, e, m] float32
 * @returns [b, e, m, w]
 */
export function gatherMentionRows(
  table: tf.Tensor3D,
  mentionIndex: tf.Tensor3D,
  mentionMask: tf.Tensor3D,
): tf.Tensor4D {
  checkMentions(mentionIndex, mentionMask, checkShape('table', table.shape, ['b', 'n', 'w']));
  return tf.tidy(() => {
    const [b, n, w] = table.shape;
    const [, e, m] = mentionIndex.shape;
    const safe = tf.where(mentionMask.greater(0), mentionIndex, tf.zerosLike(mentionIndex)); // [b,e,m]
    const offset = tf.range(0, b * n, n, 'int32').reshape([b, 1, 1]); // [b,1,1]
    const flatIdx = safe.add(offset).reshape([b * e * m]); // [b·e·m]
    const rows = tf.gather(table.reshape([b * n, w]), flatIdx); // [b·e·m, w]
    return rows.reshape([b, e, m, w]) as tf.Tensor4D;
  });
}

/** Validates `mentionIndex` [b,e,m] int32 and `mentionMask` [b,e,m] against `dims`; returns `dims` with b, e, m bound. */
export function checkMentions(
  mentionIndex: tf.Tensor,
  mentionMask: tf.Tensor,
  dims: Record<string, number>,
): Record<string, number> {
  checkShape('mentionIndex', mentionIndex.shape, ['b', 'e', 'm'], dims);
  checkShape('mentionMask', mentionMask.shape, ['b', 'e', 'm'], dims);
  if (mentionIndex.dtype !== 'int32')
    throw new ShapeError('mentionIndex', '[b, e, m] int32', `dtype ${mentionIndex.dtype}`);
  return dims;
}

/**
 * Element-wise max over real mentions, `x [b,e,m,d]`, `mentionMask [b,e,m]` → `[b,e,d]` (0 for an
 * entity with none), returned as a constant: log-sum-exp does not depend on its shift, so the
 * exact gradient flows through `exp(x − max)` alone. Computed in m element-wise steps inside
 * `customGrad` (not taped) instead of a reduction over the middle axis, which tfjs-webgpu runs
 * with a 64-thread workgroup per output (seconds at DocRED scale on SwiftShader).
 */
const realMentionMax = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, mentionMask] = args as [tf.Tensor4D, tf.Tensor3D];
  const value = tf.tidy(() => {
    const slots = tf.unstack(x, 2); // m × [b,e,d]
    const real = tf.unstack(mentionMask.greater(0).expandDims(3), 2); // m × [b,e,1] bool
    let max = tf.zerosLike(slots[0]!);
    let seen = tf.zerosLike(real[0]!); // bool: a real mention was met
    slots.forEach((slot, j) => {
      const take = real[j]!.logicalAnd(seen.logicalNot().logicalOr(slot.greater(max))); // [b,e,d]
      max = tf.where(take, slot, max);
      seen = seen.logicalOr(real[j]!);
    });
    return max;
  });
  return {
    value,
    gradFunc: () => [tf.zerosLike(x), tf.zerosLike(mentionMask)],
  };
}) as (x: tf.Tensor4D, mentionMask: tf.Tensor3D) => tf.Tensor3D;

/**
 * `x [b,e,m,d]` → m × `[b,e,d]`. With m = 1 a reshape, not `tf.unstack`: tfjs hands a
 * one-output op's gradient a single dy, and Unpack's gradient (`stack(dy)`) then throws "must be
 * a Tensor[]" — a fine-tuned batch whose entities all have one mention (CDR, batch 1) hit it.
 */
function mentionSlots(x: tf.Tensor4D): tf.Tensor3D[] {
  const [b, e, m, d] = x.shape;
  return m === 1 ? [x.reshape([b, e, d])] : (tf.unstack(x, 2) as tf.Tensor3D[]);
}

/**
 * Log-sum-exp pooling of mention start-marker states into entity embeddings (ATLOP §2.1,
 * DocuNet eq. 2), restricted to real mentions. An entity with no real mention gets a zero
 * vector and its (padding) inputs get zero, finite gradients.
 *
 * @param hidden [b, n, d] float32 encoder output
 * @param mentionIndex [b, e, m] int32 token index of each mention's start marker
 * @param mentionMask [b, e, m] float32, 1 for real mentions
 * @returns [b, e, d]
 *
 * @example
 * const hidden = tf.randomNormal([1, 8, 4]) as tf.Tensor3D;
 * const idx = tf.tensor3d([[[1, 5], [3, 0]]], [1, 2, 2], 'int32');
 * const mask = tf.tensor3d([[[1, 1], [1, 0]]]);
 * logSumExpPooling(hidden, idx, mask); // [1, 2, 4]: row 0 = log(e^h1 + e^h5), row 1 = h3
 */
export function logSumExpPooling(
  hidden: tf.Tensor3D,
  mentionIndex: tf.Tensor3D,
  mentionMask: tf.Tensor3D,
): tf.Tensor3D {
  const dims = checkShape('hidden', hidden.shape, ['b', 'n', 'd']);
  checkMentions(mentionIndex, mentionMask, dims);
  if (dims['m'] === 0) return tf.zeros([dims['b']!, dims['e']!, dims['d']!]);
  return tf.tidy(() => {
    const x = gatherMentionRows(hidden, mentionIndex, mentionMask); // [b,e,m,d]
    const max = realMentionMax(x, mentionMask); // [b,e,d], a constant shift
    // Σ_j mask_j·e^{x_j − max} accumulated over the m mention slots with element-wise ops only:
    // no reduction over the middle axis and no broadcast in the backward pass (both run as
    // 64-thread-per-output reductions on tfjs-webgpu). e^{x_j − max} ≤ 1 for real mentions;
    // padded slots are clamped to ≤ 1 and weighted 0.
    const weights = tf.unstack(mentionMask.toFloat().expandDims(3), 2); // m × [b,e,1]
    const sum = mentionSlots(x) // m × [b,e,d]
      .map((slot, j) => tf.exp(tf.minimum(slot.sub(max), 0)).mul(weights[j]!))
      .reduce((acc, term) => acc.add(term)); // [b,e,d]
    const any = tf.max(mentionMask.toFloat(), 2, true); // [b,e,1]: 1 when the entity has a real mention
    // log(sum + 1 − any) is log(1) = 0 for an empty entity: finite value and gradient
    return max.add(tf.log(sum.add(tf.sub(1, any)))).mul(any) as tf.Tensor3D;
  });
}

/** Arguments of {@link LogSumExpPoolingLayer} (none beyond the standard layer ones). */
export type LogSumExpPoolingLayerArgs = LayerArgs;

/**
 * Layer form of {@link logSumExpPooling}. No weights.
 * `apply([hidden [b,n,d], mentionIndex [b,e,m] int32, mentionMask [b,e,m]]) → [b,e,d]`.
 *
 * @example
 * const entity = new LogSumExpPoolingLayer().apply([hidden, mentionIndex, mentionMask]) as tf.Tensor3D;
 */
export class LogSumExpPoolingLayer extends tf.layers.Layer {
  static className = 'LogSumExpPoolingLayer';

  constructor(args: LogSumExpPoolingLayerArgs = {}) {
    super(args);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [hidden, index] = shapesOf(inputShape, 3, this.name);
    return [hidden![0]!, index![1]!, hidden![2]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [hidden, index, mask] = tensorsOf(inputs, 3, this.name);
      return logSumExpPooling(hidden as tf.Tensor3D, index as tf.Tensor3D, mask as tf.Tensor3D);
    });
  }
}
registerClass(LogSumExpPoolingLayer);
