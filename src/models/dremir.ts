/**
 * DRE-MIR (Liao et al., 2022): document-level relation extraction as masked image
 * reconstruction. No official code exists; this follows the paper.
 *
 * entity `e_i = logsumexp(mentions)`, localized context `c_so` (eq. 3), document `h_doc` = the
 * CLS state → entity-pair matrix `M_so = FFN([u_s ; u_o])`, `u_s = W_s[e_s ; h_doc ; c_so]`
 * (eq. 4, `EntityPairMatrixLayer` 'concat-ffn') → inference module: `numLayers` (paper: 3)
 * I-MSA encoder layers (§2.2) → linear classifier (eq. 6).
 * Training also runs the masked path: `maskRatio` (20 %) of the real pairs replaced by a learned
 * mask vector, through the same inference module and classifier. Loss (eq. 5, 7, α = β = 1):
 * `L = AT(original) + AT(masked) + ½(KL(p_o‖p_m) + KL(p_m‖p_o))` over every real pair (the
 * paper reconstructs masked and unmasked pixels alike and classifies both paths).
 *
 * Dimension letters: b n d h m e r (DESIGN.md); u pair-matrix width.
 */
import * as tf from '@tensorflow/tfjs';
import { adaptiveThresholdDecode, adaptiveThresholdLoss } from '../losses/adaptive-threshold.js';
import { bidirectionalKLLoss } from '../losses/kl.js';
import { EntityPairMatrixLayer } from '../heads/pair-matrix.js';
import { InferenceEncoderLayer, PairMaskingLayer } from '../heads/imsa.js';
import {
  BaseModel,
  buildLayer,
  buildShapes as S,
  fraction,
  oneOf,
  positiveInt,
  type CommonModelConfig,
} from './base.js';
import { documentState, entityFeatures, type DocPooling } from './parts.js';
import { modelSpec, PAPER_COMMON, type Resolved } from './spec.js';
import type { ForwardOptions, ForwardOutput, ModelInput } from './types.js';

/** DRE-MIR hyperparameters (defaults = the paper's where it gives them). */
export interface DREMIRConfig extends CommonModelConfig {
  /** u: width of the entity-pair matrix (not stated in the paper; default 768 = BERT-base width). */
  readonly pairSize?: number;
  /** hidden width of the pair-matrix FFN (eq. 4). Default pairSize. */
  readonly pairFfnSize?: number;
  /** inference (I-MSA encoder) layers. Default 3 (§3.2). */
  readonly numLayers?: number;
  /** FFN width inside each inference layer. Default 4·pairSize. */
  readonly ffnDim?: number;
  /**
   * Gradient checkpointing of the inference layers in training (src/core/gradients.ts
   * `recompute`): same values and gradients, one more forward pass of those layers, and their
   * intermediates are not kept for the backward pass (tfjs keeps every tensor of a gradient
   * scope otherwise, which exhausts wasm's 4 GiB heap at DocRED scale). Default true.
   */
  readonly recompute?: boolean;
  /** fraction of real pairs masked in the masked path. Default 0.2 (§3.2). */
  readonly maskRatio?: number;
  /** weight α of the reconstruction (KL) loss. Default 1. */
  readonly klWeight?: number;
  /** at most this many relations per pair at decode (ATLOP's decode). Default 4. */
  readonly topK?: number;
  /** seed of the pair-masking sequence. Default 0. */
  readonly seed?: number;
  /** h_doc: the CLS state (paper) or the mean of the tokens (encoders without CLS). Default 'cls'. */
  readonly docPooling?: DocPooling;
}

/**
 * @example
 * const model = new DREMIRModel({ hiddenSize: 512, numClasses: 97, pairSize: 128, numLayers: 2 });
 * const { losses } = model.forward(batch, { training: true }); // {at, atMasked, kl, total}
 */
export class DREMIRModel extends BaseModel<Resolved<DREMIRConfig>> {
  readonly name = 'dremir' as const;
  private readonly pairMatrix: EntityPairMatrixLayer;
  private readonly masker: PairMaskingLayer;
  private readonly inference: InferenceEncoderLayer[];
  private readonly classifier: tf.layers.Layer;

  constructor(config: DREMIRConfig) {
    super(DREMIR_SPEC.resolve(config));
    const c = this.config;
    this.pairMatrix = this.layer(
      'pairMatrix',
      new EntityPairMatrixLayer({ strategy: 'concat-ffn', units: c.pairSize, ffnUnits: c.pairFfnSize }),
    );
    this.masker = this.layer('masker', new PairMaskingLayer({ ratio: c.maskRatio, seed: c.seed }));
    this.inference = Array.from({ length: c.numLayers }, (_, i) =>
      this.layer(`inference.${i}`, new InferenceEncoderLayer({ ffnDim: c.ffnDim, recompute: c.recompute })),
    );
    this.classifier = this.layer('classifier', tf.layers.dense({ units: c.numClasses }));
    this.ensureBuilt();
  }

