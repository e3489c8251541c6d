/**
 * The four subcommands. Each validates its files before starting a backend (so a typo fails in
 * milliseconds), then runs the pipeline of `../run/pipeline.ts`. Results go to stdout, progress and
 * errors to stderr.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { currentBackend, initBackend } from '../core/backend.js';
import { Featurizer } from '../data/featurize.js';
import { toOfficialJSON, type BinaryScores, type DocREDScores } from '../data/evaluate.js';
import type { DocREDDocument } from '../data/docred.js';
import { syntheticBatch, disposeInput } from '../models/synthetic.js';
import type { DocREModel } from '../models/types.js';
import { Trainer } from '../train/trainer.js';
import { writeFileAtomic } from '../train/checkpoint.js';
import type { EvalMetrics } from '../train/types.js';
import { CliError, UsageError, MODEL_NAMES, type CommandName, type ParsedOptions } from './args.js';
import type { CliIO } from './args.js';
import { resolveConfig } from '../models/factory.js';
import { paperSchedule, trainingPreset } from '../train/schedules.js';
import { shippedModelDir } from '../extract/extractor.js';
import { createPresetModel, loadSavedModel } from '../run/models.js';
import {
  isBinarySchema,
  featurizeAll,
  inferSchema,
  loadDocuments,
  loadEncoder,
  loadRunEncoder,
  encodedSet,
  predictTriples,
  readRunInfo,
  runSchema,
  scoreDocuments,
  writeRunInfo,
  type RunInfo,
} from '../run/pipeline.js';

export async function runCommand(name: CommandName, opts: unknown, io: CliIO): Promise<void> {
  switch (name) {
    case 'train':
      return train(opts as ParsedOptions<'train'>, io);
    case 'evaluate':
      return evaluate(opts as ParsedOptions<'evaluate'>, io);
    case 'predict':
      return predict(opts as ParsedOptions<'predict'>, io);
    case 'bench':
      return bench(opts as ParsedOptions<'bench'>, io);
    case 'extract':
      return (await import('./extract-command.js')).extractCommand(opts as ParsedOptions<'extract'>, io);
    case 'queue':
    case 'worker':
    case 'collect':
    case 'status':
      return (await import('./queue-commands.js')).runQueueCommand(name, opts, io);
  }
}

async function startBackend(name: string, threads: number | undefined): Promise<void> {
  try {
    await initBackend(name as Parameters<typeof initBackend>[0], threads === undefined ? {} : { threads });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** `--config JSON` → an object of model config overrides. */
