/**
 * Predicted entities ↔ gold entities of the same words, for scoring with predicted entities: mention
 * spans are compared exactly (same sentence, same word span), and entities are matched one to one.
 *
 * An entity pair's score is the number of mention spans the two share. Pairs are taken greedily,
 * highest score first (ties: lower predicted index, then lower gold index), each predicted and each
 * gold entity at most once; a pair needs at least one shared span (`strict`: identical span sets).
 * A relation predicted between predicted entities h and t is then the gold fact (align[h],
 * align[t], r) when both are aligned, and a wrong prediction otherwise.
 *
 * @example
 * const align = alignEntities(recognizeDocumentEntities(gold), gold);
 * align[0]; // the gold entity index of predicted entity 0, or undefined
 */
import type { DocREDDocument, Mention } from '../data/docred.js';

export interface AlignOptions {
  /** Align only entities whose mention spans are exactly the same set. Default false. */
  strict?: boolean;
}

/** `sent:start:end` of a mention: two mentions match when their keys are equal. */
export const spanKey = (m: Mention): string => `${m.sent_id}:${m.pos[0]}:${m.pos[1]}`;

/** predicted entity index → gold entity index (or undefined), both documents over the same words. */
export function alignEntities(
  predicted: DocREDDocument,
  gold: DocREDDocument,
  options: AlignOptions = {},
): (number | undefined)[] {
  const goldOf = new Map<string, number[]>(); // span → gold entities with a mention there
  gold.vertexSet.forEach((e, g) => {
    for (const m of e) {
      const list = goldOf.get(spanKey(m)) ?? [];
      if (!list.includes(g)) list.push(g);
      goldOf.set(spanKey(m), list);
    }
  });
  const pairs: { p: number; g: number; score: number }[] = [];
  predicted.vertexSet.forEach((e, p) => {
    const shared = new Map<number, number>();
    for (const key of new Set(e.map(spanKey)))
      for (const g of goldOf.get(key) ?? []) shared.set(g, (shared.get(g) ?? 0) + 1);
    for (const [g, score] of shared) {
      if (options.strict) {
        const mine = new Set(e.map(spanKey));
        const theirs = new Set(gold.vertexSet[g]!.map(spanKey));
        if (mine.size !== theirs.size || score !== mine.size) continue;
      }
      pairs.push({ p, g, score });
    }
  });
  pairs.sort((a, b) => b.score - a.score || a.p - b.p || a.g - b.g);
  const out: (number | undefined)[] = predicted.vertexSet.map(() => undefined);
  const used = new Set<number>();
  for (const { p, g } of pairs) {
    if (out[p] !== undefined || used.has(g)) continue;
    out[p] = g;
    used.add(g);
  }
  return out;
}
