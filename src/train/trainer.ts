/**
 * The training loop shared by every docre-kit model (ATLOP's `train()` in the official code, made
 * resumable): seeded shuffling, forward/backward on `losses.total`, gradient accumulation, global
 * norm clipping, AdamW with parameter groups under a linear warmup/decay schedule, dev evaluation
 * after every epoch with best-checkpoint saving, periodic resume checkpoints, progress output.
 *
 * Two schedules of the papers are options, not subclasses:
 * - two-stage training (DocRE-II): `stages: [{epochs, trainable, lrScale}]` — each stage trains the
 *   variables its filter keeps (e.g. stage 2: the `inference` group, base frozen, or the base at a
 *   small lr via an lrScale function) with its own warmup/decay schedule;
 * - adversarial training (GTN SA-KD): `extraSteps: [{optimizer, lossKey, variables}]` — after each
 *   micro-batch's main step input, a second forward pass minimises `losses[lossKey]` over
 *   `variables` only (the discriminator) with its own optimizer; those variables are excluded from
 *   the main objective.
 *
 * Determinism: the data order depends only on `seed` and the epoch; a resume checkpoint holds the
 * weights, the optimizer moments and step counts, the epoch, the position in the epoch and the
 * shuffling RNG state, so an interrupted run resumed from it ends with the same weights as an
 * uninterrupted one. Dropout too: tfjs draws its noise seeds from `Math.random`, which every
 * micro-batch's forward/backward pass runs seeded from (seed, epoch, batch index); the same seed
 * goes to `forward(batch, { training: true, seed })` for the model's own draws (DRE-MIR's pair
 * masks, GTN's node masks, DocRE-II's relation noise), so those resume exactly too.
 *
 * Files in `outDir`: `resume.ckpt` (safetensors, written atomically), `best/` (the model's own
 * `save` format, the epoch with the highest dev F1), `last/` (the model after the final epoch).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../core/errors.js';
import { withSeededRandom } from '../core/initializers.js';
import { leanVariableGrads } from '../core/gradients.js';
import { AdamW, paramGroups, type ParamGroupsOptions } from './adamw.js';
import { clipCoefficient, type NamedGrads } from './clip.js';
import { GradientAccumulator } from './accumulate.js';
import { linearWarmupDecay } from './schedule.js';
import { SeededRandom } from './rng.js';
import { loadTensorFile, saveTensorFile } from './checkpoint.js';
import { ProgressReporter, type ProgressOptions } from './progress.js';
import type { EvalMetrics, ModelInput, TrainableModel, VariableFilter } from './types.js';

/** One stage of a staged schedule (DocRE-II: stage 1 base, stage 2 inference module). */
export interface TrainStage {
  readonly epochs: number;
  /** Which variables this stage updates. Default: all. */
  readonly trainable?: VariableFilter;
  /** Multiplier of every group's lr in this stage, or per variable. Default 1. */
  readonly lrScale?: number | ((name: string, group: string | undefined) => number);
  /**
   * Called at the start of every epoch of the stage, before the variables are chosen (e.g.
   * `(m) => m.setStage(2)` for DocRE-II, whose `trainableVariables()` follow its stage).
   */
  readonly onStart?: (model: TrainableModel) => void;
}

/** An extra optimisation step run on every micro-batch (GTN's discriminator). */
export interface ExtraStep {
  readonly optimizer: AdamW;
  /** The loss in `forward(...).losses` this step minimises. */
  readonly lossKey: string;
  /** Variables it updates (default: the optimizer's); excluded from the main objective. */
  readonly variables?: readonly tf.Variable[];
}

export interface StepInfo {
  /** Optimizer steps done so far in the whole run. */
  readonly step: number;
  readonly totalSteps: number;
  /** 0-based epoch. */
  readonly epoch: number;
  /** Mean training loss of the micro-batches of this step. */
  readonly loss: number;
  /** The lr multiplier used for this step. */
  readonly lrScale: number;
  /** True when a resume checkpoint was written after this step. */
  readonly checkpointed: boolean;
}

export interface EpochRecord {
  readonly epoch: number;
  readonly stage: number;
  /** Mean training loss over the epoch's micro-batches. */
  readonly loss: number;
  readonly metrics?: EvalMetrics;
  readonly seconds: number;
}

