/**
 * Global-norm gradient clipping, as `torch.nn.utils.clip_grad_norm_` (ATLOP clips at 1.0):
 *   norm = √(Σ_i ‖g_i‖²),  g_i ← g_i · min(1, maxNorm / (norm + 1e-6)).
 * Computed without reading the norm back to the CPU, so it does not stall a GPU backend.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../core/errors.js';

export type NamedGrads = Record<string, tf.Tensor>;

/**
 * The clipping coefficient `min(1, maxNorm / (norm + 1e-6))` and the global norm, as scalars
 * (owned by the caller): `clipByGlobalNorm` multiplies every gradient by it.
 */
export function clipCoefficient(grads: Readonly<NamedGrads>, maxNorm: number): { coef: tf.Scalar; norm: tf.Scalar } {
  if (!(maxNorm > 0)) throw new ArgumentError('maxNorm', 'a number > 0', maxNorm);
  const names = Object.keys(grads);
  return tf.tidy(() => {
    const norm: tf.Scalar =
      names.length === 0
        ? tf.scalar(0)
        : tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]!))) as tf.Scalar[]));
    return { coef: tf.minimum(1, tf.div(maxNorm, norm.add(1e-6))) as tf.Scalar, norm };
  });
}

/**
 * Returns new clipped gradients (same keys) and the global norm before clipping; the inputs are
 * not disposed. The caller owns every returned tensor.
 *
 * @example
 * const { grads: clipped, norm } = clipByGlobalNorm(grads, 1.0);
 */
export function clipByGlobalNorm(
  grads: Readonly<NamedGrads>,
  maxNorm: number,
): { grads: NamedGrads; norm: tf.Scalar } {
  const { coef, norm } = clipCoefficient(grads, maxNorm);
  const out: NamedGrads = {};
  for (const n of Object.keys(grads)) out[n] = grads[n]!.mul(coef);
  coef.dispose();
  return { grads: out, norm };
}
