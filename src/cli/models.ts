/**
 * Models for the CLI: `createModel` / `loadModel` / `PRESETS` of src/models (the paper presets),
 * the training options each preset implies, and the schedules the papers use: DocRE-II's two
 * stages and GTN's discriminator step.
 */
import type * as tf from '@tensorflow/tfjs';
import { PRESETS, createModel, loadModel, type TrainingPreset } from '../models/factory.js';
import type { CommonModelConfig, DocREModel, ModelName } from '../models/index.js';
import { AdamW } from '../train/adamw.js';
import type { ExtraStep, TrainStage } from '../train/trainer.js';
import { CliError } from './args.js';

/** A new model with its paper preset; `config` (hiddenSize, numClasses, overrides) wins. */
export function createPresetModel(
  name: string,
  config: CommonModelConfig & Record<string, unknown>,
): DocREModel {
  try {
    return createModel(name, config);
  } catch (e) {
    throw new CliError(`cannot build model '${name}': ${(e as Error).message}`);
  }
}

/** Loads whichever model `model.save(dir)` wrote into `dir`. */
export async function loadSavedModel(dir: string): Promise<DocREModel> {
  try {
    return await loadModel(dir);
  } catch (e) {
    throw new CliError(`cannot load the model in '${dir}': ${(e as Error).message.split('\n')[0]}`);
  }
}

/** The paper's training hyperparameters for a model name. */
export function trainingPreset(name: string): TrainingPreset {
  const p = PRESETS[name as ModelName];
  if (!p) throw new CliError(`unknown model '${name}'`);
  return p.training;
}

/**
 * The paper's schedule as Trainer options.
 * - DocRE-II: stage 1 trains the base module (`setStage(1)`) for `epochs`; stage 2
 *   (`setStage(2)`) trains for `stage2Epochs` with the inference module at its lr and the base at
 *   the preset's small lr (`stage2.baseLr`; 0 freezes it), both relative to `headLr`.
 * - GTN: a second AdamW minimises `losses.discriminator` over `variableGroups().discriminator`
 *   after every batch (SA-KD), at the preset's discriminator lr.
 * Other models: a single stage.
 */
export function paperSchedule(
  name: string,
  model: DocREModel,
  o: { readonly epochs: number; readonly stage2Epochs?: number; readonly headLr: number },
): { stages?: TrainStage[]; extraSteps?: ExtraStep[] } {
  const preset = trainingPreset(name);
  const groups = model.variableGroups();
  const staged = model as DocREModel & { setStage?: (s: 1 | 2) => void };
  if (name === 'docreii' && preset.stage2 && staged.setStage) {
    const s2 = preset.stage2;
    const stage2Epochs = o.stage2Epochs ?? Math.max(1, Math.round((o.epochs * s2.epochs) / preset.epochs));
    const scale = (_n: string, g: string | undefined) =>
      (g === 'inference' ? s2.inferenceLr : s2.baseLr) / o.headLr;
    return {
      stages: [
        { epochs: o.epochs, onStart: () => staged.setStage!(1) },
        {
          epochs: stage2Epochs,
          onStart: () => staged.setStage!(2),
          ...(s2.baseLr === 0 ? { trainable: (_n: string, g: string | undefined) => g === 'inference' } : {}),
          lrScale: scale,
        },
      ],
    };
  }
  const disc: tf.Variable[] = groups['discriminator'] ?? [];
  if (name === 'gtn' && disc.length > 0) {
    const optimizer = new AdamW(
      [{ variables: disc, lr: preset.discriminatorLr ?? o.headLr, weightDecay: 0 }],
      {
        epsilon: preset.adamEpsilon,
      },
    );
    return { extraSteps: [{ optimizer, lossKey: 'discriminator', variables: disc }] };
  }
  return {};
}
