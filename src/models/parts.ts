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
import { buildLayer, buildShapes as S } from './base.js';
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

  constructor(private readonly args: BilinearPairHeadArgs) {
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

  /** Creates the weights for entity width `d` and pair-feature width `c`, in `apply`'s order. */
  build(d: number, c: number): void {
    buildLayer(this.head, S.pairs(d + c));
    buildLayer(this.tail, S.pairs(d + c));
    buildLayer(this.bilinear, [S.pairs(this.args.embSize), S.pairs(this.args.embSize)]);
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

/** How a model summarises the document: the first token (CLS, the papers) or the mean of the real tokens (encoders without CLS, e.g. the embedded one). */
export type DocPooling = 'cls' | 'mean';

/**
 * The document vector `[b, d]`: `hidden[:, 0]` (CLS) or the mean of `hidden` over real tokens.
 * @param hidden [b, n, d]; @param attentionMask [b, n] (1 = real token; all tokens when absent)
 */
export function documentState(
  hidden: tf.Tensor3D,
  attentionMask: tf.Tensor2D | undefined,
  pooling: DocPooling,
): tf.Tensor2D {
  return tf.tidy(() => {
    const [b, n, d] = hidden.shape;
    if (pooling === 'cls') return hidden.slice([0, 0, 0], [b, 1, d]).reshape([b, d]) as tf.Tensor2D; // [b,d]
    const mask = (attentionMask ?? tf.ones([b, n])).reshape([b, n, 1]); // [b,n,1]
    return hidden
      .mul(mask)
      .sum(1)
      .div(tf.maximum(mask.sum(1), 1)) as tf.Tensor2D; // [b,d]
  });
}

/**
 * Runs `fn(x)` off the gradient tape: the value is `fn(x)`, the gradient with respect to `x` is
 * zero, and the ops inside `fn` are not recorded (tfjs records no op run inside a custom
 * gradient's forward pass). For decisions taken from logits (thresholding, noise injection), whose
 * comparison ops have no gradient in tfjs and would otherwise break backpropagation.
 * @example
 * const noisy = offTape((l) => injectRelationNoise(thresholdDecode(l), pairMask, { rate: 0.2 }))(baseLogits);
 */
export function offTape(fn: (x: tf.Tensor) => tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    return { value: fn(x), gradFunc: () => tf.zerosLike(x) };
  }) as (x: tf.Tensor) => tf.Tensor;
}
