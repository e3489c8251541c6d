/**
 * The hand-marked front end: plain text with marked entity mentions → one DocRED document.
 *
 * Format (one sentence per line; a line may hold several sentences ending in `.`, `!` or `?`):
 *
 *     [Anthony Steel|PER] was an English actor.
 *     [He|PER|Anthony Steel] was born in [Chelsea|LOC], [London|LOC].
 *     [Steel|PER#steel] and [Anthony Steel|PER#steel] are the same entity here.
 *
 * A mention is `[words]`, `[words|TYPE]`, `[words|TYPE|entity]` or `[words|TYPE#id]` (`TYPE` may be
 * empty: `[words|#id]`). Mentions with the same entity key are one entity: the key is `#id` when
 * given, else the `entity` part, else the words, so repeated names corefer and a pronoun joins an
 * entity by naming it (ids are keys of their own: `#m` never joins the words `m`). An entity's
 * type is its first mention's (default `MISC`). Words are split as `tokenizeText` splits them
 * (DocRED's words); sentence ends inside a mention do not split it.
 *
 * The document's `text` is the input with the markup removed (`[Paris|LOC] is` → `Paris is`), and
 * `wordOffsets` point into that text, so every mention's offsets slice its name back.
 *
 * Total: returns `Either<DataError, TextDocument>`; a `ParseError` whose message names the line
 * and column (1-based) of the problem: an unbalanced `[` or `]`, a mention with more than three
 * parts, a mention across a line break, a mention without words, an invalid type, an empty `#id`,
 * both `#id` and an entity part, or fewer than two entities (nothing to relate).
 *
 * @example
 * import * as E from 'fp-ts/lib/Either.js';
 * const r = parseMarkedText('[Paris|LOC] is the capital of [France|LOC].');
 * if (E.isRight(r)) r.right.vertexSet.length; // 2
 */
import * as E from 'fp-ts/lib/Either.js';
import type { DataError } from '../data/errors.js';
import type { Mention } from '../data/docred.js';
import { type TextDocument, tokenizeWords } from './tokenize.js';

const MENTION = /\[([^[\]]*)\]/g;
const TYPE = /^[\p{L}_][\p{L}\p{N}_-]*$/u;
const SENTENCE_END = new Set(['.', '!', '?', '…']);

/** A `ParseError` at offset `i` of `text`: `title: line L, column C: detail`. */
function errorAt(title: string, text: string, i: number, detail: string): DataError {
  const before = text.slice(0, i).split('\n');
  const line = before.length;
  const column = before[before.length - 1]!.length + 1;
  return {
    _tag: 'ParseError',
    file: title,
    line,
    message: `${title}: line ${line}, column ${column}: ${detail}`,
  };
}

/** Marked text → a document with the marked entities (module comment). */
export function parseMarkedText(text: string, title = 'marked text'): E.Either<DataError, TextDocument> {
  const sents: string[][] = [[]];
  const wordOffsets: [number, number][][] = [[]];
  const entities = new Map<string, { type: string; mentions: Mention[] }>();
  let out = ''; // the text without markup
  let lastEnd = -1; // end (in `out`) of the last word
  const endSentence = () => {
    if (sents[sents.length - 1]!.length > 0) {
      sents.push([]);
      wordOffsets.push([]);
    }
  };
  /** Appends `s` to the text and its words to the current sentence; `plain`: sentence ends split. */
  const append = (s: string, plain: boolean): { sent: number; start: number } => {
    let first: { sent: number; start: number } | undefined;
    for (const tok of tokenizeWords(s, out.length)) {
      if (lastEnd >= 0 && (out + s).slice(lastEnd, tok.start).includes('\n')) endSentence();
      first ??= { sent: sents.length - 1, start: sents[sents.length - 1]!.length };
      sents[sents.length - 1]!.push(tok.word);
      wordOffsets[wordOffsets.length - 1]!.push([tok.start, tok.end]);
      lastEnd = tok.end;
      if (plain && SENTENCE_END.has(tok.word)) endSentence();
      if (plain && /^\.{2,}$/.test(tok.word)) endSentence();
    }
    out += s;
    return first ?? { sent: sents.length - 1, start: sents[sents.length - 1]!.length };
  };
  const stray = (from: number, to: number): DataError | undefined => {
    const m = /[[\]]/.exec(text.slice(from, to));
    return m ? errorAt(title, text, from + m.index, `unbalanced '${m[0]}'`) : undefined;
  };

  let last = 0;
  for (const m of text.matchAll(MENTION)) {
    const at = m.index;
    const bad = stray(last, at);
    if (bad) return E.left(bad);
    append(text.slice(last, at), true);
    last = at + m[0].length;
    const fail = (detail: string) =>
      E.left(errorAt(title, text, at, `mention ${JSON.stringify(m[0])} ${detail}`));
    const parts = m[1]!.split('|').map((p) => p.trim());
    if (parts.length > 3)
      return fail(
        'has more than three parts: write [words], [words|TYPE], [words|TYPE|entity] or [words|TYPE#id]',
      );
    const [surface = '', typeAndId = '', entityPart = ''] = parts;
    if (m[1]!.includes('\n')) return fail('is outside its sentence: it spans a line break');
    const hash = typeAndId.indexOf('#');
    const type = (hash >= 0 ? typeAndId.slice(0, hash) : typeAndId).trim();
    const id = hash >= 0 ? typeAndId.slice(hash + 1).trim() : undefined;
    if (type !== '' && !TYPE.test(type))
      return fail(`has an invalid type ${JSON.stringify(type)} (letters, digits, _ and -, e.g. PER)`);
    if (id === '') return fail("has an empty id after '#'");
    if (id !== undefined && entityPart !== '')
      return fail("gives both an id ('#') and an entity part: use one");
    if (tokenizeWords(surface).length === 0) return fail('has no words');
    const { sent: sentence, start } = append(surface, false);
    const end = sents[sentence]!.length;
    const key = id !== undefined ? `#${id}` : entityPart || surface;
    const entity = entities.get(key);
    const mention: Mention = {
      name: surface,
      pos: [start, end],
      sent_id: sentence,
      type: entity?.type ?? (type || 'MISC'),
    };
    if (entity) entity.mentions.push(mention);
    else entities.set(key, { type: mention.type, mentions: [mention] });
  }
  const bad = stray(last, text.length);
  if (bad) return E.left(bad);
  append(text.slice(last), true);
  if (sents[sents.length - 1]!.length === 0) {
    sents.pop();
    wordOffsets.pop();
  }
  if (entities.size < 2)
    return E.left({
      _tag: 'ParseError',
      file: title,
      line: undefined,
      message: `${title}: found ${entities.size} marked entit${entities.size === 1 ? 'y' : 'ies'}; mark at least two, e.g. [Paris|LOC] is in [France|LOC].`,
    });
  return E.right({
    title,
    sents,
    vertexSet: [...entities.values()].map((e) => e.mentions),
    text: out,
    wordOffsets,
  });
}
