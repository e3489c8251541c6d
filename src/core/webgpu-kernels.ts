/**
 * Kernel fixes for the `webgpu` backend of tfjs 4.22.
 *
 * - `PadV2` at rank ≥ 5 generates WGSL that does not compile (`cannot index type 'vec5'`): Dawn
 *   reports a validation error and the output stays zeros — silently, e.g. the gradient of a
 *   rank-5 `tf.slice`. The override pads a collapsed view instead: axes without padding merge
 *   with the axis before them (`collapsePad`); a pad that still needs rank ≥ 5 throws a clear
 *   error rather than returning zeros.
 *
 * @example
 * registerWebGPUKernels(); // initBackend('webgpu') calls it
 */
import * as tf from '@tensorflow/tfjs';

const MARK = Symbol('docre-kit webgpu kernel');

/**
 * The same pad on the fewest axes: an axis merges with the (merged) axis after it when that one
 * is not padded. Padding `[[0,0],[1,0],[0,0],[0,0],[0,0]]` of a [2, 3, 3, 3, 5] tensor is a
 * `[[0,0],[45,0]]` padding of a [2, 135] view.
 */
export function collapsePad(
  shape: readonly number[],
  paddings: readonly (readonly [number, number])[],
): { shape: number[]; paddings: [number, number][] } {
  const dims: { s: number; p: [number, number] }[] = [];
  for (let i = shape.length - 1; i >= 0; i--) {
    const inner = dims[0];
    const [before, after] = paddings[i]!;
    if (inner && inner.p[0] === 0 && inner.p[1] === 0)
      dims[0] = { s: shape[i]! * inner.s, p: [before * inner.s, after * inner.s] };
    else dims.unshift({ s: shape[i]!, p: [before, after] });
  }
  return { shape: dims.map((d) => d.s), paddings: dims.map((d) => d.p) };
}

/** Registers the fixes above for `webgpu` (idempotent; needs @tensorflow/tfjs-backend-webgpu loaded). */
export function registerWebGPUKernels(): void {
  const original = tf.getKernel('PadV2', 'webgpu') as (tf.KernelConfig & { [MARK]?: true }) | undefined;
  if (!original || original[MARK]) return;
  const pad = original.kernelFunc;
  tf.unregisterKernel('PadV2', 'webgpu');
  tf.registerKernel({
    ...original,
    [MARK]: true,
    kernelFunc: (args) => {
      const x = args.inputs['x']!;
      const paddings = args.attrs!['paddings'] as [number, number][];
      const outShape = x.shape.map((s, i) => s + paddings[i]![0] + paddings[i]![1]);
      const c = collapsePad(x.shape, paddings);
      if (c.shape.length > 4)
        throw new Error(
          `pad on webgpu: [${x.shape.join(', ')}] padded on ${c.shape.length} non-adjacent axes; tfjs 4.22's webgpu Pad compiles up to rank 4`,
        );
      const out = pad({
        ...args,
        inputs: { x: { dataId: x.dataId, shape: c.shape, dtype: x.dtype } },
        attrs: { ...args.attrs, paddings: c.paddings },
      }) as tf.TensorInfo;
      return { ...out, shape: outShape };
    },
  } as tf.KernelConfig);
}
