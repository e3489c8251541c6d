/**
 * DRE-MIR inference module (Zhang & Cheng, "A Masked Image Reconstruction Network for
 * Document-level Relation Extraction", §2.2, Figure 3): the Inference Multi-head Self-Attention
 * (I-MSA), the Transformer-encoder-style inference layer built on it, and the masking step of the
 * Masked Image Reconstruction (MIR) task. DRE-MIR has no public code; the layouts follow DESIGN.md.
 *
 * I-MSA, head h ∈ {0,1,2,3}, query pair (A,B), intermediate entity k, path (p1, p2):
 *   head 0  A→k + k→B : ((A,k),(k,B))      head 1  A→k + B→k : ((A,k),(B,k))
 *   head 2  k→A + B→k : ((k,A),(B,k))      head 3  k→A + k→B : ((k,A),(k,B))
 *   key_k   = [K_p1 ; K_p2]·pathKey.kernel[h] + pathKey.bias[h]      (values alike, pathValue)
 *   candidates = {k : pairMask[p1]·pairMask[p2] = 1} ∪ {(A,B) itself: key K_AB, value V_AB}
 *   head_h(A,B) = Σ softmax(q_AB·key / √dh) · value ;  output = [head_0..3]·W_O + b_O.
 *
 * Memory: the path projection is linear, so with W1 = kernel[h][:dh], W2 = kernel[h][dh:]
 *   q·key_k = (q W1ᵀ)·K_p1 + (q W2ᵀ)·K_p2 + q·bias      (batched matmuls over rows / columns)
 *   Σ_k a_k value_k = (Σ_k a_k V_p1) W1v + (Σ_k a_k V_p2) W2v + (Σ_k a_k) bias_v
 * and no `[b,e,e,e,·]` tensor wider than 1 is ever built; the heads run one at a time (forward
 * and, recomputed, backward): peak O(b·e³ + b·e²·d).
 *
 * Dimensions: b documents · e entities (padded) · d width · h heads (4) · dh = d/4 · k intermediate.
 */
import * as tf from '@tensorflow/tfjs';
import { mergeHeads, splitHeads } from '../core/attention.js';
import { ArgumentError, ShapeError, checkShape } from '../core/errors.js';
import { flattenTensors, recompute, recomputeChunks } from '../core/gradients.js';
import { registerClass } from '../core/registry.js';
import {
  pathScores,
  pathSum,
  softmaxWithSelf,
  allHeadsAtOnce,
  candidates,
  flatHeads,
  headMask,
  headProject,
  headProjections,
  headSources,
  overRowBlocks,
  positionBlocks,
  rowBlocks,
  type PairRef,
} from './pair-paths.js';
import {
  addDense,
  addFFN,
  addNorm,
  dense,
  feedForward,
  layerNorm,
  readVars,
  choosePairs,
  type DenseParams,
  type LayerArgs,
  type FFNParams,
  type NormParams,
  checkFFNDim,
  ffnConfig,
  type AddWeight,
  type LayerVars,
  tensorsOf,
} from '../core/layer-kit.js';

/** Number of I-MSA heads (one per inference mode). */
export const IMSA_HEADS = 4;

/** The (p1, p2) path of each I-MSA head, relative to query pair (A,B) and intermediate k. */
export const IMSA_HEAD_PATHS: readonly (readonly [PairRef, PairRef])[] = [
  [
    { anchor: 'A', side: 'row' },
    { anchor: 'B', side: 'col' },
  ], // ((A,k),(k,B))
  [
    { anchor: 'A', side: 'row' },
    { anchor: 'B', side: 'row' },
  ], // ((A,k),(B,k))
  [
    { anchor: 'A', side: 'col' },
    { anchor: 'B', side: 'row' },
  ], // ((k,A),(B,k))
  [
    { anchor: 'A', side: 'col' },
    { anchor: 'B', side: 'col' },
  ], // ((k,A),(k,B))
];

