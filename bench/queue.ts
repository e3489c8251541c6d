/**
 * Distributed extraction on BullMQ + a real redis-server (started here on a free port, data in a
 * temp dir): documents/s with 1 and 2 `docre-kit worker` processes (their ratio), and the queue's
 * overhead per job (Redis time, measured with an instant in-process processor) against the model
 * time per job. `--done-means` instead runs the acceptance check: a 2,000-document file,
 * two workers, one SIGKILLed in the middle of the run (and started again), `collect --wait`, and
 * every document's result exactly once.
 *
 *   npx tsx bench/queue.ts [--docs 40] [--job-size 4] [--sentences 3] [--model-dir DIR] [--backend wasm]
 *   npx tsx bench/queue.ts --done-means [--docs 2000] [--job-size 20]
 *
 * Documents: the bundled Re-DocRED dev documents cut to their first `--sentences` sentences (the
 * entities with a mention there), cycled to `--docs` with unique titles; DocRED format with the
 * gold entities; model: the tiny DocRE-II of test/fixtures/browser-model unless `--model-dir`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DocREDDocument } from '../src/data/docred.js';
import type { ExtractResult, InputRecord } from '../src/extract/types.js';
import { Redis } from 'ioredis';
import { openQueue, redisOptions } from '../src/queue/connection.js';
import { enqueueRun } from '../src/queue/producer.js';
import { collectRun, runStatus, summaryLine, type CollectSummary } from '../src/queue/collect.js';
import { startWorker } from '../src/queue/worker.js';
import { startRedis } from '../test/queue/redis.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const doneMeans = process.argv.includes('--done-means');
const total = Number(arg('docs', doneMeans ? '2000' : '40'));
const jobSize = Number(arg('job-size', doneMeans ? '20' : '4'));
const sentences = Number(arg('sentences', '3'));
const modelDir = arg('model-dir', path.join(root, 'test/fixtures/browser-model'));
const backend = arg('backend', 'wasm');

/** A document cut to its first `k` sentences, keeping the entities mentioned there (renumbered). */
function cut(d: DocREDDocument, k: number, title: string): DocREDDocument {
  const vertexSet = d.vertexSet.map((e) => e.filter((m) => m.sent_id < k)).filter((e) => e.length > 0);
  return { title, sents: d.sents.slice(0, k), vertexSet };
}

const all = JSON.parse(
  fs.readFileSync(path.join(root, 'assets/re-docred/dev_revised.json'), 'utf8'),
) as DocREDDocument[];
const docs = Array.from({ length: total }, (_, i) =>
  cut(all[i % all.length]!, sentences, `${all[i % all.length]!.title} #${i}`),
);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docre-bench-queue-'));
const input = path.join(dir, 'docs.json');
fs.writeFileSync(input, JSON.stringify(docs));
const redis = await startRedis({ appendonly: doneMeans }); // the overhead rows: no fsync per write
const cliMain = path.join(root, 'src/cli/main.ts');

interface Proc {
  readonly proc: ChildProcess;
  log: string;
  ready: Promise<void>;
}
const procs: ChildProcess[] = [];
process.once('exit', () => procs.forEach((p) => p.kill('SIGKILL')));

function cli(args: string[], echo = false): Proc {
  const proc = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(proc);
  const p: Proc = { proc, log: '', ready: Promise.resolve() };
  p.ready = new Promise((resolve, reject) => {
    proc.stderr!.on('data', (b: Buffer) => {
      p.log += b.toString();
      if (echo) process.stderr.write(b);
      if (/waiting for jobs/.test(p.log)) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`docre-kit ${args[0]} exited (${code}): ${p.log}`)));
  });
  p.ready.catch(() => {}); // only workers get ready; awaiting still sees the rejection
  proc.stdout!.on('data', (b: Buffer) => (p.log += b.toString()));
  return p;
}
const workerArgs = (queue: string) => [
  'worker',
  '--redis',
  redis.url,
  '--queue',
  queue,
  '--model-dir',
  modelDir,
  '--backend',
  backend,
];
const exited = (p: ChildProcess) =>
  new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));

