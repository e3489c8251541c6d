/**
 * Reader for the DocRED JSON schema: DocRED, Re-DocRED (mentions with extra `global_pos` / `index`
 * keys, tolerated and dropped), the unlabelled DocRED test file (no `labels`), and CDR in DocRED
 * form (`evidence: [null]`, explicit `NR` labels). Total: returns `Either<DataError, …>` and reports
 * every problem with file, document index and title, and JSON path.
 *
 * Checks, one `IssueKind` each: wrong JSON types (`type`), mention spans outside their sentence or
 * sentence ids outside the document (`span`), entities without mentions (`empty-entity`), labels
 * pointing at missing entities or with h = t (`missing-entity`), relations not in the schema
 * (`unknown-relation`, only when a schema is given), duplicate (h, t, r) labels (`duplicate-label`).
 * Truncated or invalid JSON is a `ParseError`.
 *
 * Lenient mode drops a bad mention or label instead of failing, and an entity left without
 * mentions (labels on it are dropped, later entities renumbered); each drop is reported in the
 * `warnings` of the returned array. Problems that cannot be dropped (a document whose title,
 * sentences or vertexSet have the wrong type) still give a `Left`.
 *
 * @example
 * import * as E from 'fp-ts/lib/Either.js';
 * const r = readDocRED(text, { file: 'dev_revised.json', schema: RelationSchema.docred() });
 * if (E.isRight(r)) console.log(r.right.length, r.right[0].vertexSet.length);
 * else console.error(r.left.message);
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import * as t from 'io-ts';
import { type DataError, type DataIssue, type IssueKind, invalidData, readError } from './errors.js';
import { type RelationSchema, parseJSON } from './schema.js';

// ---------------------------------------------------------------------------------------------
// types (field names are the official JSON names, so documents round-trip and feed the scorer)

/** One mention: `pos` = [start, end) word offsets inside sentence `sent_id`. */
export interface Mention {
  readonly name: string;
  readonly pos: readonly [number, number];
  readonly sent_id: number;
  readonly type: string;
}

/** One relation fact: head entity `h`, tail entity `t`, relation id `r` (e.g. `P17`). */
export interface Label {
  readonly h: number;
  readonly t: number;
  readonly r: string;
  readonly evidence: readonly (number | null)[];
}

/** One document. `labels` is `undefined` for unlabelled files (DocRED test). */
export interface DocREDDocument {
  readonly title: string;
  readonly sents: readonly (readonly string[])[];
  readonly vertexSet: readonly (readonly Mention[])[];
  readonly labels?: readonly Label[];
}

/** The documents of a file, plus what lenient mode dropped (empty in strict mode). */
export type DocREDDataset = DocREDDocument[] & { readonly warnings: readonly DataIssue[] };

export interface ReadDocREDOptions {
  /** File name used in messages. Default `'<input>'`. */
  file?: string;
  /** Drop bad mentions/labels (reported in `warnings`) instead of failing. Default false. */
  lenient?: boolean;
  /** When given, every label's `r` must be a relation of this schema (or an NA alias). */
  schema?: RelationSchema;
}

// ---------------------------------------------------------------------------------------------
// io-ts codecs

