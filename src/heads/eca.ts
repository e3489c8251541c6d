/**
 * DocRE-II inference module (Zhang et al., "Towards Better Document-level Relation Extraction via
 * Iterative Inference", §2.2, Figure 3): Extended Cross Attention (ECA, eqs. 5–7), the fusion
 * sub-layer (eqs. 8–9), the inference layer (eqs. 5–11), the classifier (eq. 12) and K-step
 * iterative inference with accumulated logits.
 *
 * ECA, query pair (s,o), head h, candidates (each only where `pairMask` of the candidate is 1):
 *   head 0 row s (s,k), k ≠ o · head 1 column o (k,o), k ≠ s · head 2 column s (k,s) ·
 *   head 3 row o (o,k) · plus the pair (s,o) itself.
 * Keys and values come from `memory` (DocRE-II: M_l = [F_l ; R_l]); scores are computed with
 * batched matmuls over rows / columns, so no `[b,e,e,e,·]` tensor wider than 1 is built; heads,
 * and blocks of query rows within a head, run one at a time (`recomputeChunks`), forward and
 * backward.
 *
 * Differences from the official code (DeepLearnXMU/DocRE-II, `CCNet.py`, `model.py`), following
 * the paper and DESIGN.md instead: the official layer first compresses [F;R] with a
 * Linear+LayerNorm ("combine") before attention — here memory is the plain concatenation (eq. 5);
 * the official per-pair FFN is Linear(d,2d)-ReLU-Linear(2d,d) (our default `ffnDim` = 2·d as well);
 * dropout is omitted. Iterative inference follows `model.py`: logits are accumulated,
 * `logits ← logits + classifier(inference(F, emb(pred)))`, and the next relation matrix is the
 * sum of the relation embeddings of the adaptive-threshold prediction of the accumulated logits.
 *
 * Dimensions: b documents · e entities · d width · h heads (4) · dh = d/4 · k candidate entity ·
 * r relation classes (incl. class 0 = threshold / NA).
 */
import * as tf from '@tensorflow/tfjs';
import { adaptiveThresholdDecode } from '../losses/adaptive-threshold.js';
import { ArgumentError, ShapeError, checkShape } from '../core/errors.js';
import { flattenTensors, recompute, recomputeChunks } from '../core/gradients.js';
import { registerClass } from '../core/registry.js';
import {
  allHeadsAtOnce,
  candidates,
  flatHeads,
  headMask,
  headProjections,
  headSources,
  mergeHeads,
  splitHeads,
  overRowBlocks,
  positionBlocks,
  rowBlocks,
  pathScores,
  pathSum,
  softmaxWithSelf,
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
  seededUniform,
  type DenseParams,
  type FFNParams,
  type LayerArgs,
  type NormParams,
  checkFFNDim,
  ffnConfig,
  type AddWeight,
  type LayerVars,
} from '../core/layer-kit.js';

/** Number of ECA heads. */
export const ECA_HEADS = 4;

/** Candidate pair of each ECA head (query (s,o) = (A,B)) and the excluded k, if any. */
export const ECA_HEAD_CANDIDATES: readonly { ref: PairRef; exclude?: 'A' | 'B' }[] = [
  { ref: { anchor: 'A', side: 'row' }, exclude: 'B' }, // row s: (s,k), k ≠ o
  { ref: { anchor: 'B', side: 'col' }, exclude: 'A' }, // column o: (k,o), k ≠ s
  { ref: { anchor: 'A', side: 'col' } }, // column s: (k,s)
  { ref: { anchor: 'B', side: 'row' } }, // row o: (o,k)
];

/** Parameters of `eca` (DESIGN.md): query/output [d,d], key/value [dm,d], biases [d]. */
export interface ECAParams {
  query: DenseParams;
  key: DenseParams;
  value: DenseParams;
  output: DenseParams;
}

/**
 * DocRE-II Extended Cross Attention (eqs. 5–7).
 *
 * @param query [b,e,e,d] pair features giving the queries (F_l or R_l)
 * @param memory [b,e,e,dm] pair features giving keys and values (M_l = [F_l ; R_l])
 * @param pairMask [b,e,e] 1 for real ordered pairs
 * @returns [b,e,e,d]
 * @example
 * const fTilde = eca(F, tf.concat([F, R], -1), pairMask, params); // [b,e,e,d]
 */