/** Enqueue, wait until the run is finished, merge; returns the summary and the lines. */
async function runWith(
  queue: string,
  workers: number,
): Promise<{ s: CollectSummary; lines: ExtractResult[] }> {
  const ws = Array.from({ length: workers }, () => cli(workerArgs(queue)));
  await Promise.all(ws.map((w) => w.ready));
  const q = await openQueue({ redis: redis.url, queue });
  const records = docs.map((doc, i): InputRecord => ({ kind: 'docred', line: i + 1, id: doc.title, doc }));
  await enqueueRun(
    q,
    (async function* () {
      yield* records;
    })(),
    { run: 'bench', file: input, digest: 'bench', jobSize },
  );
  for (;;) {
    const st = await runStatus(q, 'bench');
    if (st && st.finished === st.meta.jobs) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const lines: ExtractResult[] = [];
  const s = await collectRun(
    q,
    (await runStatus(q, 'bench'))!.meta,
    (l) => void lines.push(JSON.parse(l) as ExtractResult),
  );
  for (const w of ws) w.proc.kill('SIGTERM');
  await Promise.all(ws.map((w) => exited(w.proc)));
  await q.obliterate({ force: true });
  await q.close();
  return { s, lines };
}

/** Redis time per job: enqueue + process + merge `n` jobs with an instant processor. */
async function overheadPerJob(n: number): Promise<{ ms: number; commands: number; bytes: number }> {
  const probe = new Redis(redisOptions(redis.url));
  const calls = async () =>
    [...(await probe.info('commandstats')).matchAll(/calls=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
  const memory = async () => Number(/used_memory:(\d+)/.exec(await probe.info('memory'))![1]);
  const [calls0, mem0] = [await calls(), await memory()];
  const q = await openQueue({ redis: redis.url, queue: 'overhead' });
  const records = docs
    .slice(0, jobSize)
    .map((doc, i): InputRecord => ({ kind: 'docred', line: i + 1, id: doc.title, doc }));
  const all_ = Array.from({ length: n }, () => records)
    .flat()
    .map((r, i) => ({ ...r, line: i + 1 }));
  const t0 = performance.now();
  await enqueueRun(
    q,
    (async function* () {
      yield* all_;
    })(),
    { run: 'o', file: '-', digest: 'o', jobSize },
  );
  const w = await startWorker({ redis: redis.url, queue: 'overhead' }, async (rs) =>
    rs.map((r) => ({ id: r.id, line: r.line, entities: [], triples: [] })),
  );
  while (w.stats.jobs < n) await new Promise((r) => setTimeout(r, 5)); // no Redis polling: count only the queue's own commands
  await collectRun(q, (await runStatus(q, 'o'))!.meta, () => {});
  const ms = (performance.now() - t0) / n;
  const [calls1, mem1] = [await calls(), await memory()];
  probe.disconnect();
  await w.stop();
  await q.obliterate({ force: true });
  await q.close();
  return { ms, commands: (calls1 - calls0) / n, bytes: (mem1 - mem0) / n };
}

function checkOnce(lines: readonly ExtractResult[]): string {
  const ids = lines.map((l) => l.id);
  const ok =
    lines.length === docs.length &&
    ids.every((id, i) => id === docs[i]!.title) &&
    new Set(ids).size === docs.length;
  const errors = lines.filter((l) => l.error !== undefined).length;
  return `${lines.length} lines for ${docs.length} documents, ${new Set(ids).size} distinct ids, in input order: ${ok ? 'yes' : 'NO'}; ${errors} error lines`;
}

try {
  if (doneMeans) {
    // queue (CLI), two workers, SIGKILL one a third of the way, start it again, collect --wait (CLI)
    const t0 = performance.now();
    const q = cli(
      ['queue', '--input', input, '--redis', redis.url, '--queue', 'done', '--job-size', String(jobSize)],
      true,
    );
    await exited(q.proc);
    const run = q.log.trim().split('\n').at(-1)!;
    const ws = [cli(workerArgs('done')), cli(workerArgs('done'))];
    const out = path.join(dir, 'out.jsonl');
    const collect = cli(
      ['collect', '--run', run, '--wait', '--output', out, '--redis', redis.url, '--queue', 'done'],
      true,
    );
    const jobs = Math.ceil(total / jobSize);
    for (;;) {
      const done = (ws[0]!.log.match(/ done: /g) ?? []).length + (ws[1]!.log.match(/ done: /g) ?? []).length;
      if (
        done >= jobs / 3 &&
        / \d+ documents \(attempt/.test(ws[0]!.log.split('\n').filter(Boolean).at(-1) ?? '')
      )
        break;
      await new Promise((r) => setTimeout(r, 200));
    }
    ws[0]!.proc.kill('SIGKILL');
    console.error(
      `SIGKILLed worker 1 in the middle of a job (${ws[0]!.log.split('\n').filter(Boolean).at(-1)})`,
    );
    ws.push(cli(workerArgs('done')));
    await exited(collect.proc);
    const lines = fs
      .readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ExtractResult);
    console.log(
      `\n${checkOnce(lines)}; wall ${((performance.now() - t0) / 1000).toFixed(0)} s (with model loads)`,
    );
    console.log(
      collect.log
        .trim()
        .split('\n')
        .filter((l) => /^run .* documents, /.test(l))
        .at(-1),
    );
  } else {
    const one = await runWith('w1', 1);
    const two = await runWith('w2', 2);
    const o = await overheadPerJob(100);
    const resultBytes = two.lines.reduce((a, l) => a + JSON.stringify(l).length + 1, 0) / two.lines.length;
    const inputBytes = fs.statSync(input).size / total;
    const modelMs = (1000 * one.s.modelSeconds) / one.s.jobs;
    const rate = (s: CollectSummary) => s.documents / s.seconds;
    console.log(
      `\n${total} documents (${sentences} sentences each), jobs of ${jobSize}, ${backend}, ${path.relative(root, modelDir)}; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}\n`,
    );
    console.log('| workers | documents/s | wall s | jobs retried | check |');
    console.log('|---|---|---|---|---|');
    for (const [n, r] of [
      [1, one],
      [2, two],
    ] as const)
      console.log(
        `| ${n} | ${rate(r.s).toFixed(2)} | ${r.s.seconds.toFixed(1)} | ${r.s.retried} | ${checkOnce(r.lines)} |`,
      );
    console.log(`\n2 workers / 1 worker: ${(rate(two.s) / rate(one.s)).toFixed(2)}×`);
    console.log(`\n| per job of ${jobSize} documents | ms |\n|---|---|`);
    console.log(
      `| Redis (enqueue + fetch + complete + merge; instant processor, 100 jobs) | ${o.ms.toFixed(2)} |`,
    );
    console.log(`| model (1 worker) | ${modelMs.toFixed(0)} |`);
    console.log(`| overhead / model | ${((100 * o.ms) / modelMs).toFixed(3)} % |`);
    console.log(`\nRedis commands per job (enqueue → collect, INFO commandstats): ${o.commands.toFixed(1)}`);
    console.log(
      `Redis memory per job until removed (instant results; INFO used_memory): ${(o.bytes / 1024).toFixed(1)} KiB`,
    );
    console.log(`bytes per document: input ${inputBytes.toFixed(0)}, result line ${resultBytes.toFixed(0)}`);
    console.log(`\n${summaryLine(one.s)}\n${summaryLine(two.s)}`);
  }
} finally {
  for (const p of procs) p.kill('SIGKILL');
  await redis.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
