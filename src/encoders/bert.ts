/**
 * BERT (Devlin et al., 2019) and RoBERTa (Liu et al., 2019) encoders, loading Hugging Face
 * checkpoints (`config.json` + `model.safetensors` + `tokenizer.json`). SciBERT is a BERT.
 *
 * The arithmetic follows transformers' `modeling_bert.py` / `modeling_roberta.py` line by line
 * (golden parity: test/fixtures/gen_bert.py):
 *
 *   x⁰  = LayerNorm(word[ids] + position[pos] + tokenType[0])          eps = layer_norm_eps
 *         BERT pos = 0..n−1; RoBERTa pos = padding_idx + cumsum(ids ≠ pad) on real tokens
 *   per layer (post-LN):
 *   A   = softmax(Q Kᵀ / √dh − 1e9·[key padded])   Q = x Wqᵀ + bq (per head, dh = d / h)
 *   a   = LayerNorm(concat_h(A V) Woᵀ + bo + x)
 *   x'  = LayerNorm(gelu(a Wiᵀ + bi) Wo2ᵀ + bo2 + a)                   gelu(x) = x·Φ(x) (exact erf)
 *
 * Dropout (training only) after the embeddings, on the attention probabilities and after both
 * output projections, as in transformers; the attention returned is the one multiplied with V,
 * i.e. after attention dropout when training (transformers' `output_attentions` does the same).
 * Token types are always 0 (DocRE models use single segments). Padded positions of the outputs
 * are zero (hidden rows and attention query rows), so that windowed and direct passes agree.
 *
 * Parameters keep the checkpoint names without the `bert.` / `roberta.` prefix
 * (`encoder.layer.3.attention.self.query.weight`) and the torch layout `[out, in]` for linear
 * weights, so that loading and saving are one-to-one with the file.
 *
 * Dimension letters: `b` documents, `n` tokens, `d` hidden, `h` heads, `v` vocabulary entries.
 */
import * as tf from '@tensorflow/tfjs';
import { Tokenizer } from '@huggingface/tokenizers';
import { ArgumentError, ShapeError, checkShape } from '../core/errors.js';
import { recompute } from '../core/gradients.js';
import { readSafetensors, writeSafetensors, type SafeTensorInput } from '../core/safetensors.js';
import { encodeHostInWindows, readHost, type EncodeOptions, type Encoder, type EncoderOutput } from './encoder.js';

