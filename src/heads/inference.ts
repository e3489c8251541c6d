/**
 * DocRE-II inference module (Zhang et al., "Towards Better Document-level Relation Extraction via
 * Iterative Inference", §2.2, Figure 3): the fusion sub-layer (eqs. 8–9), the inference layer
 * (eqs. 5–11, on ECA of ./eca.ts), the classifier (eq. 12), the relation matrix and relation
 * noise, and K-step iterative inference with accumulated logits.
 *
 * Differences from the official code (DeepLearnXMU/DocRE-II, `model.py`), following the paper
 * and DESIGN.md instead: the official per-pair FFN is Linear(d,2d)-ReLU-Linear(2d,d) (our default
 * `ffnDim` = 2·d as well); dropout is omitted. Iterative inference follows `model.py`: logits are
 * accumulated, `logits ← logits + classifier(inference(F, emb(pred)))`, and the next relation
 * matrix is the sum of the relation embeddings of the adaptive-threshold prediction of the
 * accumulated logits (the losses' decoder).
 *
 * Dimensions: b documents · e entities · d width · r relation classes (incl. class 0 = threshold / NA).
 */
import * as tf from '@tensorflow/tfjs';
import { adaptiveThresholdDecode } from '../losses/adaptive-threshold.js';
import { ArgumentError, ShapeError, checkShape } from '../core/errors.js';
import { flattenTensors, recompute } from '../core/gradients.js';
import { registerClass } from '../core/registry.js';
import { overRowBlocks, positionBlocks } from './pair-paths.js';
import {
  addDense,
  addFFN,
  addNorm,
  dense,
  feedForward,
  layerNorm,
  choosePairs,
  seededUniform,
  type DenseParams,
  type FFNParams,
  type LayerArgs,
  type NormParams,
  checkFFNDim,
  ffnConfig,
  lastDim,
  ParamLayer,
  shapesOf,
  tensorsOf,
  type AddWeight,
  type LayerVars,
} from '../core/layer-kit.js';
import { ECA_HEADS, eca, addECA, type ECAParams } from './eca.js';

/**
 * DocRE-II fusion sub-layer (eqs. 8–9): `s = σ([F̃ ; R̃]·W_g + b_g)`, `M̃ = s∘F̃ + (1−s)∘R̃`.
 * @param f [.., d]; @param r [.., d]; @param params kernel [2d, d], bias [d]
 * @returns [.., d]
 * @example
 * const mTilde = fusionGate(fTilde, rTilde, { kernel, bias });
 */
export function fusionGate(f: tf.Tensor, r: tf.Tensor, params: DenseParams): tf.Tensor {
  if (f.shape.join() !== r.shape.join())
    throw new ShapeError('r', `[${f.shape.join(', ')}] (the shape of f)`, r.shape);
  const d = f.shape[f.rank - 1]!;
  checkShape('params.kernel', params.kernel.shape, [2 * d, d]);
  checkShape('params.bias', params.bias.shape, [d]);
  return tf.tidy(() => {
    const s = tf.sigmoid(dense(tf.concat([f, r], -1), params));
    return s.mul(f).add(tf.sub(1, s).mul(r));
  });
}

/** Parameters of one DocRE-II inference layer. */
export interface InferenceLayerParams {
  /** ECA of the feature-level inference (queries from F), memory [F;R] of width 2d. */
  featureAttention: ECAParams;
  /** ECA of the relation-level inference (queries from R). */
  relationAttention: ECAParams;
  /** Fusion gate, kernel [2d, d]. */
  fusion: DenseParams;
  featureFFN: FFNParams;
  featureNorm: NormParams;
  relationFFN: FFNParams;
  relationNorm: NormParams;
}

/**
 * One DocRE-II inference layer (eqs. 5–11):
 *   M = [F ; R];  F̃ = ECA_F(F, M);  R̃ = ECA_R(R, M);  M̃ = fusion(F̃, R̃);
 *   F' = LN(F + FFN_F(M̃));  R' = LN(R + FFN_R(M̃)).
 * @param features [b,e,e,d] F_l; @param relations [b,e,e,d] R_l; @param pairMask [b,e,e]
 * @returns F_{l+1}, R_{l+1}, both [b,e,e,d]
 * @example
 * const { features, relations } = inferenceLayer(F, R, pairMask, layer.params());
 */