function parseConfig(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--config expects a JSON object, got '${text}' (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new UsageError(`--config expects a JSON object, got '${text}'`);
  return v as Record<string, unknown>;
}

/** Scores as the metrics the trainer records (fractions). */
function metricsOf(s: DocREDScores | BinaryScores): EvalMetrics {
  const base = { f1: s.f1, precision: s.precision, recall: s.recall };
  return 'ignF1' in s ? { ...base, ignF1: s.ignF1, intraF1: s.intraF1, interF1: s.interF1 } : base;
}

async function train(o: ParsedOptions<'train'>, io: CliIO): Promise<void> {
  const overrides = parseConfig(o.config);
  const trainDocs = await loadDocuments(o.train, '--train', o['max-docs']);
  const devDocs = o.dev ? await loadDocuments(o.dev, '--dev', o['max-docs']) : undefined;
  await startBackend(o.backend, o.threads);
  const schema = inferSchema(trainDocs, devDocs ?? []);
  // a Hugging Face directory is fine-tuned; the embedded encoder only with --finetune
  const enc = await loadEncoder(o.encoder, { trainable: o.encoder !== undefined || o.finetune });
  const frozen = !enc.encoder.trainable;
  const log = (line: string) => io.stderr.write(line + '\n');
  const markers = 'star' as const;
  const featurizer = new Featurizer(enc.tokenizer, { markers });
  const trainFeatures = featurizeAll(featurizer, trainDocs);
  const devFeatures = devDocs ? featurizeAll(featurizer, devDocs) : undefined;
  const model = createPresetModel(o.model, {
    seed: o.seed,
    // decode keeps at most topK relations per pair: never more than there are relations (CDR: 1)
    topK: Math.min(resolveConfig(o.model, { hiddenSize: enc.encoder.hiddenSize, numClasses: schema.size }).topK, schema.size - 1),
    ...overrides,
    hiddenSize: enc.encoder.hiddenSize,
    numClasses: schema.size,
    ...(frozen ? {} : { encoder: enc.encoder }),
  });
  const info: RunInfo = {
    format: 'docre-kit-run',
    model: o.model,
    encoder: enc.spec,
    encoderSaved: !frozen,
    markers,
    schema: { ids: schema.ids, names: schema.names, naAliases: schema.naAliases },
  };
  const saveEncoder = (enc.encoder as { save?: (dir: string) => Promise<void> }).save?.bind(enc.encoder);
  const saved: Pick<DocREModel, 'forward' | 'trainableVariables' | 'variableGroups' | 'save'> = {
    forward: (b, opt) => model.forward(b, opt),
    trainableVariables: () => model.trainableVariables(),
    variableGroups: () => model.variableGroups(),
    save: async (dir) => {
      await model.save(dir);
      if (!frozen && saveEncoder) await saveEncoder(path.join(dir, 'encoder'));
      const stage = (model as { trainingStage?: 1 | 2 }).trainingStage;
      await writeRunInfo(dir, stage === undefined ? info : { ...info, stage });
    },
  };
  const pairs = isBinarySchema(schema) ? ('labelled' as const) : ('all' as const);
  const inputs = {
    schema,
    encoder: enc.encoder,
    frozen,
    graph: o.model === 'gtn',
    pairs,
    cacheDir: o.cache,
    log,
    // the feature cache's documents in parallel: one encoder thread per wasm thread
    encodeThreads: {
      count: currentBackend()?.wasm?.threadsCount ?? 1,
      ...(enc.spec === 'embedded' ? {} : { encoderDir: enc.spec }),
    },
  };
  const trainSet = await encodedSet(trainFeatures, { ...inputs, source: o.train });
  const devSet =
    devFeatures && o.dev ? await encodedSet(devFeatures, { ...inputs, source: o.dev }) : undefined;
  const preset = trainingPreset(o.model);
  const hp = {
    epochs: o.epochs ?? preset.epochs,
    batchSize: o['batch-size'] ?? preset.batchSize,
    headLr: o.lr ?? preset.headLr,
    // the papers' encoder/heads ratio (ATLOP 5e-5 / 1e-4) unless set
    encoderLr: o['encoder-lr'] ?? (o.lr === undefined ? preset.encoderLr : (o.lr * preset.encoderLr) / preset.headLr),
    warmupRatio: o['warmup-ratio'] ?? preset.warmupRatio,
    maxGradNorm: o['max-grad-norm'] ?? preset.maxGradNorm,
    weightDecay: o['weight-decay'] ?? preset.weightDecay,
  };
  const schedule = paperSchedule(o.model, model, {
    epochs: hp.epochs,
    headLr: hp.headLr,
    ...(o['stage2-epochs'] ? { stage2Epochs: o['stage2-epochs'] } : {}),
  });
  const started = Date.now();
  const trainer = new Trainer<number>(saved, {
    collate: (indices) => trainSet.input(indices),
    ...(schedule.stages ? {} : { epochs: hp.epochs }),
    batchSize: hp.batchSize,
    accumulationSteps: o['accumulation-steps'],
    optimizer: {
      headLr: hp.headLr,
      encoderLr: hp.encoderLr,
      weightDecay: hp.weightDecay,
      epsilon: preset.adamEpsilon,
    },
    warmupRatio: hp.warmupRatio,
    maxGradNorm: hp.maxGradNorm,
    seed: o.seed,
    outDir: o.out,
    checkpointEvery: o['checkpoint-every'],
    resume: o.resume,
    progress: { stream: io.stderr },
    ...(devSet && devDocs
      ? { evaluate: async () => metricsOf(await scoreDocuments(model, devSet, devDocs, schema, trainDocs)) }
      : {}),
    ...schedule,
  });
  io.stderr.write(
    `training ${o.model} on ${trainDocs.length} documents (${schema.size} classes, encoder ${enc.spec}, backend ${tf.getBackend()}) → ${o.out}\n`,
  );
  if (!frozen) log(`feature cache bypassed: the encoder (${enc.spec}) is fine-tuned and runs on every batch`);
  const res = await trainer.fit([...trainFeatures.keys()]);
  const seconds = (Date.now() - started) / 1000;
  const record = { command: 'train', options: o, hyperparameters: hp, schema: schema.size, seconds, ...res };
  await writeFileAtomic(path.join(o.out, 'train-log.json'), JSON.stringify(record, null, 1));
  const best =
    res.bestEpoch >= 0
      ? `best dev F1 ${(100 * res.bestF1).toFixed(2)} at epoch ${res.bestEpoch + 1} → ${path.join(o.out, 'best')}`
      : `model → ${path.join(o.out, 'last')}`;
  io.stdout.write(`${o.model}: ${res.steps} steps in ${seconds.toFixed(1)} s; ${best}\n`);
}

/** Loads a saved model with the encoder and schema its run file names. */
/** Loads a saved run; `forPredict` classifies every pair (CDR/GDA evaluation: the labelled candidates). */
async function loadRun(
  dir: string,
  encoderDir: string | undefined,
  backend: { name: string; threads: number | undefined },
  forPredict = false,
) {
  const info = await readRunInfo(dir, '--model-dir');
  await startBackend(backend.name, backend.threads);
  const enc = await loadRunEncoder(dir, info, encoderDir);
  const model = await loadSavedModel(dir);
  if (info.stage !== undefined) (model as { setStage?: (s: 1 | 2) => void }).setStage?.(info.stage);
  const schema = runSchema(info);
  const featurizer = new Featurizer(enc.tokenizer, { markers: info.markers });
  const pairs = forPredict || !isBinarySchema(schema) ? ('all' as const) : ('labelled' as const);
  const inputs = { schema, encoder: enc.encoder, frozen: true, graph: info.model === 'gtn', pairs };
  return { info, enc, model, schema, featurizer, inputs };
}

const pct = (x: number) => (100 * x).toFixed(2);

async function evaluate(o: ParsedOptions<'evaluate'>, io: CliIO): Promise<void> {
  await readRunInfo(o['model-dir'], '--model-dir');
  const docs = await loadDocuments(o.data, '--data', o['max-docs']);
  if (!docs.some((d) => d.labels !== undefined))
    throw new CliError(`--data '${o.data}' has no labels to score against (use predict)`);
  const trainDocs = o.train ? await loadDocuments(o.train, '--train') : undefined;
  const run = await loadRun(o['model-dir'], o.encoder, { name: o.backend, threads: o.threads });
  const set = await encodedSet(featurizeAll(run.featurizer, docs), run.inputs);
  const s = await scoreDocuments(run.model, set, docs, run.schema, trainDocs);
  const cols: [string, number][] = [
    ['P', s.precision],
    ['R', s.recall],
    ['F1', s.f1],
    ...('ignF1' in s
      ? ([
          ['Ign F1', s.ignF1],
          ['intra F1', s.intraF1],
          ['inter F1', s.interF1],
        ] as [string, number][])
      : []),
  ];
  const note = !('ignF1' in s)
    ? ' (binary: positive class only)'
    : trainDocs
      ? ''
      : ' (Ign F1 = F1: no --train)';
  io.stdout.write(
    `${cols.map(([k]) => k.padStart(9)).join('')}\n${cols.map(([, v]) => pct(v).padStart(9)).join('')}\n`,
  );
  io.stdout.write(
    `${s.counts.predicted} predicted, ${s.counts.gold} gold, ${s.counts.correct} correct facts over ${docs.length} documents${note}\n`,
  );
  if (o.json) {
    const out = { model: o['model-dir'], data: o.data, train: o.train ?? null, documents: docs.length, ...s };
    await writeFileAtomic(o.json, JSON.stringify(out, null, 1) + '\n');
  }
}

/** `Title: head —relation name (id)→ tail` using each entity's first mention. */
export function readableTriple(doc: DocREDDocument, h: number, t: number, relation: string): string {
  const name = (k: number) => doc.vertexSet[k]?.[0]?.name ?? `#${k}`;
  return `${doc.title}: ${name(h)} —${relation}→ ${name(t)}`;
}

async function predict(o: ParsedOptions<'predict'>, io: CliIO): Promise<void> {
  const dir = o['model-dir'] ?? shippedModelDir();
  await readRunInfo(dir, o['model-dir'] ? '--model-dir' : 'the shipped model');
  const docs = await loadDocuments(o.data, '--data', o['max-docs']);
  const run = await loadRun(dir, o.encoder, { name: o.backend, threads: o.threads }, true);
  // the official result format carries no labels: featurize without them
  const set = await encodedSet(
    featurizeAll(
      run.featurizer,
      docs.map(({ labels: _labels, ...d }) => d),
    ),
    run.inputs,
  );
  const triples = await predictTriples(run.model, set, run.schema);
  await writeFileAtomic(o.out, toOfficialJSON(triples) + '\n');
  if (!o.quiet) {
    const byTitle = new Map(docs.map((d) => [d.title, d]));
    for (const tr of triples) {
      const k = run.schema.classOf(tr.r)!;
      const rel = run.schema.nameOf(k) === tr.r ? tr.r : `${run.schema.nameOf(k)} (${tr.r})`;
      io.stdout.write(readableTriple(byTitle.get(tr.title)!, tr.h_idx, tr.t_idx, rel) + '\n');
    }
  }
  io.stderr.write(`${triples.length} relations in ${docs.length} documents → ${o.out}\n`);
}

/**
 * Throughput of forward+backward (documents/s) and inference latency (ms/document) of each model
 * on synthetic encoder features of DocRED-like size (n tokens, e entities, d = 256, 4 heads), each
 * as wall-clock and as process CPU time (the latter is what to compare on a shared machine).
 */
/**
 * `bench --model all`: one child process per model, so that a model that exhausts the wasm heap or
 * loses the GPU device (either aborts the backend for the rest of the process) costs only its row.
 */
async function benchEach(o: ParsedOptions<'bench'>, io: CliIO): Promise<void> {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const ts = import.meta.url.endsWith('.ts');
  const main = fileURLToPath(new URL(ts ? './main.ts' : './main.js', import.meta.url));
  const args = [
    '--backend',
    o.backend,
    ...(o.threads === undefined ? [] : ['--threads', String(o.threads)]),
    '--docs',
    String(o.docs),
    '--entities',
    String(o.entities),
    '--tokens',
    String(o.tokens),
    ...(o.quick ? ['--quick'] : []),
  ];
  for (const [k, name] of MODEL_NAMES.entries()) {
    const { out, err } = await new Promise<{ out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, [
        ...(ts ? ['--import', 'tsx'] : []),
        main,
        'bench',
        '--model',
        name,
        ...args,
      ]);
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('close', () => resolve({ out, err }));
    });
    const lines = out.split('\n').filter(Boolean);
    if (k === 0) io.stdout.write(lines.slice(0, 2).join('\n') + '\n'); // backend line and header
    const row = lines.find((l) => l.startsWith(name));
    const why = err.split('\n').filter(Boolean).at(-1) ?? 'no output';
    io.stdout.write((row ?? `${name.padEnd(10)}${'—'.padStart(18).repeat(4)}  (${why})`) + '\n');
  }
}

