/**
 * Feature caching for frozen encoders: encode a dataset once, store it on disk, and feed the heads
 * from the file every epoch (the embedded encoder never changes, so re-running it is waste).
 *
 * File: one safetensors file per (dataset, encoder) in `dir`, named by its key
 * `sha256(encoder.id · source file sha256 · token ids and query positions · options)`, so a new
 * tokenisation, another encoder or an edited data file gives another file. Per document `i`:
 *
 * - `i.hidden`  `[l, d]` — token states of the `l` real tokens (padding is not stored);
 * - `i.rows`    `[h, q, l]` and `i.query` `[q]` int32 — attention rows of the query tokens only
 *   (default `attention: 'rows'`). Downstream, entity attention (`entityAttention`, ATLOP) reads
 *   only the rows whose query is a mention's start marker, so storing the marker rows is lossless
 *   for it and needs `h·q·l` instead of `h·l²` numbers (Re-DocRED, embedded encoder: ~0.2 MB
 *   instead of ~1 MB per document in float16);
 * - or `i.attention` `[h, l, l]` (`attention: 'full'`), or nothing (`attention: 'none'`).
 *
 * Floats are stored as float16 by default (`dtype: 'F16'`, relative error ≤ 2⁻¹¹, fine for frozen
 * features; `'F32'` keeps them exact). `FeatureCache.batch` rebuilds the encoder's output layout
 * `{hidden [b, n, d], attention [b, h, n, n]}` with the stored rows in place and zeros elsewhere,
 * so models consume cached features exactly like encoder outputs.
 *
 * Dimension letters: `b` documents, `n` tokens (`l` real ones), `d` hidden, `h` heads, `q` query tokens.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../core/errors.js';
import { readSafetensors, writeSafetensors, type SafeTensorInput } from '../core/safetensors.js';
import type { Encoder, EncoderOutput } from './encoder.js';

/** A featurized document: its token ids and (for `attention: 'rows'`) the query positions to keep. */
export interface CacheDocument {
  readonly inputIds: ArrayLike<number>;
  /** token positions whose attention rows are stored (e.g. every mention's start marker) */
  readonly queryPositions?: ArrayLike<number>;
}

export interface CacheOptions {
  /** directory of the cache files (created when missing) */
  readonly dir: string;
  /** the data file the documents come from: its bytes enter the key */
  readonly source?: string;
  /** what to keep of the attention. Default 'rows' (needs `queryPositions`). */
  readonly attention?: 'rows' | 'full' | 'none';
  /** float storage. Default 'F16'. */
  readonly dtype?: 'F16' | 'F32';
  /** documents per encoder call. Default 8. */
  readonly batchSize?: number;
  /** passed to `encode` (mean attention of the last k layers). Default 1. */
  readonly attentionLayers?: number;
  /** called after each encoder batch */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Encode the batches in these threads (documents in parallel) instead of with `encoder` here:
   * a pool (the caller closes it), or a function starting one, called only when something is to
   * be encoded (the pool is closed at the end).
   */
  readonly pool?: EncodePool | (() => Promise<EncodePool & { close(): Promise<void> }>);
}

/** Where the features are and whether they were computed now. */
export interface CacheInfo {
  readonly file: string;
  readonly key: string;
  readonly count: number;
  /** true when the file existed already and nothing was encoded */
  readonly reused: boolean;
}

/**
 * Encodes `docs` once with a (frozen) encoder and stores the features; an existing file with the
 * same key is reused without running the encoder.
 * @example
 * const enc = await EmbeddedEncoder.load();
 * const info = await cacheFeatures(docs, enc, { dir: '.cache', source: 'dev_revised.json' });
 * const cache = await FeatureCache.load(info.file);
 * const { hidden, attention } = cache.batch([0, 1]); // [2, n, 512], [2, 4, n, n]
 */
