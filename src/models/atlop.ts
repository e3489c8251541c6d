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
import { BaseModel, loadInto, positiveInt, type CommonModelConfig } from './base.js';
import { BilinearPairHead, entityFeatures } from './parts.js';
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
export class ATLOPModel extends BaseModel<ATLOPConfig> {
  readonly name = 'atlop' as const;
  private readonly classifier: BilinearPairHead;

  constructor(config: ATLOPConfig) {
    super(config);
    const embSize = config.embSize ?? 768;
    const blockSize = config.blockSize ?? 64;
    positiveInt('embSize', embSize);
    positiveInt('blockSize', blockSize);
    positiveInt('topK', config.topK ?? 4);
    this.classifier = new BilinearPairHead({ embSize, blockSize, numClasses: config.numClasses });
    for (const [name, l] of this.classifier.layers('classifier')) this.layer(name, l);
    this.ensureBuilt();
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
    return adaptiveThresholdDecode(logits, { topK: this.config.topK ?? 4 });
  }

  static load(dir: string, overrides: Partial<CommonModelConfig> = {}): Promise<ATLOPModel> {
    return loadInto(dir, 'atlop', (c) => new ATLOPModel(c as unknown as ATLOPConfig), overrides);
  }
}
