/**
 * The two auxiliary training tasks of DocRE-BSI / GTN (Zhang et al. 2023, §2.3):
 *
 * - graph node reconstruction (eq. 7): mask some mention nodes (their features replaced by a
 *   learned mask vector), run GTN, and pull the output at those nodes back to the initial
 *   features: `L_N = 1/|V_mask| Σ_{v ∈ V_mask} (1 − cos(F^(L)[v], F^(0)[v]))`.
 *   {@link maskMentionNodes} draws V_mask (each mention node with probability `rate`, 0.2 as the
 *   official code's `Mask_Index − dropout(Mask_Index)·0.8`), {@link nodeReconstructionLoss} is eq. 7.
 *   Official code: the target F^(0) is detached (default here too) and the prediction goes through
 *   a small MLP head (Linear–ReLU–Linear–LayerNorm) first; that head belongs to the model.
 * - structure-aware adversarial knowledge distillation, SA-KD (eq. 8): an MLP discriminator
 *   `C(·) = σ(MLP(·))` tells GTN's node representations (teacher, label 1) from the PLM encoder's
 *   (student, label 0). `L_A = log P(1|C(F^(L))) + log P(0|C(F̂^(l)))`; the discriminator maximises
 *   it (minimises {@link AdversarialLosses.discriminatorLoss} = −L_A as binary cross-entropy with
 *   gradients stopped at both inputs), the encoder minimises
 *   {@link AdversarialLosses.generatorLoss} with the discriminator's parameters frozen (stopped).
 *   Generator form: `'non-saturating'` (default; `−log C(F̂)`, what the official code trains:
 *   cross-entropy of the student's nodes towards the teacher's class) or `'minimax'` (eq. 8 taken
 *   literally: `log(1 − C(F̂))`). The official discriminator is a 3-way classifier over GTN and two
 *   encoder layers; the paper's binary form with one discriminator per distilled layer is used here.
 *
 * Dimension letters: b documents, v graph nodes (padded), d hidden width.
 */
import * as tf from '@tensorflow/tfjs';
import { linear } from '../core/attention.js';
import { ArgumentError, checkShape } from '../core/errors.js';
import { stopGradient } from '../core/ops.js';
import { registerClass } from '../core/registry.js';
import {
  addDense,
  maskedMean,
  type DenseParams,
  type LayerArgs,
  readVars,
  seededRandom,
} from '../core/layer-kit.js';

// ---------------------------------------------------------------------------------------------
// Node reconstruction (eq. 7)

/** `x / max(‖x‖, 1e-12)` over the last axis (torch `F.normalize`); finite gradient at 0. */
function normalize(x: tf.Tensor): tf.Tensor {
  return x.div(tf.sqrt(tf.maximum(x.square().sum(-1, true), 1e-24)));
}

/**
 * Replaces each mention node's features by `maskToken` with probability `rate` (seeded; the draw
 * is made in JavaScript, so it is identical on every backend and needs no read-back).
 *
 * @param nodes `[b,v,d]` initial node features F^(0)
 * @param mentionMask `[b,v]` 1 for (real) mention nodes — the only candidates
 * @param maskToken `[d]` the learned mask vector
 * @returns `nodes` with masked rows replaced, and `maskedNodes [b,v]` (1 = masked, float32)
 * @example
 * const { nodes: input, maskedNodes } = maskMentionNodes(F0, mentionMask, maskToken, { seed: step });
 */
