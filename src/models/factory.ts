/**
 * The model registry (`MODEL_SPECS`, one `ModelSpec` per paper model, defined beside its class),
 * the paper presets and the factory that the library, the CLI and the examples share.
 *
 * A preset is what the paper (and, where it exists, the official code) uses on DocRED with
 * BERT-base: the model hyperparameters (the class defaults already are these; they are listed in
 * the spec so a preset can be read in one place) and the training schedule the trainer / CLI
 * apply (`src/train/schedules.ts`). Values the paper does not state are said so in `notes`.
 *
 * @example
 * const model = createModel('atlop', { hiddenSize: 768, numClasses: 97 }); // ATLOP preset
 * PRESETS.atlop.training.headLr; // 1e-4
 * const again = await loadModel('ckpt/'); // whichever model was saved there
 */
import { ArgumentError } from '../core/errors.js';
import { ATLOP_SPEC } from './atlop.js';
import { DOCUNET_SPEC } from './docunet.js';
import { DREMIR_SPEC } from './dremir.js';
import { DOCREII_SPEC } from './docreii.js';
import { GTN_SPEC } from './gtn.js';
import { readCheckpoint, type CommonModelConfig } from './base.js';
import type { ModelSpec } from './spec.js';
import { MODEL_NAMES, type DocREModel, type ModelName } from './types.js';

export type { ModelPreset, ModelSpec, TrainingPreset } from './spec.js';

/** The registry: one spec per paper model, keyed by its name. */
export const MODEL_SPECS = {
  atlop: ATLOP_SPEC,
  docunet: DOCUNET_SPEC,
  dremir: DREMIR_SPEC,
  gtn: GTN_SPEC,
  docreii: DOCREII_SPEC,
} as const satisfies Record<ModelName, { readonly name: ModelName }>;

/** The paper presets by model name (each spec's `preset`). */
export const PRESETS = Object.fromEntries(MODEL_NAMES.map((n) => [n, MODEL_SPECS[n].preset])) as {
  readonly [K in ModelName]: (typeof MODEL_SPECS)[K]['preset'];
};

type AnyConfig = CommonModelConfig & Record<string, unknown>;

/** The spec of a model name; an unknown name is an error listing the names. */
export function modelSpecOf(name: string): ModelSpec<AnyConfig> {
  if (!(MODEL_NAMES as readonly string[]).includes(name))
    throw new ArgumentError('model name', MODEL_NAMES.join(' | '), name);
  return MODEL_SPECS[name as ModelName] as unknown as ModelSpec<AnyConfig>;
}

/**
 * A model with its paper preset; `config` (at least `hiddenSize`, `numClasses`) overrides it.
 * Unknown keys are an error naming them.
 * @example
 * const small = createModel('docreii', { hiddenSize: 512, numClasses: 97, pairSize: 128 });
 */
export function createModel(name: string, config: AnyConfig): DocREModel {
  const spec = modelSpecOf(name);
  return spec.create({ ...spec.preset.model, ...config });
}

/** The config `createModel(name, config)` builds with: preset and class defaults filled in, validated. */
export function resolveConfig(
  name: string,
  config: AnyConfig,
): Record<string, unknown> & Required<Omit<CommonModelConfig, 'encoder'>> & { topK: number } {
  const spec = modelSpecOf(name);
  return spec.resolve({ ...spec.preset.model, ...config }) as ReturnType<typeof resolveConfig>;
}

/** Loads whichever model `model.save(dir)` wrote into `dir`. */
export async function loadModel(
  dir: string,
  overrides: Partial<CommonModelConfig> = {},
): Promise<DocREModel> {
  const { json } = await readCheckpoint(dir);
  return modelSpecOf(json.name).load(dir, overrides);
}
