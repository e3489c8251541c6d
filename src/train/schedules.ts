/**
 * The papers' training schedules as `Trainer` options, written once for the CLI, the examples and
 * the browser demo:
 * - `twoStages`: DocRE-II's two stages (§2.3) — stage 1 trains the base module (`setStage(1)`),
 *   stage 2 (`setStage(2)`) the inference module at its lr and the base at a smaller one (0
 *   freezes it);
 * - `discriminatorStep`: GTN's SA-KD step — a second AdamW minimises `losses.discriminator` over
 *   the discriminator's variables after every micro-batch;
 * - `paperSchedule`: the one a model name's preset implies (the CLI's).
 *
 * They are written against the small interfaces of src/models/types (`StagedModel`,
 * `AdversarialModel`), not against the model classes.
 *
 * @example
 * const trainer = new Trainer(model, { ...opts, ...paperSchedule('docreii', model, { epochs: 4, headLr: 1e-4 }) });
 */
import { ArgumentError } from '../core/errors.js';
import { modelSpecOf, type TrainingPreset } from '../models/factory.js';
import { isAdversarialModel, isStagedModel, type DocREModel, type StagedModel } from '../models/types.js';
import { AdamW } from './adamw.js';
import type { ExtraStep, TrainStage } from './trainer.js';

/** Options of {@link twoStages}. */
export interface TwoStageOptions {
  readonly stage1Epochs: number;
  readonly stage2Epochs: number;
  /** Stage 2: the inference module's lr relative to the heads' lr. Default 1. */
  readonly inferenceLrScale?: number;
  /** Stage 2: every other group's lr relative to the heads' lr; 0 freezes them (only `inference` trains). */
  readonly baseLrScale: number;
  /** Stage 1 updates only these groups (default: what the model's stage-1 objective trains). */
  readonly stage1Groups?: readonly string[];
}

/**
 * DocRE-II's two stages. `model` is the one whose stage is switched (it may differ from what the
 * trainer is given, e.g. a wrapper that also saves the encoder); it is checked when a stage starts.
 */
export function twoStages(model: DocREModel, o: TwoStageOptions): TrainStage[] {
  const staged = (): StagedModel => {
    if (!isStagedModel(model))
      throw new ArgumentError('twoStages model', 'a staged model (setStage, e.g. DocRE-II)', model.name);
    return model;
  };
  const inference = o.inferenceLrScale ?? 1;
  const base = o.baseLrScale;
  const inStage1 = o.stage1Groups;
  // an lr scale only where some kept group's differs from 1
  const scaled = base === 0 ? inference !== 1 : inference !== 1 || base !== 1;
  return [
    {
      epochs: o.stage1Epochs,
      onStart: () => staged().setStage(1),
      ...(inStage1 ? { trainable: (_n: string, g: string | undefined) => inStage1.includes(g ?? '') } : {}),
    },
    {
      epochs: o.stage2Epochs,
      onStart: () => staged().setStage(2),
      ...(base === 0 ? { trainable: (_n: string, g: string | undefined) => g === 'inference' } : {}),
      ...(scaled
        ? { lrScale: (_n: string, g: string | undefined) => (g === 'inference' ? inference : base) }
        : {}),
    },
  ];
}

/** GTN's discriminator step (SA-KD) over `model.discriminatorVariables()`. */
export function discriminatorStep(
  model: DocREModel,
  o: { readonly lr: number; readonly epsilon?: number; readonly weightDecay?: number },
): ExtraStep {
  if (!isAdversarialModel(model))
    throw new ArgumentError('discriminatorStep model', 'a model with a discriminator (e.g. GTN)', model.name);
  const variables = model.discriminatorVariables();
  const optimizer = new AdamW(
    [{ variables, lr: o.lr, ...(o.weightDecay === undefined ? {} : { weightDecay: o.weightDecay }) }],
    o.epsilon === undefined ? {} : { epsilon: o.epsilon },
  );
  return { optimizer, lossKey: 'discriminator', variables };
}

/**
 * The schedule a paper model's preset implies.
 * - DocRE-II: stage 1 for `epochs`, stage 2 for `stage2Epochs` (default: the preset's 30 : 15
 *   ratio), the preset's stage-2 lrs (inference 1e-4, base 1e-5) relative to `headLr`.
 * - GTN: the discriminator step at the preset's lr, no decay.
 * Other models: a single stage (`{}`).
 */
export function paperSchedule(
  name: string,
  model: DocREModel,
  o: { readonly epochs: number; readonly stage2Epochs?: number; readonly headLr: number },
): { stages?: TrainStage[]; extraSteps?: ExtraStep[] } {
  const preset = modelSpecOf(name).preset.training;
  if (name === 'docreii' && preset.stage2 && isStagedModel(model)) {
    const s2 = preset.stage2;
    return {
      stages: twoStages(model, {
        stage1Epochs: o.epochs,
        stage2Epochs: o.stage2Epochs ?? Math.max(1, Math.round((o.epochs * s2.epochs) / preset.epochs)),
        inferenceLrScale: s2.inferenceLr / o.headLr,
        baseLrScale: s2.baseLr / o.headLr,
      }),
    };
  }
  if (name === 'gtn' && isAdversarialModel(model) && model.discriminatorVariables().length > 0)
    return {
      extraSteps: [
        discriminatorStep(model, {
          lr: preset.discriminatorLr ?? o.headLr,
          epsilon: preset.adamEpsilon,
          weightDecay: 0,
        }),
      ],
    };
  return {};
}

/** The paper's training hyperparameters for a model name (an unknown name is an error listing the names). */
export function trainingPreset(name: string): TrainingPreset {
  return modelSpecOf(name).preset.training;
}
