/**
 * Kernels that `@tensorflow/tfjs-backend-wasm` 4.22 lacks or gets wrong, registered so that every
 * layer of docre-kit can be **trained** on wasm (`initBackend('wasm')` calls
 * {@link registerWasmKernels} before the backend starts).
 *
 * What the 4.22 wasm backend registers, compared with cpu (checked with `tf.getKernelsForBackend`):
 *
 * | kernel | status on wasm 4.22 | here |
 * |---|---|---|
 * | `Conv2DBackpropFilter` (gradient of conv2d w.r.t. the filter) | missing | im2col in JS + the wasm `BatchMatMul` (XNNPACK) |
 * | `UnsortedSegmentSum` (gradient of `gather`) | missing | JS scatter-add on the wasm heap |
 * | `GatherV2` with `batchDims > 0` | registered, wrong values (tfjs#8658) | rewritten as a flat gather (`batchDims = 0`) |
 * | `BatchMatMul`, `_FusedMatMul` with `transposeA/B` | correct but 10–35× slower than without (512×512: 34 ms plain, 1.3 s transposeA, 0.35 s transposeB) — every matmul gradient hits it | when m·k·n ≥ 256K, transposed operands are transposed explicitly (wasm `Transpose`), then the fast path |
 * | `BatchMatMul` with batch > 1 | correct but ~10× slower than batch 1 (XNNPACK only serves batch 1: 2×[700,300]·[300,500] takes 600 ms, one [700,300]·[300,500] 30 ms) | large per-batch products run as one batch-1 matmul per batch entry |
 * | `DepthwiseConv2dNativeBackpropFilter` / `…BackpropInput` | missing | cpu kernel on copied data |
 * | `Einsum` | missing (and no gradient on any backend) | cpu kernel on copied data, forward only |
 * | `Conv2DBackpropInput` (gradient of conv2d w.r.t. its input; `conv2dTranspose`) | correct but ~10× slower than the forward conv (U-Net up block dy [1,44,44,256], kernel [3,3,512,256]: 3.4 s against 0.36 s) | stride 1: wasm's own `Conv2D` (XNNPACK) with the flipped, channel-swapped kernel (0.36 s); other strides: wasm `BatchMatMul` dy·Wᵀ + col2im in JS |
 * | `MaxPoolGrad`, `AvgPoolGrad`, `ResizeBilinearGrad`, `FusedBatchNorm` | present and correct (tested against cpu in test/core/wasm-kernels.test.ts) | — |
 * | `Complex`, `FFT`, `Real`, `Imag`, `Ragged*`, `StaticRegexReplace`, `Draw` | missing | not needed by docre-kit; left out |
 *
 * The cpu backend's `UnsortedSegmentSum` is also replaced ({@link registerCpuKernels}): correct,
 * but O(segments · rows · width) — 22 s for one gather gradient at DocRED scale.
 *
 * A "cpu kernel on copied data" reads the wasm inputs, runs tfjs' own cpu kernel on the cpu
 * backend and copies the result back into the wasm heap: exact, but as slow as the cpu backend.
 *
 * @example
 * import { registerWasmKernels } from 'docre-kit';
 * registerWasmKernels(); // before tf.setBackend('wasm'); initBackend('wasm') does it for you
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's `BackendWasm` that the kernels below use. */
interface WasmBackend extends tf.KernelBackend {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.backend_util.TypedArray;
  disposeData(dataId: tf.DataId): boolean;
}

/** One `KernelFunc` call's arguments, with the backend typed as wasm. */
interface Args {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs?: tf.NamedAttrMap;
}

/** Tunables of the kernels below (tests lower `im2colChunk` to exercise the chunked path). */
export const wasmKernelOptions = {
  /** Upper bound (float32 elements) of one im2col / col2im chunk in `Conv2DBackprop*`; default 64 MB. */
  im2colChunk: 16 * 1024 * 1024,
  /** Transposed matmul operands are transposed explicitly when m·k·n per batch entry reaches this. */
  transposeAbove: 256 * 1024,
  /** Batched matmuls with at least this many multiply-adds per batch entry run entry by entry. */
  perBatchAbove: 256 * 1024,
};

