/**
 * recognizeEntities: the Merkel sentence, alias grouping (surname, acronym, repeated) with each
 * alias switched off, type filtering, and the document invariants on hand-written text and on
 * real documents (bundled Re-DocRED) and on random texts (fast-check): every mention inside one sentence, its offsets slicing the
 * text back to its name, no entity without mentions, one type per entity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { loadBundledReDocRED } from '../../src/data/index.js';
import {
  recognizeDocumentEntities,
  recognizeEntities,
  type AutoEntityOptions,
  type TextDocument,
} from '../../src/text/index.js';

/** Each entity as `name/TYPE@sentence | …` (its mentions in order). */
const entities = (doc: TextDocument): string[] =>
  doc.vertexSet.map((e) => e.map((m) => `${m.name}/${m.type}@${m.sent_id}`).join(' | '));

/** The invariants every TextDocument must hold. */
function checkDocument(doc: TextDocument): void {
  assert.equal(doc.sents.length, doc.wordOffsets.length);
  doc.sents.forEach((s, i) => {
    assert.equal(s.length, doc.wordOffsets[i]!.length, `sentence ${i}: one offset per word`);
    s.forEach((w, j) => assert.equal(doc.text.slice(...doc.wordOffsets[i]![j]!), w, `word ${i}:${j}`));
  });
  for (const e of doc.vertexSet) {
    assert.ok(e.length > 0, 'no entity without mentions');
    for (const m of e) {
      assert.equal(m.type, e[0]!.type, `${m.name}: one type per entity`);
      const words = doc.wordOffsets[m.sent_id];
      assert.ok(
        words && m.pos[0] >= 0 && m.pos[0] < m.pos[1] && m.pos[1] <= words.length,
        `${m.name} in its sentence`,
      );
      assert.equal(
        doc.text.slice(words[m.pos[0]]![0], words[m.pos[1] - 1]![1]),
        m.name,
        'offsets slice the name back',
      );
    }
  }
}

test('the Merkel sentence: PER, LOC, LOC, TIME, TIME in two sentences', () => {
  const doc = recognizeEntities('Angela Merkel was born in Hamburg. She led Germany from 2005 to 2021.');
  checkDocument(doc);
  assert.equal(doc.sents.length, 2);
  assert.deepEqual(entities(doc), [
    'Angela Merkel/PER@0',
    'Hamburg/LOC@0',
    'Germany/LOC@1',
    '2005/TIME@1',
    '2021/TIME@1',
  ]);
  assert.equal(doc.title, 'text');
  assert.equal(recognizeEntities('Paris.', { title: 'mine' }).title, 'mine');
});

const MERKEL = 'Angela Merkel met Barack Obama in Berlin. Later, Merkel visited Paris with Obama.';
const EU = 'The European Union (EU) met in Brussels. The EU agreed on a plan.';
const HAMBURG = 'Hamburg is a city. Many people visit Hamburg every year.';

test('surname: a later surname joins the full name; off → its own entity', () => {
  const on = recognizeEntities(MERKEL);
  checkDocument(on);
  assert.deepEqual(entities(on), [
    'Angela Merkel/PER@0 | Merkel/PER@1',
    'Barack Obama/PER@0 | Obama/PER@1',
    'Berlin/LOC@0',
    'Paris/LOC@1',
  ]);
  const off = entities(recognizeEntities(MERKEL, { aliases: { surname: false } }));
  assert.ok(off.includes('Angela Merkel/PER@0'), off.join(' ; '));
  assert.ok(!off.some((e) => e.includes(' | ')), `no entity with two mentions: ${off.join(' ; ')}`);
});

test('surname: two people of one family stay apart', () => {
  const doc = recognizeEntities('Obama met Michelle Obama and Barack Obama in 2009.');
  assert.deepEqual(entities(doc), [
    'Obama/PER@0 | Michelle Obama/PER@0',
    'Barack Obama/PER@0',
    '2009/TIME@0',
  ]);
});

test('acronym: "European Union (EU)" and a later "EU" are one entity; off → two', () => {
  const on = recognizeEntities(EU);
  checkDocument(on);
  assert.deepEqual(entities(on), ['European Union/ORG@0 | EU/ORG@0 | EU/ORG@1', 'Brussels/LOC@0']);
  assert.deepEqual(entities(recognizeEntities(EU, { aliases: { acronym: false } })), [
    'European Union/ORG@0',
    'EU/ORG@0 | EU/ORG@1',
    'Brussels/LOC@0',
  ]);
  const us = entities(recognizeEntities('The United States grew. The U.S. economy is large.'));
  assert.ok(us.includes('United States/LOC@0 | U.S./LOC@1'), us.join(' ; '));
});

