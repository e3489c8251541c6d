/**
 * The layer toolkit every module in src/heads and src/losses builds on: dense / LayerNorm / FFN
 * over parameter records, the layer-variable creators of functional layers and the `readVars`
 * that reads them, the input unpacking of multi-input layers (`tensorsOf` / `shapesOf`, one
 * error form), the initializer names of layer configs, the one masked mean of the losses, and the
 * seeded sampling (identical on every backend).
 *
 * @example
 * const p = { kernel: tf.randomNormal([8, 4]), bias: tf.zeros([4]) };
 * dense(tf.ones([2, 3, 8]), p).shape; // [2, 3, 4]
 * maskedMean(tf.tensor([1, 2, 3]), tf.tensor([1, 1, 0])).dataSync(); // [1.5]
 */
import * as tf from '@tensorflow/tfjs';
import { prng } from './initializers.js';
import { ArgumentError, ShapeError } from './errors.js';

/** tfjs' `LayerArgs` (not re-exported by the tfjs union package). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** `{kernel [in,out], bias [out]}` of a dense projection. */
export interface DenseParams {
  kernel: tf.Tensor;
  bias: tf.Tensor;
}

/** `{gamma [d], beta [d]}` of a LayerNorm. */
export interface NormParams {
  gamma: tf.Tensor;
  beta: tf.Tensor;
}

/** Position-wise FFN `relu(x·W1 + b1)·W2 + b2` (two dense layers). */
export interface FFNParams {
  inner: DenseParams;
  outer: DenseParams;
}

/** x [.., in] · kernel [in, out] + bias [out] → [.., out], via one 2-D matmul (no bias: linear). */
export function dense(x: tf.Tensor, p: { readonly kernel: tf.Tensor; readonly bias?: tf.Tensor }): tf.Tensor {
  const inDim = x.shape[x.rank - 1]!;
  const outDim = p.kernel.shape[1]!;
  // [.., in] → [N, in] → [N, out] → [.., out]
  const y = tf.matMul(x.reshape([-1, inDim]), p.kernel as tf.Tensor2D);
  return (p.bias ? y.add(p.bias) : y).reshape([...x.shape.slice(0, -1), outDim]);
}

/** LayerNorm over the last axis: `(x − mean) / sqrt(var + eps) · gamma + beta`. */
export function layerNorm(x: tf.Tensor, p: NormParams, epsilon = 1e-5): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x
    .sub(mean)
    .mul(tf.rsqrt(variance.add(epsilon)))
    .mul(p.gamma)
    .add(p.beta);
}

/** FFN: `relu(x·W1 + b1)·W2 + b2`, x [.., d] → [.., d]. */
export function feedForward(x: tf.Tensor, p: FFNParams): tf.Tensor {
  return dense(tf.relu(dense(x, p.inner)), p.outer);
}

/** `Layer.addWeight` as the creators below call it. */
export type AddWeight = (
  name: string,
  shape: number[],
  init: ReturnType<typeof tf.initializers.zeros>,
) => tf.LayerVariable;

/** Creates `{kernel, bias}` layer variables `<name>/kernel [in,out]`, `<name>/bias [out]`. */
export function addDense(add: AddWeight, name: string, inDim: number, outDim: number) {
  return {
    kernel: add(`${name}/kernel`, [inDim, outDim], tf.initializers.glorotUniform({})),
    bias: add(`${name}/bias`, [outDim], tf.initializers.zeros()),
  };
}

/** Creates `{gamma, beta}` layer variables of a LayerNorm over d. */
export function addNorm(add: AddWeight, name: string, d: number) {
  return {
    gamma: add(`${name}/gamma`, [d], tf.initializers.ones()),
    beta: add(`${name}/beta`, [d], tf.initializers.zeros()),
  };
}

/** Creates the two dense layers of an FFN d → f → d. */
export function addFFN(add: AddWeight, name: string, d: number, f: number) {
  return { inner: addDense(add, `${name}/inner`, d, f), outer: addDense(add, `${name}/outer`, f, d) };
}

