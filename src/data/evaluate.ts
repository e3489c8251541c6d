/**
 * Evaluation with the official DocRED scorer's semantics (thunlp/DocRED `code/evaluation.py`, also
 * ATLOP's `official_evaluate`), plus intra/inter-sentence F1, a binary mode for CDR/GDA, the
 * CodaLab result writer and the decoder from multi-hot predictions to official triples.
 *
 * Official arithmetic, reproduced exactly:
 * - gold facts are the set of (title, r, h, t) over every label (duplicates collapse);
 * - predictions are sorted and deduplicated on (title, h_idx, t_idx, r); |pred| counts every
 *   remaining prediction, including those whose title is not in the gold file;
 * - P = correct / |pred|, R = correct / |gold|, F1 = 2PR / (P + R) (0 when P + R = 0);
 * - Ign F1: a correct prediction is "in train" when some mention name pair (n1 of h, n2 of t) with
 *   relation r is a training fact (training facts: every (mention name of h, mention name of t, r)
 *   of every training label); Ign P = (correct − correctInTrain) / (|pred| − correctInTrain),
 *   Ign F1 = 2·IgnP·R / (IgnP + R) (recall unchanged). Without `train`, Ign F1 = F1.
 * - evidence P/R/F1 as in the official script (predicted evidence ∩ gold evidence of correct facts).
 * Intra/inter F1 (not in the official script): a pair is intra-sentence when some mention of h and
 * some mention of t share a sentence; P/R/F1 are computed over the intra (inter) predictions and
 * gold facts only. Predictions on unknown titles are in neither subset. Scores are in [0, 1];
 * divisions by zero give 0 (the official script would crash on them).
 *
 * @example
 * const scores = evaluateDocRED(triples, validationDocs, { train: trainDocs });
 * console.log(scores.f1, scores.ignF1);
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { type DataError, batchError } from './errors.js';
import type { DocREDDocument } from './docred.js';
import type { RelationSchema } from './schema.js';

/** One predicted fact in the official CodaLab format. `r` is the relation id of the data (e.g. `P17`). */
export interface OfficialTriple {
  readonly title: string;
  readonly h_idx: number;
  readonly t_idx: number;
  readonly r: string;
  readonly evidence?: readonly number[];
}

export interface DocREDScores {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Precision with correct facts seen in `train` removed from numerator and denominator. */
  readonly ignPrecision: number;
  readonly ignF1: number;
  readonly intraF1: number;
  readonly interF1: number;
  readonly evidencePrecision: number;
  readonly evidenceRecall: number;
  readonly evidenceF1: number;
  readonly counts: {
    /** |pred| after deduplication. */
    readonly predicted: number;
    /** |gold| distinct (title, r, h, t). */
    readonly gold: number;
    readonly correct: number;
    readonly correctInTrain: number;
    readonly predictedIntra: number;
    readonly goldIntra: number;
    readonly correctIntra: number;
    readonly predictedInter: number;
    readonly goldInter: number;
    readonly correctInter: number;
  };
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : 0);
const harmonic = (p: number, r: number): number => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

/** The official training-fact set: (mention name of h, mention name of t, r) of every training label. */
export function trainFacts(train: readonly DocREDDocument[]): Set<string> {
  const facts = new Set<string>();
  for (const doc of train)
    for (const l of doc.labels ?? [])
      for (const n1 of doc.vertexSet[l.h] ?? [])
        for (const n2 of doc.vertexSet[l.t] ?? []) facts.add(factKey(n1.name, n2.name, l.r));
  return facts;
}

const factKey = (...parts: (string | number)[]): string => parts.join('\u0000');

/** True when some mention of h and some mention of t share a sentence. */
export function isIntraPair(doc: DocREDDocument, h: number, t: number): boolean {
  const hs = new Set((doc.vertexSet[h] ?? []).map((m) => m.sent_id));
  return (doc.vertexSet[t] ?? []).some((m) => hs.has(m.sent_id));
}

