/**
 * Featurizer: a document → word pieces with entity markers (ATLOP `read_docred`, generalised).
 *
 * Each word is tokenized on its own (as ATLOP does); markers are inserted around every mention:
 * `star` = ATLOP's `*` before the first and after the last word of a mention (one `*` per word
 * position, shared by mentions starting or ending at the same word, exactly as ATLOP's set-based
 * code); `typed` = typed markers `<TYPE>` … `</TYPE>` with the mention's type (Zhou & Chen 2021,
 * used for DocuNet-style inputs); `entity-id` = per-entity markers `[E3]` … `[/E3]` (DRE-MIR /
 * DocRE-BSI-II style ids; k = entity index in the document). With `typed`/`entity-id`, mentions
 * starting at the same word each get their own marker, in entity order.
 *
 * A mention's position (`mentionStart`) is the index of the first piece of its start marker in the
 * final sequence, CLS included — ATLOP's `entity_pos` start + offset 1. `mentionEnd` is the last
 * piece of its end marker. The whole document is kept by default (the encoder windows long
 * inputs); with `maxLength` the sequence is cut to `maxLength` tokens (SEP kept) and the cut is
 * reported in `truncation` (mentions starting after the cut get position −1, collate masks them).
 *
 * Dimension legend: `n` tokens (pieces incl. CLS/SEP and markers).
 *
 * @example
 * const f = new Featurizer(tokenizer, { markers: 'star' });
 * const feature = E.getOrElseW((e) => { throw e })(f.featurize(doc));
 * feature.tokens.slice(0, 4);     // ['[CLS]', '*', 'Wilfried', '"'] (bert-base-cased)
 * feature.mentionStart[0][0];     // 1
 */
import * as E from 'fp-ts/lib/Either.js';
import { type DataError, featurizeError } from './errors.js';
import type { DocREDDocument, Label } from './docred.js';
import type { SpecialTokens, TokenizerLike } from './tokenizer.js';

export type MarkerStyle = 'star' | 'typed' | 'entity-id';

export interface FeaturizerOptions {
  /** Marker style. Default `'star'` (ATLOP). */
  markers?: MarkerStyle;
  /**
   * How marker strings become ids. `'text'` (default): tokenized with the base vocabulary (no new
   * embeddings; `*` is one piece in BERT and RoBERTa). `'added'`: a marker string missing from the
   * vocabulary gets its own id `tokenizer.vocabSize + k`; the encoder must then have
   * `featurizer.vocabSize` embedding rows (`featurizer.addedTokens` lists the new strings).
   */
  markerTokens?: 'text' | 'added';
  /** Types known to `typed` markers in `'added'` mode. Default: DocRED's and the CDR/GDA types. */
  entityTypes?: readonly string[];
  /** Entity ids known to `entity-id` markers in `'added'` mode. Default 42 (DocRED's maximum). */
  maxEntityIds?: number;
  /** Maximum tokens per document incl. CLS/SEP; default none: whole document kept. */
  maxLength?: number;
}

/** One featurized document (plain arrays; `collate` turns a list of them into tensors). */
export interface Feature {
  readonly title: string;
  /** `[n]` ids, CLS/SEP included when the tokenizer has them. */
  readonly inputIds: readonly number[];
  /** `[n]` the piece strings (markers included). */
  readonly tokens: readonly string[];
  /** `[n]` sentence of each token (markers: their mention's sentence); −1 for CLS/SEP. */
  readonly tokenSentence: readonly number[];
  /** Token range `[start, end)` of each sentence. */
  readonly sentenceSpans: readonly (readonly [number, number])[];
  /** Per entity, per mention: index of the first piece of the start marker (−1: cut by `maxLength`). */
  readonly mentionStart: readonly (readonly number[])[];
  /** Per entity, per mention: index of the last piece of the end marker (clipped to the cut). */
  readonly mentionEnd: readonly (readonly number[])[];
  /** Per entity, per mention: sentence id. */
  readonly mentionSentence: readonly (readonly number[])[];
  /** Type of each entity (its first mention's type). */
  readonly entityTypes: readonly string[];
  /** The document's labels (`undefined` when unlabelled). */
  readonly labels?: readonly Label[];
  /** Padding id of the tokenizer (used by `collate`). */
  readonly padId: number;
  /** Present when `maxLength` cut the document. */
  readonly truncation?: { readonly originalLength: number; readonly droppedMentions: number };
}

/** Stride of the word-position key (more words than any sentence has). */
const WORDS = 1 << 20;

const DEFAULT_TYPES = [
  'ORG',
  'LOC',
  'TIME',
  'PER',
  'MISC',
  'NUM',
  'Chemical',
  'Disease',
  'Gene',
  'CHEM',
  'DISE',
];

/** The marker strings of one mention. */
export function markerStrings(
  style: MarkerStyle,
  entity: number,
  type: string,
): { start: string; end: string } {
  switch (style) {
    case 'star':
      return { start: '*', end: '*' };
    case 'typed':
      return { start: `<${type}>`, end: `</${type}>` };
    case 'entity-id':
      return { start: `[E${entity}]`, end: `[/E${entity}]` };
  }
}

