/**
 * alignEntities: exact spans, one-to-one greedy matching by shared spans (ties by index), strict
 * mode, unaligned entities; and relation scoring with predicted entities through
 * examples/frontend-eval.ts's `toGoldTriples` + `evaluateDocRED` on a hand-made document.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateDocRED, type DocREDDocument, type Mention } from '../../src/data/index.js';
import { alignEntities } from '../../src/text/index.js';
import { toGoldTriples } from '../../examples/frontend-eval.js';

const m = (sent_id: number, a: number, b: number, name = 'x', type = 'PER'): Mention => ({
  name,
  pos: [a, b],
  sent_id,
  type,
});
const sents = [
  ['a', 'b', 'c', 'd', 'e'],
  ['f', 'g', 'h', 'i'],
];

const gold: DocREDDocument = {
  title: 'doc',
  sents,
  vertexSet: [
    [m(0, 0, 2), m(1, 0, 1)], // 0: two mentions
    [m(0, 3, 4)], // 1
    [m(1, 2, 3), m(1, 3, 4)], // 2
  ],
  labels: [
    { h: 0, t: 1, r: 'P1', evidence: [0] },
    { h: 2, t: 1, r: 'P2', evidence: [1] },
  ],
};

test('exact spans, one to one, most shared spans first', () => {
  const predicted: DocREDDocument = {
    title: 'doc',
    sents,
    vertexSet: [
      [m(0, 0, 1)], // 0: off by one word → no gold
      [m(0, 0, 2)], // 1: shares 1 span with gold 0
      [m(0, 0, 2), m(1, 0, 1)], // 2: shares 2 spans with gold 0 → wins gold 0
      [m(1, 3, 4)], // 3: gold 2 (partly)
      [m(1, 2, 3)], // 4: also gold 2, taken by 3 (tie: lower predicted index first)
      [m(0, 3, 4), m(1, 1, 2)], // 5: gold 1, with an extra mention
    ],
  };
  assert.deepEqual(alignEntities(predicted, gold), [undefined, undefined, 0, 2, undefined, 1]);
  assert.deepEqual(alignEntities(predicted, gold, { strict: true }), [
    undefined,
    undefined,
    0,
    undefined,
    undefined,
    undefined,
  ]);
  assert.deepEqual(alignEntities(gold, gold), [0, 1, 2]);
  assert.deepEqual(alignEntities({ ...gold, vertexSet: [] }, gold), []);
});

test('relation scoring with predicted entities: toGoldTriples + evaluateDocRED', () => {
  const predicted: DocREDDocument = {
    title: 'doc',
    sents,
    vertexSet: [[m(0, 3, 4)], [m(0, 0, 2)], [m(1, 3, 4)], [m(0, 4, 5)]], // gold 1, 0, 2, none
  };
  const triples = [
    { title: 'doc', h_idx: 1, t_idx: 0, r: 'P1' }, // = gold (0, 1, P1): correct
    { title: 'doc', h_idx: 2, t_idx: 0, r: 'P2' }, // = gold (2, 1, P2): correct
    { title: 'doc', h_idx: 3, t_idx: 0, r: 'P1' }, // unaligned head: counted, never correct
  ];
  const mapped = toGoldTriples(triples, predicted, gold);
  assert.deepEqual(
    mapped.map((x) => [x.h_idx, x.t_idx]),
    [
      [0, 1],
      [2, 1],
      [-4, 1],
    ],
  );
  const s = evaluateDocRED(mapped, [gold]);
  assert.equal(s.counts.correct, 2);
  assert.equal(s.counts.predicted, 3);
  assert.equal(s.precision, 2 / 3);
  assert.equal(s.recall, 1);
});
