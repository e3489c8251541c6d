/**
 * DRE-MIR (entity-pair matrix → I-MSA inference module, masked-image reconstruction with AT +
 * bidirectional KL) on the Re-DocRED split
 * (examples/redocred.ts: bundled dev_revised.json, 400 train / 100 validation, embedded frozen
 * encoder with cached features, official scorer).
 * `npx tsx examples/dremir.ts [--epochs 5] [--train-docs 400] [--seed 0]`
 * Reduced for CPU: pair width 128, 2 inference layers (paper: 3), FFN 256. The embedded encoder
 * has no CLS token, so h_doc is the mean of the tokens.
 */
import { exampleArgs, EXAMPLE_MODELS, paperRun, runExample } from './redocred.js';

const args = exampleArgs({ epochs: 5, trainDocs: 400 });
await runExample(EXAMPLE_MODELS.dremir.title, paperRun('dremir', { ...args, showTriples: 10 }));
