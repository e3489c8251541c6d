/**
 * Extended Cross Attention (ECA) of DocRE-II (Zhang et al., "Towards Better Document-level
 * Relation Extraction via Iterative Inference", §2.2, eqs. 5–7). The inference layer, fusion,
 * relation matrix, noise and K-step iterative inference that use it are in ./inference.ts.
 *
 * ECA, query pair (s,o), head h, candidates (each only where `pairMask` of the candidate is 1):
 *   head 0 row s (s,k), k ≠ o · head 1 column o (k,o), k ≠ s · head 2 column s (k,s) ·
 *   head 3 row o (o,k) · plus the pair (s,o) itself.
 * Keys and values come from `memory` (DocRE-II: M_l = [F_l ; R_l]); scores are computed with
 * batched matmuls over rows / columns, so no `[b,e,e,e,·]` tensor wider than 1 is built; heads,
 * and blocks of query rows within a head, run one at a time (`recomputeChunks`), forward and
 * backward.
 *
 * Difference from the official code (DeepLearnXMU/DocRE-II, `CCNet.py`): the official layer
 * first compresses [F;R] with a Linear+LayerNorm ("combine") before attention — here memory is
 * the plain concatenation (eq. 5), following the paper and DESIGN.md.
 *
 * Dimensions: b documents · e entities · d width · h heads (4) · dh = d/4 · k candidate entity.
 */
import * as tf from '@tensorflow/tfjs';
import { mergeHeads, splitHeads } from '../core/attention.js';
import { ShapeError, checkShape } from '../core/errors.js';
import { flattenTensors, recomputeChunks } from '../core/gradients.js';
import { registerClass } from '../core/registry.js';
import {
  allHeadsAtOnce,
  candidates,
  flatHeads,
  headMask,
  headProjections,
  headSources,
  overRowBlocks,
  rowBlocks,
  pathScores,
  pathSum,
  softmaxWithSelf,
  type PairRef,
} from './pair-paths.js';
import {
  addDense,
  dense,
  type DenseParams,
  type LayerArgs,
  lastDim,
  ParamLayer,
  shapesOf,
  tensorsOf,
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

export function addECA(add: AddWeight, prefix: string, d: number, dm: number): LayerVars<ECAParams> {
  return {
    query: addDense(add, `${prefix}query`, d, d),
    key: addDense(add, `${prefix}key`, dm, d),
    value: addDense(add, `${prefix}value`, dm, d),
    output: addDense(add, `${prefix}output`, d, d),
  };
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