/** Names of the kernels {@link registerWasmKernels} registers (or overrides) for wasm. */
export const WASM_KERNELS = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'UnsortedSegmentSum',
  'GatherV2',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'Einsum',
  'BatchMatMul',
  '_FusedMatMul',
  'Slice',
  'SplitV',
  'Transpose',
] as const;

/**
 * Registers the kernels of the table above for the `wasm` backend. Idempotent; call it before the
 * wasm backend is initialised (the `GatherV2` override keeps the original's wasm setup function).
 */
export function registerWasmKernels(): void {
  register('Conv2DBackpropFilter', conv2DBackpropFilter);
  register('Conv2DBackpropInput', conv2DBackpropInput);
  register('UnsortedSegmentSum', unsortedSegmentSum);
  for (const name of ['DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'Einsum'])
    register(name, (args) => onCpu(name, args));
  overrideGather();
  for (const name of ['BatchMatMul', '_FusedMatMul']) overrideTransposedMatMul(name);
  overrideSlice();
  overrideTranspose();
}

const MARK = Symbol('docre-kit wasm kernel');

function register(kernelName: string, fn: (args: Args) => tf.TensorInfo): void {
  const existing = tf.getKernel(kernelName, 'wasm') as (tf.KernelConfig & { [MARK]?: true }) | undefined;
  if (existing?.[MARK]) return;
  if (existing) tf.unregisterKernel(kernelName, 'wasm');
  const config = {
    ...(existing ?? {}),
    kernelName,
    backendName: 'wasm',
    kernelFunc: fn as unknown as tf.KernelFunc,
    [MARK]: true as const,
  };
  tf.registerKernel(config);
}

/**
 * dW[kh,kw,ci,co] = Σ_{b,y,x} xpad[b, y·sh + kh, x·sw + kw, ci] · dy[b,y,x,co]:
 * the im2col matrix `[b·oh·ow, kh·kw·ci]` is built in JS on the wasm heap (in row chunks of at most
 * `wasmKernelOptions.im2colChunk` elements), then `colᵀ · dy` runs on wasm's BatchMatMul. The result rows
 * come out in `[kh, kw, ci]` order, i.e. already the filter layout. NCHW goes to the cpu kernel.
 */
function conv2DBackpropFilter(args: Args): tf.TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const x = inputs['x']!;
  const dy = inputs['dy']!;
  const filterShape = attrs['filterShape'] as [number, number, number, number];
  if (attrs['dataFormat'] === 'NCHW') return onCpu('Conv2DBackpropFilter', args);
  const info = conv2DInfo(x.shape as [number, number, number, number], filterShape, attrs);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const rows = batchSize * outHeight * outWidth;
  const cols = kh * kw * inChannels;
  const chunk = Math.max(
    1,
    Math.min(rows, Math.floor(wasmKernelOptions.im2colChunk / Math.max(cols, outChannels))),
  );
  const matmul = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
  const dW = new Float32Array(cols * outChannels);
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const n = Math.min(chunk, rows - r0);
    const col = backend.makeOutput([1, n, cols], 'float32');
    const dyc = backend.makeOutput([1, n, outChannels], 'float32');
    // views are taken after the last allocation (a heap growth detaches earlier views)
    const xv = backend.typedArrayFromHeap(x);
    const dyv = backend.typedArrayFromHeap(dy);
    const colv = backend.typedArrayFromHeap(col);
    backend.typedArrayFromHeap(dyc).set(dyv.subarray(r0 * outChannels, (r0 + n) * outChannels));
    for (let r = 0; r < n; r++) {
      const row = r0 + r; // = (b·oh + y)·ow + x
      const ox = row % outWidth;
      const oy = Math.floor(row / outWidth) % outHeight;
      const b = Math.floor(row / (outWidth * outHeight));
      let o = r * cols;
      for (let i = 0; i < kh; i++) {
        const iy = oy * sh + i - top;
        for (let j = 0; j < kw; j++, o += inChannels) {
          const ix = ox * sw + j - left;
          if (iy < 0 || iy >= inHeight || ix < 0 || ix >= inWidth) colv.fill(0, o, o + inChannels);
          else {
            const s = ((b * inHeight + iy) * inWidth + ix) * inChannels;
            colv.set(xv.subarray(s, s + inChannels), o);
          }
        }
      }
    }
    const part = matmul({
      inputs: { a: col, b: dyc },
      backend,
      attrs: { transposeA: true, transposeB: false },
    }) as tf.TensorInfo; // [1, kh·kw·ci, co]
    const pv = backend.typedArrayFromHeap(part);
    for (let i = 0; i < dW.length; i++) dW[i]! += pv[i]!;
    for (const t of [col, dyc, part]) backend.disposeData(t.dataId);
  }
  const out = backend.makeOutput(filterShape, 'float32');
  backend.typedArrayFromHeap(out).set(dW);
  return out;
}

