/**
 * `docre-kit extract` over a large JSONL made from the bundled Re-DocRED documents: memory stays
 * flat in the number of documents, and a killed run resumes.
 *
 *   npx tsx bench/extract.ts [--docs 10000] [--kill-at 3000] [--model-dir DIR] [--sentences 3]
 *
 * Writes `{id, text}` lines (the text of the bundled documents cut to their first `--sentences`
 * sentences, cycled to `--docs` lines) to a temp file, starts the real CLI
 * (`node --import tsx src/cli/main.ts extract --input … --output …`) as a child process, samples
 * the child's resident memory (/proc/PID/status VmRSS) against the lines written so far, SIGKILLs
 * it at `--kill-at` documents, resumes with `--resume`, and checks the output holds every input
 * line exactly once. Prints the memory table (docs written → RSS MB) and the check.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { documentText } from '../src/text/index.js';
import type { DocREDDocument } from '../src/data/docred.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const total = Number(arg('docs', '10000'));
const killAt = Number(arg('kill-at', String(Math.round(total * 0.3))));
const sentences = Number(arg('sentences', '3'));
const modelDir = arg('model-dir', '');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docre-bench-extract-'));
const input = path.join(dir, 'in.jsonl');
const output = path.join(dir, 'out.jsonl');
const docs = JSON.parse(fs.readFileSync(path.join(root, 'assets/re-docred/dev_revised.json'), 'utf8')) as DocREDDocument[];
const texts = docs.map((d) => documentText({ ...d, sents: d.sents.slice(0, sentences), vertexSet: [] }).text);
const fd = fs.openSync(input, 'w');
for (let i = 0; i < total; i++) fs.writeSync(fd, JSON.stringify({ id: `doc-${i}`, text: texts[i % texts.length] }) + '\n');
fs.closeSync(fd);

const lines = () => (fs.existsSync(output) ? fs.readFileSync(output, 'utf8').split('\n').length - 1 : 0);
const rssMB = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

function run(extra: string[]): ChildProcess {
  const argv = ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'extract', '--input', input, '--output', output, ...(modelDir ? ['--model-dir', modelDir] : []), ...extra];
  return spawn(process.execPath, argv, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

const samples: [number, number][] = [];
async function watch(child: ChildProcess, stopAt?: number): Promise<void> {
  const done = new Promise<void>((res) => child.on('exit', () => res()));
  let next = 0;
  for (;;) {
    const exited = await Promise.race([done.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 1000))]);
    if (exited) return;
    const n = lines();
    if (n >= next) {
      samples.push([n, rssMB(child.pid!)]);
      next = n + Math.max(1, Math.round(total / 20));
    }
    if (stopAt !== undefined && n >= stopAt) {
      child.kill('SIGKILL');
      await done;
      return;
    }
  }
}

const t0 = Date.now();
await watch(run([]), killAt);
const atKill = lines();
await watch(run(['--resume']));
const seconds = (Date.now() - t0) / 1000;
const seen = fs.readFileSync(output, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { line: number }).line);
const unique = new Set(seen);
console.log(`\n| documents written | child RSS (MB) |\n|---:|---:|`);
for (const [n, mb] of samples) console.log(`| ${n} | ${mb.toFixed(0)} |`);
console.log(
  `\n${total} documents, killed at ${atKill}, resumed: ${seen.length} lines, ${unique.size} distinct input lines` +
    ` (${seen.length === total && unique.size === total ? 'each exactly once' : 'MISMATCH'}), ${seconds.toFixed(0)} s in all (${(total / seconds).toFixed(1)} docs/s)`,
);
fs.rmSync(dir, { recursive: true, force: true });