export function eca(
  query: tf.Tensor,
  memory: tf.Tensor,
  pairMask: tf.Tensor,
  params: ECAParams,
): tf.Tensor4D {
  const dims = checkShape('query', query.shape, ['b', 'e', 'e', 'd']);
  checkShape('memory', memory.shape, ['b', 'e', 'e', 'dm'], dims);
  checkShape('pairMask', pairMask.shape, ['b', 'e', 'e'], dims);
  const [b, e, d, dm] = [dims['b']!, dims['e']!, dims['d']!, dims['dm']!];
  if (d % ECA_HEADS !== 0)
    throw new ShapeError('query', `[b, e, e, d] with d divisible by ${ECA_HEADS}`, query.shape);
  for (const [n, inDim] of [
    ['query', d],
    ['key', dm],
    ['value', dm],
    ['output', d],
  ] as const) {
    checkShape(`params.${n}.kernel`, params[n].kernel.shape, [inDim, d]);
    checkShape(`params.${n}.bias`, params[n].bias.shape, [d]);
  }
  if (allHeadsAtOnce(b, e, 2)) return ecaAllHeads(query, memory, pairMask, params);
  return tf.tidy(() => {
    const { tensors, rebuild } = flattenTensors(params);
    // [head_0 .. head_3] [b,e,e,d] · W_O + b_O, the projection inside (see recomputeChunks)
    return recomputeChunks(
      (j, qq, mm, pm, ...ps) => ecaHead(j, qq!, mm!, pm!, rebuild(ps)),
      ECA_HEADS,
      [query, memory, pairMask.toFloat(), ...tensors],
      -1,
      (heads, _q, _m, _pm, ...ps) => dense(heads, rebuild(ps).output),
    ) as tf.Tensor4D;
  });
}

/**
 * `eca` with the heads batched (inputs with `allHeadsAtOnce`): heads grouped by anchor (rows /
 * columns of s, or of o), each group one batched matmul with its heads as extra documents.
 */
function ecaAllHeads(
  query: tf.Tensor,
  memory: tf.Tensor,
  pairMask: tf.Tensor,
  params: ECAParams,
): tf.Tensor4D {
  const [b, e, , d] = query.shape as [number, number, number, number];
  return tf.tidy(() => {
    const q5 = splitHeads(dense(query, params.query), ECA_HEADS); // [b,h,e,e,dh]
    const k5 = splitHeads(dense(memory, params.key), ECA_HEADS);
    const v5 = splitHeads(dense(memory, params.value), ECA_HEADS);
    const pm = pairMask.toFloat();
    const scale = 1 / Math.sqrt(d / ECA_HEADS);
    const outs = ECA_GROUPS.map(({ heads, anchor, sides }) =>
      tf.tidy(() => {
        const idx = tf.tensor1d(heads, 'int32');
        const [qg, kg, vg] = [q5, k5, v5].map((t) => tf.gather(t, idx, 1)); // [b,g,e,e,dh]
        const a = tf.tidy(() => {
          const logits = pathScores(flatHeads(qg!), headSources(kg!, sides), anchor); // [b·g,e,e,e]
          const mask = flatHeads(headMask(pm, sides, anchor).mul(excludeMask(heads, e))); // [b·g,e,e,e]
          return softmaxWithSelf(
            logits.mul(scale),
            flatHeads(tf.sum(qg!.mul(kg!), -1, true)).mul(scale),
            mask,
          );
        });
        const out = pathSum(a.path, headSources(vg!, sides), anchor).add(a.self.mul(flatHeads(vg!)));
        return out.reshape([b, heads.length, e, e, d / ECA_HEADS]);
      }),
    );
    const order = tf.tensor1d(HEAD_ORDER, 'int32'); // back to head order 0..3
    return dense(mergeHeads(tf.gather(tf.concat(outs, 1), order, 1)), params.output) as tf.Tensor4D;
  });
}