/**
 * dx[b, y·sh + i − top, x·sw + j − left, ci] += Σ_co dy[b,y,x,co] · W[i,j,ci,co] (the transpose of the
 * forward conv). Stride 1 is a forward conv ({@link stride1BackpropInput}). Otherwise, per row chunk
 * of `[b·oh·ow]`, `cols = dy · Wᵀ` (`[n, co]·[co, kh·kw·ci]`) runs on wasm's BatchMatMul without
 * transpose flags (Wᵀ is built once in JS), then each row of `cols` is scatter-added into dx at its
 * `kh × kw` window (col2im; cells that fall in the padding are dropped). NCHW goes to the cpu kernel.
 */
function conv2DBackpropInput(args: Args): tf.TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const dy = inputs['dy']!;
  const filter = inputs['filter']!;
  if (attrs['dataFormat'] === 'NCHW') return onCpu('Conv2DBackpropInput', args);
  const inputShape = attrs['inputShape'] as [number, number, number, number];
  const info = conv2DInfo(inputShape, filter.shape as [number, number, number, number], attrs);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  if (sh === 1 && sw === 1) {
    const flipped = stride1BackpropInput(args, info);
    if (flipped) return flipped;
  }
  const rows = batchSize * outHeight * outWidth;
  const cols = kh * kw * inChannels;
  const chunk = Math.max(
    1,
    Math.min(rows, Math.floor(wasmKernelOptions.im2colChunk / Math.max(cols, outChannels))),
  );
  const matmul = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
  const wT = backend.makeOutput([1, outChannels, cols], 'float32');
  {
    const wv = backend.typedArrayFromHeap(filter); // [kh·kw·ci, co]
    const tv = backend.typedArrayFromHeap(wT);
    for (let k = 0; k < cols; k++)
      for (let o = 0; o < outChannels; o++) tv[o * cols + k] = wv[k * outChannels + o]!;
  }
  const dx = new Float32Array(batchSize * inHeight * inWidth * inChannels);
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const n = Math.min(chunk, rows - r0);
    const dyc = backend.makeOutput([1, n, outChannels], 'float32');
    const dyv = backend.typedArrayFromHeap(dy);
    backend.typedArrayFromHeap(dyc).set(dyv.subarray(r0 * outChannels, (r0 + n) * outChannels));
    const part = matmul({
      inputs: { a: dyc, b: wT },
      backend,
      attrs: { transposeA: false, transposeB: false },
    }) as tf.TensorInfo; // [1, n, kh·kw·ci]
    const pv = backend.typedArrayFromHeap(part);
    for (let r = 0; r < n; r++) {
      const row = r0 + r; // = (b·oh + y)·ow + x
      const ox = row % outWidth;
      const oy = Math.floor(row / outWidth) % outHeight;
      const b = Math.floor(row / (outWidth * outHeight));
      let o = r * cols;
      for (let i = 0; i < kh; i++) {
        const iy = oy * sh + i - top;
        if (iy < 0 || iy >= inHeight) {
          o += kw * inChannels;
          continue;
        }
        for (let j = 0; j < kw; j++, o += inChannels) {
          const ix = ox * sw + j - left;
          if (ix < 0 || ix >= inWidth) continue;
          const d = ((b * inHeight + iy) * inWidth + ix) * inChannels;
          for (let c = 0; c < inChannels; c++) dx[d + c]! += pv[o + c]!;
        }
      }
    }
    for (const t of [dyc, part]) backend.disposeData(t.dataId);
  }
  backend.disposeData(wT.dataId);
  const out = backend.makeOutput(inputShape, 'float32');
  backend.typedArrayFromHeap(out).set(dx);
  return out;
}

