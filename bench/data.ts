/**
 * Data pipeline throughput: documents/s of read (JSON parse + io-ts validation) and featurize
 * (tokenize + entity markers) over the bundled Re-DocRED dev_revised.json (500 documents), per
 * tokenizer and marker style, plus collate (cpu tensors, batches of 4). "cold" = a fresh
 * Featurizer (empty word cache), "warm" = the same featurizer a second time. One untimed run
 * warms the JS engine before each row; the median of `reps` timed runs is reported, as wall time
 * and as this process's CPU time (user + system; the better measure on a shared, loaded machine).
 *
 *   node --import tsx bench/data.ts            # full: 500 documents, 5 repetitions
 *   node --import tsx bench/data.ts --quick    # 50 documents, 1 repetition
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as E from 'fp-ts/lib/Either.js';
import * as tf from '@tensorflow/tfjs';
import {
  Featurizer,
  RelationSchema,
  bundledAssetPath,
  collate,
  disposeBatch,
  loadBundledTokenizer,
  readDocRED,
  validateDocuments,
  type BundledTokenizer,
  type DataError,
  type MarkerStyle,
} from '../src/data/index.js';

const quick = process.argv.includes('--quick');
const reps = quick ? 1 : 5;
const nDocs = quick ? 50 : 500;

const orThrow = <A>(e: E.Either<DataError, A>): A => {
  if (E.isLeft(e)) throw new Error(e.left.message);
  return e.right;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** Median wall time and median CPU time (user + system of this process) in ms. */
function time(fn: () => void): { wall: number; cpu: number } {
  fn(); // untimed: JIT warm-up (a "cold" featurizer is still a fresh one in every timed run)
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

await tf.setBackend('cpu');
const schema = RelationSchema.docred();
const all = JSON.parse(readFileSync(bundledAssetPath('re-docred/dev_revised.json'), 'utf8')) as unknown[];
const text = JSON.stringify(all.slice(0, nDocs));
const docs = orThrow(readDocRED(text, { schema }));
const rows: [string, string, { wall: number; cpu: number }][] = [];
const tokens = (f: Featurizer): number =>
  orThrow(f.featurizeAll(docs)).reduce((a, x) => a + x.inputIds.length, 0);

rows.push(['read (parse + validate)', '-', time(() => orThrow(readDocRED(text, { schema })))]);
rows.push([
  'validate only',
  '-',
  time(() => orThrow(validateDocuments(JSON.parse(text), 'bench', { schema }))),
]);
const tokenCounts: string[] = [];
for (const name of ['bert-base-cased', 'scibert_scivocab_cased', 'roberta-base'] as BundledTokenizer[]) {
  const tk = orThrow(await loadBundledTokenizer(name)());
  for (const markers of (name === 'bert-base-cased'
    ? ['star', 'typed', 'entity-id']
    : ['star']) as MarkerStyle[]) {
    rows.push([
      `featurize cold, ${markers}`,
      name,
      time(() => orThrow(new Featurizer(tk, { markers }).featurizeAll(docs))),
    ]);
    const warm = new Featurizer(tk, { markers });
    orThrow(warm.featurizeAll(docs));
    rows.push([`featurize warm, ${markers}`, name, time(() => orThrow(warm.featurizeAll(docs)))]);
    if (markers === 'star')
      tokenCounts.push(`${name}: ${(tokens(warm) / docs.length).toFixed(0)} tokens/doc`);
  }
  if (name === 'bert-base-cased') {
    rows.push([
      'read + featurize cold, star',
      name,
      time(() => orThrow(new Featurizer(tk).featurizeAll(orThrow(readDocRED(text, { schema }))))),
    ]);
    const features = orThrow(new Featurizer(tk).featurizeAll(docs));
    for (const graph of [false, true])
      rows.push([
        `collate b=4${graph ? ' + graph' : ''} (cpu tensors)`,
        name,
        time(() => {
          for (let i = 0; i < features.length; i += 4)
            disposeBatch(orThrow(collate(features.slice(i, i + 4), schema, { graph })));
        }),
      ]);
  }
}

console.log(
  `\nData pipeline, ${docs.length} Re-DocRED documents, median of ${reps} (node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}, ${new Date().toISOString().slice(0, 10)})\n`,
);
console.log('| step | tokenizer | wall ms | documents/s (wall) | CPU ms | documents/s (CPU) |');
console.log('|---|---|---:|---:|---:|---:|');
const rate = (ms: number): string => ((docs.length / ms) * 1000).toFixed(0);
for (const [step, tk, { wall, cpu }] of rows)
  console.log(`| ${step} | ${tk} | ${wall.toFixed(0)} | ${rate(wall)} | ${cpu.toFixed(0)} | ${rate(cpu)} |`);
console.log(`\n${tokenCounts.join('; ')}`);
