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
import { type DataError, batchError } from './errors.js';
import type { Feature } from './featurize.js';
import type { RelationSchema } from './schema.js';
import { type GraphBatch, buildDocumentGraph, graphTensors } from './graph.js';

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

export interface CollateOptions {
  /** Fixed `e` (e.g. DocuNet's 42). Default: the largest entity count in the batch. A document with more is a `BatchError`. */
  maxEntities?: number;
  /** Fixed `m`. Default: the largest mention count in the batch. An entity with more is a `BatchError`. */
  maxMentions?: number;
  /** Fixed `n`. Default: the longest document. A longer document is a `BatchError` (use the featurizer's `maxLength`). */
  maxLength?: number;
  /**
   * Which pairs `pairMask` keeps: `'all'` (default; every ordered pair of real entities) or
   * `'labelled'` (pairs with at least one label, NA aliases included: CDR/GDA candidate pairs).
   */
  pairs?: 'all' | 'labelled';
  /** Also build the GTN document graphs (`batch.graph`). Default false. */
  graph?: boolean;
}

/** Dimensions of a validated batch. */
export interface BatchDims {
  readonly b: number;
  readonly n: number;
  readonly e: number;
  readonly m: number;
}

/**
 * Checks every feature against the schema and options; returns the padded dimensions.
 * Exported so graph collation and tests can share it.
 */
export function validateBatch(
  features: readonly Feature[],
  schema: RelationSchema,
  options: CollateOptions = {},
): E.Either<DataError, BatchDims> {
  if (features.length === 0)
    return E.left(batchError(-1, 'features', 'expected at least one feature, got an empty list'));
  const labelled = features.map((f) => f.labels !== undefined);
  if (labelled.some((x) => x) && !labelled.every((x) => x))
    return E.left(
      batchError(labelled.indexOf(false), 'labels', 'missing, while other features of the batch have labels'),
    );
  let n = 0;
  let e = 0;
  let m = 0;
  for (let i = 0; i < features.length; i++) {
    const f = features[i]!;
    const len = f.inputIds.length;
    const fail = (field: string, detail: string): E.Either<DataError, BatchDims> =>
      E.left(batchError(i, field, `${detail} (document ${JSON.stringify(f.title)})`));
    if (len === 0) return fail('inputIds', 'expected at least one token, got 0');
    const badId = f.inputIds.findIndex((id) => !Number.isInteger(id) || id < 0);
    if (badId >= 0)
      return fail(`inputIds[${badId}]`, `expected a non-negative integer id, got ${f.inputIds[badId]}`);
    if (f.mentionStart.length !== f.entityTypes.length || f.mentionEnd.length !== f.mentionStart.length)
      return fail('mentionStart', `expected ${f.entityTypes.length} entities, got ${f.mentionStart.length}`);
    for (let k = 0; k < f.mentionStart.length; k++) {
      const ms = f.mentionStart[k]!;
      if (ms.length === 0) return fail(`mentionStart[${k}]`, `entity ${k} has no mentions`);
      const bad = ms.findIndex((p) => !Number.isInteger(p) || p < -1 || p >= len);
      if (bad >= 0)
        return fail(
          `mentionStart[${k}][${bad}]`,
          `expected a token index in [0, ${len}) or -1 (cut), got ${ms[bad]}`,
        );
      m = Math.max(m, ms.length);
    }
    n = Math.max(n, len);
    e = Math.max(e, f.mentionStart.length);
    for (const [j, l] of (f.labels ?? []).entries()) {
      const E_ = f.mentionStart.length;
      if (!(Number.isInteger(l.h) && l.h >= 0 && l.h < E_))
        return fail(`labels[${j}].h`, `entity ${l.h} does not exist (${E_} entities)`);
      if (!(Number.isInteger(l.t) && l.t >= 0 && l.t < E_))
        return fail(`labels[${j}].t`, `entity ${l.t} does not exist (${E_} entities)`);
      if (l.h === l.t) return fail(`labels[${j}]`, `head and tail are the same entity ${l.h}`);
      if (schema.classOf(l.r) === undefined)
        return fail(`labels[${j}].r`, `unknown relation ${JSON.stringify(l.r)}`);
    }
  }
  if (e === 0) return E.left(batchError(-1, 'mentionStart', 'no document of the batch has an entity'));
  for (const [name, fixed, actual] of [
    ['maxEntities', options.maxEntities, e],
    ['maxMentions', options.maxMentions, m],
    ['maxLength', options.maxLength, n],
  ] as const) {
    if (fixed === undefined) continue;
    if (!Number.isInteger(fixed) || fixed < 1)
      return E.left(batchError(-1, name, `expected a positive integer, got ${fixed}`));
    if (actual > fixed) {
      const i = features.findIndex((f) =>
        name === 'maxEntities'
          ? f.mentionStart.length > fixed
          : name === 'maxMentions'
            ? f.mentionStart.some((ms) => ms.length > fixed)
            : f.inputIds.length > fixed,
      );
      return E.left(batchError(i, name, `the batch needs ${actual}, more than ${name} = ${fixed}`));
    }
  }
  return E.right({
    b: features.length,
    n: options.maxLength ?? n,
    e: options.maxEntities ?? e,
    m: options.maxMentions ?? m,
  });
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
