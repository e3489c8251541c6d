/**
 * Trains the five paper models identically (embedded frozen encoder, cached features, the same
 * split, documents, epochs, batch and lr; the examples' model sizes) for each seed, and prints the
 * table of docs/results.md from these runs.
 *
 *   npx tsx examples/results.ts [--dataset redocred|cdr] [--train-docs 400] [--epochs 5] [--lr 1e-3] [--seeds 0,1,2] [--models atlop,...] [--runs FILE]
 *
 * `--lr` is the heads' learning rate of every model. Every finished run is appended as one JSON
 * line to `--runs` (default `.cache/results/<dataset>.jsonl`); runs already there (same model,
 * seed, documents, epochs, lr) are not repeated, and a run another live process has claimed is
 * skipped, so several processes (one per core) can share one job list and an interrupted job
 * continues where it stopped. The table is built from every line of the file that matches the
 * budget. `--table-only` prints it without training. With
 * EVAL_EACH_EPOCH=1 a run also keeps its validation F1 after every epoch (`epochF1`), and the table
 * is followed by those curves.
 */
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MODEL_NAMES, type ModelName } from '../src/models/index.js';
import {
  EXAMPLE_HEAD_LR,
  EXAMPLE_MODELS,
  exampleArgs,
  paperRun,
  meanSd,
  pct,
  runExample,
  type Dataset,
} from './redocred.js';

/** The rows: the five models (DocRE-II with the paper's schedule) and DocRE-II's `split` schedule (base frozen, same total epochs). */
const ENTRIES = [...MODEL_NAMES, 'docreii-split'] as const;
type Entry = (typeof ENTRIES)[number];
const modelOf = (e: Entry): ModelName => (e === 'docreii-split' ? 'docreii' : e);
const titleOf = (e: Entry) =>
  e === 'docreii-split' ? 'DocRE-II (split, base frozen)' : EXAMPLE_MODELS[e].title;

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : fallback;
};
const dataset = opt('dataset', 'redocred') as Dataset;
if (dataset !== 'redocred' && dataset !== 'cdr')
  throw new Error(`--dataset: expected redocred or cdr, got ${dataset}`);
const { epochs, trainDocs } = exampleArgs({ epochs: 5, trainDocs: dataset === 'cdr' ? 500 : 400 });
const headLr = Number(opt('lr', String(EXAMPLE_HEAD_LR)));
if (!(headLr > 0)) throw new Error(`--lr: expected a positive number, got ${opt('lr', '')}`);
const seeds = opt('seeds', '0,1,2').split(',').map(Number);
const models = opt('models', MODEL_NAMES.join(',')).split(',') as Entry[];
for (const m of models)
  if (!ENTRIES.includes(m)) throw new Error(`--models: unknown model ${m} (${ENTRIES.join(', ')})`);
const runsFile = opt('runs', `.cache/results/${dataset}.jsonl`);

interface Run {
  model: ModelName;
  /** DocRE-II's schedule (`docreii-split` rows); lines written before it existed are the split schedule */
  schedule?: 'paper' | 'split';
  dataset: Dataset;
  seed: number;
  trainDocs: number;
  epochs: number;
  /** the heads' learning rate; lines written before it was recorded ran at EXAMPLE_HEAD_LR */
  headLr?: number;
  budget: string;
  precision: number;
  recall: number;
  f1: number;
  ignF1?: number;
  intraF1?: number;
  interF1?: number;
  trainSeconds: number;
  /** validation F1 after each epoch (runs made with EVAL_EACH_EPOCH=1) */
  epochF1?: number[];
}

const entryOf = (r: Run): Entry => (r.schedule === 'split' ? 'docreii-split' : r.model);

const readRuns = async (): Promise<Run[]> => {
  const text = await readFile(runsFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Run)
    .map((r) =>
      r.model === 'docreii' && r.schedule === undefined ? { ...r, schedule: 'split' as const } : r,
    )
    .filter(
      (r) =>
        r.dataset === dataset &&
        r.trainDocs === trainDocs &&
        r.epochs === epochs &&
        (r.headLr ?? EXAMPLE_HEAD_LR) === headLr,
    );
};

/**
 * Claims a run for this process (a file `<runs>.claims/<key>` holding its pid, created
 * exclusively); a claim whose process has died is taken over.
 */
