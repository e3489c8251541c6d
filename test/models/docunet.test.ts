import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { DocuNetModel, disposeInput } from '../../src/models/index.js';
import { useTestBackend } from '../helpers.js';
import { D, R, defaultBatch, modelSuite } from './model-suite.js';

await useTestBackend();

const config = { hiddenSize: D, numClasses: R, unetIn: 3, unetChannels: 4, unetOut: 4, embSize: 8, blockSize: 4 };
modelSuite('DocuNetModel', {
  make: (extra = {}) => new DocuNetModel({ ...config, ...extra }),
  load: (dir) => DocuNetModel.load(dir),
  trainingLosses: ['balanced'],
  // the U-Net pads e to a multiple of 4: padding 3 → 4 entities is exact (see src/heads/unet.ts)
  padCase: [3, 4],
});

test('DocuNetModel: training updates the U-Net moving statistics, inference does not', () => {
  const model = new DocuNetModel(config);
  const batch = defaultBatch(21);
  const moving = () => model.namedWeights().filter(([n]) => /moving/.test(n)).map(([, v]) => v.dataSync().slice());
  const m0 = moving();
  assert.equal(m0.length, 20, '5 blocks × 2 norms × (mean, variance)');
  tf.dispose(model.forward(batch) as unknown as tf.TensorContainer);
  assert.deepEqual(moving(), m0, 'inference leaves moving statistics alone');
  tf.dispose(model.forward(batch, { training: true }) as unknown as tf.TensorContainer);
  assert.notDeepEqual(moving(), m0, 'training updates them');
  // they are saved weights but not trainable variables
  const trainable = new Set(model.trainableVariables());
  assert.ok(model.namedWeights().filter(([n]) => /moving/.test(n)).every(([, v]) => !trainable.has(v)));
  disposeInput(batch);
  model.dispose();
});

test('DocuNetModel: decode is balanced-softmax (s_r > 0), at most topK relations', () => {
  const model = new DocuNetModel({ ...config, topK: 1 });
  const batch = defaultBatch(22);
  const p = model.predict(batch);
  const perPair = p.slice([0, 0, 0, 1], [2, 5, 5, R - 1]).sum(-1);
  assert.ok(perPair.max().dataSync()[0]! <= 1);
  tf.dispose([p, perPair]);
  disposeInput(batch);
  model.dispose();
});
