/**
 * Plain text → DocRED words: sentence split and word tokenisation, keeping the `[start, end)`
 * character offsets of every word, and the way back (a DocRED document's words as one text).
 *
 * Words follow DocRED's (PTB-like) tokenisation: punctuation is its own word (`Hamburg .`,
 * `( born`), the clitics `'s 'm 'd 'll 're 've n't` are split off (`Merkel 's`, `did n't`), while
 * numbers (`10,000`, `101.5`, `4:23`), hyphen / dash / slash compounds (`mid-19th`, `2016–17`,
 * `2017/2018`), inner apostrophes (`O'Connor`), letter-dot abbreviations (`U.S.`, `e.g.`,
 * `Ph.D.`), initials before a capitalised word (`J. Smith`) and the common abbreviations of
 * `ABBREVIATIONS` (`Dr.`, `St.`, `Inc.`) stay one word. An ellipsis (`...`) is one word.
 *
 * A sentence ends after `.`, `!`, `?`, `...` or `…`, together with the closing quotes and brackets
 * written right after it (`."`, `?)`), unless the next word starts with a lower-case letter
 * (`(really?) he left`); and at a blank line. An abbreviation never ends a sentence
 * (`He lives in the U.S. now` is one sentence; so is `… the U.S. He …`, a known limitation).
 *
 * @example
 * const t = tokenizeText('Angela Merkel was born in Hamburg. She led Germany.');
 * t.sents;          // [['Angela','Merkel','was','born','in','Hamburg','.'], ['She','led','Germany','.']]
 * t.wordOffsets[0]; // [[0,6],[7,13],[14,17],[18,22],[23,25],[26,33],[33,34]]
 */
import type { DocREDDocument } from '../data/docred.js';

// ---------------------------------------------------------------------------------------------
// types

/** A document read from text: DocRED form plus where each word sits in the original text. */
export interface TextDocument extends DocREDDocument {
  readonly text: string;
  /** `[start, end)` character offsets of every word: wordOffsets[sentence][word] */
  readonly wordOffsets: readonly (readonly (readonly [number, number])[])[];
}

/** Sentences of words and the `[start, end)` character offsets of each word in the text. */
export interface TokenizedText {
  readonly sents: string[][];
  readonly wordOffsets: [number, number][][];
}

/** One word with its `[start, end)` character offsets. */
export interface Token {
  readonly word: string;
  readonly start: number;
  readonly end: number;
}

// ---------------------------------------------------------------------------------------------
// words

/** Words written with a final `.` that is part of the word (compared case-sensitively). */
export const ABBREVIATIONS: ReadonlySet<string> = new Set(
  (
    'Mr Mrs Ms Dr Prof St Mt Ft Jr Sr Inc Co Corp Ltd Bros Gen Col Lt Sgt Capt Adm Rev Gov Sen ' +
    'Rep Pres Hon vs v etc approx ca c Jan Feb Mar Apr Aug Sep Sept Oct Nov Dec No Nos Vol Ave Blvd'
  ).split(' '),
);

const LETTER = String.raw`[\p{L}\p{N}\p{M}]`;
/** The alternatives of one word, first match wins (see the module comment). */
const WORD = new RegExp(
  [
    String.raw`(?:\p{L}{1,2}\.){2,}`, // U.S. e.g. Ph.D.
    String.raw`\p{Lu}\.(?=\s+\p{Lu})`, // J. Smith
    String.raw`\.{2,}`, // ...
    String.raw`(?<!${LETTER})['’](?:s|m|d|ll|re|ve)(?!${LETTER})`, // a clitic written apart: Merkel 's
    // letters/digits joined by - – / & . ' ’ (and , : between digits)
    String.raw`${LETTER}+(?:(?:[\-–/&.'’]|(?<=\p{N})[,:](?=\p{N}))${LETTER}+)*`,
    String.raw`\S`, // any other character is a word of its own
  ].join('|'),
  'gu',
);
const CLITIC = /^(.*\p{L})((?:['’](?:s|m|d|ll|re|ve))|(?:n['’]t))$/iu;

/** The words of `text` with their offsets (shifted by `base`), without sentence split. */
export function tokenizeWords(text: string, base = 0): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(WORD)) {
    let word = m[0];
    const start = m.index + base;
    if (text[m.index + word.length] === '.' && ABBREVIATIONS.has(word)) word += '.';
    const clitic = CLITIC.exec(word);
    if (clitic) {
      const head = clitic[1]!;
      out.push({ word: head, start, end: start + head.length });
      out.push({ word: clitic[2]!, start: start + head.length, end: start + word.length });
    } else out.push({ word, start, end: start + word.length });
  }
  // an abbreviation swallowed the '.' that the next match returned as its own word: drop it
  return out.filter((t, i) => !(i > 0 && t.word === '.' && out[i - 1]!.end > t.start));
}

// ---------------------------------------------------------------------------------------------
// sentences

const SENTENCE_END = new Set(['.', '!', '?', '…']);
const CLOSER = new Set(['"', "'", '”', '’', ')', ']', '}', '»']);
const isEnd = (w: string) => SENTENCE_END.has(w) || /^\.{2,}$/.test(w);

/** Sentence split + word tokenisation (module comment). Empty sentences are never produced. */
export function tokenizeText(text: string): TokenizedText {
  const tokens = tokenizeWords(text);
  const sents: string[][] = [];
  const wordOffsets: [number, number][][] = [];
  let words: string[] = [];
  let offsets: [number, number][] = [];
  const close = () => {
    if (words.length === 0) return;
    sents.push(words);
    wordOffsets.push(offsets);
    words = [];
    offsets = [];
  };
  let ended = false; // the previous word ended a sentence; adjacent closers still join it
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    const prev = tokens[i - 1];
    const gap = prev ? text.slice(prev.end, tok.start) : '';
    if (/\n[^\S\n]*\n/.test(gap)) close();
    else if (
      ended &&
      !(gap === '' && (CLOSER.has(tok.word) || isEnd(tok.word))) &&
      !/^\p{Ll}/u.test(tok.word)
    )
      close();
    words.push(tok.word);
    offsets.push([tok.start, tok.end]);
    ended = isEnd(tok.word) || (ended && gap === '' && CLOSER.has(tok.word));
  }
  close();
  return { sents, wordOffsets };
}

// ---------------------------------------------------------------------------------------------
// DocRED words → text

/**
 * A DocRED document's words joined by single spaces (sentences too), with each word's offsets:
 * the text to show or to run the automatic front end on when the input has words but no text.
 */
export function documentText(doc: DocREDDocument): { text: string; wordOffsets: [number, number][][] } {
  let text = '';
  const wordOffsets = doc.sents.map((sent) =>
    sent.map((word): [number, number] => {
      if (text.length > 0) text += ' ';
      const start = text.length;
      text += word;
      return [start, text.length];
    }),
  );
  return { text, wordOffsets };
}
