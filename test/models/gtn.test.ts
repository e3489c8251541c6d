import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { GTNModel, disposeInput } from '../../src/models/index.js';
import { useTestBackend } from '../helpers.js';
import { near, scalar } from '../fixtures/foundation.js';
import { D, R, defaultBatch, modelSuite, values } from './model-suite.js';

await useTestBackend();

const config = {
  hiddenSize: D,
  numClasses: R,
  numLayers: 1,
  embSize: 8,
  blockSize: 4,
  numEntityIds: 8,
  numSentenceIds: 4,
};
const graphBatch = (seed: number, opts: { labels?: boolean; b?: number; e?: number } = {}) =>
  defaultBatch(seed, { ...opts, graph: true });
modelSuite('GTNModel', {
  make: (extra = {}) => new GTNModel({ ...config, ...extra }),
  load: (dir) => GTNModel.load(dir),
  trainingLosses: ['at', 'reconstruction', 'generator', 'discriminator'],
  batch: graphBatch,
  padCase: null,
});

test('GTNModel: the discriminator is its own group, outside the main objective', () => {
  const model = new GTNModel(config);
  const groups = model.variableGroups();
  assert.deepEqual(Object.keys(groups).sort(), ['discriminator', 'heads']);
  const main = new Set(model.trainableVariables());
  assert.ok(groups['discriminator']!.length === 4 && groups['discriminator']!.every((v) => !main.has(v)));
  assert.equal(main.size, groups['heads']!.length);
  model.dispose();
});

test('GTNModel: a discriminator step changes only discriminator weights; the main step leaves them alone', async () => {
  const model = new GTNModel(config);
  const batch = graphBatch(51);
  const { discriminator, heads } = model.variableGroups() as Record<string, tf.Variable[]>;
  const [d0, h0] = [await values(discriminator!), await values(heads!)];
  const dOpt = tf.train.adam(1e-2);
  tf.dispose(
    dOpt.minimize(
      () => model.forward(batch, { training: true }).losses['discriminator']!,
      true,
      discriminator,
    ) ?? [],
  );
  assert.notDeepEqual(await values(discriminator!), d0, 'discriminator moved');
  assert.deepEqual(await values(heads!), h0, 'heads unchanged by the discriminator step');
  // the discriminator loss has no gradient into the heads (inputs are stopped), and the total none into the discriminator
  const dHeads = tf.variableGrads(
    () => model.forward(batch, { training: true }).losses['discriminator']!,
    heads,
  );
  for (const g of Object.values(dHeads.grads)) assert.equal(await scalar(g.abs().sum()), 0);
  const d1 = await values(discriminator!);
  const mOpt = tf.train.adam(1e-2);
  tf.dispose(
    mOpt.minimize(
      () => model.forward(batch, { training: true }).losses['total']!,
      true,
      model.trainableVariables(),
    ) ?? [],
  );
  assert.deepEqual(await values(discriminator!), d1, 'discriminator unchanged by the main step');
  tf.dispose([dHeads.value, dHeads.grads] as unknown as tf.TensorContainer);
  dOpt.dispose();
  mOpt.dispose();
  disposeInput(batch);
  model.dispose();
});

test('GTNModel: the total is AT + α·reconstruction + β·generator', async () => {
  const model = new GTNModel({ ...config, reconstructionWeight: 0.5, adversarialWeight: 0.25 });
  const batch = graphBatch(52);
  const { at, reconstruction, generator, total } = model.forward(batch, { training: true }).losses as Record<
    string,
    tf.Scalar
  >;
  await near(total!, at!.add(reconstruction!.mul(0.5)).add(generator!.mul(0.25)), 1e-5, 1e-5, 'total');
  disposeInput(batch);
  model.dispose();
});

test('GTNModel: a batch without the graph is rejected with a clear error', () => {
  const model = new GTNModel(config);
  const batch = defaultBatch(53);
  assert.throws(() => model.forward(batch), /batch\.graph.*graph: true/);
  disposeInput(batch);
  model.dispose();
});
