/**
 * Foundation layers, forward and forward+backward, per backend, at DocRED scale
 * (b = 1, e = 42 entities, n = 512 tokens, d = 768, r = 97 relations, h = 12 heads, m = 4
 * mentions), plus the 512×512 matmul roofline measured in the same run on each backend.
 *
 *   npx tsx bench/layers.ts                       # full size, cpu + wasm + webgpu (subprocess each)
 *   npx tsx bench/layers.ts --quick               # small sizes, seconds
 *   npx tsx bench/layers.ts --backends wasm,webgpu --reps 5 --only group --budget 600
 *   npx tsx bench/layers.ts --save runs/bench      # keep each backend's JSON; --load DIR reuses it
 *
 * WebGPU in Node runs on Dawn; with no GPU that is SwiftShader (a CPU rasteriser), so its numbers
 * measure the software path, not a GPU. cpu at full size runs 1 rep without warm-up by default;
 * a case slower than the budget (default 180 s) reports its forward time only.
 * Results go to docs/benchmarks.md (section "Foundation layers").
 */
import * as tf from '@tensorflow/tfjs';
import { matmulCase, benchMain, rand, type BenchCase } from './common.js';
import { multiHeadAttention, type MultiHeadAttentionParams } from '../src/core/attention.js';
import { logSumExpPooling } from '../src/heads/pooling.js';
import { entityAttention, localizedContextPooling } from '../src/heads/context-pooling.js';
import { groupBilinear } from '../src/heads/group-bilinear.js';
import { adaptiveThresholdLoss } from '../src/losses/adaptive-threshold.js';
import { balancedSoftmaxLoss } from '../src/losses/balanced-softmax.js';

interface Sizes {
  b: number;
  e: number;
  n: number;
  d: number;
  r: number;
  h: number;
  m: number;
  k: number;
  /** U-Net width (the conv row: an up block's 3×3 conv, 2c → c channels on the e×e map padded to 44). */
  c: number;
}
const FULL: Sizes = { b: 1, e: 42, n: 512, d: 768, r: 97, h: 12, m: 4, k: 64, c: 256 };
const QUICK: Sizes = { b: 1, e: 8, n: 64, d: 64, r: 11, h: 4, m: 3, k: 16, c: 16 };

/** Deterministic integer / 0-1 helpers (plain JS, identical on every backend). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

/** mentionIndex [b,e,m] int32 in [1, n), mentionMask [b,e,m] with 1..m real mentions per entity. */
function mentions(z: Sizes) {
  const rnd = lcg(7);
  const idx: number[] = [];
  const mask: number[] = [];
  for (let i = 0; i < z.b * z.e; i++) {
    const real = 1 + Math.floor(rnd() * z.m);
    for (let j = 0; j < z.m; j++) {
      idx.push(1 + Math.floor(rnd() * (z.n - 1)));
      mask.push(j < real ? 1 : 0);
    }
  }
  return {
    mentionIndex: tf.tensor3d(idx, [z.b, z.e, z.m], 'int32'),
    mentionMask: tf.tensor3d(mask, [z.b, z.e, z.m]),
  };
}

/** pairMask [b,e,e] (s ≠ o) and multi-hot labels [b,e,e,r]: ~5 % of pairs hold 1–2 relations. */
function pairsAndLabels(z: Sizes) {
  const rnd = lcg(11);
  const labels = new Float32Array(z.b * z.e * z.e * z.r);
  for (let p = 0; p < z.b * z.e * z.e; p++) {
    if (rnd() < 0.05) {
      labels[p * z.r + 1 + Math.floor(rnd() * (z.r - 1))] = 1;
      if (rnd() < 0.3) labels[p * z.r + 1 + Math.floor(rnd() * (z.r - 1))] = 1;
    } else labels[p * z.r] = 1;
  }
  const pairMask = tf.tidy(() => tf.sub(1, tf.eye(z.e)).expandDims(0).tile([z.b, 1, 1])) as tf.Tensor3D;
  return { pairMask, labels: tf.tensor4d(labels, [z.b, z.e, z.e, z.r]) };
}