/**
 * Stride 1: dx[b,y,x,ci] = Σ_{i,j,co} dy[b, y + top − i, x + left − j, co] · W[i,j,ci,co] is the forward
 * conv of dy with the kernel flipped in space and with in/out channels swapped,
 * W'[i,j,co,ci] = W[kh−1−i, kw−1−j, ci, co], explicitly padded by (kh−1−top) above and
 * (inHeight − outHeight + top) below (likewise for the width), run by wasm's own Conv2D (XNNPACK).
 * Returns undefined when a pad would be negative (explicit pads wider than the kernel).
 */
function stride1BackpropInput(args: Args, info: tf.backend_util.Conv2DInfo): tf.TensorInfo | undefined {
  const { inputs, backend } = args;
  const dy = inputs['dy']!;
  const filter = inputs['filter']!;
  const { inHeight, inWidth, inChannels: ci, outHeight, outWidth, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  const pads = [kh - 1 - top, inHeight - outHeight + top, kw - 1 - left, inWidth - outWidth + left];
  if (pads.some((p) => p < 0)) return undefined;
  const w2 = backend.makeOutput([kh, kw, co, ci], 'float32');
  const wv = backend.typedArrayFromHeap(filter);
  const fv = backend.typedArrayFromHeap(w2);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++) {
      const src = ((kh - 1 - i) * kw + (kw - 1 - j)) * ci * co;
      const dst = (i * kw + j) * co * ci;
      for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) fv[dst + o * ci + c] = wv[src + c * co + o]!;
    }
  const conv = tf.getKernel('Conv2D', 'wasm')!.kernelFunc;
  const out = conv({
    inputs: { x: dy, filter: w2 },
    backend,
    attrs: {
      strides: [1, 1],
      pad: [
        [0, 0],
        [pads[0]!, pads[1]!],
        [pads[2]!, pads[3]!],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [1, 1],
    },
  } as never) as tf.TensorInfo;
  backend.disposeData(w2.dataId);
  return out;
}

/**
 * out[s, ...] = Σ_{i : segmentIds[i] = s} x[i, ...]; `segmentIds` covers the leading
 * `segmentIds.rank` axes of `x`; ids outside `[0, numSegments)` are dropped (TensorFlow and cpu
 * semantics; the webgpu 4.22 kernel clamps them instead). The output keeps x's dtype (webgpu 4.22
 * returns garbage for int32 x, cpu returns float32).
 */
function unsortedSegmentSum(args: Args): tf.TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const x = inputs['x']!;
  const ids = inputs['segmentIds']!;
  const numSegments = attrs['numSegments'] as number;
  const inner = x.shape.slice(ids.shape.length);
  const out = backend.makeOutput([numSegments, ...inner], x.dtype);
  const ov = backend.typedArrayFromHeap(out);
  ov.fill(0);
  scatterAdd(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(ids), numSegments, ov);
  return out;
}

/** out[s·w + k] += x[i·w + k] for every i with 0 ≤ ids[i] < numSegments (w = out.length / numSegments). */
export function scatterAdd(
  x: ArrayLike<number>,
  ids: ArrayLike<number>,
  numSegments: number,
  out: { [i: number]: number; length: number },
): void {
  const width = out.length / numSegments;
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * width;
    const dst = s * width;
    for (let k = 0; k < width; k++) out[dst + k]! += x[src + k]!;
  }
}

