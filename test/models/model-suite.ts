/**
 * The contract every DocREModel must meet, as one reusable suite (each model's test file calls it
 * with its own tiny config and then adds its specific checks). Tiny sizes: b 2, n 24, d 16, e ≤ 5.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';
import {
  disposeInput,
  syntheticBatch,
  type DocREModel,
  type ModelInput,
  type TrainableEncoder,
} from '../../src/models/index.js';
import { near, scalar } from '../fixtures/foundation.js';
import { BACKEND } from '../helpers.js';

/** Skip reason for checks whose logic does not depend on the backend, on SwiftShader's slow WebGPU (run on cpu and wasm). */
export const SLOW_WEBGPU =
  BACKEND === 'webgpu'
    ? 'backend-independent logic; checked on cpu and wasm (WebGPU on SwiftShader is slow)'
    : false;

/** Small configs of the five models for tests (and scripts/weights-digest.ts). */
export const TINY_CONFIGS: Record<string, Record<string, unknown>> = {
  atlop: { embSize: 8, blockSize: 4 },
  docunet: { unetChannels: 4, unetOut: 4, embSize: 8, blockSize: 4 },
  dremir: { pairSize: 8, ffnDim: 8, numLayers: 1 },
  gtn: { numLayers: 1, embSize: 8, blockSize: 4, numEntityIds: 8, numSentenceIds: 4 },
  docreii: { pairSize: 8, ffnDim: 8, numLayers: 1, iterations: 1 },
};

export const D = 16;
export const R = 4;

export interface SuiteArgs<M extends DocREModel> {
  readonly make: (extra?: { encoder?: TrainableEncoder }) => M;
  readonly load: (dir: string) => Promise<M>;
  /** loss keys expected from a labelled training-mode forward */
  readonly trainingLosses: readonly string[];
  /** a batch for this model (GTN adds the graph) */
  readonly batch?: (seed: number, opts?: { labels?: boolean; b?: number; e?: number }) => ModelInput;
  /** variables the main objective trains (default: all of `trainableVariables()`) */
  readonly trainVars?: (m: M) => tf.Variable[];
  readonly steps?: number;
  readonly lr?: number;
  /** entity counts [real, padded] of the padding-invariance test (null: skip). Default [4, 6]. */
  readonly padCase?: readonly [number, number] | null;
}

export function defaultBatch(
  seed: number,
  opts: { labels?: boolean; b?: number; e?: number; graph?: boolean } = {},
): ModelInput {
  return syntheticBatch({
    b: opts.b ?? 2,
    n: 24,
    d: D,
    h: 2,
    e: opts.e ?? 5,
    m: 2,
    r: R,
    seed,
    labels: opts.labels ?? true,
    graph: opts.graph ?? false,
  });
}

/** Mean eval-mode total loss of a model on some batches. */
export async function evalLoss(model: DocREModel, batches: readonly ModelInput[]): Promise<number> {
  let sum = 0;
  for (const b of batches) {
    const out = model.forward(b, { training: false });
    sum += await scalar(out.losses['total']!);
    tf.dispose(out as unknown as tf.TensorContainer);
  }
  return sum / batches.length;
}

/** Async read of a tensor as nested arrays (WebGPU in Node has no synchronous readback). */
export async function arr(t: tf.Tensor): Promise<number[][][][]> {
  return (await t.array()) as number[][][][];
}

/** Async copy of variables' values. */
export async function values(vs: readonly tf.Variable[]): Promise<number[][]> {
  return Promise.all(vs.map(async (v) => Array.from(await v.data())));
}

/** A tiny trainable encoder: embedding table → hidden, uniform attention over real tokens. */
export function tinyEncoder(vocab = 200): TrainableEncoder & { table: tf.Variable } {
  const table = tf.variable(tf.randomUniform([vocab, D], -1, 1, 'float32', 3));
  return {
    table,
    trainableVariables: () => [table],
    encode(inputIds, attentionMask) {
      return tf.tidy(() => {
        const [b, n] = inputIds.shape;
        const hidden = tf.gather(table, inputIds.reshape([b * n])).reshape([b, n, D]) as tf.Tensor3D;
        const att = tf.broadcastTo(attentionMask.reshape([b, 1, 1, n]), [b, 2, n, n]);
        return { hidden, attention: att.div(att.sum(-1, true)) as tf.Tensor4D };
      });
    },
  };
}

