/**
 * DocuNet's U-shaped segmentation module (Zhang et al. 2021, §3.3, eq. 6: `Y = U(W₃ F)`): the
 * entity-pair matrix `[b,e,e,c]` is read as a c-channel image (channels last, tfjs' NHWC) and
 * passed through a small U-Net.
 *
 *   inConv : double conv        c_in → c        (e × e)
 *   down1  : max-pool 2×2, double conv  c → 2c   (e/2)
 *   down2  : max-pool 2×2, double conv 2c → 2c   (e/4)
 *   up1    : bilinear ×2 (align corners), concat [skip ; up], double conv 4c → c   (e/2)
 *   up2    : bilinear ×2 (align corners), concat [skip ; up], double conv 2c → c/2 (e)
 *   output : 1×1 conv c/2 → outChannels
 * where "double conv" = (3×3 conv, pad 1 → BatchNorm → ReLU) × 2.
 *
 * How the official code differs from the paper (DESIGN.md, last section): the paper says the
 * channels double in each down block; the official `AttentionUNet` (down_channel 256) goes
 * 256 → 512 → 512 so that the upsampled map and the skip have the same width, and its up blocks
 * end at 256 and 128 channels before the 1×1 conv to 256. This file follows the official code
 * (`channels` = its `down_channel`). BatchNorm follows torch: `momentum` 0.1 is the weight of the
 * new batch statistic, `epsilon` 1e-5, moving variance updated with the unbiased batch variance.
 *
 * Any entity count e ≥ 1 (`padding: 'multiple-of-4'`, the default): the map is zero-padded at
 * the bottom/right to E = 4·⌈e/4⌉ and the output cropped back to e. `padding: 'official'`
 * reproduces the official code, which runs on a fixed 42 × 42 grid: floor pooling (42 → 21 → 10),
 * and after each upsampling a zero pad to the skip's size (torch `F.pad` with `diff // 2` before,
 * the rest after: 20 → 21); there E = max(e, 4) (the official code fails below 4). Use it with
 * official weights on the 42 grid; the two modes give the same result when e is a multiple of 4.
 *
 * Padding and BatchNorm. Every cell outside the real region is kept at zero before every conv
 * and pool (the internal padding always; padded entities when `mask` is given), and BatchNorm's
 * batch statistics are taken over real cells only. So the values stored in padded cells never
 * reach a real cell (and get zero gradient), a conv at the border of the real region sees zeros
 * exactly as torch's zero padding would, and max-pooling after ReLU equals torch's ceil-mode
 * pooling over the real cells. Without `mask`, padded entities are ordinary (zero-valued) cells:
 * they enter BatchNorm's statistics and the convolutions, as in the official code. One effect
 * cannot be masked away: bilinear upsampling with aligned corners interpolates over the whole
 * coarse grid, so the grid size E (hence how far e was padded) changes the result near the
 * border of the real region. Padding e' real entities to any e with 4·⌈e/4⌉ = 4·⌈e'/4⌉ (and a
 * mask) gives exactly the unpadded result; padding further does not.
 *
 * Dimension letters: b documents, e entities (padded), c channels.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkShape, ShapeError } from '../core/errors.js';
import { registerClass } from '../core/registry.js';
import type { LayerArgs } from '../core/layer-kit.js';

// ---------------------------------------------------------------------------------------------
// Parameters

/** A 3×3 convolution: `kernel [3,3,cIn,cOut]` (torch `weight.permute(2,3,1,0)`), `bias [cOut]`. */
export interface ConvParams {
  readonly kernel: tf.Tensor4D;
  readonly bias: tf.Tensor1D;
}

/** BatchNorm over the channel axis: all `[c]`. */
export interface BatchNormParams {
  readonly gamma: tf.Tensor1D;
  readonly beta: tf.Tensor1D;
  readonly movingMean: tf.Tensor1D;
  readonly movingVariance: tf.Tensor1D;
}

/** (conv → BatchNorm → ReLU) × 2. */
export interface DoubleConvParams {
  readonly conv1: ConvParams;
  readonly norm1: BatchNormParams;
  readonly conv2: ConvParams;
  readonly norm2: BatchNormParams;
}

