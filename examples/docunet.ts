/**
 * DocuNet (entity-level relation matrix → U-Net → bilinear classifier, balanced softmax) on the Re-DocRED split
 * (examples/redocred.ts: bundled dev_revised.json, 400 train / 100 validation, embedded frozen
 * encoder with cached features, official scorer).
 * `npx tsx examples/docunet.ts [--epochs 5] [--train-docs 400] [--seed 0]`
 * Reduced for CPU: U-Net 32/64 channels, out 64, extractor 128, block 16 (paper: 256/512, 256, 768/64).
 */
import { exampleArgs, EXAMPLE_MODELS, paperRun, runExample } from './redocred.js';

const args = exampleArgs({ epochs: 5, trainDocs: 400 });
await runExample(EXAMPLE_MODELS.docunet.title, paperRun('docunet', { ...args, showTriples: 10 }));
