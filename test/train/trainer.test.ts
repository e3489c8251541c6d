/**
 * Trainer on a toy linear DocRE model: the loss falls, the best checkpoint follows dev F1,
 * accumulation equals a large batch, stages freeze what they should, extra (adversarial) steps
 * touch only their own variables, a resumed run ends where an uninterrupted one does, progress
 * output is plain when not a TTY.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  AdamW,
  ProgressReporter,
  Trainer,
  formatDuration,
  type TrainableModel,
  type TrainerOptions,
} from '../../src/train/index.js';
import { ToyModel, toyCollate, toyItems, type ToyItem } from './toy.js';
import { useTestBackend } from '../helpers.js';

await useTestBackend();

const items = toyItems(12, 1);
const base: TrainerOptions<ToyItem> = {
  collate: toyCollate,
  batchSize: 4,
  optimizer: { headLr: 0.05 },
  warmupRatio: 0.1,
  seed: 3,
  progress: false,
};
const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), 'docre-trainer-'));

test('training the toy model lowers the loss', async () => {
  const model = new ToyModel();
  const { history, steps } = await new Trainer(model, { ...base, epochs: 8, optimizer: { headLr: 0.2 } }).fit(
    items,
  );
  assert.equal(steps, 8 * 3);
  assert.equal(history.length, 8);
  assert.ok(history[7]!.loss < 0.6 * history[0]!.loss, `loss ${history[0]!.loss} → ${history[7]!.loss}`);
});

test('the best checkpoint is the epoch with the highest dev F1', async () => {
  const dir = await tmp();
  const model = new ToyModel();
  const f1s = [0.2, 0.5, 0.4];
  const snaps: ReturnType<ToyModel['snapshot']>[] = [];
  let calls = 0;
  const res = await new Trainer(model, {
    ...base,
    epochs: 3,
    outDir: dir,
    evaluate: () => ({ f1: f1s[calls++]!, precision: 0.3 }),
    onEpochEnd: () => void snaps.push(model.snapshot()),
  }).fit(items);
  assert.equal(res.bestEpoch, 1);
  assert.equal(res.bestF1, 0.5);
  assert.deepEqual(
    res.history.map((h) => h.metrics?.f1),
    f1s,
  );
  const best = JSON.parse(await fs.readFile(path.join(dir, 'best', 'weights.json'), 'utf8'));
  assert.deepEqual(best, snaps[1]);
  assert.notDeepEqual(best, snaps[2]);
  const last = JSON.parse(await fs.readFile(path.join(dir, 'last', 'weights.json'), 'utf8'));
  assert.deepEqual(last, snaps[2]);
  assert.deepEqual((await fs.readdir(dir)).sort(), ['best', 'last', 'resume.ckpt']);
  await fs.rm(dir, { recursive: true });
});

test('accumulating 2 micro-batches of 2 equals batches of 4', async () => {
  const a = new ToyModel();
  const b = new ToyModel();
  await new Trainer(a, { ...base, epochs: 2, batchSize: 4 }).fit(items);
  await new Trainer(b, { ...base, epochs: 2, batchSize: 2, accumulationSteps: 2 }).fit(items);
  const sa = a.snapshot();
  const sb = b.snapshot();
  sa.w.forEach((x, i) => assert.ok(Math.abs(x - sb.w[i]!) < 1e-5, `w[${i}] ${x} vs ${sb.w[i]}`));
  assert.notDeepEqual(sa.w, new ToyModel().snapshot().w);
});

test('stages: each stage updates only the variables its filter keeps, with its lr scale', async () => {
  const model = new ToyModel();
  const init = model.snapshot();
  const snaps: ReturnType<ToyModel['snapshot']>[] = [];
  await new Trainer(model, {
    ...base,
    stages: [
      { epochs: 1, trainable: (_n, group) => group === 'heads' },
      { epochs: 2, trainable: (_n, group) => group === 'bias', lrScale: 0.5 },
    ],
    onEpochEnd: () => void snaps.push(model.snapshot()),
  }).fit(items);
  assert.deepEqual(snaps[0]!.c, init.c, 'bias frozen in stage 1');
  assert.notDeepEqual(snaps[0]!.w, init.w);
  assert.deepEqual(snaps[2]!.w, snaps[0]!.w, 'kernel frozen in stage 2');
  assert.notDeepEqual(snaps[2]!.c, init.c);
  await assert.rejects(
    new Trainer(new ToyModel(), { ...base, stages: [{ epochs: 1, trainable: () => false }] }).fit(items),
    /stages\[0\]\.trainable: expected to keep at least one variable/,
  );
});

test('stages: onStart switches a model whose trainableVariables() follow its stage (DocRE-II style)', async () => {
  class Staged extends ToyModel {
    stage = 1;
    starts: number[] = [];
    override trainableVariables() {
      return this.stage === 1 ? [this.w] : [this.w, this.c];
    }
  }
  const model = new Staged();
  const init = model.snapshot();
  const snaps: ReturnType<ToyModel['snapshot']>[] = [];
  await new Trainer(model, {
    ...base,
    stages: [
      { epochs: 1, onStart: (m) => (((m as Staged).stage = 1), (m as Staged).starts.push(1)) },
      {
        epochs: 2,
        onStart: (m) => (((m as Staged).stage = 2), (m as Staged).starts.push(2)),
        trainable: (_n, g) => g === 'bias',
      },
    ],
    onEpochEnd: () => void snaps.push(model.snapshot()),
  }).fit(items);
  assert.deepEqual(model.starts, [1, 2, 2]); // once per epoch of each stage
  assert.deepEqual(snaps[0]!.c, init.c, 'c is not a stage-1 variable');
  assert.notDeepEqual(
    snaps[2]!.c,
    init.c,
    'c, absent from trainableVariables() at construction, is trained in stage 2',
  );
  assert.deepEqual(snaps[2]!.w, snaps[0]!.w);
});

test('extra steps train only their variables and leave the main trajectory unchanged', async () => {
  const plain = new ToyModel();
  await new Trainer(plain, { ...base, epochs: 2 }).fit(items);
  const adv = new ToyModel();
  const discOpt = new AdamW([{ variables: [adv.disc], lr: 0.1, weightDecay: 0 }]);
  await new Trainer(adv, { ...base, epochs: 2, extraSteps: [{ optimizer: discOpt, lossKey: 'disc' }] }).fit(
    items,
  );
  const p = plain.snapshot();
  const a = adv.snapshot();
  assert.deepEqual(a.w, p.w);
  assert.deepEqual(a.c, p.c);
  assert.equal(p.disc[0], 0.5);
  // disc moved from 0.5 toward the mean logit
  const meanLogit = tf.tidy(() => adv.forward(toyCollate(items), {}).logits.mean().dataSync()[0]!);
  assert.ok(
    Math.abs(a.disc[0]! - meanLogit) < Math.abs(0.5 - meanLogit),
    `disc ${a.disc[0]} vs mean ${meanLogit}`,
  );
});

test('resuming from the last checkpoint after a crash ends with the uninterrupted weights', async () => {
  const dirA = await tmp();
  const dirB = await tmp();
  const full = new ToyModel();
  // a deterministic "dev F1" from the weights, so both runs must pick the same best epoch
  const evaluate = (m: TrainableModel) => ({
    f1: 1 / (1 + Math.abs((m as ToyModel).snapshot().w[0]! - 0.1)),
  });
  const opts = { ...base, epochs: 3, checkpointEvery: 2, evaluate };
  const fullRes = await new Trainer(full, { ...opts, outDir: dirA }).fit(items);
  const crashing = new ToyModel();
  await assert.rejects(
    new Trainer(crashing, {
      ...opts,
      outDir: dirB,
      onStep: ({ step }) => {
        if (step === 5) throw new Error('crash'); // after the checkpoint at step 4 (mid epoch 2)
      },
    }).fit(items),
    /crash/,
  );
  const fresh = new ToyModel(); // same seed: the resume must overwrite everything that matters
  const steps: number[] = [];
  const res = await new Trainer(fresh, {
    ...opts,
    outDir: dirB,
    resume: true,
    onStep: ({ step }) => void steps.push(step),
  }).fit(items);
  assert.equal(res.resumed, true);
  assert.deepEqual(steps, [5, 6, 7, 8, 9]);
  assert.deepEqual(fresh.snapshot(), full.snapshot());
  assert.equal(res.bestEpoch, fullRes.bestEpoch);
  assert.equal(res.bestF1, fullRes.bestF1);
  assert.deepEqual(
    res.history,
    fullRes.history.map((h, i) => ({ ...h, seconds: res.history[i]!.seconds })),
  );
  const best = (d: string) => fs.readFile(path.join(d, 'best', 'weights.json'), 'utf8');
  assert.equal(await best(dirB), await best(dirA));
  await Promise.all([dirA, dirB].map((d) => fs.rm(d, { recursive: true })));
});

test('progress: plain lines when not a TTY, an in-place bar on a TTY', async () => {
  const out: string[] = [];
  const stream = { write: (s: string) => out.push(s), isTTY: false };
  await new Trainer(new ToyModel(), { ...base, epochs: 2, progress: { stream } }).fit(items);
  const text = out.join('');
  assert.doesNotMatch(text, /\r|\x1b/);
  const lines = text.trimEnd().split('\n');
  assert.ok(
    lines.some((l) => /^step 6\/6 .*epoch 2\/2 .*loss \d\.\d{4} .*eta /.test(l)),
    text,
  );
  assert.ok(
    lines.some((l) => /^epoch 1\/2 {2}loss \d\.\d{4}$/.test(l)),
    text,
  );
  let t = 0;
  const tty: string[] = [];
  const p = new ProgressReporter(10, {
    stream: { write: (s: string) => tty.push(s), isTTY: true, columns: 100 },
    now: () => (t += 1000),
  });
  p.update(5, { loss: 0.5 });
  p.log('hello');
  p.update(10, { loss: 0.25 });
  p.done();
  assert.match(tty[0]!, /^\r\x1b\[K█+░+ 5\/10 {2}loss 0\.5000 .*eta 5s$/);
  assert.equal(tty[1], '\r\x1b[K');
  assert.equal(tty[2], 'hello\n');
  assert.equal(tty.at(-1), '\n');
  assert.deepEqual([5, 65, 3725].map(formatDuration), ['5s', '1m05s', '1h02m']);
});

test('bad options and bad runs are clear errors', async () => {
  const m = new ToyModel();
  assert.throws(() => new Trainer(m, { ...base, epochs: 0 }), /epochs: expected an integer >= 1, got 0/);
  assert.throws(() => new Trainer(m, { ...base, resume: true }), /resume: expected outDir to be set/);
  await assert.rejects(
    new Trainer(m, { ...base, lossKey: 'nope' }).fit(items),
    /lossKey: expected one of the model's losses \(bce, disc, total\), got "nope"/,
  );
  await assert.rejects(new Trainer(m, base).fit([]), /items: expected at least one training item/);
  const dir = await tmp();
  await new Trainer(new ToyModel(), { ...base, outDir: dir }).fit(items);
  await assert.rejects(
    new Trainer(new ToyModel(), { ...base, batchSize: 2, outDir: dir, resume: true }).fit(items),
    /resume\.ckpt: expected a checkpoint of the same run/,
  );
  await fs.rm(dir, { recursive: true });
});

test('a training step leaks no tensors', async () => {
  const m = new ToyModel();
  const t = new Trainer(m, { ...base, epochs: 1 });
  await t.fit(items); // creates the optimizer moments
  const before = tf.memory().numTensors;
  await t.fit(items);
  assert.equal(tf.memory().numTensors, before);
});