export function maskMentionNodes(
  nodes: tf.Tensor,
  mentionMask: tf.Tensor,
  maskToken: tf.Tensor,
  options: { rate?: number; seed: number },
): { nodes: tf.Tensor3D; maskedNodes: tf.Tensor2D } {
  const { b, v, d } = checkShape('nodes', nodes.shape, ['b', 'v', 'd']) as {
    b: number;
    v: number;
    d: number;
  };
  checkShape('mentionMask', mentionMask.shape, [b, v]);
  checkShape('maskToken', maskToken.shape, [d]);
  const rate = options.rate ?? 0.2;
  if (!(rate >= 0 && rate <= 1)) throw new ArgumentError('rate', 'a number in [0, 1]', options.rate);
  if (!Number.isFinite(options.seed)) throw new ArgumentError('seed', 'a finite number', options.seed);
  const random = seededRandom(options.seed);
  const draw = Float32Array.from({ length: b * v }, () => (random() < rate ? 1 : 0));
  return tf.tidy(() => {
    const masked = tf.tensor2d(draw, [b, v]).mul(mentionMask.toFloat()) as tf.Tensor2D; // [b,v]
    const m = masked.expandDims(2); // [b,v,1]
    const out = nodes.mul(tf.scalar(1).sub(m)).add(m.mul(maskToken)) as tf.Tensor3D; // [b,v,d]
    return { nodes: out, maskedNodes: masked };
  });
}

/**
 * GTN eq. 7: mean over masked nodes of `1 − cos(predicted[v], original[v])`; 0 when none is masked.
 *
 * @param predicted `[b,v,d]` GTN output F^(L) (or the model's reconstruction head on it)
 * @param original `[b,v,d]` initial features F^(0) (before masking)
 * @param maskedNodes `[b,v]` 1 = masked node
 * @param options `stopTargetGradient` (default true, as the official code): no gradient into `original`
 * @returns scalar
 * @example
 * const lossN = nodeReconstructionLoss(gtnOut, F0, maskedNodes);
 */
export function nodeReconstructionLoss(
  predicted: tf.Tensor,
  original: tf.Tensor,
  maskedNodes: tf.Tensor,
  options: { stopTargetGradient?: boolean } = {},
): tf.Scalar {
  const dims = checkShape('predicted', predicted.shape, ['b', 'v', 'd']);
  checkShape('original', original.shape, ['b', 'v', 'd'], dims);
  checkShape('maskedNodes', maskedNodes.shape, ['b', 'v'], dims);
  return tf.tidy(() => {
    const target = options.stopTargetGradient === false ? original : stopGradient(original);
    const cos = normalize(predicted).mul(normalize(target)).sum(-1); // [b,v]
    return maskedMean(tf.scalar(1).sub(cos), maskedNodes);
  });
}

// ---------------------------------------------------------------------------------------------
// SA-KD (eq. 8)

/** Discriminator MLP: `hidden [d, u]` (ReLU), `output [u, 1]`. */
export interface NodeDiscriminatorParams {
  readonly hidden: DenseParams;
  readonly output: DenseParams;
}

/**
 * The discriminator's logit `MLP(x) = relu(x W_1 + b_1) W_2 + b_2`; `C(x) = sigmoid(logit)`.
 * @param x `[.., d]` node representations
 * @returns `[..]` logits (x without its last axis)
 */
export function nodeDiscriminator(x: tf.Tensor, params: NodeDiscriminatorParams): tf.Tensor {
  return tf.tidy(() => linear(tf.relu(linear(x, params.hidden)), params.output).squeeze([x.rank - 1]));
}

export interface AdversarialLosses {
  /** −L_A as BCE: `mean −log C(sg(teacher)) + mean −log(1 − C(sg(student)))`; trains the discriminator only. */
  readonly discriminatorLoss: tf.Scalar;
  /** Non-saturating `mean −log C(student)` (or minimax `mean log(1 − C(student))`) with the discriminator frozen. */
  readonly generatorLoss: tf.Scalar;
}

/**
 * GTN eq. 8, both sides of the adversarial game. Means are over real nodes.
 *
 * @param teacher `[b,v,d]` GTN node outputs F^(L) (label 1)
 * @param student `[b,v,d]` node features built from an encoder layer, F̂^(l) (label 0)
 * @param nodeMask `[b,v]` 1 for real nodes
 * @param params the discriminator of this layer l
 * @example
 * const { discriminatorLoss, generatorLoss } = adversarialDistillationLosses(F_L, F_hat6, nodeMask, disc.params());
 */
