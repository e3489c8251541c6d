/**
 * A run of distributed extraction, as pure data: the run id (a hash of the input file unless the
 * user names it), the deterministic job ids (run id + job index, so enqueueing twice adds nothing),
 * what a job carries (its documents, unreadable lines included, in input order) and what it
 * returns (one `ExtractResult` per document, the same order). Everything that touches Redis is in
 * `./producer.ts`, `./worker.ts` and `./collect.ts`.
 */
import { createHash } from 'node:crypto';
import type { BadRecord, ExtractResult, InputRecord } from '../extract/types.js';

/** What a worker calls on a job's readable documents: one result per record, the same order. */
export type JobProcessor = (records: readonly InputRecord[]) => Promise<ExtractResult[]>;

/** One job: `records` are `job-size` consecutive documents of the input, bad lines included. */
export interface JobData {
  readonly run: string;
  readonly index: number;
  readonly records: readonly (InputRecord | BadRecord)[];
}

/** A job's return value (stored by BullMQ in the job, atomically with its move to `completed`). */
export interface JobResult {
  readonly results: readonly ExtractResult[];
  /** time in the processor (the model), ms */
  readonly modelMs: number;
  /** the worker that completed it (`host:pid`) */
  readonly worker: string;
}

/** What the producer records about a run (a Redis hash next to the queue's keys). */
export interface RunMeta {
  readonly run: string;
  readonly file: string;
  /** the input's content hash (`runIdOf`) */
  readonly digest: string;
  readonly documents: number;
  readonly bad: number;
  readonly jobs: number;
  readonly jobSize: number;
  /** ms since the epoch */
  readonly created: number;
}

/** Default documents per job: Redis round trips (≈ 1 ms) under 1 % of the model time (see docs/queue.md). */
export const DEFAULT_JOB_SIZE = 20;

/** The run id of an input file: the first 16 hex digits of the SHA-256 of its bytes. */
export function runIdOf(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** A `--run` name: letters, digits, `.`, `_`, `-` (BullMQ job ids may not contain `:`). */
export function checkRunId(run: string): string | undefined {
  return /^[A-Za-z0-9._-]{1,64}$/.test(run)
    ? undefined
    : `run id '${run}' must be 1–64 letters, digits, '.', '_' or '-'`;
}

/** The id of job `index` of `run` (zero-padded so that ids sort in input order). */
export function jobId(run: string, index: number): string {
  return `${run}-${String(index).padStart(6, '0')}`;
}

/** Groups a stream of records into jobs of `size` consecutive records (the last may be shorter). */
export async function* jobsOf<R>(records: AsyncIterable<R> | Iterable<R>, size: number): AsyncGenerator<R[]> {
  let job: R[] = [];
  for await (const r of records) {
    job.push(r);
    if (job.length === size) {
      yield job;
      job = [];
    }
  }
  if (job.length > 0) yield job;
}

/** The output line of an input line that could not be read. */
export function badResult(b: BadRecord): ExtractResult {
  return { id: b.id ?? `line-${b.line}`, line: b.line, entities: [], triples: [], error: b.error };
}

/**
 * Runs `processor` on a job's readable records, `slice` at a time, and returns one result per
 * record of the job, in order: bad lines become error results, never dropped. Throws when the processor breaks its
 * contract (a result count or an id that does not match), so the job is retried, not half-written.
 */
export async function processJob(
  data: JobData,
  processor: JobProcessor,
  slice = Infinity,
): Promise<{ results: ExtractResult[]; modelMs: number }> {
  const good = data.records.filter((r): r is InputRecord => r.kind !== 'bad');
  const t0 = performance.now();
  const out: ExtractResult[] = [];
  for (let i = 0; i < good.length; i += slice) {
    out.push(...(await processor(good.slice(i, i + slice))));
    // a processor in this thread that computes synchronously (a model on cpu / wasm: see
    // ./model-thread.ts) starves BullMQ's lock renewal; between slices the event loop gets a turn
    await new Promise((resolve) => setImmediate(resolve));
  }
  const modelMs = performance.now() - t0;
  if (out.length !== good.length)
    throw new Error(`job ${jobId(data.run, data.index)}: ${out.length} results for ${good.length} documents`);
  let k = 0;
  const results = data.records.map((r) => {
    if (r.kind === 'bad') return badResult(r);
    const res = out[k++]!;
    if (res.id !== r.id)
      throw new Error(
        `job ${jobId(data.run, data.index)}: result '${res.id}' where document '${r.id}' was expected`,
      );
    return res.line === undefined ? { ...res, line: r.line } : res;
  });
  return { results, modelMs };
}

/** The output lines of a job that failed for good: every document with the job's reason. */
export function failedResults(data: JobData, reason: string, attempts: number): ExtractResult[] {
  const why = `job ${jobId(data.run, data.index)} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${reason}`;
  return data.records.map((r) =>
    r.kind === 'bad' ? badResult(r) : { id: r.id, line: r.line, entities: [], triples: [], error: why },
  );
}
