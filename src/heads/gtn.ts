/**
 * The Graph-Transformer Network of DocRE-BSI (Zhang et al. 2023, "Exploring Effective Inter-Encoder
 * Semantic Interaction for Document-Level Relation Extraction", §2.2 "Graph Encoding").
 *
 * - {@link graphAttention}: eqs. 1–2. Four heads of width dh = d/4 over the graph nodes. Heads
 *   0..2 attend along one edge type each (adjacency channel 0 document edges, 1 intra-sentence, 2
 *   intra-entity/coreference, self-loops included, as `src/data/graph.ts` builds them); head 3 is
 *   global (every real node) and its queries/keys read `F̃ = LayerNorm(F + emb_e + emb_s)`.
 *   Heads are concatenated, projected and layer-normalised (the official `GNN_output`).
 * - {@link crossAttention}: nodes attend over the encoder's token states; heads 0–1 are
 *   sentence-local (mask = node→token local mask), heads 2–3 global (the attention mask), then a
 *   gate mixes the result with the input: `LN(g·ctx + (1 − g)·nodes)`, `g = σ([nodes ; ctx]·W_g + b_g)`.
 * - {@link gtnLayer}: graph attention → cross attention → `LN(dense(·) + F)` → `LN(FFN(·) + ·)`.
 *
 * How the official code (DeepLearnXMU/DocRE-BSI, `Graph_Encoder.py`) differs from the paper, and
 * what this file follows (the official code, except where noted):
 * - eq. 2 has no LayerNorm; the official global head normalises `F + emb_e + emb_s` (followed).
 * - the official code puts the global head first in the concatenation; here it is head 3 (the
 *   paper's "fourth head"). Porting official weights: value columns / output rows of block 0 move
 *   to block 3 (test/fixtures/gen_unet_gtn.py does exactly that).
 * - the official cross-attention projects queries and keys to d/4 channels split over its 4 heads
 *   (head width d/16) and values to d (head width d/4); `crossKeyWidth` defaults to d/4 accordingly.
 * - official entity nodes get the mean of their mentions' sentence embeddings; here every node has
 *   one sentence id (`src/data/graph.ts` gives entity nodes id 0).
 * - the official code adds an auxiliary focal loss predicting the edges from the local scores
 *   (not in the paper); it is not implemented here.
 * - masking uses `maskedSoftmax` (a row with no candidate gets zero weights) instead of −10000,
 *   and local masks are also restricted to real nodes / tokens, so padded nodes and tokens never
 *   reach a real node; `gtnLayer` returns zeros for padded nodes.
 * - dropout (official 0.1 after the graph output, the cross-attention output and the FFN) is
 *   applied in training mode when `dropout > 0`; the official dropout on attention weights is not.
 *
 * Dimension letters: b documents, v graph nodes (padded), n tokens, d hidden width, h heads (4).
 */
import * as tf from '@tensorflow/tfjs';
import { linear, mergeHeads, scaledDotProductAttention, splitHeads } from '../core/attention.js';
import { ArgumentError, checkShape, ShapeError } from '../core/errors.js';
import { registerClass } from '../core/registry.js';
import {
  addDense,
  addNorm,
  type DenseParams,
  type LayerArgs,
  layerNorm,
  type NormParams,
  readVars,
  tensorsOf,
} from '../core/layer-kit.js';

/** Number of heads of both sublayers (paper: three edge heads + one global; two local + two global). */
export const GTN_HEADS = 4;

// ---------------------------------------------------------------------------------------------
// Parameters and inputs

/**
 * Graph-attention parameters. `query`/`key` `[d, 3·dh]` (edge heads 0..2), `value` `[d, d]`
 * (head h reads channels `[h·dh, (h+1)·dh)`, head 3 = global), `globalQuery`/`globalKey` `[d, dh]`,
 * `globalNorm` over d, `entityEmbeddings [numEntityIds, d]`, `sentenceEmbeddings [numSentenceIds, d]`,
 * `output [d, d]` and `norm` over d (official `GNN_output`).
 */