async function claim(key: string): Promise<boolean> {
  const dir = `${runsFile}.claims`;
  await mkdir(dir, { recursive: true });
  const file = `${dir}/${key}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      const pid = Number(await readFile(file, 'utf8').catch(() => 'NaN'));
      const alive =
        Number.isInteger(pid) &&
        (() => {
          try {
            process.kill(pid, 0);
            return true;
          } catch {
            return false;
          }
        })();
      if (alive) return false;
      await rm(file, { force: true }); // its process died: take the run over
    }
  }
  return false;
}

if (!argv.includes('--table-only')) {
  await mkdir(dirname(runsFile), { recursive: true });
  for (const model of models)
    for (const seed of seeds) {
      if ((await readRuns()).some((r) => entryOf(r) === model && r.seed === seed)) {
        console.log(`${model} seed ${seed}: already in ${runsFile}`);
        continue;
      }
      if (!(await claim(`${model}-${seed}-${trainDocs}x${epochs}-lr${headLr}`))) {
        console.log(`${model} seed ${seed}: being trained by another process`);
        continue;
      }
      const schedule = model === 'docreii-split' ? 'split' : 'paper';
      const run = paperRun(modelOf(model), {
        epochs,
        trainDocs,
        seed,
        quiet: true,
        dataset,
        docreiiSchedule: schedule,
        headLr,
      });
      const r = await runExample(`${titleOf(model)} (seed ${seed})`, run);
      const line: Run = {
        model: modelOf(model),
        ...(modelOf(model) === 'docreii' ? { schedule } : {}),
        dataset,
        seed,
        trainDocs,
        epochs,
        headLr,
        budget: run.budget,
        ...r.scores,
        trainSeconds: r.trainSeconds,
        ...(r.epochF1 ? { epochF1: r.epochF1 } : {}),
      };
      await appendFile(runsFile, `${JSON.stringify(line)}\n`);
    }
}

const runs = await readRuns();
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const stat = meanSd;
const metrics: (keyof Run)[] =
  dataset === 'cdr'
    ? ['f1', 'precision', 'recall']
    : ['f1', 'ignF1', 'intraF1', 'interF1', 'precision', 'recall'];
const header = {
  f1: 'F1',
  ignF1: 'Ign F1',
  intraF1: 'intra F1',
  interF1: 'inter F1',
  precision: 'P',
  recall: 'R',
};
const lines = [
  `| model | ${metrics.map((m) => header[m as keyof typeof header]).join(' | ')} | seeds | train time / run | budget |`,
  `|---|${metrics.map(() => '---:').join('|')}|---|---:|---|`,
];
for (const model of ENTRIES) {
  const rs = runs.filter((r) => entryOf(r) === model).sort((a, b) => a.seed - b.seed);
  if (rs.length === 0) continue;
  const seconds = mean(rs.map((r) => r.trainSeconds));
  lines.push(
    `| ${titleOf(model)} | ${metrics.map((m) => stat(rs.map((r) => r[m] as number))).join(' | ')} | ${rs.map((r) => r.seed).join(', ')} | ${seconds.toFixed(0)} s | ${rs[0]!.budget} |`,
  );
}
// the validation F1 after every epoch, for the runs that recorded it (EVAL_EACH_EPOCH=1), and
// the mean of each run's last three epochs: a steadier comparison than the last epoch alone
const LAST = 3;
const lastMean = (f: number[]) => mean(f.slice(-LAST));
const epochsRecorded = Math.max(0, ...runs.map((r) => r.epochF1?.length ?? 0));
const curves = ENTRIES.flatMap((model) => {
  const rs = runs.filter((r) => entryOf(r) === model && r.epochF1).sort((a, b) => a.seed - b.seed);
  if (rs.length === 0) return [];
  return [
    ...rs.map(
      (r) =>
        `| ${titleOf(model)} | ${r.seed} | ${r.epochF1!.map(pct).join(' | ')} |${' |'.repeat(epochsRecorded - r.epochF1!.length)} ${pct(lastMean(r.epochF1!))} |`,
    ),
    `| ${titleOf(model)}: mean over seeds | |${' |'.repeat(epochsRecorded)} ${stat(rs.map((r) => lastMean(r.epochF1!)))} |`,
  ];
});
if (curves.length > 0) {
  lines.push(
    '',
    `Validation F1 after each epoch (the last one is the run's result) and the mean of the last ${LAST}:`,
    '',
    `| model | seed | ${Array.from({ length: epochsRecorded }, (_, i) => `epoch ${i + 1}`).join(' | ')} | last ${LAST} |`,
    `|---|---|${Array.from({ length: epochsRecorded + 1 }, () => '---:').join('|')}|`,
    ...curves,
  );
}
console.log(
  `\n${lines.join('\n')}\n\nmean ± sample std over the seeds listed; runs from ${runsFile}; command: ` +
    `npx tsx examples/results.ts --dataset ${dataset} --train-docs ${trainDocs} --epochs ${epochs}${headLr === EXAMPLE_HEAD_LR ? '' : ` --lr ${headLr.toExponential()}`} --seeds ${seeds.join(',')}`,
);
