/**
 * The automatic entity front end against the gold entities of the bundled Re-DocRED documents
 * (`assets/re-docred/dev_revised.json`, 500 documents).
 *
 * Each document's text is rebuilt from its words (`documentText`: words joined by spaces), the
 * front end runs over those same words and sentences (`recognizeDocumentEntities`), and its
 * mentions are compared with the gold mentions by exact span (same sentence, same word span):
 * precision / recall / F1 per gold type and overall, typed (span and type must agree) and untyped
 * (span only). Grouping: over the mentions found with the exact span, pairwise coreference links
 * (two mentions in one predicted entity vs in one gold entity) → link precision / recall / F1.
 * Entities: share of gold entities aligned to a predicted one (`alignEntities`, ≥ 1 shared span;
 * strict: identical mention sets). Last, how often `tokenizeText` on the rebuilt text gives the
 * document's own words and sentences back.
 *
 *     npx tsx examples/frontend-eval.ts                 # all 500 documents, markdown tables
 *     npx tsx examples/frontend-eval.ts --docs 50 --no-proper-nouns --no-aliases --demonyms MISC
 *
 * `toGoldTriples` is the reusable part for relation scoring with predicted entities: it rewrites
 * triples predicted over the front end's entities into the gold document's entity indices.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pathToFileURL } from 'node:url';
import { loadBundledReDocRED, type DocREDDocument, type OfficialTriple } from '../src/data/index.js';
import {
  alignEntities,
  documentText,
  recognizeDocumentEntities,
  spanKey,
  tokenizeText,
  type AutoEntityOptions,
} from '../src/text/index.js';

// ---------------------------------------------------------------------------------------------
// reusable: relation scoring with predicted entities

/**
 * Triples over `predicted`'s entities → triples over `gold`'s (same title), for `evaluateDocRED`
 * against the gold documents. An entity without a gold counterpart gets the index −(p + 1): such a
 * triple counts as predicted and is never correct (the scorer needs no change).
 */
export function toGoldTriples(
  triples: readonly OfficialTriple[],
  predicted: DocREDDocument,
  gold: DocREDDocument,
): OfficialTriple[] {
  const align = alignEntities(predicted, gold);
  const map = (p: number) => align[p] ?? -(p + 1);
  return triples.map((x) => ({ ...x, title: gold.title, h_idx: map(x.h_idx), t_idx: map(x.t_idx) }));
}

// ---------------------------------------------------------------------------------------------
// mention and grouping scores

export const GOLD_TYPES = ['PER', 'LOC', 'ORG', 'TIME', 'NUM', 'MISC'] as const;

