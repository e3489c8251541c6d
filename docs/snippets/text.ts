/**
 * The text front ends of docs/text.md, runnable: `npx tsx docs/snippets/text.ts`.
 * Plain text → words with offsets, automatic entities, marked entities, and predicted ↔ gold
 * entity alignment.
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  alignEntities,
  documentText,
  parseMarkedText,
  recognizeDocumentEntities,
  recognizeEntities,
  tokenizeText,
} from '../../src/index.js';

// 1. words and sentences, with [start, end) character offsets
const t = tokenizeText("Angela Merkel's party won. She led Germany.");
console.log(t.sents); // [['Angela','Merkel',"'s",'party','won','.'], ['She','led','Germany','.']]
console.log(t.wordOffsets[0]![2]); // [13, 15]

// 2. the automatic front end: entities found, grouped, with offsets into the text
const text = 'Angela Merkel was born in Hamburg. She led Germany from 2005 to 2021. Merkel met the EU.';
const doc = recognizeEntities(text, { title: 'merkel' });
for (const entity of doc.vertexSet) {
  const spans = entity.map((m) => {
    const o = doc.wordOffsets[m.sent_id]!;
    return `${m.name} [${o[m.pos[0]]![0]}, ${o[m.pos[1] - 1]![1]})`;
  });
  console.log(entity[0]!.type, spans.join(' | ')); // PER Angela Merkel [0, 13) | Merkel [70, 76) …
}
const noAliases = recognizeEntities(text, { aliases: { surname: false }, types: ['PER', 'LOC'] });
console.log(noAliases.vertexSet.length);

// 3. the hand-marked front end: Either<DataError, TextDocument>
const marked = parseMarkedText(
  '[Angela Merkel|PER#am] led [Germany|LOC].\n[She|PER#am] was born in [Hamburg|LOC].',
);
if (E.isRight(marked))
  console.log(
    marked.right.text,
    marked.right.vertexSet.map((e) => e.length),
  ); // … [2, 1, 1]
const bad = parseMarkedText('[Paris|LOC] is in [France|LOC');
if (E.isLeft(bad)) console.log(bad.left.message); // marked text: line 1, column 19: unbalanced '['

// 4. a DocRED document without text: its words as text, the front end over its own words, and
//    the predicted entities aligned to the gold ones (for scoring relations with predicted entities)
const gold = {
  title: 'gold',
  sents: [['Angela', 'Merkel', 'was', 'born', 'in', 'Hamburg', '.']],
  vertexSet: [
    [{ name: 'Hamburg', pos: [5, 6] as const, sent_id: 0, type: 'LOC' }],
    [{ name: 'Angela Merkel', pos: [0, 2] as const, sent_id: 0, type: 'PER' }],
  ],
};
console.log(documentText(gold).text); // Angela Merkel was born in Hamburg .
const predicted = recognizeDocumentEntities(gold);
console.log(alignEntities(predicted, gold)); // [1, 0]: predicted Angela Merkel = gold 1, Hamburg = gold 0