/** The hyper-parameters of `config.json`, camelCased. */
export interface BertConfig {
  readonly modelType: 'bert' | 'roberta';
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  readonly intermediateSize: number;
  /** 'gelu' = exact erf GELU (BERT, RoBERTa); 'gelu_new' = tanh approximation; 'relu' */
  readonly hiddenAct: 'gelu' | 'gelu_new' | 'relu';
  readonly hiddenDropoutProb: number;
  readonly attentionProbsDropoutProb: number;
  readonly maxPositionEmbeddings: number;
  readonly typeVocabSize: number;
  readonly layerNormEps: number;
  readonly padTokenId: number;
  /** other config.json keys, written back unchanged by `save` */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** A checkpoint that does not match its config: lists every offending name. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

const SUPPORTED_TYPES = ['bert', 'roberta'] as const;
const SUPPORTED_ACTS = ['gelu', 'gelu_new', 'relu'] as const;

/**
 * Validates a parsed `config.json` (snake_case, as transformers writes it).
 * @param file used in error messages
 */
export function parseBertConfig(json: Record<string, unknown>, file = 'config.json'): BertConfig {
  const type = json['model_type'];
  if (!SUPPORTED_TYPES.includes(type as 'bert'))
    throw new ArgumentError(`${file} model_type`, `one of ${SUPPORTED_TYPES.join(', ')} (SciBERT is "bert")`, type);
  const pet = json['position_embedding_type'];
  if (pet !== undefined && pet !== 'absolute')
    throw new ArgumentError(`${file} position_embedding_type`, '"absolute"', pet);
  const int = (key: string, dflt?: number): number => {
    const v = json[key] ?? dflt;
    if (!Number.isInteger(v) || (v as number) < 0) throw new ArgumentError(`${file} ${key}`, 'a non-negative integer', v);
    return v as number;
  };
  const num = (key: string, dflt: number): number => {
    const v = json[key] ?? dflt;
    if (typeof v !== 'number' || !(v >= 0)) throw new ArgumentError(`${file} ${key}`, 'a non-negative number', v);
    return v;
  };
  const act = json['hidden_act'] ?? 'gelu';
  if (!SUPPORTED_ACTS.includes(act as 'gelu')) throw new ArgumentError(`${file} hidden_act`, SUPPORTED_ACTS.join(' | '), act);
  const roberta = type === 'roberta';
  const cfg: BertConfig = {
    modelType: type as 'bert' | 'roberta',
    vocabSize: int('vocab_size'),
    hiddenSize: int('hidden_size', 768),
    numHiddenLayers: int('num_hidden_layers', 12),
    numAttentionHeads: int('num_attention_heads', 12),
    intermediateSize: int('intermediate_size', 3072),
    hiddenAct: act as BertConfig['hiddenAct'],
    hiddenDropoutProb: num('hidden_dropout_prob', 0.1),
    attentionProbsDropoutProb: num('attention_probs_dropout_prob', 0.1),
    maxPositionEmbeddings: int('max_position_embeddings', roberta ? 514 : 512),
    typeVocabSize: int('type_vocab_size', roberta ? 1 : 2),
    layerNormEps: num('layer_norm_eps', roberta ? 1e-5 : 1e-12),
    padTokenId: int('pad_token_id', roberta ? 1 : 0),
    extra: Object.fromEntries(Object.entries(json).filter(([k]) => !CONFIG_KEYS.includes(k))),
  };
  if (cfg.hiddenSize % cfg.numAttentionHeads !== 0)
    throw new ArgumentError(`${file} hidden_size`, `a multiple of num_attention_heads = ${cfg.numAttentionHeads}`, cfg.hiddenSize);
  return cfg;
}

const CONFIG_KEYS = [
  'model_type',
  'vocab_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'hidden_act',
  'hidden_dropout_prob',
  'attention_probs_dropout_prob',
  'max_position_embeddings',
  'type_vocab_size',
  'layer_norm_eps',
  'pad_token_id',
];

/** `config.json` content for a config (inverse of `parseBertConfig`). */
export function bertConfigToJSON(c: BertConfig): Record<string, unknown> {
  return {
    ...(c.extra ?? {}),
    model_type: c.modelType,
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    intermediate_size: c.intermediateSize,
    hidden_act: c.hiddenAct,
    hidden_dropout_prob: c.hiddenDropoutProb,
    attention_probs_dropout_prob: c.attentionProbsDropoutProb,
    max_position_embeddings: c.maxPositionEmbeddings,
    type_vocab_size: c.typeVocabSize,
    layer_norm_eps: c.layerNormEps,
    pad_token_id: c.padTokenId,
  };
}

/** Tokens per window: RoBERTa's positions start at padding_idx + 1. */
export function bertMaxLength(c: BertConfig): number {
  return c.modelType === 'roberta' ? c.maxPositionEmbeddings - c.padTokenId - 1 : c.maxPositionEmbeddings;
}

/** Parameter names (checkpoint names without prefix) and shapes. */
export function bertParameterShapes(c: BertConfig): Map<string, number[]> {
  const d = c.hiddenSize;
  const I = c.intermediateSize;
  const s = new Map<string, number[]>([
    ['embeddings.word_embeddings.weight', [c.vocabSize, d]],
    ['embeddings.position_embeddings.weight', [c.maxPositionEmbeddings, d]],
    ['embeddings.token_type_embeddings.weight', [c.typeVocabSize, d]],
    ['embeddings.LayerNorm.weight', [d]],
    ['embeddings.LayerNorm.bias', [d]],
  ]);
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const p = `encoder.layer.${i}.`;
    for (const k of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) {
      s.set(`${p}${k}.weight`, [d, d]);
      s.set(`${p}${k}.bias`, [d]);
    }
    s.set(`${p}intermediate.dense.weight`, [I, d]);
    s.set(`${p}intermediate.dense.bias`, [I]);
    s.set(`${p}output.dense.weight`, [d, I]);
    s.set(`${p}output.dense.bias`, [d]);
    for (const k of ['attention.output.LayerNorm', 'output.LayerNorm']) {
      s.set(`${p}${k}.weight`, [d]);
      s.set(`${p}${k}.bias`, [d]);
    }
  }
  return s;
}

