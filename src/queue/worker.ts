/**
 * The worker: a BullMQ `Worker` whose processor runs a `JobProcessor` (the model, loaded once by
 * the caller) on each job's documents and returns them as the job's return value. BullMQ writes
 * that value in the same Lua script that checks the job's lock and moves it to `completed`, so a
 * job has one result even when it ran twice (a worker that lost its lock — killed, frozen, cut
 * off from Redis — cannot complete it; the stalled-job check hands it to another worker).
 * Failures are retried with the backoff the producer set; the last one leaves the job in the
 * failed set with its reason. `stop()` finishes the jobs in flight; `stop(true)` abandons them to
 * the stalled-job check (they run again elsewhere after `lockMs`).
 */
import * as os from 'node:os';
import { Worker, type Job } from 'bullmq';
import { connectionOf, checkRedis, type QueueAddress } from './connection.js';
import { processJob, type JobData, type JobProcessor, type JobResult } from './run.js';

export interface WorkerOptions {
  /** jobs in flight at once (default 1) */
  readonly concurrency?: number;
  /** how long a job's lock lives without renewal: a dead worker's job restarts after this (default 30000 ms) */
  readonly lockMs?: number;
  /** how often this worker looks for stalled jobs (default 30000 ms) */
  readonly stalledMs?: number;
  /** times a job may stall (its worker died) before it fails (default 2) */
  readonly maxStalled?: number;
  /** progress lines (e.g. to stderr) */
  readonly log?: (line: string) => void;
  /** the worker's name in logs and results (default `host:pid`) */
  readonly name?: string;
}

export interface WorkerStats {
  jobs: number;
  documents: number;
  failures: number;
}

export interface RunningWorker {
  readonly name: string;
  readonly stats: Readonly<WorkerStats>;
  /** ids of the jobs in flight */
  readonly active: ReadonlySet<string>;
  /** Stops taking jobs; resolves when the jobs in flight are done (`force`: abandoned). */
  stop(force?: boolean): Promise<void>;
}

const secs = (ms: number) => (ms / 1000).toFixed(2);

/** Connects to the queue at `a` (after a reachability check) and starts processing jobs. */
export async function startWorker(
  a: QueueAddress,
  processor: JobProcessor,
  o: WorkerOptions = {},
): Promise<RunningWorker> {
  await checkRedis(a.redis);
  const name = o.name ?? `${os.hostname()}:${process.pid}`;
  const log = o.log ?? (() => {});
  const stats: WorkerStats = { jobs: 0, documents: 0, failures: 0 };
  const active = new Set<string>();
  const lockMs = o.lockMs ?? 30000;
  const worker = new Worker<JobData, JobResult>(
    a.queue,
    async (job: Job<JobData, JobResult>) => {
      const id = job.id!;
      const n = job.data.records.length;
      active.add(id);
      log(`job ${id}: ${n} documents (attempt ${job.attemptsMade + 1}, start ${job.attemptsStarted})`);
      const t0 = performance.now();
      try {
        const { results, modelMs } = await processJob(job.data, processor);
        const ms = performance.now() - t0;
        stats.jobs++;
        stats.documents += n;
        log(
          `job ${id} done: ${n} documents in ${secs(ms)} s (model ${secs(modelMs)} s), ${((1000 * n) / ms).toFixed(1)} documents/s`,
        );
        return { results, modelMs, worker: name };
      } finally {
        active.delete(id);
      }
    },
    {
      connection: connectionOf(a.redis),
      ...(a.prefix ? { prefix: a.prefix } : {}),
      concurrency: o.concurrency ?? 1,
      lockDuration: lockMs,
      stalledInterval: o.stalledMs ?? 30000,
      maxStalledCount: o.maxStalled ?? 2,
      name,
    },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    stats.failures++;
    const tries = job.opts.attempts ?? 1;
    const final = job.attemptsMade >= tries;
    log(
      `job ${job.id} failed (attempt ${job.attemptsMade} of ${tries}${final ? ', to the failed set' : ', retried later'}): ${err.message}`,
    );
  });
  worker.on('stalled', (id) =>
    log(`job ${id} stalled (its worker stopped renewing the lock): back in the queue`),
  );
  let lastError = 0;
  worker.on('error', (err) => {
    if (Date.now() - lastError < 5000) return; // one line per outage, not one per retry
    lastError = Date.now();
    log(`Redis ${a.redis}: ${err.message} (retrying)`);
  });
  await worker.waitUntilReady();
  return {
    name,
    stats,
    active,
    stop: async (force = false) => {
      await worker.close(force);
    },
  };
}
