/**
 * The scorer: hand-computed cases (every number written out), the official script's arithmetic on
 * random predictions over real gold (test/fixtures/data/official_eval.json from official_eval.py),
 * the binary CDR/GDA mode, the CodaLab writer and the multi-hot → triples decoder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  RelationSchema,
  collate,
  disposeBatch,
  evaluateBinary,
  evaluateDocRED,
  loadBundledReDocRED,
  reDocREDSplit,
  toOfficialJSON,
  triplesFromPredictions,
  type DocREDDocument,
  type OfficialTriple,
} from '../../src/data/index.js';
import { loadFixture, useTestBackend } from '../helpers.js';
import { left, right } from './helpers.js';

await useTestBackend();

const mention = (name: string, sent_id: number) => ({ name, pos: [0, 1] as const, sent_id, type: 'PER' });
/** Two gold documents: A (entities 0,1 share sentence 0; 2 is in sentence 1) and B. */
const goldA: DocREDDocument = {
  title: 'A',
  sents: [['x'], ['y']],
  vertexSet: [[mention('Alice', 0)], [mention('Bob', 0)], [mention('Carol', 1)]],
  labels: [
    { h: 0, t: 1, r: 'P1', evidence: [0] }, // intra
    { h: 0, t: 2, r: 'P2', evidence: [0, 1] }, // inter
    { h: 1, t: 2, r: 'P1', evidence: [1] }, // inter
  ],
};
const goldB: DocREDDocument = {
  title: 'B',
  sents: [['z']],
  vertexSet: [[mention('Dan', 0)], [mention('Eve', 0)]],
  labels: [{ h: 1, t: 0, r: 'P3', evidence: [] }], // intra
};
const train: DocREDDocument[] = [
  {
    title: 'T',
    sents: [['w']],
    vertexSet: [[mention('Alice', 0)], [mention('Bob', 0)]],
    labels: [{ h: 0, t: 1, r: 'P1', evidence: [] }],
  },
];
const t = (title: string, h_idx: number, t_idx: number, r: string, evidence?: number[]): OfficialTriple => ({
  title,
  h_idx,
  t_idx,
  r,
  ...(evidence ? { evidence } : {}),
});

test('hand-computed: P, R, F1, Ign F1, intra/inter F1 and evidence F1', () => {
  const preds = [
    t('A', 0, 1, 'P1', [0]), // correct, intra, in train (Alice, Bob, P1)
    t('A', 0, 1, 'P1', [0]), // duplicate: removed
    t('A', 0, 2, 'P2', [1]), // correct, inter
    t('A', 2, 0, 'P2'), // wrong, inter
    t('B', 0, 1, 'P3'), // wrong direction, intra
    t('Z', 0, 1, 'P1'), // unknown title: counts in |pred| only
  ];
  const s = evaluateDocRED(preds, [goldA, goldB], { train });
  // |pred| = 5 after dedup, |gold| = 4, correct = 2, correct in train = 1
  assert.deepEqual(
    [s.counts.predicted, s.counts.gold, s.counts.correct, s.counts.correctInTrain],
    [5, 4, 2, 1],
  );
  assert.equal(s.precision, 2 / 5);
  assert.equal(s.recall, 2 / 4);
  assert.equal(s.f1, (2 * (2 / 5) * (2 / 4)) / (2 / 5 + 2 / 4));
  assert.equal(s.ignPrecision, (2 - 1) / (5 - 1));
  assert.equal(s.ignF1, (2 * (1 / 4) * (2 / 4)) / (1 / 4 + 2 / 4));
  // intra: predicted {A 0-1, B 0-1} = 2, gold {A 0-1, B 1-0} = 2, correct 1 → P = R = 1/2
  assert.equal(s.intraF1, 0.5);
  // inter: predicted {A 0-2, A 2-0} = 2, gold {A 0-2, A 1-2} = 2, correct 1 → 1/2
  assert.equal(s.interF1, 0.5);
  // evidence: predicted 2 (on known titles), correct 1 + 1 = 2 ({0}∩{0}, {1}∩{0,1}), gold 4
  assert.equal(s.evidencePrecision, 2 / 2);
  assert.equal(s.evidenceRecall, 2 / 4);
  // without train, Ign F1 = F1
  const noTrain = evaluateDocRED(preds, [goldA, goldB]);
  assert.equal(noTrain.ignF1, noTrain.f1);
});

test('hand-computed: perfect, empty and all-wrong predictions', () => {
  const perfect = [goldA, goldB].flatMap((d) => d.labels!.map((l) => t(d.title, l.h, l.t, l.r)));
  const s = evaluateDocRED(perfect, [goldA, goldB]);
  assert.deepEqual([s.precision, s.recall, s.f1, s.intraF1, s.interF1], [1, 1, 1, 1, 1]);
  const none = evaluateDocRED([], [goldA, goldB]);
  assert.deepEqual([none.precision, none.recall, none.f1, none.ignF1], [0, 0, 0, 0]);
  const wrong = evaluateDocRED([t('A', 1, 0, 'P1')], [goldA]);
  assert.deepEqual([wrong.precision, wrong.recall, wrong.f1], [0, 0, 0]);
});

interface OfficialCase {
  predictions: number[][];
  expected: Record<string, number>;
}