/** The layer variables of a parameter record: every tensor (in nested records and arrays) a LayerVariable. */
export type LayerVars<T> = T extends tf.Tensor
  ? tf.LayerVariable
  : T extends (infer U)[]
    ? LayerVars<U>[]
    : { [K in keyof T]: LayerVars<T[K]> };

/** Reads a (possibly nested) record of LayerVariables into the same shape of tensors. */
export type ReadVars<T> = T extends tf.LayerVariable ? tf.Tensor : { [K in keyof T]: ReadVars<T[K]> };
export function readVars<T>(vars: T): ReadVars<T> {
  if (vars instanceof tf.LayerVariable) return vars.read() as ReadVars<T>;
  if (Array.isArray(vars)) return vars.map((v) => readVars(v)) as unknown as ReadVars<T>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(vars as Record<string, unknown>)) out[k] = readVars(v);
  return out as ReadVars<T>;
}

/** mulberry32: a small seeded PRNG, uniform [0, 1), identical on every backend. */
export const seededRandom: (seed: number) => () => number = prng;

/**
 * Mean of per-pair (per-node) values `[..]` over the entries where `mask` `[..]` is 1, over all
 * entries without a mask; 0 when there are none.
 */
export function maskedMean(perPair: tf.Tensor, mask?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    if (!mask) return perPair.size === 0 ? tf.scalar(0) : (tf.mean(perPair) as tf.Scalar);
    if (mask.shape.join() !== perPair.shape.join())
      throw new ShapeError('mask', `[${perPair.shape.join(', ')}]`, mask.shape);
    const m = mask.toFloat();
    return tf.sum(perPair.mul(m)).div(tf.maximum(tf.sum(m), 1)) as tf.Scalar;
  });
}

/**
 * Chooses `round(ratio · #real pairs)` real pairs per document uniformly at random, on the
 * device (no read-back, so it runs synchronously on WebGPU too): each pair gets a distinct random
 * rank from a seeded JS permutation (identical on every backend); per document, the real pairs
 * with the smallest ranks are taken (threshold = the count-th smallest rank, found with topk).
 * @param pairMask [b,e,e] @returns [b,e,e] float32 0/1
 */
export function choosePairs(pairMask: tf.Tensor, ratio: number, seed: number): tf.Tensor3D {
  const [b, e] = pairMask.shape as [number, number, number];
  const n = e * e;
  const kMax = Math.min(n, Math.floor(ratio * e * (e - 1) + 0.5));
  if (kMax === 0) return tf.zeros([b, e, e]);
  const rand = seededRandom(seed);
  const ranks = new Float32Array(b * n);
  for (let i = 0; i < b; i++) {
    const perm = Array.from({ length: n }, (_, j) => j);
    for (let j = n - 1; j > 0; j--) {
      const u = Math.floor(rand() * (j + 1));
      [perm[j], perm[u]] = [perm[u]!, perm[j]!];
    }
    ranks.set(perm, i * n);
  }
  return tf.tidy(() => {
    const real = pairMask.reshape([b, n]).greater(0);
    const key = tf.where(real, tf.tensor2d(ranks, [b, n]), tf.fill([b, n], n)); // non-real last
    const count = tf.floor(real.toFloat().sum(-1).mul(ratio).add(0.5)); // [b]
    const smallest = tf.neg(tf.topk(tf.neg(key), kMax).values); // [b,kMax] ascending ranks
    const offsets = tf.tensor1d(
      Array.from({ length: b }, (_, i) => i * kMax),
      'int32',
    );
    const at = offsets.add(tf.maximum(count.sub(1), 0).toInt());
    const threshold = tf.gather(smallest.reshape([b * kMax]), at).reshape([b, 1]);
    const chosen = real.logicalAnd(key.lessEqual(threshold)).logicalAnd(count.reshape([b, 1]).greater(0));
    return chosen.toFloat().reshape([b, e, e]) as tf.Tensor3D;
  });
}

/** Seeded uniform [0,1) tensor of the given shape (identical on every backend). */
export function seededUniform(shape: number[], seed: number): tf.Tensor {
  const rand = seededRandom(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, c) => a * c, 1) }, rand), shape);
}