export interface GraphAttentionParams {
  readonly query: DenseParams;
  readonly key: DenseParams;
  readonly value: DenseParams;
  readonly globalQuery: DenseParams;
  readonly globalKey: DenseParams;
  readonly globalNorm: NormParams;
  readonly entityEmbeddings: tf.Tensor;
  readonly sentenceEmbeddings: tf.Tensor;
  readonly output: DenseParams;
  readonly norm: NormParams;
}

/** The graph of a batch (what `src/data/graph.ts` collates). */
export interface GraphInputs {
  /** `[b,v,d]` node features F. */
  readonly nodes: tf.Tensor;
  /** `[b,3,v,v]` 0/1 adjacency per edge type (document, intra-sentence, intra-entity), self-loops included. */
  readonly adjacency: tf.Tensor;
  /** `[b,v]` int32 row of `entityEmbeddings` per node, in [0, numEntityIds) (`src/data/graph.ts`: entity + 1, 0 = document node). */
  readonly entityIds: tf.Tensor;
  /** `[b,v]` int32 row of `sentenceEmbeddings` per node, in [0, numSentenceIds) (`src/data/graph.ts`: sentence + 1, 0 = none). */
  readonly sentenceIds: tf.Tensor;
  /** `[b,v]` 1 for real nodes. */
  readonly nodeMask: tf.Tensor;
}

/**
 * Cross-attention parameters: `query`/`key` `[d, dk]` (dk = crossKeyWidth, split over the 4
 * heads), `value [d, d]`, `output [d, d]`, `gate [2d, d]` (input `[nodes ; context]`), `norm` over d.
 */
export interface CrossAttentionParams {
  readonly query: DenseParams;
  readonly key: DenseParams;
  readonly value: DenseParams;
  readonly output: DenseParams;
  readonly gate: DenseParams;
  readonly norm: NormParams;
}

/** The token side of cross-attention. */
export interface TokenInputs {
  /** `[b,n,d]` encoder states H. */
  readonly tokens: tf.Tensor;
  /** `[b,v,n]` 1 where node v may see token n in the local heads (its sentence). */
  readonly localMask: tf.Tensor;
  /** `[b,n]` 1 for real tokens (the global heads). */
  readonly attentionMask: tf.Tensor;
}

/** One GTN layer: the two sublayers, then `LN(dense(c) + F)` and `LN(FFN(o) + o)` (official `Output`). */
export interface GTNLayerParams {
  readonly graph: GraphAttentionParams;
  readonly cross: CrossAttentionParams;
  readonly dense: DenseParams;
  readonly norm1: NormParams;
  /** `[d, f]` then `[f, d]`, GELU between (official f = 2d). */
  readonly inner: DenseParams;
  readonly outer: DenseParams;
  readonly norm2: NormParams;
}

export interface GTNOptions {
  /** LayerNorm epsilon. Default 1e-12 (BERT's, as the official code). */
  readonly epsilon?: number;
  /** Dropout rate, applied only when `training`. Default 0. */
  readonly dropout?: number;
  readonly training?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Pure functions

/** GELU with erf (BERT's `gelu`). */
function gelu(x: tf.Tensor): tf.Tensor {
  return x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5);
}

function dropout(x: tf.Tensor, o: GTNOptions): tf.Tensor {
  return o.training && o.dropout ? tf.dropout(x, o.dropout) : x;
}

/** Embedding lookup: `table [t, d]`, `ids [b,v]` int32 → `[b,v,d]` (flat gather, no batchDims). */
function embed(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  return tf.gather(table, ids.toInt().flatten()).reshape([...ids.shape, table.shape[1]!]);
}

