/**
 * Child process for the kill-and-resume test: trains the toy model with resume checkpoints every
 * 2 steps. `--hang-after N` prints `checkpointed N` after step N and then waits forever (the
 * parent SIGKILLs it); otherwise it writes the final weights as JSON to `--weights-out`.
 *   node --import tsx test/train/train-script.ts --out DIR [--resume] [--hang-after N] [--weights-out FILE]
 */
import { parseArgs } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { Trainer } from '../../src/train/index.js';
import { ToyModel, toyCollate, toyItems } from './toy.js';
import { useTestBackend } from '../helpers.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    resume: { type: 'boolean', default: false },
    'hang-after': { type: 'string' },
    'weights-out': { type: 'string' },
  },
});
await useTestBackend();
const hangAfter = values['hang-after'] === undefined ? -1 : Number(values['hang-after']);
const model = new ToyModel();
const res = await new Trainer(model, {
  collate: toyCollate,
  epochs: 3,
  batchSize: 4,
  optimizer: { headLr: 0.05 },
  seed: 11,
  outDir: values.out!,
  checkpointEvery: 2,
  resume: values.resume,
  progress: false,
  onStep: async ({ step, checkpointed }) => {
    if (step === hangAfter) {
      process.stdout.write(`checkpointed ${checkpointed} ${step}\n`);
      await new Promise(() => setInterval(() => {}, 1000)); // wait for SIGKILL
    }
  },
}).fit(toyItems(12, 2));
if (values['weights-out'])
  await writeFile(
    values['weights-out'],
    JSON.stringify({ resumed: res.resumed, steps: res.steps, ...model.snapshot() }),
  );