/** All parameters of the U-Net; `output` is the 1×1 conv as a matrix `kernel [c/2, outChannels]`. */
export interface USegmentationParams {
  readonly inConv: DoubleConvParams;
  readonly down1: DoubleConvParams;
  readonly down2: DoubleConvParams;
  readonly up1: DoubleConvParams;
  readonly up2: DoubleConvParams;
  readonly output: { readonly kernel: tf.Tensor2D; readonly bias: tf.Tensor1D };
}

/** The five double-conv blocks in forward order (also the order of `batchStatistics`). */
export const U_BLOCKS = ['inConv', 'down1', 'down2', 'up1', 'up2'] as const;
export type UBlock = (typeof U_BLOCKS)[number];

/** Batch statistics of one BatchNorm in training mode: mean and unbiased variance, `[c]`. */
export interface BatchStatistics {
  readonly block: UBlock;
  readonly norm: 'norm1' | 'norm2';
  readonly mean: tf.Tensor1D;
  readonly variance: tf.Tensor1D;
}

export interface USegmentationOptions {
  /** Batch statistics (true) or moving statistics (false). Default false. */
  readonly training?: boolean;
  /**
   * `[b,e,e]` 1 for real cells; cells with 0 are treated as padding (see the module comment).
   * `entityMask_s · entityMask_o` keeps the diagonal (s, s) as an ordinary cell, as the official
   * code does; `pairMask` (s ≠ o) also blanks the diagonal.
   */
  readonly mask?: tf.Tensor;
  /** BatchNorm epsilon. Default 1e-5 (torch). */
  readonly epsilon?: number;
  /** How odd sizes are handled (module comment). Default 'multiple-of-4'. */
  readonly padding?: UPadding;
}

export type UPadding = 'multiple-of-4' | 'official';
export const U_PADDINGS: readonly UPadding[] = ['multiple-of-4', 'official'];

export interface USegmentationResult {
  /** `[b,e,e,outChannels]` */
  readonly output: tf.Tensor4D;
  /** Ten entries (5 blocks × 2 norms) in training mode, empty in inference mode. */
  readonly batchStatistics: BatchStatistics[];
}

// ---------------------------------------------------------------------------------------------
// Pure functions

interface Context {
  readonly training: boolean;
  readonly epsilon: number;
  readonly stats: BatchStatistics[];
}

/**
 * BatchNorm over axes [b, h, w] restricted to cells with `mask` 1.
 * @param x `[b,h,w,c]`
 * @param mask `[b,h,w,1]` 0/1
 */
export function maskedBatchNorm(
  x: tf.Tensor4D,
  mask: tf.Tensor4D,
  p: BatchNormParams,
  training: boolean,
  epsilon = 1e-5,
): { y: tf.Tensor4D; mean?: tf.Tensor1D; variance?: tf.Tensor1D } {
  if (!training) {
    const y = x.sub(p.movingMean).div(p.movingVariance.add(epsilon).sqrt()).mul(p.gamma).add(p.beta);
    return { y: y as tf.Tensor4D };
  }
  const count = mask.sum(); // number of real cells, scalar
  const mean = x.mul(mask).sum([0, 1, 2]).div(count) as tf.Tensor1D; // [c]
  const centered = x.sub(mean);
  const variance = centered.square().mul(mask).sum([0, 1, 2]).div(count) as tf.Tensor1D; // biased, [c]
  const y = centered.div(variance.add(epsilon).sqrt()).mul(p.gamma).add(p.beta) as tf.Tensor4D;
  // torch updates the moving variance with the unbiased estimate; n = 1 keeps the biased one (0)
  const unbiased = variance.mul(count.div(tf.maximum(count.sub(1), 1))) as tf.Tensor1D;
  return { y, mean, variance: unbiased };
}

/**
 * (3×3 conv, pad 1 → BatchNorm → ReLU) × 2, keeping cells with `mask` 0 at zero.
 * @param x `[b,h,w,cIn]`, zero where mask is 0
 * @param mask `[b,h,w,1]`
 * @returns `[b,h,w,cOut]`
 */
