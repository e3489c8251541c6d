/**
 * A custom model assembled from docre-kit's layers — no new math: ATLOP's entity and context
 * features, DocRE-II's gated entity-pair matrix, DocuNet's U-Net over that matrix, then DocRE-II's
 * extended cross attention (ECA) reading the U-Net output as queries and the pair matrix as
 * memory, and a linear classifier trained with ATLOP's adaptive-threshold loss.
 * `BaseModel` supplies the encoder step (cached features or a trainable encoder), variable
 * groups and save/load. Trained on the Re-DocRED split like the paper examples:
 * `npx tsx examples/custom.ts [--epochs 5] [--train-docs 400] [--seed 0]`
 */
import * as tf from '@tensorflow/tfjs';
import { ECALayer, EntityPairMatrixLayer, USegmentationLayer } from '../src/heads/index.js';
import { adaptiveThresholdDecode, adaptiveThresholdLoss } from '../src/losses/index.js';
import {
  BaseModel,
  entityFeatures,
  loadInto,
  type CommonModelConfig,
  type ForwardOptions,
  type ForwardOutput,
  type ModelInput,
} from '../src/models/index.js';
import { exampleArgs, runExample } from './redocred.js';

interface AtlopUNetECAConfig extends CommonModelConfig {
  /** pair-matrix width u (divisible by 4 for ECA's heads) */
  readonly pairSize: number;
  /** U-Net first-block channels */
  readonly unetChannels: number;
}

/** ATLOP features → gated pair matrix F → U-Net Y → ECA(Y over F) → linear → AT loss. */
class AtlopUNetECA extends BaseModel<AtlopUNetECAConfig> {
  readonly name = 'atlop-unet-eca';
  private readonly pairs: EntityPairMatrixLayer;
  private readonly unet: USegmentationLayer;
  private readonly eca: ECALayer;
  private readonly classifier: tf.layers.Layer;

  constructor(config: AtlopUNetECAConfig) {
    super(config);
    this.pairs = this.layer(
      'pairs',
      new EntityPairMatrixLayer({ strategy: 'gated', units: config.pairSize }),
    );
    this.unet = this.layer(
      'unet',
      new USegmentationLayer({ channels: config.unetChannels, outChannels: config.pairSize }),
    );
    this.eca = this.layer('eca', new ECALayer());
    this.classifier = this.layer('classifier', tf.layers.dense({ units: config.numClasses }));
    this.ensureBuilt();
  }

  forward(batch: ModelInput, options: ForwardOptions = {}): ForwardOutput {
    const training = options.training ?? false;
    return tf.tidy(() => {
      const { entity, context } = entityFeatures(this.encode(batch, training), batch); // [b,e,d], [b,e,e,d]
      const f = this.pairs.apply([entity, context, batch.pairMask]) as tf.Tensor4D; // [b,e,e,u]
      const y = this.unet.apply([f, batch.pairMask], { training }) as tf.Tensor4D; // [b,e,e,u]
      const z = this.eca.apply([y, f, batch.pairMask]) as tf.Tensor4D; // [b,e,e,u]
      const logits = this.classifier.apply(z.add(y)) as tf.Tensor4D; // [b,e,e,r]
      const losses: Record<string, tf.Scalar> = {};
      if (batch.labels) {
        losses['at'] = adaptiveThresholdLoss(logits, batch.labels, batch.pairMask);
        losses['total'] = losses['at'].clone();
      }
      return { logits, losses };
    });
  }

  protected decode(logits: tf.Tensor4D): tf.Tensor {
    return adaptiveThresholdDecode(logits, { topK: 4 });
  }

  static load(dir: string): Promise<AtlopUNetECA> {
    return loadInto(dir, 'atlop-unet-eca', (c) => new AtlopUNetECA(c as unknown as AtlopUNetECAConfig));
  }
}

const { epochs, trainDocs, seed } = exampleArgs({ epochs: 5, trainDocs: 400 });
await runExample('Custom model (ATLOP features + gated pair matrix + U-Net + ECA)', {
  makeModel: (hiddenSize, numClasses) =>
    new AtlopUNetECA({ hiddenSize, numClasses, pairSize: 64, unetChannels: 32 }),
  epochs,
  trainDocs,
  seed,
  headLr: 1e-3,
  showTriples: 10,
  budget: `${trainDocs} documents × ${epochs} epochs, batch 4, lr 1e-3, pair width 64, U-Net 32 channels`,
});
