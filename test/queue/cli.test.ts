/**
 * `docre-kit queue | worker | collect | status` end to end against a real `redis-server`, with
 * real worker processes (`node --import tsx src/cli/main.ts worker …`) running the tiny saved
 * DocRE-II of test/fixtures/browser-model on real Re-DocRED documents (their gold entities):
 * two workers; one of two SIGKILLed in the middle of a job (BullMQ's stalled-job check gives the
 * job to the other: short locks via --lock-ms / --stalled-ms); Redis killed and restarted in the
 * middle of a run with its append-only file on; unreadable input lines reported with their line
 * numbers and written in place; enqueueing twice adds nothing. Every document's result must
 * appear exactly once, in input order.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DocREDDocument } from '../../src/data/docred.js';
import type { ExtractResult } from '../../src/extract/types.js';
import { startRedis, type TestRedis } from './redis.js';
import { runCliCaptured } from '../helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const model = path.join(root, 'test/fixtures/browser-model');
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'docre-queue-'));
const file = (name: string) => path.join(dir, name);

// the 16 shortest Re-DocRED dev documents (≈ 130 words, 7–19 entities), labels dropped
const all = JSON.parse(
  await fs.readFile(path.join(root, 'assets/re-docred/dev_revised.json'), 'utf8'),
) as DocREDDocument[];
const words = (d: DocREDDocument) => d.sents.flat().length;
const docs = [...all]
  .sort((a, b) => words(a) - words(b) || a.title.localeCompare(b.title))
  .slice(0, 16)
  .map(({ labels: _labels, ...d }) => d);
await fs.writeFile(file('docs.json'), JSON.stringify(docs));

let redis: TestRedis;
/** every worker process, killed at the end whatever happened */
const spawned = new Set<ChildProcess>();
process.once('exit', () => spawned.forEach((p) => p.kill('SIGKILL')));
before(async () => {
  redis = await startRedis();
});
after(async () => {
  spawned.forEach((p) => p.kill('SIGKILL'));
  await redis?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

const cli = runCliCaptured;

interface WorkerProcess {
  readonly proc: ChildProcess;
  log(): string;
  /** resolves with the first match of `re` in the worker's stderr */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A `docre-kit worker` process on the tiny model (wasm), with short locks so a dead worker's job restarts fast. */
function worker(url: string, queue: string): WorkerProcess {
  const args = [
    '--import',
    'tsx',
    path.join(root, 'src/cli/main.ts'),
    'worker',
    '--redis',
    url,
    '--queue',
    queue,
  ];
  args.push('--model-dir', model, '--backend', 'wasm', '--lock-ms', '5000', '--stalled-ms', '1000');
  const proc = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  spawned.add(proc);
  let text = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  proc.stderr!.on('data', (b: Buffer) => {
    text += b.toString();
    for (const w of [...waiters]) {
      const m = text.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    log: () => text,
    exited,
    waitFor: (re, timeoutMs = 240000) =>
      new Promise((resolve, reject) => {
        const m = text.match(re);
        if (m) return resolve(m);
        const timer = setTimeout(
          () => reject(new Error(`worker: no ${re} after ${timeoutMs} ms; log:\n${text}`)),
          timeoutMs,
        );
        waiters.push({ re, resolve: (x) => (clearTimeout(timer), resolve(x)) });
        void exited.then(({ code, signal }) =>
          reject(new Error(`worker exited (${code ?? signal}) before ${re}; log:\n${text}`)),
        );
      }),
  };
}

/** Stops workers with SIGTERM and checks that they exit cleanly (graceful shutdown). */
async function stopAll(ws: readonly WorkerProcess[]): Promise<void> {
  for (const w of ws) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGTERM');
  for (const w of ws) {
    const { code, signal } = await w.exited;
    if (signal === 'SIGKILL') continue;
    assert.equal(code, 0, `worker exit after SIGTERM; log:\n${w.log()}`);
    assert.match(w.log(), /SIGTERM: finishing \d+ job\(s\) in flight[\s\S]*stopped: \d+ jobs/);
  }
}

async function readLines(f: string): Promise<ExtractResult[]> {
  return (await fs.readFile(f, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ExtractResult);
}

/** Exactly one line per input document, in input order, each a model result (entities = the gold ones). */
function assertOnePerDocument(lines: readonly ExtractResult[]): void {
  assert.deepEqual(
    lines.map((l) => [l.id, l.line]),
    docs.map((d, i) => [d.title, i + 1]),
  );
  for (const [i, l] of lines.entries()) {
    assert.equal(l.error, undefined, `${l.id}: ${l.error}`);
    assert.equal(l.entities.length, docs[i]!.vertexSet.length, `${l.id}: entities`);
  }
}

async function enqueue(url: string, queue: string, jobSize: number): Promise<string> {
  const r = await cli(
    'queue',
    '--input',
    file('docs.json'),
    '--redis',
    url,
    '--queue',
    queue,
    '--job-size',
    String(jobSize),
  );
  assert.equal(r.code, 0, r.err);
  return r.out.trim();
}

test('two workers: every document once, in order; status; enqueueing again adds nothing; SIGTERM exits cleanly', async () => {
  const ws = [worker(redis.url, 'e2e'), worker(redis.url, 'e2e')];
  await Promise.all(ws.map((w) => w.waitFor(/waiting for jobs/)));
  try {
    const run = await enqueue(redis.url, 'e2e', 2);
    assert.match(run, /^[0-9a-f]{16}$/);
    const again = await cli(
      'queue',
      '--input',
      file('docs.json'),
      '--redis',
      redis.url,
      '--queue',
      'e2e',
      '--job-size',
      '2',
    );
    assert.equal(again.out.trim(), run);
    assert.match(again.err, /16 documents \(0 unreadable\) in 8 jobs of 2 .*: 0 added, 8 already there/);
    const st = await cli('status', '--run', run, '--redis', redis.url, '--queue', 'e2e');
    assert.match(st.out, new RegExp(`run ${run}: \\d/8 jobs finished`));
    const c = await cli(
      'collect',
      '--run',
      run,
      '--wait',
      '--output',
      file('e2e.jsonl'),
      '--redis',
      redis.url,
      '--queue',
      'e2e',
    );
    assert.equal(c.code, 0, c.err);
    assertOnePerDocument(await readLines(file('e2e.jsonl')));
    assert.match(c.err, /16 documents, 8 jobs: 8 done, 0 failed, 0 retried; 0 documents with errors/);
    const done = await cli('status', '--run', run, '--redis', redis.url, '--queue', 'e2e');
    assert.match(done.out, /8\/8 jobs finished \(8 completed, 0 failed\)/);
  } finally {
    await stopAll(ws);
  }
  // both processes loaded the model and took jobs from the same queue
  const byWorker = ws.map((w) => (w.log().match(/ done: /g) ?? []).length);
  assert.equal(byWorker[0]! + byWorker[1]!, 8, `jobs per worker ${byWorker}`);
});

test('a worker SIGKILLed in the middle of a job: its job runs again on the other, every document exactly once', async () => {
  const ws = [worker(redis.url, 'fault'), worker(redis.url, 'fault')];
  try {
    await Promise.all(ws.map((w) => w.waitFor(/waiting for jobs/)));
    const run = await enqueue(redis.url, 'fault', 4);
    // whichever worker starts a job first is killed as soon as it has started it
    const started = new RegExp(`job (${run}-\\d+): 4 documents`);
    const [victim, killed] = await Promise.race(
      ws.map((w) => w.waitFor(started).then((m) => [w, m[1]!] as const)),
    );
    victim.proc.kill('SIGKILL');
    assert.equal((await victim.exited).signal, 'SIGKILL');
    assert.doesNotMatch(victim.log(), new RegExp(`job ${killed} done`), 'killed before finishing its job');
    const c = await cli(
      'collect',
      '--run',
      run,
      '--wait',
      '--timeout',
      '600',
      '--output',
      file('fault.jsonl'),
      '--redis',
      redis.url,
      '--queue',
      'fault',
    );
    assert.equal(c.code, 0, c.err);
    assertOnePerDocument(await readLines(file('fault.jsonl')));
    assert.match(c.err, /16 documents, 4 jobs: 4 done, 0 failed, [1-4] retried/);
    const survivor = ws.find((w) => w !== victim)!;
    assert.match(
      survivor.log(),
      new RegExp(`job ${killed} done`),
      'the other worker finished the killed job',
    );
  } finally {
    await stopAll(ws);
  }
});

test('Redis killed and restarted in the middle of a run (append-only file on): the run completes, every document once', async () => {
  const aof = await startRedis({ appendonly: true });
  const ws: WorkerProcess[] = [];
  try {
    ws.push(worker(aof.url, 'restart'), worker(aof.url, 'restart'));
    await Promise.all(ws.map((w) => w.waitFor(/waiting for jobs/)));
    const run = await enqueue(aof.url, 'restart', 2);
    await Promise.race(ws.map((w) => w.waitFor(/ done: /)));
    const mid = await cli('status', '--run', run, '--redis', aof.url, '--queue', 'restart');
    const finished = Number(/: (\d+)\/8 jobs finished/.exec(mid.out)?.[1]);
    assert.ok(finished >= 1 && finished < 8, `killed in the middle: ${mid.out}`);
    await aof.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    await aof.start();
    const c = await cli(
      'collect',
      '--run',
      run,
      '--wait',
      '--timeout',
      '600',
      '--output',
      file('restart.jsonl'),
      '--redis',
      aof.url,
      '--queue',
      'restart',
    );
    assert.equal(c.code, 0, c.err);
    assertOnePerDocument(await readLines(file('restart.jsonl')));
    assert.match(c.err, /16 documents, 8 jobs: 8 done, 0 failed/);
    await stopAll(ws);
    assert.match(
      ws.map((w) => w.log()).join('\n'),
      /Redis redis:\/\/127\.0\.0\.1:\d+: .*\(retrying\)/,
      'the workers saw the outage',
    );
  } finally {
    for (const w of ws) w.proc.kill('SIGKILL');
    await aof.stop();
  }
});

test('unreadable input lines: reported with their line numbers, one error line each in the output', async () => {
  const lines = docs.slice(0, 5).map((d) => JSON.stringify(d));
  lines.splice(1, 0, '{"title": "cut off", "sents": [[');
  lines.splice(4, 0, 'not json at all');
  await fs.writeFile(file('bad.jsonl'), lines.join('\n') + '\n');
  const q = await cli(
    'queue',
    '--input',
    file('bad.jsonl'),
    '--redis',
    redis.url,
    '--queue',
    'bad',
    '--job-size',
    '2',
  );
  assert.equal(q.code, 0, q.err);
  assert.match(q.err, /bad\.jsonl:2: /);
  assert.match(q.err, /bad\.jsonl:5: /);
  assert.match(q.err, /7 documents \(2 unreadable\) in 4 jobs of 2/);
  const w = worker(redis.url, 'bad');
  try {
    const c = await cli(
      'collect',
      '--run',
      q.out.trim(),
      '--wait',
      '--output',
      file('bad-out.jsonl'),
      '--redis',
      redis.url,
      '--queue',
      'bad',
    );
    assert.equal(c.code, 0, c.err);
    const out = await readLines(file('bad-out.jsonl'));
    assert.deepEqual(
      out.map((l) => [l.line, l.error !== undefined]),
      [1, 2, 3, 4, 5, 6, 7].map((n) => [n, n === 2 || n === 5]),
    );
    assert.match(out[1]!.error!, /bad\.jsonl:2: /);
    assert.match(c.err, /7 documents, 4 jobs: 4 done, 0 failed, 0 retried; 2 documents with errors/);
  } finally {
    await stopAll([w]);
  }
});

test('one-line errors: Redis not there (naming the URL), a run not enqueued, an unfinished run without --wait', async () => {
  const down = await cli('status', '--redis', 'redis://127.0.0.1:1');
  assert.deepEqual(
    [down.code, down.err],
    [1, 'docre-kit status: cannot reach Redis at redis://127.0.0.1:1: ECONNREFUSED\n'],
  );
  const none = await cli('collect', '--run', 'nope', '--redis', redis.url, '--queue', 'e2e');
  assert.equal(none.code, 1);
  assert.match(
    none.err,
    /^docre-kit collect: run 'nope' is not on redis:\/\/127\.0\.0\.1:\d+ queue 'e2e' \(not enqueued, or still being enqueued\)\n$/,
  );
  const run = await enqueue(redis.url, 'pending', 5);
  const early = await cli('collect', '--run', run, '--redis', redis.url, '--queue', 'pending');
  assert.equal(early.code, 1);
  assert.match(early.err, /0\/4 jobs finished .*: not finished \(use --wait\)\n$/);
  const badRun = await cli('queue', '--input', file('docs.json'), '--run', 'a:b', '--redis', redis.url);
  assert.equal(badRun.code, 2);
  assert.match(badRun.err, /--run: run id 'a:b' must be/);
});
