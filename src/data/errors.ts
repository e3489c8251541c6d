/**
 * Data errors (STYLE.md, "two regimes"): everything in `src/data` returns `Either<DataError, A>`
 * (`TaskEither` when async) and never throws. A `DataError` is a readonly tagged union; every member
 * carries a ready-to-print `message` naming the file, the document (index and title) and the field
 * (JSON path) when they are known.
 *
 * @example
 * import { isLeft } from 'fp-ts/lib/Either.js';
 * const r = readDocRED('[{"title": 1}]', { file: 'x.json' });
 * if (isLeft(r)) console.log(r.left.message); // x.json: document 0 at $[0].title: expected string, got 1 …
 */

/** The kinds of problem a reader reports for one document (one per malformed-input kind). */
export type IssueKind =
  | 'type' // a field has the wrong JSON type or is missing
  | 'span' // mention span outside its sentence, or sentence id outside the document
  | 'empty-entity' // entity with no mentions
  | 'missing-entity' // label pointing at an entity that does not exist (or h = t)
  | 'unknown-relation' // label relation not in the schema
  | 'duplicate-label'; // the same (h, t, r) twice

/** One problem in one document. `path` is a JSON path from the file root, e.g. `$[3].vertexSet[2][0].pos`. */
export interface DataIssue {
  readonly kind: IssueKind;
  readonly file: string;
  /** Document index in the file (0-based); -1 when the problem is at the file level. */
  readonly document: number;
  readonly title: string | undefined;
  readonly path: string;
  readonly message: string;
}

/** File could not be read (missing, permissions). */
export interface ReadError {
  readonly _tag: 'ReadError';
  readonly file: string;
  readonly message: string;
}
/** Text is not valid JSON (e.g. truncated) or not the expected line format. */
export interface ParseError {
  readonly _tag: 'ParseError';
  readonly file: string;
  /** 1-based line of the problem when known. */
  readonly line: number | undefined;
  readonly message: string;
}
/** Parsed but invalid: every problem found, in file order. */
export interface InvalidData {
  readonly _tag: 'InvalidData';
  readonly file: string;
  readonly issues: readonly DataIssue[];
  readonly message: string;
}
/** A tokenizer file or object could not be loaded or lacks a needed token. */
export interface TokenizerError {
  readonly _tag: 'TokenizerError';
  readonly file: string;
  readonly message: string;
}
/** A document could not be featurized (unknown entity type for typed markers, …). */
export interface FeaturizeError {
  readonly _tag: 'FeaturizeError';
  readonly document: number;
  readonly title: string;
  readonly path: string;
  readonly message: string;
}
/** `collate` / graph collation found an invalid feature before creating any tensor. */
export interface BatchError {
  readonly _tag: 'BatchError';
  /** Index of the feature in the batch; -1 for batch-level problems. */
  readonly document: number;
  readonly field: string;
  readonly message: string;
}

export type DataError = ReadError | ParseError | InvalidData | TokenizerError | FeaturizeError | BatchError;

// ---------------------------------------------------------------------------------------------
// constructors

export const readError = (file: string, cause: unknown): DataError => ({
  _tag: 'ReadError',
  file,
  message: `${file}: cannot read: ${describe(cause)}`,
});

export const parseError = (file: string, detail: string, line?: number): DataError => ({
  _tag: 'ParseError',
  file,
  line,
  message: `${file}${line === undefined ? '' : `:${line}`}: ${detail}`,
});

export const tokenizerError = (file: string, detail: string): DataError => ({
  _tag: 'TokenizerError',
  file,
  message: `${file}: tokenizer: ${detail}`,
});

export const featurizeError = (document: number, title: string, path: string, detail: string): DataError => ({
  _tag: 'FeaturizeError',
  document,
  title,
  path,
  message: `document ${document} ${JSON.stringify(title)} at ${path}: ${detail}`,
});

export const batchError = (document: number, field: string, detail: string): DataError => ({
  _tag: 'BatchError',
  document,
  field,
  message: `collate: ${document >= 0 ? `feature ${document}, ` : ''}${field}: ${detail}`,
});

/** One issue as a line: `file: document 3 "Title" at $[3].labels[0].h: …`. */
export function formatIssue(i: DataIssue): string {
  const doc =
    i.document < 0
      ? ''
      : ` document ${i.document}${i.title === undefined ? '' : ` ${JSON.stringify(i.title)}`}`;
  return `${i.file}:${doc} at ${i.path}: ${i.message}`;
}

/** Wraps non-empty issues into an `InvalidData` error; the message lists the first 20 issues. */
export function invalidData(file: string, issues: readonly DataIssue[]): DataError {
  const shown = issues.slice(0, 20).map(formatIssue);
  const more = issues.length > 20 ? `\n… and ${issues.length - 20} more` : '';
  return {
    _tag: 'InvalidData',
    file,
    issues,
    message: `${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${shown.join('\n')}${more}`,
  };
}

/** Human text of an unknown thrown value (used once, at the `tryCatch` edge). */
export function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
