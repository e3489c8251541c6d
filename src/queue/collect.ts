/**
 * The consumer side of a run: its progress (the state of each of its jobs, as BullMQ keeps them),
 * and the merge of its results into one JSONL in input order — job 0's documents, job 1's, …, one
 * line per input document: the model's result, the error of an unreadable line, or the reason of
 * a job that failed for good.
 */
import type { Job, JobState, Queue } from 'bullmq';
import type { ExtractResult } from '../extract/types.js';
import { readRunMeta, runKey } from './connection.js';
import { failedResults, jobId, type JobData, type JobResult, type RunMeta } from './run.js';

export type RunCounts = Record<JobState | 'unknown', number>;

export interface RunStatus {
  readonly meta: RunMeta;
  /** the run's jobs by state */
  readonly counts: RunCounts;
  /** completed + failed */
  readonly finished: number;
}

const STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'completed',
  'failed',
  'unknown',
] as const;

/** Runs `f` over `xs` with at most `width` calls in flight (results in order). */
async function mapWindow<A, B>(xs: readonly A[], width: number, f: (x: A) => Promise<B>): Promise<B[]> {
  const out: B[] = [];
  for (let i = 0; i < xs.length; i += width) out.push(...(await Promise.all(xs.slice(i, i + width).map(f))));
  return out;
}

/** The progress of `run` (undefined when the producer has not finished enqueueing it). */
export async function runStatus(queue: Queue, run: string): Promise<RunStatus | undefined> {
  const meta = await readRunMeta(queue, run);
  if (!meta) return undefined;
  const ids = Array.from({ length: meta.jobs }, (_, i) => jobId(run, i));
  const states = await mapWindow(ids, 256, (id) => queue.getJobState(id));
  const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as RunCounts;
  for (const s of states) counts[s]++;
  return { meta, counts, finished: counts.completed + counts.failed };
}

/** One line: `run R: 88/100 jobs finished (86 completed, 2 failed), 10 waiting, 2 active, 0 delayed`. */
export function statusLine(s: RunStatus): string {
  const c = s.counts;
  const waiting = c.waiting + c.prioritized + c['waiting-children'];
  const missing = c.unknown > 0 ? `, ${c.unknown} missing` : '';
  return (
    `run ${s.meta.run}: ${s.finished}/${s.meta.jobs} jobs finished (${c.completed} completed, ${c.failed} failed), ` +
    `${waiting} waiting, ${c.active} active, ${c.delayed} delayed${missing}`
  );
}

export interface CollectSummary {
  readonly run: string;
  readonly documents: number;
  readonly jobs: number;
  readonly completed: number;
  readonly failed: number;
  /** jobs started more than once (a failure retried, or a stalled job restarted elsewhere) */
  readonly retried: number;
  /** documents whose line carries an error (unreadable, failed in the model, or in a failed job) */
  readonly errors: number;
  /** first job start → last job end, s */
  readonly seconds: number;
  /** sum of the jobs' model time, s */
  readonly modelSeconds: number;
  /** which worker completed how many jobs */
  readonly workers: Readonly<Record<string, number>>;
}

/**
 * Writes every document's result of a finished run to `write`, in input order, and returns the
 * summary. Throws when a job is missing or its result does not cover its documents.
 */
export async function collectRun(
  queue: Queue,
  meta: RunMeta,
  write: (line: string) => void | Promise<void>,
): Promise<CollectSummary> {
  let documents = 0;
  let completed = 0;
  let failed = 0;
  let retried = 0;
  let errors = 0;
  let modelMs = 0;
  let first = Infinity;
  let last = -Infinity;
  const workers: Record<string, number> = {};
  const ids = Array.from({ length: meta.jobs }, (_, i) => jobId(meta.run, i));
  for (let i = 0; i < ids.length; i += 32) {
    const jobs = await Promise.all(
      ids.slice(i, i + 32).map((id) => queue.getJob(id) as Promise<Job<JobData, JobResult> | undefined>),
    );
    for (const [k, job] of jobs.entries()) {
      const id = ids[i + k]!;
      if (!job) throw new Error(`run ${meta.run}: job ${id} is not on queue '${queue.name}' (removed?)`);
      const state = await job.getState();
      let results: readonly ExtractResult[];
      if (state === 'completed') {
        completed++;
        results = job.returnvalue.results;
        modelMs += job.returnvalue.modelMs;
        workers[job.returnvalue.worker] = (workers[job.returnvalue.worker] ?? 0) + 1;
      } else if (state === 'failed') {
        failed++;
        results = failedResults(job.data, job.failedReason, job.attemptsMade);
      } else throw new Error(`run ${meta.run}: job ${id} is ${state}, not finished`);
      if (results.length !== job.data.records.length)
        throw new Error(
          `run ${meta.run}: job ${id} has ${results.length} results for ${job.data.records.length} documents`,
        );
      if ((job.attemptsStarted ?? 1) > 1) retried++;
      if (job.processedOn !== undefined) first = Math.min(first, job.processedOn);
      if (job.finishedOn !== undefined) last = Math.max(last, job.finishedOn);
      for (const r of results) {
        if (r.error !== undefined) errors++;
        await write(JSON.stringify(r) + '\n');
      }
      documents += results.length;
    }
  }
  if (documents !== meta.documents)
    throw new Error(`run ${meta.run}: ${documents} results for ${meta.documents} input documents`);
  const seconds = Number.isFinite(first) && last > first ? (last - first) / 1000 : 0;
  return {
    run: meta.run,
    documents,
    jobs: meta.jobs,
    completed,
    failed,
    retried,
    errors,
    seconds,
    modelSeconds: modelMs / 1000,
    workers,
  };
}

/** `2000 documents, 100 jobs: 100 done, 0 failed, 3 retried; 5 documents with errors; 41.2 s, 48.5 documents/s`. */
export function summaryLine(s: CollectSummary): string {
  const rate = s.seconds > 0 ? `${(s.documents / s.seconds).toFixed(1)} documents/s` : 'n/a documents/s';
  const workers = Object.entries(s.workers)
    .map(([w, n]) => `${w} ${n}`)
    .join(', ');
  return (
    `run ${s.run}: ${s.documents} documents, ${s.jobs} jobs: ${s.completed} done, ${s.failed} failed, ${s.retried} retried; ` +
    `${s.errors} documents with errors; ${s.seconds.toFixed(1)} s, ${rate} (model ${s.modelSeconds.toFixed(1)} s; jobs by worker: ${workers || 'none'})`
  );
}

/** Removes a collected run's jobs and metadata from the queue (frees Redis memory). */
export async function removeRun(queue: Queue, meta: RunMeta): Promise<void> {
  const ids = Array.from({ length: meta.jobs }, (_, i) => jobId(meta.run, i));
  await mapWindow(ids, 256, (id) => queue.remove(id));
  const client = await queue.getBackend().client;
  await client.del(runKey(queue, meta.run));
}