/** Checkpoint entries that are not encoder weights: task heads, pooler, buffers. */
const IGNORED = /^(pooler\.|cls\.|lm_head\.|classifier\.|qa_outputs\.|embeddings\.position_ids$)/;

/** Parameters by (prefix-less) checkpoint name. */
export type BertParams = Readonly<Record<string, tf.Tensor>>;

/**
 * Embedding lookup `table[ids]` whose gradient is one scatter-add (`scatterND` sums duplicate
 * indices) instead of tfjs' gather gradient, which uses UnsortedSegmentSum: on the cpu backend
 * that kernel loops over all v segments (a 29k-row vocabulary took minutes), and 4.22's wasm
 * backend lacks it.
 * @param table `[v, d]`
 * @param ids `[k]` int32
 * @returns `[k, d]`
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([ids]); // kept by the tape (ids may be a tidy-scoped tensor)
    return {
      value: tf.gather(t, ids),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.scatterND(saved[0]!.reshape([-1, 1]), dy as tf.Tensor, t.shape),
    };
  });
  return op(table) as tf.Tensor2D;
}

/** LayerNorm over the last axis: `(x − μ) / √(σ² + eps) · w + b`. */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).mul(tf.rsqrt(variance.add(eps))).mul(weight).add(bias);
}

/** Exact GELU `x · ½(1 + erf(x/√2))` (tf.erf has a gradient and a kernel on cpu, wasm, webgpu). */
export function geluErf(x: tf.Tensor): tf.Tensor {
  return x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5);
}

function activation(c: BertConfig, x: tf.Tensor): tf.Tensor {
  if (c.hiddenAct === 'gelu') return geluErf(x);
  if (c.hiddenAct === 'relu') return tf.relu(x);
  // gelu_new: 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³)))
  return x.mul(tf.tanh(x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1)).mul(0.5);
}

/** Options of `bertForward`: the encoder's, and per-layer gradient checkpointing. */
export interface BertForwardOptions extends EncodeOptions {
  /**
   * Gradient checkpointing (`recompute`, src/core/gradients.ts): every layer keeps only its input
   * for the backward pass and runs again inside it (same values and gradients; dropout masks are
   * drawn from seeds fixed before the layer runs, so the second pass draws the same ones). A layer
   * whose attention is returned outputs its states and attention as one flat tensor. Default false.
   */
  readonly recompute?: boolean;
}