/** Sorts and deduplicates predictions on (title, h_idx, t_idx, r), like the official script. */
export function dedupePredictions(predictions: readonly OfficialTriple[]): OfficialTriple[] {
  const cmp = (a: string | number, b: string | number): number => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = [...predictions].sort(
    (x, y) => cmp(x.title, y.title) || cmp(x.h_idx, y.h_idx) || cmp(x.t_idx, y.t_idx) || cmp(x.r, y.r),
  );
  return sorted.filter(
    (x, i) =>
      i === 0 ||
      factKey(x.title, x.h_idx, x.t_idx, x.r) !==
        factKey(sorted[i - 1]!.title, sorted[i - 1]!.h_idx, sorted[i - 1]!.t_idx, sorted[i - 1]!.r),
  );
}

/**
 * Scores official triples against gold documents.
 * @param predictions official triples (any order, duplicates allowed)
 * @param gold labelled documents (unlabelled ones count as having no facts)
 * @param options.train training documents whose facts Ign F1 ignores
 */
export function evaluateDocRED(
  predictions: readonly OfficialTriple[],
  gold: readonly DocREDDocument[],
  options: { train?: readonly DocREDDocument[] } = {},
): DocREDScores {
  const docs = new Map<string, DocREDDocument>();
  const std = new Map<string, Set<number | null>>();
  let totEvidence = 0;
  for (const doc of gold) {
    docs.set(doc.title, doc);
    for (const l of doc.labels ?? []) {
      const ev = new Set(l.evidence);
      std.set(factKey(doc.title, l.r, l.h, l.t), ev); // the official script keeps the last duplicate
      totEvidence += l.evidence.length;
    }
  }
  let goldIntra = 0;
  let goldInter = 0;
  for (const key of std.keys()) {
    const [title, , h, t] = key.split('\u0000');
    if (isIntraPair(docs.get(title!)!, Number(h), Number(t))) goldIntra++;
    else goldInter++;
  }
  const facts = options.train ? trainFacts(options.train) : new Set<string>();
  const answers = dedupePredictions(predictions);
  let correct = 0;
  let correctInTrain = 0;
  let correctEvidence = 0;
  let predEvidence = 0;
  let predictedIntra = 0;
  let predictedInter = 0;
  let correctIntra = 0;
  let correctInter = 0;
  for (const x of answers) {
    const doc = docs.get(x.title);
    if (doc === undefined) continue;
    const evidence = new Set(x.evidence ?? []);
    predEvidence += evidence.size;
    const inDoc =
      x.h_idx >= 0 && x.h_idx < doc.vertexSet.length && x.t_idx >= 0 && x.t_idx < doc.vertexSet.length;
    const intra = inDoc && isIntraPair(doc, x.h_idx, x.t_idx);
    if (inDoc) {
      if (intra) predictedIntra++;
      else predictedInter++;
    }
    const stdEvidence = std.get(factKey(x.title, x.r, x.h_idx, x.t_idx));
    if (stdEvidence === undefined) continue;
    correct++;
    if (intra) correctIntra++;
    else correctInter++;
    for (const ev of evidence) if (stdEvidence.has(ev)) correctEvidence++;
    let inTrain = false;
    for (const n1 of doc.vertexSet[x.h_idx]!)
      for (const n2 of doc.vertexSet[x.t_idx]!) if (facts.has(factKey(n1.name, n2.name, x.r))) inTrain = true;
    if (inTrain) correctInTrain++;
  }
  const precision = ratio(correct, answers.length);
  const recall = ratio(correct, std.size);
  const ignPrecision = ratio(correct - correctInTrain, answers.length - correctInTrain);
  const evidencePrecision = ratio(correctEvidence, predEvidence);
  const evidenceRecall = ratio(correctEvidence, totEvidence);
  return {
    precision,
    recall,
    f1: harmonic(precision, recall),
    ignPrecision,
    ignF1: harmonic(ignPrecision, recall),
    intraF1: harmonic(ratio(correctIntra, predictedIntra), ratio(correctIntra, goldIntra)),
    interF1: harmonic(ratio(correctInter, predictedInter), ratio(correctInter, goldInter)),
    evidencePrecision,
    evidenceRecall,
    evidenceF1: harmonic(evidencePrecision, evidenceRecall),
    counts: {
      predicted: answers.length,
      gold: std.size,
      correct,
      correctInTrain,
      predictedIntra,
      goldIntra,
      correctIntra,
      predictedInter,
      goldInter,
      correctInter,
    },
  };
}

export interface BinaryScores {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly counts: { readonly predicted: number; readonly gold: number; readonly correct: number };
}