interface Pieces {
  readonly ids: readonly number[];
  readonly tokens: readonly string[];
}

/** Tokenizes documents with entity markers. Never throws: `featurize` returns an Either. */
export class Featurizer {
  readonly markers: MarkerStyle;
  readonly markerTokens: 'text' | 'added';
  readonly maxLength: number | undefined;
  /** Marker strings given new ids (only with `markerTokens: 'added'`), id = base vocabSize + index. */
  readonly addedTokens: readonly string[];
  private readonly addedIds: ReadonlyMap<string, number>;
  private readonly cache = new Map<string, Pieces>();

  constructor(
    readonly tokenizer: TokenizerLike,
    options: FeaturizerOptions = {},
  ) {
    this.markers = options.markers ?? 'star';
    this.markerTokens = options.markerTokens ?? 'text';
    this.maxLength = options.maxLength;
    const added: string[] = [];
    if (this.markerTokens === 'added') {
      const candidates: string[] =
        this.markers === 'star'
          ? ['*']
          : this.markers === 'typed'
            ? (options.entityTypes ?? DEFAULT_TYPES).flatMap((t) =>
                Object.values(markerStrings('typed', 0, t)),
              )
            : Array.from({ length: options.maxEntityIds ?? 42 }, (_, k) =>
                Object.values(markerStrings('entity-id', k, '')),
              ).flat();
      for (const c of candidates)
        if (tokenizer.tokenToId(c) === undefined && !added.includes(c)) added.push(c);
    }
    this.addedTokens = added;
    this.addedIds = new Map(added.map((t, k) => [t, tokenizer.vocabSize + k]));
  }

  /** Embedding rows the encoder needs: the tokenizer's vocabulary plus added marker tokens. */
  get vocabSize(): number {
    return this.tokenizer.vocabSize + this.addedTokens.length;
  }

  /** The tokenizer's special tokens (CLS/SEP/PAD/UNK/MASK with their ids). */
  get specialTokens(): SpecialTokens {
    return this.tokenizer.specialTokens;
  }

  private pieces(text: string): Pieces {
    let p = this.cache.get(text);
    if (p === undefined) {
      p = this.tokenizer.encode(text);
      this.cache.set(text, p);
    }
    return p;
  }

  private markerPieces(marker: string): Pieces | undefined {
    if (this.markerTokens === 'added') {
      const id = this.tokenizer.tokenToId(marker) ?? this.addedIds.get(marker);
      return id === undefined ? undefined : { ids: [id], tokens: [marker] };
    }
    const p = this.pieces(marker);
    return p.ids.length === 0 ? undefined : p;
  }