export function inferenceLayer(
  features: tf.Tensor,
  relations: tf.Tensor,
  pairMask: tf.Tensor,
  params: InferenceLayerParams,
  epsilon = 1e-5,
): { features: tf.Tensor4D; relations: tf.Tensor4D } {
  if (features.shape.join() !== relations.shape.join())
    throw new ShapeError(
      'relations',
      `[${features.shape.join(', ')}] (the shape of features)`,
      relations.shape,
    );
  return tf.tidy(() => {
    const memory = tf.concat([features, relations], -1); // [b,e,e,2d]
    const fTilde = eca(features, memory, pairMask, params.featureAttention);
    const rTilde = eca(relations, memory, pairMask, params.relationAttention);
    memory.dispose();
    // position-wise from here: blocks of rows, so the [b,e,e,ffnDim] hidden layers never exist whole
    const [b, e] = features.shape as [number, number];
    const { featureAttention: _f, relationAttention: _r, ...rest } = params;
    const { tensors, rebuild } = flattenTensors(rest);
    const both = overRowBlocks(
      positionBlocks(b, e, params.featureFFN.inner.kernel.shape[1]!),
      [features, relations, fTilde, rTilde],
      tensors,
      (_, [f, r, ft, rt], ps) => {
        const p = rebuild(ps);
        const mTilde = fusionGate(ft!, rt!, p.fusion);
        const f1 = layerNorm(f!.add(feedForward(mTilde, p.featureFFN)), p.featureNorm, epsilon);
        const r1 = layerNorm(r!.add(feedForward(mTilde, p.relationFFN)), p.relationNorm, epsilon);
        return tf.concat([f1, r1], -1);
      },
    ); // [b,e,e,2d] = [F' ; R']
    const [f1, r1] = tf.split(both, 2, -1) as [tf.Tensor4D, tf.Tensor4D];
    return { features: f1, relations: r1 };
  });
}

/** Parameters of the DocRE-II inference module: relation embeddings, N_I layers, classifier. */
export interface IterativeInferenceParams {
  /** emb(·) of the relation matrix: [r, d]. */
  relationEmbeddings: tf.Tensor;
  layers: InferenceLayerParams[];
  /** eq. 12: kernel [2d, r], bias [r]. */
  classifier: DenseParams;
}

/**
 * Adaptive-threshold decoding without top-k (ATLOP `get_label`): class r > 0 is predicted when
 * `logit_r > logit_0`; column 0 is 1 when nothing is predicted. The losses' decoder,
 * `adaptiveThresholdDecode(logits)` (kept under this name for the package's users).
 * @param logits [.., r] @returns [.., r] multi-hot float32
 */
export const thresholdDecode = (logits: tf.Tensor): tf.Tensor => adaptiveThresholdDecode(logits);

/**
 * Relation matrix `R = emb(pred)`: the sum of the relation embeddings of a multi-hot prediction.
 * @param multiHot [b,e,e,r]; @param embeddings [r,d] @returns [b,e,e,d]
 */
export function relationMatrix(multiHot: tf.Tensor, embeddings: tf.Tensor): tf.Tensor4D {
  const r = embeddings.shape[0]!;
  checkShape('multiHot', multiHot.shape, [null, null, null, r]);
  return dense(multiHot, { kernel: embeddings, bias: tf.zeros([embeddings.shape[1]!]) }) as tf.Tensor4D;
}

/** Options of `injectRelationNoise`. */
export interface RelationNoiseOptions {
  /** Fraction of each document's real pairs whose prediction is replaced (paper: r ~ U(0, 0.4)). */
  rate: number;
  /** PRNG seed (reproducible on every backend). Default 0. */
  seed?: number;
}

/**
 * DocRE-II noise injection (§2.3): in each document, `round(rate · #real pairs)` real pairs
 * (seeded choice) get their prediction replaced by a one-hot of a class it did not predict
 * (pairs that predict every class keep their row). Runs on the device, no read-back.
 * @param multiHot [b,e,e,r]; @param pairMask [b,e,e] @returns [b,e,e,r]
 * @example
 * const noisy = injectRelationNoise(pred, pairMask, { rate: 0.2, seed: 3 });
 */