/** One post-LN Transformer layer over `x` `[b·n, d]`: its output and attention probabilities. */
function bertLayer(
  x: tf.Tensor,
  keyMask: tf.Tensor,
  P: (name: string) => tf.Tensor,
  config: BertConfig,
  shape: { b: number; n: number },
  drop: (x: tf.Tensor, rate: number, seed?: number) => tf.Tensor,
  seeds: readonly (number | undefined)[] = [],
): { x: tf.Tensor; probs: tf.Tensor4D } {
  const { b, n } = shape;
  const d = config.hiddenSize;
  const h = config.numAttentionHeads;
  const dh = d / h;
  const eps = config.layerNormEps;
  const lin = (t: tf.Tensor, name: string): tf.Tensor => tf.matMul(t as tf.Tensor2D, P(`${name}.weight`) as tf.Tensor2D, false, true).add(P(`${name}.bias`));
  // [b·n, d] → [b, n, h, dh] → [b, h, n, dh]
  const heads = (t: tf.Tensor): tf.Tensor4D => t.reshape([b, n, h, dh]).transpose([0, 2, 1, 3]);
  const q = heads(lin(x, 'attention.self.query'));
  const kk = heads(lin(x, 'attention.self.key'));
  const v = heads(lin(x, 'attention.self.value'));
  const scores = tf.matMul(q, kk, false, true).mul(1 / Math.sqrt(dh)); // [b, h, n, n]
  // padded keys: an additive −1e9 (exp underflows to exactly 0 in float32), as transformers adds
  // its dtype minimum; two [b, h, n, n] temporaries and tf.softmax's own gradient, where
  // maskedSoftmax (built for float16 textures) keeps about ten — the bulk of a layer's backward
  const probs = drop(tf.softmax(scores.add(tf.sub(1, keyMask).mul(-1e9))), config.attentionProbsDropoutProb, seeds[0]) as tf.Tensor4D;
  // [b, h, n, dh] → [b, n, h, dh] → [b·n, d]
  const ctx = tf.matMul(probs, v).transpose([0, 2, 1, 3]).reshape([b * n, d]);
  const attOut = drop(lin(ctx, 'attention.output.dense'), config.hiddenDropoutProb, seeds[1]);
  const a = layerNorm(attOut.add(x), P('attention.output.LayerNorm.weight'), P('attention.output.LayerNorm.bias'), eps);
  const ffn = drop(lin(activation(config, lin(a, 'intermediate.dense')), 'output.dense'), config.hiddenDropoutProb, seeds[2]);
  return { x: layerNorm(ffn.add(a), P('output.LayerNorm.weight'), P('output.LayerNorm.bias'), eps), probs };
}

/** Names of one layer's parameters (without the `encoder.layer.i.` prefix). */
const LAYER_PARAMS = [
  ...['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense', 'intermediate.dense', 'output.dense'].flatMap((k) => [`${k}.weight`, `${k}.bias`]),
  ...['attention.output.LayerNorm', 'output.LayerNorm'].flatMap((k) => [`${k}.weight`, `${k}.bias`]),
];

/**
 * The BERT / RoBERTa forward pass over one window batch (no windowing).
 * @param params checkpoint names without prefix → tensors (linear weights `[out, in]`)
 * @param inputIds `[b, n]` int32, n ≤ `bertMaxLength(config)`
 * @param attentionMask `[b, n]` float32
 * @returns hidden `[b, n, d]` (last layer) and the attention `[b, h, n, n]` averaged over the last
 *   `attentionLayers` layers; padded rows are zero in both
 * @example
 * const { hidden, attention } = bertForward(params, config, ids, mask, { training: true, recompute: true });
 */
