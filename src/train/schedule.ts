/**
 * Learning-rate schedules as multipliers of each parameter group's base rate (the `lrScale` of
 * `AdamW.applyGradients`). `linearWarmupDecay` is `transformers.get_linear_schedule_with_warmup`,
 * which ATLOP and its successors use with a warmup ratio of 6 %.
 */
import { ArgumentError } from '../core/errors.js';

/** A schedule maps the optimizer step (0-based: the number of updates already made) to an lr multiplier. */
export type Schedule = (step: number) => number;

/**
 * Linear warmup from 0 to 1 over `round(warmupRatio · totalSteps)` steps, then linear decay to 0
 * at `totalSteps`:
 *   scale(t) = t / W                     for t < W
 *   scale(t) = max(0, (T − t) / (T − W))  otherwise
 *
 * @example
 * const s = linearWarmupDecay(100, 0.06); // s(0) = 0, s(3) = 0.5, s(6) = 1, s(53) = 0.5, s(100) = 0
 */
export function linearWarmupDecay(totalSteps: number, warmupRatio = 0.06): Schedule {
  if (!(Number.isInteger(totalSteps) && totalSteps > 0))
    throw new ArgumentError('totalSteps', 'an integer > 0', totalSteps);
  if (!(warmupRatio >= 0 && warmupRatio <= 1))
    throw new ArgumentError('warmupRatio', 'a number in [0, 1]', warmupRatio);
  const warmup = Math.round(warmupRatio * totalSteps);
  return (step: number) => {
    if (step < warmup) return step / Math.max(1, warmup);
    return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmup));
  };
}

/** The constant schedule (multiplier 1). */
export const constantSchedule: Schedule = () => 1;
