/**
 * Readers: one Left per kind of malformed input with its message checked (STYLE.md ladder, step
 * 7), lenient mode reporting every drop, every data file in ../shared/data read (or a precise
 * Left), the relation schema, and the fixed Re-DocRED split.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import {
  EntityTypes,
  RelationSchema,
  bundledAssetPath,
  loadBundledReDocRED,
  readBioData,
  readBioDataFile,
  readDocRED,
  readDocREDFile,
  reDocREDSplit,
  type DataError,
  type DataIssue,
  type DocREDDocument,
} from '../../src/data/index.js';
import { left, right, sharedData } from './helpers.js';

/** A valid two-sentence, three-entity document; tests break one field at a time. */
function validDoc(): Record<string, unknown> {
  return {
    title: 'Doc A',
    sents: [
      ['Alice', 'lives', 'in', 'Paris', '.'],
      ['She', 'was', 'born', 'in', 'France', '.'],
    ],
    vertexSet: [
      [
        { name: 'Alice', pos: [0, 1], sent_id: 0, type: 'PER', global_pos: [0, 0], index: '0_0' },
        { name: 'She', pos: [0, 1], sent_id: 1, type: 'PER' },
      ],
      [{ name: 'Paris', pos: [3, 4], sent_id: 0, type: 'LOC' }],
      [{ name: 'France', pos: [4, 5], sent_id: 1, type: 'LOC' }],
    ],
    labels: [
      { h: 0, t: 1, r: 'P551', evidence: [0] },
      { h: 1, t: 2, r: 'P17', evidence: [0, 1] },
    ],
  };
}
const text = (...docs: unknown[]): string => JSON.stringify(docs);
const docred = RelationSchema.docred();
const issuesOf = (e: ReturnType<typeof left>): readonly DataIssue[] =>
  e._tag === 'InvalidData' ? e.issues : assert.fail(`expected InvalidData, got ${e._tag}`);

test('a valid document reads; Re-DocRED extra mention keys are tolerated and dropped', () => {
  const docs = right(readDocRED(text(validDoc()), { schema: docred }));
  assert.equal(docs.length, 1);
  assert.deepEqual(docs.warnings, []);
  assert.deepEqual(docs[0]!.vertexSet[0]![0], { name: 'Alice', pos: [0, 1], sent_id: 0, type: 'PER' });
  assert.deepEqual(docs[0]!.labels![1], { h: 1, t: 2, r: 'P17', evidence: [0, 1] });
  const unlabelled = validDoc();
  delete unlabelled['labels'];
  assert.equal(right(readDocRED(text(unlabelled)))[0]!.labels, undefined);
});

test('Left: truncated JSON names the file and the line', () => {
  const full = JSON.stringify([validDoc()], null, 1);
  const e = left(readDocRED(full.slice(0, 200), { file: 'dev.json' }));
  assert.equal(e._tag, 'ParseError');
  assert.match(e.message, /^dev.json:\d+: truncated JSON: /);
  assert.match(left(readDocRED('', { file: 'empty.json' })).message, /^empty.json:1: empty file/);
  assert.match(
    left(readDocRED('[{"title": x}]', { file: 'bad.json' })).message,
    /^bad.json(:1)?: invalid JSON: .*'x'/,
  );
});