export function injectRelationNoise(
  multiHot: tf.Tensor,
  pairMask: tf.Tensor,
  { rate, seed = 0 }: RelationNoiseOptions,
): tf.Tensor4D {
  const dims = checkShape('multiHot', multiHot.shape, ['b', 'e', 'e', 'r']);
  checkShape('pairMask', pairMask.shape, ['b', 'e', 'e'], dims);
  if (!(rate >= 0 && rate <= 1)) throw new ArgumentError('rate', 'a number in [0, 1]', rate);
  return tf.tidy(() => {
    const chosen = choosePairs(pairMask, rate, seed).expandDims(-1); // [b,e,e,1]
    // a random class among those not predicted: argmax of seeded scores, predicted ones at −1
    const scores = tf.where(
      multiHot.greater(0),
      tf.fill(multiHot.shape, -1),
      seededUniform(multiHot.shape, seed + 1),
    );
    const wrong = tf.oneHot(tf.argMax(scores, -1), dims['r']!).toFloat(); // [b,e,e,r]
    const replace = chosen.mul(tf.min(multiHot, -1, true).lessEqual(0).toFloat()); // pairs with a wrong class
    return multiHot.mul(tf.sub(1, replace)).add(wrong.mul(replace)) as tf.Tensor4D;
  });
}

/**
 * The inference layers then the classifier (eq. 12): `P = W_c[F_NI ; R_NI] + b_c` (logits).
 * @param features [b,e,e,d] F_0; @param relations [b,e,e,d] R_0
 * @returns logits [b,e,e,r] and the top layer's F, R [b,e,e,d]
 */
export function inferenceModule(
  features: tf.Tensor,
  relations: tf.Tensor,
  pairMask: tf.Tensor,
  params: IterativeInferenceParams,
  epsilon = 1e-5,
  options: { recompute?: boolean } = {},
): { logits: tf.Tensor4D; features: tf.Tensor4D; relations: tf.Tensor4D } {
  return tf.tidy(() => {
    let state = { features: features as tf.Tensor4D, relations: relations as tf.Tensor4D };
    for (const layer of params.layers)
      state = options.recompute
        ? recomputedInferenceLayer(state.features, state.relations, pairMask, layer, epsilon)
        : inferenceLayer(state.features, state.relations, pairMask, layer, epsilon);
    const logits = dense(tf.concat([state.features, state.relations], -1), params.classifier) as tf.Tensor4D;
    return { logits, ...state };
  });
}

/** `inferenceLayer` under `recompute` (gradient checkpointing): [F'; R'] as one output, split after. */
function recomputedInferenceLayer(
  features: tf.Tensor4D,
  relations: tf.Tensor4D,
  pairMask: tf.Tensor,
  params: InferenceLayerParams,
  epsilon: number,
): { features: tf.Tensor4D; relations: tf.Tensor4D } {
  const { tensors, rebuild } = flattenTensors(params);
  const both = recompute(
    (f, r, m, ...p) => {
      const out = inferenceLayer(f!, r!, m!, rebuild(p), epsilon);
      return tf.concat([out.features, out.relations], -1);
    },
    [features, relations, pairMask, ...tensors],
  );
  const [f, r] = tf.split(both, 2, -1) as [tf.Tensor4D, tf.Tensor4D];
  return { features: f, relations: r };
}

/** Options of `iterativeInference`. */
export interface IterativeInferenceOptions {
  /** K, the number of refinement steps. Default 3 (paper). */
  iterations?: number;
  /** Noise injected into the first relation matrix (training). Default none. */
  noise?: RelationNoiseOptions;
  epsilon?: number;
}

/**
 * DocRE-II iterative inference (§2.2; accumulation as in the official `model.py`):
 *   logits⁰ = base logits;  pred⁰ = decode(logits⁰)
 *   for t < K: logitsᵗ⁺¹ = logitsᵗ + inferenceModule(F, emb(predᵗ)).logits;  predᵗ⁺¹ = decode(logitsᵗ⁺¹)
 * Predictions of padded pairs are zeroed before embedding.
 *
 * @param features [b,e,e,d] F_0; @param baseLogits [b,e,e,r]; @param pairMask [b,e,e]
 * @returns accumulated logits [b,e,e,r] and the last prediction [b,e,e,r]
 * @example
 * const { logits } = iterativeInference(F0, baseLogits, pairMask, layer.params(), { iterations: 3 });
 */