export function bertForward(
  params: BertParams,
  config: BertConfig,
  inputIds: tf.Tensor2D,
  attentionMask: tf.Tensor2D,
  options: BertForwardOptions = {},
): EncoderOutput {
  const [b, n] = inputIds.shape;
  const d = config.hiddenSize;
  const L = config.numHiddenLayers;
  const k = options.attentionLayers ?? 1;
  if (!(Number.isInteger(k) && k >= 1 && k <= L)) throw new ArgumentError('attentionLayers', `an integer in [1, ${L}]`, k);
  if (n > bertMaxLength(config))
    throw new ShapeError('inputIds', `[b, n ≤ ${bertMaxLength(config)}] (use encode for windows)`, inputIds.shape);
  const training = options.training ?? false;
  const drop = (x: tf.Tensor, rate: number, seed?: number): tf.Tensor =>
    training && rate > 0 ? tf.dropout(x, rate, undefined, seed) : x;
  const P = (name: string): tf.Tensor => params[name]!;
  return tf.tidy(() => {
    const eps = config.layerNormEps;
    const mask = attentionMask.toFloat();
    // positions [b, n]: BERT 0..n−1, RoBERTa pad + cumsum(ids ≠ pad) on real tokens
    let pos: tf.Tensor;
    if (config.modelType === 'roberta') {
      const real = tf.notEqual(inputIds, config.padTokenId).toInt();
      pos = tf.cumsum(real, 1).mul(real).add(config.padTokenId).toInt();
    } else pos = tf.range(0, n, 1, 'int32').expandDims(0).tile([b, 1]);
    const word = embeddingLookup(P('embeddings.word_embeddings.weight') as tf.Tensor2D, inputIds.reshape([b * n])); // [b·n, d]
    const position = embeddingLookup(P('embeddings.position_embeddings.weight') as tf.Tensor2D, pos.reshape([b * n]));
    const tokenType = P('embeddings.token_type_embeddings.weight').slice([0, 0], [1, d]); // type 0
    let x = layerNorm(word.add(position).add(tokenType), P('embeddings.LayerNorm.weight'), P('embeddings.LayerNorm.bias'), eps);
    x = drop(x, config.hiddenDropoutProb); // [b·n, d]
    const keyMask = mask.reshape([b, 1, 1, n]);
    let attSum: tf.Tensor | undefined;
    for (let i = 0; i < L; i++) {
      const p = `encoder.layer.${i}.`;
      const names = LAYER_PARAMS.map((s) => p + s);
      // dropout seeds fixed before the layer runs: a recomputation draws the same masks
      const seeds = training ? [0, 1, 2].map(() => Math.floor(Math.random() * 2 ** 31)) : [];
      const keep = i >= L - k; // this layer's attention is returned
      if (options.recompute) {
        // one output tensor: the layer's states, and its attention too when returned (flattened)
        const run = (xi: tf.Tensor, km: tf.Tensor, ...ps: tf.Tensor[]): tf.Tensor => {
          const byName = new Map(LAYER_PARAMS.map((s, j) => [s, ps[j]!]));
          const out = bertLayer(xi, km, (s) => byName.get(s)!, config, { b, n }, drop, seeds);
          return keep ? tf.concat([out.x.reshape([-1]), out.probs.reshape([-1])]) : out.x;
        };
        const y = recompute(run, [x, keyMask, ...names.map(P)]);
        if (!keep) x = y;
        else {
          const h = config.numAttentionHeads;
          x = y.slice(0, b * n * d).reshape([b * n, d]);
          const probs = y.slice(b * n * d, b * h * n * n).reshape([b, h, n, n]);
          attSum = attSum ? attSum.add(probs) : probs;
        }
        continue;
      }
      const out = bertLayer(x, keyMask, (s) => P(p + s), config, { b, n }, drop, seeds);
      if (keep) attSum = attSum ? attSum.add(out.probs) : out.probs;
      x = out.x;
    }
    const hidden = x.reshape([b, n, d]).mul(mask.expandDims(2)) as tf.Tensor3D;
    const attention = attSum!.mul(1 / k).mul(mask.reshape([b, 1, n, 1])) as tf.Tensor4D;
    return { hidden, attention };
  });
}

/** Options of `BertEncoder.fromPretrained` / `BertEncoder.random`. */
export interface BertEncoderOptions {
  /** variables receive gradients. Default true. */
  readonly trainable?: boolean;
  /** minimum overlap of consecutive windows for long documents. Default 0 (ATLOP). */
  readonly minWindowOverlap?: number;
  /** per-layer gradient checkpointing in training (`BertForwardOptions.recompute`). Default false. */
  readonly recompute?: boolean;
}

/**
 * A BERT / RoBERTa encoder holding its weights as tf.Variables.
 *
 * @example
 * const bert = await BertEncoder.fromPretrained('models/bert-base-cased');
 * const ids = bert.tokenizer!.encode('Paris is in France.').ids;
 * const { hidden, attention } = bert.encode(tf.tensor2d([ids], undefined, 'int32'), tf.ones([1, ids.length]));
 */
export class BertEncoder implements Encoder {
  readonly hiddenSize: number;
  readonly numHeads: number;
  readonly maxLength: number;
  /** `tokenizer.json` (and `tokenizer_config.json`) found next to the weights, if any */
  tokenizer: Tokenizer | undefined;
  private tokenizerFiles: { json: object; config: object } | undefined;
  private _trainable: boolean;
  private readonly minOverlap: number;
  /** per-layer gradient checkpointing in training (settable, e.g. by a benchmark) */
  recompute: boolean;