/** Per-head linear map of a concatenated path `[X_p1 ; X_p2]`: kernel [4, 2·dh, dh], bias [4, dh]. */
export interface PathProjection {
  kernel: tf.Tensor;
  bias: tf.Tensor;
}

/** Parameters of `imsa` (DESIGN.md): dense maps [d,d]/[d] and the two path projections. */
export interface IMSAParams {
  query: DenseParams;
  key: DenseParams;
  value: DenseParams;
  output: DenseParams;
  pathKey: PathProjection;
  pathValue: PathProjection;
}

/** Validates `imsa` arguments; returns b, e, d. */
function checkIMSA(x: tf.Tensor, pairMask: tf.Tensor, p: IMSAParams): { b: number; e: number; d: number } {
  const dims = checkShape('x', x.shape, ['b', 'e', 'e', 'd']);
  checkShape('pairMask', pairMask.shape, ['b', 'e', 'e'], dims);
  const d = dims['d']!;
  if (d % IMSA_HEADS !== 0)
    throw new ShapeError('x', `[b, e, e, d] with d divisible by ${IMSA_HEADS}`, x.shape);
  const dh = d / IMSA_HEADS;
  for (const n of ['query', 'key', 'value', 'output'] as const) {
    checkShape(`params.${n}.kernel`, p[n].kernel.shape, [d, d]);
    checkShape(`params.${n}.bias`, p[n].bias.shape, [d]);
  }
  for (const n of ['pathKey', 'pathValue'] as const) {
    checkShape(`params.${n}.kernel`, p[n].kernel.shape, [IMSA_HEADS, 2 * dh, dh]);
    checkShape(`params.${n}.bias`, p[n].bias.shape, [IMSA_HEADS, dh]);
  }
  return { b: dims['b']!, e: dims['e']!, d };
}

// By construction of the four inference modes, p1 is always anchored at A and p2 at B; only the
// side (subject or object of the candidate) varies per head.
const SIDES_1 = IMSA_HEAD_PATHS.map(([p1]) => p1.side);
const SIDES_2 = IMSA_HEAD_PATHS.map(([, p2]) => p2.side);

/** The path projections of one head: W1, W2 [dh,dh] and bias [dh] of pathKey, then of pathValue. */
type HeadPath = [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];

/** t [.., dh] · w [dh, dh] (or wᵀ). */
function project(t: tf.Tensor, w: tf.Tensor, transpose = false): tf.Tensor {
  const dh = w.shape[0]!;
  return tf.tidy(() => tf.matMul(t.reshape([-1, dh]), w as tf.Tensor2D, false, transpose).reshape(t.shape));
}

/**
 * Head j of I-MSA for one block of a query rows A. Rows of the block ([b,a,e,·]): q, k, v of the
 * pairs (A,B) themselves, k1, v1 = the p1 sources (anchored at A), m1 their pairMask; whole
 * ([b,e,e,·]): k2, v2 = the p2 sources (anchored at B), m2. → [b,a,e,dh]; its largest
 * tensors are [b,a,e,e].
 */
function imsaBlock(
  [q, k, v, k1, v1, m1]: tf.Tensor[],
  [k2, v2, m2]: tf.Tensor[],
  [wk1, wk2, bk, wv1, wv2, bv]: HeadPath,
): tf.Tensor {
  const [b, a, e, dh] = q!.shape as [number, number, number, number];
  const scale = 1 / Math.sqrt(dh);
  const w = tf.tidy(() => {
    // q·key_k = (q W1ᵀ)·K_p1 + (q W2ᵀ)·K_p2 + q·bias → [b,a,e,e] (A,B,k)
    const logits = tf.tidy(() =>
      pathScores(project(q!, wk1, true), k1!, 'A')
        .add(pathScores(project(q!, wk2, true), k2!, 'B'))
        .add(tf.sum(q!.mul(bk), -1, true))
        .mul(scale),
    );
    const selfLogit = tf.tidy(() => tf.sum(q!.mul(k!), -1, true).mul(scale)); // [b,a,e,1]
    const mask = tf.tidy(() => m1!.reshape([b, a, 1, e]).mul(m2!.reshape([b, 1, e, e]))); // [b,a,e,e]
    return softmaxWithSelf(logits, selfLogit, mask);
  });
  // Σ_k a_k value_k = (Σ a V_p1) W1v + (Σ a V_p2) W2v + (Σ a) bias_v ; + a_self V_AB
  return tf.tidy(() =>
    project(pathSum(w.path, v1!, 'A'), wv1)
      .add(project(pathSum(w.path, v2!, 'B'), wv2))
      .add(tf.sum(w.path, -1, true).mul(bv))
      .add(w.self.mul(v!)),
  );
}

