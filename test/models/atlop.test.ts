import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ATLOPModel, disposeInput, entityFeatures } from '../../src/models/index.js';
import { adaptiveThresholdDecode } from '../../src/losses/adaptive-threshold.js';
import { useTestBackend } from '../helpers.js';
import { near } from '../fixtures/foundation.js';
import { D, R, arr, defaultBatch, modelSuite } from './model-suite.js';

await useTestBackend();

const config = { hiddenSize: D, numClasses: R, embSize: 8, blockSize: 4 };
modelSuite('ATLOPModel', {
  make: (extra = {}) => new ATLOPModel({ ...config, ...extra }),
  load: (dir) => ATLOPModel.load(dir),
  trainingLosses: ['at'],
});

test('ATLOPModel: logits = group bilinear of tanh extractors over [entity ; context], recomputed from the layers', async () => {
  const model = new ATLOPModel(config);
  const batch = defaultBatch(11);
  const { logits } = model.forward(batch);
  // recompute by hand from the exported functions and the model's weights
  const expected = tf.tidy(() => {
    const { entity, context } = entityFeatures({ hidden: batch.hidden!, attention: batch.attention! }, batch);
    const w = Object.fromEntries(model.namedWeights());
    const [b, e] = [2, 5];
    const subj = tf.broadcastTo(entity.reshape([b, e, 1, D]), [b, e, e, D]);
    const obj = tf.broadcastTo(entity.reshape([b, 1, e, D]), [b, e, e, D]);
    const ext = (x: tf.Tensor, k: string) =>
      tf.tanh(
        tf
          .matMul(tf.concat([x, context], -1).reshape([-1, 2 * D]), w[`classifier.${k}/kernel`]!)
          .add(w[`classifier.${k}/bias`]!),
      );
    const zs = ext(subj, 'head').reshape([-1, 2, 4]); // groups of k = 4
    const zo = ext(obj, 'tail').reshape([-1, 2, 4]);
    const feats = zs
      .expandDims(3)
      .mul(zo.expandDims(2))
      .reshape([-1, 8 * 4]); // index g·k·k + i·k + j
    return tf
      .matMul(feats, w['classifier.bilinear/kernel']!)
      .add(w['classifier.bilinear/bias']!)
      .reshape([b, e, e, R]);
  });
  await near(logits, expected, 1e-4, 1e-4, 'ATLOP logits');
  const p = model.predict(batch);
  const decoded = tf.tidy(() =>
    adaptiveThresholdDecode(logits, { topK: 4 }).mul(batch.pairMask.expandDims(-1)),
  );
  assert.deepEqual(await arr(p), await arr(decoded));
  tf.dispose([logits, expected, p, decoded]);
  disposeInput(batch);
  model.dispose();
});

test('ATLOPModel: batched logits equal per-document logits', async () => {
  const model = new ATLOPModel(config);
  const batch = defaultBatch(12);
  const { logits } = model.forward(batch);
  for (let i = 0; i < 2; i++) {
    const one = tf.tidy(() => {
      const pick = <T extends tf.Tensor>(t: T) => t.slice(i, 1) as T;
      const single = {
        hidden: pick(batch.hidden!),
        attention: pick(batch.attention!),
        mentionIndex: pick(batch.mentionIndex),
        mentionMask: pick(batch.mentionMask),
        entityMask: pick(batch.entityMask),
        pairMask: pick(batch.pairMask),
      };
      return model.forward(single).logits;
    });
    const part = logits.slice(i, 1);
    await near(one, part, 1e-4, 1e-4, `document ${i}`);
    tf.dispose([one, part]);
  }
  logits.dispose();
  disposeInput(batch);
  model.dispose();
});

test('ATLOPModel: invalid config values are rejected', () => {
  assert.throws(() => new ATLOPModel({ ...config, embSize: 0 }), /embSize/);
  assert.throws(() => new ATLOPModel({ ...config, blockSize: 3 }), /blockSize|divisible/);
  assert.throws(() => new ATLOPModel({ ...config, numClasses: 1 }), /numClasses/);
});
