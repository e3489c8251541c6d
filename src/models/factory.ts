/**
 * Paper presets and the model factory.
 *
 * A preset is what the paper (and, where it exists, the official code) uses on DocRED with
 * BERT-base: the model hyperparameters (the class defaults already are these; they are listed here
 * so a preset can be read in one place) and the training schedule the trainer/CLI should apply.
 * Values the paper does not state are marked `(not stated: …)` in `notes`.
 *
 * @example
 * const model = createModel('atlop', { hiddenSize: 768, numClasses: 97 }); // ATLOP preset
 * PRESETS.atlop.training.headLr; // 1e-4
 * const again = await loadModel('ckpt/'); // whichever model was saved there
 */
import { ArgumentError } from '../core/errors.js';
import { ATLOPModel } from './atlop.js';
import { DocuNetModel } from './docunet.js';
import { DREMIRModel } from './dremir.js';
import { DocREIIModel } from './docreii.js';
import { GTNModel } from './gtn.js';
import { readCheckpoint, type CommonModelConfig } from './base.js';
import type { DocREModel, ModelName } from './types.js';

export const MODEL_NAMES: readonly ModelName[] = ['atlop', 'docunet', 'dremir', 'gtn', 'docreii'];

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

export interface ModelPreset {
  readonly model: Readonly<Record<string, unknown>>;
  readonly training: TrainingPreset;
  /** Where the numbers come from, and which ones are not stated by the paper. */
  readonly notes: string;
}

const common = { warmupRatio: 0.06, maxGradNorm: 1, adamEpsilon: 1e-6, weightDecay: 0 } as const;

export const PRESETS: Readonly<Record<ModelName, ModelPreset>> = {
  atlop: {
    model: { embSize: 768, blockSize: 64, topK: 4 },
    training: { ...common, epochs: 30, batchSize: 4, encoderLr: 5e-5, headLr: 1e-4 },
    notes:
      'ATLOP paper §4.1 and official run_bert.sh (emb 768, block 64, 30 epochs, batch 4, lr 5e-5 / 1e-4, warmup 6 %, clip 1, eps 1e-6); decode top-4 (official get_label num_labels=4).',
  },
  docunet: {
    model: { unetIn: 3, unetChannels: 256, unetOut: 256, embSize: 768, blockSize: 64, topK: 3 },
    training: { ...common, epochs: 30, batchSize: 2, encoderLr: 2e-5, headLr: 2e-5 },
    notes:
      'DocuNet paper §4.2 (lr 2e-5 with 6 % warmup, N = 42, context-based map) and DESIGN.md (U-Net 256/512, out 256, decode top-3); batch size not stated in the paper: 2; one lr for all parameters as the paper states.',
  },
  dremir: {
    model: { pairSize: 768, numLayers: 3, maskRatio: 0.2, klWeight: 1, topK: 4 },
    training: { ...common, epochs: 30, batchSize: 4, encoderLr: 5e-5, headLr: 1e-4 },
    notes:
      'DRE-MIR §3.2 (3 inference layers, 20 % masking, α = β = 1, warmup 6 %); pair width, epochs, batch size and lrs are not stated for DocRED (no public code): ATLOP values used.',
  },
  gtn: {
    model: { numLayers: 2, reconstructionWeight: 0.1, adversarialWeight: 0.01, nodeMaskRatio: 0.2, topK: 4 },
    training: {
      ...common,
      weightDecay: 1e-4,
      epochs: 30,
      batchSize: 4,
      encoderLr: 5e-5,
      headLr: 1e-4,
      discriminatorLr: 1e-4,
    },
    notes:
      'DocRE-BSI §2.3/§3.2 (α = 0.1, β = 0.01, weight decay 1e-4, warmup 6 %, 20 % masked mention nodes per DESIGN.md); layer count L = 2 and lrs / epochs not stated in the text: ATLOP values used.',
  },
  docreii: {
    model: { pairSize: 768, numLayers: 2, iterations: 3, noiseMax: 0.4, contrastWeight: 1, topK: 4 },
    training: {
      ...common,
      epochs: 30,
      batchSize: 8,
      encoderLr: 5e-5,
      headLr: 1e-4,
      stage2: { epochs: 15, baseLr: 1e-5, inferenceLr: 1e-4 },
    },
    notes:
      'DocRE-II §3.2–3.4 and Table 7 (BERT, DocRED): N_I = 2, K = 3, noise U(0, 0.4); stage 1: 30 epochs, batch 8, lr 5e-5 / 1e-4; stage 2: 15 epochs, base 1e-5, inference 1e-4.',
  },
};

type AnyConfig = CommonModelConfig & Record<string, unknown>;
const CLASSES = {
  atlop: ATLOPModel,
  docunet: DocuNetModel,
  dremir: DREMIRModel,
  gtn: GTNModel,
  docreii: DocREIIModel,
} as const satisfies Record<ModelName, unknown>;

function checkName(name: string): ModelName {
  if (!(MODEL_NAMES as readonly string[]).includes(name))
    throw new ArgumentError('model name', MODEL_NAMES.join(' | '), name);
  return name as ModelName;
}

/**
 * A model with its paper preset; `config` (at least `hiddenSize`, `numClasses`) overrides it.
 * @example
 * const small = createModel('docreii', { hiddenSize: 512, numClasses: 97, pairSize: 128 });
 */
export function createModel(name: string, config: AnyConfig): DocREModel {
  const n = checkName(name);
  const Cls = CLASSES[n] as unknown as new (c: AnyConfig) => DocREModel;
  return new Cls({ ...PRESETS[n].model, ...config });
}

/** Loads whichever model `model.save(dir)` wrote into `dir`. */
export async function loadModel(
  dir: string,
  overrides: Partial<CommonModelConfig> = {},
): Promise<DocREModel> {
  const { json } = await readCheckpoint(dir);
  const Cls = CLASSES[checkName(json.name)] as unknown as {
    load(d: string, o: Partial<CommonModelConfig>): Promise<DocREModel>;
  };
  return Cls.load(dir, overrides);
}
