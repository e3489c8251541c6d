import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { DREMIRModel, disposeInput } from '../../src/models/index.js';
import { useTestBackend } from '../helpers.js';
import { near, scalar } from '../fixtures/foundation.js';
import { D, R, SLOW_WEBGPU, defaultBatch, modelSuite } from './model-suite.js';

await useTestBackend();

const config = { hiddenSize: D, numClasses: R, pairSize: 8, ffnDim: 8, numLayers: 2 };
modelSuite('DREMIRModel', {
  make: (extra = {}) => new DREMIRModel({ ...config, ...extra }),
  load: (dir) => DREMIRModel.load(dir),
  trainingLosses: ['at', 'atMasked', 'kl'],
});

test('DREMIRModel: the masked path runs only in training and the total is AT + AT_masked + KL', async () => {
  const model = new DREMIRModel(config);
  const batch = defaultBatch(31);
  const train = model.forward(batch, { training: true });
  const { at, atMasked, kl, total } = train.losses as Record<string, tf.Scalar>;
  await near(total!, at!.add(atMasked!).add(kl!), 1e-5, 1e-5, 'total');
  assert.ok((await scalar(kl!)) > 0, 'the masked path differs from the original one');
  const evalOut = model.forward(batch);
  assert.deepEqual(Object.keys(evalOut.losses).sort(), ['at', 'total']);
  // inference is deterministic: the masker is not used
  const again = model.forward(batch);
  await near(again.logits, evalOut.logits, 0, 0, 'eval logits');
  // the training logits are the original path's: equal to eval logits (no dropout)
  await near(train.logits, evalOut.logits, 1e-5, 1e-5, 'original path');
  tf.dispose([train, evalOut, again] as unknown as tf.TensorContainer);
  disposeInput(batch);
  model.dispose();
});

test(
  'DREMIRModel: the learned mask vector receives gradient from the masked path',
  { skip: SLOW_WEBGPU },
  async () => {
    const model = new DREMIRModel(config);
    const batch = defaultBatch(32);
    const mask = model.namedWeights().find(([n]) => /masker/.test(n))![1];
    const { grads } = tf.variableGrads(
      () => model.forward(batch, { training: true }).losses['total']!,
      [mask],
    );
    assert.ok((await scalar(grads[mask.name]!.abs().sum())) > 0);
    tf.dispose(grads);
    disposeInput(batch);
    model.dispose();
  },
);

test('DREMIRModel: invalid config values are rejected', () => {
  assert.throws(() => new DREMIRModel({ ...config, maskRatio: 1.5 }), /maskRatio/);
  assert.throws(() => new DREMIRModel({ ...config, numLayers: 0 }), /numLayers/);
});
