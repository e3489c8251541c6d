/**
 * The examples' training budgets (examples/redocred.ts `paperRun`): every model gets the same
 * epochs, batch and lr; DocRE-II's two schedules split them as documented.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DOCREII_BASE_LR_SCALE, paperRun } from '../../examples/redocred.js';
import type { DocREModel } from '../../src/models/index.js';

const stagesOf = (run: ReturnType<typeof paperRun>) => run.stages!({} as DocREModel);

test('the four one-stage models train for the given epochs at batch 4, lr 1e-3', () => {
  for (const name of ['atlop', 'docunet', 'dremir', 'gtn'] as const) {
    const run = paperRun(name, { epochs: 5, trainDocs: 400, seed: 0 });
    assert.equal(run.epochs, 5, name);
    assert.equal((run.batchSize ?? 4) * (run.accumulationSteps ?? 1), 4, name);
    assert.equal(run.headLr, 1e-3, name);
    assert.equal(run.stages, undefined, name);
  }
});

test("headLr sets every model's heads' lr and is written in its budget", () => {
  for (const name of ['atlop', 'docunet', 'dremir', 'gtn', 'docreii'] as const) {
    const run = paperRun(name, { epochs: 5, trainDocs: 400, seed: 0, headLr: 3e-4 });
    assert.equal(run.headLr, 3e-4, name);
    assert.match(run.budget, /, lr 3e-4, /, name);
    assert.match(paperRun(name, { epochs: 5, trainDocs: 400, seed: 0 }).budget, /, lr 1e-3, /, name);
  }
});

test("DocRE-II's paper schedule: the base for the whole budget, then half as many epochs of the whole model with the base at lr/10", () => {
  const run = paperRun('docreii', { epochs: 5, trainDocs: 400, seed: 0 });
  const [s1, s2] = stagesOf(run);
  assert.deepEqual([s1!.epochs, s2!.epochs, run.epochs], [5, 3, 8]);
  assert.equal(s1!.trainable!('w', 'base', undefined as never), true);
  assert.equal(s1!.trainable!('w', 'inference', undefined as never), false);
  assert.equal(s2!.trainable, undefined); // stage 2 trains every variable ...
  const scale = s2!.lrScale as (n: string, g: string | undefined) => number;
  assert.equal(scale('w', 'base'), DOCREII_BASE_LR_SCALE); // ... the base at a tenth of the lr
  assert.equal(DOCREII_BASE_LR_SCALE, 0.1);
  assert.equal(scale('w', 'inference'), 1);
  assert.match(run.budget, /stage 1 \(base\) 5 \+ stage 2 \(whole model, base at lr × 0\.1\) 3 epochs/);
  assert.equal((run.batchSize ?? 4) * (run.accumulationSteps ?? 1), 4);
});

test("DocRE-II's split schedule: the same total epochs, stage 2 the inference module alone", () => {
  for (const [epochs, one, two] of [
    [5, 3, 2],
    [6, 4, 2],
    [1, 1, 1],
  ] as const) {
    const run = paperRun('docreii', { epochs, trainDocs: 400, seed: 0, docreiiSchedule: 'split' });
    const [s1, s2] = stagesOf(run);
    assert.deepEqual([s1!.epochs, s2!.epochs], [one, two], `epochs ${epochs}`);
    assert.equal(s2!.trainable!('w', 'base', undefined as never), false);
    assert.equal(s2!.trainable!('w', 'inference', undefined as never), true);
    assert.equal(s2!.lrScale, undefined);
  }
});
