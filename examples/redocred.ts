/**
 * The shared pipeline of the examples: the bundled Re-DocRED `dev_revised.json` split into
 * train / validation (`reDocREDSplit`: first 400 documents train, last 100 validation), the
 * embedded frozen encoder (USE-lite, d = 512) run ONCE over all documents with its features
 * cached on disk (`.cache/features/`), then a model trained on the cached features with the
 * library's Trainer and scored with the official DocRED scorer on the validation split.
 *
 * Every example calls `runReDocRED` with its model and budget; the numbers it prints come from
 * the run itself. `--threads N` (or DOCRE_THREADS) sets the wasm backend's threads (default: the
 * machine's cores; the encoder pass and the training both run on them).
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { initBackend, type BackendName } from '../src/core/backend.js';
import {
  bundledAssetPath,
  collate,
  evaluateBinary,
  evaluateDocRED,
  Featurizer,
  loadBundledReDocRED,
  readBioDataFile,
  reDocREDSplit,
  RelationSchema,
  triplesFromPredictions,
  type DataError,
  type DocREDDocument,
  type DocREDScores,
  type Feature,
  type OfficialTriple,
} from '../src/data/index.js';
import { cacheFeatures, EmbeddedEncoder, FeatureCache, startEncodeThreads } from '../src/encoders/index.js';
import { createModel, type DocREModel, type ModelInput, type ModelName } from '../src/models/index.js';
import {
  Trainer,
  discriminatorStep,
  twoStages,
  type TrainStage,
  type ExtraStep,
} from '../src/train/index.js';

export function orFail<A>(e: E.Either<DataError, A>): A {
  if (E.isLeft(e)) throw new Error(e.left.message);
  return e.right;
}

/** What an example decides. */
export interface ReDocREDRun {
  /** builds the model for d = 512 and the schema's r */
  readonly makeModel: (hiddenSize: number, numClasses: number) => DocREModel;
  readonly epochs: number;
  /** train documents used (the first k of the 400; Ign F1 ignores their facts); default all 400 */
  readonly trainDocs?: number;
  readonly batchSize?: number;
  /** micro-batches per optimizer step (batch 1 × 4 = batch 4 in a quarter of the memory). Default 1. */
  readonly accumulationSteps?: number;
  readonly headLr?: number;
  readonly seed?: number;
  /** GTN: collate the document graph too */
  readonly graph?: boolean;
  /** DocRE-II / GTN schedules (see src/models: setStage, variableGroups().discriminator) */
  readonly stages?: (model: DocREModel) => TrainStage[];
  readonly extraSteps?: (model: DocREModel) => ExtraStep[];
  /** encode all 500 documents once (shared cache, default) or only the ones used (main job) */
  readonly encodeAll?: boolean;
  /** print this many extracted validation triples with names at the end. Default 0. */
  readonly showTriples?: number;
  /** quiet: no per-step progress */
  readonly quiet?: boolean;
  /** default `redocred` */
  readonly dataset?: Dataset;
}

/** Official scores: DocRED's (Re-DocRED) or the binary CID scores (CDR: no Ign/intra/inter). */
export type Scores = Pick<DocREDScores, 'precision' | 'recall' | 'f1'> &
  Partial<Pick<DocREDScores, 'ignF1' | 'intraF1' | 'interF1'>>;

export interface ReDocREDResult {
  readonly scores: Scores;
  readonly trainSeconds: number;
  readonly triples: OfficialTriple[];
  /** validation F1 after each epoch (only with EVAL_EACH_EPOCH=1) */
  readonly epochF1?: number[];
}

interface Prepared {
  readonly schema: RelationSchema;
  readonly train: DocREDDocument[];
  readonly validation: DocREDDocument[];
  /** features of the encoded documents: encoded train documents, then the validation ones */
  readonly features: Feature[];
  readonly cache: FeatureCache;
  /** index of the first validation document in `features` / the cache */
  readonly validationOffset: number;
  readonly encodeAll: boolean;
  readonly dataset: Dataset;
  /** CDR: only the labelled candidate pairs (ATLOP's), Re-DocRED: every ordered pair */
  readonly pairs: 'all' | 'labelled';
}

/** `redocred`: the bundled dev_revised.json split; `cdr`: CDR train_filter.data → dev_filter.data from ../shared/data/cdr. */
export type Dataset = 'redocred' | 'cdr';

let prepared: Prepared | undefined;