async function bench(o: ParsedOptions<'bench'>, io: CliIO): Promise<void> {
  if (o.model === 'all') return benchEach(o, io);
  await startBackend(o.backend, o.threads);
  const sizes = o.quick
    ? { b: 2, n: 32, e: 6, d: 32, h: 2, r: 5, reps: 2 }
    : { b: o.docs, n: o.tokens, e: o.entities, d: 256, h: 4, r: 97, reps: 3 };
  const names = [o.model];
  io.stdout.write(
    `backend ${tf.getBackend()}  b=${sizes.b} n=${sizes.n} e=${sizes.e} d=${sizes.d} r=${sizes.r}\n`,
  );
  const heads = ['train docs/s', 'train docs/cpu-s', 'infer ms/doc', 'infer cpu-ms/doc'];
  io.stdout.write('model'.padEnd(10) + heads.map((h) => h.padStart(18)).join('') + '\n');
  for (const name of names) {
    const failed = (e: unknown) =>
      io.stdout.write(`${name.padEnd(10)}${'—'.padStart(18).repeat(4)}  (${(e as Error).message})\n`);
    let model: DocREModel;
    try {
      model = createPresetModel(name, { hiddenSize: sizes.d, numClasses: sizes.r });
    } catch (e) {
      failed(e);
      continue;
    }
    const batch = syntheticBatch({
      b: sizes.b,
      n: sizes.n,
      d: sizes.d,
      h: sizes.h,
      e: sizes.e,
      m: 3,
      r: sizes.r,
      graph: name === 'gtn',
    });
    const vars = model.trainableVariables();
    const step = async () => {
      const { value, grads } = tf.variableGrads(
        () => model.forward(batch, { training: true }).losses['total']!,
        vars,
      );
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
    };
    const infer = async () => {
      const p = model.predict(batch);
      await p.data();
      p.dispose();
    };
    /** Seconds per call: wall clock, and CPU time of the whole process (all threads; load-independent). */
    const time = async (f: () => Promise<void>) => {
      await f(); // warm-up (shader compilation, kernel selection)
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let i = 0; i < sizes.reps; i++) await f();
      const c = process.cpuUsage(c0);
      return {
        wall: (performance.now() - t0) / sizes.reps / 1000,
        cpu: (c.user + c.system) / 1e6 / sizes.reps,
      };
    };
    try {
      const tTrain = await time(step);
      const tInfer = await time(infer);
      const cols = [
        sizes.b / tTrain.wall,
        sizes.b / tTrain.cpu,
        (1000 * tInfer.wall) / sizes.b,
        (1000 * tInfer.cpu) / sizes.b,
      ];
      io.stdout.write(
        name.padEnd(10) + cols.map((x, i) => x.toFixed(i < 2 ? 2 : 1).padStart(18)).join('') + '\n',
      );
    } catch (e) {
      failed(e);
    } finally {
      disposeInput(batch);
      model.dispose();
    }
  }
}