test('matches the official script arithmetic on random predictions over Re-DocRED gold', async () => {
  const fx = await loadFixture<{
    gold: [number, number];
    train: [number, number];
    relations: string[];
    cases: OfficialCase[];
  }>('data/official_eval.json');
  const docs = right(await loadBundledReDocRED()());
  const gold = docs.slice(...fx.gold);
  const trainDocs = docs.slice(...fx.train);
  assert.equal(fx.cases.length, 4);
  for (const [k, c] of fx.cases.entries()) {
    const preds = c.predictions.map(([d, h, tt, r, ...ev]) =>
      t(d! >= 0 ? gold[d!]!.title : 'no such title', h!, tt!, fx.relations[r!]!, ev),
    );
    const s = evaluateDocRED(preds, gold, { train: trainDocs });
    for (const key of [
      'precision',
      'recall',
      'f1',
      'ignPrecision',
      'ignF1',
      'evidencePrecision',
      'evidenceRecall',
      'evidenceF1',
      'intraF1',
      'interF1',
    ] as const)
      assert.ok(
        Math.abs(s[key] - c.expected[key]!) < 1e-12,
        `case ${k} ${key}: ${s[key]} vs ${c.expected[key]}`,
      );
    assert.deepEqual(
      [s.counts.predicted, s.counts.gold, s.counts.correct, s.counts.correctInTrain],
      [c.expected['predicted'], c.expected['gold'], c.expected['correct'], c.expected['correctInTrain']],
      `case ${k} counts`,
    );
  }
});

test('binary P/R/F1 for CDR/GDA ignores NR facts', () => {
  const cdr: DocREDDocument = {
    title: '123',
    sents: [['a']],
    vertexSet: [[mention('c', 0)], [mention('d', 0)], [mention('e', 0)]],
    labels: [
      { h: 0, t: 1, r: 'CID', evidence: [] },
      { h: 0, t: 2, r: 'NR', evidence: [] },
    ],
  };
  const s = evaluateBinary([t('123', 0, 1, 'CID'), t('123', 0, 2, 'CID'), t('123', 0, 2, 'NR')], [cdr]);
  assert.deepEqual(s.counts, { predicted: 2, gold: 1, correct: 1 });
  assert.equal(s.precision, 1 / 2);
  assert.equal(s.recall, 1);
  assert.equal(s.f1, (2 * 0.5 * 1) / 1.5);
});

test('toOfficialJSON writes the CodaLab result format', () => {
  const json = toOfficialJSON([t('A', 0, 1, 'P17'), t('B', 2, 0, 'P131', [1])]);
  assert.equal(
    json,
    '[{"title":"A","h_idx":0,"t_idx":1,"r":"P17","evidence":[]},{"title":"B","h_idx":2,"t_idx":0,"r":"P131","evidence":[1]}]',
  );
});

test('triplesFromPredictions decodes tensors and arrays; gold labels → triples → perfect score', async () => {
  const schema = new RelationSchema(['Na', 'P1', 'P2', 'P3']);
  // [b=1, e=3, e=3, r=4]: (0,1) → P1; (2,0) → P2 and P3; (1,1) diagonal and column 0 ignored
  const x = [
    [
      [
        [0, 0, 0, 0],
        [0, 1, 0, 0],
        [1, 0, 0, 0],
      ],
      [
        [1, 0, 0, 0],
        [0, 1, 1, 1],
        [1, 0, 0, 0],
      ],
      [
        [0, 0, 1, 1],
        [1, 0, 0, 0],
        [0, 0, 0, 0],
      ],
    ],
  ];
  const expected = [t('d', 0, 1, 'P1'), t('d', 2, 0, 'P2'), t('d', 2, 0, 'P3')];
  assert.deepEqual(right(triplesFromPredictions(x, ['d'], schema, [3])), expected);
  const tensor = tf.tensor4d(x);
  assert.deepEqual(right(triplesFromPredictions(tensor, ['d'], schema, [3])), expected);
  assert.deepEqual(
    right(triplesFromPredictions(tensor, ['d'], schema, [2])),
    [t('d', 0, 1, 'P1')],
    'padded entities ignored',
  );
  tensor.dispose();
  assert.match(
    left(triplesFromPredictions(x, ['d'], new RelationSchema(['Na', 'P1']), [3])).message,
    /multiHot: expected r = 2 classes, got 4/,
  );
  assert.match(
    left(triplesFromPredictions(x, [], schema, [3])).message,
    /titles: expected 1 titles and entity counts, got 0 and 1/,
  );
  assert.match(
    left(triplesFromPredictions(x, ['d'], schema, [4])).message,
    /feature 0, entityCounts: expected an integer in \[0, 3\], got 4/,
  );

  // round trip on real documents: collate's labels decode back to exactly the gold facts
  const docs = reDocREDSplit(right(await loadBundledReDocRED()())).validation.slice(0, 3);
  const redocred = RelationSchema.docred();
  const features = docs.map((d) => ({
    title: d.title,
    inputIds: [1, 2],
    tokens: ['a', 'b'],
    tokenSentence: [0, 0],
    sentenceSpans: [[0, 2] as const],
    mentionStart: d.vertexSet.map((ms) => ms.map(() => 1)),
    mentionEnd: d.vertexSet.map((ms) => ms.map(() => 1)),
    mentionSentence: d.vertexSet.map((ms) => ms.map(() => 0)),
    entityTypes: d.vertexSet.map((ms) => ms[0]!.type),
    labels: d.labels!,
    padId: 0,
  }));
  const batch = right(collate(features, redocred));
  const triples = right(triplesFromPredictions(batch.labels!, batch.titles, redocred, batch.entityCounts));
  disposeBatch(batch);
  const s = evaluateDocRED(triples, docs);
  assert.deepEqual([s.precision, s.recall, s.f1], [1, 1, 1]);
  assert.equal(
    triples.length,
    docs.reduce((a, d) => a + d.labels!.length, 0),
  );
});
