/**
 * The queue's logic against a real `redis-server` (started on a free port, see ./redis.ts), with a
 * deterministic processor in this process instead of the model: job ids and run ids, bad lines
 * kept in their job and written in place, idempotent enqueue, retries with backoff, a job that
 * keeps failing ending in the failed set with its reason and one error line per document, and
 * the one-line error when Redis is not there. The model and worker processes are in cli.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Queue } from 'bullmq';
import type { BadRecord, ExtractResult, InputRecord } from '../../src/extract/types.js';
import { checkRedis, openQueue } from '../../src/queue/connection.js';
import { enqueueRun } from '../../src/queue/producer.js';
import { collectRun, runStatus, summaryLine } from '../../src/queue/collect.js';
import { startWorker } from '../../src/queue/worker.js';
import { checkRunId, jobId, jobsOf, processJob, runIdOf, type JobProcessor } from '../../src/queue/run.js';
import { freePort, startRedis, type TestRedis } from './redis.js';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

/** `n` text records, line i+1, with a bad line at each of `badLines`. */
function records(n: number, badLines: readonly number[] = []): (InputRecord | BadRecord)[] {
  return Array.from({ length: n }, (_, i): InputRecord | BadRecord =>
    badLines.includes(i + 1)
      ? { kind: 'bad', line: i + 1, error: `in.jsonl:${i + 1}: not JSON` }
      : { kind: 'text', line: i + 1, id: `doc-${i}`, text: `Document ${i} is in Paris.` },
  );
}

async function* stream<T>(xs: readonly T[]): AsyncGenerator<T> {
  yield* xs;
}

/** The deterministic processor: echoes each document's text (and says which call it was). */
const echo: JobProcessor = async (rs) =>
  rs.map((r) => ({
    id: r.id,
    line: r.line,
    text: r.kind === 'text' ? r.text : r.doc.title,
    entities: [],
    triples: [],
  }));

async function collect(
  queue: Queue,
  run: string,
): Promise<{ lines: ExtractResult[]; summary: ReturnType<typeof collectRun> }> {
  const lines: ExtractResult[] = [];
  const st = await runStatus(queue, run);
  assert.ok(st, `run ${run} has metadata`);
  const summary = collectRun(queue, st.meta, (l) => void lines.push(JSON.parse(l) as ExtractResult));
  await summary;
  return { lines, summary };
}

