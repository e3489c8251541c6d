/**
 * A synthetic model input (random encoder features + a valid DocRE batch) for tests, benchmarks
 * and smoke runs that must not depend on a corpus or an encoder. Deterministic for a seed.
 *
 * Dimension letters: b n d h m e r (DESIGN.md).
 */
import * as tf from '@tensorflow/tfjs';
import { graphTensors, NODE_DOCUMENT, NODE_ENTITY, NODE_MENTION, type DocumentGraph } from '../data/graph.js';
import { prng } from '../core/initializers.js';
import type { ModelInput } from './types.js';

export interface SyntheticBatchArgs {
  /** documents, default 2 */
  readonly b?: number;
  /** tokens, default 24 */
  readonly n?: number;
  /** hidden width, default 16 */
  readonly d?: number;
  /** attention heads, default 2 */
  readonly h?: number;
  /** entities (padded), default 5; document i has `e - i % 2` real entities */
  readonly e?: number;
  /** mentions per entity (padded), default 2 */
  readonly m?: number;
  /** relation classes incl. class 0, default 4 */
  readonly r?: number;
  /** PRNG seed, default 1 */
  readonly seed?: number;
  /** include labels, default true */
  readonly labels?: boolean;
  /** include GTN's document graph (`graph`, as `collate(…, {graph: true})` makes it), default false */
  readonly graph?: boolean;
}

/**
 * Builds a synthetic `ModelInput` with `hidden [b,n,d]`, row-stochastic `attention [b,h,n,n]`,
 * mentions at distinct token positions, every ordered pair of real entities in `pairMask`, and
 * (optionally) multi-hot labels where about a third of the pairs hold one relation r > 0.
 *
 * @example
 * const batch = syntheticBatch({ b: 2, e: 4, d: 16, r: 5 });
 * const { logits } = model.forward(batch); // [2, 4, 4, 5]
 */
export function syntheticBatch(args: SyntheticBatchArgs = {}): ModelInput {
  const { b = 2, n = 24, d = 16, h = 2, e = 5, m = 2, r = 4, seed = 1 } = args;
  const rand = prng(seed);
  const hidden = Float32Array.from({ length: b * n * d }, () => rand() * 2 - 1);
  const att = new Float32Array(b * h * n * n);
  for (let row = 0; row < b * h * n; row++) {
    let sum = 0;
    for (let j = 0; j < n; j++) sum += att[row * n + j] = rand() + 0.05;
    for (let j = 0; j < n; j++) att[row * n + j]! /= sum;
  }
  const mentionIndex = new Int32Array(b * e * m);
  const mentionMask = new Float32Array(b * e * m);
  const entityMask = new Float32Array(b * e);
  const pairMask = new Float32Array(b * e * e);
  const labels = new Float32Array(b * e * e * r);
  for (let i = 0; i < b; i++) {
    const real = Math.max(2, e - (i % 2));
    for (let s = 0; s < real; s++) {
      entityMask[i * e + s] = 1;
      const mentions = 1 + (s % m);
      for (let j = 0; j < mentions; j++) {
        mentionIndex[(i * e + s) * m + j] = 1 + ((s * m + j) % (n - 2));
        mentionMask[(i * e + s) * m + j] = 1;
      }
    }
    for (let s = 0; s < real; s++)
      for (let o = 0; o < real; o++) {
        if (s === o) continue;
        const p = (i * e + s) * e + o;
        pairMask[p] = 1;
        const rel = rand() < 0.35 ? 1 + Math.floor(rand() * (r - 1)) : 0;
        labels[p * r + rel] = 1;
      }
  }
  const graph = args.graph
    ? syntheticGraph({ b, n, e, m }, mentionIndex, mentionMask, entityMask)
    : undefined;
  return {
    ...(graph ? { graph } : {}),
    inputIds: tf.tensor2d(
      new Int32Array(b * n).map((_, k) => 100 + (k % 50)),
      [b, n],
      'int32',
    ),
    attentionMask: tf.ones([b, n]) as tf.Tensor2D,
    hidden: tf.tensor3d(hidden, [b, n, d]),
    attention: tf.tensor4d(att, [b, h, n, n]),
    mentionIndex: tf.tensor3d(mentionIndex, [b, e, m], 'int32'),
    mentionMask: tf.tensor3d(mentionMask, [b, e, m]),
    entityMask: tf.tensor2d(entityMask, [b, e]),
    pairMask: tf.tensor3d(pairMask, [b, e, e]),
    ...(args.labels === false ? {} : { labels: tf.tensor4d(labels, [b, e, e, r]) }),
  };
}

