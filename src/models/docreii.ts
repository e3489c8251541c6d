/**
 * DocRE-II (Zhang et al., ACL 2023 Findings, "Towards Better Document-level Relation Extraction
 * via Iterative Inference").
 *
 * Base module (§2.1): entity `h(e_i) = logsumexp(mentions)`, localized context `c_so` (eq. 1),
 * feature matrix `F_so = FFN([tanh(W_s[h_s ; c_so]) ; tanh(W_o[h_o ; c_so])])` (eqs. 2–3,
 * `EntityPairMatrixLayer` 'gated'), base logits `W_r F_so + b_r` (eq. 4).
 * Inference module (§2.2, `IterativeInferenceLayer`): relation matrix = sum of the relation
 * embeddings of the predicted multi-hot, N_I inference layers (ECA + fusion, eqs. 5–11),
 * classifier on `[F ; R]` (eq. 12), K iterations with accumulated logits (official `model.py`).
 *
 * Two-stage training (§2.3): `stage = 1` trains the base module alone with the AT loss;
 * `stage = 2` trains the inference module one-pass on the base predictions with noise (a rate
 * drawn from U(0, noiseMax) per step, 0.4 in the paper) plus the SimSiam loss (eq. 14) between
 * the (F, R̄) and the inverted (R̂, F) runs; the base is frozen or trained at a small lr by the
 * trainer (`variableGroups()` gives `base` and `inference`). `setStage` switches the objective.
 * At inference (`stage` 2) logits are those of K-step iterative inference; in stage 1 the base
 * logits. `trainableVariables()` follows the stage (stage 1: `base` only); to run both stages with
 * one Trainer, build the model in stage 2 (the default) and let each trainer stage call
 * `setStage` and keep its group (`base`, then `inference`).
 *
 * Dimension letters: b n d h m e r (DESIGN.md); u pair-feature width.
 */
import * as tf from '@tensorflow/tfjs';
import { adaptiveThresholdDecode, adaptiveThresholdLoss } from '../losses/adaptive-threshold.js';
import { simSiamLoss } from '../losses/simsiam.js';
import { EntityPairMatrixLayer } from '../heads/pair-matrix.js';
import {
  IterativeInferenceLayer,
  inferenceModule,
  injectRelationNoise,
  relationMatrix,
} from '../heads/inference.js';
import { ArgumentError } from '../core/errors.js';
import {
  BaseModel,
  buildLayer,
  buildShapes as S,
  fraction,
  positiveInt,
  type CommonModelConfig,
} from './base.js';
import { entityFeatures, offTape } from './parts.js';
import { prng } from '../core/initializers.js';
import { modelSpec, PAPER_COMMON, type Resolved } from './spec.js';
import type { ForwardOptions, ForwardOutput, ModelInput, StagedModel } from './types.js';

/** DocRE-II hyperparameters (defaults = the paper's). */
export interface DocREIIConfig extends CommonModelConfig {
  /** u: pair-feature width (official code: the encoder width, 768). Default 768. */
  readonly pairSize?: number;
  /** N_I inference layers. Default 2 (§3.4). */
  readonly numLayers?: number;
  /** K refinement iterations at inference. Default 3 (§3.4). */
  readonly iterations?: number;
  /** FFN width in the inference layers. Default 2·pairSize (official). */
  readonly ffnDim?: number;
  /**
   * Gradient checkpointing of the inference layers in training (src/core/gradients.ts
   * `recompute`): same values and gradients, one more forward pass of those layers, and their
   * intermediates are not kept for the backward pass (tfjs keeps every tensor of a gradient
   * scope otherwise, which exhausts wasm's 4 GiB heap at DocRED scale). Default true.
   */
  readonly recompute?: boolean;
  /** noise rate drawn from U(0, noiseMax) in stage 2. Default 0.4 (§3.2). */
  readonly noiseMax?: number;
  /** weight of the SimSiam loss L_C. Default 1. */
  readonly contrastWeight?: number;
  /** at most this many relations per pair at decode. Default 4. */
  readonly topK?: number;
  /** training stage (1 = base module only, 2 = inference module). Default 2. */
  readonly stage?: 1 | 2;
  /** seed of the noise sequence. Default 0. */
  readonly seed?: number;
}