  constructor(
    readonly config: BertConfig,
    /** checkpoint names without prefix → variables */
    readonly params: ReadonlyMap<string, tf.Variable>,
    readonly id: string,
    options: BertEncoderOptions = {},
  ) {
    const shapes = bertParameterShapes(config);
    const missing = [...shapes.keys()].filter((k) => !params.has(k));
    if (missing.length) throw new ArgumentError('params', `all of ${shapes.size} BERT parameters`, `missing ${missing.join(', ')}`);
    this.hiddenSize = config.hiddenSize;
    this.numHeads = config.numAttentionHeads;
    this.maxLength = bertMaxLength(config);
    this._trainable = options.trainable ?? true;
    this.minOverlap = options.minWindowOverlap ?? 0;
    this.recompute = options.recompute ?? false;
    for (const v of params.values()) v.trainable = this._trainable;
  }

  get trainable(): boolean {
    return this._trainable;
  }
  set trainable(t: boolean) {
    this._trainable = t;
    for (const v of this.params.values()) v.trainable = t;
  }

  /** Every variable by its checkpoint name (stable across processes). */
  namedVariables(): [string, tf.Variable][] {
    return [...this.params];
  }

  trainableVariables(): tf.Variable[] {
    return this._trainable ? [...this.params.values()] : [];
  }

  /**
   * Randomly initialised encoder (normal(0, initializer_range) weights, LayerNorm 1/0, biases 0,
   * as transformers' `_init_weights`).
   * @param config a full config or config.json-style overrides
   */
  static random(config: BertConfig, seed = 0, options: BertEncoderOptions = {}): BertEncoder {
    const std = typeof config.extra?.['initializer_range'] === 'number' ? (config.extra['initializer_range'] as number) : 0.02;
    const params = new Map<string, tf.Variable>();
    let s = seed;
    for (const [name, shape] of bertParameterShapes(config)) {
      const init = tf.tidy(() =>
        name.endsWith('LayerNorm.weight') ? tf.ones(shape) : name.endsWith('.bias') ? tf.zeros(shape) : tf.randomNormal(shape, 0, std, 'float32', s++),
      );
      params.set(name, tf.variable(init, true));
      init.dispose();
    }
    return new BertEncoder(config, params, `${config.modelType}:random:${seed}:${configKey(config)}`, options);
  }