function checkGraph(g: GraphInputs): Record<string, number> {
  const dims = checkShape('nodes', g.nodes.shape, ['b', 'v', 'd']);
  checkShape('adjacency', g.adjacency.shape, ['b', 3, 'v', 'v'], dims);
  checkShape('entityIds', g.entityIds.shape, ['b', 'v'], dims);
  checkShape('sentenceIds', g.sentenceIds.shape, ['b', 'v'], dims);
  checkShape('nodeMask', g.nodeMask.shape, ['b', 'v'], dims);
  if (g.entityIds.dtype !== 'int32')
    throw new ShapeError('entityIds', '[b, v] int32', `dtype ${g.entityIds.dtype}`);
  if (g.sentenceIds.dtype !== 'int32')
    throw new ShapeError('sentenceIds', '[b, v] int32', `dtype ${g.sentenceIds.dtype}`);
  return dims;
}

function checkTokens(t: TokenInputs, dims: Record<string, number>): void {
  checkShape('tokens', t.tokens.shape, ['b', 'n', 'd'], dims);
  checkShape('localMask', t.localMask.shape, ['b', 'v', 'n'], dims);
  checkShape('attentionMask', t.attentionMask.shape, ['b', 'n'], dims);
}

/**
 * Graph-attention sublayer (eqs. 1–2, official `Struct_SelfAttention` up to `GNN_output`).
 *
 *   head i ∈ {0,1,2}: softmax over j with adjacency[i,v,j]·nodeMask[j] of (F W_i^Q)(F W_i^K)ᵀ/√dh, times F W_i^V
 *   head 3:           softmax over real j of (F̃ W_4^Q)(F̃ W_4^K)ᵀ/√dh, times F W_4^V,
 *                     F̃ = LayerNorm(F + emb_e[entityIds] + emb_s[sentenceIds])
 *   output:           LayerNorm([head 0 ; … ; head 3] W_O + b_O)
 *
 * @param g nodes `[b,v,d]`, adjacency `[b,3,v,v]`, entityIds/sentenceIds `[b,v]` int32, nodeMask `[b,v]`
 * @param p {@link GraphAttentionParams}
 * @param o LayerNorm epsilon, dropout rate and training flag ({@link GTNOptions})
 * @returns `[b,v,d]`
 * @example
 * const out = graphAttention({ nodes, adjacency, entityIds, sentenceIds, nodeMask }, params);
 */
export function graphAttention(g: GraphInputs, p: GraphAttentionParams, o: GTNOptions = {}): tf.Tensor3D {
  const { b, v, d } = checkGraph(g) as { b: number; v: number; d: number };
  checkShape('params.value.kernel', p.value.kernel.shape, [d, d]);
  checkShape('params.query.kernel', p.query.kernel.shape, [d, (3 * d) / GTN_HEADS]);
  return tf.tidy(() => {
    const keyMask = g.nodeMask.toFloat().reshape([b, 1, 1, v]); // [b,1,1,v]
    const localMask = g.adjacency.toFloat().mul(keyMask); // [b,3,v,v]
    const q = splitHeads(linear(g.nodes, p.query), 3); // [b,3,v,dh]
    const k = splitHeads(linear(g.nodes, p.key), 3); // [b,3,v,dh]
    const vals = splitHeads(linear(g.nodes, p.value), GTN_HEADS); // [b,4,v,dh]
    const local = scaledDotProductAttention(q, k, vals.slice([0, 0, 0, 0], [b, 3, v, -1]), localMask); // [b,3,v,dh]
    const structured = g.nodes
      .add(embed(p.entityEmbeddings, g.entityIds))
      .add(embed(p.sentenceEmbeddings, g.sentenceIds));
    const tilde = layerNorm(structured, p.globalNorm, o.epsilon ?? 1e-12); // F̃ [b,v,d]
    const qg = splitHeads(linear(tilde, p.globalQuery), 1); // [b,1,v,dh]
    const kg = splitHeads(linear(tilde, p.globalKey), 1); // [b,1,v,dh]
    const global = scaledDotProductAttention(qg, kg, vals.slice([0, 3, 0, 0], [b, 1, v, -1]), keyMask); // [b,1,v,dh]
    const context = mergeHeads(tf.concat([local, global], 1)); // [b,v,d]
    return layerNorm(dropout(linear(context, p.output), o), p.norm, o.epsilon ?? 1e-12) as tf.Tensor3D;
  });
}

