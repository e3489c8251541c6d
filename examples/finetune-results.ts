/**
 * Fine-tuned against frozen embedded encoder (issue 16): `docre-kit train` twice per model and
 * seed with the same split, documents, epochs, batch, head lr and seed — once with the encoder
 * frozen (features cached), once with `--finetune` (encoder lr = head lr × the preset's ratio,
 * AdamW groups, warmup, clipping, dropout on) — then `docre-kit evaluate` of the LAST epoch on the
 * validation documents (nothing chosen on them). Prints one markdown table (mean ± sd over seeds).
 *
 *   npx tsx examples/finetune-results.ts [--dataset redocred|cdr] [--models atlop,docreii,dremir]
 *     [--seeds 0,1,2] [--train-docs 400] [--epochs 5] [--lr 1e-3] [--arms frozen,finetune]
 *     [--micro-batch 4|2|1] [--table-only]
 *
 * `--micro-batch N` runs the batch of 4 as 4/N accumulated micro-batches of N documents (the same
 * optimizer steps; less memory: a fine-tuned batch of 4 CDR abstracts, up to 1199 pieces each,
 * outgrows wasm's 4 GiB heap). Default 4 (no accumulation); it is recorded in each run's line.
 *
 * Every finished run is one JSON line of `.cache/results/finetune-<dataset>.jsonl`; runs already
 * there are not repeated (an interrupted job continues), and the table is built from the file.
 * Re-DocRED: the bundled dev_revised.json split (first 400 train, last 100 validation); CDR:
 * ../shared/data/cdr (CDR_DIR) train_filter.data → dev_filter.data.
 */
import { spawnSync } from 'node:child_process';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bundledAssetPath, reDocREDSplit } from '../src/data/index.js';
import { MODEL_NAMES, type ModelName } from '../src/models/index.js';
import { EXAMPLE_MODELS, exampleArgs, meanSd } from './redocred.js';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : fallback;
};
const dataset = opt('dataset', 'redocred');
if (dataset !== 'redocred' && dataset !== 'cdr')
  throw new Error(`--dataset: expected redocred or cdr, got ${dataset}`);
const { epochs, trainDocs } = exampleArgs({ epochs: 5, trainDocs: dataset === 'cdr' ? 500 : 400 });
const lr = opt('lr', '1e-3');
const seeds = opt('seeds', '0,1,2').split(',').map(Number);
const models = opt('models', 'atlop,docreii,dremir').split(',') as ModelName[];
for (const m of models)
  if (!MODEL_NAMES.includes(m)) throw new Error(`--models: unknown model ${m} (${MODEL_NAMES.join(', ')})`);
const arms = opt('arms', 'frozen,finetune').split(',');
for (const a of arms)
  if (a !== 'frozen' && a !== 'finetune')
    throw new Error(`--arms: expected frozen and/or finetune, got ${a}`);
const microBatch = Number(opt('micro-batch', '4'));
if (![1, 2, 4].includes(microBatch)) throw new Error(`--micro-batch: expected 1, 2 or 4, got ${microBatch}`);
const runsFile = `.cache/results/finetune-${dataset}.jsonl`;

interface Run {
  model: ModelName;
  arm: string;
  seed: number;
  trainDocs: number;
  epochs: number;
  lr: string;
  f1: number;
  ignF1?: number;
  intraF1?: number;
  interF1?: number;
  precision: number;
  recall: number;
  trainSeconds: number;
  /** documents per accumulated micro-batch (absent: 4, no accumulation) */
  microBatch?: number;
}

/**
 * One `docre-kit` command in a child process of its own: every run starts on a fresh wasm heap
 * (a fine-tuned run after a frozen one in the same process ran out of it on CDR).
 */
async function cli(args: string[]): Promise<void> {
  console.log(`$ docre-kit ${args.map((a) => (/[\s{"]/.test(a) ? `'${a}'` : a)).join(' ')}`);
  const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`docre-kit ${args[0]} exited with ${r.status ?? r.signal}`);
}

/** Train / validation files of the dataset (Re-DocRED: the fixed split written once). */
async function splitFiles(): Promise<{ train: string; dev: string }> {
  if (dataset === 'cdr') {
    const dir = process.env['CDR_DIR'] ?? '../shared/data/cdr';
    return { train: `${dir}/train_filter.data`, dev: `${dir}/dev_filter.data` };
  }
  const docs = JSON.parse(
    await readFile(bundledAssetPath('re-docred/dev_revised.json'), 'utf8'),
  ) as unknown[];
  const { train, validation } = reDocREDSplit(docs);
  await mkdir('runs/split', { recursive: true });
  // named by the budget: a concurrent job with another --train-docs must not overwrite this one's
  const files = { train: `runs/split/train-${trainDocs}.json`, dev: 'runs/split/dev.json' };
  await writeFile(files.train, JSON.stringify(train.slice(0, trainDocs)));
  await writeFile(files.dev, JSON.stringify(validation));
  return files;
}

