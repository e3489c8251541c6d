/**
 * Gradient accumulation: sums the gradients of k micro-batches, each scaled by 1/k, so that k
 * micro-batches of equal size give the gradient of their mean loss — the same update as one
 * batch k times larger (ATLOP's `loss / gradient_accumulation_steps`).
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../core/errors.js';
import type { NamedGrads } from './clip.js';

/**
 * @example
 * const acc = new GradientAccumulator(4);
 * for (const mb of microBatches) { const { grads } = tf.variableGrads(f(mb)); acc.add(grads); tf.dispose(grads); }
 * const g = acc.take(); opt.applyGradients(g); tf.dispose(g);
 */
export class GradientAccumulator {
  private sum: NamedGrads = {};
  private n = 0;

  constructor(readonly steps: number) {
    if (!(Number.isInteger(steps) && steps >= 1)) throw new ArgumentError('steps', 'an integer >= 1', steps);
  }

  /** Micro-batches added since the last `take`. */
  get count(): number {
    return this.n;
  }

  /** True when `steps` micro-batches have been added. */
  get ready(): boolean {
    return this.n >= this.steps;
  }

  /** Adds grads / steps to the running sum (null gradients are skipped; inputs are not disposed). */
  add(grads: Readonly<Record<string, tf.Tensor | null | undefined>>): void {
    for (const [name, g] of Object.entries(grads)) {
      if (g == null) continue;
      const prev = this.sum[name];
      this.sum[name] = tf.tidy(() => (prev ? prev.add(g.div(this.steps)) : g.div(this.steps)));
      prev?.dispose();
    }
    this.n += 1;
  }

  /** Returns the accumulated gradients (caller owns them) and resets. */
  take(): NamedGrads {
    const out = this.sum;
    this.sum = {};
    this.n = 0;
    return out;
  }

  /** Drops what was accumulated. */
  reset(): void {
    tf.dispose(Object.values(this.sum));
    this.sum = {};
    this.n = 0;
  }
}