/**
 * @example
 * const model = new DocREIIModel({ hiddenSize: 512, numClasses: 97, pairSize: 128 });
 * model.setStage(1); // train: losses {at, total}, optimise variableGroups().base
 * model.setStage(2); // train: losses {at, contrast, total}, optimise .inference (base frozen / small lr)
 */
export class DocREIIModel extends BaseModel<Resolved<DocREIIConfig>> implements StagedModel {
  readonly name = 'docreii' as const;
  private readonly pairMatrix: EntityPairMatrixLayer;
  private readonly baseClassifier: tf.layers.Layer;
  private readonly inference: IterativeInferenceLayer;
  private readonly predictorIn: tf.layers.Layer;
  private readonly predictorOut: tf.layers.Layer;
  private stage: 1 | 2;
  private readonly rand: () => number;
  private calls = 0;

  constructor(config: DocREIIConfig) {
    super(DOCREII_SPEC.resolve(config));
    const c = this.config;
    this.stage = c.stage;
    this.rand = prng(c.seed);
    this.pairMatrix = this.layer(
      'pairMatrix',
      new EntityPairMatrixLayer({ strategy: 'gated', units: c.pairSize }),
      'base',
    );
    this.baseClassifier = this.layer('baseClassifier', tf.layers.dense({ units: c.numClasses }), 'base');
    this.inference = this.layer(
      'inference',
      new IterativeInferenceLayer({ numLayers: c.numLayers, iterations: c.iterations, ffnDim: c.ffnDim }),
      'inference',
    );
    // SimSiam predictor MLP over M = [F ; R] (width 2u)
    this.predictorIn = this.layer(
      'predictor.in',
      tf.layers.dense({ units: c.pairSize, activation: 'relu' }),
      'inference',
    );
    this.predictorOut = this.layer('predictor.out', tf.layers.dense({ units: 2 * c.pairSize }), 'inference');
    this.ensureBuilt();
  }

  protected override buildWeights(): void {
    const { hiddenSize: d, pairSize: u, numClasses: r } = this.config;
    buildLayer(this.pairMatrix, [S.entity(d), S.pairs(d), S.pairMask]); // [entity, context, pairMask]
    buildLayer(this.baseClassifier, S.pairs(u));
    buildLayer(this.inference, [S.pairs(u), S.pairs(r), S.pairMask]); // [F_0, base logits, pairMask]
    buildLayer(this.predictorIn, S.pairs(2 * u)); // M = [F ; R]
    buildLayer(this.predictorOut, S.pairs(u));
  }

  /** Current training stage. */
  get trainingStage(): 1 | 2 {
    return this.stage;
  }

  /** Switches the objective: 1 = base module (AT loss), 2 = inference module (AT + SimSiam). */
  setStage(stage: 1 | 2): void {
    if (stage !== 1 && stage !== 2) throw new ArgumentError('stage', '1 | 2', stage);
    this.stage = stage;
  }

  /** SimSiam predictor: `[.., 2u]` → `[.., 2u]`. */
  private predictor(m: tf.Tensor): tf.Tensor {
    return this.predictorOut.apply(this.predictorIn.apply(m)) as tf.Tensor;
  }

