import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../../src/core/errors.js';
import {
  ATLOPModel,
  DocREIIModel,
  DocuNetModel,
  DREMIRModel,
  GTNModel,
  MODEL_NAMES,
  MODEL_SPECS,
  PRESETS,
  createModel,
  disposeInput,
  loadModel,
  resolveConfig,
  stableWeightName,
  type SavedModelJSON,
} from '../../src/models/index.js';
import { useTestBackend } from '../helpers.js';
import { near } from '../fixtures/foundation.js';
import { D, R, TINY_CONFIGS, defaultBatch } from './model-suite.js';

await useTestBackend();

const tiny = TINY_CONFIGS;

test('createModel: every name builds its class with the paper preset, config overriding it', () => {
  assert.deepEqual([...MODEL_NAMES], ['atlop', 'docunet', 'dremir', 'gtn', 'docreii']);
  const classes = {
    atlop: ATLOPModel,
    docunet: DocuNetModel,
    dremir: DREMIRModel,
    gtn: GTNModel,
    docreii: DocREIIModel,
  };
  for (const name of MODEL_NAMES) {
    const model = createModel(name, { hiddenSize: D, numClasses: R, ...tiny[name] });
    assert.ok(model instanceof classes[name], name);
    assert.equal(model.name, name);
    // preset values not overridden are in the config (e.g. topK, masking ratios)
    for (const [k, v] of Object.entries(PRESETS[name].model))
      if (!(k in tiny[name]!))
        assert.deepEqual((model.config as Record<string, unknown>)[k], v, `${name}.${k}`);
    model.dispose();
  }
});

test('PRESETS: the papers’ schedules (DocRE-II two stages, GTN discriminator, AdamW settings)', () => {
  assert.equal(PRESETS.atlop.training.encoderLr, 5e-5);
  assert.equal(PRESETS.atlop.training.headLr, 1e-4);
  assert.deepEqual(PRESETS.docreii.training.stage2, { epochs: 15, baseLr: 1e-5, inferenceLr: 1e-4 });
  assert.equal(PRESETS.dremir.model['maskRatio'], 0.2);
  assert.equal(PRESETS.gtn.model['reconstructionWeight'], 0.1);
  assert.equal(PRESETS.gtn.model['adversarialWeight'], 0.01);
  for (const name of MODEL_NAMES)
    assert.ok(PRESETS[name].notes.length > 20 && PRESETS[name].training.warmupRatio === 0.06);
});

test('createModel rejects an unknown name with an ArgumentError listing the names', () => {
  assert.throws(
    () => createModel('bert', { hiddenSize: D, numClasses: R }),
    (e: unknown) =>
      e instanceof ArgumentError && /atlop \| docunet/.test(e.message) && /"bert"/.test(e.message),
  );
});