test('Left: wrong types, with file, document index, title and JSON path', () => {
  const d = validDoc();
  (d['vertexSet'] as { pos: unknown }[][])[1]![0]!.pos = [3, '4'];
  (d['labels'] as { h: unknown }[])[0]!.h = 'zero';
  const e = left(readDocRED(text(validDoc(), d), { file: 'f.json' }));
  const issues = issuesOf(e);
  assert.deepEqual(
    issues.map((i) => [i.kind, i.document, i.title, i.path]),
    [
      ['type', 1, 'Doc A', '$[1].vertexSet[1][0].pos'],
      ['type', 1, 'Doc A', '$[1].labels[0].h'],
    ],
  );
  assert.match(
    e.message,
    /^f.json: 2 problems:\nf.json: document 1 "Doc A" at \$\[1\].vertexSet\[1\]\[0\].pos: expected \[integer, integer\], got \[3,"4"\]/,
  );
  assert.match(e.message, /document 1 "Doc A" at \$\[1\].labels\[0\].h: expected integer, got "zero"/);
  // a missing field, a non-array root, a document with a wrong-typed title
  assert.match(
    left(readDocRED(text({ title: 'T', sents: [] }))).message,
    /document 0 "T" at \$\[0\].vertexSet: expected Array<Array<unknown>>, got nothing \(missing\)/,
  );
  assert.match(
    left(readDocRED('{"title": "x"}', { file: 'g.json' })).message,
    /g.json: at \$: expected an array of documents/,
  );
  assert.match(
    left(readDocRED(text({ ...validDoc(), title: 7 }))).message,
    /document 0 at \$\[0\].title: expected string, got 7/,
  );
});

test('Left: mention span outside its sentence, and sentence id outside the document', () => {
  const d = validDoc();
  (d['vertexSet'] as { pos: number[] }[][])[1]![0]!.pos = [3, 6];
  (d['vertexSet'] as { sent_id: number }[][])[2]![0]!.sent_id = 5;
  const issues = issuesOf(left(readDocRED(text(d), { file: 'f.json' })));
  assert.deepEqual(
    issues.map((i) => [i.kind, i.path, i.message]),
    [
      ['span', '$[0].vertexSet[1][0].pos', 'span [3, 6) is outside sentence 0 (5 words)'],
      ['span', '$[0].vertexSet[2][0].sent_id', 'sentence 5 does not exist (document has 2 sentences)'],
    ],
  );
  const empty = validDoc();
  (empty['vertexSet'] as { pos: number[] }[][])[1]![0]!.pos = [2, 2];
  assert.match(
    left(readDocRED(text(empty))).message,
    /at \$\[0\].vertexSet\[1\]\[0\].pos: span \[2, 2\) is outside sentence 0/,
  );
});

test('Left: entity without mentions', () => {
  const d = validDoc();
  (d['vertexSet'] as unknown[][])[2] = [];
  const e = left(readDocRED(text(d), { file: 'f.json' }));
  assert.deepEqual(
    issuesOf(e).map((i) => [i.kind, i.path]),
    [['empty-entity', '$[0].vertexSet[2]']],
  );
  assert.match(e.message, /f.json: document 0 "Doc A" at \$\[0\].vertexSet\[2\]: entity 2 has no mentions/);
});

test('Left: labels pointing at missing entities (or h = t)', () => {
  const d = validDoc();
  (d['labels'] as { t: number }[])[0]!.t = 3;
  (d['labels'] as { h: number; t: number }[]).push({ h: 2, t: 2, r: 'P17' } as never);
  const e = left(readDocRED(text(d), { file: 'f.json' }));
  assert.deepEqual(
    issuesOf(e).map((i) => [i.kind, i.path, i.message]),
    [
      ['missing-entity', '$[0].labels[0].t', 'entity 3 does not exist (document has 3 entities)'],
      ['missing-entity', '$[0].labels[2].t', 'head and tail are the same entity 2'],
    ],
  );
});

test('Left: unknown relations (only checked against a given schema)', () => {
  const d = validDoc();
  (d['labels'] as { r: string }[])[1]!.r = 'P99999';
  const e = left(readDocRED(text(d), { file: 'f.json', schema: docred }));
  assert.deepEqual(
    issuesOf(e).map((i) => [i.kind, i.path]),
    [['unknown-relation', '$[0].labels[1].r']],
  );
  assert.match(e.message, /at \$\[0\].labels\[1\].r: unknown relation "P99999"/);
  assert.ok(right(readDocRED(text(d))).length === 1, 'no schema, no relation check');
});