/**
 * The cpu backend's own `UnsortedSegmentSum` builds one equality mask and one full reduction per
 * segment — O(numSegments · rows · width): the gradient of a gather from a 512-token sequence
 * took 22 s at DocRED scale. {@link registerCpuKernels} replaces it with the same scatter-add as
 * wasm (O(rows · width)); the output keeps x's dtype.
 */
export function registerCpuKernels(): void {
  const existing = tf.getKernel('UnsortedSegmentSum', 'cpu') as
    (tf.KernelConfig & { [MARK]?: true }) | undefined;
  if (existing?.[MARK]) return;
  if (existing) tf.unregisterKernel('UnsortedSegmentSum', 'cpu');
  type CpuBackend = tf.KernelBackend & {
    readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
    makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
  };
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'cpu',
    [MARK]: true,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = backend as CpuBackend;
      const x = inputs['x']!;
      const ids = inputs['segmentIds']!;
      const numSegments = attrs!['numSegments'] as number;
      const inner = x.shape.slice(ids.shape.length);
      const size = numSegments * inner.reduce((a, c) => a * c, 1);
      const out = x.dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
      const xv = cpu.readSync(x.dataId) as tf.backend_util.TypedArray;
      scatterAdd(xv, cpu.readSync(ids.dataId) as tf.backend_util.TypedArray, numSegments, out);
      return cpu.makeTensorInfo([numSegments, ...inner], x.dtype, out);
    },
  } as tf.KernelConfig);
}

/**
 * tfjs#8658: wasm's GatherV2 returns wrong values when `batchDims > 0`. With shapeInfo
 * x ~ [B, O, D, S] and indices ~ [B, K], the same result is the plain gather of rows
 * `(b·O + o)·D + indices[b, k]` from x viewed as [B·O·D, S]; only the index arithmetic is new.
 */
function overrideGather(): void {
  const original = tf.getKernel('GatherV2', 'wasm') as (tf.KernelConfig & { [MARK]?: true }) | undefined;
  if (!original || original[MARK]) return;
  const gather = original.kernelFunc;
  register('GatherV2', (args) => {
    const { inputs, backend, attrs = {} } = args;
    const batchDims = (attrs['batchDims'] as number | undefined) ?? 0;
    if (batchDims === 0) return gather(args as never) as tf.TensorInfo;
    const x = inputs['x']!;
    const indices = inputs['indices']!;
    const axis = tf.util.parseAxisParam(attrs['axis'] as number, x.shape)[0]!;
    const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
      x as tf.Tensor,
      indices as tf.Tensor,
      axis,
      batchDims,
    );
    const { batchSize: B, outerSize: O, dimSize: D, sliceSize: S } = info;
    const K = tf.util.sizeFromShape(indices.shape) / B;
    const flat = backend.makeOutput([B * O * K], 'int32');
    const fv = backend.typedArrayFromHeap(flat);
    const iv = backend.typedArrayFromHeap(indices);
    for (let b = 0; b < B; b++)
      for (let o = 0; o < O; o++)
        for (let k = 0; k < K; k++) {
          const idx = iv[b * K + k]!;
          if (idx < 0 || idx >= D)
            throw new Error(`GatherV2: the index value ${idx} is not in [0, ${D - 1}]`);
          fv[(b * O + o) * K + k] = (b * O + o) * D + idx;
        }
    const out = gather({
      inputs: { x: { dataId: x.dataId, shape: [B * O * D, S], dtype: x.dtype }, indices: flat },
      backend,
      attrs: { axis: 0, batchDims: 0 },
    } as never) as tf.TensorInfo;
    backend.disposeData(flat.dataId);
    return { ...out, shape: info.outputShape };
  });
}

/**
 * wasm's matmul is fast only for untransposed operands (XNNPACK); with `transposeA` or
 * `transposeB` it takes a slow strided path. When one batch entry costs at least
 * `wasmKernelOptions.transposeAbove` multiply-adds (m·k·n), transposed operands are transposed by
 * the wasm Transpose kernel first (O(size), against O(m·k·n) saved); small products keep the flag.
 */