export async function cacheFeatures(docs: readonly CacheDocument[], encoder: Encoder, options: CacheOptions): Promise<CacheInfo> {
  const mode = options.attention ?? 'rows';
  const dtype = options.dtype ?? 'F16';
  const batchSize = options.batchSize ?? 8;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new ArgumentError('batchSize', 'a positive integer', batchSize);
  if (mode === 'rows') {
    const missing = docs.findIndex((d) => d.queryPositions === undefined);
    if (missing >= 0) throw new ArgumentError(`docs[${missing}].queryPositions`, "positions (attention: 'rows')", undefined);
  }
  docs.forEach((d, i) =>
    Array.from(d.queryPositions ?? []).forEach((q) => {
      if (!(Number.isInteger(q) && q >= 0 && q < d.inputIds.length))
        throw new ArgumentError(`docs[${i}].queryPositions`, `integers in [0, ${d.inputIds.length})`, q);
    }),
  );
  const { createHash } = await import('node:crypto');
  const { mkdir, readFile, stat } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const hash = createHash('sha256');
  hash.update(`docre-kit features v1\n${encoder.id}\n${mode}\n${dtype}\n${options.attentionLayers ?? 1}\n`);
  if (options.source) hash.update(createHash('sha256').update(await readFile(options.source)).digest('hex'));
  for (const d of docs) {
    hash.update(Int32Array.from(d.inputIds));
    hash.update('|');
    if (mode === 'rows') hash.update(Int32Array.from(d.queryPositions!));
    hash.update('\n');
  }
  const key = hash.digest('hex');
  const file = join(options.dir, `features-${key.slice(0, 24)}.safetensors`);
  const exists = await stat(file).then(
    () => true,
    () => false,
  );
  if (exists) return { file, key, count: docs.length, reused: true };
  await mkdir(options.dir, { recursive: true });

  const groups: { start: number; docs: readonly CacheDocument[] }[] = [];
  for (let start = 0; start < docs.length; start += batchSize) groups.push({ start, docs: docs.slice(start, start + batchSize) });
  const how: GroupOptions = { mode, dtype, attentionLayers: options.attentionLayers ?? 1 };
  const started = typeof options.pool === 'function' ? await options.pool() : undefined;
  const pool = started ?? (options.pool as EncodePool | undefined);
  const results: CacheEntries[] = new Array(groups.length);
  let done = 0;
  const run = async (g: number) => {
    const { start, docs: group } = groups[g]!;
    results[g] = pool ? await pool.encode(group, start, how) : await encodeGroup(encoder, group, start, how);
    done += group.length;
    options.onProgress?.(done, docs.length);
  };
  if (pool) {
    // every batch at once: the pool hands each to a free thread
    try {
      await Promise.all(groups.map((_, g) => run(g)));
    } finally {
      await started?.close();
    }
    const other = results.find((r) => r.encoderId !== encoder.id)?.encoderId;
    if (other !== undefined) throw new ArgumentError('options.pool', `threads running the encoder ${encoder.id}`, other);
  } else for (let g = 0; g < groups.length; g++) await run(g);
  const out = new Map<string, SafeTensorInput>(results.flatMap((r) => r.entries)); // document order
  const tmp = `${file}.tmp-${process.pid}`;
  await writeSafetensors(tmp, out, {
    format: 'docre-kit-features',
    version: '1',
    key,
    encoder: encoder.id,
    count: String(docs.length),
    attention: mode,
    hiddenSize: String(encoder.hiddenSize),
    numHeads: String(encoder.numHeads),
    ...(options.source ? { source: options.source } : {}),
  });
  const { rename } = await import('node:fs/promises');
  await rename(tmp, file); // atomic: a half-written cache is never picked up
  return { file, key, count: docs.length, reused: false };
}

/** How `encodeGroup` stores a document (see `CacheOptions`). */
export interface GroupOptions {
  readonly mode: 'rows' | 'full' | 'none';
  readonly dtype: 'F16' | 'F32';
  readonly attentionLayers: number;
}

/** The cache file entries of one encoder batch, in document order, and the encoder that made them. */
export interface CacheEntries {
  readonly encoderId: string;
  readonly entries: [string, SafeTensorInput][];
}

/**
 * Encodes one batch of documents (`docs`, the first at index `start`) and returns its cache
 * entries: `cacheFeatures`' step, run in the calling thread or by an `EncodePool`'s thread.
 */
export async function encodeGroup(
  encoder: Encoder,
  docs: readonly CacheDocument[],
  start: number,
  o: GroupOptions,
): Promise<CacheEntries> {
  const { mode, dtype } = o;
  const entries: [string, SafeTensorInput][] = [];
  const n = Math.max(1, ...docs.map((d) => d.inputIds.length));
  const ids = docs.map((d) => Array.from({ length: n }, (_, j) => (j < d.inputIds.length ? d.inputIds[j]! : 0)));
  const mask = docs.map((d) => Array.from({ length: n }, (_, j) => (j < d.inputIds.length ? 1 : 0)));
  const idsT = tf.tensor2d(ids, [docs.length, n], 'int32');
  const maskT = tf.tensor2d(mask, [docs.length, n], 'float32');
  const opts = { training: false, attentionLayers: o.attentionLayers };
  const enc: EncoderOutput = encoder.encodeAsync ? await encoder.encodeAsync(idsT, maskT, opts) : encoder.encode(idsT, maskT, opts);
  tf.dispose([idsT, maskT]);
  const d = enc.hidden.shape[2];
  const h = enc.attention.shape[1];
  for (let g = 0; g < docs.length; g++) {
    const doc = docs[g]!;
    const l = doc.inputIds.length;
    const i = start + g;
    const hidden = tf.tidy(() => enc.hidden.slice([g, 0, 0], [1, l, d]).reshape([l, d]));
    entries.push([`${i}.hidden`, { shape: [l, d], data: Float32Array.from(await hidden.data()), dtype }]);
    hidden.dispose();
    if (mode === 'none') continue;
    const att = tf.tidy(() => {
      const a = enc.attention.slice([g, 0, 0, 0], [1, h, l, l]).reshape([h, l, l]);
      return mode === 'full' ? a : tf.gather(a, tf.tensor1d(Array.from(doc.queryPositions!), 'int32'), 1); // [h, q, l]
    });
    const data = Float32Array.from(await att.data());
    if (mode === 'full') entries.push([`${i}.attention`, { shape: att.shape, data, dtype }]);
    else {
      entries.push([`${i}.rows`, { shape: att.shape, data, dtype }]);
      entries.push([`${i}.query`, { shape: [doc.queryPositions!.length], data: Int32Array.from(doc.queryPositions!) }]);
    }
    att.dispose();
  }
  tf.dispose([enc.hidden, enc.attention]);
  return { encoderId: encoder.id, entries };
}