/**
 * Binary P/R/F1 for CDR/GDA (ATLOP's CDR/GDA evaluation): only facts whose relation is not in
 * `negatives` count (default `Na`, `NR`), i.e. the CID / GDA pairs.
 *
 * @example
 * evaluateBinary(triples, cdrDev).f1;
 */
export function evaluateBinary(
  predictions: readonly OfficialTriple[],
  gold: readonly DocREDDocument[],
  options: { negatives?: readonly string[] } = {},
): BinaryScores {
  const negatives = new Set(options.negatives ?? ['Na', 'NR']);
  const goldSet = new Set<string>();
  for (const doc of gold)
    for (const l of doc.labels ?? []) if (!negatives.has(l.r)) goldSet.add(factKey(doc.title, l.h, l.t, l.r));
  const predSet = new Set(
    predictions.filter((p) => !negatives.has(p.r)).map((p) => factKey(p.title, p.h_idx, p.t_idx, p.r)),
  );
  let correct = 0;
  for (const p of predSet) if (goldSet.has(p)) correct++;
  const precision = ratio(correct, predSet.size);
  const recall = ratio(correct, goldSet.size);
  return {
    precision,
    recall,
    f1: harmonic(precision, recall),
    counts: { predicted: predSet.size, gold: goldSet.size, correct },
  };
}

/** The CodaLab `result.json` text: a JSON array of `{title, h_idx, t_idx, r, evidence}`. */
export function toOfficialJSON(predictions: readonly OfficialTriple[]): string {
  return JSON.stringify(
    predictions.map((p) => ({
      title: p.title,
      h_idx: p.h_idx,
      t_idx: p.t_idx,
      r: p.r,
      evidence: p.evidence ?? [],
    })),
  );
}

/**
 * Decodes a multi-hot prediction `[b, e, e, r]` (tensor or nested array; value > 0.5 = predicted)
 * into official triples: for document i, every ordered pair (s, o) of its `entityCounts[i]` real
 * entities, s ≠ o, and every class c > 0 predicted, the triple (titles[i], s, o, schema.idOf(c)).
 *
 * @example
 * const triples = E.getOrElseW(() => [])(triplesFromPredictions(model.predict(batch), batch.titles, schema, batch.entityCounts));
 */
export function triplesFromPredictions(
  multiHot: tf.Tensor | readonly (readonly (readonly (readonly number[])[])[])[],
  titles: readonly string[],
  schema: RelationSchema,
  entityCounts: readonly number[],
): E.Either<DataError, OfficialTriple[]> {
  const shape =
    multiHot instanceof tf.Tensor
      ? multiHot.shape
      : [
          multiHot.length,
          multiHot[0]?.length ?? 0,
          multiHot[0]?.[0]?.length ?? 0,
          multiHot[0]?.[0]?.[0]?.length ?? 0,
        ];
  if (shape.length !== 4 || shape[1] !== shape[2])
    return E.left(batchError(-1, 'multiHot', `expected shape [b, e, e, r], got [${shape.join(', ')}]`));
  const [b, e, , r] = shape as [number, number, number, number];
  if (r !== schema.size)
    return E.left(batchError(-1, 'multiHot', `expected r = ${schema.size} classes, got ${r}`));
  if (titles.length !== b || entityCounts.length !== b)
    return E.left(
      batchError(
        -1,
        'titles',
        `expected ${b} titles and entity counts, got ${titles.length} and ${entityCounts.length}`,
      ),
    );
  const bad = entityCounts.findIndex((c) => !Number.isInteger(c) || c < 0 || c > e);
  if (bad >= 0)
    return E.left(
      batchError(bad, 'entityCounts', `expected an integer in [0, ${e}], got ${entityCounts[bad]}`),
    );
  const values = multiHot instanceof tf.Tensor ? multiHot.dataSync() : (multiHot as number[][][][]).flat(3);
  const out: OfficialTriple[] = [];
  for (let i = 0; i < b; i++)
    for (let s = 0; s < entityCounts[i]!; s++)
      for (let o = 0; o < entityCounts[i]!; o++) {
        if (s === o) continue;
        const base = ((i * e + s) * e + o) * r; // [b, e, e, r]
        for (let c = 1; c < r; c++)
          if (values[base + c]! > 0.5) out.push({ title: titles[i]!, h_idx: s, t_idx: o, r: schema.idOf(c) });
      }
  return E.right(out);
}