function overrideTransposedMatMul(kernelName: string): void {
  const original = tf.getKernel(kernelName, 'wasm') as (tf.KernelConfig & { [MARK]?: true }) | undefined;
  if (!original || original[MARK]) return;
  const matmul = original.kernelFunc;
  /**
   * Batch > 1 with a large per-batch product: one batch-1 matmul (XNNPACK) per batch entry, the
   * operands copied out of / the results copied into the wasm heap. Broadcast over the batch is
   * supported when one side has a single batch entry.
   */
  const perBatch = (args: Args): tf.TensorInfo => {
    const { inputs, backend, attrs = {} } = args;
    const a = inputs['a']!;
    const b = inputs['b']!;
    const [tA, tB] = [attrs['transposeA'] === true, attrs['transposeB'] === true];
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    const na = tf.util.sizeFromShape(batchA);
    const nb = tf.util.sizeFromShape(batchB);
    const [m, k] = tA ? [a.shape.at(-1)!, a.shape.at(-2)!] : [a.shape.at(-2)!, a.shape.at(-1)!];
    const n = tB ? b.shape.at(-2)! : b.shape.at(-1)!;
    const sameBatch = na === nb && batchA.length === batchB.length && batchA.every((x, i) => x === batchB[i]);
    const batch = Math.max(na, nb);
    if (batch === 1 || m * k * n < wasmKernelOptions.perBatchAbove || !(sameBatch || na === 1 || nb === 1))
      return matmul(args as never) as tf.TensorInfo;
    const sizeA = a.shape.at(-2)! * a.shape.at(-1)!;
    const sizeB = b.shape.at(-2)! * b.shape.at(-1)!;
    const outShape = [...(na >= nb ? batchA : batchB), m, n];
    const out = backend.makeOutput(outShape, 'float32');
    const sliceOf = (x: tf.TensorInfo, i: number, size: number, rows: number, cols: number) => {
      const t = backend.makeOutput([1, rows, cols], 'float32');
      const src = backend.typedArrayFromHeap(x);
      backend.typedArrayFromHeap(t).set(src.subarray(i * size, (i + 1) * size));
      return t;
    };
    const bShared = nb === 1 ? b : undefined;
    for (let i = 0; i < batch; i++) {
      const ai = sliceOf(a, na === 1 ? 0 : i, sizeA, a.shape.at(-2)!, a.shape.at(-1)!);
      const bi = bShared ?? sliceOf(b, i, sizeB, b.shape.at(-2)!, b.shape.at(-1)!);
      const oi = matmul({
        inputs: { a: ai, b: bi },
        backend,
        attrs: { transposeA: tA, transposeB: tB },
      } as never) as tf.TensorInfo;
      backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(oi), i * m * n);
      backend.disposeData(ai.dataId);
      if (bi !== bShared) backend.disposeData(bi.dataId);
      backend.disposeData(oi.dataId);
    }
    return out;
  };
  register(kernelName, (args) => {
    const { inputs, backend, attrs = {} } = args;
    const [a0, b0] = [inputs['a']!, inputs['b']!];
    // multiply-adds of one batch entry: m·k·n
    const macs =
      a0.shape.at(-2)! * a0.shape.at(-1)! * (attrs['transposeB'] ? b0.shape.at(-2)! : b0.shape.at(-1)!);
    const big = macs >= wasmKernelOptions.transposeAbove;
    const flipA = big && attrs['transposeA'] === true;
    const flipB = big && attrs['transposeB'] === true;
    if (!flipA && !flipB)
      return (kernelName === 'BatchMatMul' ? perBatch : matmul)(args as never) as tf.TensorInfo;
    const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
    const swapLast = (x: tf.TensorInfo) => {
      const perm = x.shape.map((_, i) => i);
      perm.splice(-2, 2, perm.length - 1, perm.length - 2);
      return transpose({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
    };
    const a = flipA ? swapLast(inputs['a']!) : inputs['a']!;
    const b = flipB ? swapLast(inputs['b']!) : inputs['b']!;
    const out = (kernelName === 'BatchMatMul' ? perBatch : matmul)({
      inputs: { ...inputs, a, b },
      backend,
      attrs: {
        ...attrs,
        transposeA: flipA ? false : attrs['transposeA'],
        transposeB: flipB ? false : attrs['transposeB'],
      },
    } as never) as tf.TensorInfo;
    if (flipA) backend.disposeData(a.dataId);
    if (flipB) backend.disposeData(b.dataId);
    return out;
  });
}

/** Runs tfjs' cpu kernel on copies of the wasm inputs and copies its outputs back. */
function onCpu(kernelName: string, args: Args): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const cpu = tf.engine().findBackend('cpu') as tf.KernelBackend & {
    readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  };
  const kernel = tf.getKernel(kernelName, 'cpu');
  if (!cpu || !kernel) throw new Error(`${kernelName}: no cpu kernel to run on wasm data`);
  const copy = (t: tf.TensorInfo): tf.TensorInfo => ({
    dataId: cpu.write(backend.readSync(t.dataId), t.shape, t.dtype),
    shape: t.shape,
    dtype: t.dtype,
  });
  // inputs is a name → tensor map, or an array for variadic kernels (Einsum)
  const cpuInputs = (
    Array.isArray(inputs)
      ? (inputs as tf.TensorInfo[]).map(copy)
      : Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, copy(t!)]))
  ) as tf.NamedTensorInfoMap;
  try {
    const res = kernel.kernelFunc({ inputs: cpuInputs, backend: cpu, attrs: attrs ?? {} });
    if (Array.isArray(res)) throw new Error(`${kernelName}: multi-output kernels are not bridged`);
    const values = cpu.readSync(res.dataId);
    cpu.disposeData(res.dataId);
    const out = backend.makeOutput(res.shape, res.dtype);
    backend.typedArrayFromHeap(out).set(values as tf.backend_util.TypedArray);
    return out;
  } finally {
    for (const t of Object.values(cpuInputs)) if (t) cpu.disposeData(t.dataId);
  }
}

