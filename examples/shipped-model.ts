/**
 * How the pretrained model in `assets/model/docunet-redocred` is made (docs/results.md, "The
 * shipped model"). The recipe is the results table's best row: DocuNet, reduced head (U-Net 32
 * channels / out 64, head emb 128 / block 16, decode top-4), embedded frozen encoder, batch 4,
 * heads' lr 1e-3, 6 % warmup, clipping 1, 10 epochs, seed 0.
 *
 *   npx tsx examples/shipped-model.ts            # held-out check (400 → 100), then all 500, then compact
 *   npx tsx examples/shipped-model.ts --compact-only   # step 3 from existing runs/shipped-all
 *
 * 1. `docre-kit train` on the 400-document split with the 100 validation documents as dev: the
 *    held-out F1 of this exact recipe (what the README states), written to runs/shipped-heldout.
 * 2. `docre-kit train` on all 500 documents (the shipped weights; no held-out data is left).
 * 3. float16 weights (`compactCheckpoint`), and a check that the float16 model predicts exactly
 *    the same triples as the float32 one on all 500 documents; the size of both.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { runCli } from '../src/cli/index.js';
import { reDocREDSplit } from '../src/data/docred.js';
import { compactCheckpoint } from '../src/models/base.js';

const DATA = 'assets/re-docred/dev_revised.json';
const OUT = 'assets/model/docunet-redocred';
const CONFIG = { unetChannels: 32, unetOut: 64, embSize: 128, blockSize: 16, topK: 4 };
/** The training command (also printed); `--train` / `--dev` / `--out` are added per run. */
export const RECIPE = [
  'train', '--model', 'docunet', '--epochs', '10', '--lr', '1e-3', '--batch-size', '4',
  '--warmup-ratio', '0.06', '--max-grad-norm', '1', '--weight-decay', '0', '--seed', '0',
  '--cache', '.cache/features', '--config', JSON.stringify(CONFIG),
];

async function cli(argv: string[]): Promise<void> {
  console.log(`$ docre-kit ${argv.map((a) => (/[\s{"]/.test(a) ? `'${a}'` : a)).join(' ')}`);
  const code = await runCli(argv);
  if (code !== 0) throw new Error(`docre-kit ${argv[0]} exited with ${code}`);
}

async function main(): Promise<void> {
  const compactOnly = process.argv.includes('--compact-only');
  await fs.mkdir('runs/split', { recursive: true });
  if (!compactOnly) {
    const docs = JSON.parse(await fs.readFile(DATA, 'utf8')) as unknown[];
    const { train, validation } = reDocREDSplit(docs);
    await fs.writeFile('runs/split/train.json', JSON.stringify(train));
    await fs.writeFile('runs/split/dev.json', JSON.stringify(validation));
    await cli([...RECIPE, '--train', 'runs/split/train.json', '--dev', 'runs/split/dev.json', '--out', 'runs/shipped-heldout']);
    await cli(['evaluate', '--model-dir', 'runs/shipped-heldout/last', '--data', 'runs/split/dev.json', '--train', 'runs/split/train.json']);
    await cli([...RECIPE, '--train', DATA, '--out', 'runs/shipped-all']);
  }
  const full = 'runs/shipped-all/last';
  await fs.rm(OUT, { recursive: true, force: true });
  const { bytes } = await compactCheckpoint(full, OUT);
  await fs.copyFile(path.join(full, 'docre-kit.json'), path.join(OUT, 'docre-kit.json'));
  const f32 = (await fs.stat(path.join(full, 'weights.bin'))).size;
  console.log(`weights: float32 ${f32} bytes → float16 ${bytes} bytes (${OUT})`);
  await cli(['predict', '--model-dir', full, '--data', DATA, '--out', 'runs/shipped-f32.json', '--quiet']);
  await cli(['predict', '--model-dir', OUT, '--data', DATA, '--out', 'runs/shipped-f16.json', '--quiet']);
  const a = await fs.readFile('runs/shipped-f32.json', 'utf8');
  const b = await fs.readFile('runs/shipped-f16.json', 'utf8');
  const n = (JSON.parse(a) as unknown[]).length;
  console.log(a === b ? `float16 predicts the same ${n} triples as float32 on all 500 documents` : 'float16 predictions DIFFER from float32');
  if (a !== b) process.exitCode = 1;
}

await main();
