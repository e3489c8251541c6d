/**
 * What the trainer needs from a model: the part of `DocREModel` (src/models/types.ts, DESIGN.md)
 * used for training, so tests and user models can be trained without implementing `predict` or
 * a model name. Every `DocREModel` satisfies `TrainableModel`.
 */
import type * as tf from '@tensorflow/tfjs';
import type { DocREModel } from '../models/types.js';

export type { DocREModel, ModelInput, ForwardOutput } from '../models/types.js';

/** `forward`, `trainableVariables`, `save` (and optionally `variableGroups`, `namedVariables`) of `DocREModel`. */
export type TrainableModel = Pick<DocREModel, 'forward' | 'trainableVariables' | 'save'> &
  Partial<Pick<DocREModel, 'variableGroups' | 'namedVariables'>>;

/** Dev-set scores returned by the evaluation callback (fractions in [0, 1]); `f1` picks the best checkpoint. */
export interface EvalMetrics {
  readonly f1: number;
  readonly [metric: string]: number;
}

/** Per-variable predicate for stages: the variable's name and its role from `variableGroups()`. */
export type VariableFilter = (name: string, group: string | undefined, variable: tf.Variable) => boolean;
