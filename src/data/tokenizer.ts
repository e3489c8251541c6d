/**
 * Tokenizers for the featurizer.
 *
 * `TokenizerLike` is the one interface the `Featurizer` needs. `HFTokenizer` implements it over
 * `@huggingface/tokenizers` (pure JS) from a Hugging Face `tokenizer.json`; another encoder (e.g.
 * the embedded encoder's SentencePiece vocabulary) implements it directly:
 *
 * - `encode(text)` returns the pieces of `text` WITHOUT special tokens. The featurizer calls it once
 *   per word (DocRED documents are pre-split into words, as in ATLOP's `read_docred`, which calls
 *   `tokenizer.tokenize(word)` per word), and once per marker string when markers are text.
 * - `tokenToId(token)` looks one token string up (`undefined` when absent).
 * - `vocabSize` is the embedding-table size; `specialTokens` gives CLS/SEP (added around the
 *   document when defined), PAD (batch padding), UNK and MASK when the vocabulary has them.
 *
 * `buildTokenizerJSON` makes a `tokenizer.json` from bare vocabulary files: WordPiece from
 * `vocab.txt` (BERT, SciBERT) or byte-level BPE from `vocab.json` + `merges.txt` (RoBERTa, GPT-2).
 *
 * @example
 * const tk = E.getOrElseW(() => undefined)(HFTokenizer.fromJSON(json))!;
 * tk.encode('Mediaș');        // { ids: [3957, 24158], tokens: ['Media', '##ș'] } (bert-base-cased)
 * tk.specialTokens.cls;       // { token: '[CLS]', id: 101 }
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { Tokenizer } from '@huggingface/tokenizers';
import { type DataError, describe, tokenizerError } from './errors.js';
import { parseJSON } from './schema.js';
import { readTextFile } from './docred.js';

export interface SpecialToken {
  readonly token: string;
  readonly id: number;
}

/** Special tokens of a vocabulary. CLS/SEP, when defined, wrap every featurized document. */
export interface SpecialTokens {
  readonly cls?: SpecialToken;
  readonly sep?: SpecialToken;
  readonly pad: SpecialToken;
  readonly unk?: SpecialToken;
  readonly mask?: SpecialToken;
}

/** What the featurizer needs from a tokenizer (see the module comment for the contract). */
export interface TokenizerLike {
  /** Pieces of `text` without special tokens; `ids[i]` is the id of `tokens[i]`. */
  encode(text: string): { readonly ids: readonly number[]; readonly tokens: readonly string[] };
  /** Id of one token string, `undefined` when it is not in the vocabulary. */
  tokenToId(token: string): number | undefined;
  /** Number of ids (embedding rows) of the vocabulary, added tokens included. */
  readonly vocabSize: number;
  readonly specialTokens: SpecialTokens;
}

type Json = Record<string, unknown>;

