/**
 * The model contract shared by the five paper models (DESIGN.md, "Models, data, training").
 *
 * A model consumes the collated batch of DESIGN.md plus the encoder outputs
 * `{hidden [b,n,d], attention [b,h,n,n]}`. When those are present in the input (frozen encoder,
 * cached features) the model uses them as they are; otherwise it calls the trainable encoder
 * given in its config on `inputIds`/`attentionMask`, so gradients flow into the encoder.
 *
 * Dimension letters: b documents · n tokens · d hidden width · h heads · m mentions · e entities ·
 * r relation classes (incl. class 0) · v graph nodes.
 */
import type * as tf from '@tensorflow/tfjs';
import type { GraphBatch } from '../data/graph.js';

/** What an encoder returns (DESIGN.md, "Encoders"). */
export interface EncoderOutput {
  /** `[b, n, d]` float32: last-layer token states. */
  readonly hidden: tf.Tensor3D;
  /** `[b, h, n, n]` float32: last-layer attention probabilities (rows sum to 1 over real keys). */
  readonly attention: tf.Tensor4D;
}

/**
 * A trainable encoder a model may own (e.g. `BertEncoder`). Only `encode` is required; the
 * variables are reported under the `encoder` group so the trainer can give them their own lr.
 */
export interface TrainableEncoder {
  encode(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options?: { training?: boolean }): EncoderOutput;
  /** Trainable variables of the encoder (tf.Variable or tfjs LayerVariable). */
  readonly trainableWeights?: readonly unknown[];
  trainableVariables?(): tf.Variable[];
  /** Every variable by a name stable across processes (checkpoint keys), e.g. BERT's HF names. */
  namedVariables?(): [string, tf.Variable][];
}

/**
 * The model input: DESIGN.md's Batch (what `collate` produces) with optional encoder outputs and
 * optional graph fields. Structural, so `collate`'s Batch is assignable to it.
 */
export interface ModelInput {
  /** `[b, n]` int32; needed only when the model runs its own encoder. */
  readonly inputIds?: tf.Tensor2D;
  /** `[b, n]` float32, 1 for real tokens. */
  readonly attentionMask?: tf.Tensor2D;
  /** `[b, e, m]` int32: token index of each mention's start marker. */
  readonly mentionIndex: tf.Tensor3D;
  /** `[b, e, m]` float32: 1 for real mentions. */
  readonly mentionMask: tf.Tensor3D;
  /** `[b, e]` float32: 1 for real entities. */
  readonly entityMask: tf.Tensor2D;
  /** `[b, e, e]` float32: 1 for ordered pairs (s, o), s ≠ o, both real. */
  readonly pairMask: tf.Tensor3D;
  /** `[b, e, e, r]` float32 multi-hot, column 0 = NA / threshold; absent at inference. */
  readonly labels?: tf.Tensor4D;
  /** `[b, n, d]` encoder states (frozen / cached features). */
  readonly hidden?: tf.Tensor3D;
  /** `[b, h, n, n]` encoder attention (frozen / cached features). */
  readonly attention?: tf.Tensor4D;
  /** GTN only: the document graphs of the batch (`collate(…, { graph: true })`, `collateGraphs`). */
  readonly graph?: GraphBatch;
}

export interface ForwardOptions {
  /** Training mode: dropout, masking/noise paths and auxiliary losses are active. Default false. */
  readonly training?: boolean;
  /**
   * Seed of this pass's random draws (DocRE-II's relation noise, DRE-MIR's pair masks, GTN's node
   * masks). The Trainer passes one per micro-batch (a hash of its seed, the epoch and the batch),
   * so a resumed run draws what the uninterrupted one drew. Default: the model's own sequence
   * (`config.seed`, advanced per call).
   */
  readonly seed?: number;
}

/** What `forward` returns. The caller owns (and must dispose) every tensor. */
export interface ForwardOutput {
  /** `[b, e, e, r]` float32 relation logits of the final classifier. */
  readonly logits: tf.Tensor4D;
  /**
   * Named scalar losses; `total` is what the optimizer minimises. Empty when the batch has no
   * labels.
   */
  readonly losses: Record<string, tf.Scalar>;
}

/** The five paper models (the registry `MODEL_SPECS` has one spec per name). */
export const MODEL_NAMES = ['atlop', 'docunet', 'dremir', 'gtn', 'docreii'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/**
 * Every docre-kit model implements this (DESIGN.md). `static load(dir)` lives on each class
 * (TypeScript interfaces cannot declare statics); `loadModel(dir)` dispatches on the saved name.
 *
 * @example
 * const model: DocREModel = createModel('atlop', { hiddenSize: 512, numClasses: 97 });
 * const { logits, losses } = model.forward(batch, { training: true }); // [b,e,e,r], {at, total}
 * const multiHot = model.predict(batch); // [b,e,e,r] 0/1
 * await model.save('ckpt/');  const again = await ATLOPModel.load('ckpt/');
 */
export interface DocREModel {
  /** `ModelName` for the five paper models; any name for a custom model. */
  readonly name: string;
  /** Serializable hyperparameters (the trainable encoder, if any, is not part of it). */
  readonly config: object;
  forward(batch: ModelInput, options?: ForwardOptions): ForwardOutput;
  /** `[b, e, e, r]` float32 multi-hot predictions (0 for padded pairs). */
  predict(batch: ModelInput): tf.Tensor4D;
  /** Writes `model.json` (name, config, weight manifest) and `weights.bin` into `dir`. */
  save(dir: string): Promise<void>;
  /** All trainable variables (heads, and the encoder's when it is trainable). */
  trainableVariables(): tf.Variable[];
  /**
   * Variables by role, for parameter groups and staged training: always `heads`; `encoder` when
   * a trainable encoder is attached; DocRE-II splits heads into `base` and `inference`; GTN adds
   * `discriminator` (not part of `trainableVariables()`' generator objective).
   */
  variableGroups(): Record<string, tf.Variable[]>;
  /**
   * Every weight (and the trainable encoder's variables) by a path stable across processes
   * (`bilinear/kernel`, `encoder/…`): what the trainer's resume checkpoint is keyed by. Optional
   * for custom models (their checkpoints fall back to positions).
   */
  namedVariables?(): [string, tf.Variable][];
  dispose(): void;
}

/** A model trained in stages (DocRE-II): `setStage` switches the objective and `trainableVariables()`. */
export interface StagedModel extends DocREModel {
  readonly trainingStage: 1 | 2;
  setStage(stage: 1 | 2): void;
}

/**
 * A model with an adversarial part trained in its own step (GTN's discriminator): the variables
 * of `discriminatorVariables()` minimise `losses.discriminator` and are not in `trainableVariables()`.
 */
export interface AdversarialModel extends DocREModel {
  discriminatorVariables(): tf.Variable[];
}

export function isStagedModel(m: DocREModel): m is StagedModel {
  return typeof (m as Partial<StagedModel>).setStage === 'function';
}

export function isAdversarialModel(m: DocREModel): m is AdversarialModel {
  return typeof (m as Partial<AdversarialModel>).discriminatorVariables === 'function';
}