/** Heads grouped by anchor, with the candidate sides of their heads. */
const ECA_GROUPS = (['A', 'B'] as const).map((anchor) => {
  const heads = ECA_HEAD_CANDIDATES.flatMap((c, h) => (c.ref.anchor === anchor ? [h] : []));
  return { heads, anchor, sides: heads.map((h) => ECA_HEAD_CANDIDATES[h]!.ref.side) };
});
/** Position of head h in the concatenation of the groups. */
const HEAD_ORDER = ECA_HEAD_CANDIDATES.map((_, h) => ECA_GROUPS.flatMap((g) => g.heads).indexOf(h));

/** The k ≠ o / k ≠ s masks of `heads`: [1,g,e,e,e] (A,B,k). */
function excludeMask(heads: readonly number[], e: number): tf.Tensor {
  const notEye = tf.sub(1, tf.eye(e)); // [e,e]
  const one = (h: number) => {
    const ex = ECA_HEAD_CANDIDATES[h]!.exclude;
    // k ≠ o depends on (B,k): [1,e,e]; k ≠ s on (A,k): [e,1,e]
    const m =
      ex === 'B' ? notEye.reshape([1, e, e]) : ex === 'A' ? notEye.reshape([e, 1, e]) : tf.ones([1, 1, e]);
    return tf.broadcastTo(m, [e, e, e]);
  };
  return tf.stack(heads.map(one)).expandDims(0);
}

/**
 * ECA head j for one block of a query rows: rows of the block ([b,a,e,·]) q, k, v of the pairs
 * themselves (and, for an A-anchored candidate, its sources kc, vc and their pairMask mc);
 * whole ([b,e,e,·]) the sources of a B-anchored candidate. → [b,a,e,dh]; its largest tensors
 * are [b,a,e,e].
 */
function ecaBlock(j: number, r0: number, [q, k, v, kc, vc, mc]: tf.Tensor[]): tf.Tensor {
  const [b, a, e, dh] = q!.shape as [number, number, number, number];
  const { ref, exclude } = ECA_HEAD_CANDIDATES[j]!;
  const scale = 1 / Math.sqrt(dh);
  const w = tf.tidy(() => {
    const logits = tf.tidy(() => pathScores(q!, kc!, ref.anchor).mul(scale)); // [b,a,e,e]
    const selfLogit = tf.tidy(() => tf.sum(q!.mul(k!), -1, true).mul(scale));
    const mask = tf.tidy(() => {
      const m = ref.anchor === 'A' ? mc!.reshape([b, a, 1, e]) : mc!.reshape([b, 1, e, e]);
      if (!exclude) return m;
      // k ≠ o depends on (B,k): [1,1,e,e]; k ≠ s on (A,k): [1,a,1,e]
      const notEye = tf.sub(1, tf.eye(e));
      return m.mul(
        exclude === 'B'
          ? notEye.reshape([1, 1, e, e])
          : tf.slice(notEye, [r0, 0], [a, e]).reshape([1, a, 1, e]),
      );
    });
    return softmaxWithSelf(logits, selfLogit, mask);
  });
  return tf.tidy(() => pathSum(w.path, vc!, ref.anchor).add(w.self.mul(v!)));
}

/**
 * ECA head j: query [b,e,e,d], memory [b,e,e,dm] → [b,e,e,dh] (channels [j·dh, (j+1)·dh) of the
 * head concatenation); the query rows run in blocks as in I-MSA (`overRowBlocks`).
 */
function ecaHead(j: number, query: tf.Tensor, memory: tf.Tensor, pm: tf.Tensor, p: ECAParams): tf.Tensor {
  const [b, e, , d] = query.shape as [number, number, number, number];
  const shape = [b, e, e, d / ECA_HEADS];
  const [q] = headProjections(query, [p.query], j, ECA_HEADS).map((t) => t.reshape(shape));
  const [k, v] = headProjections(memory, [p.key, p.value], j, ECA_HEADS).map((t) => t.reshape(shape));
  const { ref } = ECA_HEAD_CANDIDATES[j]!;
  const blocks = rowBlocks(b, e);
  const cand = [candidates(k!, ref.side), candidates(v!, ref.side), candidates(pm, ref.side)];
  if (ref.anchor === 'B')
    return overRowBlocks(blocks, [q!, k!, v!], cand, (r, rows, full) =>
      ecaBlock(j, blocks[r]![0], [...rows, ...full]),
    );
  // A-anchored 'row' candidates are the pair's own rows: not passed twice
  const own = ref.side === 'row';
  return overRowBlocks(blocks, own ? [q!, k!, v!, cand[2]!] : [q!, k!, v!, ...cand], [], (r, rows) =>
    ecaBlock(j, blocks[r]![0], own ? [rows[0]!, rows[1]!, rows[2]!, rows[1]!, rows[2]!, rows[3]!] : rows),
  );
}

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
 * Adaptive-threshold decoding (ATLOP `get_label`, no top-k): class r > 0 is predicted when
 * `logit_r > logit_0`; column 0 is 1 when nothing is predicted. The losses' decoder.
 * @param logits [.., r] @returns [.., r] multi-hot float32
 */