const readRuns = async (): Promise<Run[]> =>
  (await readFile(runsFile, 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Run)
    .filter((r) => r.trainDocs === trainDocs && r.epochs === epochs && r.lr === lr);

async function main(): Promise<void> {
  await mkdir('.cache/results', { recursive: true });
  if (!argv.includes('--table-only')) {
    const files = await splitFiles();
    for (const model of models)
      for (const seed of seeds)
        for (const arm of arms) {
          if ((await readRuns()).some((r) => r.model === model && r.seed === seed && r.arm === arm)) continue;
          // another budget, another directory (a run resumes from its directory's checkpoint)
          const budget =
            trainDocs === (dataset === 'cdr' ? 500 : 400) && epochs === 5 ? '' : `-${trainDocs}x${epochs}`;
          const out = `runs/finetune-results/${dataset}-${model}-${arm}-${seed}${budget}`;
          const t0 = Date.now();
          // DocRE-II: its paper schedule (stage 2 = epochs / 2 more), the same in both arms
          await cli([
            'train',
            '--model',
            model,
            '--train',
            files.train,
            '--dev',
            files.dev,
            '--out',
            out,
            '--epochs',
            String(epochs),
            '--lr',
            lr,
            '--batch-size',
            String(microBatch),
            ...(microBatch < 4 ? ['--accumulation-steps', String(4 / microBatch)] : []),
            '--seed',
            String(seed),
            '--max-docs',
            String(trainDocs),
            '--cache',
            '.cache/features',
            '--config',
            JSON.stringify(EXAMPLE_MODELS[model].config),
            ...(arm === 'finetune' ? ['--finetune'] : []),
          ]);
          const trainSeconds = (Date.now() - t0) / 1000;
          const json = `${out}/eval-last.json`;
          await cli([
            'evaluate',
            '--model-dir',
            `${out}/last`,
            '--data',
            files.dev,
            '--train',
            files.train,
            '--json',
            json,
          ]);
          const s = JSON.parse(await readFile(json, 'utf8')) as Omit<Run, 'model' | 'arm'>;
          const run: Run = {
            model,
            arm,
            seed,
            trainDocs,
            epochs,
            lr,
            trainSeconds,
            ...(microBatch < 4 ? { microBatch } : {}),
            f1: s.f1,
            precision: s.precision,
            recall: s.recall,
            ...(s.ignF1 !== undefined ? { ignF1: s.ignF1, intraF1: s.intraF1!, interF1: s.interF1! } : {}),
          };
          await appendFile(runsFile, JSON.stringify(run) + '\n');
        }
  }
  const runs = await readRuns();
  const stat = meanSd;
  const binary = dataset === 'cdr';
  const cols = binary ? ['F1', 'P', 'R'] : ['F1', 'Ign F1', 'intra F1', 'inter F1', 'P', 'R'];
  console.log(
    `\n${dataset}: ${trainDocs} documents × ${epochs} epochs, batch 4, lr ${lr}; last epoch on the validation documents\n`,
  );
  console.log(`| model | encoder | ${cols.join(' | ')} | seeds | train time / run |`);
  console.log(`|---|---|${cols.map(() => '---:').join('|')}|---|---:|`);
  for (const model of models)
    for (const arm of arms) {
      const rs = runs.filter((r) => r.model === model && r.arm === arm);
      if (rs.length === 0) continue;
      const keys: (keyof Run)[] = binary
        ? ['f1', 'precision', 'recall']
        : ['f1', 'ignF1', 'intraF1', 'interF1', 'precision', 'recall'];
      const cells = keys.map((k) => stat(rs.map((r) => r[k] as number)));
      const secs = rs.reduce((a, r) => a + r.trainSeconds, 0) / rs.length;
      console.log(
        `| ${EXAMPLE_MODELS[model].title} | ${arm === 'finetune' ? 'fine-tuned' : 'frozen'} | ${cells.join(' | ')} | ${rs.map((r) => r.seed).join(', ')} | ${secs.toFixed(0)} s |`,
      );
    }
}

await main();
