/**
 * DocRE-II (base module, then an iterative ECA inference module trained with noise + SimSiam), in
 * the paper's two stages (§2.3): stage 1 trains the base module alone for `--epochs` (the
 * baseline's budget), stage 2 the whole model for half as many epochs with the base module at a
 * tenth of the lr (the paper's 30 + 15 epochs, 1e-5 vs 1e-4). `--schedule split` runs the paper's
 * "w/ freeze base module" ablation in `--epochs` in total instead (two thirds stage 1, a third
 * stage 2 with the base frozen). On the Re-DocRED split (examples/redocred.ts: bundled
 * dev_revised.json, 400 train / 100 validation, embedded frozen encoder with cached features,
 * official scorer).
 * `npx tsx examples/docreii.ts [--epochs 5] [--train-docs 400] [--seed 0] [--schedule paper|split]`
 * Reduced for CPU: pair width 128, N_I = 2, K = 3, FFN 256.
 */
import { exampleArgs, EXAMPLE_MODELS, paperRun, runExample, type DocREIISchedule } from './redocred.js';

const args = exampleArgs({ epochs: 5, trainDocs: 400 });
const i = process.argv.indexOf('--schedule');
const schedule = (i >= 0 ? process.argv[i + 1] : 'paper') as DocREIISchedule;
if (schedule !== 'paper' && schedule !== 'split')
  throw new Error(`--schedule: expected paper or split, got ${schedule}`);
await runExample(
  EXAMPLE_MODELS.docreii.title,
  paperRun('docreii', { ...args, showTriples: 10, docreiiSchedule: schedule }),
);
