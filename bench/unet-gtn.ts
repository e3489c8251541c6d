/**
 * DocuNet's U-Net and DocRE-BSI's GTN layer, forward and forward+backward (training mode), per
 * backend, at DocRED scale: U-Net on the official 42 × 42 grid (padded to 44 internally) with the
 * official widths (3 input channels, c = 256, output 256); one GTN layer with d = 768, n = 512 tokens
 * and v = 97 nodes (1 document + 54 mentions + 42 entities, DocRED's mean of 1.3 mentions per entity).
 *
 *   npx tsx bench/unet-gtn.ts                 # full size, cpu + wasm + webgpu (subprocess each)
 *   npx tsx bench/unet-gtn.ts --quick         # small sizes, seconds
 *   npx tsx bench/unet-gtn.ts --backends wasm --only unet
 *
 * WebGPU in Node runs on Dawn; with no GPU that is SwiftShader (a CPU rasteriser).
 */
import * as tf from '@tensorflow/tfjs';
import { benchMain, rand, type BenchCase } from './common.js';
import { uSegmentation, USegmentationLayer } from '../src/heads/unet.js';
import { GTNLayer, gtnLayer } from '../src/heads/gtn.js';
import { nodeReconstructionLoss } from '../src/losses/graph-losses.js';

interface Sizes {
  b: number;
  e: number;
  cIn: number;
  c: number;
  out: number;
  v: number;
  n: number;
  d: number;
}
const FULL: Sizes = { b: 1, e: 42, cIn: 3, c: 256, out: 256, v: 97, n: 512, d: 768 };
const QUICK: Sizes = { b: 1, e: 8, cIn: 3, c: 16, out: 16, v: 17, n: 64, d: 64 };

function cases(z: Sizes): BenchCase[] {
  const { b, e, cIn, c, out, v, n, d } = z;
  return [
    {
      name: 'uSegmentation (training)',
      shape: `x [${b},${e},${e},${cIn}], channels ${c}/${2 * c}, out ${out} → [${b},${e},${e},${out}]`,
      setup() {
        const layer = new USegmentationLayer({ channels: c, outChannels: out });
        layer.build([null, e, e, cIn]);
        const params = layer.params();
        const x = rand([b, e, e, cIn], 1);
        const f = (a: tf.Tensor) => uSegmentation(a, params, { training: true }).output;
        const weights = [params.inConv.conv1.kernel, params.up1.conv2.kernel, params.output.kernel];
        return {
          forward: () => f(x),
          // the kernels are used through `params`, the same tensors: their gradients come out too
          backward: () => tf.grads((a: tf.Tensor) => f(a).sum())([x, ...weights]),
          dispose: () => {
            x.dispose();
            layer.weights.forEach((w) => w.dispose());
          },
        };
      },
    },
    {
      name: 'gtnLayer + reconstruction loss',
      shape: `nodes [${b},${v},${d}], tokens [${b},${n},${d}] → [${b},${v},${d}]`,
      setup() {
        const layer = new GTNLayer();
        const nodes = rand([b, v, d], 2);
        const tokens = rand([b, n, d], 3);
        const adjacency = tf.tidy(() =>
          tf.randomUniform([b, 3, v, v], 0, 1, 'float32', 4).less(0.2).toFloat().maximum(tf.eye(v)),
        );
        const entityIds = tf.randomUniform([b, v], 0, 50, 'int32', 5);
        const sentenceIds = tf.randomUniform([b, v], 0, 30, 'int32', 6);
        const nodeMask = tf.ones([b, v]);
        const localMask = tf.tidy(() => tf.randomUniform([b, v, n], 0, 1, 'float32', 7).less(0.1).toFloat());
        const attentionMask = tf.ones([b, n]);
        const inputs = [nodes, adjacency, entityIds, sentenceIds, nodeMask, tokens, localMask, attentionMask];
        (layer.apply(inputs) as tf.Tensor).dispose();
        const p = layer.params();
        const graph = { adjacency, entityIds, sentenceIds, nodeMask };
        const toks = { tokens, localMask, attentionMask };
        const f = (x: tf.Tensor, t: tf.Tensor) => gtnLayer({ ...graph, nodes: x }, { ...toks, tokens: t }, p);
        return {
          forward: () => f(nodes, tokens),
          backward: () =>
            tf.grads((x: tf.Tensor, t: tf.Tensor) => nodeReconstructionLoss(f(x, t), nodes, nodeMask))([
              nodes,
              tokens,
            ]),
          dispose: () => {
            tf.dispose(inputs);
            layer.weights.forEach((w) => w.dispose());
          },
        };
      },
    },
  ];
}

await benchMain(
  import.meta.url,
  'bench/unet-gtn.ts',
  (quick) => cases(quick ? QUICK : FULL),
  (quick, z = quick ? QUICK : FULL) =>
    `## U-Net and GTN (${quick ? 'quick' : 'DocRED scale'}: b = ${z.b}, e = ${z.e}, U-Net ${z.cIn} → ${z.c}/${2 * z.c} → ${z.out}; ` +
    `GTN v = ${z.v}, n = ${z.n}, d = ${z.d})`,
);
