/**
 * DRE-MIR (entity-pair matrix → I-MSA inference module, masked-image reconstruction with AT +
 * bidirectional KL) on the Re-DocRED split. `npx tsx examples/dremir.ts [--epochs 5] [--train-docs 400] [--seed 0]`
 * Reduced for CPU: pair width 128, 2 inference layers (paper: 3), FFN 256. The embedded encoder
 * has no CLS token, so h_doc is the mean of the tokens.
 */
import { createModel } from '../src/models/index.js';
import { exampleArgs, runExample } from './redocred.js';

const { epochs, trainDocs, seed } = exampleArgs({ epochs: 5, trainDocs: 400 });
await runExample('DRE-MIR', {
  makeModel: (hiddenSize, numClasses) =>
    createModel('dremir', { hiddenSize, numClasses, pairSize: 128, numLayers: 2, ffnDim: 256, docPooling: 'mean', seed }),
  epochs,
  trainDocs,
  seed,
  headLr: 1e-3,
  showTriples: 10,
  budget: `${trainDocs} documents × ${epochs} epochs, batch 4, lr 1e-3, pair width 128, 2 I-MSA layers, 20 % masked pairs`,
});
