/**
 * Batch validation, shared by `collate` and `collateGraphs`: every feature checked against the
 * schema and the options (index ranges, empty entities, lengths, labels) before any tensor
 * exists. Its own module so collate.ts → graph.ts → validate.ts import one way.
 */
import * as E from 'fp-ts/lib/Either.js';
import { type DataError, batchError } from './errors.js';
import type { Feature } from './featurize.js';
import type { RelationSchema } from './schema.js';

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