export function modelSuite<M extends DocREModel>(name: string, args: SuiteArgs<M>): void {
  const batchOf = args.batch ?? defaultBatch;

  test(`${name}: forward shapes, finite named losses with a total`, async () => {
    const model = args.make();
    const batch = batchOf(1);
    const out = model.forward(batch, { training: true });
    assert.deepEqual(out.logits.shape, [2, 5, 5, R]);
    assert.deepEqual(Object.keys(out.losses).sort(), [...args.trainingLosses, 'total'].sort());
    for (const [k, v] of Object.entries(out.losses)) {
      assert.equal(v.rank, 0, `${k} is a scalar`);
      assert.ok(Number.isFinite(await scalar(v)), `${k} finite`);
    }
    const evalOut = model.forward(batch);
    assert.ok('total' in evalOut.losses);
    const unlabelled = model.forward({ ...batch, labels: undefined });
    assert.deepEqual(Object.keys(unlabelled.losses), []);
    tf.dispose([out, evalOut, unlabelled] as unknown as tf.TensorContainer);
    disposeInput(batch);
    model.dispose();
  });

  test(`${name}: predict is a 0/1 multi-hot, zero on padded pairs, exactly one of NA / relations per real pair`, async () => {
    const model = args.make();
    const batch = batchOf(2);
    const p = model.predict(batch);
    assert.deepEqual(p.shape, [2, 5, 5, R]);
    const v = await arr(p);
    const pm = (await batch.pairMask.array()) as number[][][];
    for (let i = 0; i < 2; i++)
      for (let s = 0; s < 5; s++)
        for (let o = 0; o < 5; o++) {
          const row = v[i]![s]![o]!;
          assert.ok(row.every((x) => x === 0 || x === 1));
          if (pm[i]![s]![o] === 0)
            assert.ok(
              row.every((x) => x === 0),
              `padded pair ${i},${s},${o}`,
            );
          else
            assert.equal(
              row[0] === 1,
              row.slice(1).every((x) => x === 0),
              `pair ${i},${s},${o}: NA iff no relation`,
            );
        }
    p.dispose();
    disposeInput(batch);
    model.dispose();
  });

  test(`${name}: training steps lower the loss`, async () => {
    const model = args.make();
    const batches = [batchOf(3)];
    const vars = args.trainVars?.(model) ?? model.trainableVariables();
    const before = await evalLoss(model, batches);
    const opt = tf.train.adam(args.lr ?? 1e-2);
    for (let i = 0; i < (args.steps ?? 4); i++)
      for (const b of batches)
        tf.dispose(
          opt.minimize(() => model.forward(b, { training: true }).losses['total']!, true, vars) ?? [],
        );
    const after = await evalLoss(model, batches);
    assert.ok(after < before * 0.95, `loss ${before} → ${after}`);
    opt.dispose();
    batches.forEach(disposeInput);
    model.dispose();
  });

  test(`${name}: save → load gives identical logits and predictions`, async () => {
    const model = args.make();
    const batch = batchOf(5);
    // one training step so that the weights are not the initial ones (incl. moving statistics)
    const opt = tf.train.adam(1e-2);
    tf.dispose(
      opt.minimize(
        () => model.forward(batch, { training: true }).losses['total']!,
        true,
        args.trainVars?.(model) ?? model.trainableVariables(),
      ) ?? [],
    );
    const dir = await mkdtemp(join(tmpdir(), `docre-${name}-`));
    try {
      await model.save(dir);
      const again = await args.load(dir);
      const [a, b] = [model.forward(batch).logits, again.forward(batch).logits];
      await near(b, a, 0, 0, 'logits after reload');
      const [pa, pb] = [model.predict(batch), again.predict(batch)];
      assert.deepEqual(await arr(pb), await arr(pa));
      assert.deepEqual(again.config, model.config);
      tf.dispose([a, b, pa, pb]);
      again.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    opt.dispose();
    disposeInput(batch);
    model.dispose();
  });

  test(
    `${name}: padded entities change nothing for the real ones`,
    { skip: args.padCase === null ? 'the graph depends on e' : SLOW_WEBGPU },
    async () => {
      const model = args.make();
      const [real, padded] = args.padCase ?? [4, 6];
      const small = batchOf(6, { b: 1, e: real }); // document 0 has `real` real entities
      const big = padEntities(small, padded);
      const [a, b] = [model.forward(small).logits, model.forward(big).logits];
      const crop = b.slice([0, 0, 0, 0], [1, real, real, R]);
      await near(crop, a, 1e-3, 1e-3, 'logits of real pairs');
      tf.dispose([a, b, crop]);
      disposeInput(small);
      disposeInput(big);
      model.dispose();
    },
  );

  test(`${name}: a trainable encoder from the config receives gradients`, { skip: SLOW_WEBGPU }, async () => {
    const encoder = tinyEncoder();
    const model = args.make({ encoder });
    const groups = model.variableGroups();
    assert.deepEqual(groups['encoder'], [encoder.table]);
    assert.ok(model.trainableVariables().includes(encoder.table));
    const batch = batchOf(7);
    const noFeatures = { ...batch, hidden: undefined, attention: undefined };
    const { grads } = tf.variableGrads(
      () => model.forward(noFeatures, { training: true }).losses['total']!,
      [encoder.table],
    );
    const g = grads[encoder.table.name]!;
    assert.ok((await scalar(g.abs().sum())) > 0, 'nonzero encoder gradient');
    tf.dispose(grads);
    disposeInput(batch);
    model.dispose();
    encoder.table.dispose();
  });

  test(`${name}: bad inputs throw typed errors naming the argument`, () => {
    const model = args.make();
    const batch = batchOf(8);
    const wide = tf.zeros([2, 24, D + 1]) as tf.Tensor3D;
    assert.throws(
      () => model.forward({ ...batch, hidden: wide }),
      (e: unknown) => e instanceof ShapeError && /hidden/.test(e.message),
    );
    assert.throws(
      () => model.forward({ ...batch, hidden: undefined, attention: undefined }),
      (e: unknown) => e instanceof ArgumentError && /batch/.test(e.message),
    );
    const labels = tf.zeros([2, 5, 5, R + 1]) as tf.Tensor4D;
    assert.throws(
      () => model.forward({ ...batch, labels }),
      (e: unknown) => e instanceof ShapeError && /labels/.test(e.message),
    );
    tf.dispose([wide, labels]);
    disposeInput(batch);
    model.dispose();
  });

  test(`${name}: forward, predict and a gradient step leak no tensors`, () => {
    const model = args.make();
    const batch = batchOf(9);
    const vars = args.trainVars?.(model) ?? model.trainableVariables();
    const opt = tf.train.sgd(1e-3);
    tf.dispose(
      opt.minimize(() => model.forward(batch, { training: true }).losses['total']!, true, vars) ?? [],
    ); // warm-up
    const before = tf.memory().numTensors;
    tf.dispose(model.forward(batch, { training: true }) as unknown as tf.TensorContainer);
    tf.dispose(model.forward(batch) as unknown as tf.TensorContainer);
    tf.dispose(model.predict(batch));
    tf.dispose(
      opt.minimize(() => model.forward(batch, { training: true }).losses['total']!, true, vars) ?? [],
    );
    assert.equal(tf.memory().numTensors, before, 'tensor count');
    opt.dispose();
    disposeInput(batch);
    model.dispose();
  });
}

/** Pads a batch's entity axis with unreal entities (mask 0, index 0). */
export function padEntities(batch: ModelInput, e: number): ModelInput {
  const e0 = batch.entityMask.shape[1];
  const pad = e - e0;
  const p3 = (t: tf.Tensor3D) =>
    t.pad([
      [0, 0],
      [0, pad],
      [0, 0],
    ]) as tf.Tensor3D;
  return {
    ...batch,
    hidden: batch.hidden!.clone(),
    attention: batch.attention!.clone(),
    mentionIndex: p3(batch.mentionIndex),
    mentionMask: p3(batch.mentionMask),
    entityMask: batch.entityMask.pad([
      [0, 0],
      [0, pad],
    ]) as tf.Tensor2D,
    pairMask: batch.pairMask.pad([
      [0, 0],
      [0, pad],
      [0, pad],
    ]) as tf.Tensor3D,
    labels: batch.labels
      ? (batch.labels.pad([
          [0, 0],
          [0, pad],
          [0, pad],
          [0, 0],
        ]) as tf.Tensor4D)
      : undefined,
    inputIds: batch.inputIds?.clone(),
    attentionMask: batch.attentionMask?.clone(),
  };
}