/**
 * I-MSA head j: x [b,e,e,d] → [b,e,e,dh] (channels [j·dh, (j+1)·dh) of the head concatenation).
 * q, k, v of the head are projected once (one matmul); the query rows then run in blocks of
 * ≤ the path-score block size (`overRowBlocks`: one block's `[b,a,e,e]` intermediates at a time,
 * in the backward pass too).
 */
function imsaHead(j: number, x: tf.Tensor, pm: tf.Tensor, p: IMSAParams): tf.Tensor {
  const [b, e, , d] = x.shape as [number, number, number, number];
  const dh = d / IMSA_HEADS;
  const [q, k, v] = headProjections(x, [p.query, p.key, p.value], j, IMSA_HEADS).map((t) =>
    t.reshape([b, e, e, dh]),
  ) as [tf.Tensor, tf.Tensor, tf.Tensor];
  const half = (t: tf.Tensor, i: 0 | 1) => tf.slice(t, [j, i * dh, 0], [1, dh, dh]).reshape([dh, dh]);
  const bias = (t: tf.Tensor) => tf.slice(t, [j, 0], [1, dh]).reshape([dh]);
  const path: HeadPath = [
    half(p.pathKey.kernel, 0),
    half(p.pathKey.kernel, 1),
    bias(p.pathKey.bias),
    half(p.pathValue.kernel, 0),
    half(p.pathValue.kernel, 1),
    bias(p.pathValue.bias),
  ];
  const [side1, side2] = [SIDES_1[j]!, SIDES_2[j]!];
  // p1 sources by rows: the pair's own k, v when p1 is a 'row' candidate, else their transposes
  const p1 = side1 === 'row' ? [] : [candidates(k, side1), candidates(v, side1)];
  return overRowBlocks(
    rowBlocks(b, e),
    [q, k, v, ...p1, candidates(pm, side1)],
    [candidates(k, side2), candidates(v, side2), candidates(pm, side2), ...path],
    (_, rows, full) => {
      const [qr, kr, vr] = rows;
      const [k1, v1, m1] = side1 === 'row' ? [kr, vr, rows[3]] : rows.slice(3);
      return imsaBlock([qr!, kr!, vr!, k1!, v1!, m1!], full.slice(0, 3), full.slice(3) as HeadPath);
    },
  );
}

/**
 * DRE-MIR I-MSA (§2.2, Figure 3a), memory-efficient form (see the module comment).
 *
 * Memory: the heads run one at a time, and in each head blocks of query rows
 * (`recomputeChunks`, twice nested): a forward pass frees each block's `[b,a,e,e]` intermediates
 * before the next; under a gradient tape only x and the parameters are kept, and the backward
 * pass recomputes one head, then one block, at a time. Peak: a few `[b,e,e,d]` tensors plus one
 * block's intermediates (with their gradients in the backward pass).
 *
 * @param x [b,e,e,d] entity-pair matrix (row = subject, column = object)
 * @param pairMask [b,e,e] 1 for real ordered pairs (s ≠ o, both real)
 * @param params `IMSAParams`
 * @returns [b,e,e,d]; rows of padded pairs hold values that real pairs never read
 * @example
 * const y = imsa(x, pairMask, layer.params()); // [b,e,e,d]
 */
