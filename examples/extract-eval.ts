/**
 * Relation scores of a model through `Extractor` on the 100 validation documents of the fixed
 * Re-DocRED split, with the gold entities and with the automatic front end's entities
 * (docs/results.md, "The shipped model").
 *
 *   npx tsx examples/extract-eval.ts [--model-dir DIR]     # default: the shipped model
 *
 * With automatic entities the triples are mapped onto the gold entities by `toGoldTriples`
 * (exact mention spans, one to one); a triple whose head or tail has no gold counterpart counts as
 * predicted and wrong. Scores are the official DocRED ones (Ign F1 ignores the 400 training
 * documents' facts).
 */
import * as fs from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import { readDocRED, reDocREDSplit, type DocREDDocument, type Mention } from '../src/data/docred.js';
import { evaluateDocRED, type OfficialTriple } from '../src/data/evaluate.js';
import { Extractor } from '../src/extract/extractor.js';
import type { ExtractResult, InputRecord } from '../src/extract/types.js';
import { toGoldTriples } from './frontend-eval.js';
import { pct } from './redocred.js';

const i = process.argv.indexOf('--model-dir');
const modelDir = i >= 0 ? process.argv[i + 1] : undefined;
const text = await fs.readFile('assets/re-docred/dev_revised.json', 'utf8');
const docs = E.getOrElseW((e: { message: string }) => {
  throw new Error(e.message);
})(readDocRED(text, { file: 'dev_revised.json' }));
const { train, validation } = reDocREDSplit([...docs]);
const records: InputRecord[] = validation.map(({ labels: _l, ...doc }, k) => ({ kind: 'docred', line: k + 1, id: doc.title, doc }));

/** The document an extract result describes (its entities as a DocRED vertexSet). */
function asDocument(r: ExtractResult, gold: DocREDDocument): DocREDDocument {
  const vertexSet = r.entities.map((e) =>
    e.mentions.map((m): Mention => ({ name: m.text, pos: m.words, sent_id: m.sentence, type: e.type })),
  );
  return { title: gold.title, sents: gold.sents, vertexSet };
}

const rows: string[] = [];
for (const entities of ['gold', 'auto'] as const) {
  const ex = await Extractor.load({ ...(modelDir ? { modelDir } : {}), entities });
  const t0 = Date.now();
  const results = await ex.extract(records);
  const seconds = (Date.now() - t0) / 1000;
  const triples: OfficialTriple[] = results.flatMap((r, k) => {
    const own = r.triples.map((t) => ({ title: r.id, h_idx: t.head, t_idx: t.tail, r: t.relation }));
    return entities === 'gold' ? own : toGoldTriples(own, asDocument(r, validation[k]!), validation[k]!);
  });
  const s = evaluateDocRED(triples, validation, { train });
  const ents = results.reduce((n, r) => n + r.entities.length, 0);
  rows.push(
    `| ${entities} | ${ents} | ${s.counts.predicted} | ${pct(s.precision)} | ${pct(s.recall)} | ${pct(s.f1)} | ${pct(s.ignF1)} | ${pct(s.intraF1)} | ${pct(s.interF1)} | ${seconds.toFixed(0)} |`,
  );
  ex.dispose();
}
console.log(`model: ${modelDir ?? 'the shipped model'}; 100 validation documents (400 training documents' facts ignored by Ign F1)\n`);
console.log('| entities | entities found | triples | P | R | F1 | Ign F1 | intra F1 | inter F1 | s |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
