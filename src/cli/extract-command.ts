/**
 * `docre-kit extract`: documents in (a text, a text file, or a file of many documents), entities
 * and triples out — a JSONL file (one line per input document, in input order) or a readable
 * table on stdout.
 *
 * Streaming: records are read one batch at a time and each result line is appended as soon as
 * its batch is done, so memory does not grow with the number of documents and a killed run loses
 * at most the batch in flight. `--resume` reads the ids and line numbers already in `--output`
 * (dropping a torn last line) and skips those documents. A bad input line is reported on stderr
 * with its location and written as a line with `error`; `--strict` stops at the first one.
 */
import { createReadStream } from 'node:fs';
import { appendFile, readFile, stat, truncate } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Extractor } from '../extract/extractor.js';
import { readRecords, type InputFormat } from '../extract/records.js';
import type { BadRecord, ExtractResult, InputRecord } from '../extract/types.js';
import { ProgressReporter } from '../train/progress.js';
import { CliError, UsageError, type ParsedOptions } from './args.js';
import type { CliIO } from './args.js';
import { checkFile } from '../run/pipeline.js';

export async function extractCommand(o: ParsedOptions<'extract'>, io: CliIO): Promise<void> {
  const sources = (['text', 'file', 'input'] as const).filter((k) => o[k] !== undefined);
  if (sources.length !== 1)
    throw new UsageError(`give exactly one of --text, --file, --input (got ${sources.map((k) => `--${k}`).join(', ') || 'none'})`);
  if (o.resume && !o.output) throw new UsageError('--resume needs --output FILE');
  if (o.input) await checkFile(o.input, '--input', 'file');
  if (o.file) await checkFile(o.file, '--file', 'file');
  if (o['model-dir']) await checkFile(o['model-dir'], '--model-dir', 'directory');

  const done = o.resume && o.output ? await alreadyWritten(o.output) : new Set<number>();
  const total = o.input ? await countDocuments(o.input, o.format) : 1;
  const extractor = await Extractor.load({
    ...(o['model-dir'] ? { modelDir: o['model-dir'] } : {}),
    backend: o.backend,
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.entities ? { entities: o.entities } : {}),
    threshold: o.threshold,
    ...(o['top-k'] ? { topK: o['top-k'] } : {}),
    batchSize: o['batch-size'],
  });
  const progress =
    o.input && !o.quiet ? new ProgressReporter(total, { stream: io.stderr, label: 'documents', unit: 'docs/s' }) : undefined;
  if (done.size > 0) io.stderr.write(`resuming: ${done.size} documents already in ${o.output}\n`);

  const t0 = Date.now();
  let seen = 0;
  let written = 0;
  let triples = 0;
  let errors = 0;
  const emit = async (results: readonly ExtractResult[]) => {
    for (const r of results) {
      if (r.error) {
        errors++;
        io.stderr.write(`${r.error}\n`);
        if (o.strict) throw new CliError(`${r.error} (--strict)`);
      }
      triples += r.triples.length;
      written++;
    }
    if (o.output) await appendFile(o.output, results.map((r) => JSON.stringify(r) + '\n').join(''));
    else io.stdout.write(results.map((r) => readable(r)).join(''));
  };
  try {
    let batch: (InputRecord | BadRecord)[] = [];
    for await (const r of records(o)) {
      seen++;
      if (done.has(r.line)) {
        progress?.update(seen);
        continue;
      }
      if (o.strict && r.kind === 'bad') throw new CliError(`${r.error} (--strict)`);
      batch.push(r);
      if (batch.length >= o['batch-size']) {
        await emit(await extractor.extract(batch));
        progress?.update(seen);
        batch = [];
      }
    }
    if (batch.length > 0) await emit(await extractor.extract(batch));
    progress?.update(seen);
    progress?.done();
  } finally {
    extractor.dispose();
  }
  const seconds = (Date.now() - t0) / 1000;
  if (o.input || o.output)
    io.stderr.write(
      `${written} documents${done.size ? ` (+${done.size} resumed)` : ''}, ${triples} triples, ${errors} with errors, ` +
        `${(written / Math.max(seconds, 1e-3)).toFixed(2)} docs/s${o.output ? ` → ${o.output}` : ''}\n`,
    );
}

/** The records of the chosen source. */
async function* records(o: ParsedOptions<'extract'>): AsyncGenerator<InputRecord | BadRecord> {
  if (o.text !== undefined) yield { kind: 'text', line: 1, id: 'text', text: o.text };
  else if (o.file !== undefined) yield { kind: 'text', line: 1, id: o.file, text: await readFile(o.file, 'utf8') };
  else yield* readRecords(o.input!, { format: o.format as InputFormat });
}

/** Documents in `file` (one streaming pass; blank lines are not documents). */
async function countDocuments(file: string, format: string): Promise<number> {
  let n = 0;
  for await (const _ of readRecords(file, { format: format as InputFormat })) n++;
  return n;
}

/**
 * Input lines already in an output JSONL (`--resume`). A torn last line (the run was killed while
 * writing it) is cut off so that the file stays valid JSONL.
 */
async function alreadyWritten(output: string): Promise<Set<number>> {
  const lines = new Set<number>();
  try {
    await stat(output);
  } catch {
    return lines;
  }
  let good = 0; // bytes of complete, valid lines
  let n = 0;
  const rl = createInterface({ input: createReadStream(output, { encoding: 'utf8' }), crlfDelay: Infinity });
  let torn = false;
  for await (const raw of rl) {
    n++;
    if (torn) throw new CliError(`${output}:${n - 1}: not a JSON line (cannot --resume from a damaged file)`);
    try {
      const r = JSON.parse(raw) as ExtractResult;
      if (typeof r.line !== 'number') throw new Error('no "line" field');
      lines.add(r.line);
      good += Buffer.byteLength(raw, 'utf8') + 1;
    } catch {
      torn = true; // only the last line may be torn
    }
  }
  if (torn) await truncate(output, good);
  return lines;
}

/** A result as a few readable lines. */
export function readable(r: ExtractResult): string {
  if (r.error) return `${r.id}: error: ${r.error}\n`;
  const ents = r.entities.map((e) => `${e.name} (${e.type})`).join(', ');
  const lines = [`${r.id}: ${r.entities.length} entities: ${ents || '—'}`];
  if (r.triples.length === 0) lines.push('  no relations found');
  for (const t of r.triples)
    lines.push(
      `  ${r.entities[t.head]!.name} —${t.relationName} (${t.relation})→ ${r.entities[t.tail]!.name}   score ${t.score.toFixed(2)}`,
    );
  return lines.join('\n') + '\n';
}
