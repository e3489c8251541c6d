/**
 * The paper schedules (src/train/schedules.ts) the CLI and the examples give the trainer:
 * DocRE-II's two stages (setStage, stage-2 lrs from the preset) and GTN's discriminator step;
 * plain models get neither.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPresetModel } from '../../src/run/models.js';
import { discriminatorStep, paperSchedule, trainingPreset, twoStages } from '../../src/train/schedules.js';
import { isAdversarialModel, isStagedModel } from '../../src/models/types.js';
import { useTestBackend } from '../helpers.js';

await useTestBackend();

test('docreii: stage 1 (base) then stage 2 with the preset lrs relative to the head lr', () => {
  const model = createPresetModel('docreii', {
    hiddenSize: 16,
    numClasses: 4,
    pairSize: 16,
    ffnDim: 16,
    numLayers: 1,
  }) as ReturnType<typeof createPresetModel> & {
    trainingStage: 1 | 2;
  };
  const preset = trainingPreset('docreii');
  const s = paperSchedule('docreii', model, { epochs: 4, headLr: 1e-4 });
  assert.equal(s.extraSteps, undefined);
  assert.deepEqual(
    s.stages!.map((x) => x.epochs),
    [4, Math.round((4 * preset.stage2!.epochs) / preset.epochs)],
  );
  s.stages![0]!.onStart!(model);
  assert.equal(model.trainingStage, 1);
  s.stages![1]!.onStart!(model);
  assert.equal(model.trainingStage, 2);
  const scale = s.stages![1]!.lrScale as (n: string, g: string | undefined) => number;
  assert.equal(scale('x', 'inference'), preset.stage2!.inferenceLr / 1e-4);
  assert.equal(scale('x', 'base'), preset.stage2!.baseLr / 1e-4);
  assert.equal(
    paperSchedule('docreii', model, { epochs: 4, stage2Epochs: 7, headLr: 1e-4 }).stages![1]!.epochs,
    7,
  );
  model.dispose();
});

test('gtn: a discriminator step on the discriminator group; atlop: nothing extra', () => {
  const gtn = createPresetModel('gtn', {
    hiddenSize: 16,
    numClasses: 4,
    numLayers: 1,
    embSize: 16,
    blockSize: 4,
  });
  const s = paperSchedule('gtn', gtn, { epochs: 1, headLr: 1e-4 });
  const disc = gtn.variableGroups()['discriminator']!;
  assert.ok(disc.length > 0);
  assert.equal(s.extraSteps!.length, 1);
  assert.equal(s.extraSteps![0]!.lossKey, 'discriminator');
  assert.deepEqual(
    s.extraSteps![0]!.variables!.map((v) => v.name),
    disc.map((v) => v.name),
  );
  assert.deepEqual(s.extraSteps![0]!.optimizer.groups[0]!.lr, trainingPreset('gtn').discriminatorLr);
  const mainNames = new Set(gtn.trainableVariables().map((v) => v.name));
  assert.ok(
    disc.every((v) => !mainNames.has(v.name)),
    'the discriminator is not trained by the main objective',
  );
  s.extraSteps![0]!.optimizer.dispose();
  gtn.dispose();
  const atlop = createPresetModel('atlop', { hiddenSize: 16, numClasses: 4, embSize: 16, blockSize: 4 });
  assert.deepEqual(paperSchedule('atlop', atlop, { epochs: 1, headLr: 1e-4 }), {});
  atlop.dispose();
  assert.throws(
    () => createPresetModel('bert', { hiddenSize: 16, numClasses: 4 }),
    /cannot build model 'bert': model name: expected atlop \| docunet/,
  );
});

test('twoStages / discriminatorStep: lr scales only where needed, clear errors for a model without stages or discriminator', () => {
  const atlop = createPresetModel('atlop', { hiddenSize: 16, numClasses: 4, embSize: 16, blockSize: 4 });
  assert.equal(isStagedModel(atlop), false);
  assert.equal(isAdversarialModel(atlop), false);
  const [s1, s2] = twoStages(atlop, { stage1Epochs: 2, stage2Epochs: 1, baseLrScale: 0 });
  assert.deepEqual([s1!.epochs, s2!.epochs], [2, 1]);
  assert.equal(s1!.trainable, undefined);
  assert.equal(s2!.lrScale, undefined); // only `inference` trains, at scale 1
  assert.equal(s2!.trainable!('w', 'base', undefined as never), false);
  // the stage switch is checked when the stage starts
  assert.throws(() => s1!.onStart!(atlop), /twoStages model: expected a staged model .*"atlop"/);
  assert.throws(
    () => discriminatorStep(atlop, { lr: 1e-4 }),
    /discriminatorStep model: expected a model with a discriminator/,
  );
  const scaled = twoStages(atlop, {
    stage1Epochs: 1,
    stage2Epochs: 1,
    baseLrScale: 0,
    inferenceLrScale: 3,
  })[1]!;
  assert.equal((scaled.lrScale as (n: string, g: string) => number)('w', 'inference'), 3);
  atlop.dispose();
  const gtn = createPresetModel('gtn', {
    hiddenSize: 16,
    numClasses: 4,
    numLayers: 1,
    embSize: 16,
    blockSize: 4,
  });
  assert.ok(isAdversarialModel(gtn));
  const step = discriminatorStep(gtn, { lr: 2e-4 });
  assert.equal(step.optimizer.groups[0]!.lr, 2e-4);
  assert.equal(step.optimizer.weightDecay, 0.01); // AdamW's default unless given
  step.optimizer.dispose();
  gtn.dispose();
});