/**
 * The GTN graph of a synthetic batch (same rules as src/data/graph.ts: document node, one node per
 * real mention, one per real entity; document, intra-sentence and coreference edges with
 * self-loops), with sentence = ⌊token / 8⌋ and each mention's end marker one token after its start.
 */
function syntheticGraph(
  dims: { b: number; n: number; e: number; m: number },
  mentionIndex: Int32Array,
  mentionMask: Float32Array,
  entityMask: Float32Array,
) {
  const { b, n, e, m } = dims;
  const sentenceOf = (t: number) => Math.floor(t / 8);
  const graphs: DocumentGraph[] = [];
  for (let i = 0; i < b; i++) {
    const kind = [NODE_DOCUMENT];
    const entity = [-1];
    const sentence = [-1];
    const mention = [-1];
    const sentences: Set<number>[] = [new Set()];
    for (let s = 0; s < e; s++)
      for (let j = 0; j < m; j++)
        if (mentionMask[(i * e + s) * m + j]) {
          const sent = sentenceOf(mentionIndex[(i * e + s) * m + j]!);
          kind.push(NODE_MENTION);
          entity.push(s);
          sentence.push(sent);
          mention.push(j);
          sentences.push(new Set([sent]));
        }
    const entityNode: number[] = [];
    for (let s = 0; s < e; s++) {
      if (!entityMask[i * e + s]) continue;
      entityNode[s] = kind.length;
      const sents = new Set(sentence.filter((_, a) => entity[a] === s && kind[a] === NODE_MENTION));
      kind.push(NODE_ENTITY);
      entity.push(s);
      sentence.push(-1);
      mention.push(-1);
      sentences.push(sents);
    }
    const v = kind.length;
    const edge = (f: (a: number, c: number) => boolean) =>
      Array.from({ length: v }, (_, a) => Array.from({ length: v }, (_, c) => (a === c || f(a, c) ? 1 : 0)));
    graphs.push({
      numNodes: v,
      nodeKind: kind,
      nodeEntity: entity,
      nodeSentence: sentence,
      nodeMention: mention,
      adjacency: [
        edge((a, c) => a === 0 || c === 0),
        edge((a, c) => a > 0 && c > 0 && [...sentences[a]!].some((x) => sentences[c]!.has(x))),
        edge((a, c) => a > 0 && entity[a] === entity[c]),
      ],
      nodeTokenMask: Array.from({ length: v }, (_, a) =>
        Array.from({ length: n }, (_, t) => (a === 0 || sentences[a]!.has(sentenceOf(t)) ? 1 : 0)),
      ),
      entityNode: Array.from({ length: e }, (_, s) => entityNode[s] ?? 0),
    });
  }
  const g = graphTensors(graphs, { n, e, m });
  g.mentionEndIndex.dispose();
  const ends = mentionIndex.map((p, k) => (mentionMask[k] ? Math.min(p + 1, n - 1) : 0));
  return { ...g, mentionEndIndex: tf.tensor3d(ends, [b, e, m], 'int32') };
}

/** Disposes every tensor of a model input (including nested graph fields). */
export function disposeInput(input: ModelInput): void {
  tf.dispose(input as unknown as tf.TensorContainer);
}