/**
 * Loads and splits the data, featurizes the first `trainDocs` train documents and the 100
 * validation documents, and encodes them once with the embedded encoder (the cache file in
 * .cache/features is reused by later runs with the same documents).
 */
export async function prepareReDocRED(
  trainDocs = 400,
  options: { encodeAll?: boolean; backend?: BackendName; threads?: number; dataset?: Dataset } = {},
): Promise<Prepared> {
  const encodeAll = options.encodeAll ?? true;
  const dataset = options.dataset ?? 'redocred';
  if (
    prepared &&
    prepared.train.length === trainDocs &&
    prepared.encodeAll === encodeAll &&
    prepared.dataset === dataset
  )
    return prepared;
  const threads = options.threads ?? exampleThreads();
  const backend = await initBackend(
    options.backend ?? (process.env['DOCRE_BACKEND'] as BackendName | undefined) ?? 'wasm',
    threads === undefined ? {} : { threads },
  );
  const { split, schema, source } = dataset === 'cdr' ? await loadCDR() : await loadReDocRED();
  const train = split.train.slice(0, trainDocs); // the first k train documents
  const validation = split.validation;
  const encoder = await EmbeddedEncoder.load();
  const featurizer = new Featurizer(encoder.tokenizer, { markers: 'star' });
  // encodeAll: all 500 documents share one cache file whatever k; otherwise only the k + 100 used
  const encodedTrain = encodeAll ? split.train : train;
  const features = orFail(featurizer.featurizeAll([...encodedTrain, ...validation]));
  const t0 = Date.now();
  const info = await cacheFeatures(
    features.map((f) => ({
      inputIds: f.inputIds,
      queryPositions: [...new Set(f.mentionStart.flat().filter((p) => p >= 0))].sort((a, b) => a - b),
    })),
    encoder,
    {
      dir: '.cache/features',
      source,
      // the documents in parallel, one encoder thread per wasm thread (startEncodeThreads)
      ...((backend.wasm?.threadsCount ?? 1) > 1
        ? { pool: () => startEncodeThreads({ count: backend.wasm!.threadsCount }) }
        : {}),
      onProgress: (done, total) => {
        if (process.stderr.isTTY)
          process.stderr.write(`\rencoding with the embedded encoder: ${done}/${total} documents`);
        else if (done % 48 === 0 || done === total)
          process.stderr.write(`encoding with the embedded encoder: ${done}/${total} documents\n`);
      },
    },
  );
  if (!info.reused)
    process.stderr.write(` (${((Date.now() - t0) / 1000).toFixed(0)} s, cached in ${info.file})\n`);
  encoder.dispose();
  prepared = {
    schema,
    train,
    validation,
    features,
    cache: await FeatureCache.load(info.file),
    validationOffset: encodedTrain.length,
    encodeAll,
    dataset,
    pairs: dataset === 'cdr' ? 'labelled' : 'all',
  };
  return prepared;
}

async function loadReDocRED() {
  const split = reDocREDSplit(orFail(await loadBundledReDocRED()()));
  return { split, schema: RelationSchema.docred(), source: bundledAssetPath('re-docred/dev_revised.json') };
}

/** CDR (not bundled: no licence stated) from ../shared/data/cdr, train → dev. */
async function loadCDR() {
  const dir = process.env['CDR_DIR'] ?? '../shared/data/cdr';
  const read = async (name: string) => orFail(await readBioDataFile(`${dir}/${name}`)());
  const train = await read('train_filter.data');
  const validation = await read('dev_filter.data');
  // the cache key hashes one source file: the dev file, plus the token ids of every document
  return { split: { train, validation }, schema: RelationSchema.cdr(), source: `${dir}/dev_filter.data` };
}

/** Model input for documents `indices` (into `features`: encoded train documents, then validation): collated batch + cached features. */
export function inputOf(
  p: Prepared,
  indices: readonly number[],
  graph = false,
): ModelInput & { titles: readonly string[]; entityCounts: readonly number[] } {
  const batch = orFail(
    collate(
      indices.map((i) => p.features[i]!),
      p.schema,
      { graph, pairs: p.pairs },
    ),
  );
  const enc = p.cache.batch(indices, batch.inputIds.shape[1]);
  return { ...batch, hidden: enc.hidden, attention: enc.attention };
}

