/**
 * collate and the GTN document graph: exact tensors on a hand-made batch (closed form), one Left
 * per invalid-batch kind (validated before any tensor exists), CDR candidate pairs, graph
 * channels/masks, a property test (fast-check) that random valid documents survive read →
 * featurize → collate with every mention and label accounted for, and tensor hygiene.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import {
  Featurizer,
  RelationSchema,
  buildDocumentGraph,
  collate,
  collateGraphs,
  disposeBatch,
  loadBundledTokenizer,
  readBioDataFile,
  readDocRED,
  NODE_DOCUMENT,
  NODE_ENTITY,
  NODE_MENTION,
  type Feature,
} from '../../src/data/index.js';
import { useTestBackend } from '../helpers.js';
import { left, right, sharedData } from './helpers.js';

await useTestBackend();

const schema = new RelationSchema(['Na', 'P1', 'P2'], undefined, ['NR']);
/** Two documents by hand: 3 entities (2 mentions on entity 0) and 2 entities. */
function features(): Feature[] {
  return [
    {
      title: 'A',
      inputIds: [101, 5, 6, 7, 8, 9, 10, 102],
      tokens: ['[CLS]', '*', 'a', '*', 'b', '*', 'c', '[SEP]'],
      tokenSentence: [-1, 0, 0, 0, 0, 1, 1, -1],
      sentenceSpans: [
        [1, 5],
        [5, 7],
      ],
      mentionStart: [[1, 5], [3], [4]],
      mentionEnd: [[2, 6], [3], [4]],
      mentionSentence: [[0, 1], [0], [0]],
      entityTypes: ['PER', 'LOC', 'ORG'],
      labels: [
        { h: 0, t: 1, r: 'P1', evidence: [] },
        { h: 0, t: 1, r: 'P2', evidence: [] },
        { h: 2, t: 0, r: 'NR', evidence: [] },
      ],
      padId: 0,
    },
    {
      title: 'B',
      inputIds: [101, 11, 12, 102],
      tokens: ['[CLS]', '*', 'd', '[SEP]'],
      tokenSentence: [-1, 0, 0, -1],
      sentenceSpans: [[1, 3]],
      mentionStart: [[1], [2]],
      mentionEnd: [[1], [2]],
      mentionSentence: [[0], [0]],
      entityTypes: ['PER', 'PER'],
      labels: [{ h: 1, t: 0, r: 'P2', evidence: [] }],
      padId: 0,
    },
  ];
}

test('collate: shapes, dtypes and every value of a hand-made batch', () => {
  const b = right(collate(features(), schema));
  assert.deepEqual(b.inputIds.shape, [2, 8]);
  assert.equal(b.inputIds.dtype, 'int32');
  assert.deepEqual(b.mentionIndex.shape, [2, 3, 2]);
  assert.equal(b.mentionIndex.dtype, 'int32');
  assert.deepEqual(b.labels!.shape, [2, 3, 3, 3]);
  assert.deepEqual(b.inputIds.arraySync(), [
    [101, 5, 6, 7, 8, 9, 10, 102],
    [101, 11, 12, 102, 0, 0, 0, 0],
  ]);
  assert.deepEqual(b.attentionMask.arraySync(), [
    [1, 1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 0, 0, 0, 0],
  ]);
  assert.deepEqual(b.mentionIndex.arraySync(), [
    [
      [1, 5],
      [3, 0],
      [4, 0],
    ],
    [
      [1, 0],
      [2, 0],
      [0, 0],
    ],
  ]);
  assert.deepEqual(b.mentionMask.arraySync(), [
    [
      [1, 1],
      [1, 0],
      [1, 0],
    ],
    [
      [1, 0],
      [1, 0],
      [0, 0],
    ],
  ]);
  assert.deepEqual(b.entityMask.arraySync(), [
    [1, 1, 1],
    [1, 1, 0],
  ]);
  assert.deepEqual(b.pairMask.arraySync(), [
    [
      [0, 1, 1],
      [1, 0, 1],
      [1, 1, 0],
    ],
    [
      [0, 1, 0],
      [1, 0, 0],
      [0, 0, 0],
    ],
  ]);
  const NA = [1, 0, 0];
  const Z = [0, 0, 0];
  assert.deepEqual(b.labels!.arraySync(), [
    [
      [Z, [0, 1, 1], NA],
      [NA, Z, NA],
      [NA, NA, Z],
    ], // (0,1) → P1+P2; NR on (2,0) → NA
    [
      [Z, NA, Z],
      [[0, 0, 1], Z, Z],
      [Z, Z, Z],
    ],
  ]);
  assert.deepEqual(b.titles, ['A', 'B']);
  assert.deepEqual(b.entityCounts, [3, 2]);
  disposeBatch(b);
});