function cases(z: Sizes): BenchCase[] {
  const { b, e, n, d, r, h, m, k, c } = z;
  const s = Math.ceil(e / 4) * 4; // the U-Net pads e to a multiple of 4 (42 → 44)
  return [
    matmulCase(512),
    {
      // fwd+bwd = conv2d + its input gradient (Conv2DBackpropInput) only
      name: 'conv2d 3×3, input gradient',
      shape: `x [${b},${s},${s},${2 * c}], kernel [3,3,${2 * c},${c}], same → [${b},${s},${s},${c}]`,
      setup() {
        const x = rand([b, s, s, 2 * c], 14);
        const w = rand([3, 3, 2 * c, c], 15, 0.05);
        const f = (a: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
        return {
          forward: () => f(x),
          backward: () => tf.grads((a: tf.Tensor) => f(a).sum())([x]),
          dispose: () => tf.dispose([x, w]),
        };
      },
    },
    {
      name: 'logSumExpPooling',
      shape: `hidden [${b},${n},${d}], mentions [${b},${e},${m}] → [${b},${e},${d}]`,
      setup() {
        const hidden = rand([b, n, d], 1);
        const { mentionIndex, mentionMask } = mentions(z);
        const f = (x: tf.Tensor) => logSumExpPooling(x as tf.Tensor3D, mentionIndex, mentionMask);
        return {
          forward: () => f(hidden),
          backward: () => tf.grads((x: tf.Tensor) => f(x).sum())([hidden]),
          dispose: () => tf.dispose([hidden, mentionIndex, mentionMask]),
        };
      },
    },
    {
      name: 'entityAttention',
      shape: `attention [${b},${h},${n},${n}] → [${b},${e},${h},${n}]`,
      setup() {
        const att = tf.tidy(() => tf.softmax(rand([b, h, n, n], 2, 3)));
        const { mentionIndex, mentionMask } = mentions(z);
        const f = (a: tf.Tensor) => entityAttention(a as tf.Tensor4D, mentionIndex, mentionMask);
        return {
          forward: () => f(att),
          backward: () => tf.grads((a: tf.Tensor) => f(a).sum())([att]),
          dispose: () => tf.dispose([att, mentionIndex, mentionMask]),
        };
      },
    },
    {
      name: 'localizedContextPooling',
      shape: `hidden [${b},${n},${d}], entityAtt [${b},${e},${h},${n}] → [${b},${e},${e},${d}]`,
      setup() {
        const hidden = rand([b, n, d], 3);
        const ea = tf.tidy(() => tf.softmax(rand([b, e, h, n], 4, 3)));
        const f = (x: tf.Tensor, a: tf.Tensor) => localizedContextPooling(x as tf.Tensor3D, a as tf.Tensor4D);
        return {
          forward: () => f(hidden, ea),
          backward: () => tf.grads((x: tf.Tensor, a: tf.Tensor) => f(x, a).sum())([hidden, ea]),
          dispose: () => tf.dispose([hidden, ea]),
        };
      },
    },
    {
      name: 'groupBilinear',
      shape: `zs, zo [${b},${e},${e},${d}], kernel [${d * k},${r}], k = ${k} → [${b},${e},${e},${r}]`,
      setup() {
        const zs = rand([b, e, e, d], 5);
        const zo = rand([b, e, e, d], 6);
        const kernel = rand([d * k, r], 7, 0.01);
        const bias = tf.zeros([r]);
        const f = (s: tf.Tensor, o: tf.Tensor, w: tf.Tensor) =>
          groupBilinear(s, o, { kernel: w as tf.Tensor2D, bias: bias as tf.Tensor1D }, k);
        return {
          forward: () => f(zs, zo, kernel),
          backward: () =>
            tf.grads((s: tf.Tensor, o: tf.Tensor, w: tf.Tensor) => f(s, o, w).sum())([zs, zo, kernel]),
          dispose: () => tf.dispose([zs, zo, kernel, bias]),
        };
      },
    },
    ...(['adaptiveThresholdLoss', 'balancedSoftmaxLoss'] as const).map((name): BenchCase => ({
      name,
      shape: `logits, labels [${b},${e},${e},${r}], pairMask [${b},${e},${e}] → scalar`,
      setup() {
        const logits = rand([b, e, e, r], 8, 3);
        const { pairMask, labels } = pairsAndLabels(z);
        const loss = name === 'adaptiveThresholdLoss' ? adaptiveThresholdLoss : balancedSoftmaxLoss;
        return {
          forward: () => loss(logits, labels, pairMask),
          backward: () => tf.grads((x: tf.Tensor) => loss(x, labels, pairMask))([logits]),
          dispose: () => tf.dispose([logits, pairMask, labels]),
        };
      },
    })),
    {
      name: 'multiHeadAttention (core)',
      shape: `q = k = v [${b},${n},${d}], ${h} heads → [${b},${n},${d}]`,
      setup() {
        const x = rand([b, n, d], 9);
        const lin = (s: number) => ({ kernel: rand([d, d], s, 0.05), bias: tf.zeros([d]) });
        const p: MultiHeadAttentionParams = { query: lin(10), key: lin(11), value: lin(12), output: lin(13) };
        const mask = tf.ones([b, 1, 1, n]);
        const f = (a: tf.Tensor) => multiHeadAttention(a, a, a, mask, p, h);
        return {
          forward: () => f(x),
          backward: () => tf.grads((a: tf.Tensor) => f(a).sum())([x]),
          dispose: () => tf.dispose([x, mask, ...Object.values(p).flatMap((l) => [l.kernel, l.bias!])]),
        };
      },
    },
  ];
}

await benchMain(
  import.meta.url,
  'bench/layers.ts',
  (quick) => cases(quick ? QUICK : FULL),
  (quick, z = quick ? QUICK : FULL) =>
    `## Foundation layers (${quick ? 'quick' : 'DocRED scale'}: b = ${z.b}, e = ${z.e}, n = ${z.n}, ` +
    `d = ${z.d}, r = ${z.r}, h = ${z.h}, m = ${z.m}, group-bilinear k = ${z.k})`,
);