  /**
   * Stage 1: the base module's logits (AT loss). Stage 2: evaluation runs K-step iterative
   * inference; training runs one inference pass on noisy base predictions (`stage2Training`).
   * `options.seed` (the trainer's per-step seed) fixes the noise; without it the model's own
   * sequence (config.seed, advanced per call) does.
   */
  forward(batch: ModelInput, options: ForwardOptions = {}): ForwardOutput {
    this.checkLabels(batch);
    const training = options.training ?? false;
    const c = this.config;
    // host-side draws happen outside tidy so they are the same whatever the backend
    const seed = options.seed ?? c.seed + 2 * this.calls++;
    const draw = options.seed === undefined ? this.rand : prng(options.seed);
    const noisy = training && this.stage === 2;
    const rates: [number, number] = noisy ? [draw() * c.noiseMax, draw() * c.noiseMax] : [0, 0];
    return tf.tidy(() => {
      const { features, baseLogits } = this.baseModule(batch, training);
      if (this.stage === 1) return withATLoss(baseLogits, batch);
      if (!noisy) return this.iterativeInference(features, baseLogits, batch);
      return this.stage2Training(features, baseLogits, batch, rates, seed);
    });
  }

  /** §2.1: feature matrix F_0 `[b,e,e,u]` (eqs. 1–3) and base logits `[b,e,e,r]` (eq. 4). */
  private baseModule(
    batch: ModelInput,
    training: boolean,
  ): { features: tf.Tensor4D; baseLogits: tf.Tensor4D } {
    const { entity, context } = entityFeatures(this.encode(batch, training), batch);
    const features = this.pairMatrix.apply([entity, context, batch.pairMask]) as tf.Tensor4D;
    return { features, baseLogits: this.baseClassifier.apply(features) as tf.Tensor4D };
  }

  /** §2.2 at inference: K iterations with accumulated logits (AT loss when labelled). */
  private iterativeInference(features: tf.Tensor4D, baseLogits: tf.Tensor4D, batch: ModelInput): Output {
    return withATLoss(this.inference.apply([features, baseLogits, batch.pairMask]) as tf.Tensor4D, batch);
  }

  /**
   * §2.3, stage 2 training: one inference pass on the base predictions with noise at `rates`
   * (seeds `seed`, `seed + 1`), plus the SimSiam loss (eq. 14) between the (F, R̄) and the
   * inverted (R̂, F) runs.
   */
  private stage2Training(
    features: tf.Tensor4D,
    baseLogits: tf.Tensor4D,
    batch: ModelInput,
    rates: readonly [number, number],
    seed: number,
  ): Output {
    const c = this.config;
    const pm = batch.pairMask;
    const params = this.inference.params();
    // base predictions with noise: decisions, computed off the gradient tape
    const noisyPrediction = (rate: number, k: number) =>
      offTape((l) =>
        injectRelationNoise(adaptiveThresholdDecode(l).mul(pm.expandDims(-1)), pm, { rate, seed: seed + k }),
      )(baseLogits);
    const rBar = relationMatrix(noisyPrediction(rates[0], 0), params.relationEmbeddings); // R̄ [b,e,e,u]
    const rHat = relationMatrix(noisyPrediction(rates[1], 1), params.relationEmbeddings); // R̂ [b,e,e,u]
    const ckpt = { recompute: c.recompute };
    const bar = inferenceModule(features, rBar, pm, params, undefined, ckpt); // (F, R̄)
    const hat = inferenceModule(rHat, features, pm, params, undefined, ckpt); // (R̂, F): inverted order
    const logits = baseLogits.add(bar.logits) as tf.Tensor4D;
    const losses: Record<string, tf.Scalar> = {};
    if (batch.labels) {
      const mBar = tf.concat([bar.features, bar.relations], -1); // [F_NI ; R̄_NI]
      const mHat = tf.concat([hat.relations, hat.features], -1); // [F_NI ; R̂_NI]
      losses['at'] = adaptiveThresholdLoss(logits, batch.labels, pm);
      // a zero vector (padded pair, or a predictor output whose ReLUs are all off) gives the
      // cosine's norm a NaN gradient (0·∞) even where the mask drops the pair: such rows are
      // replaced by a constant direction, chosen off the tape
      const real = pm.expandDims(-1);
      const safe = (x: tf.Tensor) => {
        const ok = offTape((y) => y.square().sum(-1, true).greater(1e-20).toFloat().mul(real))(x); // [b,e,e,1]
        return x.mul(ok).add(tf.sub(1, ok));
      };
      const [pHat, pBar] = [this.predictor(mHat), this.predictor(mBar)].map(safe);
      losses['contrast'] = simSiamLoss(pHat!, safe(mBar), pBar!, safe(mHat), pm);
      losses['total'] = losses['at'].add(losses['contrast'].mul(c.contrastWeight));
    }
    return { logits, losses };
  }