export interface TrainResult {
  readonly history: readonly EpochRecord[];
  /** Best dev F1 seen (−Infinity without `evaluate`). */
  readonly bestF1: number;
  /** Epoch of the best dev F1 (−1 without `evaluate`). */
  readonly bestEpoch: number;
  readonly steps: number;
  /** True when the run continued from `outDir/resume.ckpt`. */
  readonly resumed: boolean;
}

export interface TrainerOptions<T> {
  /**
   * Builds the model input from a list of training items (may be async, e.g. a frozen encoder's
   * `encodeAsync` or a feature cache). Every tensor in the returned object is disposed after use.
   */
  readonly collate: (items: readonly T[]) => ModelInput | Promise<ModelInput>;
  /** Epochs (ignored when `stages` is given). Default 1. */
  readonly epochs?: number;
  /** Documents per micro-batch. Default 4 (ATLOP). */
  readonly batchSize?: number;
  /** Micro-batches per optimizer step. Default 1. */
  readonly accumulationSteps?: number;
  /** An optimizer, or how to build one from the model's variables. Default: `paramGroups` defaults (ATLOP). */
  readonly optimizer?: AdamW | (ParamGroupsOptions & { readonly epsilon?: number });
  /** Warmup fraction of each stage's optimizer steps. Default 0.06. */
  readonly warmupRatio?: number;
  /** Global-norm clip; 0 disables. Default 1. */
  readonly maxGradNorm?: number;
  /** Seed of the data order. Default 0. */
  readonly seed?: number;
  /** Which loss to minimise. Default `total`, or the sum of all losses when there is no `total`. */
  readonly lossKey?: string;
  /** Dev evaluation after every epoch; `f1` selects the best checkpoint. */
  readonly evaluate?: (model: TrainableModel) => EvalMetrics | Promise<EvalMetrics>;
  /** Directory for `resume.ckpt`, `best/` and `last/`. Without it nothing is written. */
  readonly outDir?: string;
  /** Write `resume.ckpt` every this many optimizer steps (and at each epoch end). 0: only at epoch ends. Default 0. */
  readonly checkpointEvery?: number;
  /** Continue from `outDir/resume.ckpt` when it exists. Default false. */
  readonly resume?: boolean;
  readonly stages?: readonly TrainStage[];
  readonly extraSteps?: readonly ExtraStep[];
  /** Progress output; false = silent. Default: stderr, bar on a TTY, plain lines otherwise. */
  readonly progress?: false | ProgressOptions;
  /** Called after every optimizer step (awaited). */
  readonly onStep?: (info: StepInfo) => void | Promise<void>;
  /** Called after every epoch (awaited). */
  readonly onEpochEnd?: (record: EpochRecord) => void | Promise<void>;
}

const RESUME_FILE = 'resume.ckpt';
const STATE_VERSION = 1;

interface RunState {
  version: number;
  epoch: number;
  /** Index of the next micro-batch in the epoch's order. */
  nextBatch: number;
  /** Shuffling RNG state before the current epoch's permutation was drawn. */
  epochRng: number;
  step: number;
  lossSum: number;
  lossCount: number;
  bestF1: number;
  bestEpoch: number;
  history: EpochRecord[];
  fingerprint: string;
}

/**
 * @example
 * const trainer = new Trainer(model, {
 *   collate: (docs) => collate(docs, schema), epochs: 30, batchSize: 4, seed: 66,
 *   optimizer: { encoderLr: 5e-5, headLr: 1e-4 }, evaluate: async (m) => scoreDev(m),
 *   outDir: 'runs/atlop', checkpointEvery: 500, resume: true,
 * });
 * const { bestF1 } = await trainer.fit(trainDocs);
 */
export class Trainer<T> {
  readonly optimizer: AdamW;
  private readonly opts: TrainerOptions<T>;
  private readonly stages: readonly TrainStage[];
  private readonly mainVars: tf.Variable[];
  private readonly groupOf = new Map<string, string>();
  private readonly extraNames: Set<string>;

