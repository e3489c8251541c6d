/**
 * Model construction for the CLI: the paper preset of each model name (the class defaults are the
 * official code's), loading a saved model by the name in its `model.json`, and the training
 * schedule each paper uses (DocRE-II's two stages, GTN's discriminator step).
 *
 * Until `src/models` exports its own `createModel` / `loadModel` factories, this file dispatches
 * over the model classes it exports; a name whose class is not exported yet is a clear error.
 */
import * as models from '../models/index.js';
import type { CommonModelConfig, DocREModel } from '../models/index.js';
import type { TrainStage, ExtraStep } from '../train/trainer.js';
import { CliError } from './args.js';

type ModelClass = {
  new (config: CommonModelConfig & Record<string, unknown>): DocREModel;
  load(dir: string, overrides?: Partial<CommonModelConfig>): Promise<DocREModel>;
};

const CLASS_NAMES: Record<string, string> = {
  atlop: 'ATLOPModel',
  docunet: 'DocuNetModel',
  dremir: 'DREMIRModel',
  gtn: 'GTNModel',
  docreii: 'DocREIIModel',
};

function modelClass(name: string): ModelClass {
  const cls = (models as unknown as Record<string, ModelClass | undefined>)[CLASS_NAMES[name] ?? ''];
  if (!cls) throw new CliError(`model '${name}' is not available in this build of docre-kit (no ${CLASS_NAMES[name] ?? name} in src/models)`);
  return cls;
}

/** A new model with its paper preset; `extra` (e.g. seed) is passed to the config. */
export function createPresetModel(name: string, config: CommonModelConfig & Record<string, unknown>): DocREModel {
  const factory = (models as unknown as Record<string, unknown>)['createModel'] as
    | ((n: string, c: CommonModelConfig & Record<string, unknown>) => DocREModel)
    | undefined;
  try {
    return factory ? factory(name, config) : new (modelClass(name))(config);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot build model '${name}': ${(e as Error).message}`);
  }
}

/** Loads a model saved by `model.save(dir)`, dispatching on the name in `dir/model.json`. */
export async function loadSavedModel(dir: string): Promise<DocREModel> {
  let name: string;
  try {
    ({ json: { name } } = await models.readCheckpoint(dir));
  } catch (e) {
    throw new CliError(`cannot load the model in '${dir}': ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    return await modelClass(name).load(dir);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot load the model in '${dir}': ${(e as Error).message}`);
  }
}

/**
 * The paper's training schedule as Trainer options: DocRE-II trains the base (`setStage(1)`) for
 * the first half of the epochs, then the inference module (`setStage(2)`) with the base frozen;
 * GTN adds a discriminator step on its `discriminator` group and `disc` loss. Other models: plain.
 */
export function paperSchedule(
  name: string,
  model: DocREModel,
  epochs: number,
  makeOptimizer: (vars: import('@tensorflow/tfjs').Variable[]) => ExtraStep['optimizer'],
): { stages?: TrainStage[]; extraSteps?: ExtraStep[] } {
  const groups = model.variableGroups();
  const staged = model as DocREModel & { setStage?: (s: 1 | 2) => void };
  if (name === 'docreii' && groups['inference'] && staged.setStage && epochs >= 2) {
    const first = Math.ceil(epochs / 2);
    return {
      stages: [
        { epochs: first, onStart: () => staged.setStage!(1) },
        { epochs: epochs - first, onStart: () => staged.setStage!(2), trainable: (_n, g) => g === 'inference' },
      ],
    };
  }
  if (name === 'gtn' && groups['discriminator']?.length) {
    const vars = groups['discriminator'];
    return { extraSteps: [{ optimizer: makeOptimizer(vars), lossKey: 'discriminator', variables: vars }] };
  }
  return {};
}
