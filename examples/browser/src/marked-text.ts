/**
 * Plain text with marked entity mentions → one DocRED document.
 *
 * Format (one sentence per line; a line may hold several sentences ending in `.`, `!` or `?`):
 *
 *     [Anthony Steel|PER] was an English actor .
 *     [He|PER|Anthony Steel] was born in [Chelsea|LOC] , [London|LOC] .
 *
 * A mention is `[words]`, `[words|TYPE]` or `[words|TYPE|entity]`. Mentions with the same entity
 * key are one entity; the key defaults to the words, so repeated names corefer and a pronoun joins
 * an entity by naming it. An entity's type is its first mention's (default `MISC`). Words are split
 * at spaces and punctuation, as DocRED's `sents` are. Sentence ends inside a mention do not split it.
 *
 * Total: returns `{ doc }` or `{ error }` with a message naming the line and column.
 */
import type { DocREDDocument, Mention } from 'docre-kit';

export type MarkedTextResult = { readonly doc: DocREDDocument } | { readonly error: string };

const MENTION = /\[([^[\]]*)\]/g;
const WORD = /[\p{L}\p{N}]+(?:['’.\-&][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu;
const SENTENCE_END = new Set(['.', '!', '?']);

/** Line and column (1-based) of offset `i` in `text`. */
function where(text: string, i: number): string {
  const before = text.slice(0, i).split('\n');
  return `line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
}

const words = (s: string): string[] => s.match(WORD) ?? [];

/**
 * @example
 * const r = parseMarkedText('[Paris|LOC] is the capital of [France|LOC] .');
 * if ('doc' in r) r.doc.vertexSet.length; // 2
 */
export function parseMarkedText(text: string, title = 'marked text'): MarkedTextResult {
  const sents: string[][] = [[]];
  const entities = new Map<string, { type: string; mentions: Mention[] }>();
  const cur = () => sents[sents.length - 1]!;
  const endSentence = () => {
    if (cur().length > 0) sents.push([]);
  };
  const addPlain = (s: string) => {
    for (const line of s.split('\n').map((l, i) => [l, i] as const)) {
      if (line[1] > 0) endSentence();
      for (const w of words(line[0])) {
        cur().push(w);
        if (SENTENCE_END.has(w)) endSentence();
      }
    }
  };
  let last = 0;
  for (const m of text.matchAll(MENTION)) {
    const at = m.index;
    const stray = /[[\]]/.exec(text.slice(last, at));
    if (stray) return { error: `unbalanced '${stray[0]}' at ${where(text, last + stray.index)}` };
    addPlain(text.slice(last, at));
    last = at + m[0].length;
    const parts = m[1]!.split('|').map((p) => p.trim());
    if (parts.length > 3)
      return {
        error: `mention ${m[0]} at ${where(text, at)}: expected [words], [words|TYPE] or [words|TYPE|entity]`,
      };
    const [surface = '', type = '', key = ''] = parts;
    if (surface.includes('\n'))
      return {
        error: `mention ${JSON.stringify(m[0])} at ${where(text, at)} is outside its sentence: it spans a line break`,
      };
    const ws = words(surface);
    if (ws.length === 0) return { error: `empty mention ${m[0]} at ${where(text, at)}` };
    const sentence = cur();
    const mention: Mention = {
      name: surface,
      pos: [sentence.length, sentence.length + ws.length],
      sent_id: sents.length - 1,
      type: type || 'MISC',
    };
    sentence.push(...ws);
    const id = key || surface;
    const entity = entities.get(id);
    if (entity) entity.mentions.push({ ...mention, type: entity.type });
    else entities.set(id, { type: mention.type, mentions: [mention] });
  }
  const stray = /[[\]]/.exec(text.slice(last));
  if (stray) return { error: `unbalanced '${stray[0]}' at ${where(text, last + stray.index)}` };
  addPlain(text.slice(last));
  if (cur().length === 0) sents.pop();
  if (entities.size < 2)
    return {
      error: `found ${entities.size} marked entit${entities.size === 1 ? 'y' : 'ies'}; mark at least two, e.g. [Paris|LOC] is in [France|LOC] .`,
    };
  return { doc: { title, sents, vertexSet: [...entities.values()].map((e) => e.mentions) } };
}
