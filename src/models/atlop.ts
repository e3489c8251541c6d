/**
 * ATLOP (Zhou et al., AAAI 2021): adaptive thresholding + localized context pooling.
 *
 * entity `e_i = logsumexp(mention start markers)` (§2.1) → localized context `c_so` (§2.3,
 * eqs. 6–8) → `zs = tanh(W_s[e_s; c_so])`, `zo = tanh(W_o[e_o; c_so])` (eqs. 3–4) → group
 * bilinear logits (eq. 5) → adaptive-threshold loss (eqs. 9–11); decode keeps classes above TH,
 * at most `topK` per pair (official code: 4).
 *
 * Dimension letters: b n d h m e r (DESIGN.md).
 */
import * as tf from '@tensorflow/tfjs';
import { adaptiveThresholdDecode, adaptiveThresholdLoss } from '../losses/adaptive-threshold.js';
import { BaseModel, positiveInt, type CommonModelConfig } from './base.js';
import { BilinearPairHead, entityFeatures } from './parts.js';
import { modelSpec, PAPER_COMMON, type Resolved } from './spec.js';
import type { ForwardOptions, ForwardOutput, ModelInput } from './types.js';

/** ATLOP hyperparameters (defaults = the official code's). */
export interface ATLOPConfig extends CommonModelConfig {
  /** w: extractor width. Default 768. */
  readonly embSize?: number;
  /** k: bilinear group size; must divide embSize. Default 64. */
  readonly blockSize?: number;
  /** at most this many relations per pair at decode. Default 4. */
  readonly topK?: number;
}

/**
 * @example
 * const model = new ATLOPModel({ hiddenSize: 512, numClasses: 97, embSize: 256, blockSize: 32 });
 * const { logits, losses } = model.forward(batch, { training: true }); // [b,e,e,97], {at, total}
 */
export class ATLOPModel extends BaseModel<Resolved<ATLOPConfig>> {
  readonly name = 'atlop' as const;
  private readonly classifier: BilinearPairHead;

  constructor(config: ATLOPConfig) {
    super(ATLOP_SPEC.resolve(config));
    const { embSize, blockSize, numClasses } = this.config;
    this.classifier = new BilinearPairHead({ embSize, blockSize, numClasses });
    for (const [name, l] of this.classifier.layers('classifier')) this.layer(name, l);
    this.ensureBuilt();
  }

  protected override buildWeights(): void {
    this.classifier.build(this.config.hiddenSize, this.config.hiddenSize); // [e_s ; c_so]
  }

  forward(batch: ModelInput, options: ForwardOptions = {}): ForwardOutput {
    this.checkLabels(batch);
    return tf.tidy(() => {
      const enc = this.encode(batch, options.training ?? false);
      const { entity, context } = entityFeatures(enc, batch);
      const logits = this.classifier.apply(entity, context); // [b,e,e,r]
      const losses: Record<string, tf.Scalar> = {};
      if (batch.labels) {
        losses['at'] = adaptiveThresholdLoss(logits, batch.labels, batch.pairMask) as tf.Scalar;
        losses['total'] = losses['at'].clone();
      }
      return { logits, losses };
    });
  }

  protected decode(logits: tf.Tensor4D): tf.Tensor {
    return adaptiveThresholdDecode(logits, { topK: this.config.topK });
  }

  static load(dir: string, overrides: Partial<CommonModelConfig> = {}): Promise<ATLOPModel> {
    return ATLOP_SPEC.load(dir, overrides);
  }
}

export const ATLOP_SPEC = modelSpec<ATLOPConfig, ATLOPModel>({
  name: 'atlop',
  preset: {
    model: { embSize: 768, blockSize: 64, topK: 4 },
    training: { ...PAPER_COMMON, epochs: 30, batchSize: 4, encoderLr: 5e-5, headLr: 1e-4 },
    notes:
      'ATLOP paper §4.1 and official run_bert.sh (emb 768, block 64, 30 epochs, batch 4, lr 5e-5 / 1e-4, warmup 6 %, clip 1, eps 1e-6); decode top-4 (official get_label num_labels=4).',
  },
  defaults: (c) => ({ embSize: c.embSize ?? 768, blockSize: c.blockSize ?? 64, topK: c.topK ?? 4 }),
  check: (r) => {
    for (const k of ['embSize', 'blockSize', 'topK'] as const) positiveInt(k, r[k]);
  },
  create: (c) => new ATLOPModel(c),
});
