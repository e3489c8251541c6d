/**
 * The kernels registered by src/core/wasm-kernels.ts, and every kernel a conv/pool/resize/batch-norm
 * training step needs, checked on the current backend against tfjs' cpu backend (computed in the
 * same process by switching backends) and against closed forms. On cpu the cross-backend checks
 * compare cpu with itself; the closed-form checks are what can fail there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BACKEND, assertClose, assertNoLeak, seededArray, tol, useTestBackend } from '../helpers.js';
import {
  WASM_KERNELS,
  collapseSlice,
  collapseTranspose,
  wasmKernelOptions,
} from '../../src/core/wasm-kernels.js';
import { bothBackends, read } from './util.js';

await useTestBackend();

test('every kernel of WASM_KERNELS is registered for wasm', () => {
  if (BACKEND !== 'wasm') return;
  for (const name of WASM_KERNELS) assert.ok(tf.getKernel(name, 'wasm'), name);
});

test('UnsortedSegmentSum: closed form, int32 values', async () => {
  const x = tf.tensor2d([
    [1, 2],
    [3, 4],
    [5, 6],
    [7, 8],
  ]);
  const y = tf.unsortedSegmentSum(x, tf.tensor1d([2, 0, 2, 1], 'int32'), 4);
  assert.deepEqual(y.shape, [4, 2]);
  assertClose(
    await read(y),
    [
      [3, 4],
      [7, 8],
      [1 + 5, 2 + 6],
      [0, 0],
    ],
    0,
  );
  // int32 x keeps its dtype (TensorFlow's semantics; cpu and wasm use src/core's kernels). The
  // webgpu 4.22 kernel returns float bit patterns for int32 (3 → 1077936128); docre-kit never sums int32.
  if (BACKEND !== 'webgpu') {
    const yi = tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([1, 1, 0], 'int32'), 2);
    assert.equal(yi.dtype, 'int32');
    assert.deepEqual(Array.from(await read(yi)), [3, 3]);
  }
  x.dispose();
});

test('UnsortedSegmentSum drops out-of-range ids (cpu, wasm; webgpu 4.22 clamps them instead)', async () => {
  if (BACKEND === 'webgpu') return; // documented in src/core/wasm-kernels.ts; gather never emits them
  const x = tf.tensor2d([
    [1, 2],
    [3, 4],
    [5, 6],
    [7, 8],
  ]);
  const y = tf.unsortedSegmentSum(x, tf.tensor1d([2, 0, 2, 5], 'int32'), 3);
  assertClose(
    await read(y),
    [
      [3, 4],
      [0, 0],
      [1 + 5, 2 + 6],
    ],
    0,
  );
  x.dispose();
});

test('gather gradient (UnsortedSegmentSum) matches the closed form: repeated rows accumulate', async () => {
  const x = tf.tensor2d([
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  const idx = tf.tensor1d([2, 0, 2], 'int32');
  const g = tf.grad((a: tf.Tensor) =>
    tf
      .gather(a, idx)
      .mul(
        tf.tensor2d([
          [1, 1],
          [2, 2],
          [3, 3],
        ]),
      )
      .sum(),
  )(x);
  assertClose(
    await read(g),
    [
      [2, 2],
      [0, 0],
      [1 + 3, 1 + 3],
    ],
    0,
  );
  tf.dispose([x, idx]);
});

test('gather with batchDims = 1 (tfjs#8658: wrong on wasm when batch ≠ indices per batch)', async () => {
  const x = tf.tensor3d([...Array(24).keys()], [2, 4, 3]); // x[b, i, j] = 12b + 3i + j
  const idx = tf.tensor2d(
    [
      [0, 3, 3],
      [1, 1, 2],
    ],
    [2, 3],
    'int32',
  ); // b = 2, k = 3
  // [b, k, :] = x[b, idx[b, k], :]
  const want1 = [
    [
      [0, 1, 2],
      [9, 10, 11],
      [9, 10, 11],
    ],
    [
      [15, 16, 17],
      [15, 16, 17],
      [18, 19, 20],
    ],
  ];
  assertClose(await read(tf.gather(x, idx, 1, 1)), want1, 0);
  // axis 2: [b, i, k] = x[b, i, idx2[b, k]]
  const i2 = tf.tensor2d(
    [
      [2, 0, 0],
      [1, 1, 2],
    ],
    [2, 3],
    'int32',
  );
  const want2 = [0, 1, 2, 3].map((i) => [
    [2, 0, 0].map((j) => 3 * i + j),
    [1, 1, 2].map((j) => 12 + 3 * i + j),
  ]);
  const y2 = tf.gather(x, i2, 2, 1);
  assert.deepEqual(y2.shape, [2, 4, 3]);
  assertClose(
    await read(y2),
    [0, 1].map((b) => want2.map((r) => r[b]!)),
    0,
  );
  const g = tf.grad((a: tf.Tensor) => tf.gather(a, idx, 1, 1).sum())(x);
  const expected = [
    [
      [1, 1, 1],
      [0, 0, 0],
      [0, 0, 0],
      [2, 2, 2],
    ],
    [
      [0, 0, 0],
      [2, 2, 2],
      [1, 1, 1],
      [0, 0, 0],
    ],
  ];
  assertClose(await read(g), expected, 0);
  tf.dispose([x, idx, i2]);
});

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const seeded = (shape: number[], seed: number) => tf.tensor(seededArray(size(shape), seed), shape);

test('Conv2DBackpropFilter: 1×1 closed form dW = xᵀ·dy', async () => {
  const x = seeded([1, 2, 3, 4], 5) as tf.Tensor4D;
  const w = seeded([1, 1, 4, 2], 6) as tf.Tensor4D;
  const dy = seeded([1, 2, 3, 2], 7);
  const dW = tf.grad((f: tf.Tensor) =>
    tf
      .conv2d(x, f as tf.Tensor4D, 1, 'valid')
      .mul(dy)
      .sum(),
  )(w);
  const expected = tf.matMul(x.reshape([6, 4]), dy.reshape([6, 2]), true, false).reshape([1, 1, 4, 2]);
  assert.deepEqual(dW.shape, [1, 1, 4, 2]);
  assertClose(await read(dW), await read(expected), tol(1e-5));
  tf.dispose([x, w, dy]);
});

test('conv2d gradients (filter and input): same/valid padding, strides 1 and 2, match cpu', async () => {
  for (const [pad, stride] of [
    ['same', 1],
    ['valid', 1],
    ['same', 2],
    ['valid', 2],
  ] as const) {
    const { here, cpu } = await bothBackends(() => {
      const x = seeded([2, 7, 6, 3], 1) as tf.Tensor4D;
      const w = seeded([3, 3, 3, 5], 2) as tf.Tensor4D;
      const outShape = tf.conv2d(x, w, stride, pad).shape;
      const dy = seeded(outShape, 3);
      return tf.grads((a: tf.Tensor, f: tf.Tensor) =>
        tf
          .conv2d(a as tf.Tensor4D, f as tf.Tensor4D, stride, pad)
          .mul(dy)
          .sum(),
      )([x, w]);
    });
    here.forEach((h, i) => assertClose(h, cpu[i]!, tol(1e-4), tol(1e-4), `${pad}/${stride} grad ${i}`));
  }
});

test('Conv2DBackpropInput: 1×1 stride-1 closed form dx = dy·Wᵀ', async () => {
  const x = seeded([2, 2, 3, 4], 61) as tf.Tensor4D;
  const w = seeded([1, 1, 4, 3], 62) as tf.Tensor4D;
  const dy = seeded([2, 2, 3, 3], 63);
  const dx = tf.grad((a: tf.Tensor) =>
    tf
      .conv2d(a as tf.Tensor4D, w, 1, 'valid')
      .mul(dy)
      .sum(),
  )(x);
  const expected = tf.matMul(dy.reshape([12, 3]), w.reshape([4, 3]), false, true).reshape([2, 2, 3, 4]);
  assert.deepEqual(dx.shape, [2, 2, 3, 4]);
  assertClose(await read(dx), await read(expected), tol(1e-5));
  tf.dispose([x, w, dy]);
});

test('Conv2DBackpropInput: conv2d input gradient and conv2dTranspose match cpu (shapes, strides, same/valid)', async () => {
  // [x shape, kernel shape, strides]: odd/even sizes, rectangular kernels and strides, 1×1, kernel = input
  const shapes: [number[], number[], [number, number]][] = [
    [
      [2, 7, 6, 3],
      [3, 3, 3, 5],
      [1, 1],
    ],
    [
      [2, 7, 6, 3],
      [3, 3, 3, 5],
      [2, 2],
    ],
    [
      [3, 8, 8, 4],
      [2, 2, 4, 6],
      [2, 2],
    ],
    [
      [2, 9, 5, 2],
      [3, 2, 2, 3],
      [2, 1],
    ],
    [
      [2, 5, 7, 6],
      [1, 1, 6, 4],
      [2, 2],
    ],
    [
      [2, 4, 4, 2],
      [4, 4, 2, 3],
      [1, 1],
    ],
  ];
  // explicit pads: a top pad wider than the kernel (stride 1 then takes the matmul path), and asymmetric ones
  const explicit: tf.backend_util.ExplicitPadding[] = [
    [
      [0, 0],
      [3, 0],
      [1, 2],
      [0, 0],
    ],
    [
      [0, 0],
      [0, 1],
      [2, 0],
      [0, 0],
    ],
  ];
  for (const [xs, ws, strides] of shapes)
    for (const pad of ['same', 'valid', ...explicit] as const) {
      const label = `x ${xs} kernel ${ws} strides ${strides} pad ${JSON.stringify(pad)}`;
      const { here, cpu } = await bothBackends(() => {
        const x = seeded(xs, 1) as tf.Tensor4D;
        const w = seeded(ws, 2) as tf.Tensor4D;
        const dy = seeded(tf.conv2d(x, w, strides, pad).shape, 3) as tf.Tensor4D;
        const dx = tf.grad((a: tf.Tensor) =>
          tf
            .conv2d(a as tf.Tensor4D, w, strides, pad)
            .mul(dy)
            .sum(),
        )(x);
        // the kernel itself (no autodiff), with the output shape passed explicitly
        const direct = tf.conv2dTranspose(dy, w, xs as [number, number, number, number], strides, pad);
        return [dx, direct];
      });
      assert.ok(
        cpu[0]!.some((v) => v !== 0),
        `${label}: gradient is not trivially zero`,
      );
      here.forEach((h, i) => assertClose(h, cpu[i]!, tol(1e-4), tol(1e-4), `${label} output ${i}`));
    }
});

test('Conv2DBackpropInput chunks rows without changing the result', async () => {
  // 2·20·15 = 600 rows of 3·3·8 = 72 columns in chunks of 7 rows (the last one partial)
  const saved = wasmKernelOptions.im2colChunk;
  wasmKernelOptions.im2colChunk = 7 * 72;
  try {
    const { here, cpu } = await bothBackends(() => {
      const x = seeded([2, 40, 30, 8], 13) as tf.Tensor4D;
      const w = seeded([3, 3, 8, 4], 14) as tf.Tensor4D;
      return [
        tf.grad((a: tf.Tensor) =>
          tf
            .conv2d(a as tf.Tensor4D, w, 2, 'same')
            .square()
            .sum(),
        )(x),
      ];
    });
    assertClose(here[0]!, cpu[0]!, tol(1e-3), tol(1e-4));
  } finally {
    wasmKernelOptions.im2colChunk = saved;
  }
});

test('Conv2DBackpropFilter chunks rows without changing the result', async () => {
  // 600 rows × 72 columns in chunks of 7 rows (the last one partial)
  const saved = wasmKernelOptions.im2colChunk;
  wasmKernelOptions.im2colChunk = 7 * 72;
  const { here, cpu } = await bothBackends(() => {
    const x = seeded([1, 40, 15, 8], 11) as tf.Tensor4D;
    const w = seeded([3, 3, 8, 4], 12) as tf.Tensor4D;
    return [
      tf.grad((f: tf.Tensor) =>
        tf
          .conv2d(x, f as tf.Tensor4D, 1, 'same')
          .square()
          .sum(),
      )(w),
    ];
  });
  wasmKernelOptions.im2colChunk = saved;
  assertClose(here[0]!, cpu[0]!, tol(1e-3), tol(1e-4));
});

test('depthwise conv2d gradients and einsum forward match cpu', async () => {
  const { here, cpu } = await bothBackends(() => {
    const x = seeded([1, 5, 5, 3], 21) as tf.Tensor4D;
    const w = seeded([3, 3, 3, 2], 22) as tf.Tensor4D;
    const grads = tf.grads((a: tf.Tensor, f: tf.Tensor) =>
      tf
        .depthwiseConv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')
        .square()
        .sum(),
    )([x, w]);
    return [...grads, tf.einsum('ij,jk->ik', seeded([3, 4], 23), seeded([4, 2], 24))];
  });
  here.forEach((h, i) => assertClose(h, cpu[i]!, tol(1e-4), tol(1e-4), `output ${i}`));
});

test('matmul overrides (explicit transpose, per-batch split): every transpose/batch/broadcast case matches cpu', async () => {
  const saved = { ...wasmKernelOptions };
  // thresholds at 0 force the rewritten paths even on these tiny shapes
  Object.assign(wasmKernelOptions, { transposeAbove: 0, perBatchAbove: 0 });
  try {
    for (const [tA, tB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const { here, cpu } = await bothBackends(() => {
        const a = seeded(tA ? [3, 4, 5] : [3, 5, 4], 51);
        const b = seeded(tB ? [3, 6, 4] : [3, 4, 6], 52);
        const b2 = seeded(tB ? [6, 4] : [4, 6], 53); // broadcast over the batch
        const a1 = seeded(tA ? [1, 4, 5] : [1, 5, 4], 54);
        const bias = seeded([6], 55);
        return [
          tf.matMul(a, b, tA, tB),
          tf.matMul(a, b2, tA, tB),
          tf.matMul(a1, b, tA, tB),
          tf.fused.matMul({
            a: a.slice([0], [1]).squeeze([0]) as tf.Tensor2D,
            b: b2 as tf.Tensor2D,
            transposeA: tA,
            transposeB: tB,
            bias,
            activation: 'relu',
          }),
          ...tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, tA, tB).square().sum())([a, b]),
        ];
      });
      here.forEach((h, i) => assertClose(h, cpu[i]!, tol(1e-5), tol(1e-5), `tA=${tA} tB=${tB} output ${i}`));
    }
  } finally {
    Object.assign(wasmKernelOptions, saved);
  }
});

test('collapseSlice merges every axis whose inner neighbour is taken whole', () => {
  assert.deepEqual(collapseSlice([4, 4, 20, 20, 32], [0, 0, 0, 0, 0], [4, 2, 20, 20, 32]), {
    shape: [4, 51200],
    begin: [0, 0],
    size: [4, 25600],
  });
  assert.deepEqual(collapseSlice([2, 3, 4], [1, 1, 0], [1, 2, 4]), {
    shape: [2, 12],
    begin: [1, 4],
    size: [1, 8],
  });
  assert.deepEqual(collapseSlice([2, 3, 4], [0, 1, 1], [2, 1, 2]), {
    shape: [2, 3, 4],
    begin: [0, 1, 1],
    size: [2, 1, 2],
  });
});

test('slice / split / their gradients on rank 5 and 6 (collapsed views) match cpu, float and int32', async () => {
  const { here, cpu } = await bothBackends(() => {
    const x = seeded([2, 4, 3, 3, 5], 61);
    const y = seeded([2, 2, 3, 2, 3, 4], 62);
    const ints = tf.range(0, 2 * 4 * 3 * 3 * 5, 1, 'int32').reshape([2, 4, 3, 3, 5]);
    const [a, b] = tf.split(x, 2, 1);
    const parts = tf.split(y, [1, 2, 1], 5);
    return [
      a!,
      b!,
      ...parts,
      tf.slice(x, [1, 1, 0, 1, 2], [1, 2, 3, 2, 3]),
      tf.slice(y, [0, 1, 0, 0, 0, 0], [2, 1, 3, 2, 3, 4]),
      tf.slice(ints, [0, 2, 0, 0, 0], [2, 2, 3, 3, 5]).toFloat(),
      tf.split(ints, 3, 2)[1]!.toFloat(),
      ...tf.grads((t: tf.Tensor) => {
        const [p, q] = tf.split(t, [1, 3], 1);
        return p!
          .square()
          .sum()
          .add(q!.mul(tf.slice(t, [0, 1, 0, 0, 0], [2, 3, 3, 3, 5])).sum());
      })([x]),
    ];
  });
  assert.equal(here.length, 10);
  here.forEach((h, i) => assertClose(h, cpu[i]!, 0, 0, `output ${i}`));
});

test('collapseTranspose drops size-1 axes and merges axes that stay adjacent', () => {
  assert.deepEqual(collapseTranspose([4, 4, 20, 20, 32], [0, 2, 1, 3, 4]), {
    shape: [4, 4, 20, 640],
    perm: [0, 2, 1, 3],
  });
  assert.deepEqual(collapseTranspose([2, 1, 3, 5], [2, 3, 0, 1]), { shape: [2, 15], perm: [1, 0] });
  assert.deepEqual(collapseTranspose([2, 3, 5], [0, 1, 2]), { shape: [30], perm: [0] });
  assert.deepEqual(collapseTranspose([1, 1], [1, 0]), { shape: [1], perm: [0] });
});

test('transpose on ranks 2–6, every rank-5 permutation, int32/bool and the gradient match cpu', async () => {
  const perms = (a: number[]): number[][] =>
    a.length <= 1
      ? [a]
      : a.flatMap((v, i) => perms([...a.slice(0, i), ...a.slice(i + 1)]).map((p) => [v, ...p]));
  const { here, cpu } = await bothBackends(() => {
    const x5 = seeded([2, 3, 1, 4, 5], 71);
    const x6 = seeded([2, 3, 2, 2, 3, 2], 72);
    return [
      ...perms([0, 1, 2, 3, 4]).map((p) => tf.transpose(x5, p)),
      tf.transpose(x6, [5, 3, 1, 0, 4, 2]),
      tf.transpose(seeded([3, 4], 73)),
      tf.transpose(seeded([2, 3, 4, 5], 74), [3, 1, 0, 2]),
      tf.transpose(tf.range(0, 120, 1, 'int32').reshape([2, 3, 2, 5, 2]), [4, 2, 0, 3, 1]).toFloat(),
      tf.transpose(tf.range(0, 120).reshape([2, 3, 2, 5, 2]).greater(60), [3, 4, 1, 0, 2]).toFloat(),
      ...tf.grads((t: tf.Tensor) =>
        tf
          .transpose(t, [4, 0, 3, 1, 2])
          .mul(seeded([5, 2, 4, 3, 1], 75))
          .sum(),
      )([x5]),
    ];
  });
  assert.equal(here.length, 126);
  here.forEach((h, i) => assertClose(h, cpu[i]!, 0, 0, `output ${i}`));
});

/**
 * A tiny U-Net step: conv → batch norm → relu → max-pool + avg-pool → conv → bilinear upsample (align
 * corners) → concat skip → 1×1 conv → squared error. Every parameter gradient and the input
 * gradient must equal cpu's.
 */