/**
 * Cross-attention sublayer (official `Cross_Attention`): node queries over token states.
 * Heads 0–1 local (mask `localMask · attentionMask`), heads 2–3 global (mask `attentionMask`);
 * query/key head width dk/4, value head width d/4, scores scaled by 1/√(dk/4).
 *
 * @param nodes `[b,v,d]`
 * @param t tokens `[b,n,d]`, localMask `[b,v,n]`, attentionMask `[b,n]`
 * @param p {@link CrossAttentionParams}
 * @param o LayerNorm epsilon, dropout rate and training flag ({@link GTNOptions})
 * @returns `[b,v,d]` = `LN(g·ctx + (1 − g)·nodes)`, `g = σ([nodes ; ctx] W_g + b_g)`
 * @example
 * const out = crossAttention(nodes, { tokens, localMask, attentionMask }, params);
 */
export function crossAttention(
  nodes: tf.Tensor,
  t: TokenInputs,
  p: CrossAttentionParams,
  o: GTNOptions = {},
): tf.Tensor3D {
  const dims = checkShape('nodes', nodes.shape, ['b', 'v', 'd']);
  checkTokens(t, dims);
  const { b, v, n } = dims as { b: number; v: number; n: number };
  const dk = p.query.kernel.shape[1]!;
  if (dk % GTN_HEADS !== 0)
    throw new ShapeError(
      'params.query.kernel',
      `[d, dk] with dk divisible by ${GTN_HEADS}`,
      p.query.kernel.shape,
    );
  return tf.tidy(() => {
    const global = t.attentionMask.toFloat().reshape([b, 1, n]); // [b,1,n]
    const local = t.localMask.toFloat().mul(global); // [b,v,n]
    const globalFull = tf.broadcastTo(global, [b, v, n]);
    const mask = tf.stack([local, local, globalFull, globalFull], 1); // [b,4,v,n]
    const q = splitHeads(linear(nodes, p.query), GTN_HEADS); // [b,4,v,dk/4]
    const k = splitHeads(linear(t.tokens, p.key), GTN_HEADS); // [b,4,n,dk/4]
    const vals = splitHeads(linear(t.tokens, p.value), GTN_HEADS); // [b,4,n,d/4]
    const ctx = mergeHeads(scaledDotProductAttention(q, k, vals, mask)); // [b,v,d]
    const out = dropout(linear(ctx, p.output), o); // [b,v,d]
    const gate = tf.sigmoid(linear(tf.concat([nodes, out], 2), p.gate)); // [b,v,d]
    const mixed = gate.mul(out).add(tf.scalar(1).sub(gate).mul(nodes));
    return layerNorm(mixed, p.norm, o.epsilon ?? 1e-12) as tf.Tensor3D;
  });
}

/**
 * One GTN layer (official `Struct_SelfAttention.forward` + `Output`):
 *   g = graphAttention(F), c = crossAttention(g, H), o = LN(c W_1 + b_1 + F),
 *   out = LN(gelu(o W_2 + b_2) W_3 + b_3 + o) · nodeMask.
 *
 * @param g graph inputs (nodes `[b,v,d]` …); @param t token inputs (tokens `[b,n,d]` …)
 * @returns `[b,v,d]`, zero rows for padded nodes
 * @example
 * let F = nodes;
 * for (const p of layers) F = gtnLayer({ ...graph, nodes: F }, tokens, p);
 */