test('loadModel dispatches on the saved name and reproduces the logits', async () => {
  const model = createModel('docunet', { hiddenSize: D, numClasses: R, ...tiny['docunet'] });
  const batch = defaultBatch(61);
  const dir = await mkdtemp(join(tmpdir(), 'docre-factory-'));
  try {
    await model.save(dir);
    const again = await loadModel(dir);
    assert.ok(again instanceof DocuNetModel);
    const [a, b] = [model.forward(batch).logits, again.forward(batch).logits];
    await near(b, a, 0, 0, 'logits');
    tf.dispose([a, b]);
    again.dispose();
    await assert.rejects(
      ATLOPModel.load(dir),
      (e: unknown) => e instanceof ArgumentError && /atlop/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  disposeInput(batch);
  model.dispose();
});

test('seed: every model starts from the same weights for the same seed, other weights for another', async () => {
  for (const name of MODEL_NAMES) {
    const make = (seed: number) => createModel(name, { hiddenSize: D, numClasses: R, ...tiny[name], seed });
    const [a, b, c] = [make(3), make(3), make(4)];
    // interleaved unseeded draws between the builds must not matter
    Math.random();
    const [wa, wb, wc] = [a, b, c].map((m) => m.trainableVariables());
    assert.ok(wa.length > 0);
    let differs = false;
    for (let i = 0; i < wa.length; i++) {
      await near(wb[i]!, wa[i]!, 0, 0, `${name} weight ${i}`);
      const [x, z] = [await wa[i]!.data(), await wc[i]!.data()];
      if (x.some((v, k) => v !== z[k])) differs = true;
    }
    assert.ok(differs, `${name}: seed 4 gives other weights than seed 3`);
    [a, b, c].forEach((m) => m.dispose());
    // the default seed 0 too (tfjs' own initializers read a seed of 0 as "unseeded")
    const x = make(0);
    Math.random();
    const y = make(0);
    const [wx, wy] = [x, y].map((m) => m.trainableVariables());
    for (let i = 0; i < wx.length; i++) await near(wy[i]!, wx[i]!, 0, 0, `${name} seed 0, weight ${i}`);
    [x, y].forEach((m) => m.dispose());
  }
});

test('recompute (gradient checkpointing of the inference layers): identical loss and gradients', async () => {
  for (const name of ['dremir', 'docreii'] as const) {
    const batch = defaultBatch(71);
    const run = async (recompute: boolean) => {
      const model = createModel(name, { hiddenSize: D, numClasses: R, ...tiny[name], seed: 5, recompute });
      if (model instanceof DocREIIModel) model.setStage(2);
      const vars = model.trainableVariables();
      const { value, grads } = tf.variableGrads(
        () => model.forward(batch, { training: true }).losses['total']!,
        vars,
      );
      const out = [await value.data(), ...(await Promise.all(vars.map((v) => grads[v.name]!.data())))];
      tf.dispose([value, ...Object.values(grads)]);
      model.dispose();
      return out;
    };
    const [plain, ckpt] = [await run(false), await run(true)];
    assert.equal(ckpt.length, plain.length);
    assert.ok(plain.length > 10, `${name}: gradients of every variable`);
    ckpt.forEach((g, i) =>
      g.forEach((v, k) =>
        assert.ok(
          Math.abs(v - plain[i]![k]!) <= 1e-5 + 1e-4 * Math.abs(plain[i]![k]!),
          `${name} tensor ${i}[${k}]: ${v} vs ${plain[i]![k]}`,
        ),
      ),
    );
    disposeInput(batch);
  }
});

test('MODEL_SPECS: one spec per name; resolve fills every default once and rejects unknown keys by name', () => {
  assert.deepEqual(Object.keys(MODEL_SPECS), [...MODEL_NAMES]);
  for (const name of MODEL_NAMES) {
    const spec = MODEL_SPECS[name];
    assert.equal(spec.name, name);
    assert.equal(spec.preset, PRESETS[name]);
    const r = spec.resolve({ hiddenSize: D, numClasses: R }) as unknown as Record<string, unknown>;
    assert.equal(r['seed'], 0, name);
    assert.ok(
      Object.values(r).every((v) => v !== undefined),
      `${name}: no default left undefined`,
    );
    // the model's config is the resolved one (what save writes)
    const model = createModel(name, { hiddenSize: D, numClasses: R, ...tiny[name] });
    assert.deepEqual(
      model.config,
      resolveConfig(name, { hiddenSize: D, numClasses: R, ...tiny[name] }),
      name,
    );
    model.dispose();
    assert.throws(
      () => createModel(name, { hiddenSize: D, numClasses: R, embsize: 8 }),
      (e: unknown) =>
        e instanceof ArgumentError &&
        e.message.startsWith(`${name} config: unknown key 'embsize'`) &&
        !e.message.includes('\n'),
      name,
    );
  }
  assert.throws(
    () => new ATLOPModel({ hiddenSize: D, numClasses: R, topk: 1, blocksize: 4 } as never),
    /atlop config: unknown keys 'topk', 'blocksize'/,
  );
  // derived defaults resolve from the given values
  const r = MODEL_SPECS.dremir.resolve({ hiddenSize: D, numClasses: R, pairSize: 8 });
  assert.deepEqual([r.pairFfnSize, r.ffnDim, r.docPooling, r.recompute], [8, 32, 'cls', true]);
});

test('save writes the resolved config; a checkpoint whose config omits defaults (older saves) still loads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'docre-spec-'));
  const batch = defaultBatch(62);
  try {
    const model = createModel('docreii', { hiddenSize: D, numClasses: R, ...tiny['docreii'] });
    await model.save(dir);
    const saved = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as SavedModelJSON;
    assert.deepEqual(saved.config, model.config);
    assert.deepEqual(
      [saved.config['noiseMax'], saved.config['contrastWeight'], saved.config['stage'], saved.config['seed']],
      [0.4, 1, 2, 0],
    );
    // an older save: only the keys that were passed
    await writeFile(
      join(dir, 'model.json'),
      JSON.stringify({ ...saved, config: { hiddenSize: D, numClasses: R, ...tiny['docreii'] } }),
    );
    const again = await loadModel(dir);
    assert.deepEqual(again.config, model.config);
    const [a, b] = [model.predict(batch), again.predict(batch)];
    await near(b, a, 0, 0, 'predictions');
    tf.dispose([a, b]);
    [model, again].forEach((m) => m.dispose());
  } finally {
    await rm(dir, { recursive: true, force: true });
    disposeInput(batch);
  }
});

test('weights are saved by stable paths; checkpoints of the positional format (part/<i>:weight) still load', async () => {
  assert.equal(stableWeightName('pairMatrix/2:object/kernel'), 'pairMatrix/object/kernel');
  assert.equal(stableWeightName('classifier.bilinear/1:bias'), 'classifier.bilinear/bias');
  assert.equal(stableWeightName('masker'), 'masker', 'raw parameters keep their name');
  const batch = defaultBatch(63, { graph: true });
  for (const name of MODEL_NAMES) {
    const dir = await mkdtemp(join(tmpdir(), `docre-paths-${name}-`));
    try {
      const model = createModel(name, { hiddenSize: D, numClasses: R, ...tiny[name] });
      await model.save(dir);
      const saved = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as SavedModelJSON;
      assert.ok(
        saved.weights.every((w) => !/\/\d+:/.test(w.name)),
        `${name}: ${saved.weights.map((w) => w.name).join(', ')}`,
      );
      // the first format: each weight's position inside its part before the local name
      const position = new Map<string, number>();
      const legacy = saved.weights.map((w) => {
        const slash = w.name.indexOf('/');
        if (slash < 0) return w;
        const part = w.name.slice(0, slash);
        const i = position.get(part) ?? 0;
        position.set(part, i + 1);
        return { ...w, name: `${part}/${i}:${w.name.slice(slash + 1)}` };
      });
      await writeFile(join(dir, 'model.json'), JSON.stringify({ ...saved, weights: legacy }));
      const again = await loadModel(dir);
      const [a, b] = [model.predict(batch), again.predict(batch)];
      await near(b, a, 0, 0, `${name} predictions`);
      const la = model.forward(batch).logits;
      const lb = again.forward(batch).logits;
      await near(lb, la, 0, 0, `${name} logits`);
      tf.dispose([a, b, la, lb]);
      [model, again].forEach((m) => m.dispose());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  disposeInput(batch);
});

test('forward(…, { seed }): the same seed gives the same training draws (masks, noise), another seed others', async () => {
  const batch = defaultBatch(64, { graph: true });
  for (const name of ['dremir', 'gtn', 'docreii'] as const) {
    const model = createModel(name, { hiddenSize: D, numClasses: R, ...tiny[name] });
    const total = async (seed: number) => {
      const { logits, losses } = model.forward(batch, { training: true, seed });
      const v = (await losses['total']!.data())[0]!;
      tf.dispose([logits, ...Object.values(losses)]);
      return v;
    };
    const [a, b, c] = [await total(11), await total(11), await total(12)];
    assert.equal(b, a, `${name}: seed 11 twice`);
    assert.notEqual(c, a, `${name}: seed 12 draws other masks / noise`);
    model.dispose();
  }
  disposeInput(batch);
});