export function imsa(x: tf.Tensor, pairMask: tf.Tensor, params: IMSAParams): tf.Tensor4D {
  const { b, e } = checkIMSA(x, pairMask, params);
  if (allHeadsAtOnce(b, e, IMSA_HEADS)) return imsaAllHeads(x, pairMask, params);
  return tf.tidy(() => {
    const { tensors, rebuild } = flattenTensors(params);
    // [head_0 .. head_3] [b,e,e,d] · W_O + b_O, the projection inside (see recomputeChunks)
    return recomputeChunks(
      (j, xx, pm, ...ps) => imsaHead(j, xx!, pm!, rebuild(ps)),
      IMSA_HEADS,
      [x, pairMask.toFloat(), ...tensors],
      -1,
      (heads, _x, _pm, ...ps) => dense(heads, rebuild(ps).output),
    ) as tf.Tensor4D;
  });
}

/** `imsa` with the heads batched as extra documents of the matmuls (inputs with `allHeadsAtOnce`). */
function imsaAllHeads(x: tf.Tensor, pairMask: tf.Tensor, params: IMSAParams): tf.Tensor4D {
  const [b, e, , d] = x.shape as [number, number, number, number];
  const h = IMSA_HEADS;
  const dh = d / h;
  return tf.tidy(() => {
    const [q5, k5, v5] = [params.query, params.key, params.value].map((p) => splitHeads(dense(x, p), h));
    const half = (w: tf.Tensor, i: 0 | 1) => tf.slice(w, [0, i * dh, 0], [h, dh, dh]);
    const perHead = (bias: tf.Tensor) => bias.reshape([1, h, 1, 1, dh]);
    const scale = 1 / Math.sqrt(dh);
    const a = tf.tidy(() => {
      // q·key_k = (q W1ᵀ)·K_p1 + (q W2ᵀ)·K_p2 + q·bias → [b·h,e,e,e] (A,B,k)
      const logits = pathScores(
        flatHeads(headProject(q5!, half(params.pathKey.kernel, 0), true)),
        headSources(k5!, SIDES_1),
        'A',
      )
        .add(
          pathScores(
            flatHeads(headProject(q5!, half(params.pathKey.kernel, 1), true)),
            headSources(k5!, SIDES_2),
            'B',
          ),
        )
        .add(flatHeads(tf.sum(q5!.mul(perHead(params.pathKey.bias)), -1, true)));
      const selfLogit = flatHeads(tf.sum(q5!.mul(k5!), -1, true)); // [b·h,e,e,1]
      const pm = pairMask.toFloat();
      const mask = flatHeads(headMask(pm, SIDES_1, 'A').mul(headMask(pm, SIDES_2, 'B'))); // [b·h,e,e,e]
      return softmaxWithSelf(logits.mul(scale), selfLogit.mul(scale), mask);
    });
    // Σ_k a_k value_k = (Σ a V_p1) W1v + (Σ a V_p2) W2v + (Σ a) bias_v ; + a_self V_AB
    const unflat = (t: tf.Tensor) => t.reshape([b, h, e, e, t.shape[3]!]);
    const out5 = headProject(
      unflat(pathSum(a.path, headSources(v5!, SIDES_1), 'A')),
      half(params.pathValue.kernel, 0),
    )
      .add(
        headProject(
          unflat(pathSum(a.path, headSources(v5!, SIDES_2), 'B')),
          half(params.pathValue.kernel, 1),
        ),
      )
      .add(unflat(tf.sum(a.path, -1, true)).mul(perHead(params.pathValue.bias)))
      .add(unflat(a.self).mul(v5!));
    return dense(mergeHeads(out5), params.output) as tf.Tensor4D;
  });
}

/** Parameters of one inference-module layer (I-MSA, Add & Norm, FFN, Add & Norm). */
export interface InferenceEncoderParams {
  imsa: IMSAParams;
  norm1: NormParams;
  ffn: FFNParams;
  norm2: NormParams;
}