export function adversarialDistillationLosses(
  teacher: tf.Tensor,
  student: tf.Tensor,
  nodeMask: tf.Tensor,
  params: NodeDiscriminatorParams,
  options: { generator?: 'non-saturating' | 'minimax' } = {},
): AdversarialLosses {
  const dims = checkShape('teacher', teacher.shape, ['b', 'v', 'd']);
  checkShape('student', student.shape, ['b', 'v', 'd'], dims);
  checkShape('nodeMask', nodeMask.shape, ['b', 'v'], dims);
  checkShape('params.hidden.kernel', params.hidden.kernel.shape, ['d', null], dims);
  const form = options.generator ?? 'non-saturating';
  if (form !== 'non-saturating' && form !== 'minimax')
    throw new ArgumentError('generator', "'non-saturating' | 'minimax'", form);
  return tf.tidy(() => {
    // discriminator side: inputs detached, −log σ(z) = softplus(−z), −log(1 − σ(z)) = softplus(z)
    const zt = nodeDiscriminator(stopGradient(teacher), params); // [b,v]
    const zs = nodeDiscriminator(stopGradient(student), params); // [b,v]
    const discriminatorLoss = maskedMean(tf.softplus(zt.neg()), nodeMask).add(
      maskedMean(tf.softplus(zs), nodeMask),
    ) as tf.Scalar;
    // generator side: discriminator frozen, gradient flows into the student only
    const frozen: NodeDiscriminatorParams = {
      hidden: { kernel: stopGradient(params.hidden.kernel), bias: stopGradient(params.hidden.bias) },
      output: { kernel: stopGradient(params.output.kernel), bias: stopGradient(params.output.bias) },
    };
    const z = nodeDiscriminator(student, frozen); // [b,v]
    const perNode = form === 'non-saturating' ? tf.softplus(z.neg()) : tf.softplus(z).neg();
    return { discriminatorLoss, generatorLoss: maskedMean(perNode, nodeMask) };
  });
}

export interface NodeDiscriminatorLayerArgs extends LayerArgs {
  /** Hidden width of the MLP. Default d (the official discriminator). */
  units?: number;
}

/**
 * Holds one discriminator's variables (`hidden/kernel [d,u]`, `hidden/bias`, `output/kernel [u,1]`,
 * `output/bias`); `apply(x [..,d])` returns the logits `[..]`. Use one per distilled encoder layer.
 *
 * @example
 * const disc = new NodeDiscriminatorLayer();
 * disc.apply(F_L); // builds it
 * const losses = adversarialDistillationLosses(F_L, F_hat, nodeMask, disc.params());
 */
export class NodeDiscriminatorLayer extends tf.layers.Layer {
  static className = 'NodeDiscriminatorLayer';
  readonly units?: number;
  private vars?: { hidden: ReturnType<typeof addDense>; output: ReturnType<typeof addDense> };

  constructor(args: NodeDiscriminatorLayerArgs = {}) {
    super(args);
    if (args.units !== undefined && !(Number.isInteger(args.units) && args.units > 0))
      throw new ArgumentError('units', 'a positive integer', args.units);
    this.units = args.units;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const d = shape[shape.length - 1];
    if (d == null) throw new ArgumentError('inputShape', '[.., d] with d known', shape);
    const add = (name: string, s: number[], init: ReturnType<typeof tf.initializers.zeros>) =>
      this.addWeight(name, s, 'float32', init);
    this.vars = {
      hidden: addDense(add, 'hidden', d, this.units ?? d),
      output: addDense(add, 'output', this.units ?? d, 1),
    };
    this.built = true;
  }

  params(): NodeDiscriminatorParams {
    if (!this.vars)
      throw new ArgumentError('NodeDiscriminatorLayer', 'a built layer (apply or build first)', 'unbuilt');
    return readVars(this.vars) as NodeDiscriminatorParams;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return ((Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape).slice(0, -1);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return nodeDiscriminator(Array.isArray(inputs) ? inputs[0]! : inputs, this.params());
  }

  override getConfig(): tf.serialization.ConfigDict {
    const c = super.getConfig();
    return this.units === undefined ? c : { ...c, units: this.units };
  }
}
registerClass(NodeDiscriminatorLayer);
