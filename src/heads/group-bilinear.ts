/**
 * Group bilinear classifier (ATLOP, Zhou et al., 2021, §2.2, eq. 5; DocuNet eq. 9 uses it too).
 *
 * The d hidden units are split into g = d/k groups of k; the bilinear features of a pair are
 * the per-group outer products: feature `g·k·k + i·k + j` = `zs[g·k+i] · zo[g·k+j]` (the
 * layout of ATLOP's `(b1.unsqueeze(3) * b2.unsqueeze(2)).view(-1, emb·bs)`), and
 * `logits = features · kernel + bias`, kernel `[d·k, r]` (ATLOP: 768·64 = 49152 → 97).
 *
 * The layer is the bilinear map only: ATLOP's extractors `zs = tanh(W_s[e_s; c_so])`,
 * `zo = tanh(W_o[e_o; c_so])` (eqs. 3–4) are ordinary dense layers applied by the caller.
 *
 * Memory: the features of P pairs take P·d·k floats (42·42 pairs · 49152 = 87 M floats), so
 * pairs are processed in chunks of at most `maxChunkElements` feature values, forward AND
 * backward: the gradient is a custom one that recomputes each chunk's features instead of
 * keeping all of them on the tape.
 *
 * Dimension letters: d hidden · k block size · r relation classes; `..` any leading dims
 * (typically `[b, e, e]`).
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkShape, ShapeError } from '../core/errors.js';
import { registerClass } from '../core/registry.js';
import {
  initializerFromName,
  shapesOf,
  tensorsOf,
  type LayerArgs,
  type InitializerName,
} from '../core/layer-kit.js';

export type { InitializerName } from '../core/layer-kit.js';

/** Parameters of {@link groupBilinear}. */
export interface GroupBilinearParams {
  /** [d·k, r] */
  readonly kernel: tf.Tensor2D;
  /** [r], optional */
  readonly bias?: tf.Tensor1D;
}

/** Options of {@link groupBilinear}. */
export interface GroupBilinearOptions {
  /**
   * Largest number of feature values (pairs × d·k) materialised at once, forward or backward.
   * Default 2^24 (64 MiB of float32): 42·42 pairs × 768 × 64 runs in 6 chunks.
   */
  readonly maxChunkElements?: number;
}

export const DEFAULT_MAX_CHUNK_ELEMENTS = 2 ** 24;

/** Bilinear features of P pairs: [P, d] × [P, d] → [P, d·k], index g·k·k + i·k + j. */
function groupFeatures(zs: tf.Tensor2D, zo: tf.Tensor2D, k: number): tf.Tensor2D {
  const [p, d] = zs.shape;
  const g = d / k;
  // tidy: the returned reshape is the only handle on the product, so disposing it frees the memory
  return tf.tidy(
    () =>
      zs
        .reshape([p, g, k, 1])
        .mul(zo.reshape([p, g, 1, k]))
        .reshape([p, d * k]) as tf.Tensor2D,
  ); // [P,g,k,k] → [P,d·k]
}

/** [start, size] row ranges covering P rows, `rows` at a time. */
function chunkRanges(p: number, rows: number): [number, number][] {
  const out: [number, number][] = [];
  for (let start = 0; start < p; start += rows) out.push([start, Math.min(rows, p - start)]);
  return out;
}

/**
 * Group bilinear logits `features(zs, zo) · kernel + bias` (ATLOP eq. 5), computed in chunks of
 * pairs so that at most `maxChunkElements` feature values exist at once (forward and backward).
 *
 * @param zs [.., d] float32 subject representations
 * @param zo [.., d] float32 object representations (same shape as zs)
 * @param params kernel [d·k, r], bias? [r]
 * @param blockSize k, must divide d
 * @returns [.., r]
 *
 * @example
 * const zs = tf.randomNormal([2, 5, 5, 768]), zo = tf.randomNormal([2, 5, 5, 768]);
 * const kernel = tf.randomNormal([768 * 64, 97]) as tf.Tensor2D;
 * groupBilinear(zs, zo, { kernel }, 64); // [2, 5, 5, 97]
 */
