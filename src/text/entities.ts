/**
 * The automatic front end: plain text → a DocRED document with named-entity mentions found by
 * `compromise` (MIT, rule-based, no model to download) and grouped into entities by aliases.
 *
 * Mentions, in priority order (a word belongs to at most one mention; the first type that claims
 * it wins): `people()` → PER, `organizations()` → ORG, `places()` → LOC, `#Date` → TIME,
 * `numbers()` / `#Money` / `#Percent` → NUM (a lone year or decade, 1999 / 1990s → TIME),
 * `#Demonym` (German, Germans) → LOC (`options.demonyms`), and any other run of `#ProperNoun` words → MISC (not a lone
 * closed-class word that compromise capitalised into one: `Why?!`). Demonyms
 * are LOC because Re-DocRED annotates nationalities so (docs/results.md); a TIME needs a digit, a capitalised
 * word or a century / decade (`every year` is not one). compromise's matches are mapped onto our words by their
 * character offsets (a word is in a mention when it overlaps the match); a match is split at
 * sentence ends, punctuation words and clitics (`European Union ( EU )` → `European Union`, `EU`;
 * `Merkel 's government` → `Merkel`, `government`), leading articles are trimmed, and a PER / ORG /
 * LOC / MISC piece without a capitalised word or a digit is dropped (`government`).
 *
 * Grouping (each alias kind can be switched off in `options.aliases`): identical strings
 * (case-insensitive) are one entity (`repeated`); a PER mention of one word joins the PER entity
 * whose name ends with it, the most recently mentioned one (`surname`: Angela Merkel … Merkel; and
 * Merkel … Angela Merkel while the entity has no full name yet; a one-word MISC mention too, as
 * compromise tags a lone surname a proper noun); a one-word all-capital mention joins the entity whose name's initials spell it
 * (`acronym`: European Union … EU, United States … U.S.; articles, `of`, `and`, `for` may be
 * skipped). An entity's type is its first mention's; entities are ordered by first mention.
 *
 * @example
 * const doc = recognizeEntities('Angela Merkel was born in Hamburg. She led Germany from 2005 to 2021.');
 * doc.vertexSet.map((e) => `${e[0].name}/${e[0].type}`); // Angela Merkel/PER Hamburg/LOC Germany/LOC 2005/TIME 2021/TIME
 */
import nlp from 'compromise';
import type { DocREDDocument, Mention } from '../data/docred.js';
import { type TextDocument, type TokenizedText, documentText, tokenizeText } from './tokenize.js';

// ---------------------------------------------------------------------------------------------
// types

/** The entity types the automatic front end can give, in DocRED's names. */
export const AUTO_ENTITY_TYPES = ['PER', 'ORG', 'LOC', 'TIME', 'NUM', 'MISC'] as const;

export interface AutoEntityOptions {
  /** Keep only entities of these types (an entity's type is its first mention's). Default all of `AUTO_ENTITY_TYPES`. */
  types?: readonly string[];
  /** Which aliases join mentions into one entity. Default all true. */
  aliases?: { surname?: boolean; acronym?: boolean; repeated?: boolean };
  /** Also give MISC to proper-noun runs that no other type claims. Default true. */
  properNouns?: boolean;
  /** The type of demonyms (German, Germans). Default `'LOC'`, as Re-DocRED annotates them. */
  demonyms?: string;
}

/** One mention before grouping: a word span of one sentence and its type. */
interface Span {
  readonly sent: number;
  readonly start: number;
  readonly end: number;
  readonly type: string;
}

// ---------------------------------------------------------------------------------------------
// compromise matches → character ranges

interface Match {
  readonly type: string;
  readonly start: number;
  readonly end: number;
}

/** The character range of each match of a compromise view (first term's start to last term's end). */
function ranges(
  view: { json(o: object): unknown },
  type: string,
  keep: (words: string[]) => boolean = () => true,
): Match[] {
  const out: Match[] = [];
  const json = view.json({ offset: true, terms: { offset: true } }) as {
    terms: { text: string; normal: string; offset: { start: number; length: number } }[];
  }[];
  for (const m of json) {
    const first = m.terms[0];
    const last = m.terms[m.terms.length - 1];
    if (!first || !last || !keep(m.terms.map((t) => t.normal))) continue;
    out.push({ type, start: first.offset.start, end: last.offset.start + last.offset.length });
  }
  return out;
}

