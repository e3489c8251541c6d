/**
 * Input records for `extract`, `queue` and `worker`: one record per document, read as a stream.
 *
 * Formats (`auto` picks by extension, then by the first non-blank character):
 * - `text`  — plain text, one document per line (`.txt`); blank lines are not documents;
 *             the id is `line-N`.
 * - `jsonl` — one JSON object per line (`.jsonl`, `.ndjson`): `{ "id"?: string, "text": string }`,
 *             or a DocRED document (`title`, `sents`, `vertexSet`; `labels` ignored), whose id is
 *             its `title`.
 * - `json`  — a DocRED JSON list (`.json`) or a list of `{id?, text}`; read whole (a JSON list
 *             cannot be streamed line by line), each element validated on its own.
 *
 * A line that cannot be read becomes a `BadRecord` whose `error` names the file and the line
 * (`docs.jsonl:7: …`); nothing is dropped silently. Streaming formats hold one line at a time.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import * as E from 'fp-ts/lib/Either.js';
import { validateDocuments } from '../data/docred.js';
import type { BadRecord, InputRecord } from './types.js';

export type InputFormat = 'auto' | 'text' | 'jsonl' | 'json';
export const INPUT_FORMATS: readonly InputFormat[] = ['auto', 'text', 'jsonl', 'json'];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One parsed JSON value (a JSONL line or a JSON list element) → a record.
 * `where` is the location prefix of messages (`file:line`).
 */
export function recordOf(value: unknown, line: number, where: string, fallbackId: string): InputRecord | BadRecord {
  if (!isObject(value))
    return { kind: 'bad', line, error: `${where}: expected an object ({"text": …} or a DocRED document), got ${short(value)}` };
  const id = value['id'] ?? value['title'];
  if (id !== undefined && typeof id !== 'string' && typeof id !== 'number')
    return { kind: 'bad', line, error: `${where}: "id" must be a string or a number, got ${short(id)}` };
  const idStr = id === undefined ? fallbackId : String(id);
  if ('text' in value) {
    if (typeof value['text'] !== 'string')
      return { kind: 'bad', line, id: idStr, error: `${where}: "text" must be a string, got ${short(value['text'])}` };
    return { kind: 'text', line, id: idStr, text: value['text'] };
  }
  if ('sents' in value || 'vertexSet' in value) {
    const { labels: _labels, ...unlabelled } = value;
    const r = validateDocuments([unlabelled], where);
    if (E.isLeft(r)) {
      const issues = 'issues' in r.left ? (r.left.issues as readonly { path: string; message: string }[]) : [];
      const first = issues[0];
      const detail = first ? `${first.path.replace(/^\$\[0\]/, '$')}: ${first.message}` : r.left.message;
      return { kind: 'bad', line, id: idStr, error: `${where}: document '${idStr}': ${detail}` };
    }
    return { kind: 'docred', line, id: idStr, doc: r.right[0]! };
  }
  return {
    kind: 'bad',
    line,
    id: idStr,
    error: `${where}: expected a "text" field or a DocRED document (sents, vertexSet), got keys ${Object.keys(value).join(', ') || '(none)'}`,
  };
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The format of `file`: by extension, else by its first non-blank character. */
export async function detectFormat(file: string): Promise<Exclude<InputFormat, 'auto'>> {
  if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
  if (/\.txt$/i.test(file)) return 'text';
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const first = buf.subarray(0, bytesRead).toString('utf8').trimStart()[0];
    if (first === '[') return 'json';
    if (first === '{') return 'jsonl';
    return /\.json$/i.test(file) ? 'json' : 'text';
  } finally {
    await fh.close();
  }
}

/**
 * Streams the records of `file` in input order.
 *
 * @example
 * for await (const r of readRecords('docs.jsonl')) if (r.kind === 'bad') console.error(r.error);
 */
export async function* readRecords(
  file: string,
  o: { readonly format?: InputFormat } = {},
): AsyncGenerator<InputRecord | BadRecord> {
  const format = !o.format || o.format === 'auto' ? await detectFormat(file) : o.format;
  if (format === 'json') {
    const { readFile } = await import('node:fs/promises');
    let root: unknown;
    try {
      root = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      yield { kind: 'bad', line: 1, error: `${file}: not valid JSON (${(e as Error).message})` };
      return;
    }
    if (!Array.isArray(root)) {
      yield { kind: 'bad', line: 1, error: `${file}: expected a JSON list of documents, got ${short(root)}` };
      return;
    }
    for (let i = 0; i < root.length; i++) yield recordOf(root[i], i + 1, `${file}[${i}]`, `doc-${i + 1}`);
    return;
  }
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const raw of lines) {
    n++;
    const text = raw.trim();
    if (text === '') continue;
    if (format === 'text') {
      yield { kind: 'text', line: n, id: `line-${n}`, text };
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      yield { kind: 'bad', line: n, error: `${file}:${n}: not valid JSON (${(e as Error).message})` };
      continue;
    }
    yield recordOf(value, n, `${file}:${n}`, `line-${n}`);
  }
}