/** Official scores of a model on the validation split (Ign F1 ignores facts of the train split). */
export async function scoreValidation(
  p: Prepared,
  model: Pick<DocREModel, 'predict'>,
  graph = false,
): Promise<{ scores: Scores; triples: OfficialTriple[] }> {
  const triples: OfficialTriple[] = [];
  const offset = p.validationOffset;
  for (let start = 0; start < p.validation.length; start += 4) {
    const idx = Array.from(
      { length: Math.min(4, p.validation.length - start) },
      (_, k) => offset + start + k,
    );
    const input = inputOf(p, idx, graph);
    const multiHot = model.predict(input);
    const values = (await multiHot.array()) as number[][][][];
    tf.dispose([multiHot, input as unknown as tf.TensorContainer]);
    triples.push(...orFail(triplesFromPredictions(values, input.titles, p.schema, input.entityCounts)));
  }
  const scores =
    p.dataset === 'cdr'
      ? evaluateBinary(triples, p.validation)
      : evaluateDocRED(triples, p.validation, { train: p.train });
  return { scores, triples };
}

/** A fraction as a percentage with two decimals, as the tables print it. */
export const pct = (x: number) => (100 * x).toFixed(2);

/** Fractions over seeds as "mean ± sample sd" percentages (the mean alone for one seed). */
export function meanSd(xs: number[]): string {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length < 2) return pct(m);
  return `${pct(m)} ± ${pct(Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)))}`;
}

/** One line of official scores. */
export function formatScores(s: Scores): string {
  const extra =
    s.ignF1 === undefined
      ? ''
      : `  Ign F1 ${pct(s.ignF1)}  intra F1 ${pct(s.intraF1!)}  inter F1 ${pct(s.interF1!)}`;
  return `P ${pct(s.precision)}  R ${pct(s.recall)}  F1 ${pct(s.f1)}${extra}`;
}

/** Trains on (a subset of) the train split with cached features and scores the validation split. */
export async function runReDocRED(run: ReDocREDRun): Promise<ReDocREDResult> {
  const p = await prepareReDocRED(run.trainDocs ?? 400, {
    encodeAll: run.encodeAll ?? true,
    dataset: run.dataset ?? 'redocred',
  });
  const model = run.makeModel(p.cache.hiddenSize, p.schema.size);
  const trainIdx = p.train.map((_, i) => i);
  const epochF1: number[] = [];
  const trainer = new Trainer<number>(model, {
    collate: (items) => inputOf(p, items, run.graph),
    epochs: run.epochs,
    batchSize: run.batchSize ?? 4,
    accumulationSteps: run.accumulationSteps ?? 1,
    seed: run.seed ?? 0,
    optimizer: { headLr: run.headLr ?? EXAMPLE_HEAD_LR, encoderLr: 0 },
    ...(run.stages ? { stages: run.stages(model) } : {}),
    ...(run.extraSteps ? { extraSteps: run.extraSteps(model) } : {}),
    ...(run.quiet ? { progress: false as const } : {}),
    // EVAL_EACH_EPOCH=1: validation scores after every epoch (printed; the reported scores stay the last epoch's)
    ...(process.env['EVAL_EACH_EPOCH'] === '1'
      ? {
          evaluate: async () => {
            const { scores } = await scoreValidation(p, model, run.graph);
            console.log(`  epoch validation: ${formatScores(scores)}`);
            epochF1.push(scores.f1);
            return { f1: scores.f1 };
          },
        }
      : {}),
  });
  const t0 = Date.now();
  await trainer.fit(trainIdx);
  const trainSeconds = (Date.now() - t0) / 1000;
  const { scores, triples } = await scoreValidation(p, model, run.graph);
  if (run.showTriples) {
    const byTitle = new Map(p.validation.map((d) => [d.title, d]));
    const correct = new Set(
      p.validation.flatMap((d) => (d.labels ?? []).map((l) => `${d.title}|${l.h}|${l.t}|${l.r}`)),
    );
    console.log(`\nSome extracted relations (validation; ✓ = in the gold annotation):`);
    for (const t of triples.slice(0, run.showTriples)) {
      const d = byTitle.get(t.title)!;
      const name = (k: number) => d.vertexSet[k]![0]!.name;
      const ok = correct.has(`${t.title}|${t.h_idx}|${t.t_idx}|${t.r}`) ? '✓' : ' ';
      console.log(
        `  ${ok} ${name(t.h_idx)} —[${p.schema.nameOf(p.schema.classOf(t.r) ?? 0)}]→ ${name(t.t_idx)}    (${t.title})`,
      );
    }
  }
  model.dispose();
  return { scores, trainSeconds, triples, ...(epochF1.length > 0 ? { epochF1 } : {}) };
}