/** Closed word classes of compromise's lexicon: a capitalised `Why` or `This` is no proper noun. */
const CLOSED = new Set([
  'QuestionWord',
  'Determiner',
  'Conjunction',
  'Pronoun',
  'Preposition',
  'Possessive',
  'Copula',
  'Modal',
  'Auxiliary',
  'Negative',
]);
const lexicon = (): Record<string, string | undefined> =>
  (nlp.model() as { one: { lexicon: Record<string, string | undefined> } }).one.lexicon;
const notClosed = (words: string[]) => !(words.length === 1 && CLOSED.has(lexicon()[words[0]!] ?? ''));

/** Every candidate mention of `text`, in priority order (module comment). */
function candidates(text: string, properNouns: boolean, demonyms: string): Match[] {
  const doc = nlp(text);
  return [
    ...ranges(doc.people(), 'PER'),
    ...ranges(doc.organizations(), 'ORG'),
    ...ranges(doc.places(), 'LOC'),
    ...ranges(doc.match('#Date+'), 'TIME'),
    ...ranges(doc.numbers(), 'NUM'),
    ...ranges(doc.match('(#Money|#Percent)+'), 'NUM'),
    ...ranges(doc.match('#Demonym+'), demonyms),
    ...(properNouns ? ranges(doc.match('#ProperNoun+'), 'MISC', notClosed) : []),
  ];
}

// ---------------------------------------------------------------------------------------------
// character ranges → word spans

/** A number that is a year (1000–2099) or a decade (1990s): TIME, as DocRED annotates them. */
const YEAR = /^(?:1\d|20)\d\d(?:s)?$/;
/** A TIME mention needs a digit, a capitalised word (June, Monday, Holocene) or a century / decade. */
const TIME_WORD = /\p{N}|^\p{Lu}|centur|decade|millenni/u;
const PUNCT = /^[^\p{L}\p{N}\p{Sc}%]+$/u; // currency and % stay in a mention: $ 5 million, 45 %
const LEADING = new Set(['the', 'a', 'an']);
const CLITIC = /^(?:['’](?:s|m|d|ll|re|ve)|n['’]t)$/i;
const NAMES = new Set(['PER', 'ORG', 'LOC', 'MISC']);

/**
 * More mentions of names already found: every unclaimed occurrence of a found name (`repeated`)
 * or of a found PER name's last word (`surname`) that starts with a capital letter, with the type
 * of the name it repeats. compromise tags a word by its context, so a name it found once is often
 * missed elsewhere (a surname opening a sentence: `Merkel said …`).
 */
function spotAliases(
  found: readonly Span[],
  tokens: TokenizedText,
  aliases: { surname: boolean; repeated: boolean },
): Span[] {
  const names = new Map<string, string>(); // words joined by ' ' → type (first found wins)
  for (const s of found) {
    const ws = tokens.sents[s.sent]!.slice(s.start, s.end);
    if (!/^\p{Lu}/u.test(ws[0]!)) continue;
    if (aliases.repeated && !names.has(ws.join(' '))) names.set(ws.join(' '), s.type);
    const last = ws[ws.length - 1]!;
    if (
      aliases.surname &&
      s.type === 'PER' &&
      ws.length > 1 &&
      /^\p{Lu}\p{L}+$/u.test(last) &&
      !names.has(last)
    )
      names.set(last, 'PER');
  }
  if (names.size === 0) return [...found];
  const longest = Math.max(...[...names.keys()].map((n) => n.split(' ').length));
  const taken = new Set(
    found.flatMap((s) => Array.from({ length: s.end - s.start }, (_, k) => `${s.sent}:${s.start + k}`)),
  );
  const out = [...found];
  tokens.sents.forEach((sent, si) => {
    for (let i = 0; i < sent.length; i++) {
      for (let n = Math.min(longest, sent.length - i); n >= 1; n--) {
        const type = names.get(sent.slice(i, i + n).join(' '));
        if (type === undefined) continue;
        if (Array.from({ length: n }, (_, k) => `${si}:${i + k}`).some((k) => taken.has(k))) continue;
        out.push({ sent: si, start: i, end: i + n, type });
        i += n - 1;
        break;
      }
    }
  });
  return out.sort((a, b) => a.sent - b.sent || a.start - b.start);
}

