/**
 * parseMarkedText: the documented syntax (`[words]`, `[words|TYPE]`, `[words|TYPE|entity]`,
 * `[words|TYPE#id]`), sentences (lines, end marks, none inside a mention), the markup-free text and
 * its offsets, one Left per kind of malformed input with its message (line and column), and a
 * property test: on any string of markup characters it returns (never throws) a Right whose
 * mention offsets slice the names back, or a ParseError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { parseMarkedText } from '../../src/text/index.js';
import { left, right } from '../data/helpers.js';

const SAMPLE = `[Anthony Steel|PER] was an English film actor .
[Steel|PER|Anthony Steel] was born in [Chelsea|LOC] , [London|LOC] .
[He|PER|Anthony Steel] starred in [The Wooden Horse|MISC] in [1950|TIME] .`;

test('the demo sample: 5 entities, 3 sentences, keys join mentions', () => {
  const doc = right(parseMarkedText(SAMPLE));
  assert.equal(doc.title, 'marked text');
  assert.equal(doc.sents.length, 3);
  assert.deepEqual(doc.sents[1], ['Steel', 'was', 'born', 'in', 'Chelsea', ',', 'London', '.']);
  assert.deepEqual(
    doc.vertexSet.map((e) => e.map((m) => [m.name, m.type, m.sent_id, m.pos])),
    [
      [
        ['Anthony Steel', 'PER', 0, [0, 2]],
        ['Steel', 'PER', 1, [0, 1]],
        ['He', 'PER', 2, [0, 1]],
      ],
      [['Chelsea', 'LOC', 1, [4, 5]]],
      [['London', 'LOC', 1, [6, 7]]],
      [['The Wooden Horse', 'MISC', 2, [3, 6]]],
      [['1950', 'TIME', 2, [7, 8]]],
    ],
  );
});

test('text without markup, offsets slice every word and mention name back', () => {
  const doc = right(
    parseMarkedText('[Paris|LOC] is the capital of [France|LOC]. [It|LOC|Paris] is big!\nYes'),
  );
  assert.equal(doc.text, 'Paris is the capital of France. It is big!\nYes');
  assert.deepEqual(doc.sents, [
    ['Paris', 'is', 'the', 'capital', 'of', 'France', '.'],
    ['It', 'is', 'big', '!'],
    ['Yes'],
  ]);
  doc.sents.forEach((s, i) =>
    s.forEach((w, j) => assert.equal(doc.text.slice(...doc.wordOffsets[i]![j]!), w)),
  );
  for (const e of doc.vertexSet)
    for (const m of e) {
      const o = doc.wordOffsets[m.sent_id]!;
      assert.equal(doc.text.slice(o[m.pos[0]]![0], o[m.pos[1] - 1]![1]), m.name);
    }
  assert.deepEqual(
    doc.vertexSet.map((e) => e.length),
    [2, 1],
  );
});

test('[words|TYPE#id] joins mentions by id; ids are keys of their own; types default to MISC', () => {
  const doc = right(
    parseMarkedText('[Steel|PER#s] met [Anthony Steel|PER#s] and [s] in [Rome]. [Rome|#r] [Roma|LOC#r]'),
  );
  assert.deepEqual(
    doc.vertexSet.map((e) => e.map((m) => `${m.name}/${m.type}`)),
    // `[Rome|#r]` does not join the words `Rome`; `Roma` takes the type of `#r`'s first mention
    [['Steel/PER', 'Anthony Steel/PER'], ['s/MISC'], ['Rome/MISC'], ['Rome/MISC', 'Roma/MISC']],
  );
});

test('a mention may hold a sentence end; a mention on a new line starts a sentence', () => {
  const doc = right(parseMarkedText('He joined [Apple Inc. Ltd. !|ORG] then\n[Google|ORG] hired him .'));
  assert.deepEqual(doc.sents, [
    ['He', 'joined', 'Apple', 'Inc.', 'Ltd.', '!', 'then'],
    ['Google', 'hired', 'him', '.'],
  ]);
  assert.deepEqual(doc.vertexSet[0]![0]!.pos, [2, 6]);
  assert.deepEqual(doc.vertexSet[1]![0], { name: 'Google', pos: [0, 1], sent_id: 1, type: 'ORG' });
  assert.equal(right(parseMarkedText('[a] [b]', 'my doc')).title, 'my doc');
});

test('one Left per malformed kind, naming line and column', () => {
  const cases: [string, string][] = [
    [
      '[Paris|LOC] is in [Fra\nnce|LOC] .',
      'marked text: line 1, column 19: mention "[Fra\\nnce|LOC]" is outside its sentence: it spans a line break',
    ],
    ['[Paris|LOC is in France .', "marked text: line 1, column 1: unbalanced '['"],
    ['[Paris|LOC] is\nin ] France', "marked text: line 2, column 4: unbalanced ']'"],
    [
      '[a] and [a|b|c|d]',
      'marked text: line 1, column 9: mention "[a|b|c|d]" has more than three parts: write [words], [words|TYPE], [words|TYPE|entity] or [words|TYPE#id]',
    ],
    ['[a] and [ |PER]', 'marked text: line 1, column 9: mention "[ |PER]" has no words'],
    [
      '[a] and [x|P ER]',
      'marked text: line 1, column 9: mention "[x|P ER]" has an invalid type "P ER" (letters, digits, _ and -, e.g. PER)',
    ],
    ['[a] and\n  [x|PER#]', 'marked text: line 2, column 3: mention "[x|PER#]" has an empty id after \'#\''],
    [
      '[a] and [x|PER#i|Paris]',
      'marked text: line 1, column 9: mention "[x|PER#i|Paris]" gives both an id (\'#\') and an entity part: use one',
    ],
    [
      '[Paris|LOC] and [Paris|LOC]',
      'marked text: found 1 marked entity; mark at least two, e.g. [Paris|LOC] is in [France|LOC].',
    ],
    [
      'no marks at all',
      'marked text: found 0 marked entities; mark at least two, e.g. [Paris|LOC] is in [France|LOC].',
    ],
  ];
  for (const [text, message] of cases) {
    const e = left(parseMarkedText(text), text);
    assert.equal(e._tag, 'ParseError');
    assert.equal(e.message, message);
  }
  const e = left(parseMarkedText('x\n[a] ]', 'notes.txt'));
  assert.ok(e._tag === 'ParseError' && e.line === 2 && e.file === 'notes.txt', JSON.stringify(e));
});

test('property: any string of markup characters → a consistent Right or a ParseError, never a throw', () => {
  const units = fc.constantFrom('[', ']', '|', '#', '\n', ' ', 'a', 'B', '.', 'PER', 'é');
  fc.assert(
    fc.property(fc.array(units, { maxLength: 30 }), (parts) => {
      const r = parseMarkedText(parts.join(''));
      if (E.isLeft(r)) return assert.equal(r.left._tag, 'ParseError');
      const doc = r.right;
      assert.ok(doc.vertexSet.length >= 2);
      for (const e of doc.vertexSet)
        for (const m of e) {
          const o = doc.wordOffsets[m.sent_id]!;
          assert.equal(doc.text.slice(o[m.pos[0]]![0], o[m.pos[1] - 1]![1]), m.name);
        }
    }),
    { numRuns: 1000 },
  );
});
