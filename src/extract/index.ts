/**
 * Raw text (or DocRED documents) to relation triples: `extract(input, options)`, the streaming
 * record reader shared by `docre-kit extract` / `queue` / `worker`, and the result types.
 */
import type { DocREDDocument } from '../data/docred.js';
import { Extractor, type ExtractorOptions } from './extractor.js';
import type { ExtractResult, InputRecord } from './types.js';

export * from './types.js';
export { Extractor, shippedModelDir, type ExtractorOptions } from './extractor.js';
export { readRecords, recordOf, detectFormat, INPUT_FORMATS, type InputFormat } from './records.js';

const loaded = new Map<string, Promise<Extractor>>();

/**
 * Extracts entities and relations: a text, a list of texts, or DocRED documents (their own
 * entities). The model (default: the shipped one) is loaded once per `modelDir` and reused.
 *
 * @example
 * const [doc] = await extract('Angela Merkel was born in Hamburg. She led Germany from 2005 to 2021.');
 * for (const t of doc.triples) console.log(doc.entities[t.head].name, t.relationName, doc.entities[t.tail].name);
 */
export async function extract(
  input: string | readonly string[] | readonly DocREDDocument[],
  options: ExtractorOptions = {},
): Promise<ExtractResult[]> {
  const items: readonly (string | DocREDDocument)[] = typeof input === 'string' ? [input] : input;
  const records: InputRecord[] = items.map((x, i) =>
    typeof x === 'string'
      ? { kind: 'text', line: i + 1, id: `doc-${i + 1}`, text: x }
      : { kind: 'docred', line: i + 1, id: x.title, doc: x },
  );
  const key = JSON.stringify(options);
  let ex = loaded.get(key);
  if (!ex) {
    ex = Extractor.load(options);
    loaded.set(key, ex);
    ex.catch(() => loaded.delete(key));
  }
  return (await ex).extract(records);
}
