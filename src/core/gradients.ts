/**
 * Gradient replacements for tfjs 4.22 gradients that are correct but unusable at DocRE sizes.
 * `initBackend` registers them (for every backend) through {@link registerGradientFixes}.
 *
 * - `Tile` (also what `tf.broadcastTo` runs): tfjs' gradient adds one `slice` of dy per
 *   repetition — Π reps slice+add kernels (a `[1,12,512,1] → [1,12,512,512]` broadcast costs 512
 *   of each, 14 s on wasm) — and throws for rank > 4. Here, for each tiled axis i, dy is viewed
 *   as `[Π before, r_i, x_i, Π after]` (a tiled axis is rep-major, element-minor) and summed over
 *   r_i: one reshape and one reduction per tiled axis, any rank, intermediate rank ≤ 4.
 *
 * @example
 * registerGradientFixes(); // idempotent; initBackend() calls it
 */
import * as tf from '@tensorflow/tfjs';

let registered = false;

/** Registers the gradients above (once per process). */
export function registerGradientFixes(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: 'Tile',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as tf.Tensor[];
      const reps = (attrs as { reps: number[] }).reps;
      const g = dy as tf.Tensor;
      return {
        x: () =>
          tf.tidy(() => {
            // one tiled axis at a time, so the rank stays ≤ 4 (webgpu supports up to 6):
            // [.., r·x_i, ..] → [Π before, r, x_i, Π after] → Σ over r → [.., x_i, ..]
            const shape = x!.shape.map((s, i) => s * reps[i]!);
            let out = g;
            x!.shape.forEach((s, i) => {
              if (reps[i]! === 1) return;
              const before = shape.slice(0, i).reduce((a, c) => a * c, 1);
              const after = shape.slice(i + 1).reduce((a, c) => a * c, 1);
              out = out.reshape([before, reps[i]!, s, after]).sum(1);
              shape[i] = s;
            });
            return out.reshape(x!.shape);
          }),
      };
    },
  });
}