  protected override buildWeights(): void {
    const { hiddenSize: d, pairSize: u } = this.config;
    buildLayer(this.pairMatrix, [S.entity(d), S.pairs(d), S.doc(d), S.pairMask]); // [entity, context, doc, pairMask]
    for (const layer of this.inference) buildLayer(layer, [S.pairs(u), S.pairMask]);
    buildLayer(this.classifier, S.pairs(u));
    buildLayer(this.masker, [S.pairs(u), S.pairMask]); // training only: after the classifier
  }

  /** Inference module + classifier: `[b,e,e,u]` → logits `[b,e,e,r]`. */
  private classify(x: tf.Tensor4D, pairMask: tf.Tensor3D): tf.Tensor4D {
    const y = this.inference.reduce<tf.Tensor>((h, layer) => layer.apply([h, pairMask]) as tf.Tensor, x);
    return this.classifier.apply(y) as tf.Tensor4D;
  }

  forward(batch: ModelInput, options: ForwardOptions = {}): ForwardOutput {
    this.checkLabels(batch);
    const training = options.training ?? false;
    const c = this.config;
    return tf.tidy(() => {
      const enc = this.encode(batch, training);
      const { entity, context } = entityFeatures(enc, batch);
      const doc = documentState(enc.hidden, batch.attentionMask, c.docPooling); // h_doc [b,d]
      const image = this.pairMatrix.apply([entity, context, doc, batch.pairMask]) as tf.Tensor4D; // [b,e,e,u]
      const logits = this.classify(image, batch.pairMask);
      const losses: Record<string, tf.Scalar> = {};
      if (batch.labels) {
        const at = adaptiveThresholdLoss(logits, batch.labels, batch.pairMask);
        losses['at'] = at;
        if (training) {
          const [masked] = this.masker.apply([image, batch.pairMask], { seed: options.seed }) as tf.Tensor[];
          const maskedLogits = this.classify(masked as tf.Tensor4D, batch.pairMask);
          losses['atMasked'] = adaptiveThresholdLoss(maskedLogits, batch.labels, batch.pairMask);
          losses['kl'] = bidirectionalKLLoss(logits, maskedLogits, batch.pairMask);
          losses['total'] = at.add(losses['atMasked']).add(losses['kl'].mul(c.klWeight));
        } else losses['total'] = at.clone();
      }
      return { logits, losses };
    });
  }

  protected decode(logits: tf.Tensor4D): tf.Tensor {
    return adaptiveThresholdDecode(logits, { topK: this.config.topK });
  }

  static load(dir: string, overrides: Partial<CommonModelConfig> = {}): Promise<DREMIRModel> {
    return DREMIR_SPEC.load(dir, overrides);
  }
}

export const DREMIR_SPEC = modelSpec<DREMIRConfig, DREMIRModel>({
  name: 'dremir',
  preset: {
    model: { pairSize: 768, numLayers: 3, maskRatio: 0.2, klWeight: 1, topK: 4 },
    training: { ...PAPER_COMMON, epochs: 30, batchSize: 4, encoderLr: 5e-5, headLr: 1e-4 },
    notes:
      'DRE-MIR §3.2 (3 inference layers, 20 % masking, α = β = 1, warmup 6 %); pair width, epochs, batch size and lrs are not stated for DocRED (no public code): ATLOP values used.',
  },
  defaults: (c) => {
    const pairSize = c.pairSize ?? 768;
    return {
      pairSize,
      pairFfnSize: c.pairFfnSize ?? pairSize,
      numLayers: c.numLayers ?? 3,
      ffnDim: c.ffnDim ?? 4 * pairSize,
      recompute: c.recompute ?? true,
      maskRatio: c.maskRatio ?? 0.2,
      klWeight: c.klWeight ?? 1,
      topK: c.topK ?? 4,
      docPooling: c.docPooling ?? 'cls',
    };
  },
  check: (r) => {
    for (const k of ['pairSize', 'pairFfnSize', 'numLayers', 'ffnDim', 'topK'] as const) positiveInt(k, r[k]);
    if (r.pairSize % 4 !== 0) positiveInt('pairSize / 4 (I-MSA has 4 heads)', r.pairSize / 4);
    fraction('maskRatio', r.maskRatio);
    if (!(r.klWeight >= 0)) fraction('klWeight', r.klWeight);
    oneOf('docPooling', r.docPooling, ['cls', 'mean']);
  },
  create: (c) => new DREMIRModel(c),
});