export function groupBilinear(
  zs: tf.Tensor,
  zo: tf.Tensor,
  params: GroupBilinearParams,
  blockSize: number,
  options: GroupBilinearOptions = {},
): tf.Tensor {
  const d = zs.shape[zs.rank - 1] ?? 0;
  if (zs.rank < 1) throw new ShapeError('zs', '[.., d]', zs.shape);
  if (zo.shape.join() !== zs.shape.join())
    throw new ShapeError('zo', `[${zs.shape.join(', ')}] (the shape of zs)`, zo.shape);
  if (!Number.isInteger(blockSize) || blockSize < 1 || d % blockSize !== 0)
    throw new ArgumentError('blockSize', `a positive integer dividing d = ${d}`, blockSize);
  const k = blockSize;
  const { r } = checkShape('kernel', params.kernel.shape, [d * k, 'r']) as { r: number };
  if (params.bias) checkShape('bias', params.bias.shape, [r]);
  const budget = options.maxChunkElements ?? DEFAULT_MAX_CHUNK_ELEMENTS;
  if (!(budget >= 1)) throw new ArgumentError('maxChunkElements', 'a number >= 1', budget);
  const lead = zs.shape.slice(0, -1);
  const p = lead.reduce((a, x) => a * x, 1);
  const rows = Math.max(1, Math.floor(budget / (d * k)));

  const bilinear = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [s, o, kernel] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const save = args[3] as tf.GradSaveFunc;
    save([s, o, kernel]);
    const parts = chunkRanges(p, rows).map(([start, size]) =>
      tf.tidy(() =>
        tf.matMul(groupFeatures(s.slice([start, 0], [size, d]), o.slice([start, 0], [size, d]), k), kernel),
      ),
    ); // each [Pc, r]
    const value =
      parts.length === 0 ? tf.zeros([0, r]) : parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
    if (parts.length > 1) tf.dispose(parts);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [s2, o2, kernel2] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const g = d / k;
        const kernelT = kernel2.transpose(); // [r, d·k]: a plain matmul is faster than transposeB on wasm
        let dKernel: tf.Tensor = tf.zeros([d * k, r]);
        const dS: tf.Tensor[] = [];
        const dO: tf.Tensor[] = [];
        for (const [start, size] of chunkRanges(p, rows)) {
          const [dk, ds, dob] = tf.tidy(() => {
            const sc = s2.slice([start, 0], [size, d]);
            const oc = o2.slice([start, 0], [size, d]);
            const dyc = (dy as tf.Tensor2D).slice([start, 0], [size, r]);
            // the chunk's features are released as soon as dKernel has them: peak ≈ 2 chunks
            const feats = groupFeatures(sc, oc, k); // [Pc, d·k]
            const dk = dKernel.add(tf.matMul(feats, dyc, true, false)); // [d·k, r]
            feats.dispose();
            const dF = tf.matMul(dyc, kernelT).reshape([size * g, k, k]); // [Pc·g, k(i), k(j)]
            const ds = tf.matMul(dF, oc.reshape([size * g, k, 1])).reshape([size, d]); // Σ_j dF_ij zo_j
            const dob = tf.matMul(dF, sc.reshape([size * g, k, 1]), true, false).reshape([size, d]); // Σ_i dF_ij zs_i
            return [dk, ds, dob];
          });
          dKernel.dispose();
          dKernel = dk;
          dS.push(ds);
          dO.push(dob);
        }
        kernelT.dispose();
        const cat = (xs: tf.Tensor[]) =>
          xs.length === 0 ? tf.zeros([0, d]) : xs.length === 1 ? xs[0]! : tf.concat(xs, 0);
        return [cat(dS), cat(dO), dKernel];
      },
    };
  });

  return tf.tidy(() => {
    const out = bilinear(zs.reshape([p, d]), zo.reshape([p, d]), params.kernel) as tf.Tensor2D; // [P, r]
    const withBias = params.bias ? out.add(params.bias) : out;
    return withBias.reshape([...lead, r]);
  });
}

/** Arguments of {@link GroupBilinearLayer}. */
export interface GroupBilinearLayerArgs extends LayerArgs {
  /** r, number of relation classes (including class 0). Required. */
  units: number;
  /** k, group size; must divide d. Default 64 (ATLOP). */
  blockSize?: number;
  /** Add a bias [r]. Default true. */
  useBias?: boolean;
  /** See {@link GroupBilinearOptions.maxChunkElements}. Default 2^24. */
  maxChunkElements?: number;
  /** Kernel initializer. Default 'glorotUniform'. */
  kernelInitializer?: InitializerName;
}

/**
 * Layer form of {@link groupBilinear}: owns `kernel [d·k, r]` and `bias [r]`.
 * `apply([zs [..,d], zo [..,d]]) → [..,r]`.
 *
 * @example
 * const classifier = new GroupBilinearLayer({ units: 97, blockSize: 64 });
 * const logits = classifier.apply([zs, zo]) as tf.Tensor; // [b, e, e, 97]
 */
export class GroupBilinearLayer extends tf.layers.Layer {
  static className = 'GroupBilinearLayer';
  readonly units: number;
  readonly blockSize: number;
  readonly useBias: boolean;
  readonly maxChunkElements: number;
  readonly kernelInitializer: InitializerName;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: GroupBilinearLayerArgs) {
    super(args);
    if (!Number.isInteger(args.units) || args.units < 1)
      throw new ArgumentError('units', 'a positive integer', args.units);
    this.units = args.units;
    this.blockSize = args.blockSize ?? 64;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1)
      throw new ArgumentError('blockSize', 'a positive integer', args.blockSize);
    this.useBias = args.useBias ?? true;
    this.maxChunkElements = args.maxChunkElements ?? DEFAULT_MAX_CHUNK_ELEMENTS;
    if (!(this.maxChunkElements >= 1))
      throw new ArgumentError('maxChunkElements', 'a number >= 1', args.maxChunkElements);
    this.kernelInitializer = args.kernelInitializer ?? 'glorotUniform';
    initializerFromName(this.kernelInitializer);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [zs] = shapesOf(inputShape, 2, this.name);
    const d = zs![zs!.length - 1];
    if (d == null || d % this.blockSize !== 0)
      throw new ShapeError(
        'zs',
        `[.., d] with d divisible by blockSize ${this.blockSize}`,
        zs!.map((x) => x ?? -1),
      );
    this.kernel = this.addWeight(
      'kernel',
      [d * this.blockSize, this.units],
      'float32',
      initializerFromName(this.kernelInitializer),
    );
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [zs] = shapesOf(inputShape, 2, this.name);
    return [...zs!.slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [zs, zo] = tensorsOf(inputs, 2, this.name);
      const params: GroupBilinearParams = {
        kernel: this.kernel!.read() as tf.Tensor2D,
        ...(this.bias ? { bias: this.bias.read() as tf.Tensor1D } : {}),
      };
      return groupBilinear(zs!, zo!, params, this.blockSize, { maxChunkElements: this.maxChunkElements });
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      blockSize: this.blockSize,
      useBias: this.useBias,
      maxChunkElements: this.maxChunkElements,
      kernelInitializer: this.kernelInitializer,
    };
  }
}
registerClass(GroupBilinearLayer);
