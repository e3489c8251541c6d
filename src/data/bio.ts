/**
 * Reader for the tab-separated CDR/GDA `.data` files (EoG preprocessing; the input of ATLOP's
 * `read_cdr` / `read_gda` and DocuNet). One document per line:
 * `PMID \t sentences joined by "|" (words by " ") \t` then 17 fields per candidate pair:
 * `1:CID:2 | 1:NR:2 | 1:GDA:2 | not_include`, direction `L2R`/`R2L`, `CROSS`/`NON-CROSS`, the two
 * argument spans, then per argument: KB id, mention names joined by `|`, type, mention starts,
 * mention ends (document-level word offsets, joined by `:`), sentence ids.
 *
 * Converted to `DocREDDocument`s (title = PMID): an entity per KB id (mentions from its first
 * pair), entities in document order (first mention; the files list CID pairs first, so their
 * order would leak labels to a position-aware model), a label per included pair with ATLOP's direction (`L2R`: head =
 * first argument, `R2L`: head = second) and r = `CID` / `GDA` / `NR` (`NR` = explicit no-relation,
 * an NA alias of `RelationSchema.cdr()` / `.gda()`). `not_include` pairs give entities (so that
 * featurization marks their mentions, as ATLOP does) but no label; `collate(…, {pairs: 'labelled'})`
 * then keeps exactly ATLOP's candidate pairs. The converted documents go through the same
 * validation as `readDocRED` (spans, empty entities, duplicate labels).
 *
 * @example
 * const docs = await readBioDataFile('../shared/data/cdr/dev_filter.data')();
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { type DataError, parseError } from './errors.js';
import { type DocREDDataset, type ReadDocREDOptions, readTextFile, validateDocuments } from './docred.js';

const PAIR_FIELDS = 17;

/** Parses a `.data` text into documents (strict or lenient, like `readDocRED`). */
export function readBioData(
  text: string,
  options: ReadDocREDOptions = {},
): E.Either<DataError, DocREDDataset> {
  const file = options.file ?? '<input>';
  const raw: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r?$/, '').replace(/\s+$/, '');
    if (line === '') continue;
    const x = line.split('\t');
    if (x.length < 2 || (x.length - 2) % PAIR_FIELDS !== 0)
      return E.left(
        parseError(
          file,
          `expected PMID, text and ${PAIR_FIELDS} fields per pair, got ${x.length} tab-separated fields`,
          i + 1,
        ),
      );
    const doc = convertLine(x);
    if (typeof doc === 'string') return E.left(parseError(file, doc, i + 1));
    raw.push(doc);
  }
  return validateDocuments(raw, file, options);
}

/** Reads a `.data` file (Node) with `readBioData`. */
export function readBioDataFile(
  path: string,
  options: Omit<ReadDocREDOptions, 'file'> = {},
): TE.TaskEither<DataError, DocREDDataset> {
  return TE.flatMapEither(readTextFile(path), (text) => readBioData(text, { ...options, file: path }));
}

/** One line → a raw DocRED-form document, or an error message. */
function convertLine(x: string[]): object | string {
  const [pmid, text] = x as [string, string];
  const sents = text.split('|').map((s) => s.split(' '));
  const offsets = [0];
  for (const s of sents) offsets.push(offsets[offsets.length - 1]! + s.length);
  const sentenceOf = (start: number): number => {
    let s = 0;
    while (s + 1 < sents.length && offsets[s + 1]! <= start) s++;
    return s;
  };
  const ints = (field: string, what: string): number[] | string => {
    const v = field.split(':').map(Number);
    return v.every((n) => Number.isInteger(n))
      ? v
      : `${what}: expected integers joined by ":", got ${JSON.stringify(field)}`;
  };
  const entityIndex = new Map<string, number>();
  const vertexSet: object[][] = [];
  const firstStart: number[] = []; // document-level word offset of each entity's first mention
  const kbIds: string[] = [];
  const labels: object[] = [];
  for (let k = 2; k < x.length; k += PAIR_FIELDS) {
    const p = x.slice(k, k + PAIR_FIELDS);
    const pair = (k - 2) / PAIR_FIELDS;
    const ids: number[] = [];
    for (const a of [5, 11]) {
      const id = p[a]!;
      if (!entityIndex.has(id)) {
        const starts = ints(p[a + 3]!, `pair ${pair} mention starts`);
        const ends = ints(p[a + 4]!, `pair ${pair} mention ends`);
        if (typeof starts === 'string') return starts;
        if (typeof ends === 'string') return ends;
        const names = p[a + 1]!.split('|');
        if (ends.length !== starts.length)
          return `pair ${pair}: ${starts.length} mention starts but ${ends.length} ends`;
        entityIndex.set(id, vertexSet.length);
        firstStart.push(Math.min(...starts));
        kbIds.push(id);
        vertexSet.push(
          starts.map((st, j) => {
            const s = sentenceOf(st);
            // a span crossing its sentence end stays as is, so validation reports it as a `span` issue
            return {
              name: names[j] ?? names[0] ?? '',
              pos: [st - offsets[s]!, ends[j]! - offsets[s]!],
              sent_id: s,
              type: p[a + 2]!,
            };
          }),
        );
      }
      ids.push(entityIndex.get(id)!);
    }
    if (p[0] === 'not_include') continue;
    const r = /^\d+:(.+):\d+$/.exec(p[0]!)?.[1];
    if (r === undefined)
      return `pair ${pair}: expected a relation like "1:CID:2" or "not_include", got ${JSON.stringify(p[0])}`;
    if (p[1] !== 'L2R' && p[1] !== 'R2L')
      return `pair ${pair}: expected direction L2R or R2L, got ${JSON.stringify(p[1])}`;
    const [h, t] = p[1] === 'L2R' ? ids : [ids[1]!, ids[0]!];
    labels.push({ h, t, r, evidence: [] });
  }
  // Entities in document order (first mention; KB id on a tie), not in the order the pairs list
  // them: the files list every CID pair first, so that order would tell a model that sees entity
  // positions (DocuNet's U-Net over the e × e map) which pairs are related.
  const order = vertexSet
    .map((_, i) => i)
    .sort(
      (a, b) =>
        firstStart[a]! - firstStart[b]! || (kbIds[a]! < kbIds[b]! ? -1 : kbIds[a]! > kbIds[b]! ? 1 : 0),
    );
  const rank: number[] = [];
  order.forEach((old, k) => (rank[old] = k));
  return {
    title: pmid,
    sents,
    vertexSet: order.map((i) => vertexSet[i]!),
    labels: (labels as { h: number; t: number }[]).map((l) => ({ ...l, h: rank[l.h]!, t: rank[l.t]! })),
  };
}