/**
 * One DRE-MIR inference layer (Figure 3b): `y = LN(x + I-MSA(x))`, `z = LN(y + FFN(y))`.
 * @param x [b,e,e,d]; @param pairMask [b,e,e]
 * @returns [b,e,e,d]
 * @example
 * const z = inferenceEncoder(x, pairMask, layer.params());
 */
export function inferenceEncoder(
  x: tf.Tensor,
  pairMask: tf.Tensor,
  params: InferenceEncoderParams,
  epsilon = 1e-5,
): tf.Tensor4D {
  return tf.tidy(() => {
    const att = imsa(x, pairMask, params.imsa);
    // position-wise from here: blocks of rows, so the [b,e,e,ffnDim] hidden layer never exists whole
    const [b, e] = x.shape as [number, number];
    const { tensors, rebuild } = flattenTensors({
      norm1: params.norm1,
      ffn: params.ffn,
      norm2: params.norm2,
    });
    return overRowBlocks(
      positionBlocks(b, e, params.ffn.inner.kernel.shape[1]!),
      [x, att],
      tensors,
      (_, [xr, ar], ps) => {
        const p = rebuild(ps);
        const y = layerNorm(xr!.add(ar!), p.norm1, epsilon);
        return layerNorm(y.add(feedForward(y, p.ffn)), p.norm2, epsilon);
      },
    ) as tf.Tensor4D;
  });
}

/** Options of `maskPairMatrix`. */
export interface MaskPairOptions {
  /** Fraction of each document's real pairs to mask (rounded to the nearest count). Default 0.2. */
  ratio?: number;
  /** PRNG seed; the same seed and pairMask give the same selection on every backend. Default 0. */
  seed?: number;
}

/**
 * The MIR task's masking (DRE-MIR §2.2, §3.2: 20 % of the points): in each document,
 * `round(ratio · #real pairs)` real pairs chosen uniformly at random (seeded) are replaced by the
 * learned `maskVector`. Gradients flow into `x` (kept pairs) and `maskVector` (masked pairs).
 *
 * @param x [b,e,e,d]; @param pairMask [b,e,e]; @param maskVector [d]
 * @returns masked [b,e,e,d] and maskedPairs [b,e,e] (1 where the mask vector was put)
 * @example
 * const { masked, maskedPairs } = maskPairMatrix(x, pairMask, maskVector, { ratio: 0.2, seed: 7 });
 */
export function maskPairMatrix(
  x: tf.Tensor,
  pairMask: tf.Tensor,
  maskVector: tf.Tensor,
  { ratio = 0.2, seed = 0 }: MaskPairOptions = {},
): { masked: tf.Tensor4D; maskedPairs: tf.Tensor3D } {
  const dims = checkShape('x', x.shape, ['b', 'e', 'e', 'd']);
  checkShape('pairMask', pairMask.shape, ['b', 'e', 'e'], dims);
  checkShape('maskVector', maskVector.shape, ['d'], dims);
  if (!(ratio >= 0 && ratio <= 1)) throw new ArgumentError('ratio', 'a number in [0, 1]', ratio);
  return tf.tidy(() => {
    const maskedPairs = choosePairs(pairMask, ratio, seed);
    const m = maskedPairs.expandDims(-1); // [b,e,e,1]
    const masked = x.mul(tf.sub(1, m)).add(m.mul(maskVector)) as tf.Tensor4D;
    return { masked, maskedPairs };
  });
}

// ---------------------------------------------------------------------------------------------
// Layers

type Initializer = ReturnType<typeof tf.initializers.zeros>;

/** Inputs of the pair-matrix layers: `[x [b,e,e,d], pairMask [b,e,e]]`. */
const splitInputs = (inputs: tf.Tensor | tf.Tensor[], layer: string) =>
  tensorsOf(inputs, 2, layer, '[x [b,e,e,d], pairMask [b,e,e]]') as [tf.Tensor, tf.Tensor];

