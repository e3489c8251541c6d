/**
 * The record reader of extract / queue / worker: every format, format detection, and one located
 * `bad` record per malformed line (never a silent drop), on real Re-DocRED documents.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectFormat, readRecords } from '../../src/extract/records.js';
import type { BadRecord, InputRecord } from '../../src/extract/types.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'docre-records-'));
const docs = JSON.parse(await fs.readFile(path.join(root, 'assets/re-docred/dev_revised.json'), 'utf8')) as {
  title: string;
}[];

async function all(file: string, format?: 'text' | 'jsonl' | 'json'): Promise<(InputRecord | BadRecord)[]> {
  const out: (InputRecord | BadRecord)[] = [];
  for await (const r of readRecords(file, format ? { format } : {})) out.push(r);
  return out;
}

test('plain text: one document per line, blank lines skipped, line numbers kept', async () => {
  const f = path.join(dir, 'a.txt');
  await fs.writeFile(f, 'Paris is in France.\n\n  Berlin is in Germany.  \n');
  const rs = await all(f);
  assert.deepEqual(rs, [
    { kind: 'text', line: 1, id: 'line-1', text: 'Paris is in France.' },
    { kind: 'text', line: 3, id: 'line-3', text: 'Berlin is in Germany.' },
  ]);
});

test('JSONL: {id, text}, DocRED documents (labels dropped), and located bad lines', async () => {
  const f = path.join(dir, 'b.jsonl');
  const lines = [
    JSON.stringify({ id: 'x1', text: 'Paris is in France.' }),
    JSON.stringify(docs[0]),
    '{"text": 3}',
    '{not json',
    JSON.stringify({ ...docs[1], vertexSet: [[{ name: 'A', pos: [0, 99], sent_id: 0, type: 'PER' }]] }),
    '[1, 2]',
    JSON.stringify({ title: 'no text' }),
    JSON.stringify({ text: 'no id here' }),
  ];
  await fs.writeFile(f, lines.join('\n') + '\n');
  const rs = await all(f);
  assert.equal(rs.length, lines.length, 'one record per line');
  assert.deepEqual(rs[0], { kind: 'text', line: 1, id: 'x1', text: 'Paris is in France.' });
  const d = rs[1]!;
  assert.equal(d.kind, 'docred');
  assert.equal(d.id, docs[0]!.title);
  if (d.kind === 'docred') assert.equal(d.doc.labels, undefined);
  const bad = rs.slice(2, 7) as BadRecord[];
  for (const [i, b] of bad.entries()) {
    assert.equal(b.kind, 'bad', `line ${i + 3}`);
    assert.equal(b.line, i + 3);
    assert.ok(b.error.startsWith(`${f}:${i + 3}: `), b.error);
  }
  assert.match(bad[0]!.error, /"text" must be a string, got 3/);
  assert.match(bad[1]!.error, /not valid JSON/);
  assert.match(bad[2]!.error, /document '.*': \$\.vertexSet\[0\]\[0\]\.pos/);
  assert.match(bad[3]!.error, /expected an object/);
  assert.match(bad[4]!.error, /expected a "text" field or a DocRED document/);
  assert.deepEqual(rs[7], { kind: 'text', line: 8, id: 'line-8', text: 'no id here' });
});

test('a DocRED JSON list: each element on its own, bad ones located by index', async () => {
  const f = path.join(dir, 'c.json');
  await fs.writeFile(f, JSON.stringify([docs[2], { title: 'broken', sents: 'x', vertexSet: [] }, docs[3]]));
  const rs = await all(f);
  assert.deepEqual(
    rs.map((r) => [r.kind, r.line]),
    [
      ['docred', 1],
      ['bad', 2],
      ['docred', 3],
    ],
  );
  assert.match((rs[1] as BadRecord).error, new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\[1\\]: document 'broken'`));
  const g = path.join(dir, 'd.json');
  await fs.writeFile(g, '{"a": 1}');
  assert.match(((await all(g, 'json'))[0] as BadRecord).error, /expected a JSON list/);
});

test('format detection: by extension, then by the first character', async () => {
  const cases: [string, string, string][] = [
    ['e.jsonl', '{}', 'jsonl'],
    ['e.txt', '[x] y', 'text'],
    ['e.json', '[]', 'json'],
    ['e.data', '  {"text": "a"}', 'jsonl'],
    ['e2.data', '\n[{"text": "a"}]', 'json'],
    ['e3.data', 'Plain words.', 'text'],
  ];
  for (const [name, body, want] of cases) {
    const f = path.join(dir, name);
    await fs.writeFile(f, body);
    assert.equal(await detectFormat(f), want, name);
  }
});
