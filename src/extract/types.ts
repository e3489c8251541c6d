/**
 * The shapes of `extract`: what goes in (one record per document of an input file or string),
 * and what comes out (one `ExtractResult` per document, the same object as one line of
 * `docre-kit extract --output FILE.jsonl`).
 */
import type { DocREDDocument } from '../data/docred.js';

/** How entities are found: the document's own (`gold`), the automatic front end, or `[text|TYPE]` marks. */
export type EntitySource = 'gold' | 'auto' | 'marked';

/** One input document. `line` is its 1-based line in the input file (the list index + 1 for a JSON list). */
export type InputRecord =
  | { readonly kind: 'text'; readonly line: number; readonly id: string; readonly text: string }
  | { readonly kind: 'docred'; readonly line: number; readonly id: string; readonly doc: DocREDDocument };

/** An input line that could not be read; `error` is one located line (`file:line: …`). */
export interface BadRecord {
  readonly kind: 'bad';
  readonly line: number;
  readonly id?: string;
  readonly error: string;
}

/** A mention in the output: its words and where it sits in the text. */
export interface ExtractedMention {
  readonly text: string;
  /** sentence index */
  readonly sentence: number;
  /** `[start, end)` word span within the sentence (DocRED `pos`) */
  readonly words: readonly [number, number];
  /** `[start, end)` character offsets in the document's text */
  readonly start: number;
  readonly end: number;
}

export interface ExtractedEntity {
  /** index in `entities` (what triples refer to) */
  readonly id: number;
  readonly name: string;
  readonly type: string;
  readonly mentions: readonly ExtractedMention[];
}

export interface ExtractedTriple {
  /** entity ids */
  readonly head: number;
  readonly tail: number;
  /** relation id as in the model's schema (e.g. `P17`) and its readable name */
  readonly relation: string;
  readonly relationName: string;
  /** the relation's logit minus the threshold class's (> 0: predicted) */
  readonly score: number;
  /** evidence sentence ids, when the model gives them */
  readonly evidence?: readonly number[];
}

/** One document's result: one line of the output JSONL. `error` set ⇒ no entities / triples. */
export interface ExtractResult {
  readonly id: string;
  readonly line?: number;
  readonly text?: string;
  readonly entities: readonly ExtractedEntity[];
  readonly triples: readonly ExtractedTriple[];
  readonly error?: string;
}