export function thresholdDecode(logits: tf.Tensor): tf.Tensor {
  return adaptiveThresholdDecode(logits);
}

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
  let pred = tf.tidy(() => thresholdDecode(baseLogits).mul(m)) as tf.Tensor4D;
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
    pred = tf.tidy(() => thresholdDecode(logits).mul(m)) as tf.Tensor4D;
  }
  m.dispose();
  return { logits, predictions: pred };
}

// ---------------------------------------------------------------------------------------------
// Layers

type Initializer = ReturnType<typeof tf.initializers.zeros>;

function shapesOf(inputShape: tf.Shape | tf.Shape[], n: number, layer: string, expected: string): tf.Shape[] {
  if (!Array.isArray(inputShape[0]) || inputShape.length !== n)
    throw new ArgumentError(`${layer} inputs`, expected, inputShape);
  return inputShape as tf.Shape[];
}

function tensorsOf(inputs: tf.Tensor | tf.Tensor[], n: number, layer: string, expected: string): tf.Tensor[] {
  if (!Array.isArray(inputs) || inputs.length !== n)
    throw new ArgumentError(
      `${layer} inputs`,
      expected,
      Array.isArray(inputs) ? `${inputs.length} tensors` : 'one tensor',
    );
  return inputs;
}

function lastDim(s: tf.Shape, what: string, divisible = 1): number {
  const d = s[s.length - 1];
  if (d == null || d % divisible !== 0)
    throw new ShapeError(
      what,
      `[.., d] with d divisible by ${divisible}`,
      s.map((v) => v ?? -1),
    );
  return d;
}

function addECA(add: AddWeight, prefix: string, d: number, dm: number): LayerVars<ECAParams> {
  return {
    query: addDense(add, `${prefix}query`, d, d),
    key: addDense(add, `${prefix}key`, dm, d),
    value: addDense(add, `${prefix}value`, dm, d),
    output: addDense(add, `${prefix}output`, d, d),
  };
}

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

/** Base class: owns a nested record of variables, read into tensors by `params()`. */
abstract class ParamLayer<P> extends tf.layers.Layer {
  protected vars?: LayerVars<P>;
  protected adder(): AddWeight {
    return (n: string, s: number[], i: Initializer) => this.addWeight(n, s, 'float32', i);
  }
  /** The current parameters as tensors (for calling the pure function directly). */
  params(): P {
    if (!this.vars)
      throw new ArgumentError(`${this.getClassName()}.params`, 'a built layer (call apply first)', 'unbuilt');
    return readVars(this.vars) as unknown as P;
  }
}

/**
 * ECA as a layer: `apply([query [b,e,e,d], memory [b,e,e,dm], pairMask [b,e,e]]) → [b,e,e,d]`.
 * @example
 * const y = new ECALayer({}).apply([F, tf.concat([F, R], -1), pairMask]) as tf.Tensor4D;
 */
export class ECALayer extends ParamLayer<ECAParams> {
  static className = 'ECALayer';
  constructor(args: LayerArgs = {}) {
    super(args);
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [qs, ms] = shapesOf(inputShape, 3, 'ECALayer', '[query, memory, pairMask]');
    this.vars = addECA(
      this.adder(),
      '',
      lastDim(qs!, 'ECALayer query', ECA_HEADS),
      lastDim(ms!, 'ECALayer memory'),
    );
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [q, m, pm] = tensorsOf(inputs, 3, 'ECALayer', '[query, memory, pairMask]');
    return tf.tidy(() => eca(q!, m!, pm!, this.params()));
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return shapesOf(inputShape, 3, 'ECALayer', '[query, memory, pairMask]')[0]!;
  }
}
registerClass(ECALayer);

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
