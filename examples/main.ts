/**
 * The README's main job (`npm run main`): ATLOP — the fastest of the five models — trained on the
 * bundled Re-DocRED split (first 400 documents train, last 100 validation) with the embedded
 * frozen encoder (USE-lite, features cached in .cache/features on the first run), scored on the
 * 100 validation documents with the official DocRED scorer, then 15 extracted relations printed.
 *
 * Budget: exactly the ATLOP row of docs/results.md (seed 0): 400 documents × 5 epochs, batch 4,
 * lr 1e-3, head emb 128 / block 16 instead of BERT-base's 768 / 64. MAIN_EPOCHS / MAIN_TRAIN_DOCS
 * shrink it. About 8–10 minutes on 2 idle cores, a third of it encoding the 500 documents once.
 * These are NOT the paper's BERT numbers: a 2-layer frozen sentence encoder and 400 training
 * documents instead of BERT-base fine-tuned on 3,053 documents.
 */
import { EXAMPLE_MODELS, paperRun, runExample } from './redocred.js';

const epochs = Number(process.env['MAIN_EPOCHS'] ?? 5);
const trainDocs = Number(process.env['MAIN_TRAIN_DOCS'] ?? 400);
console.log('docre-kit main job: train, score and extract relations with the embedded encoder.');
const t0 = Date.now();
await runExample(
  EXAMPLE_MODELS.atlop.title,
  paperRun('atlop', { epochs, trainDocs, seed: 0, showTriples: 15 }),
);
console.log(
  `Whole job ${((Date.now() - t0) / 1000).toFixed(0)} s. Not comparable to the papers: frozen 2-layer USE-lite features and ${trainDocs} training documents, not fine-tuned BERT-base.`,
);
