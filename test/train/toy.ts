/**
 * A toy `TrainableModel` for trainer tests: a linear pair classifier `logits = f·W + c` over
 * pair features `f [b,e,e,d]` (carried in `hidden [b, e·e, d]`), trained with a masked sigmoid
 * cross-entropy, plus a tiny "discriminator" vector for the extra-step tests. Items come from a
 * fixed linear teacher, so the loss can fall. Everything is seeded: two processes building
 * `new ToyModel(seed)` get the same initial weights.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { TrainableModel } from '../../src/train/index.js';
import type { ModelInput } from '../../src/models/types.js';
import { stopGradient } from '../../src/core/ops.js';
import { seededArray } from '../helpers.js';

export const E = 3;
export const D = 4;
export const R = 3;

export interface ToyItem {
  readonly x: Float32Array; // [e, e, d]
  readonly y: Float32Array; // [e, e, r]
}

export function toyItems(count: number, seed: number): ToyItem[] {
  const teacher = seededArray(D * R, 999, 2);
  return Array.from({ length: count }, (_, i) => {
    const x = seededArray(E * E * D, seed * 1000 + i);
    const y = new Float32Array(E * E * R);
    for (let p = 0; p < E * E; p++)
      for (let r = 0; r < R; r++) {
        let s = 0;
        for (let k = 0; k < D; k++) s += x[p * D + k]! * teacher[k * R + r]!;
        y[p * R + r] = s > 0 ? 1 : 0;
      }
    return { x, y };
  });
}

export function toyCollate(items: readonly ToyItem[]): ModelInput {
  const b = items.length;
  const cat = (xs: Float32Array[]) => {
    const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
    let at = 0;
    for (const x of xs) {
      out.set(x, at);
      at += x.length;
    }
    return out;
  };
  const pairMask = tf.tidy(() => tf.sub(1, tf.eye(E)).expandDims(0).tile([b, 1, 1])) as tf.Tensor3D;
  return {
    hidden: tf.tensor3d(cat(items.map((i) => i.x)), [b, E * E, D]),
    attention: tf.zeros([b, 1, 1, 1]) as tf.Tensor4D,
    mentionIndex: tf.zeros([b, E, 1], 'int32') as tf.Tensor3D,
    mentionMask: tf.ones([b, E, 1]) as tf.Tensor3D,
    entityMask: tf.ones([b, E]) as tf.Tensor2D,
    pairMask,
    labels: tf.tensor4d(cat(items.map((i) => i.y)), [b, E, E, R]),
  };
}

export class ToyModel implements TrainableModel {
  readonly w: tf.Variable;
  readonly c: tf.Variable;
  /** A scalar "discriminator" trained only by the `disc` loss in extra-step tests. */
  readonly disc: tf.Variable;

  constructor(seed = 1) {
    this.w = tf.variable(tf.tensor2d(seededArray(D * R, seed, 0.1), [D, R]), true);
    this.c = tf.variable(tf.zeros([R]), true);
    this.disc = tf.variable(tf.tensor1d([0.5]), true);
  }

  forward(batch: ModelInput, _options?: { training?: boolean }) {
    return tf.tidy(() => {
      const h = batch.hidden!;
      const [b] = h.shape;
      const logits = h
        .reshape([b * E * E, D])
        .matMul(this.w)
        .add(this.c)
        .reshape([b, E, E, R]) as tf.Tensor4D;
      const losses: Record<string, tf.Scalar> = {};
      if (batch.labels) {
        const mask = batch.pairMask.expandDims(-1).tile([1, 1, 1, R]);
        const bce = tf.losses.sigmoidCrossEntropy(batch.labels, logits, mask) as tf.Scalar;
        // the discriminator objective: pull disc toward the mean logit (depends on disc and the heads)
        const disc = tf.square(this.disc.sub(stopGradient(logits.mean()))).sum() as tf.Scalar;
        losses['bce'] = bce;
        losses['disc'] = disc;
        losses['total'] = bce;
      }
      return { logits, losses };
    });
  }

  trainableVariables(): tf.Variable[] {
    return [this.w, this.c];
  }

  variableGroups(): Record<string, tf.Variable[]> {
    return { heads: [this.w], bias: [this.c], discriminator: [this.disc] };
  }

  async save(dir: string): Promise<void> {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'weights.json'), JSON.stringify(this.snapshot()));
  }

  snapshot(): { w: number[]; c: number[]; disc: number[] } {
    return {
      w: Array.from(this.w.dataSync()),
      c: Array.from(this.c.dataSync()),
      disc: Array.from(this.disc.dataSync()),
    };
  }
}