test('Left: duplicate labels', () => {
  const d = validDoc();
  (d['labels'] as unknown[]).push({ h: 1, t: 2, r: 'P17', evidence: [] });
  const e = left(readDocRED(text(d), { file: 'f.json' }));
  assert.deepEqual(
    issuesOf(e).map((i) => [i.kind, i.path, i.message]),
    [['duplicate-label', '$[0].labels[2]', 'duplicate label (h 1, t 2, r P17)']],
  );
});

test('every problem of a file is reported, in file order', () => {
  const a = validDoc();
  (a['labels'] as { r: string }[])[0]!.r = 'nope';
  const b = validDoc();
  (b['vertexSet'] as unknown[][])[0] = [];
  const e = left(readDocRED(text(a, validDoc(), b), { schema: docred }));
  assert.deepEqual(
    issuesOf(e).map((i) => [i.document, i.kind]),
    [
      [0, 'unknown-relation'],
      [2, 'empty-entity'], // label 0 of document 2 has head 0 too: one root cause, one issue
    ],
  );
});

test('lenient mode drops bad mentions, labels and empty entities, reporting each drop', () => {
  const d = validDoc();
  (d['vertexSet'] as { pos: number[] }[][])[0]![1]!.pos = [0, 9]; // bad mention of entity 0: dropped
  (d['vertexSet'] as unknown[][])[1] = [{ name: 'Paris', pos: 'x', sent_id: 0, type: 'LOC' }]; // entity 1 loses its only mention
  (d['labels'] as unknown[]).push(
    { h: 0, t: 2, r: 'P17' },
    { h: 0, t: 2, r: 'P17' },
    { h: 0, t: 2, r: 'Pxx' },
  );
  const docs = right(readDocRED(text(d), { lenient: true, schema: docred, file: 'f.json' }));
  assert.deepEqual(
    docs.warnings.map((w) => [w.kind, w.path]),
    [
      ['span', '$[0].vertexSet[0][1].pos'],
      ['type', '$[0].vertexSet[1][0].pos'],
      ['empty-entity', '$[0].vertexSet[1]'],
      ['missing-entity', '$[0].labels[0].t'],
      ['missing-entity', '$[0].labels[1].h'],
      ['duplicate-label', '$[0].labels[3]'],
      ['unknown-relation', '$[0].labels[4].r'],
    ],
  );
  assert.ok(docs.warnings.every((w) => w.message.endsWith('(dropped)')));
  const doc = docs[0]!;
  assert.equal(doc.vertexSet.length, 2);
  assert.deepEqual(
    doc.vertexSet[0]!.map((m) => m.name),
    ['Alice'],
  );
  assert.deepEqual(doc.labels, [{ h: 0, t: 1, r: 'P17', evidence: [] }], 'entity 2 renumbered to 1');
  // unrecoverable problems still fail in lenient mode
  assert.equal(left(readDocRED(text({ title: 1 }), { lenient: true }))._tag, 'InvalidData');
});

test('every DocRED-schema file in ../shared/data: read, or a precise Left', async () => {
  const redocred = right(
    await readDocREDFile(sharedData('re-docred/dev_revised.json'), { schema: docred })(),
  );
  assert.equal(redocred.length, 500);
  assert.equal(
    redocred.reduce((a, d) => a + d.labels!.length, 0),
    17284,
  );
  const testSet = right(await readDocREDFile(sharedData('docred/test.json'), { schema: docred })());
  assert.equal(testSet.length, 1000);
  assert.ok(testSet.every((d) => d.labels === undefined));
  // CDR in DocRED form repeats some labels: strict mode says where, lenient mode drops the repeats
  for (const [split, repeats] of [
    ['dev', 91],
    ['train', 80],
  ] as const) {
    const file = sharedData(`cdr/docred-format/${split}.json`);
    const e = left(await readDocREDFile(file, { schema: RelationSchema.cdr() })());
    assert.equal(issuesOf(e).length, repeats);
    assert.ok(issuesOf(e).every((i) => i.kind === 'duplicate-label'));
    assert.match(
      e.message,
      /document \d+ "\d+" at \$\[\d+\].labels\[\d+\]: duplicate label \(h \d+, t \d+, r (CID|NR)\)/,
    );
    const lenient = right(await readDocREDFile(file, { schema: RelationSchema.cdr(), lenient: true })());
    assert.equal(lenient.length, 500);
    assert.equal(lenient.warnings.length, repeats);
  }
  assert.equal(left(await readDocREDFile('/no/such/file.json')())._tag, 'ReadError');
  assert.match(
    left(await readDocREDFile('/no/such/file.json')()).message,
    /^\/no\/such\/file.json: cannot read: /,
  );
});