test("collate: fixed e/m/n, 'labelled' pairs, unlabelled batches", () => {
  const b = right(
    collate(features(), schema, { maxEntities: 4, maxMentions: 3, maxLength: 10, pairs: 'labelled' }),
  );
  assert.deepEqual(b.mentionIndex.shape, [2, 4, 3]);
  assert.deepEqual(b.inputIds.shape, [2, 10]);
  assert.deepEqual(
    (b.pairMask.arraySync() as number[][][]).map((m) =>
      m.flatMap((row, s) => row.flatMap((x, o) => (x ? [[s, o]] : []))),
    ),
    [
      [
        [0, 1],
        [2, 0],
      ],
      [[1, 0]],
    ],
  );
  disposeBatch(b);
  const unlabelled = features().map(({ labels: _l, ...f }) => f);
  const u = right(collate(unlabelled, schema));
  assert.equal(u.labels, undefined);
  disposeBatch(u);
});

test('collate: one Left per invalid batch, before any tensor exists', () => {
  const before = tf.memory().numTensors;
  const bad = (edit: (f: Feature[]) => void, options = {}): string => {
    const fs = features() as { -readonly [K in keyof Feature]: Feature[K] }[];
    edit(fs as Feature[]);
    return left(collate(fs as Feature[], schema, options)).message;
  };
  assert.equal(
    left(collate([], schema)).message,
    'collate: features: expected at least one feature, got an empty list',
  );
  assert.equal(
    bad((f) => ((f[1] as unknown as { inputIds: number[] }).inputIds = [])),
    'collate: feature 1, inputIds: expected at least one token, got 0 (document "B")',
  );
  assert.equal(
    bad((f) => ((f[0] as unknown as { inputIds: number[] }).inputIds = [101, -3])),
    'collate: feature 0, inputIds[1]: expected a non-negative integer id, got -3 (document "A")',
  );
  assert.equal(
    bad((f) => ((f[0] as unknown as { mentionStart: number[][] }).mentionStart[1] = [])),
    'collate: feature 0, mentionStart[1]: entity 1 has no mentions (document "A")',
  );
  assert.equal(
    bad((f) => ((f[0] as unknown as { mentionStart: number[][] }).mentionStart[2] = [8])),
    'collate: feature 0, mentionStart[2][0]: expected a token index in [0, 8) or -1 (cut), got 8 (document "A")',
  );
  assert.equal(
    bad((f) => ((f[1] as unknown as { labels: unknown[] }).labels = [{ h: 0, t: 2, r: 'P1', evidence: [] }])),
    'collate: feature 1, labels[0].t: entity 2 does not exist (2 entities) (document "B")',
  );
  assert.equal(
    bad((f) => ((f[1] as unknown as { labels: unknown[] }).labels = [{ h: 0, t: 1, r: 'P9', evidence: [] }])),
    'collate: feature 1, labels[0].r: unknown relation "P9" (document "B")',
  );
  assert.equal(
    bad((f) => delete (f[1] as { labels?: unknown }).labels),
    'collate: feature 1, labels: missing, while other features of the batch have labels',
  );
  assert.equal(
    bad(() => {}, { maxEntities: 2 }),
    'collate: feature 0, maxEntities: the batch needs 3, more than maxEntities = 2',
  );
  assert.equal(
    bad(() => {}, { maxMentions: 1 }),
    'collate: feature 0, maxMentions: the batch needs 2, more than maxMentions = 1',
  );
  assert.equal(
    bad(() => {}, { maxLength: 4 }),
    'collate: feature 0, maxLength: the batch needs 8, more than maxLength = 4',
  );
  assert.equal(
    bad(() => {}, { maxEntities: 0 }),
    'collate: maxEntities: expected a positive integer, got 0',
  );
  assert.equal(tf.memory().numTensors, before, 'no tensor created by a failing collate');
});