async function waitFinished(queue: Queue, run: string, timeoutMs = 30000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const st = await runStatus(queue, run);
    if (st && st.finished === st.meta.jobs) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`run ${run} not finished after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('run ids hash the content; job ids sort in input order; --run names are checked', () => {
  assert.equal(runIdOf('a\nb\n'), runIdOf(Buffer.from('a\nb\n')));
  assert.notEqual(runIdOf('a\nb\n'), runIdOf('a\nb\nc\n'));
  assert.match(runIdOf('x'), /^[0-9a-f]{16}$/);
  assert.equal(jobId('r1', 7), 'r1-000007');
  assert.ok(jobId('r', 9) < jobId('r', 10));
  assert.equal(checkRunId('news-2026.12'), undefined);
  assert.match(checkRunId('a:b')!, /run id 'a:b' must be/);
});

test('jobsOf groups a stream into consecutive jobs, the last one shorter', async () => {
  const jobs: number[][] = [];
  for await (const j of jobsOf(stream([1, 2, 3, 4, 5, 6, 7]), 3)) jobs.push(j);
  assert.deepEqual(jobs, [[1, 2, 3], [4, 5, 6], [7]]);
});

test('processJob keeps bad lines in place, slices the job, and rejects a processor that drops or reorders documents', async () => {
  const data = { run: 'r', index: 0, records: records(4, [2]) };
  const calls: number[] = [];
  const { results } = await processJob(data, async (rs) => (calls.push(rs.length), echo(rs)), 2);
  assert.deepEqual(calls, [2, 1]);
  assert.deepEqual(
    results.map((r) => [r.id, r.line, r.error]),
    [
      ['doc-0', 1, undefined],
      ['line-2', 2, 'in.jsonl:2: not JSON'],
      ['doc-2', 3, undefined],
      ['doc-3', 4, undefined],
    ],
  );
  await assert.rejects(
    processJob(data, async (rs) => (await echo(rs)).slice(1), 3),
    /job r-000000: 2 results for 3 documents/,
  );
  await assert.rejects(
    processJob(data, async (rs) => (await echo(rs)).reverse(), 3),
    /result 'doc-3' where document 'doc-0'/,
  );
});

test('enqueue is idempotent: the same run twice adds no job; other content under the same run id is refused', async () => {
  const queue = await openQueue({ redis: redis.url, queue: 'idem' });
  try {
    const rs = records(10, [4]);
    const o = { run: 'r1', file: 'in.jsonl', digest: 'd1', jobSize: 3 };
    const first = await enqueueRun(queue, stream(rs), o);
    assert.deepEqual(
      [first.jobs, first.added, first.documents, first.bad.map((b) => b.line)],
      [4, 4, 10, [4]],
    );
    const again = await enqueueRun(queue, stream(rs), o);
    assert.deepEqual([again.jobs, again.added], [4, 0]);
    assert.equal((await queue.getJobCounts()).waiting, 4);
    await assert.rejects(
      enqueueRun(queue, stream(records(5)), { ...o, digest: 'd2' }),
      /run 'r1' is already on queue 'idem' for other input \(in\.jsonl, 10 documents in jobs of 3\)/,
    );
    // the whole run, processed and merged: one line per input line, in order
    const w = await startWorker({ redis: redis.url, queue: 'idem' }, echo, { concurrency: 2 });
    await waitFinished(queue, 'r1');
    await w.stop();
    const { lines, summary } = await collect(queue, 'r1');
    assert.deepEqual(
      lines.map((l) => l.line),
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    assert.equal(lines[3]!.error, 'in.jsonl:4: not JSON');
    assert.equal(lines[9]!.text, 'Document 9 is in Paris.');
    const s = await summary;
    assert.deepEqual([s.documents, s.completed, s.failed, s.retried, s.errors], [10, 4, 0, 0, 1]);
    assert.match(
      summaryLine(s),
      /10 documents, 4 jobs: 4 done, 0 failed, 0 retried; 1 documents with errors/,
    );
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
});

test('a failing job is retried with backoff; one that keeps failing goes to the failed set with its reason', async () => {
  const queue = await openQueue({ redis: redis.url, queue: 'retry' });
  const calls = new Map<string, number[]>();
  // doc-3 (job 1) fails twice then works; doc-6 (job 2) always fails
  const flaky: JobProcessor = async (rs) => {
    const first = rs[0]!.id;
    const times = calls.get(first) ?? [];
    times.push(Date.now());
    calls.set(first, times);
    if (first === 'doc-3' && times.length <= 2) throw new Error(`transient failure ${times.length}`);
    if (first === 'doc-6') throw new Error('backend lost');
    return echo(rs);
  };
  try {
    await enqueueRun(queue, stream(records(8)), {
      run: 'r2',
      file: 'in',
      digest: 'd',
      jobSize: 3,
      attempts: 3,
      backoffMs: 100,
    });
    const w = await startWorker({ redis: redis.url, queue: 'retry' }, flaky);
    await waitFinished(queue, 'r2');
    await w.stop();
    const t = calls.get('doc-3')!;
    assert.equal(t.length, 3);
    // exponential: the second wait is about twice the first (100 ms, 200 ms)
    assert.ok(
      t[1]! - t[0]! >= 100 && t[2]! - t[1]! >= 200,
      `retry delays ${t[1]! - t[0]!}, ${t[2]! - t[1]!} ms`,
    );
    assert.equal(calls.get('doc-6')!.length, 3);
    const failedJob = await queue.getJob(jobId('r2', 2));
    assert.equal(await failedJob!.getState(), 'failed');
    assert.equal(failedJob!.failedReason, 'backend lost');
    const { lines, summary } = await collect(queue, 'r2');
    assert.equal(lines.length, 8);
    assert.deepEqual(
      lines.map((l) => l.id),
      Array.from({ length: 8 }, (_, i) => `doc-${i}`),
    );
    for (const l of lines.slice(6))
      assert.equal(l.error, 'job r2-000002 failed after 3 attempts: backend lost');
    assert.equal(lines[3]!.error, undefined);
    const s = await summary;
    assert.deepEqual([s.completed, s.failed, s.retried, s.errors], [2, 1, 2, 2]);
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
});

test('Redis not there: one line naming the URL', async () => {
  const url = `redis://127.0.0.1:${await freePort()}`;
  await assert.rejects(
    checkRedis(url, 1000),
    new RegExp(`^Error: cannot reach Redis at ${url}: ECONNREFUSED$`),
  );
});
