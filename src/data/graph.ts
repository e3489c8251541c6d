/**
 * The heterogeneous document graph of GTN / DocRE-BSI (paper §2.2, "Graph Representation").
 *
 * Nodes (compact layout, per document): node 0 = the document (CLS); then one node per mention in
 * entity-major order (entity 0's mentions first; mentions cut by `maxLength` are left out); then
 * one node per entity. v = 1 + M + E.
 *
 * Adjacency channels (each with self-loops on every real node), in DESIGN.md's order:
 *  0. document edges: the document node ↔ every mention and entity node;
 *  1. intra-sentence edges: mention/entity nodes that co-occur in a sentence (an entity node lies
 *     in every sentence holding one of its mentions);
 *  2. intra-entity (coreference) edges: mention and entity nodes of the same entity.
 *
 * Ids for the global head's embeddings are 1-based so they can index an embedding table directly:
 * `nodeEntityId` = entity + 1 (0 for the document node), `nodeSentenceId` = sentence + 1 (0 for the
 * document and entity nodes). `nodeTokenMask` is the cross-attention's local mask: the document
 * node sees every real token, a mention node the tokens of its sentence, an entity node the
 * tokens of the sentences of its mentions.
 *
 * `nodeSource` says where each node's initial feature comes from, as an index into
 * `concat([docState [1], mentionStates [e·m] (row-major over mentionIndex), entityStates [e]])`,
 * so a model builds the node matrix `[b, v, d]` with one flattened gather; `entityNode [b, e]`
 * gathers entity nodes back out.
 *
 * Dimension legend: `b` documents, `v` graph nodes (padded), `n` tokens, `e` entities, `m` mentions.
 *
 * @example
 * const g = buildDocumentGraph(feature);
 * g.numNodes;                 // 1 + mentions + entities
 * g.adjacency[2][1][g.entityNode[0]]; // 1: mention 0 of entity 0 ↔ entity 0 (coreference)
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import type { DataError } from './errors.js';
import type { Feature } from './featurize.js';
import type { RelationSchema } from './schema.js';
import { type CollateOptions, validateBatch } from './validate.js';

export const NODE_DOCUMENT = 0;
export const NODE_MENTION = 1;
export const NODE_ENTITY = 2;

/** One document's graph (plain arrays, compact layout). */
export interface DocumentGraph {
  readonly numNodes: number;
  /** `[v]` NODE_DOCUMENT | NODE_MENTION | NODE_ENTITY. */
  readonly nodeKind: readonly number[];
  /** `[v]` entity index of mention/entity nodes, −1 for the document node. */
  readonly nodeEntity: readonly number[];
  /** `[v]` sentence of mention nodes, −1 otherwise. */
  readonly nodeSentence: readonly number[];
  /** `[v]` mention index within its entity for mention nodes, −1 otherwise. */
  readonly nodeMention: readonly number[];
  /** `[3][v][v]` 0/1: document, intra-sentence, intra-entity edges, with self-loops. */
  readonly adjacency: readonly (readonly (readonly number[])[])[];
  /** `[v][n]` 0/1 local cross-attention masks over the document's tokens. */
  readonly nodeTokenMask: readonly (readonly number[])[];
  /** `[e]` node index of each entity. */
  readonly entityNode: readonly number[];
}

/** Builds the GTN graph of one featurized document. */
export function buildDocumentGraph(feature: Feature): DocumentGraph {
  const kind: number[] = [NODE_DOCUMENT];
  const entity: number[] = [-1];
  const sentence: number[] = [-1];
  const mention: number[] = [-1];
  const sentences: Set<number>[] = [new Set()];
  feature.mentionStart.forEach((ms, k) =>
    ms.forEach((p, j) => {
      if (p < 0) return;
      kind.push(NODE_MENTION);
      entity.push(k);
      mention.push(j);
      const s = feature.mentionSentence[k]![j]!;
      sentence.push(s);
      sentences.push(new Set([s]));
    }),
  );
  const entityNode: number[] = [];
  feature.mentionStart.forEach((ms, k) => {
    entityNode.push(kind.length);
    kind.push(NODE_ENTITY);
    entity.push(k);
    mention.push(-1);
    sentence.push(-1);
    sentences.push(new Set(ms.flatMap((p, j) => (p < 0 ? [] : [feature.mentionSentence[k]![j]!]))));
  });
  const v = kind.length;
  const zeros = (): number[][] => Array.from({ length: v }, () => new Array<number>(v).fill(0));
  const adjacency = [zeros(), zeros(), zeros()];
  for (let a = 0; a < v; a++)
    for (let c = 0; c < v; c++) {
      if (a === c) {
        for (const ch of adjacency) ch[a]![c] = 1;
        continue;
      }
      if (a === 0 || c === 0) adjacency[0]![a]![c] = 1;
      else {
        if ([...sentences[a]!].some((s) => sentences[c]!.has(s))) adjacency[1]![a]![c] = 1;
        if (entity[a] === entity[c]) adjacency[2]![a]![c] = 1;
      }
    }
  const n = feature.inputIds.length;
  const nodeTokenMask = kind.map((kd, node) => {
    const row = new Array<number>(n).fill(kd === NODE_DOCUMENT ? 1 : 0);
    if (kd !== NODE_DOCUMENT)
      for (const s of sentences[node]!) {
        const [from, to] = feature.sentenceSpans[s] ?? [0, 0];
        for (let t = from; t < to; t++) row[t] = 1;
      }
    return row;
  });
  return {
    numNodes: v,
    nodeKind: kind,
    nodeEntity: entity,
    nodeSentence: sentence,
    nodeMention: mention,
    adjacency,
    nodeTokenMask,
    entityNode,
  };
}

