/**
 * `Extractor`: documents in, relation triples out, with a saved model (by default the pretrained
 * one shipped in the package) and the encoder it was trained with.
 *
 * For each record: entities from the chosen front end (`auto`: src/text's recognizer; `marked`:
 * `[text|TYPE]` marks; `gold`: a DocRED document's own `vertexSet`), then featurize → encode →
 * the model's logits → decode on the host. Decoding is the model's own rule, with a movable
 * threshold: relation r > 0 of pair (s, o) is kept when `score_r = logit_r − base > threshold`
 * and `logit_r` is within the top-k logits of the pair, where `base` is the threshold class's
 * logit (ATLOP-style adaptive threshold) or 0 (DocuNet's balanced softmax). At `threshold` 0 and
 * the model's `topK` this is exactly `model.predict` (tested).
 *
 * A record that cannot be processed (unparsable, a marked-text error, a document the featurizer
 * rejects) gets a result with `error` and no triples; the others in its batch are unaffected.
 */
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import * as tf from '@tensorflow/tfjs';
import { currentBackend, initBackend, type BackendName } from '../core/backend.js';
import type { DocREDDocument } from '../data/docred.js';
import { Featurizer, type Feature } from '../data/featurize.js';
import type { RelationSchema } from '../data/schema.js';
import type { DocREModel } from '../models/types.js';
import { loadSavedModel } from '../run/models.js';
import { CliError } from '../core/errors.js';
import { EmbeddedEncoder } from '../encoders/embedded.js';
import { chunks, encodedSet, loadRunEncoder, readRunInfo, runSchema, type RunInfo } from '../run/pipeline.js';
import {
  documentText,
  parseMarkedText,
  recognizeDocumentEntities,
  recognizeEntities,
  type AutoEntityOptions,
} from '../text/index.js';
import type {
  BadRecord,
  EntitySource,
  ExtractResult,
  ExtractedEntity,
  ExtractedTriple,
  InputRecord,
} from './types.js';

/**
 * The directory of the pretrained model shipped in the package (docs/results.md, "The shipped
 * model"): `assets/model/docunet-redocred` beside `src/` or `dist/`. A function, not a constant,
 * so that importing this module in a browser bundle does not touch `node:url` (and the URL is
 * not a bundler asset: in a browser, serve the directory and pass `modelDir`).
 */
export function shippedModelDir(): string {
  const url = new URL(/* @vite-ignore */ '../../assets/model/docunet-redocred', import.meta.url);
  if (url.protocol !== 'file:')
    throw new Error('the shipped model has a file path in Node only: in a browser, pass modelDir (a URL directory)');
  return fileURLToPath(url);
}

export interface ExtractorOptions {
  /** A saved model directory (`best/` or `last/` of `docre-kit train`). Default: the shipped model. */
  readonly modelDir?: string;
  /** Backend to initialise. Default: the one already initialised, else `wasm`. */
  readonly backend?: BackendName;
  /** wasm threads (see `initBackend`). Default: `DOCRE_THREADS`, else the machine's cores. */
  readonly threads?: number;
  /** Where entities come from. Default `auto` for text, `gold` for DocRED documents. */
  readonly entities?: EntitySource;
  /** Keep a relation when its score exceeds this. Default 0 (the model's own decision). */
  readonly threshold?: number;
  /** At most this many relations per pair. Default: the model's `topK`. */
  readonly topK?: number;
  /** Options of the automatic front end. */
  readonly auto?: AutoEntityOptions;
  /** Documents per forward pass. Default 4. */
  readonly batchSize?: number;
  /**
   * Where the embedded encoder's files are (`model.json`, its weight shards, `vocab.json`), for a
   * model trained with it. Default: the npm package's own (Node). In a browser: a URL directory
   * served with the page (examples/browser serves it at `embedded-en/`).
   */
  readonly embeddedDir?: string;
}