export function iterativeInference(
  features: tf.Tensor,
  baseLogits: tf.Tensor,
  pairMask: tf.Tensor,
  params: IterativeInferenceParams,
  { iterations = 3, noise, epsilon = 1e-5 }: IterativeInferenceOptions = {},
): { logits: tf.Tensor4D; predictions: tf.Tensor4D } {
  const dims = checkShape('features', features.shape, ['b', 'e', 'e', 'd']);
  checkShape('baseLogits', baseLogits.shape, ['b', 'e', 'e', 'r'], dims);
  checkShape('pairMask', pairMask.shape, ['b', 'e', 'e'], dims);
  checkShape('params.relationEmbeddings', params.relationEmbeddings.shape, ['r', 'd'], dims);
  if (!(Number.isInteger(iterations) && iterations >= 1))
    throw new ArgumentError('iterations', 'an integer ≥ 1', iterations);
  const m = pairMask.expandDims(-1);
  let logits = tf.keep(baseLogits.clone()) as tf.Tensor4D;
  let pred = tf.tidy(() => adaptiveThresholdDecode(baseLogits).mul(m)) as tf.Tensor4D;
  for (let t = 0; t < iterations; t++) {
    if (t === 0 && noise) {
      const noisy = injectRelationNoise(pred, pairMask, noise);
      pred.dispose();
      pred = noisy;
    }
    const next = tf.tidy(() =>
      logits.add(
        inferenceModule(features, relationMatrix(pred, params.relationEmbeddings), pairMask, params, epsilon)
          .logits,
      ),
    ) as tf.Tensor4D;
    logits.dispose();
    pred.dispose();
    logits = next;
    pred = tf.tidy(() => adaptiveThresholdDecode(logits).mul(m)) as tf.Tensor4D;
  }
  m.dispose();
  return { logits, predictions: pred };
}

// ---------------------------------------------------------------------------------------------
// Layers

function addInferenceLayer(
  add: AddWeight,
  prefix: string,
  d: number,
  ffnDim: number,
): LayerVars<InferenceLayerParams> {
  return {
    featureAttention: addECA(add, `${prefix}featureAttention/`, d, 2 * d),
    relationAttention: addECA(add, `${prefix}relationAttention/`, d, 2 * d),
    fusion: addDense(add, `${prefix}fusion`, 2 * d, d),
    featureFFN: addFFN(add, `${prefix}featureFFN`, d, ffnDim),
    featureNorm: addNorm(add, `${prefix}featureNorm`, d),
    relationFFN: addFFN(add, `${prefix}relationFFN`, d, ffnDim),
    relationNorm: addNorm(add, `${prefix}relationNorm`, d),
  };
}

/**
 * Fusion gate as a layer (eqs. 8–9): `apply([fTilde [.., d], rTilde [.., d]]) → [.., d]`.
 * @example
 * const m = new FusionGateLayer({}).apply([fTilde, rTilde]) as tf.Tensor;
 */
export class FusionGateLayer extends ParamLayer<DenseParams> {
  static className = 'FusionGateLayer';
  constructor(args: LayerArgs = {}) {
    super(args);
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [fs] = shapesOf(inputShape, 2, 'FusionGateLayer', '[f, r]');
    const d = lastDim(fs!, 'FusionGateLayer f');
    this.vars = addDense(this.adder(), 'gate', 2 * d, d);
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [f, r] = tensorsOf(inputs, 2, 'FusionGateLayer', '[f, r]');
    return tf.tidy(() => fusionGate(f!, r!, this.params()));
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return shapesOf(inputShape, 2, 'FusionGateLayer', '[f, r]')[0]!;
  }
}
registerClass(FusionGateLayer);

/** Arguments of `InferenceLayer` and `IterativeInferenceLayer`. */
export interface InferenceLayerArgs extends LayerArgs {
  /** Hidden width of the two FFNs. Default 2·d (official code). */
  ffnDim?: number;
  /** LayerNorm epsilon. Default 1e-5. */
  epsilon?: number;
}

/**
 * DocRE-II inference layer (eqs. 5–11). `apply([F [b,e,e,d], R [b,e,e,d], pairMask]) → [F', R']`.
 * @example
 * const [F1, R1] = new InferenceLayer({}).apply([F, R, pairMask]) as tf.Tensor[];
 */