function doubleConv(
  x: tf.Tensor4D,
  mask: tf.Tensor4D,
  p: DoubleConvParams,
  block: UBlock,
  ctx: Context,
): tf.Tensor4D {
  let h = x;
  for (const [conv, norm, name] of [
    [p.conv1, p.norm1, 'norm1'],
    [p.conv2, p.norm2, 'norm2'],
  ] as const) {
    const z = tf.conv2d(h, conv.kernel, 1, 'same').add(conv.bias) as tf.Tensor4D; // [b,h,w,cOut]
    const bn = maskedBatchNorm(z, mask, norm, ctx.training, ctx.epsilon);
    if (bn.mean && bn.variance) ctx.stats.push({ block, norm: name, mean: bn.mean, variance: bn.variance });
    h = tf.relu(bn.y).mul(mask) as tf.Tensor4D;
  }
  return h;
}

/** 2×2 max-pool, stride 2: `[b,h,w,c] → [b,⌊h/2⌋,⌊w/2⌋,c]` (torch `MaxPool2d(2)`). */
function pool(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 2, 2, 'valid');
}

/**
 * Bilinear ×2 with aligned corners (torch `align_corners=True`), then zero-padded to `size` as the
 * official `Up` does (`diff // 2` before, the rest after): `[b,h,w,c] → [b,size,size,c]`, size ≥ 2h.
 */
function upsample(x: tf.Tensor4D, size: number): tf.Tensor4D {
  // A 1 × 1 map is replicated (what aligned corners give). Written as a tile because webgpu's
  // ResizeBilinearGrad (tfjs 4.22) returns wrong values for a 1 × 1 source with aligned corners.
  const up =
    x.shape[1] === 1 && x.shape[2] === 1
      ? tf.tile(x, [1, 2, 2, 1])
      : tf.image.resizeBilinear(x, [x.shape[1] * 2, x.shape[2] * 2], true);
  const diff = size - up.shape[1];
  if (diff === 0) return up;
  const side: [number, number] = [diff >> 1, diff - (diff >> 1)];
  return tf.pad(up, [[0, 0], side, side, [0, 0]]);
}

/**
 * DocuNet U-Net (§3.3): see the module comment for the blocks, padding and masking.
 *
 * @param x `[b,e,e,cIn]` entity-pair feature map (row = subject, column = object), float32
 * @param params {@link USegmentationParams}
 * @param options training mode, pair mask `[b,e,e]`, epsilon
 * @returns `output [b,e,e,outChannels]` (zero at pairs with mask 0) and, in training mode, the
 *   batch statistics of the ten BatchNorms (the caller updates the moving statistics).
 *
 * @example
 * const { output } = uSegmentation(x, params, { training: false });
 */
export function uSegmentation(
  x: tf.Tensor,
  params: USegmentationParams,
  options: USegmentationOptions = {},
): USegmentationResult {
  const { b, e } = checkShape('x', x.shape, ['b', 'e', 'e', null]);
  const cIn = params.inConv.conv1.kernel.shape[2];
  if (x.shape[3] !== cIn)
    throw new ShapeError('x', `[b, e, e, ${cIn}] (inConv.conv1.kernel input channels)`, x.shape);
  if (options.mask) checkShape('mask', options.mask.shape, [b!, e!, e!]);
  const ctx: Context = { training: options.training ?? false, epsilon: options.epsilon ?? 1e-5, stats: [] };
  const padding = options.padding ?? 'multiple-of-4';
  if (!U_PADDINGS.includes(padding)) throw new ArgumentError('padding', U_PADDINGS.join(' | '), padding);
  const E = padding === 'official' ? Math.max(e!, 4) : 4 * Math.ceil(e! / 4);
  const pad: [number, number][] = [
    [0, 0],
    [0, E - e!],
    [0, E - e!],
    [0, 0],
  ];
  const output = tf.tidy(() => {
    const real = options.mask ? options.mask.toFloat().expandDims(3) : tf.ones([b!, e!, e!, 1]);
    const m0 = tf.pad(real, pad) as tf.Tensor4D; // [b,E,E,1]
    const m1 = pool(m0); // [b,E/2,E/2,1] (floor): a coarse cell is real when any cell under it is
    const m2 = pool(m1); // [b,E/4,E/4,1] (floor)
    const x0 = tf.pad(x, pad).mul(m0) as tf.Tensor4D; // [b,E,E,cIn]
    const x1 = doubleConv(x0, m0, params.inConv, 'inConv', ctx); // [b,E,E,c]
    const x2 = doubleConv(pool(x1), m1, params.down1, 'down1', ctx); // [b,E/2,E/2,2c]
    const x3 = doubleConv(pool(x2), m2, params.down2, 'down2', ctx); // [b,E/4,E/4,2c]
    const u1 = tf.concat([x2, upsample(x3, x2.shape[1]).mul(m1)], 3) as tf.Tensor4D; // [b,E/2,E/2,4c]
    const y1 = doubleConv(u1, m1, params.up1, 'up1', ctx); // [b,E/2,E/2,c]
    const u2 = tf.concat([x1, upsample(y1, E).mul(m0)], 3) as tf.Tensor4D; // [b,E,E,2c]
    const y2 = doubleConv(u2, m0, params.up2, 'up2', ctx); // [b,E,E,c/2]
    const out = tf.matMul(y2.reshape([-1, y2.shape[3]]), params.output.kernel).add(params.output.bias); // [b·E·E, out]
    const full = out.reshape([b!, E, E, params.output.kernel.shape[1]]).mul(m0); // [b,E,E,out]
    const y = full.slice([0, 0, 0, 0], [b!, e!, e!, -1]) as tf.Tensor4D;
    return { y, means: ctx.stats.map((s) => s.mean), variances: ctx.stats.map((s) => s.variance) };
  });
  const batchStatistics = ctx.stats.map((s, i) => ({
    ...s,
    mean: output.means[i]!,
    variance: output.variances[i]!,
  }));
  return { output: output.y, batchStatistics };
}