test('the bundled Re-DocRED copy is the shared file, and the fixed split is 400 / 100 in file order', async () => {
  assert.equal(
    readFileSync(bundledAssetPath('re-docred/dev_revised.json'), 'utf8'),
    readFileSync(sharedData('re-docred/dev_revised.json'), 'utf8'),
  );
  const docs = right(await loadBundledReDocRED()());
  const { train, validation } = reDocREDSplit(docs);
  assert.equal(train.length, 400);
  assert.equal(validation.length, 100);
  assert.equal(train[0]!.title, docs[0]!.title);
  assert.equal(validation[0]!.title, docs[400]!.title);
  assert.equal(validation[99]!.title, docs[499]!.title);
});

test('readBioData: the CDR and GDA .data files convert to documents with ATLOP counts', async () => {
  for (const [file, positives, pairs, schema] of [
    ['cdr/train_filter.data', 1038, 5242, RelationSchema.cdr()],
    ['cdr/dev_filter.data', 1012, 5087, RelationSchema.cdr()],
    ['gda/test.data', 1502, 5222, RelationSchema.gda()],
  ] as const) {
    const docs = right(await readBioDataFile(sharedData(file), { schema })(), file);
    const labels = docs.flatMap((d) => d.labels!);
    assert.equal(labels.filter((l) => l.r !== 'NR').length, positives, file);
    assert.equal(labels.length, pairs, file);
  }
  const docs = right(await readBioDataFile(sharedData('cdr/dev_filter.data'))());
  const d0 = docs[0]!;
  assert.equal(d0.title, '6794356');
  assert.deepEqual(d0.sents[0]!.slice(0, 3), ['Tricuspid', 'valve', 'regurgitation']);
  // pair 0: 1:CID:2 L2R, lithium carbonate (starts 4:82, ends 6:84 → sentence 0 words 4-6 and
  // sentence 4 words 0-2) → neurologic depression
  const lithium = d0.vertexSet.findIndex((e) => e[0]!.name === 'lithium carbonate');
  assert.deepEqual(
    d0.vertexSet[lithium]!.map((m) => [m.sent_id, ...m.pos]),
    [
      [0, 4, 6],
      [4, 0, 2],
    ],
  );
  assert.deepEqual(d0.labels![0], {
    h: lithium,
    t: d0.vertexSet.findIndex((e) => e[0]!.name === 'neurologic depression'),
    r: 'CID',
    evidence: [],
  });
  // entities in document order (first mention), whatever the order of the pairs: the files list
  // the CID pairs first, and an order derived from them would leak the labels
  for (const d of docs) {
    const first = d.vertexSet.map((e) =>
      Math.min(...e.map((m) => d.sents.slice(0, m.sent_id).reduce((n, s) => n + s.length, 0) + m.pos[0])),
    );
    assert.ok(
      first.every((x, i) => i === 0 || first[i - 1]! <= x),
      `${d.title}: entities in document order`,
    );
  }
  const cidHeads = docs.flatMap((d) => d.labels!.filter((l) => l.r === 'CID').map((l) => Math.min(l.h, l.t)));
  assert.ok(cidHeads.filter((i) => i > 1).length > 100, 'CID pairs are not always the first entities');
});

