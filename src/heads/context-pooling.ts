/**
 * Localized context pooling (ATLOP, Zhou et al., 2021, §2.3, eqs. 6–8; DocRE-II eq. 1;
 * DocuNet eqs. 4–5 use the same attention product).
 *
 * `A_s` is entity s's attention over tokens, per head: the mean over its mentions of the
 * encoder's attention row whose query is the mention's start marker (`entityAttention`).
 * For each ordered pair: `q_so = mean_h(A_s ∘ A_o)` [n], `a_so = q_so / (Σ_n q_so + 1e-5)`,
 * `c_so = Σ_n a_so,n · hidden_n` [d]. The official ATLOP code averages heads and adds 1e-5
 * (rather than the paper's plain normalisation); both are kept.
 *
 * Dimension letters: b documents · n tokens · d hidden · h heads · e entities · m mentions.
 */
import * as tf from '@tensorflow/tfjs';
import { checkShape } from '../core/errors.js';
import { registerClass } from '../core/registry.js';
import { shapesOf, tensorsOf, type LayerArgs } from '../core/layer-kit.js';
import { checkMentions } from './pooling.js';

/**
 * Entity-level attention: the mean over an entity's real mentions of the attention row whose
 * query is the mention's start marker (ATLOP §2.3). Zeros for an entity with no real mention.
 * Rows are gathered from `attention` flattened to `[b·h·n, n]` (no `batchDims`, no transpose
 * of the `[b,h,n,n]` tensor).
 *
 * @param attention [b, h, n, n] float32 last-layer attention, `attention[b,h,query,key]`
 * @param mentionIndex [b, e, m] int32 start-marker token of each mention
 * @param mentionMask [b, e, m] float32, 1 for real mentions
 * @returns [b, e, h, n]
 *
 * @example
 * const entityAtt = entityAttention(attention, mentionIndex, mentionMask); // [b, e, h, n]
 */
export function entityAttention(
  attention: tf.Tensor4D,
  mentionIndex: tf.Tensor3D,
  mentionMask: tf.Tensor3D,
): tf.Tensor4D {
  const dims = checkShape('attention', attention.shape, ['b', 'h', 'n', 'n']);
  checkMentions(mentionIndex, mentionMask, dims);
  const { b, h, n } = dims as { b: number; h: number; n: number };
  const [, e, m] = mentionIndex.shape;
  return tf.tidy(() => {
    const mask = mentionMask.toFloat(); // [b,e,m]
    const safe = tf.where(mask.greater(0), mentionIndex, tf.zerosLike(mentionIndex)); // [b,e,m]
    // row of (batch i, head j, query t) in the [b·h·n, n] table is (i·h + j)·n + t
    const base = tf.range(0, b * h * n, h * n, 'int32').reshape([b, 1, 1, 1]); // [b,1,1,1]
    const head = tf.range(0, h * n, n, 'int32').reshape([1, 1, 1, h]); // [1,1,1,h]
    const rowIdx = safe
      .expandDims(3)
      .add(base)
      .add(head)
      .reshape([b * e * m * h]); // [b·e·m·h]
    const rows = tf.gather(attention.reshape([b * h * n, n]), rowIdx).reshape([b, e, m, h * n]); // [b,e,m,h·n]
    const count = tf.maximum(mask.sum(2, true), 1); // [b,e,1]
    const weight = mask.div(count).expandDims(2); // [b,e,1,m]: 1/count on real mentions
    // mean over mentions as a batched matmul: [b·e,1,m] × [b·e,m,h·n]
    const mean = tf.matMul(weight.reshape([b * e, 1, m]), rows.reshape([b * e, m, h * n])); // [b·e,1,h·n]
    return mean.reshape([b, e, h, n]) as tf.Tensor4D;
  });
}

/**
 * ATLOP localized context pooling for every ordered entity pair, with batched matmuls: no
 * `[b,e,e,h,n]` tensor is formed (the head product is a `[b·n, e, h] × [b·n, h, e]` matmul).
 * Pairs involving an entity whose attention is all zero (padding, no mention) get `c = 0`.
 *
 * @param hidden [b, n, d] float32 encoder output
 * @param entityAtt [b, e, h, n] float32 from {@link entityAttention}
 * @returns [b, e, e, d] `c[b,s,o] = Σ_n a_so,n · hidden[b,n]`
 *
 * @example
 * const context = localizedContextPooling(hidden, entityAttention(attention, mentionIndex, mentionMask));
 */
export function localizedContextPooling(hidden: tf.Tensor3D, entityAtt: tf.Tensor4D): tf.Tensor4D {
  const dims = checkShape('hidden', hidden.shape, ['b', 'n', 'd']);
  checkShape('entityAtt', entityAtt.shape, ['b', 'e', 'h', 'n'], dims);
  const { b, n, d, e, h } = dims as { b: number; n: number; d: number; e: number; h: number };
  return tf.tidy(() => {
    const perToken = entityAtt.transpose([0, 3, 1, 2]).reshape([b * n, e, h]); // [b·n,e,h]
    // q[b,n,s,o] = (1/h) Σ_h A[b,s,h,n] · A[b,o,h,n]
    const q = tf.matMul(perToken, perToken, false, true).div(h); // [b·n,e,e]
    const qPairs = q.reshape([b, n, e * e]).transpose([0, 2, 1]); // [b,e·e,n]
    const a = qPairs.div(qPairs.sum(2, true).add(1e-5)); // [b,e·e,n]
    return tf.matMul(a, hidden).reshape([b, e, e, d]) as tf.Tensor4D; // [b,e·e,d] → [b,e,e,d]
  });
}

/** Arguments of {@link LocalizedContextPoolingLayer} (none beyond the standard layer ones). */
export type LocalizedContextPoolingLayerArgs = LayerArgs;

/**
 * Layer form of {@link localizedContextPooling}. No weights.
 * `apply([hidden [b,n,d], entityAtt [b,e,h,n]]) → [b,e,e,d]`.
 *
 * @example
 * const entityAtt = entityAttention(attention, mentionIndex, mentionMask);
 * const context = new LocalizedContextPoolingLayer().apply([hidden, entityAtt]) as tf.Tensor4D;
 */
export class LocalizedContextPoolingLayer extends tf.layers.Layer {
  static className = 'LocalizedContextPoolingLayer';

  constructor(args: LocalizedContextPoolingLayerArgs = {}) {
    super(args);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [hidden, att] = shapesOf(inputShape, 2, this.name);
    return [hidden![0]!, att![1]!, att![1]!, hidden![2]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [hidden, att] = tensorsOf(inputs, 2, this.name);
      return localizedContextPooling(hidden as tf.Tensor3D, att as tf.Tensor4D);
    });
  }
}
registerClass(LocalizedContextPoolingLayer);
