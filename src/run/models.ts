/**
 * Models for the CLI and `Extractor`: `createModel` / `loadModel` of src/models (the registry and its paper
 * presets) with their errors as one-line `CliError`s. The schedules are src/train/schedules.ts'.
 */
import { createModel, loadModel } from '../models/factory.js';
import type { CommonModelConfig, DocREModel } from '../models/index.js';
import { CliError } from '../core/errors.js';

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