/** Throws `ArgumentError` unless the optional FFN hidden width `ffnDim` is a positive integer. */
export function checkFFNDim(ffnDim: number | undefined): void {
  if (ffnDim !== undefined && !(Number.isInteger(ffnDim) && ffnDim > 0))
    throw new ArgumentError('ffnDim', 'a positive integer', ffnDim);
}

/** The `ffnDim` (only when set) and `epsilon` entries of an FFN-bearing layer's `getConfig`. */
export function ffnConfig(ffnDim: number | undefined, epsilon: number): tf.serialization.ConfigDict {
  return { ...(ffnDim !== undefined ? { ffnDim } : {}), epsilon };
}

type Initializer = ReturnType<typeof tf.initializers.zeros>;

/**
 * The input tensors of a layer taking `n` inputs (one tensor counts as a list of one), or an
 * error naming the layer, the inputs it takes (`names`, e.g. `'[x, pairMask]'`) and the count.
 *
 * @example
 * const [x, pairMask] = tensorsOf(inputs, 2, this.name, '[x, pairMask]');
 * // one tensor: "IMSALayer inputs [x, pairMask]: expected a list of 2 inputs, got 1"
 */
export function tensorsOf(
  inputs: tf.Tensor | tf.Tensor[],
  n: number,
  layer: string,
  names = '',
): tf.Tensor[] {
  return counted(Array.isArray(inputs) ? inputs : [inputs], n, layer, names);
}

/** The input shapes of a layer taking `n` inputs, checked as {@link tensorsOf} checks tensors. */
export function shapesOf(
  inputShape: tf.Shape | tf.Shape[],
  n: number,
  layer: string,
  names = '',
): tf.Shape[] {
  const one = !Array.isArray(inputShape[0]) && inputShape.length > 0;
  return counted(one ? [inputShape as tf.Shape] : (inputShape as tf.Shape[]), n, layer, names);
}

function counted<T>(list: T[], n: number, layer: string, names: string): T[] {
  if (list.length !== n)
    throw new ArgumentError(
      `${layer} inputs${names ? ` ${names}` : ''}`,
      `a list of ${n} inputs`,
      list.length,
    );
  return list;
}

/** The initializers a docre-kit layer config may name. */
export type InitializerName =
  'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal' | 'leCunUniform' | 'zeros';

/** Maps an {@link InitializerName} to a tfjs initializer (rejecting unknown names). */
export function initializerFromName(name: InitializerName, argument = 'kernelInitializer'): Initializer {
  switch (name) {
    case 'glorotUniform':
      return tf.initializers.glorotUniform({});
    case 'glorotNormal':
      return tf.initializers.glorotNormal({});
    case 'heUniform':
      return tf.initializers.heUniform({});
    case 'heNormal':
      return tf.initializers.heNormal({});
    case 'leCunUniform':
      return tf.initializers.leCunUniform({});
    case 'zeros':
      return tf.initializers.zeros();
    default:
      throw new ArgumentError(
        argument,
        'glorotUniform | glorotNormal | heUniform | heNormal | leCunUniform | zeros',
        name,
      );
  }
}

/** The last dimension of a shape, checked to be divisible by `divisible`. */
export function lastDim(s: tf.Shape, what: string, divisible = 1): number {
  const d = s[s.length - 1];
  if (d == null || d % divisible !== 0)
    throw new ShapeError(
      what,
      `[.., d] with d divisible by ${divisible}`,
      s.map((v) => v ?? -1),
    );
  return d;
}

/** Base class of the functional layers: owns a nested record of variables (`LayerVars<P>`), read into tensors by `params()`. */
export abstract class ParamLayer<P> extends tf.layers.Layer {
  protected vars?: LayerVars<P>;
  protected adder(): AddWeight {
    return (n: string, s: number[], i: Initializer) => this.addWeight(n, s, 'float32', i);
  }
  /** The current parameters as tensors (for calling the pure function directly). */
  params(): P {
    if (!this.vars)
      throw new ArgumentError(`${this.getClassName()}.params`, 'a built layer (call apply first)', 'unbuilt');
    return readVars(this.vars) as unknown as P;
  }
}
