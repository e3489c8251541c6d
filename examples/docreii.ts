/**
 * DocRE-II (base module, then an iterative ECA inference module trained with noise + SimSiam) on
 * the Re-DocRED split, in the paper's two stages: stage 1 trains the base module alone, stage 2
 * the inference module with the base frozen. `npx tsx examples/docreii.ts [--epochs 6] [--train-docs 400] [--seed 0]`
 * (`--epochs` is the total; stage 2 gets a third, as 15 of the paper's 30 + 15.)
 * Reduced for CPU: pair width 128, N_I = 2, K = 3, FFN 256.
 */
import { createModel, type DocREIIModel } from '../src/models/index.js';
import { exampleArgs, runExample } from './redocred.js';

const { epochs, trainDocs, seed } = exampleArgs({ epochs: 6, trainDocs: 400 });
const stage2 = Math.max(1, Math.round(epochs / 3));
const stage1 = Math.max(1, epochs - stage2);
await runExample('DocRE-II', {
  makeModel: (hiddenSize, numClasses) =>
    createModel('docreii', { hiddenSize, numClasses, pairSize: 128, numLayers: 2, iterations: 3, ffnDim: 256, seed }),
  epochs: stage1 + stage2,
  stages: () => [
    { epochs: stage1, onStart: (m) => (m as DocREIIModel).setStage(1), trainable: (_n, group) => group === 'base' },
    { epochs: stage2, onStart: (m) => (m as DocREIIModel).setStage(2), trainable: (_n, group) => group === 'inference' },
  ],
  trainDocs,
  seed,
  headLr: 1e-3,
  showTriples: 10,
  budget: `${trainDocs} documents, stage 1 (base) ${stage1} epochs + stage 2 (inference, base frozen) ${stage2} epochs, batch 4, lr 1e-3, pair width 128, N_I 2, K 3`,
});
