/**
 * GTN / DocRE-BSI (document graph → Graph-Transformer layers with cross-attention to the tokens,
 * node reconstruction, SA-KD discriminator in its own optimizer step) on the Re-DocRED split
 * (examples/redocred.ts: bundled dev_revised.json, 400 train / 100 validation, embedded frozen
 * encoder with cached features, official scorer).
 * `npx tsx examples/gtn.ts [--epochs 5] [--train-docs 400] [--seed 0]`
 * Reduced for CPU: 1 GTN layer (paper: 2), extractor 128, block 16. With the frozen embedded
 * encoder the generator side of SA-KD has nothing to train; the discriminator still learns.
 */
import { exampleArgs, EXAMPLE_MODELS, paperRun, runExample } from './redocred.js';

const args = exampleArgs({ epochs: 5, trainDocs: 400 });
await runExample(EXAMPLE_MODELS.gtn.title, paperRun('gtn', { ...args, showTriples: 10 }));