test('repeated: identical strings are one entity; off → one entity per mention', () => {
  assert.deepEqual(entities(recognizeEntities(HAMBURG)), ['Hamburg/LOC@0 | Hamburg/LOC@1']);
  assert.deepEqual(entities(recognizeEntities(HAMBURG, { aliases: { repeated: false } })), [
    'Hamburg/LOC@0',
    'Hamburg/LOC@1',
  ]);
  const none: AutoEntityOptions = { aliases: { surname: false, acronym: false, repeated: false } };
  for (const text of [MERKEL, EU, HAMBURG])
    for (const e of recognizeEntities(text, none).vertexSet) assert.equal(e.length, 1, text);
});

test('types: only the requested types are kept', () => {
  const doc = recognizeEntities(MERKEL, { types: ['PER'] });
  assert.deepEqual(entities(doc), ['Angela Merkel/PER@0 | Merkel/PER@1', 'Barack Obama/PER@0 | Obama/PER@1']);
  assert.deepEqual(recognizeEntities(MERKEL, { types: [] }).vertexSet, []);
});

test('invariants on mixed text: dates, money, percent, demonyms, quotes, parentheses, clitics', () => {
  const text =
    'On 3 March 1999, Microsoft Corp. paid $5 million to "Angela Merkel\'s" team (in Munich).\n\n' +
    'The Germans cheered; 45% of them were in Munich. Merkel left... Why?!';
  const doc = recognizeEntities(text);
  checkDocument(doc);
  assert.equal(doc.sents.length, 4);
  const all = entities(doc);
  for (const want of [
    '3 March 1999/TIME@0',
    'Microsoft Corp./ORG@0',
    '$5 million/NUM@0',
    'Germans/LOC@1',
    '45%/NUM@1',
    'Munich/LOC@0 | Munich/LOC@1',
  ])
    assert.ok(all.includes(want), `${want} in ${all.join(' ; ')}`);
  assert.ok(
    !all.some((e) => e.startsWith('Why')),
    `a capitalised question word is no entity: ${all.join(' ; ')}`,
  );
  assert.ok(!all.some((e) => /'s|government/.test(e)), `clitics split off: ${all.join(' ; ')}`);
});

test('real documents: same words and sentences as the gold document, invariants hold', async () => {
  const loaded = await loadBundledReDocRED()();
  assert.ok(E.isRight(loaded));
  for (const gold of loaded.right.slice(0, 25)) {
    const doc = recognizeDocumentEntities(gold);
    checkDocument(doc);
    assert.deepEqual(doc.sents, gold.sents, gold.title);
    assert.equal(doc.title, gold.title);
    assert.equal(doc.labels, undefined);
    assert.ok(doc.vertexSet.length > 0, `${gold.title}: entities found`);
  }
});

test('property: random texts of names, numbers, punctuation and line breaks keep the invariants', () => {
  const vocab = [
    'Angela',
    'Merkel',
    'Paris',
    'EU',
    'European',
    'Union',
    "'s",
    '.',
    ',',
    '(',
    ')',
    '"',
    '\n',
    '\n\n',
    '2005',
    '$',
    '5',
    'million',
    'the',
    'U.S.',
    'Dr.',
    'She',
    'met',
    'Why',
    '?',
    '!',
    'Obama',
    '45%',
    "n't",
    '…',
    '–',
    'é',
    '日本',
    '🙂',
  ];
  const texts = fc
    .array(fc.tuple(fc.constantFrom(...vocab), fc.constantFrom('', ' ')), { maxLength: 40 })
    .map((ws) => ws.map(([w, sep]) => w + sep).join(''));
  fc.assert(
    fc.property(texts, (text) => {
      const doc = recognizeEntities(text);
      assert.equal(doc.text, text);
      for (const s of doc.sents)
        for (const w of s) assert.ok(w !== '' && w.trim() === w, `word ${JSON.stringify(w)}`);
      checkDocument(doc);
    }),
    { numRuns: 200 },
  );
  assert.deepEqual(recognizeEntities('').vertexSet, []);
  assert.deepEqual(recognizeEntities('').sents, []);
});
