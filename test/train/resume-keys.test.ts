/**
 * `resume.ckpt` keys: a paper model's variables and AdamW moments are stored under their stable
 * paths (`namedVariables()`), a crashed run resumes from them to the uninterrupted weights, a file
 * of the earlier positional format (`param/<i>`) still resumes to the same weights, and a file
 * whose keys do not match the model is a clear error naming them. Models with their own random
 * draws in training (DRE-MIR's pair masks, DocRE-II's relation noise) resume to the same weights
 * too: the trainer passes each micro-batch's seed to `forward`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ATLOPModel, createModel, type DocREModel } from '../../src/models/index.js';
import { syntheticBatch } from '../../src/models/synthetic.js';
import { Trainer, loadTensorFile, saveTensorFile, type TrainerOptions } from '../../src/train/index.js';
import { useTestBackend } from '../helpers.js';

await useTestBackend();

const config = { hiddenSize: 16, numClasses: 4, embSize: 16, blockSize: 4 };
const items = [1, 2, 3, 4, 5, 6];
const opts: TrainerOptions<number> = {
  collate: (seeds) => syntheticBatch({ b: seeds.length, seed: seeds[0]!, d: 16, r: 4 }),
  batchSize: 2,
  epochs: 2,
  checkpointEvery: 2,
  optimizer: { headLr: 0.01 },
  seed: 5,
  progress: false,
};
const weights = async (m: DocREModel) =>
  Promise.all(m.namedVariables!().map(async ([n, v]) => [n, [...(await v.data())]] as const));

/** A run that crashes after step 3 (checkpoint at step 2); returns its dir. */
async function crashedRun(make: () => DocREModel = () => new ATLOPModel(config)): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'docre-keys-'));
  const model = make();
  const crash = ({ step }: { step: number }) => {
    if (step === 3) throw new Error('crash');
  };
  await assert.rejects(new Trainer(model, { ...opts, outDir: dir, onStep: crash }).fit(items), /crash/);
  model.dispose();
  return dir;
}

async function resumed(
  dir: string,
  make: () => DocREModel = () => new ATLOPModel(config),
): Promise<DocREModel> {
  const model = make();
  const res = await new Trainer(model, { ...opts, outDir: dir, resume: true }).fit(items);
  assert.equal(res.resumed, true);
  return model;
}

test('resume.ckpt: stable paths, resumes to the uninterrupted weights, old positional files too', async () => {
  const straight = new ATLOPModel(config);
  await new Trainer(straight, opts).fit(items);
  const expected = await weights(straight);

  const dir = await crashedRun();
  const file = path.join(dir, 'resume.ckpt');
  const { tensors, metadata } = await loadTensorFile(file);
  const keys = JSON.parse(metadata['keys']!) as string[];
  const model = new ATLOPModel(config);
  const paths = model.namedVariables().map(([n]) => n);
  assert.deepEqual(keys, paths, "keys are the model's paths, in its order");
  assert.ok(keys.includes('classifier.bilinear/kernel'), keys.join(', '));
  for (const k of keys) {
    assert.ok(tensors[`param/${k}`], `param/${k}`);
    assert.ok(tensors[`opt0/m/${k}`] && tensors[`opt0/v/${k}`], `opt0 moments of ${k}`);
  }
  const steps = JSON.parse(metadata['optimizerSteps']!) as Record<string, number>[];
  assert.deepEqual(Object.keys(steps[0]!).sort(), [...keys].sort());
  model.dispose();

  // the earlier format: the same values by position, `shapes` instead of `keys`
  const legacyDir = await fs.mkdtemp(path.join(os.tmpdir(), 'docre-keys-old-'));
  const legacy: Record<string, tf.Tensor> = {};
  keys.forEach((k, i) => {
    legacy[`param/${i}`] = tensors[`param/${k}`]!;
    legacy[`opt0/m/${i}`] = tensors[`opt0/m/${k}`]!;
    legacy[`opt0/v/${i}`] = tensors[`opt0/v/${k}`]!;
  });
  const legacySteps = [Object.fromEntries(keys.map((k, i) => [i, steps[0]![k]!]))];
  await saveTensorFile(path.join(legacyDir, 'resume.ckpt'), legacy, {
    state: metadata['state']!,
    optimizerSteps: JSON.stringify(legacySteps),
    shapes: JSON.stringify(keys.map((k) => tensors[`param/${k}`]!.shape)),
  });

  // a file whose keys name a weight the model does not have
  const badDir = await fs.mkdtemp(path.join(os.tmpdir(), 'docre-keys-bad-'));
  const renamed: Record<string, tf.Tensor> = {
    ...tensors,
    'param/classifier.bilinear/weight': tensors['param/classifier.bilinear/kernel']!,
  };
  delete renamed['param/classifier.bilinear/kernel'];
  await saveTensorFile(path.join(badDir, 'resume.ckpt'), renamed, {
    ...metadata,
    keys: JSON.stringify(
      keys.map((k) => k.replace('classifier.bilinear/kernel', 'classifier.bilinear/weight')),
    ),
  });
  tf.dispose(Object.values(tensors));

  for (const d of [dir, legacyDir]) {
    const m = await resumed(d);
    assert.deepEqual(await weights(m), expected, d === dir ? 'stable keys' : 'positional file');
    m.dispose();
  }
  const bad = new ATLOPModel(config);
  await assert.rejects(
    new Trainer(bad, { ...opts, outDir: badDir, resume: true }).fit(items),
    /resume\.ckpt variables: expected the model's variables, got "missing classifier\.bilinear\/kernel; unknown classifier\.bilinear\/weight"/,
  );
  bad.dispose();
  straight.dispose();
  await Promise.all([dir, legacyDir, badDir].map((d) => fs.rm(d, { recursive: true })));
});

test('resume: DRE-MIR (pair masks) and DocRE-II (relation noise) end at the uninterrupted weights', async () => {
  const tiny = {
    dremir: { pairSize: 8, ffnDim: 8, numLayers: 1 },
    docreii: { pairSize: 8, ffnDim: 8, numLayers: 1, iterations: 1 },
  };
  for (const [name, extra] of Object.entries(tiny)) {
    const make = () => createModel(name, { hiddenSize: 16, numClasses: 4, ...extra });
    const straight = make();
    await new Trainer(straight, opts).fit(items);
    const dir = await crashedRun(make);
    const again = await resumed(dir, make);
    assert.deepEqual(await weights(again), await weights(straight), name);
    [straight, again].forEach((m) => m.dispose());
    await fs.rm(dir, { recursive: true });
  }
});