export class InferenceLayer extends ParamLayer<InferenceLayerParams> {
  static className = 'InferenceLayer';
  readonly ffnDim?: number;
  readonly epsilon: number;
  constructor(args: InferenceLayerArgs = {}) {
    super(args);
    checkFFNDim(args.ffnDim);
    if (args.ffnDim !== undefined) this.ffnDim = args.ffnDim;
    this.epsilon = args.epsilon ?? 1e-5;
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [fs] = shapesOf(inputShape, 3, 'InferenceLayer', '[F, R, pairMask]');
    const d = lastDim(fs!, 'InferenceLayer F', ECA_HEADS);
    this.vars = addInferenceLayer(this.adder(), '', d, this.ffnDim ?? 2 * d);
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    const [f, r, pm] = tensorsOf(inputs, 3, 'InferenceLayer', '[F, R, pairMask]');
    return tf.tidy(() => {
      const out = inferenceLayer(f!, r!, pm!, this.params(), this.epsilon);
      return [out.features, out.relations];
    });
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape[] {
    const [fs] = shapesOf(inputShape, 3, 'InferenceLayer', '[F, R, pairMask]');
    return [fs!, fs!];
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...ffnConfig(this.ffnDim, this.epsilon) };
  }
}
registerClass(InferenceLayer);

/** Arguments of `IterativeInferenceLayer`. */
export interface IterativeInferenceLayerArgs extends InferenceLayerArgs {
  /** N_I, the number of inference layers. Default 2 (paper). */
  numLayers?: number;
  /** K, refinement steps at inference. Default 3 (paper). */
  iterations?: number;
}

/**
 * The DocRE-II inference module: relation embeddings [r,d], N_I inference layers and the
 * classifier (eq. 12), run for K iterations with accumulated logits.
 * `apply([F0 [b,e,e,d], baseLogits [b,e,e,r], pairMask], {iterations?, noise?}) → logits [b,e,e,r]`.
 * Training in the paper is one-pass (`iterations: 1`) with noise; `inferenceModule` with
 * `params()` gives the hidden states needed by `simSiamLoss`.
 * @example
 * const module = new IterativeInferenceLayer({ numLayers: 2, iterations: 3 });
 * const logits = module.apply([F0, baseLogits, pairMask]) as tf.Tensor4D;
 */
export class IterativeInferenceLayer extends ParamLayer<IterativeInferenceParams> {
  static className = 'IterativeInferenceLayer';
  readonly ffnDim?: number;
  readonly epsilon: number;
  readonly numLayers: number;
  readonly iterations: number;
  constructor(args: IterativeInferenceLayerArgs = {}) {
    super(args);
    checkFFNDim(args.ffnDim);
    if (args.ffnDim !== undefined) this.ffnDim = args.ffnDim;
    this.epsilon = args.epsilon ?? 1e-5;
    this.numLayers = args.numLayers ?? 2;
    this.iterations = args.iterations ?? 3;
    if (!(Number.isInteger(this.numLayers) && this.numLayers >= 1))
      throw new ArgumentError('numLayers', 'an integer ≥ 1', args.numLayers);
    if (!(Number.isInteger(this.iterations) && this.iterations >= 1))
      throw new ArgumentError('iterations', 'an integer ≥ 1', args.iterations);
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [fs, ls] = shapesOf(inputShape, 3, 'IterativeInferenceLayer', '[F0, baseLogits, pairMask]');
    const d = lastDim(fs!, 'IterativeInferenceLayer F0', ECA_HEADS);
    const r = lastDim(ls!, 'IterativeInferenceLayer baseLogits');
    const add = this.adder();
    this.vars = {
      relationEmbeddings: add('relationEmbeddings', [r, d], tf.initializers.glorotUniform({})),
      layers: Array.from({ length: this.numLayers }, (_, i) =>
        addInferenceLayer(add, `layer${i}/`, d, this.ffnDim ?? 2 * d),
      ),
      classifier: addDense(add, 'classifier', 2 * d, r),
    };
    this.built = true;
  }
  override call(
    inputs: tf.Tensor | tf.Tensor[],
    kwargs: { iterations?: number; noise?: RelationNoiseOptions } = {},
  ): tf.Tensor {
    const [f, l, pm] = tensorsOf(inputs, 3, 'IterativeInferenceLayer', '[F0, baseLogits, pairMask]');
    const out = iterativeInference(f!, l!, pm!, this.params(), {
      iterations: kwargs.iterations ?? this.iterations,
      epsilon: this.epsilon,
      ...(kwargs.noise ? { noise: kwargs.noise } : {}),
    });
    out.predictions.dispose();
    return out.logits;
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return shapesOf(inputShape, 3, 'IterativeInferenceLayer', '[F0, baseLogits, pairMask]')[1]!;
  }
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...ffnConfig(this.ffnDim, this.epsilon),
      numLayers: this.numLayers,
      iterations: this.iterations,
    };
  }
}
registerClass(IterativeInferenceLayer);