function inputWidth(inputShape: tf.Shape | tf.Shape[], layer: string): number {
  const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  const d = s[s.length - 1];
  if (s.length !== 4 || d == null || d % IMSA_HEADS !== 0)
    throw new ShapeError(
      `${layer} x`,
      `[b, e, e, d] with d divisible by ${IMSA_HEADS}`,
      s.map((v) => v ?? -1),
    );
  return d;
}

/** Creates the I-MSA variables under `prefix` (shared by IMSALayer and InferenceEncoderLayer). */
function addIMSAWeights(add: AddWeight, d: number, prefix = ''): LayerVars<IMSAParams> {
  const dh = d / IMSA_HEADS;
  const path = (n: string) => ({
    kernel: add(`${prefix}${n}/kernel`, [IMSA_HEADS, 2 * dh, dh], tf.initializers.glorotUniform({})),
    bias: add(`${prefix}${n}/bias`, [IMSA_HEADS, dh], tf.initializers.zeros()),
  });
  return {
    query: addDense(add, `${prefix}query`, d, d),
    key: addDense(add, `${prefix}key`, d, d),
    value: addDense(add, `${prefix}value`, d, d),
    output: addDense(add, `${prefix}output`, d, d),
    pathKey: path('pathKey'),
    pathValue: path('pathValue'),
  };
}

/** Arguments of `IMSALayer` (no hyperparameters: 4 heads, d from the input). */
export type IMSALayerArgs = LayerArgs;

/**
 * I-MSA as a layer. `apply([x [b,e,e,d], pairMask [b,e,e]]) → [b,e,e,d]`.
 * @example
 * const layer = new IMSALayer({});
 * const y = layer.apply([x, pairMask]) as tf.Tensor4D;
 */
export class IMSALayer extends tf.layers.Layer {
  static className = 'IMSALayer';
  private vars?: LayerVars<IMSAParams>;

  constructor(args: IMSALayerArgs = {}) {
    super(args);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const d = inputWidth(inputShape, 'IMSALayer');
    this.vars = addIMSAWeights((n, s, i) => this.addWeight(n, s, 'float32', i), d);
    this.built = true;
  }

  /** The current parameters as tensors (for calling `imsa` directly). */
  params(): IMSAParams {
    if (!this.vars)
      throw new ArgumentError('IMSALayer.params', 'a built layer (call apply first)', 'unbuilt');
    return readVars(this.vars) as unknown as IMSAParams;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [x, pairMask] = splitInputs(inputs, 'IMSALayer');
    return tf.tidy(() => imsa(x, pairMask, this.params()));
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }
}
registerClass(IMSALayer);

/** Arguments of `InferenceEncoderLayer`. */
export interface InferenceEncoderLayerArgs extends LayerArgs {
  /** Hidden width of the FFN. Default 4·d (Transformer encoder). */
  ffnDim?: number;
  /** LayerNorm epsilon. Default 1e-5. */
  epsilon?: number;
  /**
   * Gradient checkpointing (`recompute` in src/core/gradients.ts): keep only the layer's input
   * for the backward pass and run the layer again there. Same values and gradients, one more
   * forward pass, far less memory in training. Default false.
   */
  recompute?: boolean;
}

/**
 * DRE-MIR inference layer (§2.2, Figure 3b): I-MSA + residual + LayerNorm + FFN + residual +
 * LayerNorm. Stack several (the paper uses 3). `apply([x, pairMask]) → [b,e,e,d]`.
 * @example
 * const layers = [0, 1, 2].map(() => new InferenceEncoderLayer({ ffnDim: 512 }));
 * let y = x; for (const l of layers) y = l.apply([y, pairMask]) as tf.Tensor;
 */
export class InferenceEncoderLayer extends tf.layers.Layer {
  static className = 'InferenceEncoderLayer';
  readonly ffnDim?: number;
  readonly epsilon: number;
  readonly recompute: boolean;
  private vars?: LayerVars<InferenceEncoderParams>;