/** GTN inputs of a batch (`collate(…, {graph: true}).graph` or `collateGraphs`). */
export interface GraphBatch {
  /** `[b, v]` float32, 1 for real nodes. */
  readonly nodeMask: tf.Tensor2D;
  /** `[b, v]` int32 node kind (0 document, 1 mention, 2 entity; −1 padding). */
  readonly nodeKind: tf.Tensor2D;
  /** `[b, 3, v, v]` float32 adjacency: document, intra-sentence, intra-entity; self-loops on real nodes. */
  readonly adjacency: tf.Tensor4D;
  /** `[b, v]` int32 entity + 1 (0: document node / padding). */
  readonly nodeEntityId: tf.Tensor2D;
  /** `[b, v]` int32 sentence + 1 for mention nodes (0 otherwise). */
  readonly nodeSentenceId: tf.Tensor2D;
  /** `[b, v, n]` float32 local cross-attention masks. */
  readonly nodeTokenMask: tf.Tensor3D;
  /** `[b, v]` int32 index into `concat([doc (1), mentions (e·m), entities (e)])` (0 for padding). */
  readonly nodeSource: tf.Tensor2D;
  /** `[b, e]` int32 node index of each entity (0 for padded entities). */
  readonly entityNode: tf.Tensor2D;
  /** `[b, e, m]` int32 token index of each mention's end marker (GTN: mention = mean of start and end). */
  readonly mentionEndIndex: tf.Tensor3D;
}

/** Stacks per-document graphs into tensors for a batch of padded sizes n, e, m. */
export function graphTensors(
  graphs: readonly DocumentGraph[],
  dims: { n: number; e: number; m: number },
  features?: readonly Feature[],
): GraphBatch {
  const { n, e, m } = dims;
  const b = graphs.length;
  const v = Math.max(...graphs.map((g) => g.numNodes));
  const nodeMask = new Float32Array(b * v);
  const nodeKind = new Int32Array(b * v).fill(-1);
  const adjacency = new Float32Array(b * 3 * v * v);
  const nodeEntityId = new Int32Array(b * v);
  const nodeSentenceId = new Int32Array(b * v);
  const nodeTokenMask = new Float32Array(b * v * n);
  const nodeSource = new Int32Array(b * v);
  const entityNode = new Int32Array(b * e);
  const mentionEndIndex = new Int32Array(b * e * m);
  graphs.forEach((g, i) => {
    for (let a = 0; a < g.numNodes; a++) {
      const at = i * v + a; // [b, v]
      nodeMask[at] = 1;
      nodeKind[at] = g.nodeKind[a]!;
      nodeEntityId[at] = g.nodeEntity[a]! + 1;
      nodeSentenceId[at] = g.nodeSentence[a]! + 1;
      const k = g.nodeEntity[a]!;
      nodeSource[at] =
        g.nodeKind[a] === NODE_MENTION
          ? 1 + k * m + g.nodeMention[a]!
          : g.nodeKind[a] === NODE_ENTITY
            ? 1 + e * m + k
            : 0;
      for (let ch = 0; ch < 3; ch++)
        for (let c = 0; c < g.numNodes; c++)
          adjacency[((i * 3 + ch) * v + a) * v + c] = g.adjacency[ch]![a]![c]!; // [b, 3, v, v]
      g.nodeTokenMask[a]!.forEach((x, t) => (nodeTokenMask[at * n + t] = x)); // [b, v, n]
    }
    g.entityNode.forEach((node, k) => (entityNode[i * e + k] = node));
    features?.[i]?.mentionEnd.forEach((ms, k) =>
      ms.forEach((p, j) => (mentionEndIndex[(i * e + k) * m + j] = Math.max(p, 0))),
    );
  });
  return {
    nodeMask: tf.tensor2d(nodeMask, [b, v]),
    nodeKind: tf.tensor2d(nodeKind, [b, v], 'int32'),
    adjacency: tf.tensor4d(adjacency, [b, 3, v, v]),
    nodeEntityId: tf.tensor2d(nodeEntityId, [b, v], 'int32'),
    nodeSentenceId: tf.tensor2d(nodeSentenceId, [b, v], 'int32'),
    nodeTokenMask: tf.tensor3d(nodeTokenMask, [b, v, n]),
    nodeSource: tf.tensor2d(nodeSource, [b, v], 'int32'),
    entityNode: tf.tensor2d(entityNode, [b, e], 'int32'),
    mentionEndIndex: tf.tensor3d(mentionEndIndex, [b, e, m], 'int32'),
  };
}

/** Validates (as `collate` does) and builds the graph batch on its own. */
export function collateGraphs(
  features: readonly Feature[],
  schema: RelationSchema,
  options: CollateOptions = {},
): E.Either<DataError, GraphBatch> {
  return E.map((dims: { n: number; e: number; m: number }) =>
    graphTensors(features.map(buildDocumentGraph), dims, features),
  )(validateBatch(features, schema, options));
}
