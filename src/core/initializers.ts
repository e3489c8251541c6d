/**
 * Seeded weight initializers: thin wrappers over `tf.initializers` that take an optional seed, so
 * a layer built with a seed gets the same weights on every backend and every run (tfjs draws
 * seeded random numbers in JavaScript, not on the backend).
 *
 * A layer with several weights should not pass the same seed to each of them (they would come out
 * identical); it derives one seed per weight with {@link deriveSeed}.
 *
 * Fan-in / fan-out follow Keras: for a kernel `[din, dout]`, fanIn = din, fanOut = dout; for
 * conv kernels `[kh, kw, cin, cout]` both are multiplied by kh·kw.
 *
 * @example
 * const seed = 42;
 * this.kernel = this.addWeight('kernel', [d, r], 'float32', glorotUniform(deriveSeed(seed, 'kernel')));
 * this.bias = this.addWeight('bias', [r], 'float32', zeros());
 */
import * as tf from '@tensorflow/tfjs';

/** What `tf.layers.Layer.addWeight` accepts. */
export type Initializer = ReturnType<typeof tf.initializers.zeros>;

/** Glorot / Xavier uniform: U(−l, l), l = √(6 / (fanIn + fanOut)). The Keras default for kernels. */
export function glorotUniform(seed?: number): Initializer {
  return tf.initializers.glorotUniform(seed === undefined ? {} : { seed });
}

/**
 * Glorot / Xavier normal: N(0, 2 / (fanIn + fanOut)) truncated at 2σ. tfjs does not rescale σ after
 * truncating (Keras ≥ 2.3 does), so the actual variance is ≈ 0.774 · 2 / (fanIn + fanOut).
 */
export function glorotNormal(seed?: number): Initializer {
  return tf.initializers.glorotNormal(seed === undefined ? {} : { seed });
}

/** He normal: N(0, 2 / fanIn) truncated at 2σ (variance ≈ 0.774 · 2 / fanIn, as above); ReLU layers. */
export function heNormal(seed?: number): Initializer {
  return tf.initializers.heNormal(seed === undefined ? {} : { seed });
}

/** Truncated normal N(0, stddev²) cut at 2·stddev; BERT initialises with stddev 0.02. */
export function truncatedNormal(stddev = 0.02, seed?: number): Initializer {
  return tf.initializers.truncatedNormal(seed === undefined ? { stddev } : { stddev, seed });
}

/** All zeros (biases, LayerNorm β). */
export function zeros(): Initializer {
  return tf.initializers.zeros();
}

/** All ones (LayerNorm γ). */
export function ones(): Initializer {
  return tf.initializers.ones();
}

/**
 * A per-weight seed derived from a layer seed and the weight's name (FNV-1a of the name mixed
 * with the seed), so `deriveSeed(7, 'kernel') !== deriveSeed(7, 'bias')`. Returns undefined when
 * `seed` is undefined, so an unseeded layer stays unseeded.
 */
export function deriveSeed(seed: number | undefined, name: string): number | undefined {
  if (seed === undefined) return undefined;
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h >>> 0) % 2147483647;
}

/**
 * The initial value of a weight as a tensor, for the pure functions (which take parameters
 * explicitly) and for tests.
 * @example const kernel = initialValue(glorotUniform(1), [768, 97]); // [d, r]
 */
export function initialValue(init: Initializer, shape: number[], dtype: 'float32' = 'float32'): tf.Tensor {
  return init.apply(shape, dtype);
}

/** mulberry32: a deterministic uniform [0, 1) generator from a 32-bit seed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs `fn` with `Math.random` replaced by a seeded generator. tfjs' initializers without an
 * explicit seed (every `tf.layers` default) draw their seed from `Math.random`, so weights created
 * inside `fn` come out the same for the same seed, in any process.
 * @example const w = withSeededRandom(3, () => tf.initializers.glorotUniform({}).apply([4, 4]));
 */
export function withSeededRandom<T>(seed: number, fn: () => T): T {
  const saved = Math.random;
  Math.random = prng(seed);
  try {
    return fn();
  } finally {
    Math.random = saved;
  }
}