function uNetStep(): tf.Tensor[] {
  const x = seeded([2, 6, 6, 3], 31) as tf.Tensor4D;
  const target = seeded([2, 6, 6, 2], 32);
  const params = [
    seeded([3, 3, 3, 4], 33), // conv1 kernel
    seeded([4], 34), // conv1 bias
    seeded([4], 35).add(1), // gamma
    seeded([4], 36), // beta
    seeded([3, 3, 4, 6], 37), // conv2 kernel
    seeded([1, 1, 10, 2], 38), // 1×1 head
  ];
  const f = (
    input: tf.Tensor,
    k1: tf.Tensor,
    b1: tf.Tensor,
    g: tf.Tensor,
    beta: tf.Tensor,
    k2: tf.Tensor,
    k3: tf.Tensor,
  ) => {
    const c1 = tf.conv2d(input as tf.Tensor4D, k1 as tf.Tensor4D, 1, 'same').add(b1); // [2,6,6,4]
    const { mean, variance } = tf.moments(c1, [0, 1, 2]);
    const h1 = tf.relu(tf.batchNorm(c1, mean, variance, beta, g, 1e-3)) as tf.Tensor4D;
    const p = tf.maxPool(h1, 2, 2, 'same').add(tf.avgPool(h1, 2, 2, 'same')) as tf.Tensor4D; // [2,3,3,4]
    const c2 = tf.relu(tf.conv2d(p, k2 as tf.Tensor4D, 1, 'same')) as tf.Tensor4D; // [2,3,3,6]
    const up = tf.image.resizeBilinear(c2, [6, 6], true); // [2,6,6,6]
    const cat = tf.concat([h1, up], 3) as tf.Tensor4D; // [2,6,6,10]
    const out = tf.conv2d(cat, k3 as tf.Tensor4D, 1, 'valid'); // [2,6,6,2]
    return out.sub(target).square().mean() as tf.Scalar;
  };
  return tf.grads(f as (...a: tf.Tensor[]) => tf.Scalar)([x, ...params]);
}