/** `TokenizerLike` over `@huggingface/tokenizers`. */
export class HFTokenizer implements TokenizerLike {
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly vocabSize: number,
    readonly specialTokens: SpecialTokens,
  ) {}

  /** From a parsed `tokenizer.json` object (total: a bad object is a `TokenizerError`). */
  static fromJSON(json: unknown, file = 'tokenizer.json'): E.Either<DataError, HFTokenizer> {
    if (typeof json !== 'object' || json === null || typeof (json as Json)['model'] !== 'object')
      return E.left(tokenizerError(file, 'expected a tokenizer.json object with a "model" field'));
    return E.flatMap(
      E.tryCatch(
        () => new Tokenizer(json, {}),
        (cause) => tokenizerError(file, describe(cause)),
      ),
      (tk) => {
        const vocab = tk.get_vocab(true);
        let size = 0;
        for (const id of vocab.values()) size = Math.max(size, id + 1);
        const special = findSpecialTokens(json as Json, tk);
        if (special === undefined)
          return E.left(tokenizerError(file, 'no padding token ([PAD], <pad>) and no token with id 0'));
        return E.right(new HFTokenizer(tk, size, special));
      },
    );
  }

  /** From a `tokenizer.json` text. */
  static parse(text: string, file = 'tokenizer.json'): E.Either<DataError, HFTokenizer> {
    return E.flatMap(parseJSON(text, file), (json) => HFTokenizer.fromJSON(json, file));
  }

  /**
   * From a directory: its `tokenizer.json`, or one built from `vocab.txt` (WordPiece; lowercased
   * when the directory name contains "uncased") or `vocab.json` + `merges.txt` (byte-level BPE).
   */
  static fromDirectory(dir: string): TE.TaskEither<DataError, HFTokenizer> {
    const path = (name: string): string => `${dir.replace(/\/$/, '')}/${name}`;
    return async () => {
      const json = await readTextFile(path('tokenizer.json'))();
      if (E.isRight(json)) return HFTokenizer.parse(json.right, path('tokenizer.json'));
      const vocabTxt = await readTextFile(path('vocab.txt'))();
      if (E.isRight(vocabTxt))
        return E.flatMap(
          buildTokenizerJSON({ type: 'wordpiece', vocab: vocabTxt.right, lowercase: /uncased/i.test(dir) }),
          (j) => HFTokenizer.fromJSON(j, path('vocab.txt')),
        );
      const [vocab, merges] = await Promise.all([
        readTextFile(path('vocab.json'))(),
        readTextFile(path('merges.txt'))(),
      ]);
      if (E.isRight(vocab) && E.isRight(merges))
        return E.flatMap(buildTokenizerJSON({ type: 'bpe', vocab: vocab.right, merges: merges.right }), (j) =>
          HFTokenizer.fromJSON(j, path('vocab.json')),
        );
      return E.left(tokenizerError(dir, 'found no tokenizer.json, vocab.txt, or vocab.json + merges.txt'));
    };
  }

  encode(text: string): { ids: number[]; tokens: string[] } {
    const enc = this.tokenizer.encode(text, { add_special_tokens: false });
    return { ids: enc.ids, tokens: enc.tokens };
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }
}