export interface PRF {
  readonly predicted: number;
  readonly gold: number;
  readonly correct: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

const prf = (predicted: number, gold: number, correct: number): PRF => {
  const precision = predicted === 0 ? 0 : correct / predicted;
  const recall = gold === 0 ? 0 : correct / gold;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { predicted, gold, correct, precision, recall, f1 };
};

export interface FrontEndScores {
  /** per gold type and 'all': typed (span + type) */
  readonly typed: Record<string, PRF>;
  /** per type and 'all': untyped (span only; predicted counted under its own type, gold under its) */
  readonly untyped: Record<string, PRF>;
  /** confusion[predicted type][gold type]: mentions whose span matches exactly */
  readonly confusion: Record<string, Record<string, number>>;
  /** pairwise coreference links among exactly matched mentions */
  readonly links: PRF;
  /** gold entities aligned to a predicted entity: ≥ 1 shared span, and identical span sets */
  readonly entities: {
    readonly gold: number;
    readonly predicted: number;
    readonly aligned: number;
    readonly strict: number;
  };
}

/** Scores predicted documents against gold documents over the same words (module comment). */
export function scoreFrontEnd(
  pairs: readonly { predicted: DocREDDocument; gold: DocREDDocument }[],
): FrontEndScores {
  const types = [...GOLD_TYPES, 'all'];
  const count = () => Object.fromEntries(types.map((t) => [t, { p: 0, g: 0, c: 0 }]));
  const typed = count();
  const untyped = count();
  const links = { p: 0, g: 0, c: 0 };
  const confusion: Record<string, Record<string, number>> = {};
  const entities = { gold: 0, predicted: 0, aligned: 0, strict: 0 };
  const bump = (
    table: Record<string, { p: number; g: number; c: number }>,
    type: string,
    f: 'p' | 'g' | 'c',
  ) => {
    if (table[type]) table[type]![f]++;
    table.all![f]++;
  };
  for (const { predicted, gold } of pairs) {
    const goldType = new Map<string, Set<string>>(); // span → gold types there
    const goldEntity = new Map<string, Set<number>>();
    gold.vertexSet.forEach((e, g) =>
      e.forEach((m) => {
        const k = spanKey(m);
        goldType.set(k, (goldType.get(k) ?? new Set()).add(m.type));
        goldEntity.set(k, (goldEntity.get(k) ?? new Set()).add(g));
      }),
    );
    const predType = new Map<string, string>();
    const predEntity = new Map<string, number>();
    predicted.vertexSet.forEach((e, p) =>
      e.forEach((m) => {
        predType.set(spanKey(m), m.type);
        predEntity.set(spanKey(m), p);
      }),
    );
    for (const [k, ts] of goldType)
      for (const t of ts) {
        bump(typed, t, 'g');
        bump(untyped, t, 'g');
        if (predType.get(k) === t) bump(typed, t, 'c');
        if (predType.has(k)) bump(untyped, t, 'c');
      }
    for (const [k, t] of predType) {
      bump(typed, t, 'p');
      bump(untyped, t, 'p');
      for (const g of goldType.get(k) ?? []) (confusion[t] ??= {})[g] = (confusion[t]?.[g] ?? 0) + 1;
    }
    const matched = [...predType.keys()].filter((k) => goldType.has(k));
    for (let i = 0; i < matched.length; i++)
      for (let j = i + 1; j < matched.length; j++) {
        const a = matched[i]!;
        const b = matched[j]!;
        const samePred = predEntity.get(a) === predEntity.get(b);
        const sameGold = [...goldEntity.get(a)!].some((g) => goldEntity.get(b)!.has(g));
        if (samePred) links.p++;
        if (sameGold) links.g++;
        if (samePred && sameGold) links.c++;
      }
    entities.gold += gold.vertexSet.length;
    entities.predicted += predicted.vertexSet.length;
    entities.aligned += alignEntities(predicted, gold).filter((g) => g !== undefined).length;
    entities.strict += alignEntities(predicted, gold, { strict: true }).filter((g) => g !== undefined).length;
  }
  const toPRF = (table: Record<string, { p: number; g: number; c: number }>) =>
    Object.fromEntries(types.map((t) => [t, prf(table[t]!.p, table[t]!.g, table[t]!.c)]));
  return {
    typed: toPRF(typed),
    untyped: toPRF(untyped),
    confusion,
    links: prf(links.p, links.g, links.c),
    entities,
  };
}

// ---------------------------------------------------------------------------------------------
// the script

const pct = (x: number) => (100 * x).toFixed(1);

/** The scores as markdown tables. */
export function formatScores(s: FrontEndScores): string {
  const row = (name: string, t: PRF, u: PRF) =>
    `| ${name} | ${t.gold} | ${t.predicted} | ${pct(t.precision)} | ${pct(t.recall)} | ${pct(t.f1)} | ${pct(u.recall)} |`;
  return [
    '| type | gold mentions | predicted | P | R | F1 | R untyped |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...[...GOLD_TYPES, 'all'].map((t) => row(t, s.typed[t]!, s.untyped[t]!)),
    '',
    '| predicted \\ gold | ' + GOLD_TYPES.join(' | ') + ' |',
    '|---|' + GOLD_TYPES.map(() => '---:|').join(''),
    ...GOLD_TYPES.map((p) => `| ${p} | ${GOLD_TYPES.map((g) => s.confusion[p]?.[g] ?? 0).join(' | ')} |`),
    '',
    `untyped (span only), all types: P ${pct(s.untyped.all!.precision)} / R ${pct(s.untyped.all!.recall)} / F1 ${pct(s.untyped.all!.f1)}`,
    `grouping, pairwise links among exactly matched mentions: P ${pct(s.links.precision)} / R ${pct(s.links.recall)} / F1 ${pct(s.links.f1)} (${s.links.gold} gold links)`,
    `entities: ${s.entities.gold} gold, ${s.entities.predicted} predicted; gold entities aligned (≥ 1 shared mention span) ${pct(s.entities.aligned / s.entities.gold)}%, with identical mention sets ${pct(s.entities.strict / s.entities.gold)}%`,
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<void> {
  const flag = (name: string) => argv.includes(name);
  const docsAt = argv.indexOf('--docs');
  const limit = docsAt >= 0 ? Number(argv[docsAt + 1]) : Infinity;
  const options: AutoEntityOptions = {
    properNouns: !flag('--no-proper-nouns'),
    ...(argv.includes('--demonyms') ? { demonyms: argv[argv.indexOf('--demonyms') + 1]! } : {}),
    ...(flag('--no-aliases') ? { aliases: { surname: false, acronym: false, repeated: false } } : {}),
  };
  const loaded = await loadBundledReDocRED()();
  if (E.isLeft(loaded)) throw new Error(loaded.left.message);
  const gold = loaded.right.slice(0, limit);
  const started = Date.now();
  const pairs = gold.map((g) => ({ predicted: recognizeDocumentEntities(g, options), gold: g }));
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `${gold.length} documents (Re-DocRED dev_revised.json), options ${JSON.stringify(options)}, ${seconds.toFixed(1)} s\n`,
  );
  console.log(formatScores(scoreFrontEnd(pairs)));
  // tokenizeText on the rebuilt text: does it give the documents' own words (and sentences) back?
  let sameWords = 0;
  let sameSentences = 0;
  for (const g of gold) {
    const t = tokenizeText(documentText(g).text);
    if (t.sents.flat().join('\u0000') !== g.sents.flat().join('\u0000')) continue;
    sameWords++;
    if (t.sents.length === g.sents.length && t.sents.every((s, i) => s.length === g.sents[i]!.length))
      sameSentences++;
  }
  console.log(
    `tokenizeText(documentText(doc).text) gives the document's words back for ${sameWords} of ${gold.length} documents, and its sentences too for ${sameSentences}`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv.slice(2));