test('tiny U-Net training step: every gradient equals cpu (conv, batchNorm, max/avg pool, resizeBilinear)', async () => {
  const { here, cpu } = await bothBackends(uNetStep);
  assert.equal(here.length, 7);
  here.forEach((h, i) => {
    assert.ok(
      cpu[i]!.some((v) => v !== 0),
      `gradient ${i} is not trivially zero`,
    );
    assertClose(h, cpu[i]!, tol(1e-4), tol(1e-3), `gradient ${i}`);
  });
});

test('registered kernels leak no tensors', () => {
  const x = seeded([1, 4, 4, 2], 41) as tf.Tensor4D;
  const w = seeded([3, 3, 2, 2], 42) as tf.Tensor4D;
  const idx = tf.tensor2d([[1, 0]], [1, 2], 'int32');
  const x3 = x.reshape([1, 4, 8]);
  assertNoLeak(
    () => tf.grad((f: tf.Tensor) => tf.conv2d(x, f as tf.Tensor4D, 1, 'same').sum())(w),
    'conv2d filter grad',
  );
  assertNoLeak(
    () => tf.grad((a: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, w, 2, 'same').sum())(x),
    'conv2d input grad',
  );
  assertNoLeak(
    () => tf.grad((a: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, w, 1, 'valid').sum())(x),
    'conv2d input grad, stride 1',
  );
  assertNoLeak(() => tf.grad((a: tf.Tensor) => tf.gather(a, idx, 1, 1).sum())(x3), 'gather batchDims grad');
  tf.dispose([x, x3, w, idx]);
});
