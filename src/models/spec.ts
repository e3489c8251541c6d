/**
 * `ModelSpec`: one place per paper model for its name, typed defaults, paper preset, config
 * resolution, construction and loading. `resolve` runs once (in the model's constructor): it fills
 * every default, validates, and rejects unknown keys; its result is `model.config`, which is what
 * `save` writes, so a checkpoint says which values were in force.
 *
 * @example
 * ATLOP_SPEC.resolve({ hiddenSize: 512, numClasses: 97 }); // {..., embSize: 768, blockSize: 64, topK: 4, seed: 0}
 * ATLOP_SPEC.resolve({ hiddenSize: 512, numClasses: 97, embsize: 8 }); // ArgumentError naming 'embsize'
 */
import { ArgumentError } from '../core/errors.js';
import { loadInto, type BaseModel, type CommonModelConfig } from './base.js';
import type { DocREModel, ModelName } from './types.js';

/** The training schedule of a paper (DocRED, BERT-base). Learning rates are AdamW's. */
export interface TrainingPreset {
  readonly epochs: number;
  readonly batchSize: number;
  /** lr of the encoder's parameters */
  readonly encoderLr: number;
  /** lr of everything else */
  readonly headLr: number;
  readonly warmupRatio: number;
  readonly maxGradNorm: number;
  readonly adamEpsilon: number;
  readonly weightDecay: number;
  /** DocRE-II: the second stage (inference module). */
  readonly stage2?: { readonly epochs: number; readonly baseLr: number; readonly inferenceLr: number };
  /** GTN: the discriminator's optimizer lr (SA-KD). */
  readonly discriminatorLr?: number;
}

/** A paper preset: model hyperparameters (a partial config) and the training schedule. */
export interface ModelPreset<C = Readonly<Record<string, unknown>>> {
  readonly model: Readonly<Partial<C>>;
  readonly training: TrainingPreset;
  /** Where the numbers come from, and which ones are not stated by the paper. */
  readonly notes: string;
}

/** A config with every default filled in (`seed` included). */
export type Resolved<C extends CommonModelConfig> = Required<Omit<C, 'encoder'>> & Pick<C, 'encoder'>;

type Loadable = DocREModel & Pick<BaseModel<CommonModelConfig>, 'loadWeights'>;

/** What the registry knows about one paper model. */
export interface ModelSpec<C extends CommonModelConfig = CommonModelConfig, M extends Loadable = Loadable> {
  readonly name: ModelName;
  readonly preset: ModelPreset<C>;
  /** Every default filled in, validated; unknown keys are an error naming them. */
  resolve(config: C): Resolved<C>;
  /** `new Model(config)` (the class defaults; the preset is applied by `createModel`). */
  create(config: C): M;
  /** The model `save(dir)` wrote into `dir` (its name must be this spec's); `overrides` win over the saved config. */
  load(dir: string, overrides?: Partial<CommonModelConfig>): Promise<M>;
}

const COMMON_KEYS = ['hiddenSize', 'numClasses', 'seed', 'encoder'] as const;

/**
 * Builds a spec from the model's own keys: `defaults(config)` returns every model-specific key,
 * taking the config's value where given (derived defaults may read other keys); `check`
 * validates the resolved values.
 */
export function modelSpec<C extends CommonModelConfig, M extends Loadable>(s: {
  readonly name: ModelName;
  readonly preset: ModelPreset<C>;
  readonly defaults: (c: C) => Required<Omit<C, keyof CommonModelConfig>>;
  readonly check?: (r: Resolved<C>) => void;
  readonly create: (c: C) => M;
}): ModelSpec<C, M> {
  return {
    name: s.name,
    preset: s.preset,
    create: s.create,
    load: (dir, overrides = {}) => loadInto(dir, s.name, (c) => s.create(c as unknown as C), overrides),
    resolve(config: C): Resolved<C> {
      const own = s.defaults(config);
      const known = new Set<string>([...COMMON_KEYS, ...Object.keys(own)]);
      const unknown = Object.keys(config).filter((k) => !known.has(k));
      if (unknown.length > 0)
        throw new ArgumentError(
          `${s.name} config: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}`,
          `keys among ${[...known].join(', ')}`,
          unknown.length > 1 ? unknown : unknown[0],
        );
      const { encoder } = config;
      const r = {
        hiddenSize: config.hiddenSize,
        numClasses: config.numClasses,
        seed: config.seed ?? 0,
        ...own,
        ...(encoder ? { encoder } : {}),
      } as unknown as Resolved<C>;
      s.check?.(r);
      return r;
    },
  };
}

/** The AdamW settings the five papers share (warmup 6 %, clip 1, eps 1e-6, no decay). */
export const PAPER_COMMON = { warmupRatio: 0.06, maxGradNorm: 1, adamEpsilon: 1e-6, weightDecay: 0 } as const;
