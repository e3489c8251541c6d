/**
 * GTN / DocRE-BSI (document graph → Graph-Transformer layers with cross-attention to the tokens,
 * node reconstruction, SA-KD discriminator in its own optimizer step) on the Re-DocRED split.
 * `npx tsx examples/gtn.ts [--epochs 5] [--train-docs 400] [--seed 0]`
 * Reduced for CPU: 1 GTN layer (paper: 2), extractor 128, block 16. With the frozen embedded
 * encoder the generator side of SA-KD has nothing to train; the discriminator still learns.
 */
import { createModel } from '../src/models/index.js';
import { discriminatorOptimizer, exampleArgs, runExample } from './redocred.js';

const { epochs, trainDocs, seed } = exampleArgs({ epochs: 5, trainDocs: 400 });
await runExample('GTN (DocRE-BSI)', {
  makeModel: (hiddenSize, numClasses) =>
    createModel('gtn', { hiddenSize, numClasses, numLayers: 1, embSize: 128, blockSize: 16, docPooling: 'mean', seed }),
  graph: true,
  extraSteps: (model) => {
    const disc = model.variableGroups()['discriminator']!;
    return [{ optimizer: discriminatorOptimizer(disc, 1e-4), lossKey: 'discriminator', variables: disc }];
  },
  epochs,
  trainDocs,
  seed,
  headLr: 1e-3,
  showTriples: 10,
  budget: `${trainDocs} documents × ${epochs} epochs, batch 4, lr 1e-3 (discriminator 1e-4), 1 GTN layer, head emb 128 / block 16`,
});