  /**
   * Featurizes one document.
   * @param index the document's index, used in error messages
   */
  featurize(doc: DocREDDocument, index = 0): E.Either<DataError, Feature> {
    const fail = (path: string, detail: string): E.Either<DataError, Feature> =>
      E.left(featurizeError(index, doc.title, path, detail));
    const minLength = (this.tokenizer.specialTokens.sep ? 1 : 0) + 1;
    if (this.maxLength !== undefined && !(Number.isInteger(this.maxLength) && this.maxLength >= minLength))
      return fail('maxLength', `expected an integer ≥ ${minLength}, got ${this.maxLength}`);
    // markers to insert before / after each word, keyed by word: sentence · WORDS + word
    type Slot = { entity: number; mention: number; marker: string };
    const before = new Map<number, Slot[]>();
    const after = new Map<number, Slot[]>();
    const push = (m: Map<number, Slot[]>, key: number, item: Slot): void => {
      const list = m.get(key);
      if (list === undefined) m.set(key, [item]);
      else list.push(this.markers === 'star' ? { ...item, marker: '' } : item); // star: one `*` per position, shared
    };
    for (let e = 0; e < doc.vertexSet.length; e++) {
      const mentions = doc.vertexSet[e]!;
      if (mentions.length === 0) return fail(`vertexSet[${e}]`, `entity ${e} has no mentions`);
      for (let j = 0; j < mentions.length; j++) {
        const m = mentions[j]!;
        const sent = doc.sents[m.sent_id];
        if (sent === undefined || !(m.pos[0] >= 0 && m.pos[0] < m.pos[1] && m.pos[1] <= sent.length))
          return fail(
            `vertexSet[${e}][${j}].pos`,
            `span [${m.pos[0]}, ${m.pos[1]}) is outside sentence ${m.sent_id}`,
          );
        const { start, end } = markerStrings(this.markers, e, m.type);
        push(before, m.sent_id * WORDS + m.pos[0], { entity: e, mention: j, marker: start });
        push(after, m.sent_id * WORDS + m.pos[1] - 1, { entity: e, mention: j, marker: end });
      }
    }
    const special = this.tokenizer.specialTokens;
    const ids: number[] = [];
    const tokens: string[] = [];
    const tokenSentence: number[] = [];
    const sentenceSpans: [number, number][] = [];
    const mentionStart = doc.vertexSet.map((ms) => ms.map(() => -1));
    const mentionEnd = doc.vertexSet.map((ms) => ms.map(() => -1));
    const emit = (p: Pieces, sentence: number): void => {
      for (let i = 0; i < p.ids.length; i++) {
        ids.push(p.ids[i]!);
        tokens.push(p.tokens[i]!);
        tokenSentence.push(sentence);
      }
    };
    if (special.cls) emit({ ids: [special.cls.id], tokens: [special.cls.token] }, -1);
    for (let s = 0; s < doc.sents.length; s++) {
      const begin = ids.length;
      const words = doc.sents[s]!;
      for (let w = 0; w < words.length; w++) {
        const starts = before.get(s * WORDS + w);
        const badStart = starts && this.place(starts, mentionStart, false, ids.length, (p) => emit(p, s));
        if (badStart)
          return fail(
            `vertexSet[${badStart.entity}][${badStart.mention}]`,
            `marker ${JSON.stringify(badStart.marker)} has no token id`,
          );
        emit(this.pieces(words[w]!), s);
        const ends = after.get(s * WORDS + w);
        const badEnd = ends && this.place(ends, mentionEnd, true, ids.length, (p) => emit(p, s));
        if (badEnd)
          return fail(
            `vertexSet[${badEnd.entity}][${badEnd.mention}]`,
            `marker ${JSON.stringify(badEnd.marker)} has no token id`,
          );
      }
      sentenceSpans.push([begin, ids.length]);
    }
    if (special.sep) emit({ ids: [special.sep.id], tokens: [special.sep.token] }, -1);
    const feature: Feature = {
      title: doc.title,
      inputIds: ids,
      tokens,
      tokenSentence,
      sentenceSpans,
      mentionStart,
      mentionEnd,
      mentionSentence: doc.vertexSet.map((ms) => ms.map((m) => m.sent_id)),
      entityTypes: doc.vertexSet.map((ms) => ms[0]!.type),
      ...(doc.labels ? { labels: doc.labels } : {}),
      padId: special.pad.id,
    };
    return E.right(
      this.maxLength !== undefined && ids.length > this.maxLength
        ? truncate(feature, this.maxLength, special)
        : feature,
    );
  }

  /**
   * Emits the markers of one word position and records each mention's marker index (start: first
   * piece; end: last piece). Star markers after the first share its index. Returns the slot whose
   * marker has no id, if any.
   */
  private place(
    slots: readonly { entity: number; mention: number; marker: string }[],
    positions: number[][],
    last: boolean,
    at: number,
    emit: (p: Pieces) => void,
  ): { entity: number; mention: number; marker: string } | undefined {
    let shared = at;
    for (const { entity, mention, marker } of slots) {
      if (marker === '') {
        positions[entity]![mention] = shared;
        continue;
      }
      const p = this.markerPieces(marker);
      if (p === undefined) return slots.find((x) => x.marker === marker);
      positions[entity]![mention] = shared = last ? at + p.ids.length - 1 : at;
      at += p.ids.length;
      emit(p);
    }
    return undefined;
  }

  /** Featurizes every document; the first failure is returned. */
  featurizeAll(docs: readonly DocREDDocument[]): E.Either<DataError, Feature[]> {
    const out: Feature[] = [];
    for (let i = 0; i < docs.length; i++) {
      const f = this.featurize(docs[i]!, i);
      if (E.isLeft(f)) return f;
      out.push(f.right);
    }
    return E.right(out);
  }
}

/** Cuts a feature to `maxLength` tokens, keeping SEP; mentions starting after the cut get −1. */
function truncate(f: Feature, maxLength: number, special: SpecialTokens): Feature {
  const keep = special.sep ? maxLength - 1 : maxLength;
  const cutIds = f.inputIds.slice(0, keep);
  const cutTokens = f.tokens.slice(0, keep);
  const cutSentence = f.tokenSentence.slice(0, keep);
  if (special.sep) {
    cutIds.push(special.sep.id);
    cutTokens.push(special.sep.token);
    cutSentence.push(-1);
  }
  let dropped = 0;
  const mentionStart = f.mentionStart.map((ms) =>
    ms.map((p) => {
      if (p < keep) return p;
      dropped++;
      return -1;
    }),
  );
  const mentionEnd = f.mentionEnd.map((ms, e) =>
    ms.map((p, j) => (mentionStart[e]![j]! < 0 ? -1 : Math.min(p, keep - 1))),
  );
  return {
    ...f,
    inputIds: cutIds,
    tokens: cutTokens,
    tokenSentence: cutSentence,
    sentenceSpans: f.sentenceSpans.map(([a, b]) => [Math.min(a, keep), Math.min(b, keep)] as const),
    mentionStart,
    mentionEnd,
    truncation: { originalLength: f.inputIds.length, droppedMentions: dropped },
  };
}