/** `--epochs N --train-docs N --seed N` (and env EPOCHS / TRAIN_DOCS / SEED) with the example's defaults. */
export function exampleArgs(defaults: { epochs: number; trainDocs: number; seed?: number }): {
  epochs: number;
  trainDocs: number;
  seed: number;
} {
  const argv = process.argv.slice(2);
  const flag = (name: string, env: string, fallback: number): number => {
    const i = argv.indexOf(`--${name}`);
    const raw = i >= 0 ? argv[i + 1] : process.env[env];
    const v = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(v) || v < 0)
      throw new Error(`--${name}: expected a non-negative integer, got ${raw}`);
    return v;
  };
  return {
    epochs: flag('epochs', 'EPOCHS', defaults.epochs),
    trainDocs: flag('train-docs', 'TRAIN_DOCS', defaults.trainDocs),
    seed: flag('seed', 'SEED', defaults.seed ?? 0),
  };
}

/** `--threads N` (or DOCRE_THREADS): the wasm backend's threads; undefined = the machine's cores. */
export function exampleThreads(): number | undefined {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--threads');
  const raw = i >= 0 ? argv[i + 1] : process.env['DOCRE_THREADS'];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--threads: expected a positive integer, got ${raw}`);
  return v;
}

/** Runs one example end to end and prints its budget, the official scores and the timing. */
export async function runExample(
  title: string,
  run: ReDocREDRun & { budget: string },
): Promise<ReDocREDResult> {
  const data =
    run.dataset === 'cdr'
      ? `CDR (train_filter.data: first ${run.trainDocs ?? 500} of 500 documents; dev_filter.data: 500)`
      : `Re-DocRED (bundled dev_revised.json: first ${run.trainDocs ?? 400} of the 400 train documents, 100 validation)`;
  console.log(
    `${title} on ${data}, embedded frozen encoder (cached features), backend ${process.env['DOCRE_BACKEND'] ?? 'wasm'} (threads: ${exampleThreads() ?? 'all cores'}).\nBudget: ${run.budget}.`,
  );
  const t0 = Date.now();
  const result = await runReDocRED(run);
  console.log(
    `\nValidation (${run.dataset === 'cdr' ? 'CDR dev, binary CID scores' : '100 documents, official scorer'}): ${formatScores(result.scores)}`,
  );
  console.log(
    `Training ${result.trainSeconds.toFixed(0)} s; whole run ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
  );
  const { precision, recall, f1, ignF1, intraF1, interF1 } = result.scores;
  console.log(
    `RESULT ${JSON.stringify({ title, trainDocs: run.trainDocs ?? 400, epochs: run.epochs, seed: run.seed ?? 0, precision, recall, f1, ignF1, intraF1, interF1, trainSeconds: result.trainSeconds })}`,
  );
  return result;
}

/** Title and CPU-sized model of each paper example (shared by the per-model examples and examples/results.ts). */
export const EXAMPLE_MODELS = {
  atlop: { title: 'ATLOP', sizes: 'head emb 128 / block 16', config: { embSize: 128, blockSize: 16 } },
  docunet: {
    title: 'DocuNet',
    sizes: 'U-Net 32 channels / out 64, head emb 128 / block 16',
    config: { unetChannels: 32, unetOut: 64, embSize: 128, blockSize: 16 },
  },
  dremir: {
    title: 'DRE-MIR',
    sizes: 'pair width 128, 2 I-MSA layers, FFN 256, 20 % masked pairs',
    config: { pairSize: 128, numLayers: 2, ffnDim: 256, docPooling: 'mean' },
  },
  gtn: {
    title: 'GTN (DocRE-BSI)',
    sizes: '1 GTN layer, head emb 128 / block 16, discriminator lr 1e-4',
    config: { numLayers: 1, embSize: 128, blockSize: 16, docPooling: 'mean' },
  },
  docreii: {
    title: 'DocRE-II',
    sizes: 'pair width 128, N_I 2, K 3, FFN 256',
    config: { pairSize: 128, numLayers: 2, iterations: 3, ffnDim: 256 },
  },
} as const satisfies Record<ModelName, { title: string; sizes: string; config: Record<string, unknown> }>;

