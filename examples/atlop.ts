/**
 * ATLOP (adaptive thresholding + localized context pooling) on the Re-DocRED split.
 * `npx tsx examples/atlop.ts [--epochs 5] [--train-docs 400] [--seed 0]`
 * Head reduced for CPU: extractor 128, block 16 (paper: 768 / 64 on BERT-base).
 */
import { createModel } from '../src/models/index.js';
import { exampleArgs, runExample } from './redocred.js';

const { epochs, trainDocs, seed } = exampleArgs({ epochs: 5, trainDocs: 400 });
await runExample('ATLOP', {
  makeModel: (hiddenSize, numClasses) => createModel('atlop', { hiddenSize, numClasses, embSize: 128, blockSize: 16 }),
  epochs,
  trainDocs,
  seed,
  headLr: 1e-3,
  showTriples: 10,
  budget: `${trainDocs} documents × ${epochs} epochs, batch 4, lr 1e-3, head emb 128 / block 16`,
});
