/**
 * DocuNet (entity-level relation matrix → U-Net → bilinear classifier, balanced softmax) on the
 * Re-DocRED split. `npx tsx examples/docunet.ts [--epochs 5] [--train-docs 400] [--seed 0]`
 * Reduced for CPU: U-Net 32/64 channels, out 64, extractor 128, block 16 (paper: 256/512, 256, 768/64).
 */
import { createModel } from '../src/models/index.js';
import { exampleArgs, runExample } from './redocred.js';

const { epochs, trainDocs, seed } = exampleArgs({ epochs: 5, trainDocs: 400 });
await runExample('DocuNet', {
  makeModel: (hiddenSize, numClasses) =>
    createModel('docunet', { hiddenSize, numClasses, unetChannels: 32, unetOut: 64, embSize: 128, blockSize: 16 }),
  epochs,
  trainDocs,
  seed,
  headLr: 1e-3,
  showTriples: 10,
  budget: `${trainDocs} documents × ${epochs} epochs, batch 4, lr 1e-3, U-Net 32 channels / out 64, head emb 128 / block 16`,
});
