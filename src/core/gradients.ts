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

/** A nested record / array of tensors (a layer's parameters) and how to rebuild it from a flat list. */
export function flattenTensors<T>(tree: T): {
  tensors: tf.Tensor[];
  rebuild: (ts: readonly tf.Tensor[]) => T;
} {
  const tensors: tf.Tensor[] = [];
  const walk = (node: unknown): unknown => {
    if (node instanceof tf.Tensor) return tensors.push(node) - 1;
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object')
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    return { leaf: node };
  };
  const shape = walk(tree);
  const build = (node: unknown, ts: readonly tf.Tensor[]): unknown => {
    if (typeof node === 'number') return ts[node];
    if (Array.isArray(node)) return node.map((n) => build(n, ts));
    const o = node as Record<string, unknown>;
    if ('leaf' in o && Object.keys(o).length === 1) return o['leaf'];
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, build(v, ts)]));
  };
  return { tensors, rebuild: (ts) => build(shape, ts) as T };
}

interface TapeState {
  activeTape: unknown;
}

/**
 * Gradient checkpointing: `f(...inputs)` whose forward pass keeps no intermediate tensors — only
 * its inputs — and whose backward pass runs `f` again under a tape of its own to get the
 * gradients of every input (pass a layer's parameters as inputs too). Same values and gradients
 * as `f` itself for a deterministic `f`; costs one more forward pass of `f` in the backward pass,
 * and saves the memory of all its intermediates (tfjs otherwise keeps every tensor made inside a
 * gradient scope until the backward pass ends). Stacks of blocks (I-MSA / ECA layers) then peak
 * at their inputs plus one block's intermediates.
 *
 * The backward pass nests a gradient computation inside tfjs' own backward pass; tfjs 4.22 keeps
 * one active tape per engine, so the outer one is saved and restored around the inner one.
 * @example
 * const { tensors, rebuild } = flattenTensors(params);
 * const y = recompute((x, m, ...p) => inferenceEncoder(x, m, rebuild(p)), [x, pairMask, ...tensors]);
 */
export function recompute(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: readonly tf.Tensor[]): tf.Tensor {
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const xs = args as tf.Tensor[];
    save(xs);
    return {
      value: f(...xs),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const engine = tf.engine();
        const state = (engine as unknown as { state: TapeState }).state;
        const outer = state.activeTape;
        try {
          const { grads } = engine.gradients(() => f(...saved), saved, dy as tf.Tensor, true);
          return saved.map((x, i) => grads[i] ?? tf.zerosLike(x));
        } finally {
          state.activeTape = outer;
        }
      },
    };
  });
  return run(...inputs);
}
