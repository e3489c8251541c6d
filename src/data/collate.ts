/**
 * `collate`: featurized documents → the batch of DESIGN.md. Validates the whole batch (index
 * ranges, empty entities, lengths, labels) before any tensor exists and returns
 * `Either<DataError, Batch>`; tensor code downstream may assume the invariants.
 *
 * Dimension legend: `b` documents, `n` tokens (longest document; shorter ones padded with the
 * tokenizer's PAD id), `e` entities (padded), `m` mentions per entity (padded), `r` relation
 * classes incl. class 0 (NA).
 *
 * @example
 * const batch = E.getOrElseW((e: DataError) => { throw new Error(e.message) })(
 *   collate(features, RelationSchema.docred()));
 * batch.mentionIndex.shape; // [b, e, m]
 * disposeBatch(batch);
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import type { DataError } from './errors.js';
import type { Feature } from './featurize.js';
import type { RelationSchema } from './schema.js';
import { type GraphBatch, buildDocumentGraph, graphTensors } from './graph.js';
import { validateBatch, type BatchDims, type CollateOptions } from './validate.js';

export { validateBatch, type BatchDims, type CollateOptions } from './validate.js';

/** The batch (DESIGN.md, "The batch"). Dispose with `disposeBatch(batch)`. */
export interface Batch {
  /** `[b, n]` int32 word pieces with markers, CLS/SEP included, PAD after the end. */
  readonly inputIds: tf.Tensor2D;
  /** `[b, n]` float32, 1 for real tokens. */
  readonly attentionMask: tf.Tensor2D;
  /** `[b, e, m]` int32 token index of each mention's start marker (0 where masked). */
  readonly mentionIndex: tf.Tensor3D;
  /** `[b, e, m]` float32, 1 for real mentions (a mention cut by `maxLength` is 0). */
  readonly mentionMask: tf.Tensor3D;
  /** `[b, e]` float32, 1 for real entities. */
  readonly entityMask: tf.Tensor2D;
  /** `[b, e, e]` float32, 1 for ordered pairs (s, o), s ≠ o, both real (`pairs: 'labelled'`: only labelled pairs). */
  readonly pairMask: tf.Tensor3D;
  /** `[b, e, e, r]` float32 multi-hot; column 0 = NA (set for real pairs without a relation). Absent when unlabelled. */
  readonly labels?: tf.Tensor4D;
  /** GTN graph inputs (with `graph: true`). */
  readonly graph?: GraphBatch;
  /** Document titles, for decoding predictions into official triples. */
  readonly titles: readonly string[];
  /** Real entities per document. */
  readonly entityCounts: readonly number[];
}

/** Disposes every tensor of a batch (graph included). */
export function disposeBatch(batch: Batch): void {
  const { titles: _titles, entityCounts: _counts, graph, ...tensors } = batch;
  tf.dispose(Object.values(tensors));
  if (graph) tf.dispose(Object.values(graph));
}

/**
 * Pads and stacks features into the DESIGN.md batch (all validated before any tensor exists).
 * @param features from `Featurizer.featurize`
 * @param schema maps each label's relation id to its class column
 */
export function collate(
  features: readonly Feature[],
  schema: RelationSchema,
  options: CollateOptions = {},
): E.Either<DataError, Batch> {
  return E.map(({ b, n, e, m }: BatchDims): Batch => {
    const r = schema.size;
    const inputIds = new Int32Array(b * n);
    const attentionMask = new Float32Array(b * n);
    const mentionIndex = new Int32Array(b * e * m);
    const mentionMask = new Float32Array(b * e * m);
    const entityMask = new Float32Array(b * e);
    const pairMask = new Float32Array(b * e * e);
    const hasLabels = features[0]!.labels !== undefined;
    const labels = hasLabels ? new Float32Array(b * e * e * r) : undefined;
    features.forEach((f, i) => {
      f.inputIds.forEach((id, t) => {
        inputIds[i * n + t] = id; // [b, n]
        attentionMask[i * n + t] = 1;
      });
      for (let t = f.inputIds.length; t < n; t++) inputIds[i * n + t] = f.padId;
      const E_ = f.mentionStart.length;
      f.mentionStart.forEach((ms, k) => {
        entityMask[i * e + k] = 1; // [b, e]
        ms.forEach((p, j) => {
          if (p < 0) return; // cut by maxLength
          mentionIndex[(i * e + k) * m + j] = p; // [b, e, m]
          mentionMask[(i * e + k) * m + j] = 1;
        });
      });
      const pair = (s: number, o: number): number => (i * e + s) * e + o; // [b, e, e]
      if (options.pairs === 'labelled') for (const l of f.labels ?? []) pairMask[pair(l.h, l.t)] = 1;
      else for (let s = 0; s < E_; s++) for (let o = 0; o < E_; o++) if (s !== o) pairMask[pair(s, o)] = 1;
      if (labels) {
        for (const l of f.labels!) {
          const c = schema.classOf(l.r)!;
          if (c > 0) labels[pair(l.h, l.t) * r + c] = 1; // [b, e, e, r]
        }
        // column 0 (NA) for every real pair without a positive relation
        for (let s = 0; s < E_; s++)
          for (let o = 0; o < E_; o++) {
            if (s === o) continue;
            let positive = false;
            for (let c = 1; c < r && !positive; c++) positive = labels[pair(s, o) * r + c] === 1;
            if (!positive) labels[pair(s, o) * r] = 1;
          }
      }
    });
    return {
      inputIds: tf.tensor2d(inputIds, [b, n], 'int32'),
      attentionMask: tf.tensor2d(attentionMask, [b, n], 'float32'),
      mentionIndex: tf.tensor3d(mentionIndex, [b, e, m], 'int32'),
      mentionMask: tf.tensor3d(mentionMask, [b, e, m], 'float32'),
      entityMask: tf.tensor2d(entityMask, [b, e], 'float32'),
      pairMask: tf.tensor3d(pairMask, [b, e, e], 'float32'),
      ...(labels ? { labels: tf.tensor4d(labels, [b, e, e, r], 'float32') } : {}),
      ...(options.graph
        ? {
            graph: graphTensors(
              features.map((f) => buildDocumentGraph(f)),
              { n, e, m },
              features,
            ),
          }
        : {}),
      titles: features.map((f) => f.title),
      entityCounts: features.map((f) => f.mentionStart.length),
    };
  })(validateBatch(features, schema, options));
}