  /**
   * Loads a Hugging Face directory: `config.json`, `model.safetensors` (names with or without the
   * `bert.` / `roberta.` prefix; pooler and task heads ignored; old `gamma`/`beta` LayerNorm names
   * accepted) and, when present, `tokenizer.json` / `tokenizer_config.json`.
   * Throws `CheckpointError` listing unknown names, missing names and shape mismatches.
   */
  static async fromPretrained(dir: string, options: BertEncoderOptions = {}): Promise<BertEncoder> {
    const { readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const configFile = join(dir, 'config.json');
    const config = parseBertConfig(JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>, configFile);
    const file = join(dir, 'model.safetensors');
    const { tensors } = await readSafetensors(file);
    const shapes = bertParameterShapes(config);
    const prefix = `${config.modelType}.`;
    const found = new Map<string, { shape: readonly number[]; data: Float32Array | Int32Array; stored: string }>();
    const unknown: string[] = [];
    const mismatched: string[] = [];
    for (const [stored, t] of tensors) {
      let name = stored.startsWith(prefix) ? stored.slice(prefix.length) : stored;
      name = name.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
      const want = shapes.get(name);
      if (!want) {
        if (!IGNORED.test(name)) unknown.push(stored);
        continue;
      }
      if (want.length !== t.shape.length || want.some((s, i) => s !== t.shape[i]))
        mismatched.push(`${stored}: expected [${want.join(', ')}], got [${t.shape.join(', ')}]`);
      found.set(name, { ...t, stored });
    }
    const missing = [...shapes.keys()].filter((k) => !found.has(k)).map((k) => prefix + k);
    const problems = [
      unknown.length ? `unknown tensors (not ${config.modelType} encoder weights): ${unknown.join(', ')}` : '',
      missing.length ? `missing tensors: ${missing.join(', ')}` : '',
      mismatched.length ? `shape mismatches: ${mismatched.join('; ')}` : '',
    ].filter(Boolean);
    if (problems.length) throw new CheckpointError(file, problems.join('. '));
    const params = new Map<string, tf.Variable>();
    for (const name of shapes.keys()) {
      const t = found.get(name)!;
      const init = tf.tensor(Float32Array.from(t.data), [...t.shape], 'float32');
      params.set(name, tf.variable(init, true));
      init.dispose();
    }
    const enc = new BertEncoder(config, params, `${config.modelType}:${dir}:${configKey(config)}`, options);
    enc.tokenizerFiles = await readTokenizerFiles(dir);
    if (enc.tokenizerFiles) enc.tokenizer = new Tokenizer(enc.tokenizerFiles.json, enc.tokenizerFiles.config);
    return enc;
  }

  /** Writes `config.json`, `model.safetensors` (names with the model prefix) and the tokenizer files. */
  async save(dir: string): Promise<void> {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'config.json'), JSON.stringify(bertConfigToJSON(this.config), null, 2));
    const out = new Map<string, SafeTensorInput>();
    for (const [name, v] of this.params)
      out.set(`${this.config.modelType}.${name}`, { shape: v.shape, data: (await v.data()) as Float32Array });
    await writeSafetensors(join(dir, 'model.safetensors'), out, { format: 'pt' });
    if (this.tokenizerFiles) {
      await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(this.tokenizerFiles.json));
      await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(this.tokenizerFiles.config, null, 2));
    }
  }

  /**
   * @param inputIds `[b, n]` int32 (CLS … SEP, padded); n > maxLength goes through sliding windows
   * @param attentionMask `[b, n]` float32
   * @returns hidden `[b, n, d]`, attention `[b, h, n, n]`
   */
  encode(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options: EncodeOptions = {}): EncoderOutput {
    this.checkInputs(inputIds, attentionMask);
    if (inputIds.shape[1] <= this.maxLength) return this.forward(inputIds, attentionMask, options);
    return this.encodeLong(readHost(inputIds, 'inputIds'), readHost(attentionMask, 'attentionMask'), options);
  }

  /** `encode` reading the host-side lengths asynchronously (needed for long documents on WebGPU). */
  async encodeAsync(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options: EncodeOptions = {}): Promise<EncoderOutput> {
    this.checkInputs(inputIds, attentionMask);
    if (inputIds.shape[1] <= this.maxLength) return this.forward(inputIds, attentionMask, options);
    return this.encodeLong(await inputIds.array(), await attentionMask.array(), options);
  }

  private checkInputs(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D): void {
    const { b, n } = checkShape('inputIds', inputIds.shape, ['b', 'n']);
    checkShape('attentionMask', attentionMask.shape, ['b', 'n'], { b: b!, n: n! });
    if (inputIds.dtype !== 'int32') throw new ShapeError('inputIds', '[b, n] int32', `dtype ${inputIds.dtype}`);
  }

  private forward(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options: EncodeOptions): EncoderOutput {
    const recompute = this.recompute && (options.training ?? false) ? { recompute: true } : {};
    return bertForward(Object.fromEntries(this.params) as BertParams, this.config, inputIds, attentionMask, { ...options, ...recompute });
  }

  private encodeLong(ids: number[][], mask: number[][], options: EncodeOptions): EncoderOutput {
    const forward = (i: tf.Tensor2D, m: tf.Tensor2D): EncoderOutput => this.forward(i, m, options);
    return encodeHostInWindows(forward, ids, mask, {
      windowLength: this.maxLength,
      head: 1,
      tail: 1,
      minOverlap: this.minOverlap,
    });
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}

function configKey(c: BertConfig): string {
  return [c.vocabSize, c.hiddenSize, c.numHiddenLayers, c.numAttentionHeads, c.intermediateSize].join('x');
}

async function readTokenizerFiles(dir: string): Promise<{ json: object; config: object } | undefined> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  let json: object;
  try {
    json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as object;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let config: object = {};
  try {
    config = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as object;
  } catch {
    /* optional */
  }
  return { json, config };
}