/**
 * Collapses a slice to the fewest axes: an axis merges with the (merged) axis after it when that
 * one is taken whole. `x[:, 0:2]` of a [4, 4, 20, 20, 32] tensor becomes `x[:, 0:25600]` of a
 * [4, 51200] view of the same data.
 */
export function collapseSlice(
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
): { shape: number[]; begin: number[]; size: number[] } {
  const dims: { s: number; b: number; z: number }[] = [];
  for (let i = shape.length - 1; i >= 0; i--) {
    const inner = dims[0];
    if (inner && inner.b === 0 && inner.z === inner.s)
      dims[0] = { s: shape[i]! * inner.s, b: begin[i]! * inner.s, z: size[i]! * inner.s };
    else dims.unshift({ s: shape[i]!, b: begin[i]!, z: size[i]! });
  }
  return { shape: dims.map((d) => d.s), begin: dims.map((d) => d.b), size: dims.map((d) => d.z) };
}

/**
 * wasm's Slice (and SplitV, which slices) has fast paths up to rank 4 only; a rank-5 slice walks
 * the elements one by one in JS (47 ms for a [4, 2, 20, 20, 32] half of a [4, 4, 20, 20, 32]
 * tensor vs 0.14 ms for the same bytes as a rank-2 slice). Both kernels run on the collapsed view.
 */
function overrideSlice(): void {
  const original = tf.getKernel('Slice', 'wasm') as (tf.KernelConfig & { [MARK]?: true }) | undefined;
  if (!original || original[MARK]) return;
  const slice = original.kernelFunc;
  const sliceView = (backend: Args['backend'], x: tf.TensorInfo, begin: number[], size: number[]) => {
    const c = collapseSlice(x.shape, begin, size);
    const out = slice({
      inputs: { x: { dataId: x.dataId, shape: c.shape, dtype: x.dtype } },
      backend,
      attrs: { begin: c.begin, size: c.size },
    } as never) as tf.TensorInfo;
    return { ...out, shape: size };
  };
  register('Slice', (args) => {
    const x = args.inputs['x']!;
    const [begin, size] = tf.slice_util.parseSliceParams(
      x as tf.Tensor,
      args.attrs!['begin'] as number[],
      args.attrs!['size'] as number[],
    );
    return sliceView(args.backend, x, begin, size);
  });
  register('SplitV', (args) => {
    const x = args.inputs['x']!;
    const axis = tf.util.parseAxisParam(args.attrs!['axis'] as number, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(
      x as tf.Tensor,
      args.attrs!['numOrSizeSplits'] as number[] | number,
      axis,
    );
    const begin = x.shape.map(() => 0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const out = sliceView(args.backend, x, [...begin], size);
      begin[axis]! += s;
      return out;
    }) as unknown as tf.TensorInfo;
  });
}