/** Matches → non-overlapping word spans (first claim wins), split at punctuation, trimmed. */
function spans(matches: readonly Match[], tokens: TokenizedText): Span[] {
  const words = tokens.sents.flatMap((sent, s) =>
    sent.map((word, i) => ({ word, sent: s, i, range: tokens.wordOffsets[s]![i]! })),
  );
  const taken = new Set<number>(); // flat word indices already in a mention
  const out: Span[] = [];
  let lo = 0; // words are in text order: binary search the first word ending after `start`
  for (const m of matches) {
    lo = firstEndingAfter(words, m.start);
    const pieces: number[][] = [[]];
    for (let k = lo; k < words.length && words[k]!.range[0] < m.end; k++) {
      const piece = pieces[pieces.length - 1]!;
      const prev = piece[piece.length - 1];
      const apart = PUNCT.test(words[k]!.word) || CLITIC.test(words[k]!.word); // split here, drop the word
      if (apart || (prev !== undefined && words[prev]!.sent !== words[k]!.sent)) {
        if (piece.length > 0) pieces.push([]);
        if (apart) continue;
      }
      pieces[pieces.length - 1]!.push(k);
    }
    for (const piece of pieces) {
      while (piece.length > 0 && LEADING.has(words[piece[0]!]!.word.toLowerCase())) piece.shift();
      if (piece.length === 0 || piece.some((k) => taken.has(k))) continue;
      // a name needs a capitalised word or a digit (`Merkel 's government` → not `government`)
      if (NAMES.has(m.type) && !piece.some((k) => /^[\p{Lu}\p{N}]/u.test(words[k]!.word))) continue;
      piece.forEach((k) => taken.add(k));
      const first = words[piece[0]!]!;
      const ws = piece.map((k) => words[k]!.word);
      if (m.type === 'TIME' && !ws.some((w) => TIME_WORD.test(w))) continue; // 'every year', 'today'
      const type = m.type === 'NUM' && piece.length === 1 && YEAR.test(first.word) ? 'TIME' : m.type;
      out.push({ sent: first.sent, start: first.i, end: first.i + piece.length, type });
    }
  }
  return out.sort((a, b) => a.sent - b.sent || a.start - b.start);
}