/** A document ready for the model, with the text its offsets refer to. */
interface Prepared {
  readonly record: InputRecord;
  readonly doc: DocREDDocument;
  readonly text: string;
  readonly wordOffsets: readonly (readonly (readonly [number, number])[])[];
}

const BALANCED_SOFTMAX_MODELS = new Set(['docunet']);

export class Extractor {
  private constructor(
    readonly info: RunInfo,
    readonly schema: RelationSchema,
    private readonly model: DocREModel,
    private readonly featurizer: Featurizer,
    private readonly inputs: Parameters<typeof encodedSet>[1],
    private readonly o: ExtractorOptions,
  ) {}

  /**
   * Loads a model and its encoder once.
   *
   * @example
   * const ex = await Extractor.load();
   * const [r] = await ex.extract([{ kind: 'text', line: 1, id: 'a', text: 'Angela Merkel was born in Hamburg.' }]);
   */
  static async load(o: ExtractorOptions = {}): Promise<Extractor> {
    const dir = o.modelDir ?? shippedModelDir();
    const info = await readRunInfo(dir, o.modelDir ? '--model-dir' : 'the shipped model');
    const threads = o.threads === undefined ? {} : { threads: o.threads };
    if (o.backend) await initBackend(o.backend, threads);
    else if (!currentBackend()) await initBackend('wasm', threads);
    // a browser passes where the embedded encoder's files are (a URL directory)
    const enc =
      o.embeddedDir !== undefined && info.encoder === 'embedded' && !info.encoderSaved
        ? await loadEmbeddedFrom(o.embeddedDir)
        : await loadRunEncoder(dir, info);
    const model = await loadSavedModel(dir);
    if (info.stage !== undefined) (model as { setStage?: (s: 1 | 2) => void }).setStage?.(info.stage);
    const schema = runSchema(info);
    const featurizer = new Featurizer(enc.tokenizer, { markers: info.markers });
    const inputs = { schema, encoder: enc.encoder, frozen: true, graph: info.model === 'gtn', pairs: 'all' as const };
    return new Extractor(info, schema, model, featurizer, inputs, o);
  }

  /** At most this many relations per pair: the option, else the model's saved `topK` (else its default). */
  get topK(): number {
    const saved = (this.model.config as { topK?: number }).topK;
    return this.o.topK ?? saved ?? (this.info.model === 'docunet' ? 3 : 4);
  }

  /** One result per record, in order. */
  async extract(records: readonly (InputRecord | BadRecord)[]): Promise<ExtractResult[]> {
    const results: (ExtractResult | undefined)[] = records.map(() => undefined);
    const ready: { at: number; p: Prepared; feature: Feature }[] = [];
    records.forEach((r, at) => {
      const p = this.prepare(r);
      if ('error' in p) {
        results[at] = { id: r.id ?? `line-${r.line}`, line: r.line, entities: [], triples: [], error: p.error };
        return;
      }
      const entities = entitiesOf(p);
      if (p.doc.vertexSet.length < 2) {
        results[at] = { id: p.record.id, line: p.record.line, text: p.text, entities, triples: [] };
        return;
      }
      const f = this.featurizer.featurize(p.doc);
      if (E.isLeft(f)) {
        results[at] = { id: p.record.id, line: p.record.line, entities: [], triples: [], error: f.left.message };
        return;
      }
      ready.push({ at, p, feature: f.right });
    });
    for (const group of chunks(ready, this.o.batchSize ?? 4)) {
      const triples = await this.classify(group.map((g) => g.feature));
      group.forEach((g, i) => {
        results[g.at] = {
          id: g.p.record.id,
          line: g.p.record.line,
          text: g.p.text,
          entities: entitiesOf(g.p),
          triples: triples[i]!,
        };
      });
    }
    return results as ExtractResult[];
  }

  dispose(): void {
    this.model.dispose();
  }

