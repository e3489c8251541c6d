/**
 * DocuNet (Zhang et al., IJCAI 2021): document-level RE as semantic segmentation.
 *
 * entity `e_i = logsumexp(mentions)` (eq. 2) → context-based entity-level relation matrix
 * `F_so = W·c_so + b` (eqs. 4–5; the official code projects straight to the U-Net's input width
 * `unetIn` = 3, merging the paper's W2 and W3 of eq. 6) → U-shaped segmentation
 * `Y = U(F)` (eq. 6) → `zs = tanh(W_s[e_s ; Y_so])`, `zo = tanh(W_o[e_o ; Y_so])` and the group
 * bilinear classifier (eqs. 7–9, official code's concatenation) → balanced softmax loss
 * (eq. 11), decode `s_r > 0`, at most `topK` (official: 3) per pair.
 * The official code pads every document to a fixed 42 × 42 grid; `USegmentationLayer` pads
 * internally to a multiple of 4 and masks padded pairs instead (see src/heads/unet.ts).
 *
 * Dimension letters: b n d h m e r (DESIGN.md); c U-Net channels.
 */
import * as tf from '@tensorflow/tfjs';
import { balancedSoftmaxDecode, balancedSoftmaxLoss } from '../losses/balanced-softmax.js';
import { EntityPairMatrixLayer } from '../heads/pair-matrix.js';
import { USegmentationLayer } from '../heads/unet.js';
import { BaseModel, buildLayer, buildShapes as S, positiveInt, type CommonModelConfig } from './base.js';
import { BilinearPairHead, entityFeatures } from './parts.js';
import { modelSpec, PAPER_COMMON, type Resolved } from './spec.js';
import type { ForwardOptions, ForwardOutput, ModelInput } from './types.js';

/** DocuNet hyperparameters (defaults = the official code's). */
export interface DocuNetConfig extends CommonModelConfig {
  /** channels of the relation matrix fed to the U-Net (official `unet_in_dim`). Default 3. */
  readonly unetIn?: number;
  /** first U-Net block width (official `down_dim`). Default 256. */
  readonly unetChannels?: number;
  /** U-Net output channels (official `unet_out_dim`). Default 256. */
  readonly unetOut?: number;
  /** classifier extractor width. Default 768. */
  readonly embSize?: number;
  /** bilinear group size. Default 64. */
  readonly blockSize?: number;
  /** at most this many relations per pair at decode. Default 3. */
  readonly topK?: number;
}

/**
 * @example
 * const model = new DocuNetModel({ hiddenSize: 512, numClasses: 97, unetChannels: 64, unetOut: 64, embSize: 256, blockSize: 32 });
 * const { logits, losses } = model.forward(batch, { training: true }); // losses: {balanced, total}
 */
export class DocuNetModel extends BaseModel<Resolved<DocuNetConfig>> {
  readonly name = 'docunet' as const;
  private readonly relationMap: EntityPairMatrixLayer;
  private readonly unet: USegmentationLayer;
  private readonly classifier: BilinearPairHead;

  constructor(config: DocuNetConfig) {
    super(DOCUNET_SPEC.resolve(config));
    const c = this.config;
    this.relationMap = this.layer(
      'relationMap',
      new EntityPairMatrixLayer({ strategy: 'context', units: c.unetIn }),
    );
    this.unet = this.layer(
      'unet',
      new USegmentationLayer({ channels: c.unetChannels, outChannels: c.unetOut }),
    );
    this.classifier = new BilinearPairHead({
      embSize: c.embSize,
      blockSize: c.blockSize,
      numClasses: c.numClasses,
    });
    for (const [name, l] of this.classifier.layers('classifier')) this.layer(name, l);
    this.ensureBuilt();
  }

  protected override buildWeights(): void {
    const { hiddenSize: d, unetIn, unetOut } = this.config;
    buildLayer(this.relationMap, [S.pairs(d), S.pairMask]); // [context, pairMask]
    buildLayer(this.unet, [S.pairs(unetIn), S.pairMask]);
    this.classifier.build(d, unetOut); // [e_s ; Y_so]
  }

  forward(batch: ModelInput, options: ForwardOptions = {}): ForwardOutput {
    this.checkLabels(batch);
    const training = options.training ?? false;
    return tf.tidy(() => {
      const enc = this.encode(batch, training);
      const { entity, context } = entityFeatures(enc, batch);
      const f = this.relationMap.apply([context, batch.pairMask]) as tf.Tensor4D; // [b,e,e,unetIn]
      const y = this.unet.apply([f, batch.pairMask], { training }) as tf.Tensor4D; // [b,e,e,unetOut]
      const logits = this.classifier.apply(entity, y); // [b,e,e,r]
      const losses: Record<string, tf.Scalar> = {};
      if (batch.labels) {
        losses['balanced'] = balancedSoftmaxLoss(logits, batch.labels, batch.pairMask) as tf.Scalar;
        losses['total'] = losses['balanced'].clone();
      }
      return { logits, losses };
    });
  }

  protected decode(logits: tf.Tensor4D): tf.Tensor {
    return balancedSoftmaxDecode(logits, { topK: this.config.topK });
  }

  static load(dir: string, overrides: Partial<CommonModelConfig> = {}): Promise<DocuNetModel> {
    return DOCUNET_SPEC.load(dir, overrides);
  }
}

export const DOCUNET_SPEC = modelSpec<DocuNetConfig, DocuNetModel>({
  name: 'docunet',
  preset: {
    model: { unetIn: 3, unetChannels: 256, unetOut: 256, embSize: 768, blockSize: 64, topK: 3 },
    training: { ...PAPER_COMMON, epochs: 30, batchSize: 2, encoderLr: 2e-5, headLr: 2e-5 },
    notes:
      'DocuNet paper §4.2 (lr 2e-5 with 6 % warmup, N = 42, context-based map) and DESIGN.md (U-Net 256/512, out 256, decode top-3); batch size not stated in the paper: 2; one lr for all parameters as the paper states.',
  },
  defaults: (c) => ({
    unetIn: c.unetIn ?? 3,
    unetChannels: c.unetChannels ?? 256,
    unetOut: c.unetOut ?? 256,
    embSize: c.embSize ?? 768,
    blockSize: c.blockSize ?? 64,
    topK: c.topK ?? 3,
  }),
  check: (r) => {
    for (const k of ['unetIn', 'unetChannels', 'unetOut', 'embSize', 'blockSize', 'topK'] as const)
      positiveInt(k, r[k]);
  },
  create: (c) => new DocuNetModel(c),
});
