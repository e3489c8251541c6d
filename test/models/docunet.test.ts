import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { DocuNetModel, disposeInput } from '../../src/models/index.js';
import { useTestBackend } from '../helpers.js';
import { D, R, defaultBatch, modelSuite, values } from './model-suite.js';
import { scalar } from '../fixtures/foundation.js';

await useTestBackend();

const config = {
  hiddenSize: D,
  numClasses: R,
  unetIn: 3,
  unetChannels: 4,
  unetOut: 4,
  embSize: 8,
  blockSize: 4,
};
modelSuite('DocuNetModel', {
  make: (extra = {}) => new DocuNetModel({ ...config, ...extra }),
  load: (dir) => DocuNetModel.load(dir),
  trainingLosses: ['balanced'],
  // the U-Net pads e to a multiple of 4: padding 3 → 4 entities is exact (see src/heads/unet.ts)
  padCase: [3, 4],
});

test('DocuNetModel: training updates the U-Net moving statistics, inference does not', async () => {
  const model = new DocuNetModel(config);
  const batch = defaultBatch(21);
  const moving = () =>
    values(
      model
        .namedWeights()
        .filter(([n]) => /moving/.test(n))
        .map(([, v]) => v),
    );
  const m0 = await moving();
  assert.equal(m0.length, 20, '5 blocks × 2 norms × (mean, variance)');
  tf.dispose(model.forward(batch) as unknown as tf.TensorContainer);
  assert.deepEqual(await moving(), m0, 'inference leaves moving statistics alone');
  tf.dispose(model.forward(batch, { training: true }) as unknown as tf.TensorContainer);
  assert.notDeepEqual(await moving(), m0, 'training updates them');
  // they are saved weights but not trainable variables
  const trainable = new Set(model.trainableVariables());
  assert.ok(
    model
      .namedWeights()
      .filter(([n]) => /moving/.test(n))
      .every(([, v]) => !trainable.has(v)),
  );
  disposeInput(batch);
  model.dispose();
});

test('DocuNetModel: decode is balanced-softmax (s_r > 0), at most topK relations', async () => {
  const model = new DocuNetModel({ ...config, topK: 1 });
  const batch = defaultBatch(22);
  const p = model.predict(batch);
  const perPair = p.slice([0, 0, 0, 1], [2, 5, 5, R - 1]).sum(-1);
  assert.ok((await scalar(perPair.max())) <= 1);
  tf.dispose([p, perPair]);
  disposeInput(batch);
  model.dispose();
});