test('buildDocumentGraph: nodes, the three channels with self-loops, ids and local token masks', () => {
  const g = buildDocumentGraph(features()[0]!);
  // nodes: doc, mentions (e0 m0, e0 m1, e1 m0, e2 m0), entities e0 e1 e2
  assert.equal(g.numNodes, 8);
  assert.deepEqual(g.nodeKind, [
    NODE_DOCUMENT,
    NODE_MENTION,
    NODE_MENTION,
    NODE_MENTION,
    NODE_MENTION,
    NODE_ENTITY,
    NODE_ENTITY,
    NODE_ENTITY,
  ]);
  assert.deepEqual(g.nodeEntity, [-1, 0, 0, 1, 2, 0, 1, 2]);
  assert.deepEqual(g.nodeSentence, [-1, 0, 1, 0, 0, -1, -1, -1]);
  assert.deepEqual(g.entityNode, [5, 6, 7]);
  const I = (i: number, j: number): number => (i === j ? 1 : 0);
  // channel 0: document ↔ all
  assert.deepEqual(
    g.adjacency[0],
    Array.from({ length: 8 }, (_, i) =>
      Array.from({ length: 8 }, (_, j) => (i === 0 || j === 0 ? 1 : I(i, j))),
    ),
  );
  // channel 1: sentences — mentions 1,3,4 and entities 5 (sentences 0,1), 6, 7 share sentence 0; mention 2 (sentence 1) ↔ entity 5
  const sent: number[][] = [[], [0], [1], [0], [0], [0, 1], [0], [0]];
  assert.deepEqual(
    g.adjacency[1],
    sent.map((a, i) => sent.map((b, j) => (i === j ? 1 : a.some((s) => b.includes(s)) ? 1 : 0))),
  );
  // channel 2: same entity
  const ent = g.nodeEntity;
  assert.deepEqual(
    g.adjacency[2],
    ent.map((a, i) => ent.map((b, j) => (i === j || (i > 0 && j > 0 && a === b) ? 1 : 0))),
  );
  // local masks: doc all tokens; mention → its sentence span; entity 0 → sentences 0 and 1
  assert.deepEqual(g.nodeTokenMask[0], [1, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(g.nodeTokenMask[2], [0, 0, 0, 0, 0, 1, 1, 0]);
  assert.deepEqual(g.nodeTokenMask[5], [0, 1, 1, 1, 1, 1, 1, 0]);
  assert.deepEqual(g.nodeTokenMask[6], [0, 1, 1, 1, 1, 0, 0, 0]);
});

test('graph batch: shapes, 1-based ids, padding, and nodeSource/entityNode gathers', () => {
  const fs = features();
  const b = right(collate(fs, schema, { graph: true }));
  const g = b.graph!;
  assert.deepEqual(g.adjacency.shape, [2, 3, 8, 8]);
  assert.deepEqual(g.nodeTokenMask.shape, [2, 8, 8]);
  assert.deepEqual(g.nodeMask.arraySync(), [
    [1, 1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 0, 0, 0],
  ]);
  assert.deepEqual(g.nodeEntityId.arraySync(), [
    [0, 1, 1, 2, 3, 1, 2, 3],
    [0, 1, 2, 1, 2, 0, 0, 0],
  ]);
  assert.deepEqual(g.nodeSentenceId.arraySync(), [
    [0, 1, 2, 1, 1, 0, 0, 0],
    [0, 1, 1, 0, 0, 0, 0, 0],
  ]);
  assert.deepEqual(g.nodeKind.arraySync()[1], [0, 1, 1, 2, 2, -1, -1, -1]);
  assert.deepEqual(g.mentionEndIndex.arraySync(), [
    [
      [2, 6],
      [3, 0],
      [4, 0],
    ],
    [
      [1, 0],
      [2, 0],
      [0, 0],
    ],
  ]);
  // node features = gather(concat([doc (1), mentionIndex flattened (e·m = 6), entities (e = 3)]), nodeSource)
  const table = tf.tidy(() =>
    tf.concat(
      [
        tf.fill([2, 1], -1, 'int32'),
        b.mentionIndex.reshape([2, 6]),
        tf.tensor2d(
          [
            [100, 101, 102],
            [100, 101, 102],
          ],
          [2, 3],
          'int32',
        ),
      ],
      1,
    ),
  );
  const src = g.nodeSource.arraySync() as number[][];
  const rows = table.arraySync() as number[][];
  assert.deepEqual(
    src.map((s, i) => s.map((k) => rows[i]![k])),
    [
      [-1, 1, 5, 3, 4, 100, 101, 102],
      [-1, 1, 2, 100, 101, -1, -1, -1],
    ],
  );
  assert.deepEqual(g.entityNode.arraySync(), [
    [5, 6, 7],
    [3, 4, 0],
  ]);
  // document B, 5 real nodes (doc, 2 mentions, 2 entities, all in sentence 0), padded nodes
  // without edges or self-loops: self-loops 3·5 + document edges 2·4 + sentence edges 4·3 +
  // entity edges 2·2 (mention ↔ its entity, twice)
  assert.equal(
    (g.adjacency.arraySync() as number[][][][])[1]!.flat(2).reduce((a, x) => a + x, 0),
    3 * 5 + 2 * 4 + 4 * 3 + 2 * 2,
  );
  table.dispose();
  disposeBatch(b);
  const alone = right(collateGraphs(fs, schema));
  assert.deepEqual(alone.adjacency.shape, [2, 3, 8, 8]);
  tf.dispose(Object.values(alone));
});

test('CDR .data: collate with pairs "labelled" keeps exactly ATLOP\'s candidate pairs', async () => {
  const docs = right(await readBioDataFile(sharedData('cdr/dev_filter.data'))()).slice(0, 8);
  const tk = right(await loadBundledTokenizer('scibert_scivocab_cased')());
  const fs = right(new Featurizer(tk).featurizeAll(docs));
  const b = right(collate(fs, RelationSchema.cdr(), { pairs: 'labelled' }));
  const pairs = docs.reduce((a, d) => a + new Set(d.labels!.map((l) => `${l.h},${l.t}`)).size, 0);
  assert.equal(b.pairMask.sum().arraySync(), pairs);
  const cid = docs.reduce((a, d) => a + d.labels!.filter((l) => l.r === 'CID').length, 0);
  assert.equal(
    (b.labels!.arraySync() as number[][][][]).flat(2).reduce((a, x) => a + x[1]!, 0),
    cid,
  );
  disposeBatch(b);
});

/** A random valid DocRED document (JSON value) with words from a small vocabulary. */
const arbDocument = fc
  .record({
    sents: fc.array(
      fc.array(
        fc.constantFrom(
          'Paris',
          'is',
          'the',
          'capital',
          'of',
          'France',
          '1963',
          'Mediaș',
          ',',
          'Schneider',
          'co-founder',
        ),
        { minLength: 1, maxLength: 8 },
      ),
      { minLength: 1, maxLength: 4 },
    ),
    seed: fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
    entities: fc.integer({ min: 1, max: 5 }),
  })
  .map(({ sents, seed, entities }) => {
    let k = 0;
    const next = (n: number): number => seed[k++ % seed.length]! % n;
    const vertexSet = Array.from({ length: entities }, (_, e) =>
      Array.from({ length: 1 + next(3) }, () => {
        const s = next(sents.length);
        const a = next(sents[s]!.length);
        const b = a + 1 + next(sents[s]!.length - a);
        return {
          name: sents[s]!.slice(a, b).join(' '),
          pos: [a, b],
          sent_id: s,
          type: ['PER', 'LOC', 'ORG'][e % 3]!,
        };
      }),
    );
    const labels: { h: number; t: number; r: string; evidence: number[] }[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < 6 && entities > 1; i++) {
      const h = next(entities);
      const t = (h + 1 + next(entities - 1)) % entities;
      const r = ['P17', 'P131', 'P27'][next(3)]!;
      if (!seen.has(`${h} ${t} ${r}`)) labels.push({ h, t, r, evidence: [] });
      seen.add(`${h} ${t} ${r}`);
    }
    return { title: `doc ${seed[0]}`, sents, vertexSet, labels };
  });

const bert = right(await loadBundledTokenizer('bert-base-cased')());

test('property: random valid documents survive read → featurize → collate with every mention and label accounted for', () => {
  const docred = RelationSchema.docred();
  fc.assert(
    fc.property(
      fc.array(arbDocument, { minLength: 1, maxLength: 3 }),
      fc.constantFrom('star', 'typed', 'entity-id' as const),
      (raw, markers) => {
        const docs = right(readDocRED(JSON.stringify(raw), { schema: docred }));
        const fs = right(new Featurizer(bert, { markers }).featurizeAll(docs));
        const before = tf.memory().numTensors;
        const b = right(collate(fs, docred, { graph: true }));
        const [mentionIndex, mentionMask, labels, pairMask, ids] = [
          b.mentionIndex.arraySync() as number[][][],
          b.mentionMask.arraySync() as number[][][],
          b.labels!.arraySync() as number[][][][],
          b.pairMask.arraySync() as number[][][],
          b.inputIds.arraySync() as number[][],
        ];
        const nodeMask = b.graph!.nodeMask.arraySync() as number[][];
        docs.forEach((d, i) => {
          // every mention: masked in, and its index points at the first piece of its start marker
          d.vertexSet.forEach((ms, e) =>
            ms.forEach((m, j) => {
              assert.equal(mentionMask[i]![e]![j], 1);
              const p = mentionIndex[i]![e]![j]!;
              const marker = markers === 'star' ? '*' : markers === 'typed' ? '<' : '[';
              assert.equal(fs[i]!.tokens[p], marker);
              assert.equal(ids[i]![p], fs[i]!.inputIds[p]);
              assert.equal(fs[i]!.tokenSentence[p], m.sent_id);
            }),
          );
          assert.equal(
            mentionMask[i]!.flat().reduce((a, x) => a + x, 0),
            d.vertexSet.flat().length,
          );
          // every label: its class column is 1; every other real pair is NA
          const E_ = d.vertexSet.length;
          for (const l of d.labels!) assert.equal(labels[i]![l.h]![l.t]![docred.classOf(l.r)!], 1);
          const positives = labels[i]!.flat().reduce((a, v) => a + v.slice(1).reduce((x, y) => x + y, 0), 0);
          assert.equal(positives, d.labels!.length);
          const labelled = new Set(d.labels!.map((l) => `${l.h},${l.t}`)).size;
          assert.equal(
            labels[i]!.flat().reduce((a, v) => a + v[0]!, 0),
            E_ * (E_ - 1) - labelled,
          );
          assert.equal(
            pairMask[i]!.flat().reduce((a, x) => a + x, 0),
            E_ * (E_ - 1),
          );
          assert.equal(
            nodeMask[i]!.reduce((a, x) => a + x, 0),
            1 + d.vertexSet.flat().length + E_,
          );
        });
        disposeBatch(b);
        assert.equal(tf.memory().numTensors, before, 'disposeBatch frees every tensor');
      },
    ),
    { numRuns: 60, seed: 42 },
  );
});