test('readBioData: malformed lines are Lefts with file and line', () => {
  const good = readFileSync(sharedData('cdr/dev_filter.data'), 'utf8').split('\n')[0]!;
  const fields = good.split('\t');
  assert.match(
    left(readBioData(`${good}\n${fields.slice(0, 10).join('\t')}\n`, { file: 'x.data' })).message,
    /^x.data:2: expected PMID, text and 17 fields per pair, got 10 tab-separated fields/,
  );
  const badStart = [...fields];
  badStart[10] = '4:eighty';
  assert.match(
    left(readBioData(badStart.join('\t'), { file: 'x.data' })).message,
    /^x.data:1: pair 0 mention starts: expected integers joined by ":", got "4:eighty"/,
  );
  const badRel = [...fields];
  badRel[2] = 'CID';
  assert.match(
    left(readBioData(badRel.join('\t'), { file: 'x.data' })).message,
    /^x.data:1: pair 0: expected a relation like "1:CID:2" or "not_include", got "CID"/,
  );
  const outside = [...fields];
  outside[11] = '84:84'; // the first mention (sentence 0, starting at word 4) ends in sentence 4
  const e = left(readBioData(outside.join('\t'), { file: 'x.data' }));
  assert.match(
    e.message,
    /^x.data: 1 problem:\nx.data: document 0 "6794356" at \$\[0\].vertexSet\[1\]\[0\].pos: span \[4, 84\) is outside sentence 0 \(12 words\)$/,
  );
});

test('RelationSchema: DocRED classes, CDR/GDA NA aliases, parse errors', () => {
  assert.equal(docred.size, 97);
  assert.equal(docred.idOf(0), 'Na');
  assert.equal(docred.classOf('P17'), 1);
  assert.equal(docred.nameOf(1), 'country');
  const cdr = RelationSchema.cdr();
  assert.deepEqual(
    [cdr.size, cdr.classOf('CID'), cdr.classOf('NR'), cdr.classOf('Na'), cdr.classOf('P17')],
    [2, 1, 0, 0, undefined],
  );
  const parsed = right(
    RelationSchema.parse(
      readFileSync(bundledAssetPath('docred/rel2id.json'), 'utf8'),
      readFileSync(bundledAssetPath('docred/rel_info.json'), 'utf8'),
    ),
  );
  assert.deepEqual(parsed.ids, docred.ids);
  assert.deepEqual(parsed.names, docred.names);
  const fromCdrFiles = right(
    RelationSchema.parse(readFileSync(sharedData('cdr/docred-format/rel2id.json'), 'utf8'), undefined, {
      naAliases: ['NR'],
    }),
  );
  assert.deepEqual(fromCdrFiles.ids, ['Na', 'CID']);
  assert.match(
    left(RelationSchema.parse('{"Na": 0, "P1": 0}')).message,
    /rel2id.json: at \$.P1: class 0 already used by Na/,
  );
  assert.match(
    left(RelationSchema.parse('{"Na": 0, "P1": 5}')).message,
    /at \$.P1: expected a class in 0…1, got 5/,
  );
  const types = EntityTypes.docred();
  assert.deepEqual([types.size, types.idOf('BLANK'), types.idOf('PER'), types.idOf('NUM')], [7, 0, 4, 6]);
  assert.deepEqual(
    right(
      EntityTypes.fromNer2Id(JSON.parse(readFileSync(sharedData('cdr/docred-format/ner2id.json'), 'utf8'))),
    ).types,
    ['CHEM', 'DISE'],
  );
});

test('type-level contract (DESIGN.md): readDocRED / readBioData give Either<DataError, DocREDDocument[]>', () => {
  const contract: ((text: string) => E.Either<DataError, DocREDDocument[]>)[] = [readDocRED, readBioData];
  const file: (path: string) => TE.TaskEither<DataError, DocREDDocument[]> = readDocREDFile;
  assert.equal(contract.length + (typeof file === 'function' ? 1 : 0), 3);
});

test('documents are plain data: a read document round-trips through JSON', () => {
  const docs = right(readDocRED(text(validDoc())));
  const again = right(readDocRED(JSON.stringify(docs)));
  assert.deepEqual([...again] as DocREDDocument[], [...docs] as DocREDDocument[]);
});