/**
 * The same transpose on the fewest axes: size-1 axes dropped, and input axes that stay adjacent
 * and in order in the output merged (`[b, h, e, e, dh]` with perm [0, 2, 1, 3, 4] is a
 * [b, h, e, e·dh] transpose with perm [0, 2, 1, 3]).
 */
export function collapseTranspose(
  shape: readonly number[],
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  const kept = perm.filter((a) => shape[a]! !== 1);
  const groups: number[][] = [];
  for (const a of kept) {
    const g = groups.at(-1);
    const prev = g?.at(-1);
    if (g && prev! < a && shape.slice(prev! + 1, a).every((s) => s === 1)) g.push(a);
    else groups.push([a]);
  }
  if (groups.length === 0) return { shape: [1], perm: [0] };
  const byInput = [...groups].sort((g, h) => g[0]! - h[0]!);
  return {
    shape: byInput.map((g) => g.reduce((n, a) => n * shape[a]!, 1)),
    perm: groups.map((g) => byInput.indexOf(g)),
  };
}

/**
 * wasm's Transpose is fast up to rank 4; a rank-5 one takes a generic path (20–30 ms for
 * 200k elements). The kernel runs on the collapsed axes; what is still rank ≥ 5 is copied here
 * by a strided loop.
 */
function overrideTranspose(): void {
  const original = tf.getKernel('Transpose', 'wasm') as (tf.KernelConfig & { [MARK]?: true }) | undefined;
  if (!original || original[MARK]) return;
  const transpose = original.kernelFunc;
  register('Transpose', (args) => {
    const { backend } = args;
    const x = args.inputs['x']!;
    const perm = args.attrs!['perm'] as number[];
    const outShape = perm.map((a) => x.shape[a]!);
    const c = collapseTranspose(x.shape, perm);
    if (c.shape.length <= 4 || x.dtype === 'complex64' || x.dtype === 'string') {
      const out = transpose({
        inputs: { x: { dataId: x.dataId, shape: c.shape, dtype: x.dtype } },
        backend,
        attrs: { perm: c.perm },
      } as never) as tf.TensorInfo;
      return { ...out, shape: outShape };
    }
    const out = backend.makeOutput(outShape, x.dtype);
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const r = c.shape.length;
    const inStrides = c.shape.map((_, i) => c.shape.slice(i + 1).reduce((n, s) => n * s, 1));
    const oShape = c.perm.map((a) => c.shape[a]!);
    const step = c.perm.map((a) => inStrides[a]!);
    const [n, s] = [oShape[r - 1]!, step[r - 1]!];
    const idx = new Array<number>(r).fill(0);
    let off = 0;
    for (let o = 0; o < dst.length; o += n) {
      for (let i = 0; i < n; i++) dst[o + i] = src[off + i * s]!;
      for (let k = r - 2; k >= 0; k--) {
        idx[k]!++;
        off += step[k]!;
        if (idx[k]! < oShape[k]!) break;
        off -= step[k]! * oShape[k]!;
        idx[k] = 0;
      }
    }
    return out;
  });
}

/** The conv geometry of a backprop kernel's attrs (NHWC, dilation 1). */
function conv2DInfo(
  inputShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: tf.NamedAttrMap,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inputShape,
    filterShape,
    attrs['strides'] as [number, number],
    1,
    attrs['pad'] as 'same',
    attrs['dimRoundingMode'] as 'floor' | undefined,
  );
}