export function gtnLayer(g: GraphInputs, t: TokenInputs, p: GTNLayerParams, o: GTNOptions = {}): tf.Tensor3D {
  checkTokens(t, checkGraph(g));
  const eps = o.epsilon ?? 1e-12;
  return tf.tidy(() => {
    const graph = graphAttention(g, p.graph, o); // [b,v,d]
    const cross = crossAttention(graph, t, p.cross, o); // [b,v,d]
    const h = layerNorm(dropout(linear(cross, p.dense), o).add(g.nodes), p.norm1, eps); // [b,v,d]
    const ffn = dropout(linear(gelu(linear(h, p.inner)), p.outer), o); // [b,v,d]
    return layerNorm(ffn.add(h), p.norm2, eps).mul(g.nodeMask.toFloat().expandDims(2)) as tf.Tensor3D;
  });
}

// ---------------------------------------------------------------------------------------------
// Layers

type Add = (
  name: string,
  shape: number[],
  init: ReturnType<typeof tf.initializers.zeros>,
) => tf.LayerVariable;

function addGraphAttentionWeights(
  add: Add,
  prefix: string,
  d: number,
  numEntityIds: number,
  numSentenceIds: number,
) {
  const dh = d / GTN_HEADS;
  const emb = tf.initializers.randomNormal({ stddev: 0.02 });
  return {
    query: addDense(add, `${prefix}query`, d, 3 * dh),
    key: addDense(add, `${prefix}key`, d, 3 * dh),
    value: addDense(add, `${prefix}value`, d, d),
    globalQuery: addDense(add, `${prefix}globalQuery`, d, dh),
    globalKey: addDense(add, `${prefix}globalKey`, d, dh),
    globalNorm: addNorm(add, `${prefix}globalNorm`, d),
    entityEmbeddings: add(`${prefix}entityEmbeddings`, [numEntityIds, d], emb),
    sentenceEmbeddings: add(`${prefix}sentenceEmbeddings`, [numSentenceIds, d], emb),
    output: addDense(add, `${prefix}output`, d, d),
    norm: addNorm(add, `${prefix}norm`, d),
  };
}

function addCrossAttentionWeights(add: Add, prefix: string, d: number, dk: number) {
  return {
    query: addDense(add, `${prefix}query`, d, dk),
    key: addDense(add, `${prefix}key`, d, dk),
    value: addDense(add, `${prefix}value`, d, d),
    output: addDense(add, `${prefix}output`, d, d),
    // official: Gate bias filled with −1 (the gate starts mostly closed)
    gate: {
      kernel: add(`${prefix}gate/kernel`, [2 * d, d], tf.initializers.glorotUniform({})),
      bias: add(`${prefix}gate/bias`, [d], tf.initializers.constant({ value: -1 })),
    },
    norm: addNorm(add, `${prefix}norm`, d),
  };
}

export interface GTNLayerArgs extends LayerArgs {
  /** Rows of the entity-id embedding table (official 50). Default 50. */
  numEntityIds?: number;
  /** Rows of the sentence-id embedding table (official 30). Default 30. */
  numSentenceIds?: number;
  /** Query/key width of cross-attention, split over its 4 heads. Default d/4 (official). */
  crossKeyWidth?: number;
  /** FFN inner width. Default 2d (official). */
  ffnDim?: number;
  /** Dropout rate in training mode. Default 0 (official 0.1). */
  dropout?: number;
  /** LayerNorm epsilon. Default 1e-12. */
  epsilon?: number;
}

/** Config shared by the three layers; validated once. */
abstract class GTNBase extends tf.layers.Layer {
  readonly numEntityIds: number;
  readonly numSentenceIds: number;
  readonly crossKeyWidth?: number;
  readonly ffnDim?: number;
  readonly dropoutRate: number;
  readonly epsilon: number;

