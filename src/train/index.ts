/** train: AdamW with parameter groups, schedules, clipping, accumulation, checkpoints, Trainer. */
export * from './adamw.js';
export * from './schedule.js';
export * from './clip.js';
export * from './accumulate.js';
export * from './rng.js';
export * from './checkpoint.js';
export * from './progress.js';
export type { TrainableModel, EvalMetrics, VariableFilter } from './types.js';
export * from './trainer.js';
export * from './schedules.js';