// ---------------------------------------------------------------------------------------------
// Layer

export interface USegmentationLayerArgs extends LayerArgs {
  /** Width of the first block (official `down_channel`); the blocks use c, 2c, 2c, c, c/2. Default 256. */
  channels?: number;
  /** Channels of the 1×1 output conv (official `unet_out_dim`). Default 256. */
  outChannels?: number;
  /** Weight of the new batch statistic in the moving averages (torch convention). Default 0.1. */
  momentum?: number;
  /** BatchNorm epsilon. Default 1e-5. */
  epsilon?: number;
  /** 'multiple-of-4' (default) or 'official' (floor pooling + pad after upsampling, module comment). */
  padding?: UPadding;
}

type Var = tf.LayerVariable;
interface DoubleConvVars {
  conv1: { kernel: Var; bias: Var };
  norm1: { gamma: Var; beta: Var; movingMean: Var; movingVariance: Var };
  conv2: { kernel: Var; bias: Var };
  norm2: { gamma: Var; beta: Var; movingMean: Var; movingVariance: Var };
}

/**
 * DocuNet's U-shaped segmentation module as a layer: `apply(x)` or `apply([x, mask])` with
 * `x [b,e,e,cIn]`, `mask [b,e,e]`; kwargs `{training}` selects batch statistics and updates the
 * moving statistics. Weight names: `<block>/conv1/kernel`, `<block>/norm1/gamma`, …, `output/kernel`.
 *
 * @example
 * const unet = new USegmentationLayer({ channels: 256, outChannels: 256 });
 * const y = unet.apply(x, { training: true }) as tf.Tensor4D; // [b,e,e,256]
 */
export class USegmentationLayer extends tf.layers.Layer {
  static className = 'USegmentationLayer';
  readonly channels: number;
  readonly outChannels: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly padding: UPadding;
  private vars?: { blocks: Record<UBlock, DoubleConvVars>; output: { kernel: Var; bias: Var } };