  constructor(args: GTNLayerArgs = {}) {
    super(args);
    this.numEntityIds = args.numEntityIds ?? 50;
    this.numSentenceIds = args.numSentenceIds ?? 30;
    this.crossKeyWidth = args.crossKeyWidth;
    this.ffnDim = args.ffnDim;
    this.dropoutRate = args.dropout ?? 0;
    this.epsilon = args.epsilon ?? 1e-12;
    const posInt = (name: string, x: unknown) => {
      if (x !== undefined && !(Number.isInteger(x) && (x as number) > 0))
        throw new ArgumentError(name, 'a positive integer', x);
    };
    posInt('numEntityIds', this.numEntityIds);
    posInt('numSentenceIds', this.numSentenceIds);
    posInt('ffnDim', this.ffnDim);
    if (
      this.crossKeyWidth !== undefined &&
      !(
        Number.isInteger(this.crossKeyWidth) &&
        this.crossKeyWidth > 0 &&
        this.crossKeyWidth % GTN_HEADS === 0
      )
    )
      throw new ArgumentError('crossKeyWidth', `a positive multiple of ${GTN_HEADS}`, this.crossKeyWidth);
    if (!(this.dropoutRate >= 0 && this.dropoutRate < 1))
      throw new ArgumentError('dropout', 'a rate in [0, 1)', args.dropout);
    if (!(this.epsilon > 0)) throw new ArgumentError('epsilon', 'a positive number', args.epsilon);
  }

  protected add: Add = (name, shape, init) => this.addWeight(name, shape, 'float32', init);

  /** d from the first input shape; must be divisible by 4. */
  protected width(inputShape: tf.Shape | tf.Shape[]): number {
    const first = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const d = first[2];
    if (first.length !== 3 || d == null || d % GTN_HEADS !== 0)
      throw new ShapeError('nodes', `[b, v, d] with d divisible by ${GTN_HEADS}`, String(first));
    return d;
  }

  protected options(kwargs: { training?: boolean } | undefined): GTNOptions {
    return { epsilon: this.epsilon, dropout: this.dropoutRate, training: kwargs?.training ?? false };
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const c: tf.serialization.ConfigDict = {
      ...super.getConfig(),
      numEntityIds: this.numEntityIds,
      numSentenceIds: this.numSentenceIds,
      dropout: this.dropoutRate,
      epsilon: this.epsilon,
    };
    if (this.crossKeyWidth !== undefined) c['crossKeyWidth'] = this.crossKeyWidth;
    if (this.ffnDim !== undefined) c['ffnDim'] = this.ffnDim;
    return c;
  }
}

const GRAPH_INPUTS = 'nodes, adjacency, entityIds, sentenceIds, nodeMask';
const TOKEN_INPUTS = 'tokens, localMask, attentionMask';

/**
 * {@link graphAttention} as a layer: `apply([nodes, adjacency, entityIds, sentenceIds, nodeMask])`.
 *
 * @example
 * const layer = new GraphAttentionLayer({ numEntityIds: 50, numSentenceIds: 30 });
 * const out = layer.apply([nodes, adjacency, entityIds, sentenceIds, nodeMask]) as tf.Tensor; // [b,v,d]
 */
export class GraphAttentionLayer extends GTNBase {
  static className = 'GraphAttentionLayer';
  private vars?: ReturnType<typeof addGraphAttentionWeights>;

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    this.vars = addGraphAttentionWeights(
      this.add,
      '',
      this.width(inputShape),
      this.numEntityIds,
      this.numSentenceIds,
    );
    this.built = true;
  }

  params(): GraphAttentionParams {
    return readVars(this.vars!) as GraphAttentionParams;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const [nodes, adjacency, entityIds, sentenceIds, nodeMask] = tensorsOf(
      inputs,
      5,
      this.name,
      `[${GRAPH_INPUTS}]`,
    );
    return graphAttention(
      {
        nodes: nodes!,
        adjacency: adjacency!,
        entityIds: entityIds!,
        sentenceIds: sentenceIds!,
        nodeMask: nodeMask!,
      },
      this.params(),
      this.options(kwargs),
    );
  }
}
registerClass(GraphAttentionLayer);