const int = new t.Type<number, number, unknown>(
  'integer',
  (u): u is number => typeof u === 'number' && Number.isInteger(u),
  (u, c) => (typeof u === 'number' && Number.isInteger(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);
const span = new t.Type<[number, number], [number, number], unknown>(
  '[integer, integer]',
  (u): u is [number, number] => Array.isArray(u) && u.length === 2 && u.every((x) => int.is(x)),
  (u, c) =>
    Array.isArray(u) && u.length === 2 && u.every((x) => int.is(x))
      ? t.success(u as [number, number])
      : t.failure(u, c),
  t.identity,
);
const MentionCodec = t.type({ name: t.string, pos: span, sent_id: int, type: t.string });
const LabelCodec = t.type({
  h: int,
  t: int,
  r: t.string,
  evidence: t.union([t.undefined, t.array(t.union([int, t.null]))]),
});
const DocumentShellCodec = t.type({
  title: t.string,
  sents: t.array(t.array(t.string)),
  vertexSet: t.array(t.array(t.unknown)),
  labels: t.union([t.undefined, t.array(t.unknown)]),
});

/** `[3].vertexSet[2]`-style suffix from an io-ts context (union/intersection member keys skipped). */
function contextPath(context: t.Context): string {
  let path = '';
  for (let i = 1; i < context.length; i++) {
    const parent = context[i - 1]!.type;
    if (parent instanceof t.UnionType || parent instanceof t.IntersectionType) continue;
    const key = context[i]!.key;
    path += /^\d+$/.test(key) ? `[${key}]` : `.${key}`;
  }
  return path;
}

/** io-ts errors → one issue per JSON path ("expected X, got Y"). */
function typeIssues(
  errors: t.Errors,
  base: string,
  make: (path: string, message: string) => DataIssue,
): DataIssue[] {
  const seen = new Map<string, DataIssue>();
  for (const err of errors) {
    const path = base + contextPath(err.context);
    if (seen.has(path)) continue;
    const expected = err.context[err.context.length - 1]!.type.name;
    const got = err.value === undefined ? 'nothing (missing)' : truncate(JSON.stringify(err.value));
    seen.set(path, make(path, `expected ${expected}, got ${got}`));
  }
  return [...seen.values()];
}

const truncate = (s: string): string => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

// ---------------------------------------------------------------------------------------------
// readers

/**
 * Parses and validates a DocRED-schema JSON text.
 * @returns every document (strict mode: only when there is no problem at all)
 */
export function readDocRED(
  text: string,
  options: ReadDocREDOptions = {},
): E.Either<DataError, DocREDDataset> {
  const file = options.file ?? '<input>';
  return E.flatMap(parseJSON(text, file), (root) => validateDocuments(root, file, options));
}

/** Reads a file (Node) and validates it with `readDocRED`. */
export function readDocREDFile(
  path: string,
  options: Omit<ReadDocREDOptions, 'file'> = {},
): TE.TaskEither<DataError, DocREDDataset> {
  return TE.flatMapEither(readTextFile(path), (text) => readDocRED(text, { ...options, file: path }));
}

/** Reads a UTF-8 text file as a TaskEither (node:fs loaded lazily so browser bundles work). */
export function readTextFile(path: string): TE.TaskEither<DataError, string> {
  return TE.tryCatch(
    async () => {
      const fs = await import('node:fs/promises');
      return fs.readFile(path, 'utf8');
    },
    (cause) => readError(path, cause),
  );
}

/** Validates an already-parsed JSON value (the array of documents). */
export function validateDocuments(
  root: unknown,
  file: string,
  options: ReadDocREDOptions = {},
): E.Either<DataError, DocREDDataset> {
  if (!Array.isArray(root))
    return E.left(
      invalidData(file, [
        {
          kind: 'type',
          file,
          document: -1,
          title: undefined,
          path: '$',
          message: `expected an array of documents, got ${truncate(JSON.stringify(root) ?? String(root))}`,
        },
      ]),
    );
  const errors: DataIssue[] = [];
  const warnings: DataIssue[] = [];
  const docs: DocREDDocument[] = [];
  root.forEach((raw, i) => {
    const doc = validateDocument(raw, i, file, options, errors, warnings);
    if (doc) docs.push(doc);
  });
  if (errors.length > 0) return E.left(invalidData(file, errors));
  return E.right(Object.assign(docs, { warnings }));
}

function validateDocument(
  raw: unknown,
  i: number,
  file: string,
  options: ReadDocREDOptions,
  errors: DataIssue[],
  warnings: DataIssue[],
): DocREDDocument | undefined {
  const rawTitle = typeof raw === 'object' && raw !== null ? (raw as { title?: unknown }).title : undefined;
  const title = typeof rawTitle === 'string' ? rawTitle : undefined;
  const base = `$[${i}]`;
  const make =
    (kind: IssueKind) =>
    (path: string, message: string): DataIssue => ({ kind, file, document: i, title, path, message });
  const shell = DocumentShellCodec.decode(raw);
  if (E.isLeft(shell)) {
    errors.push(...typeIssues(shell.left, base, make('type')));
    return undefined;
  }
  const { sents, vertexSet, labels: rawLabels } = shell.right;
  // A droppable problem: an error in strict mode, a warning (the item is dropped) in lenient mode.
  const drop = (issue: DataIssue): void => {
    (options.lenient ? warnings : errors).push(
      options.lenient ? { ...issue, message: `${issue.message} (dropped)` } : issue,
    );
  };

  // mentions
  const entities: Mention[][] = vertexSet.map((rawMentions, e) => {
    const kept: Mention[] = [];
    rawMentions.forEach((rm, j) => {
      const path = `${base}.vertexSet[${e}][${j}]`;
      const m = MentionCodec.decode(rm);
      if (E.isLeft(m)) return typeIssues(m.left, path, make('type')).forEach(drop);
      const { name, pos, sent_id, type } = m.right;
      if (sent_id < 0 || sent_id >= sents.length)
        return drop(
          make('span')(
            `${path}.sent_id`,
            `sentence ${sent_id} does not exist (document has ${sents.length} sentences)`,
          ),
        );
      const len = sents[sent_id]!.length;
      if (!(pos[0] >= 0 && pos[0] < pos[1] && pos[1] <= len))
        return drop(
          make('span')(
            `${path}.pos`,
            `span [${pos[0]}, ${pos[1]}) is outside sentence ${sent_id} (${len} words)`,
          ),
        );
      kept.push({ name, pos: [pos[0], pos[1]], sent_id, type });
    });
    return kept;
  });

  // entities without mentions: dropped (with renumbering) in lenient mode
  const newIndex: number[] = [];
  let next = 0;
  entities.forEach((ms, e) => {
    // strict mode reports an entity as empty only when the file gives it no mention at all (a bad
    // mention is already reported); lenient mode also drops entities whose mentions were all dropped
    if (ms.length > 0 || (!options.lenient && vertexSet[e]!.length > 0)) newIndex[e] = next++;
    else {
      newIndex[e] = -1;
      drop(make('empty-entity')(`${base}.vertexSet[${e}]`, `entity ${e} has no mentions`));
    }
  });
  const keptEntities = entities.filter((_, e) => newIndex[e]! >= 0);

  // labels
  let labels: Label[] | undefined;
  if (rawLabels !== undefined) {
    labels = [];
    const seen = new Set<string>();
    rawLabels.forEach((rl, j) => {
      const path = `${base}.labels[${j}]`;
      const l = LabelCodec.decode(rl);
      if (E.isLeft(l)) return typeIssues(l.left, path, make('type')).forEach(drop);
      const { h, t: tail, r, evidence } = l.right;
      for (const [field, e] of [
        ['h', h],
        ['t', tail],
      ] as const) {
        if (e < 0 || e >= entities.length)
          return drop(
            make('missing-entity')(
              `${path}.${field}`,
              `entity ${e} does not exist (document has ${entities.length} entities)`,
            ),
          );
        if (newIndex[e] === -1 && options.lenient)
          return drop(make('missing-entity')(`${path}.${field}`, `entity ${e} has no mentions`));
      }
      if (h === tail)
        return drop(make('missing-entity')(`${path}.t`, `head and tail are the same entity ${h}`));
      if (options.schema && !options.schema.has(r))
        return drop(make('unknown-relation')(`${path}.r`, `unknown relation ${JSON.stringify(r)}`));
      const key = `${h}\u0000${tail}\u0000${r}`;
      if (seen.has(key))
        return drop(make('duplicate-label')(path, `duplicate label (h ${h}, t ${tail}, r ${r})`));
      seen.add(key);
      labels!.push({ h: newIndex[h]!, t: newIndex[tail]!, r, evidence: evidence ?? [] });
    });
  }
  const doc: DocREDDocument = { title: title!, sents, vertexSet: keptEntities };
  return labels === undefined ? doc : { ...doc, labels };
}

// ---------------------------------------------------------------------------------------------
// the fixed Re-DocRED split

/** Number of Re-DocRED `dev_revised.json` documents held out for validation. */
export const REDOCRED_VALIDATION_SIZE = 100;

/**
 * The fixed train/validation split of Re-DocRED `dev_revised.json` used by every example and by
 * the results table (docs/data.md): the first `n − 100` documents in file order are `train`, the
 * last 100 are `validation`. Pure and order-preserving, so anyone can reproduce it.
 *
 * @example
 * const { train, validation } = reDocREDSplit(docs); // 400 / 100 for the 500 documents
 */
export function reDocREDSplit<D>(
  docs: readonly D[],
  validationSize = REDOCRED_VALIDATION_SIZE,
): { train: D[]; validation: D[] } {
  const cut = Math.max(0, docs.length - validationSize);
  return { train: docs.slice(0, cut), validation: docs.slice(cut) };
}
