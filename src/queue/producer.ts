/**
 * The producer: a stream of input records → jobs of `jobSize` documents on a BullMQ queue, each
 * under the deterministic id `run-000042` (`jobId`), with retries and exponential backoff. A job
 * id that already exists is not added again (BullMQ ignores a duplicate id; we count them first to
 * report it), so enqueueing the same file twice, or again after a crash half-way, adds only what
 * is missing. The run's size is written last (`writeRunMeta`): `collect` knows the run is whole.
 */
import type { Queue } from 'bullmq';
import type { BadRecord, InputRecord } from '../extract/types.js';
import { readRunMeta, writeRunMeta } from './connection.js';
import { jobId, jobsOf, type JobData } from './run.js';

export interface EnqueueOptions {
  readonly run: string;
  /** the input file (recorded in the run's metadata) */
  readonly file: string;
  /** the file's content hash (`runIdOf`): a run id already used for other content is refused */
  readonly digest: string;
  /** documents per job */
  readonly jobSize: number;
  /** tries per job before it goes to the failed set (default 3) */
  readonly attempts?: number;
  /** first retry delay, doubled at each retry (default 1000 ms) */
  readonly backoffMs?: number;
  /** jobs per Redis round trip (default 50) */
  readonly batch?: number;
}

export interface EnqueueReport {
  readonly run: string;
  readonly jobs: number;
  /** jobs added now (0 when the run was already enqueued) */
  readonly added: number;
  readonly documents: number;
  /** the unreadable input lines (also kept in their jobs, so collect writes a line for each) */
  readonly bad: readonly BadRecord[];
}

/** Enqueues `records` as the jobs of run `o.run`; idempotent (see the module comment). */
export async function enqueueRun(
  queue: Queue,
  records: AsyncIterable<InputRecord | BadRecord>,
  o: EnqueueOptions,
): Promise<EnqueueReport> {
  const before = await readRunMeta(queue, o.run);
  if (before && (before.digest !== o.digest || before.jobSize !== o.jobSize))
    throw new Error(
      `run '${o.run}' is already on queue '${queue.name}' for other input (${before.file}, ${before.documents} documents in jobs of ${before.jobSize}); pick another --run`,
    );
  const client = await queue.getBackend().client;
  const opts = {
    attempts: o.attempts ?? 3,
    backoff: { type: 'exponential', delay: o.backoffMs ?? 1000 },
    removeOnComplete: false,
    removeOnFail: false,
  } as const;
  const bad: BadRecord[] = [];
  let jobs = 0;
  let added = 0;
  let documents = 0;
  let pending: JobData[] = [];
  const flush = async () => {
    const ids = pending.map((d) => jobId(d.run, d.index));
    const exists = await Promise.all(ids.map((id) => client.hexists(queue.toKey(id), 'data')));
    const fresh = pending.filter((_, i) => exists[i] === 0);
    if (fresh.length > 0)
      await queue.addBulk(
        fresh.map((data) => ({
          name: 'extract',
          data,
          opts: { ...opts, jobId: jobId(data.run, data.index) },
        })),
      );
    added += fresh.length;
    pending = [];
  };
  for await (const records_ of jobsOf(records, o.jobSize)) {
    for (const r of records_) if (r.kind === 'bad') bad.push(r);
    documents += records_.length;
    pending.push({ run: o.run, index: jobs++, records: records_ });
    if (pending.length >= (o.batch ?? 50)) await flush();
  }
  if (pending.length > 0) await flush();
  await writeRunMeta(queue, {
    run: o.run,
    file: o.file,
    digest: o.digest,
    documents,
    bad: bad.length,
    jobs,
    jobSize: o.jobSize,
    created: before?.created ?? Date.now(),
  });
  return { run: o.run, jobs, added, documents, bad };
}
