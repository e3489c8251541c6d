import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { DocREIIModel, disposeInput } from '../../src/models/index.js';
import { useTestBackend } from '../helpers.js';
import { near, scalar } from '../fixtures/foundation.js';
import { D, R, SLOW_WEBGPU, defaultBatch, evalLoss, modelSuite, values } from './model-suite.js';

await useTestBackend();

const config = { hiddenSize: D, numClasses: R, pairSize: 8, ffnDim: 8, numLayers: 1, iterations: 2 };
modelSuite('DocREIIModel (stage 2)', {
  make: (extra = {}) => new DocREIIModel({ ...config, ...extra }),
  load: (dir) => DocREIIModel.load(dir),
  trainingLosses: ['at', 'contrast'],
});
// stage 1 is the base module alone (ATLOP-like layers already covered on every backend): cpu and wasm
if (!SLOW_WEBGPU)
  modelSuite('DocREIIModel (stage 1)', {
    make: (extra = {}) => new DocREIIModel({ ...config, stage: 1, ...extra }),
    load: (dir) => DocREIIModel.load(dir),
    trainingLosses: ['at'],
  });

test('DocREIIModel: variable groups split base and inference; stage 1 trains the base only', () => {
  const model = new DocREIIModel({ ...config, stage: 1 });
  const groups = model.variableGroups();
  assert.deepEqual(Object.keys(groups).sort(), ['base', 'inference']);
  assert.ok(groups['base']!.length > 0 && groups['inference']!.length > 0);
  assert.deepEqual(new Set(model.trainableVariables()), new Set(groups['base']));
  model.setStage(2);
  assert.equal(model.trainableVariables().length, groups['base']!.length + groups['inference']!.length);
  model.dispose();
});

test('DocREIIModel: stage 2 with the base frozen leaves base weights unchanged and trains the inference module', async () => {
  // no noise and no SimSiam term here: the stage-2 objective is then exactly the loss evaluated
  // below, so "it falls" tests the freezing and the inference module's training, not the noise draw
  const model = new DocREIIModel({ ...config, stage: 1, noiseMax: 0, contrastWeight: 0 });
  const batches = SLOW_WEBGPU ? [defaultBatch(41)] : [defaultBatch(41), defaultBatch(42)]; // fewer steps on SwiftShader
  const [steps1, steps2] = SLOW_WEBGPU ? [1, 3] : [3, 8];
  const opt1 = tf.train.adam(1e-2);
  for (let i = 0; i < steps1; i++)
    for (const b of batches)
      tf.dispose(
        opt1.minimize(
          () => model.forward(b, { training: true }).losses['total']!,
          true,
          model.trainableVariables(),
        ) ?? [],
      );
  const stage1Logits = model.forward(batches[0]!).logits;
  model.setStage(2);
  const { base, inference } = model.variableGroups() as Record<string, tf.Variable[]>;
  const base0 = await values(base!);
  const inf0 = await values(inference!);
  const before = await evalLoss(model, batches);
  const opt2 = tf.train.adam(1e-2);
  for (let i = 0; i < steps2; i++)
    for (const b of batches)
      tf.dispose(
        opt2.minimize(() => model.forward(b, { training: true }).losses['total']!, true, inference) ?? [],
      );
  assert.deepEqual(await values(base!), base0, 'base unchanged');
  assert.notDeepEqual(await values(inference!), inf0, 'inference trained');
  const after = await evalLoss(model, batches);
  assert.ok(after < before, `stage-2 loss ${before} → ${after}`);
  // stage-1 logits are the base classifier's: switching back reproduces them exactly
  model.setStage(1);
  const again = model.forward(batches[0]!).logits;
  await near(again, stage1Logits, 0, 0, 'base logits');
  tf.dispose([stage1Logits, again]);
  opt1.dispose();
  opt2.dispose();
  batches.forEach(disposeInput);
  model.dispose();
});

test('DocREIIModel: stage-2 inference = base logits + K accumulated refinements (K changes the logits)', async () => {
  const one = new DocREIIModel({ ...config, iterations: 1 });
  const batch = defaultBatch(43);
  const a = one.forward(batch).logits;
  one.setStage(1);
  const base = one.forward(batch).logits;
  assert.ok((await scalar(a.sub(base).abs().max())) > 0, 'inference changes the base logits');
  tf.dispose([a, base, one.forward({ ...batch, labels: undefined }).logits]);
  disposeInput(batch);
  one.dispose();
});

test('DocREIIModel: invalid stage and config are rejected', () => {
  const m = new DocREIIModel(config);
  assert.throws(() => m.setStage(3 as 1), /stage/);
  m.dispose();
  assert.throws(() => new DocREIIModel({ ...config, pairSize: 6 }), /pairSize/);
  assert.throws(() => new DocREIIModel({ ...config, noiseMax: 2 }), /noiseMax/);
});
