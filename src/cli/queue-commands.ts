/**
 * The distributed-extraction subcommands on a BullMQ queue in Redis (`src/queue/`):
 * `queue` (enqueue a file: prints the run id), `worker` (runs jobs until SIGTERM), `collect`
 * (one JSONL in input order, one line per input document) and `status` (a run's progress).
 * Redis is checked first: when it is not there, one line naming the URL (exit 1).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { BackendName } from '../core/backend.js';
import type { EntitySource } from '../extract/types.js';
import { checkRedis, openQueue, type QueueAddress } from '../queue/connection.js';
import { enqueueRun } from '../queue/producer.js';
import { startWorker } from '../queue/worker.js';
import {
  collectRun,
  removeRun,
  runStatus,
  statusLine,
  summaryLine,
  type RunStatus,
} from '../queue/collect.js';
import { checkRunId } from '../queue/run.js';
import { CliError, UsageError, type CommandName, type ParsedOptions } from './args.js';
import type { CliIO } from './args.js';
import { checkFile } from '../run/pipeline.js';

export async function runQueueCommand(name: CommandName, opts: unknown, io: CliIO): Promise<void> {
  switch (name) {
    case 'queue':
      return enqueue(opts as ParsedOptions<'queue'>, io);
    case 'worker':
      return work(opts as ParsedOptions<'worker'>, io);
    case 'collect':
      return collect(opts as ParsedOptions<'collect'>, io);
    case 'status':
      return status(opts as ParsedOptions<'status'>, io);
    default:
      throw new Error(`not a queue command: ${name}`);
  }
}

const addressOf = (o: { redis: string; queue: string; prefix: string }): QueueAddress => ({
  redis: o.redis,
  queue: o.queue,
  prefix: o.prefix,
});

/** Opens the queue, turning "Redis is not there" into a `CliError`. */
async function open(a: QueueAddress): Promise<Queue> {
  try {
    return await openQueue(a);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** The run id of a file: the SHA-256 of its bytes (first 16 hex digits), read as a stream. */
async function fileDigest(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex').slice(0, 16);
}

async function enqueue(o: ParsedOptions<'queue'>, io: CliIO): Promise<void> {
  await checkFile(o.input, '--input');
  if (o.run !== undefined) {
    const bad = checkRunId(o.run);
    if (bad) throw new UsageError(`--run: ${bad}`);
  }
  const { readRecords } = await import('../extract/records.js');
  const digest = await fileDigest(o.input);
  const run = o.run ?? digest;
  const queue = await open(addressOf(o));
  try {
    const t0 = performance.now();
    const r = await enqueueRun(queue, readRecords(o.input, { format: o.format }), {
      run,
      file: o.input,
      digest,
      jobSize: o['job-size'],
      attempts: o.attempts,
      backoffMs: o.backoff,
    });
    for (const b of r.bad) io.stderr.write(`bad input, kept as an error line: ${b.error}\n`);
    if (r.documents === 0) throw new CliError(`--input '${o.input}' holds no documents`);
    const ms = performance.now() - t0;
    io.stderr.write(
      `run ${run}: ${r.documents} documents (${r.bad.length} unreadable) in ${r.jobs} jobs of ${o['job-size']} on ${o.redis} queue '${o.queue}': ` +
        `${r.added} added, ${r.jobs - r.added} already there (${(ms / 1000).toFixed(2)} s)\n`,
    );
    io.stdout.write(`${run}\n`);
  } finally {
    await queue.close();
  }
}

async function work(o: ParsedOptions<'worker'>, io: CliIO): Promise<void> {
  if (o['model-dir'] !== undefined) await checkFile(o['model-dir'], '--model-dir', 'directory');
  const log = (line: string) => io.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  try {
    await checkRedis(o.redis); // before the model: a wrong URL fails in milliseconds
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const { startModelThread } = await import('../queue/model-thread.js');
  let model;
  try {
    model = await startModelThread({
      ...(o['model-dir'] !== undefined ? { modelDir: o['model-dir'] } : {}),
      backend: o.backend as BackendName,
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      ...(o.entities !== undefined ? { entities: o.entities as EntitySource } : {}),
    });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const thread = model;
  try {
    log(
      `model loaded in ${(thread.loadMs / 1000).toFixed(1)} s (${o['model-dir'] ?? 'the shipped model'}, ${o.backend}, in a worker thread)`,
    );
    let w;
    try {
      w = await startWorker(addressOf(o), thread.processor, {
        concurrency: o.concurrency,
        lockMs: o['lock-ms'],
        stalledMs: o['stalled-ms'],
        log,
      });
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    const worker = w;
    log(
      `worker ${worker.name}: waiting for jobs on ${o.redis} queue '${o.queue}' (concurrency ${o.concurrency})`,
    );
    await new Promise<void>((resolve) => {
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        const force = signals > 1;
        const n = worker.active.size;
        log(
          force
            ? `${sig} again: abandoning ${n} job(s) in flight (another worker takes them after the lock expires)`
            : `${sig}: finishing ${n} job(s) in flight, then exiting (again: abandon them)`,
        );
        if (signals === 1 || force) void worker.stop(force).then(done);
      };
      const done = () => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    log(
      `worker ${worker.name} stopped: ${worker.stats.jobs} jobs, ${worker.stats.documents} documents, ${worker.stats.failures} failed attempts`,
    );
  } finally {
    await thread.close();
  }
}

/** The run's status, waiting (`--wait`) until every job has finished. */
async function finishedRun(queue: Queue, o: ParsedOptions<'collect'>, io: CliIO): Promise<RunStatus> {
  const t0 = Date.now();
  let lastLog = 0;
  for (;;) {
    let st: RunStatus | undefined;
    try {
      st = await runStatus(queue, o.run);
    } catch (e) {
      if (!o.wait) throw new CliError(`${o.redis}: ${(e as Error).message}`);
      io.stderr.write(`Redis ${o.redis}: ${(e as Error).message} (retrying)\n`);
    }
    if (st && st.finished === st.meta.jobs) return st;
    if (!o.wait)
      throw new CliError(
        st
          ? `${statusLine(st)}: not finished (use --wait)`
          : `run '${o.run}' is not on ${o.redis} queue '${o.queue}' (not enqueued, or still being enqueued)`,
      );
    if (o.timeout > 0 && Date.now() - t0 > o.timeout * 1000)
      throw new CliError(
        `run '${o.run}' not finished after ${o.timeout} s${st ? ` (${statusLine(st)})` : ''}`,
      );
    if (Date.now() - lastLog > 5000) {
      io.stderr.write(`${st ? statusLine(st) : `run ${o.run}: not enqueued yet`}\n`);
      lastLog = Date.now();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function collect(o: ParsedOptions<'collect'>, io: CliIO): Promise<void> {
  const queue = await open(addressOf(o));
  try {
    const st = await finishedRun(queue, o, io);
    const tmp = o.output ? `${o.output}.tmp-${process.pid}` : undefined;
    const out = tmp ? createWriteStream(tmp) : undefined;
    const write = (line: string) =>
      out
        ? new Promise<void>((resolve, reject) =>
            out.write(line) ? resolve() : out.once('drain', resolve).once('error', reject),
          )
        : void io.stdout.write(line);
    let s;
    try {
      s = await collectRun(queue, st.meta, write);
      if (out)
        await new Promise<void>((resolve, reject) =>
          out.end((e?: Error | null) => (e ? reject(e) : resolve())),
        );
    } catch (e) {
      out?.destroy();
      if (tmp) await fs.rm(tmp, { force: true });
      throw new CliError((e as Error).message);
    }
    if (tmp) await fs.rename(tmp, o.output!);
    io.stderr.write(`${summaryLine(s)}${o.output ? ` → ${o.output}` : ''}\n`);
    if (o.remove) {
      await removeRun(queue, st.meta);
      io.stderr.write(`run ${o.run}: ${st.meta.jobs} jobs removed from the queue\n`);
    }
    if (s.failed > 0)
      throw new CliError(
        `run ${o.run}: ${s.failed} of ${s.jobs} jobs failed (their documents' lines carry the reason)`,
      );
  } finally {
    await queue.close();
  }
}

async function status(o: ParsedOptions<'status'>, io: CliIO): Promise<void> {
  const queue = await open(addressOf(o));
  try {
    if (o.run !== undefined) {
      const st = await runStatus(queue, o.run);
      if (!st) throw new CliError(`run '${o.run}' is not on ${o.redis} queue '${o.queue}'`);
      io.stdout.write(`${statusLine(st)}; ${st.meta.documents} documents from ${st.meta.file}\n`);
    }
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    const workers = await queue.getWorkersCount();
    io.stdout.write(
      `queue '${o.queue}' (all runs): ${Object.entries(c)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}; ${workers} worker${workers === 1 ? '' : 's'} connected\n`,
    );
  } finally {
    await queue.close();
  }
}