  constructor(args: InferenceEncoderLayerArgs = {}) {
    super(args);
    checkFFNDim(args.ffnDim);
    if (args.ffnDim !== undefined) this.ffnDim = args.ffnDim;
    this.epsilon = args.epsilon ?? 1e-5;
    this.recompute = args.recompute ?? false;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const d = inputWidth(inputShape, 'InferenceEncoderLayer');
    const add = (n: string, s: number[], i: Initializer) => this.addWeight(n, s, 'float32', i);
    this.vars = {
      imsa: addIMSAWeights(add, d, 'imsa/'),
      norm1: addNorm(add, 'norm1', d),
      ffn: addFFN(add, 'ffn', d, this.ffnDim ?? 4 * d),
      norm2: addNorm(add, 'norm2', d),
    };
    this.built = true;
  }

  params(): InferenceEncoderParams {
    if (!this.vars)
      throw new ArgumentError('InferenceEncoderLayer.params', 'a built layer (call apply first)', 'unbuilt');
    return readVars(this.vars) as unknown as InferenceEncoderParams;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [x, pairMask] = splitInputs(inputs, 'InferenceEncoderLayer');
    if (!this.recompute) return tf.tidy(() => inferenceEncoder(x, pairMask, this.params(), this.epsilon));
    const { tensors, rebuild } = flattenTensors(this.params());
    return recompute(
      (y, m, ...p) => inferenceEncoder(y!, m!, rebuild(p), this.epsilon),
      [x, pairMask, ...tensors],
    );
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...ffnConfig(this.ffnDim, this.epsilon), recompute: this.recompute };
  }
}
registerClass(InferenceEncoderLayer);

/** Arguments of `PairMaskingLayer`. */
export interface PairMaskingLayerArgs extends LayerArgs {
  /** Fraction of real pairs masked per document. Default 0.2 (DRE-MIR §3.2). */
  ratio?: number;
  /** Seed of the first call; call t uses seed + t, so a run is reproducible. Default 0. */
  seed?: number;
}

/**
 * Holds the learned mask vector [d] of the MIR task and applies `maskPairMatrix`.
 * `apply([x [b,e,e,d], pairMask [b,e,e]]) → [masked [b,e,e,d], maskedPairs [b,e,e]]`.
 * @example
 * const masker = new PairMaskingLayer({ ratio: 0.2, seed: 1 });
 * const [masked, maskedPairs] = masker.apply([x, pairMask]) as tf.Tensor[];
 */
export class PairMaskingLayer extends tf.layers.Layer {
  static className = 'PairMaskingLayer';
  readonly ratio: number;
  readonly seed: number;
  private calls = 0;
  private maskVector?: tf.LayerVariable;

  constructor(args: PairMaskingLayerArgs = {}) {
    super(args);
    this.ratio = args.ratio ?? 0.2;
    this.seed = args.seed ?? 0;
    if (!(this.ratio >= 0 && this.ratio <= 1))
      throw new ArgumentError('ratio', 'a number in [0, 1]', args.ratio);
    if (!Number.isInteger(this.seed)) throw new ArgumentError('seed', 'an integer', args.seed);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const d = s[s.length - 1];
    if (s.length !== 4 || d == null)
      throw new ShapeError(
        'PairMaskingLayer x',
        '[b, e, e, d]',
        s.map((v) => v ?? -1),
      );
    this.maskVector = this.addWeight(
      'maskVector',
      [d],
      'float32',
      tf.initializers.randomNormal({ stddev: 0.02 }),
    );
    this.built = true;
  }

  /** `kwargs.seed`: this call's mask seed (default: the layer's `seed` plus its call count). */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { seed?: number } = {}): tf.Tensor[] {
    const [x, pairMask] = splitInputs(inputs, 'PairMaskingLayer');
    const seed = kwargs.seed ?? this.seed + this.calls++;
    const { masked, maskedPairs } = maskPairMatrix(x, pairMask, this.maskVector!.read(), {
      ratio: this.ratio,
      seed,
    });
    return [masked, maskedPairs];
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape[] {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [s, s.slice(0, 3)];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ratio: this.ratio, seed: this.seed };
  }
}
registerClass(PairMaskingLayer);