  /** A record → the document the model sees, or a located error. */
  private prepare(r: InputRecord | BadRecord): Prepared | { error: string } {
    const where = `line ${r.line}${r.id !== undefined ? ` (${r.id})` : ''}`;
    if (r.kind === 'bad') return { error: r.error };
    if (r.kind === 'docred') {
      const source = this.o.entities ?? 'gold';
      if (source === 'gold') return { record: r, doc: r.doc, ...documentText(r.doc) };
      if (source === 'auto') return { record: r, ...fromText(recognizeDocumentEntities(r.doc, this.o.auto)) };
      return { error: `${where}: --entities marked needs text input with [text|TYPE] marks, got a DocRED document` };
    }
    const source = this.o.entities ?? 'auto';
    if (source === 'gold') return { error: `${where}: plain text has no gold entities (use --entities auto or marked)` };
    if (source === 'auto') return { record: r, ...fromText(recognizeEntities(r.text, { ...this.o.auto, title: r.id })) };
    const m = parseMarkedText(r.text, r.id);
    if (E.isLeft(m)) return { error: `${where}: ${m.left.message}` };
    return { record: r, ...fromText(m.right) };
  }

  /** Logits of a batch of features → each document's triples. */
  private async classify(features: readonly Feature[]): Promise<ExtractedTriple[][]> {
    const set = await encodedSet(features, this.inputs);
    const input = await set.input(features.map((_, i) => i));
    try {
      const logits = tf.tidy(() => this.model.forward({ ...input, labels: undefined }, { training: false }).logits);
      const values = (await logits.array()) as number[][][][];
      logits.dispose();
      return values.map((doc, b) => this.decode(doc, input.entityCounts[b]!));
    } finally {
      tf.dispose(input as unknown as tf.TensorContainer);
    }
  }

  /** One document's logits [e, e, r] → triples, strongest first. */
  private decode(logits: number[][][], entities: number): ExtractedTriple[] {
    const balanced = BALANCED_SOFTMAX_MODELS.has(this.info.model);
    const threshold = this.o.threshold ?? 0;
    const k = this.topK;
    const out: ExtractedTriple[] = [];
    for (let s = 0; s < entities; s++)
      for (let o = 0; o < entities; o++) {
        if (s === o) continue;
        const row = logits[s]![o]!;
        const base = balanced ? 0 : row[0]!;
        const kth = k >= row.length ? -Infinity : [...row].sort((a, b) => b - a)[k - 1]!;
        for (let r = 1; r < row.length; r++) {
          const score = row[r]! - base;
          if (score > threshold && row[r]! >= kth)
            out.push({
              head: s,
              tail: o,
              relation: this.schema.ids[r]!,
              relationName: this.schema.names[r]!,
              score,
            });
        }
      }
    return out.sort((a, b) => b.score - a.score);
  }
}

/** The embedded encoder from `dir` (a path, or a URL directory in a browser). */
async function loadEmbeddedFrom(dir: string): Promise<{ encoder: EmbeddedEncoder; tokenizer: EmbeddedEncoder['tokenizer'] }> {
  try {
    const encoder = await EmbeddedEncoder.load({ dir });
    return { encoder, tokenizer: encoder.tokenizer };
  } catch (e) {
    throw new CliError(`cannot load the embedded encoder from embeddedDir '${dir}': ${(e as Error).message.split('\n')[0]}`);
  }
}

function fromText(d: { text: string; wordOffsets: Prepared['wordOffsets'] } & DocREDDocument) {
  return { doc: d, text: d.text, wordOffsets: d.wordOffsets };
}

/** The entities of a prepared document with their mentions' character offsets. */
function entitiesOf(p: Prepared): ExtractedEntity[] {
  return p.doc.vertexSet.map((mentions, id) => ({
    id,
    name: mentions[0]!.name,
    type: mentions[0]!.type,
    mentions: mentions.map((m) => {
      const words = p.wordOffsets[m.sent_id]!;
      const start = words[m.pos[0]]![0];
      const end = words[m.pos[1] - 1]![1];
      return { text: p.text.slice(start, end), sentence: m.sent_id, words: m.pos, start, end };
    }),
  }));
}
