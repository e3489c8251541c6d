/**
 * Composite pieces several models share, assembled from the exported layers (no math of their
 * own): the ATLOP entity/context features and the ATLOP/DocuNet bilinear pair classifier.
 *
 * Dimension letters: b documents · n tokens · d hidden · h heads · e entities · m mentions ·
 * r relation classes · w classifier width (embSize).
 */
import * as tf from '@tensorflow/tfjs';
import { logSumExpPooling } from '../heads/pooling.js';
import { entityAttention, localizedContextPooling } from '../heads/context-pooling.js';
import { GroupBilinearLayer } from '../heads/group-bilinear.js';
import type { EncoderOutput, ModelInput } from './types.js';

/** Entity embeddings and per-pair localized context (ATLOP §2.1, §2.3). */
export interface EntityFeatures {
  /** `[b, e, d]` log-sum-exp of the mentions' start-marker states */
  readonly entity: tf.Tensor3D;
  /** `[b, e, h, n]` entity-level attention */
  readonly entityAtt: tf.Tensor4D;
  /** `[b, e, e, d]` localized context c_so */
  readonly context: tf.Tensor4D;
}

/**
 * `entity = logSumExpPooling(hidden)`, `entityAtt = entityAttention(attention)`,
 * `context = localizedContextPooling(hidden, entityAtt)`.
 */
export function entityFeatures(enc: EncoderOutput, batch: ModelInput): EntityFeatures {
  const entity = logSumExpPooling(enc.hidden, batch.mentionIndex, batch.mentionMask);
  const entityAtt = entityAttention(enc.attention, batch.mentionIndex, batch.mentionMask);
  const context = localizedContextPooling(enc.hidden, entityAtt);
  return { entity, entityAtt, context };
}

/** Broadcasts entity vectors over the pair matrix: `[b,e,d]` → rows (subject) and columns (object), `[b,e,e,d]` each. */
export function pairBroadcast(x: tf.Tensor3D): { subj: tf.Tensor4D; obj: tf.Tensor4D } {
  const [b, e, d] = x.shape;
  return {
    subj: tf.broadcastTo(x.reshape([b, e, 1, d]), [b, e, e, d]) as tf.Tensor4D, // [s, *, :]
    obj: tf.broadcastTo(x.reshape([b, 1, e, d]), [b, e, e, d]) as tf.Tensor4D, // [*, o, :]
  };
}

/** Hyperparameters of {@link BilinearPairHead}. */
export interface BilinearPairHeadArgs {
  /** w: width of the subject/object extractors (ATLOP 768). */
  readonly embSize: number;
  /** k: group size of the bilinear classifier (ATLOP 64); must divide embSize. */
  readonly blockSize: number;
  /** r: relation classes incl. class 0. */
  readonly numClasses: number;
}

/**
 * The ATLOP classifier (eqs. 3–5), also DocuNet's (eq. 9 with `x_so = Y_so`):
 * `zs = tanh(W_s [e_s ; x_so])`, `zo = tanh(W_o [e_o ; x_so])`, `logits = GroupBilinear(zs, zo)`.
 * Holds three layers; `layers()` lists them so a model can register them for saving.
 */
export class BilinearPairHead {
  readonly head: tf.layers.Layer;
  readonly tail: tf.layers.Layer;
  readonly bilinear: GroupBilinearLayer;

  constructor(args: BilinearPairHeadArgs) {
    this.head = tf.layers.dense({ units: args.embSize, activation: 'tanh' });
    this.tail = tf.layers.dense({ units: args.embSize, activation: 'tanh' });
    this.bilinear = new GroupBilinearLayer({ units: args.numClasses, blockSize: args.blockSize });
  }

  /**
   * @param entity [b, e, d] entity embeddings
   * @param pair [b, e, e, c] pair features (ATLOP: context c_so; DocuNet: U-Net output Y_so)
   * @returns [b, e, e, r] logits
   */
  apply(entity: tf.Tensor3D, pair: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const { subj, obj } = pairBroadcast(entity);
      const zs = this.head.apply(tf.concat([subj, pair], -1)) as tf.Tensor; // [b,e,e,w]
      const zo = this.tail.apply(tf.concat([obj, pair], -1)) as tf.Tensor; // [b,e,e,w]
      return this.bilinear.apply([zs, zo]) as tf.Tensor4D; // [b,e,e,r]
    });
  }

  /** `[name, layer]` for registration on a model. */
  layers(prefix: string): [string, tf.layers.Layer][] {
    return [
      [`${prefix}.head`, this.head],
      [`${prefix}.tail`, this.tail],
      [`${prefix}.bilinear`, this.bilinear],
    ];
  }
}