function firstEndingAfter(words: readonly { range: readonly [number, number] }[], start: number): number {
  let lo = 0;
  let hi = words.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (words[mid]!.range[1] <= start) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------------
// grouping

const SKIPPABLE = new Set(['the', 'of', 'and', 'for', '&', 'de', 'a', 'an']);
const ACRONYM = /^(?:\p{Lu}\.?){2,}$/u;

/** The acronyms a multi-word name can have: initials of all words, and of the non-skippable ones. */
function initials(words: readonly string[]): string[] {
  if (words.length < 2) return [];
  const all = words.map((w) => w[0]!.toUpperCase()).join('');
  const kept = words.filter((w) => !SKIPPABLE.has(w.toLowerCase())).map((w) => w[0]!.toUpperCase());
  return [...new Set([all, kept.join('')])].filter((a) => a.length >= 2);
}

/** Spans → entities (module comment). Returns entity index per span. */
function group(
  spans: readonly Span[],
  words: (s: Span) => string[],
  aliases: Required<NonNullable<AutoEntityOptions['aliases']>>,
): number[] {
  const entityOf: number[] = [];
  const byName = new Map<string, number>(); // lower-cased name → entity
  const entityWords: string[][][] = []; // entity → the words of each of its mentions
  const entityType: string[] = [];
  const lastSeen: number[] = []; // entity → index of its latest mention
  const join = (i: number, e: number) => {
    entityOf[i] = e;
    entityWords[e]!.push(words(spans[i]!));
    lastSeen[e] = i;
  };
  spans.forEach((span, i) => {
    const ws = words(span);
    const name = ws.join(' ').toLowerCase();
    const candidates: number[] = [];
    if (aliases.repeated && byName.has(name)) candidates.push(byName.get(name)!);
    if (aliases.surname && (span.type === 'PER' || (span.type === 'MISC' && ws.length === 1)))
      entityWords.forEach((mentions, e) => {
        const hit =
          ws.length === 1
            ? entityType[e] === 'PER' && mentions.some((m) => m.length > 1 && m[m.length - 1] === ws[0])
            : span.type === 'PER' &&
              (entityType[e] === 'PER' || entityType[e] === 'MISC') &&
              mentions.every((m) => m.length === 1) && // no full name yet: Obama … Michelle Obama
              mentions.some((m) => ws[ws.length - 1] === m[0]);
        if (hit) candidates.push(e);
      });
    if (aliases.acronym) {
      const letters = ws.length === 1 && ACRONYM.test(ws[0]!) ? ws[0]!.replace(/\./g, '') : undefined;
      const mine = initials(ws);
      entityWords.forEach((mentions, e) => {
        const hit = mentions.some((m) =>
          letters !== undefined
            ? initials(m).includes(letters)
            : m.length === 1 && ACRONYM.test(m[0]!) && mine.includes(m[0]!.replace(/\./g, '')),
        );
        if (hit) candidates.push(e);
      });
    }
    if (candidates.length > 0) {
      // the most recently mentioned candidate (an exact repeat is always the only one by name)
      const e = candidates.reduce((a, b) => (lastSeen[b]! > lastSeen[a]! ? b : a));
      join(i, e);
    } else {
      const e = entityWords.length;
      entityWords.push([]);
      entityType.push(span.type);
      lastSeen.push(i);
      join(i, e);
    }
    if (!byName.has(name)) byName.set(name, entityOf[i]!);
  });
  return entityOf;
}

// ---------------------------------------------------------------------------------------------
// the front end

/** Mentions and entities over already tokenised text (shared by the two entry points below). */
export function recognizeTokenized(
  text: string,
  tokens: TokenizedText,
  title: string,
  options: AutoEntityOptions = {},
): TextDocument {
  const keep = new Set(options.types ?? AUTO_ENTITY_TYPES);
  const aliases = {
    surname: options.aliases?.surname ?? true,
    acronym: options.aliases?.acronym ?? true,
    repeated: options.aliases?.repeated ?? true,
  };
  const first = spans(candidates(text, options.properNouns ?? true, options.demonyms ?? 'LOC'), tokens);
  const found = spotAliases(first, tokens, aliases);
  const words = (s: Span) => tokens.sents[s.sent]!.slice(s.start, s.end);
  const entityOf = group(found, words, aliases);
  const all: Mention[][] = [];
  found.forEach((s, i) => {
    const e = entityOf[i]!;
    const offsets = tokens.wordOffsets[s.sent]!;
    const mention: Mention = {
      name: text.slice(offsets[s.start]![0], offsets[s.end - 1]![1]),
      pos: [s.start, s.end],
      sent_id: s.sent,
      type: all[e]?.[0]?.type ?? s.type,
    };
    (all[e] ??= []).push(mention);
  });
  const vertexSet = all.filter((e) => keep.has(e[0]!.type)); // by entity type: after grouping
  return { title, sents: tokens.sents, vertexSet, text, wordOffsets: tokens.wordOffsets };
}

/** Plain text → a document with automatically recognised, grouped entities (module comment). */
export function recognizeEntities(
  text: string,
  options: AutoEntityOptions & { title?: string } = {},
): TextDocument {
  return recognizeTokenized(text, tokenizeText(text), options.title ?? 'text', options);
}

/**
 * The automatic front end over a DocRED document's own words and sentences (its text is
 * `documentText(doc)`): the gold entities and labels are replaced by recognised entities, so the
 * result can be compared word for word with the gold document (`alignEntities`).
 */
export function recognizeDocumentEntities(
  doc: DocREDDocument,
  options: AutoEntityOptions = {},
): TextDocument {
  const { text, wordOffsets } = documentText(doc);
  const sents = doc.sents.map((s) => [...s]);
  return recognizeTokenized(text, { sents, wordOffsets }, doc.title, options);
}