  protected decode(logits: tf.Tensor4D): tf.Tensor {
    return adaptiveThresholdDecode(logits, { topK: this.config.topK });
  }

  /** The variables the current stage's objective trains: stage 1 `base`, stage 2 everything (freeze `base` in the trainer). */
  protected override objectiveGroups(): string[] {
    return this.stage === 1 ? ['base', ...(this.encoder ? ['encoder'] : [])] : super.objectiveGroups();
  }

  static load(dir: string, overrides: Partial<CommonModelConfig> = {}): Promise<DocREIIModel> {
    return DOCREII_SPEC.load(dir, overrides);
  }
}

/** `ForwardOutput` as a type alias (a tidy may return it). */
type Output = { logits: tf.Tensor4D; losses: Record<string, tf.Scalar> };

/** `logits` with the AT loss as `at` and `total` when the batch is labelled. */
function withATLoss(logits: tf.Tensor4D, batch: ModelInput): Output {
  const losses: Record<string, tf.Scalar> = {};
  if (batch.labels) {
    losses['at'] = adaptiveThresholdLoss(logits, batch.labels, batch.pairMask);
    losses['total'] = losses['at'].clone();
  }
  return { logits, losses };
}

export const DOCREII_SPEC = modelSpec<DocREIIConfig, DocREIIModel>({
  name: 'docreii',
  preset: {
    model: { pairSize: 768, numLayers: 2, iterations: 3, noiseMax: 0.4, contrastWeight: 1, topK: 4 },
    training: {
      ...PAPER_COMMON,
      epochs: 30,
      batchSize: 8,
      encoderLr: 5e-5,
      headLr: 1e-4,
      stage2: { epochs: 15, baseLr: 1e-5, inferenceLr: 1e-4 },
    },
    notes:
      'DocRE-II §3.2–3.4 and Table 7 (BERT, DocRED): N_I = 2, K = 3, noise U(0, 0.4); stage 1: 30 epochs, batch 8, lr 5e-5 / 1e-4; stage 2: 15 epochs, base 1e-5, inference 1e-4.',
  },
  defaults: (c) => {
    const pairSize = c.pairSize ?? 768;
    return {
      pairSize,
      numLayers: c.numLayers ?? 2,
      iterations: c.iterations ?? 3,
      ffnDim: c.ffnDim ?? 2 * pairSize,
      recompute: c.recompute ?? true,
      noiseMax: c.noiseMax ?? 0.4,
      contrastWeight: c.contrastWeight ?? 1,
      topK: c.topK ?? 4,
      stage: c.stage ?? 2,
    };
  },
  check: (r) => {
    for (const k of ['pairSize', 'numLayers', 'iterations', 'ffnDim', 'topK'] as const) positiveInt(k, r[k]);
    if (r.pairSize % 4 !== 0)
      throw new ArgumentError('pairSize', 'a multiple of 4 (ECA has 4 heads)', r.pairSize);
    fraction('noiseMax', r.noiseMax);
    if (!(r.contrastWeight >= 0))
      throw new ArgumentError('contrastWeight', 'a number >= 0', r.contrastWeight);
    if (r.stage !== 1 && r.stage !== 2) throw new ArgumentError('stage', '1 | 2', r.stage);
  },
  create: (c) => new DocREIIModel(c),
});