  constructor(
    readonly model: TrainableModel,
    options: TrainerOptions<T>,
  ) {
    this.opts = options;
    const intOpt = (name: keyof TrainerOptions<T>, min: number) => {
      const v = options[name];
      if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min))
        throw new ArgumentError(String(name), `an integer >= ${min}`, v);
    };
    intOpt('epochs', 1);
    intOpt('batchSize', 1);
    intOpt('accumulationSteps', 1);
    intOpt('checkpointEvery', 0);
    intOpt('seed', -(2 ** 31));
    if (options.maxGradNorm !== undefined && !(options.maxGradNorm >= 0))
      throw new ArgumentError('maxGradNorm', 'a number >= 0', options.maxGradNorm);
    if (options.resume && !options.outDir)
      throw new ArgumentError('resume', 'outDir to be set', options.resume);
    this.stages = options.stages ?? [{ epochs: options.epochs ?? 1 }];
    if (this.stages.length === 0) throw new ArgumentError('stages', 'at least one stage', options.stages);
    this.stages.forEach((s, i) => {
      if (!(Number.isInteger(s.epochs) && s.epochs >= 1))
        throw new ArgumentError(`stages[${i}].epochs`, 'an integer >= 1', s.epochs);
    });
    for (const [group, vars] of Object.entries(model.variableGroups?.() ?? {}))
      for (const v of vars) this.groupOf.set(v.name, group);
    this.extraNames = new Set(
      (options.extraSteps ?? []).flatMap((x) => (x.variables ?? x.optimizer.variables).map((v) => v.name)),
    );
    // every variable any stage may train: trainableVariables() can change with the model's stage
    const groupVars = Object.values(model.variableGroups?.() ?? {}).flat();
    this.mainVars = unique([...model.trainableVariables(), ...groupVars]).filter(
      (v) => !this.extraNames.has(v.name),
    );
    if (this.mainVars.length === 0) throw new ArgumentError('model', 'trainable variables', 'none');
    const o = options.optimizer;
    if (o instanceof AdamW) this.optimizer = o;
    else {
      const encoderNames = new Set((model.variableGroups?.()['encoder'] ?? []).map((v) => v.name));
      const isEncoder = o?.isEncoder ?? ((v: tf.Variable) => encoderNames.has(v.name));
      this.optimizer = new AdamW(paramGroups(this.mainVars, { ...o, isEncoder }), {
        epsilon: o?.epsilon ?? 1e-6,
        weightDecay: 0,
      });
    }
  }

  /** Optimizer steps of one epoch over `n` items. */
  stepsPerEpoch(n: number): number {
    const batches = Math.ceil(n / (this.opts.batchSize ?? 4));
    return Math.ceil(batches / (this.opts.accumulationSteps ?? 1));
  }

  /** Trains on `items`; resolves with the per-epoch history and the best dev F1. */
  async fit(items: readonly T[]): Promise<TrainResult> {
    if (items.length === 0) throw new ArgumentError('items', 'at least one training item', 0);
    const o = this.opts;
    const batchSize = o.batchSize ?? 4;
    const accum = new GradientAccumulator(o.accumulationSteps ?? 1);
    const perEpoch = this.stepsPerEpoch(items.length);
    const totalEpochs = this.stages.reduce((a, s) => a + s.epochs, 0);
    const totalSteps = perEpoch * totalEpochs;
    const seed = o.seed ?? 0;
    const fingerprint = JSON.stringify({
      n: items.length,
      batchSize,
      accum: accum.steps,
      epochs: this.stages.map((s) => s.epochs),
      seed,
    });

    let st: RunState = {
      version: STATE_VERSION,
      epoch: 0,
      nextBatch: 0,
      epochRng: seed >>> 0,
      step: 0,
      lossSum: 0,
      lossCount: 0,
      bestF1: -Infinity,
      bestEpoch: -1,
      history: [],
      fingerprint,
    };
    let resumed = false;
    if (o.resume && o.outDir) {
      const restored = await this.restore(path.join(o.outDir, RESUME_FILE), fingerprint);
      if (restored) {
        st = restored;
        resumed = true;
      }
    }
    const progress = o.progress === false ? undefined : new ProgressReporter(totalSteps, o.progress);
    if (resumed) progress?.log(`resumed at epoch ${st.epoch + 1}, step ${st.step}/${totalSteps}`);

    for (; st.epoch < totalEpochs; st.epoch++) {
      const { stage, stageStart } = this.stageOf(st.epoch);
      const stageDef = this.stages[stage]!;
      stageDef.onStart?.(this.model);
      const vars = this.model
        .trainableVariables()
        .filter(
          (v) =>
            !this.extraNames.has(v.name) &&
            (stageDef.trainable?.(v.name, this.groupOf.get(v.name), v) ?? true),
        );
      if (vars.length === 0)
        throw new ArgumentError(`stages[${stage}].trainable`, 'to keep at least one variable', 'none');
      const schedule = linearWarmupDecay(perEpoch * stageDef.epochs, o.warmupRatio ?? 0.06);
      const rng = new SeededRandom(seed, st.epochRng);
      const order = rng.permutation(items.length);
      const afterShuffle = rng.state;
      const nBatches = Math.ceil(items.length / batchSize);
      const started = Date.now();
      for (let bi = st.nextBatch; bi < nBatches; bi++) {
        const batchItems = order.slice(bi * batchSize, (bi + 1) * batchSize).map((i) => items[i]!);
        const loss = await this.microStep(batchItems, vars, accum, noiseSeed(seed, st.epoch, bi));
        st.lossSum += loss;
        st.lossCount += 1;
        if (!accum.ready && bi < nBatches - 1) continue;
        const lrScale = schedule(st.step - perEpoch * stageStart); // steps already done in this stage
        this.applyStep(accum.take(), lrScale, stageDef.lrScale);
        st.step += 1;
        st.nextBatch = bi + 1;
        const every = o.checkpointEvery ?? 0;
        const checkpointed = !!o.outDir && every > 0 && st.step % every === 0 && bi < nBatches - 1;
        if (checkpointed) await this.checkpoint(st);
        progress?.update(st.step, {
          epoch: `${st.epoch + 1}/${totalEpochs}`,
          loss: st.lossSum / st.lossCount,
        });
        await o.onStep?.({ step: st.step, totalSteps, epoch: st.epoch, loss, lrScale, checkpointed });
      }
      const record: EpochRecord = {
        epoch: st.epoch,
        stage,
        loss: st.lossSum / Math.max(1, st.lossCount),
        seconds: (Date.now() - started) / 1000,
        ...(o.evaluate ? { metrics: await o.evaluate(this.model) } : {}),
      };
      st.history.push(record);
      const f1 = record.metrics?.f1;
      let line = `epoch ${st.epoch + 1}/${totalEpochs}  loss ${record.loss.toFixed(4)}`;
      if (f1 !== undefined) {
        line +=
          '  ' +
          Object.entries(record.metrics!)
            .map(([k, v]) => `${k} ${(100 * v).toFixed(2)}`)
            .join('  ');
        if (f1 > st.bestF1) {
          st.bestF1 = f1;
          st.bestEpoch = st.epoch;
          line += '  (best)';
          if (o.outDir) await saveModelAtomic(this.model, path.join(o.outDir, 'best'));
        }
      }
      progress?.log(line);
      await o.onEpochEnd?.(record);
      st.epochRng = afterShuffle;
      st.nextBatch = 0;
      st.lossSum = 0;
      st.lossCount = 0;
      if (o.outDir) await this.checkpoint({ ...st, epoch: st.epoch + 1 });
    }
    progress?.done();
    if (o.outDir) await saveModelAtomic(this.model, path.join(o.outDir, 'last'));
    return { history: st.history, bestF1: st.bestF1, bestEpoch: st.bestEpoch, steps: st.step, resumed };
  }

  /** Which stage an epoch belongs to, and the first epoch of that stage. */
  private stageOf(epoch: number): { stage: number; stageStart: number } {
    let start = 0;
    for (let i = 0; i < this.stages.length; i++) {
      if (epoch < start + this.stages[i]!.epochs) return { stage: i, stageStart: start };
      start += this.stages[i]!.epochs;
    }
    throw new ArgumentError('epoch', `< ${start}`, epoch);
  }

  /** The scalar the main optimizer minimises. */
  private mainLoss(losses: Record<string, tf.Scalar>): tf.Scalar {
    const key = this.opts.lossKey ?? 'total';
    const l = losses[key];
    if (l) return l;
    if (this.opts.lossKey !== undefined || Object.keys(losses).length === 0)
      throw new ArgumentError(
        'lossKey',
        `one of the model's losses (${Object.keys(losses).join(', ') || 'none: no labels?'})`,
        key,
      );
    const skip = new Set((this.opts.extraSteps ?? []).map((x) => x.lossKey));
    return tf.addN(
      Object.entries(losses)
        .filter(([k]) => !skip.has(k))
        .map(([, v]) => v),
    ) as tf.Scalar;
  }

  /** Forward/backward of one micro-batch into the accumulator (+ extra steps); returns its loss. */
  private async microStep(
    batchItems: readonly T[],
    vars: tf.Variable[],
    accum: GradientAccumulator,
    noise: number,
  ): Promise<number> {
    const batch = await this.opts.collate(batchItems);
    try {
      const { value, grads } = withSeededRandom(noise, () =>
        leanVariableGrads(() => {
          const out = this.model.forward(batch, { training: true, seed: noise });
          return this.mainLoss(out.losses);
        }, vars),
      );
      accum.add(grads);
      tf.dispose(grads as unknown as tf.Tensor[]);
      const loss = (await value.data())[0]!; // async: sync reads stall (and fail in Node) on webgpu
      value.dispose();
      for (const x of this.opts.extraSteps ?? []) {
        const xv = [...(x.variables ?? x.optimizer.variables)];
        const r = withSeededRandom(noise, () =>
          leanVariableGrads(() => {
            const out = this.model.forward(batch, { training: true, seed: noise });
            const l = out.losses[x.lossKey];
            if (!l)
              throw new ArgumentError(
                'extraSteps.lossKey',
                `one of ${Object.keys(out.losses).join(', ')}`,
                x.lossKey,
              );
            return l;
          }, xv),
        );
        x.optimizer.applyGradients(r.grads);
        tf.dispose([r.value, ...Object.values(r.grads)] as tf.Tensor[]);
      }
      if (!Number.isFinite(loss)) throw new ArgumentError('training loss', 'a finite number', loss);
      return loss;
    } finally {
      tf.dispose(batch as unknown as tf.TensorContainer);
    }
  }

  /**
   * Clips (global norm) and applies `grads` (owned, disposed here) one variable at a time,
   * smallest first, disposing each gradient once its update is done: the step holds the gradients
   * plus one variable's update at a time, not a clipped copy of every gradient on top of them
   * (a BERT-base step: 440 MB less). Same values as clipping everything first.
   */
  private applyStep(grads: NamedGrads, lrScale: number, stageScale: TrainStage['lrScale']): void {
    const max = this.opts.maxGradNorm ?? 1;
    const clip = max > 0 ? clipCoefficient(grads, max) : undefined;
    clip?.norm.dispose();
    const names = Object.keys(grads).sort((a, b) => grads[a]!.size - grads[b]!.size);
    try {
      for (const name of names) {
        const raw = grads[name]!;
        const g = clip ? raw.mul(clip.coef) : raw;
        if (clip) raw.dispose();
        const s =
          typeof stageScale === 'function' ? stageScale(name, this.groupOf.get(name)) : (stageScale ?? 1);
        this.optimizer.applyGradients({ [name]: g }, lrScale * s);
        g.dispose();
      }
    } finally {
      clip?.coef.dispose();
      tf.dispose(Object.values(grads).filter((t) => !t.isDisposed));
    }
  }

  /** Every variable whose value a resume must restore: main, then each extra step's. */
  private allVars(): tf.Variable[] {
    const extra = (this.opts.extraSteps ?? []).flatMap((x) => [...(x.variables ?? x.optimizer.variables)]);
    return unique([...this.mainVars, ...extra]);
  }

  private optimizers(): AdamW[] {
    return [this.optimizer, ...(this.opts.extraSteps ?? []).map((x) => x.optimizer)];
  }

  /**
   * The stable key of each of `vars` in `resume.ckpt`: its path from the model's `namedVariables()`
   * (`bilinear/kernel`, `encoder/…`; tfjs names carry a process-wide counter), else `#<position>`
   * (custom models without `namedVariables`).
   */
  private checkpointKeys(vars: readonly tf.Variable[]): string[] {
    const paths = new Map((this.model.namedVariables?.() ?? []).map(([p, v]) => [v.name, p]));
    return vars.map((v, i) => paths.get(v.name) ?? `#${i}`);
  }

  /**
   * Writes `resume.ckpt`: each variable's value (`param/<key>`), each optimizer's moments
   * (`opt<j>/m/<key>`, `opt<j>/v/<key>`) and step counts, by `checkpointKeys`, and the run state.
   */
  private async checkpoint(st: RunState): Promise<void> {
    const vars = this.allVars();
    const keys = this.checkpointKeys(vars);
    const tensors: Record<string, tf.Tensor> = {};
    vars.forEach((v, i) => (tensors[`param/${keys[i]}`] = v));
    const owned: tf.Tensor[] = [];
    const optSteps = this.optimizers().map((opt, j) => {
      const s = opt.exportState(vars, `opt${j}/`, keys);
      Object.assign(tensors, s.tensors);
      owned.push(...Object.values(s.tensors));
      return s.steps;
    });
    try {
      await saveTensorFile(path.join(this.opts.outDir!, RESUME_FILE), tensors, {
        state: JSON.stringify(st),
        optimizerSteps: JSON.stringify(optSteps),
        keys: JSON.stringify(keys),
      });
    } finally {
      tf.dispose(owned);
    }
  }

  /**
   * Loads `resume.ckpt` into the model and optimizers; undefined when the file does not exist.
   * Files written before stable keys (no `keys` entry: `param/<position>`) load by position.
   */
  private async restore(file: string, fingerprint: string): Promise<RunState | undefined> {
    try {
      await fs.access(file);
    } catch {
      return undefined;
    }
    const { tensors, metadata } = await loadTensorFile(file);
    try {
      const st = JSON.parse(metadata['state'] ?? '{}') as RunState;
      if (st.version !== STATE_VERSION)
        throw new ArgumentError(`${file} version`, String(STATE_VERSION), st.version);
      st.bestF1 ??= -Infinity; // JSON has no -Infinity: stored as null before the first evaluation
      if (st.fingerprint !== fingerprint)
        throw new ArgumentError(`${file}`, `a checkpoint of the same run ${fingerprint}`, st.fingerprint);
      const vars = this.allVars();
      let keys: string[];
      if (metadata['keys'] !== undefined) {
        keys = this.checkpointKeys(vars);
        const saved = new Set(JSON.parse(metadata['keys']) as string[]);
        const current = new Set(keys);
        const missing = keys.filter((k) => !saved.has(k));
        const extra = [...saved].filter((k) => !current.has(k));
        if (missing.length || extra.length)
          throw new ArgumentError(
            `${file} variables`,
            "the model's variables",
            [
              missing.length ? `missing ${missing.join(', ')}` : '',
              extra.length ? `unknown ${extra.join(', ')}` : '',
            ]
              .filter(Boolean)
              .join('; '),
          );
      } else {
        const shapes = JSON.parse(metadata['shapes'] ?? '[]') as number[][];
        if (shapes.length !== vars.length)
          throw new ArgumentError(`${file} variables`, String(vars.length), shapes.length);
        keys = vars.map((_, i) => String(i));
      }
      vars.forEach((v, i) => {
        const t = tensors[`param/${keys[i]}`];
        if (!t || !tf.util.arraysEqual(t.shape, v.shape))
          throw new ArgumentError(`${file} param/${keys[i]}`, `shape [${v.shape}]`, t?.shape ?? 'missing');
        v.assign(t);
      });
      const optSteps = JSON.parse(metadata['optimizerSteps'] ?? '[]') as Record<string, number>[];
      this.optimizers().forEach((opt, j) =>
        opt.importState(vars, tensors, optSteps[j] ?? {}, `opt${j}/`, keys),
      );
      return st;
    } finally {
      tf.dispose(Object.values(tensors));
    }
  }
}

/**
 * The seed of one micro-batch's pass: `Math.random`'s (dropout noise) and the model's own draws
 * (`forward(…, { seed })`: masks, relation noise). A hash of (seed, epoch, batch).
 */
function noiseSeed(seed: number, epoch: number, batch: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const x of [epoch, batch]) h = (Math.imul(h ^ x, 0x85ebca6b) + 0x6b43a9b5) >>> 0;
  return h;
}

/** Variables without duplicates (by name), first occurrence kept. */
function unique(vars: readonly tf.Variable[]): tf.Variable[] {
  const seen = new Set<string>();
  return vars.filter((v) => !seen.has(v.name) && (seen.add(v.name), true));
}

/** Saves a model into `dir` via `dir.tmp` and renames, so `dir` is never half-written. */
export async function saveModelAtomic(model: Pick<TrainableModel, 'save'>, dir: string): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  await fs.rm(tmp, { recursive: true, force: true });
  await model.save(tmp);
  const exists = await fs.stat(dir).then(
    () => true,
    () => false,
  );
  if (exists) await fs.rename(dir, old);
  await fs.rename(tmp, dir);
  if (exists) await fs.rm(old, { recursive: true, force: true });
}
