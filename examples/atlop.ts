/**
 * ATLOP (adaptive thresholding + localized context pooling) on the Re-DocRED split
 * (examples/redocred.ts: bundled dev_revised.json, 400 train / 100 validation, embedded frozen
 * encoder with cached features, official scorer).
 * `npx tsx examples/atlop.ts [--epochs 5] [--train-docs 400] [--seed 0]`
 * Head reduced for CPU: extractor 128, block 16 (paper: 768 / 64 on BERT-base).
 */
import { exampleArgs, EXAMPLE_MODELS, paperRun, runExample } from './redocred.js';

const args = exampleArgs({ epochs: 5, trainDocs: 400 });
await runExample(EXAMPLE_MODELS.atlop.title, paperRun('atlop', { ...args, showTriples: 10 }));