  constructor(args: USegmentationLayerArgs = {}) {
    super(args);
    this.channels = args.channels ?? 256;
    this.outChannels = args.outChannels ?? 256;
    this.momentum = args.momentum ?? 0.1;
    this.epsilon = args.epsilon ?? 1e-5;
    this.padding = args.padding ?? 'multiple-of-4';
    if (!U_PADDINGS.includes(this.padding))
      throw new ArgumentError('padding', U_PADDINGS.join(' | '), args.padding);
    if (!Number.isInteger(this.channels) || this.channels < 2 || this.channels % 2 !== 0)
      throw new ArgumentError('channels', 'an even integer ≥ 2', args.channels);
    if (!Number.isInteger(this.outChannels) || this.outChannels < 1)
      throw new ArgumentError('outChannels', 'a positive integer', args.outChannels);
    if (!(this.momentum >= 0 && this.momentum <= 1))
      throw new ArgumentError('momentum', 'a number in [0, 1]', args.momentum);
    if (!(this.epsilon > 0)) throw new ArgumentError('epsilon', 'a positive number', args.epsilon);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const xShape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const cIn = xShape[3];
    if (xShape.length !== 4 || cIn == null)
      throw new ShapeError('x', '[b, e, e, cIn] with cIn known', String(xShape));
    const c = this.channels;
    const widths: Record<UBlock, [number, number]> = {
      inConv: [cIn, c],
      down1: [c, 2 * c],
      down2: [2 * c, 2 * c],
      up1: [4 * c, c],
      up2: [2 * c, c / 2],
    };
    const fanIn = tf.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform' }); // torch default
    const blocks = {} as Record<UBlock, DoubleConvVars>;
    for (const block of U_BLOCKS) {
      const [inC, outC] = widths[block];
      const conv = (name: string, k: number) => ({
        kernel: this.addWeight(`${block}/${name}/kernel`, [3, 3, k, outC], 'float32', fanIn),
        bias: this.addWeight(`${block}/${name}/bias`, [outC], 'float32', tf.initializers.zeros()),
      });
      const norm = (name: string) => ({
        gamma: this.addWeight(`${block}/${name}/gamma`, [outC], 'float32', tf.initializers.ones()),
        beta: this.addWeight(`${block}/${name}/beta`, [outC], 'float32', tf.initializers.zeros()),
        movingMean: this.addWeight(
          `${block}/${name}/movingMean`,
          [outC],
          'float32',
          tf.initializers.zeros(),
          undefined,
          false,
        ),
        movingVariance: this.addWeight(
          `${block}/${name}/movingVariance`,
          [outC],
          'float32',
          tf.initializers.ones(),
          undefined,
          false,
        ),
      });
      blocks[block] = {
        conv1: conv('conv1', inC),
        norm1: norm('norm1'),
        conv2: conv('conv2', outC),
        norm2: norm('norm2'),
      };
    }
    const output = {
      kernel: this.addWeight('output/kernel', [c / 2, this.outChannels], 'float32', fanIn),
      bias: this.addWeight('output/bias', [this.outChannels], 'float32', tf.initializers.zeros()),
    };
    this.vars = { blocks, output };
    this.built = true;
  }

  /** The current parameters as tensors (the variables themselves, not copies). */
  params(): USegmentationParams {
    if (!this.vars)
      throw new ArgumentError('USegmentationLayer', 'a built layer (call apply or build first)', 'unbuilt');
    const read = (o: Record<string, Var>): Record<string, tf.Tensor> =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.read()]));
    const blocks = Object.fromEntries(
      U_BLOCKS.map((blk) => {
        const v = this.vars!.blocks[blk];
        return [
          blk,
          { conv1: read(v.conv1), norm1: read(v.norm1), conv2: read(v.conv2), norm2: read(v.norm2) },
        ];
      }),
    );
    return { ...blocks, output: read(this.vars.output) } as unknown as USegmentationParams;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const xShape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [xShape[0] ?? null, xShape[1] ?? null, xShape[2] ?? null, this.outChannels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const [x, mask] = Array.isArray(inputs) ? inputs : [inputs];
      const training = kwargs?.training ?? false;
      const { output, batchStatistics } = uSegmentation(x!, this.params(), {
        training,
        mask,
        epsilon: this.epsilon,
        padding: this.padding,
      });
      for (const s of batchStatistics) {
        const v = this.vars!.blocks[s.block][s.norm];
        const mix = (old: Var, batch: tf.Tensor) =>
          old.write(
            tf.tidy(() =>
              old
                .read()
                .mul(1 - this.momentum)
                .add(batch.mul(this.momentum)),
            ),
          );
        mix(v.movingMean, s.mean);
        mix(v.movingVariance, s.variance);
      }
      return output;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      channels: this.channels,
      outChannels: this.outChannels,
      momentum: this.momentum,
      epsilon: this.epsilon,
      padding: this.padding,
    };
  }
}
registerClass(USegmentationLayer);
