/**
 * tokenizeText / documentText: golden tables {text, words, offsets} (DocRED-style words:
 * punctuation apart, clitics split, abbreviations / numbers / compounds whole), sentence split
 * cases, every offset slicing its word back, and documentText's exact text and offsets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { documentText, tokenizeText, tokenizeWords } from '../../src/text/index.js';

/** Golden table: text → words → [start, end) offsets (one sentence each). */
// prettier-ignore
const GOLDEN: { text: string; words: string[]; offsets: [number, number][] }[] = [
  {
    text: 'Angela Merkel was born in Hamburg.',
    words: ['Angela', 'Merkel', 'was', 'born', 'in', 'Hamburg', '.'],
    offsets: [[0, 6], [7, 13], [14, 17], [18, 22], [23, 25], [26, 33], [33, 34]],
  },
  {
    text: "Merkel's team didn't pay $5,000.",
    words: ['Merkel', "'s", 'team', 'did', "n't", 'pay', '$', '5,000', '.'],
    offsets: [[0, 6], [6, 8], [9, 13], [14, 17], [17, 20], [21, 24], [25, 26], [26, 31], [31, 32]],
  },
  {
    text: 'Dr. J. Smith of the U.S. (born 1963) left St. Louis in 2016–17, e.g. mid-19th.',
    words: ['Dr.', 'J.', 'Smith', 'of', 'the', 'U.S.', '(', 'born', '1963', ')', 'left', 'St.', 'Louis', 'in',
      '2016–17', ',', 'e.g.', 'mid-19th', '.'],
    offsets: [[0, 3], [4, 6], [7, 12], [13, 15], [16, 19], [20, 24], [25, 26], [26, 30], [31, 35], [35, 36],
      [37, 41], [42, 45], [46, 51], [52, 54], [55, 62], [62, 63], [64, 68], [69, 77], [77, 78]],
  },
  {
    text: 'O\u2019Connor ran 101.5 km at 4:23 and/or 10,000 m\u2026',
    words: ['O\u2019Connor', 'ran', '101.5', 'km', 'at', '4:23', 'and/or', '10,000', 'm', '\u2026'],
    offsets: [[0, 8], [9, 12], [13, 18], [19, 21], [22, 24], [25, 29], [30, 36], [37, 43], [44, 45], [45, 46]],
  },
  {
    // DocRED's own words joined by spaces come back unchanged
    text: 'Wilfried " Willi " Schneider ( born 13 March 1963 in Mediaș , Transylvania ) did n\'t race .',
    words: ['Wilfried', '"', 'Willi', '"', 'Schneider', '(', 'born', '13', 'March', '1963', 'in', 'Mediaș', ',',
      'Transylvania', ')', 'did', "n't", 'race', '.'],
    offsets: [[0, 8], [9, 10], [11, 16], [17, 18], [19, 28], [29, 30], [31, 35], [36, 38], [39, 44], [45, 49],
      [50, 52], [53, 59], [60, 61], [62, 74], [75, 76], [77, 80], [81, 84], [85, 89], [90, 91]],
  },
];

test('golden tokenisation: words and offsets', () => {
  for (const g of GOLDEN) {
    const t = tokenizeText(g.text);
    assert.deepEqual(t.sents, [g.words], g.text);
    assert.deepEqual(t.wordOffsets, [g.offsets], g.text);
  }
});

test('every offset slices its word back', () => {
  const text = 'He said "no." Then 10,000 people left... Why?! (Really.)\n\nA new paragraph starts here';
  const t = tokenizeText(text);
  t.sents.forEach((s, i) => s.forEach((w, j) => assert.equal(text.slice(...t.wordOffsets[i]![j]!), w)));
  assert.equal(tokenizeWords(text).length, t.sents.flat().length);
});

test('sentence split: end marks with their closers, blank lines, abbreviations', () => {
  const split = (text: string) => tokenizeText(text).sents.map((s) => s.join(' '));
  assert.deepEqual(split('Angela Merkel was born in Hamburg. She led Germany from 2005 to 2021.'), [
    'Angela Merkel was born in Hamburg .',
    'She led Germany from 2005 to 2021 .',
  ]);
  assert.deepEqual(split('He said "no." Then (really?) he left... Why?! Done'), [
    'He said " no . "',
    'Then ( really ? ) he left ...',
    'Why ? !',
    'Done',
  ]);
  assert.deepEqual(split('Title line\n\nBody text here'), ['Title line', 'Body text here']);
  assert.deepEqual(split('A line\nwrapped here.'), ['A line wrapped here .']);
  assert.deepEqual(split('Dr. Smith lives in the U.S. now. Mr. Jones'), [
    'Dr. Smith lives in the U.S. now .',
    'Mr. Jones',
  ]);
  assert.deepEqual(tokenizeText('   \n\n  ').sents, []);
});

test('documentText: words joined by single spaces, offsets of each word', () => {
  const doc = {
    title: 't',
    sents: [
      ['Paris', 'is', 'in', 'France', '.'],
      ['It', 'is', 'big', '.'],
    ],
    vertexSet: [],
  };
  const { text, wordOffsets } = documentText(doc);
  assert.equal(text, 'Paris is in France . It is big .');
  assert.deepEqual(wordOffsets, [
    [
      [0, 5],
      [6, 8],
      [9, 11],
      [12, 18],
      [19, 20],
    ],
    [
      [21, 23],
      [24, 26],
      [27, 30],
      [31, 32],
    ],
  ]);
  // and back: the same words and sentences
  assert.deepEqual(tokenizeText(text).sents, doc.sents);
});