/**
 * Threads that each hold a copy of the encoder (`startEncodeThreads`, ./encode-threads.ts):
 * `cacheFeatures` sends them whole batches, `size` at a time, and writes the file in document
 * order, so the file is the one a single thread writes, byte for byte, on the same backend.
 */
export interface EncodePool {
  readonly size: number;
  encode(docs: readonly CacheDocument[], start: number, o: GroupOptions): Promise<CacheEntries>;
}

/** One cached document. */
export interface CachedDocument {
  /** `[l, d]` token states */
  readonly hidden: Float32Array;
  readonly length: number;
  /** `[h, q, l]` attention rows of `queryPositions` ('rows') */
  readonly rows?: Float32Array;
  readonly queryPositions?: Int32Array;
  /** `[h, l, l]` ('full') */
  readonly attention?: Float32Array;
}

/** Features read back from a `cacheFeatures` file. */
export class FeatureCache {
  private constructor(
    readonly file: string,
    readonly key: string,
    readonly encoderId: string,
    readonly hiddenSize: number,
    readonly numHeads: number,
    readonly attentionMode: 'rows' | 'full' | 'none',
    readonly documents: readonly CachedDocument[],
  ) {}

  /** Reads a cache file written by `cacheFeatures`. */
  static async load(file: string): Promise<FeatureCache> {
    const { tensors, metadata } = await readSafetensors(file);
    if (metadata['format'] !== 'docre-kit-features') throw new ArgumentError('file', `a docre-kit feature cache (${file})`, metadata['format']);
    const count = Number(metadata['count']);
    const d = Number(metadata['hiddenSize']);
    const h = Number(metadata['numHeads']);
    const mode = metadata['attention'] as 'rows' | 'full' | 'none';
    const docs: CachedDocument[] = [];
    for (let i = 0; i < count; i++) {
      const hid = tensors.get(`${i}.hidden`);
      if (!hid) throw new ArgumentError('file', `tensor ${i}.hidden in ${file}`, 'missing');
      const length = hid.shape[0]!;
      docs.push({
        hidden: hid.data as Float32Array,
        length,
        ...(mode === 'rows' ? { rows: tensors.get(`${i}.rows`)!.data as Float32Array, queryPositions: tensors.get(`${i}.query`)!.data as Int32Array } : {}),
        ...(mode === 'full' ? { attention: tensors.get(`${i}.attention`)!.data as Float32Array } : {}),
      });
    }
    return new FeatureCache(file, metadata['key'] ?? '', metadata['encoder'] ?? '', d, h, mode, docs);
  }

  get count(): number {
    return this.documents.length;
  }

  /**
   * The encoder-output layout for documents `indices`, padded to `n` (default: the longest).
   * 'rows' caches put the stored rows at their query positions and zeros elsewhere.
   * @returns hidden `[b, n, d]`, attention `[b, h, n, n]`
   */
  batch(indices: readonly number[], n?: number): EncoderOutput {
    const docs = indices.map((i) => {
      const doc = this.documents[i];
      if (!doc) throw new ArgumentError('indices', `document indices in [0, ${this.count})`, i);
      return doc;
    });
    const len = n ?? Math.max(1, ...docs.map((doc) => doc.length));
    const b = docs.length;
    const d = this.hiddenSize;
    const h = this.numHeads;
    const hidden = new Float32Array(b * len * d);
    const attention = new Float32Array(b * h * len * len);
    docs.forEach((doc, bi) => {
      if (doc.length > len) throw new ArgumentError('n', `>= the document length ${doc.length}`, len);
      hidden.set(doc.hidden, bi * len * d);
      const l = doc.length;
      const put = (head: number, row: number, src: Float32Array, offset: number): void =>
        attention.set(src.subarray(offset, offset + l), ((bi * h + head) * len + row) * len);
      if (doc.attention) for (let hh = 0; hh < h; hh++) for (let r = 0; r < l; r++) put(hh, r, doc.attention, (hh * l + r) * l);
      if (doc.rows) {
        const q = doc.queryPositions!.length;
        for (let hh = 0; hh < h; hh++) for (let k = 0; k < q; k++) put(hh, doc.queryPositions![k]!, doc.rows, (hh * q + k) * l);
      }
    });
    return {
      hidden: tf.tensor3d(hidden, [b, len, d]),
      attention: tf.tensor4d(attention, [b, h, len, len]),
    };
  }
}