/**
 * {@link crossAttention} as a layer: `apply([nodes, tokens, localMask, attentionMask])`.
 *
 * @example
 * const out = new CrossAttentionLayer().apply([nodes, tokens, localMask, attentionMask]) as tf.Tensor;
 */
export class CrossAttentionLayer extends GTNBase {
  static className = 'CrossAttentionLayer';
  private vars?: ReturnType<typeof addCrossAttentionWeights>;

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const d = this.width(inputShape);
    this.vars = addCrossAttentionWeights(this.add, '', d, this.crossKeyWidth ?? d / GTN_HEADS);
    this.built = true;
  }

  params(): CrossAttentionParams {
    return readVars(this.vars!) as CrossAttentionParams;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const [nodes, tokens, localMask, attentionMask] = tensorsOf(
      inputs,
      4,
      this.name,
      `[nodes, ${TOKEN_INPUTS}]`,
    );
    return crossAttention(
      nodes!,
      { tokens: tokens!, localMask: localMask!, attentionMask: attentionMask! },
      this.params(),
      this.options(kwargs),
    );
  }
}
registerClass(CrossAttentionLayer);

/**
 * {@link gtnLayer} as a layer (stack L = 2 of them, as the paper):
 * `apply([nodes, adjacency, entityIds, sentenceIds, nodeMask, tokens, localMask, attentionMask])`.
 * Weight names: `graph/…`, `cross/…`, `dense`, `norm1`, `inner`, `outer`, `norm2`.
 *
 * @example
 * const gtn = [new GTNLayer(), new GTNLayer()];
 * let F = nodes;
 * for (const l of gtn) F = l.apply([F, adjacency, entityIds, sentenceIds, nodeMask, tokens, localMask, attentionMask]) as tf.Tensor;
 */
export class GTNLayer extends GTNBase {
  static className = 'GTNLayer';
  private vars?: {
    graph: ReturnType<typeof addGraphAttentionWeights>;
    cross: ReturnType<typeof addCrossAttentionWeights>;
    dense: ReturnType<typeof addDense>;
    norm1: ReturnType<typeof addNorm>;
    inner: ReturnType<typeof addDense>;
    outer: ReturnType<typeof addDense>;
    norm2: ReturnType<typeof addNorm>;
  };

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const d = this.width(inputShape);
    const f = this.ffnDim ?? 2 * d;
    this.vars = {
      graph: addGraphAttentionWeights(this.add, 'graph/', d, this.numEntityIds, this.numSentenceIds),
      cross: addCrossAttentionWeights(this.add, 'cross/', d, this.crossKeyWidth ?? d / GTN_HEADS),
      dense: addDense(this.add, 'dense', d, d),
      norm1: addNorm(this.add, 'norm1', d),
      inner: addDense(this.add, 'inner', d, f),
      outer: addDense(this.add, 'outer', f, d),
      norm2: addNorm(this.add, 'norm2', d),
    };
    this.built = true;
  }

  params(): GTNLayerParams {
    return readVars(this.vars!) as GTNLayerParams;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const [nodes, adjacency, entityIds, sentenceIds, nodeMask, tokens, localMask, attentionMask] = tensorsOf(
      inputs,
      8,
      this.name,
      `[${GRAPH_INPUTS}, ${TOKEN_INPUTS}]`,
    );
    return gtnLayer(
      {
        nodes: nodes!,
        adjacency: adjacency!,
        entityIds: entityIds!,
        sentenceIds: sentenceIds!,
        nodeMask: nodeMask!,
      },
      { tokens: tokens!, localMask: localMask!, attentionMask: attentionMask! },
      this.params(),
      this.options(kwargs),
    );
  }
}
registerClass(GTNLayer);
