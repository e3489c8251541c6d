/**
 * DocRE-II (base module, then an iterative ECA inference module trained with noise + SimSiam), in
 * the paper's two stages: stage 1 trains the base module alone, stage 2 the inference module with
 * the base frozen (`--epochs` is the total; stage 2 gets a third, as the paper's 15 after 30) on the Re-DocRED split
 * (examples/redocred.ts: bundled dev_revised.json, 400 train / 100 validation, embedded frozen
 * encoder with cached features, official scorer).
 * `npx tsx examples/docreii.ts [--epochs 6] [--train-docs 400] [--seed 0]`
 * Reduced for CPU: pair width 128, N_I = 2, K = 3, FFN 256.
 */
import { exampleArgs, EXAMPLE_MODELS, paperRun, runExample } from './redocred.js';

const args = exampleArgs({ epochs: 6, trainDocs: 400 });
await runExample(EXAMPLE_MODELS.docreii.title, paperRun('docreii', { ...args, showTriples: 10 }));