/** CLS/SEP from the post-processor, PAD/UNK/MASK from padding, model and added tokens. */
function findSpecialTokens(json: Json, tk: Tokenizer): SpecialTokens | undefined {
  const lookup = (token: unknown): SpecialToken | undefined => {
    if (typeof token !== 'string') return undefined;
    const id = tk.token_to_id(token);
    return id === undefined ? undefined : { token, id };
  };
  const firstOf = (...tokens: unknown[]): SpecialToken | undefined =>
    tokens.map(lookup).find((x) => x !== undefined);
  let cls: SpecialToken | undefined;
  let sep: SpecialToken | undefined;
  const visit = (pp: unknown): void => {
    if (typeof pp !== 'object' || pp === null) return;
    const p = pp as Json;
    if (p['type'] === 'Sequence' && Array.isArray(p['processors'])) return p['processors'].forEach(visit);
    if (Array.isArray(p['cls'])) cls = lookup(p['cls'][0]);
    if (Array.isArray(p['sep'])) sep = lookup(p['sep'][0]);
    if (p['type'] === 'TemplateProcessing' && Array.isArray(p['single'])) {
      const specials = (p['single'] as Json[]).filter((x) => x['SpecialToken'] !== undefined);
      const idOf = (x: Json | undefined): unknown => (x?.['SpecialToken'] as Json | undefined)?.['id'];
      const firstIsSpecial = (p['single'] as Json[])[0]?.['SpecialToken'] !== undefined;
      if (firstIsSpecial) cls = lookup(idOf(specials[0]));
      const last = (p['single'] as Json[])[(p['single'] as Json[]).length - 1];
      if (last?.['SpecialToken'] !== undefined) sep = lookup(idOf(last));
    }
  };
  visit(json['post_processor']);
  const padding = json['padding'] as Json | null | undefined;
  const model = json['model'] as Json;
  const pad =
    firstOf(padding?.['pad_token'], '[PAD]', '<pad>', '<PAD>') ??
    (tk.id_to_token(0) !== undefined ? { token: tk.id_to_token(0)!, id: 0 } : undefined);
  if (pad === undefined) return undefined;
  const unk = firstOf(model['unk_token'], '[UNK]', '<unk>');
  const mask = firstOf('[MASK]', '<mask>');
  return {
    ...(cls ? { cls } : {}),
    ...(sep ? { sep } : {}),
    pad,
    ...(unk ? { unk } : {}),
    ...(mask ? { mask } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// building tokenizer.json from bare vocabulary files

/** Sources for `buildTokenizerJSON`: texts of the vocabulary files. */
export type TokenizerSource =
  | {
      type: 'wordpiece';
      /** vocab.txt text, one token per line, line = id */ vocab: string;
      /** default false (cased) */ lowercase?: boolean;
    }
  | { type: 'bpe'; /** vocab.json text */ vocab: string; /** merges.txt text */ merges: string };

/**
 * A Hugging Face `tokenizer.json` object equivalent to `BertTokenizerFast` (WordPiece: BERT
 * normalizer, BERT pre-tokenizer, `[CLS] A [SEP]`) or `RobertaTokenizerFast` (byte-level BPE, no
 * prefix space, `<s> A </s>`) built from the vocabulary files.
 *
 * @example
 * const json = buildTokenizerJSON({ type: 'wordpiece', vocab: fs.readFileSync('vocab.txt', 'utf8') });
 */
export function buildTokenizerJSON(source: TokenizerSource): E.Either<DataError, Json> {
  return source.type === 'wordpiece'
    ? buildWordPiece(source.vocab, source.lowercase ?? false)
    : buildBPE(source.vocab, source.merges);
}

const added = (content: string, id: number, lstrip = false): Json => ({
  id,
  content,
  single_word: false,
  lstrip,
  rstrip: false,
  normalized: false,
  special: true,
});

function buildWordPiece(text: string, lowercase: boolean): E.Either<DataError, Json> {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const vocab: Record<string, number> = {};
  lines.forEach((tok, id) => {
    const t = tok.replace(/\r$/, '');
    if (!(t in vocab)) vocab[t] = id;
  });
  const missing = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'].filter((t) => !(t in vocab));
  if (missing.length > 0)
    return E.left(tokenizerError('vocab.txt', `missing special tokens ${missing.join(', ')}`));
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].filter((t) => t in vocab);
  const special = (t: string): Json => ({ id: t, ids: [vocab[t]], tokens: [t] });
  return E.right({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((t) => added(t, vocab[t]!)),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  });
}

function buildBPE(vocabText: string, mergesText: string): E.Either<DataError, Json> {
  return E.flatMap(parseJSON(vocabText, 'vocab.json'), (vocab) => {
    if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab))
      return E.left(tokenizerError('vocab.json', 'expected an object {token: id}'));
    const v = vocab as Record<string, number>;
    const missing = ['<s>', '</s>', '<pad>', '<unk>'].filter((t) => !(t in v));
    if (missing.length > 0)
      return E.left(tokenizerError('vocab.json', `missing special tokens ${missing.join(', ')}`));
    const merges = mergesText
      .split('\n')
      .map((l) => l.replace(/\r$/, ''))
      .filter((l) => l.length > 0 && !l.startsWith('#version'));
    const bad = merges.findIndex((l) => l.split(' ').length !== 2);
    if (bad >= 0)
      return E.left(
        tokenizerError('merges.txt', `line ${bad + 2}: expected "a b", got ${JSON.stringify(merges[bad])}`),
      );
    const specials = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'].filter((t) => t in v);
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
    return E.right({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: specials.map((t) => added(t, v[t]!, t === '<mask>')),
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: {
        type: 'RobertaProcessing',
        sep: ['</s>', v['</s>']],
        cls: ['<s>', v['<s>']],
        trim_offsets: true,
        add_prefix_space: false,
      },
      decoder: byteLevel,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        byte_fallback: false,
        vocab: v,
        merges,
      },
    });
  });
}