/**
 * DocRE-II's two-stage schedule in the examples:
 * - `paper` (§2.3, Table 8): stage 1 trains the base module for the baseline's whole budget
 *   (`epochs`, as ATLOP), stage 2 the whole model for half as many epochs (the paper's 30 + 15 on
 *   DocRED) with the base module's lr a tenth of the inference module's (1e-5 vs 1e-4);
 * - `split` (the paper's "w/ freeze base module" ablation in the same total epochs as the other
 *   models): stage 1 two thirds of `epochs`, stage 2 the inference module alone, base frozen.
 */
export type DocREIISchedule = 'paper' | 'split';

/** The examples' learning rate of the heads (the encoder is frozen). */
export const EXAMPLE_HEAD_LR = 1e-3;

/** Stage 2 of the `paper` schedule: the base module's lr relative to the inference module's (1e-5 / 1e-4). */
export const DOCREII_BASE_LR_SCALE = 0.1;

/**
 * The run of one paper model with the examples' budget: `epochs` (DocRE-II: see
 * {@link DocREIISchedule}; GTN: plus its discriminator step), batch 4, heads' lr `headLr`.
 */
export function paperRun(
  name: ModelName,
  o: {
    epochs: number;
    trainDocs: number;
    seed: number;
    showTriples?: number;
    quiet?: boolean;
    dataset?: Dataset;
    /** DocRE-II only, see {@link DocREIISchedule}. Default `paper`. */
    docreiiSchedule?: DocREIISchedule;
    /** The heads' learning rate. Default {@link EXAMPLE_HEAD_LR}. */
    headLr?: number;
  },
): ReDocREDRun & { budget: string } {
  const spec = EXAMPLE_MODELS[name];
  const headLr = o.headLr ?? EXAMPLE_HEAD_LR;
  const paper = (o.docreiiSchedule ?? 'paper') === 'paper';
  // paper: the base gets the baseline's whole budget, then stage 2 half as many epochs (30 + 15);
  // split: the same total epochs, stage 2 a third of them
  const stage2 = Math.max(1, Math.round(o.epochs / (paper ? 2 : 3)));
  const stage1 = paper ? o.epochs : Math.max(1, o.epochs - stage2);
  const epochs = name === 'docreii' ? stage1 + stage2 : o.epochs;
  return {
    makeModel: (hiddenSize, numClasses) =>
      // decode keeps at most topK relations per pair: never more than there are (CDR: 1)
      createModel(name, {
        hiddenSize,
        numClasses,
        topK: Math.min(4, numClasses - 1),
        ...spec.config,
        seed: o.seed,
      }),
    epochs,
    trainDocs: o.trainDocs,
    seed: o.seed,
    headLr,
    showTriples: o.showTriples ?? 0,
    dataset: o.dataset ?? 'redocred',
    ...(o.quiet ? { quiet: true } : {}),
    ...(name === 'gtn'
      ? {
          graph: true,
          // AdamW's default decay (0.01) on the discriminator, as the examples' results were run
          extraSteps: (model: DocREModel) => [discriminatorStep(model, { lr: 1e-4, weightDecay: 0.01 })],
        }
      : {}),
    ...(name === 'docreii'
      ? {
          // DocRE-II's stage 2 (two views × K iterations × N_I layers, all kept for the backward
          // pass) needs > 4 GiB at batch 4 with 30+ entities: the wasm heap's limit. The same
          // batch-4 steps as 4 accumulated documents.
          batchSize: 1,
          accumulationSteps: 4,
          stages: (model: DocREModel) =>
            twoStages(model, {
              stage1Epochs: stage1,
              stage2Epochs: stage2,
              stage1Groups: ['base'],
              // paper: every variable, the base at a tenth of the lr; split: the inference module alone
              baseLrScale: paper ? DOCREII_BASE_LR_SCALE : 0,
            }),
        }
      : {}),
    budget:
      name === 'docreii'
        ? `${o.trainDocs} documents, stage 1 (base) ${stage1} + stage 2 ${paper ? `(whole model, base at lr × ${DOCREII_BASE_LR_SCALE})` : '(inference, base frozen)'} ${stage2} epochs, batch 4 (1 × 4 accumulated), lr ${headLr.toExponential()}, ${spec.sizes}`
        : `${o.trainDocs} documents × ${epochs} epochs, batch 4, lr ${headLr.toExponential()}, ${spec.sizes}`,
  };
}
