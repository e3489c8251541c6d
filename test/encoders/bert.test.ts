/**
 * BertEncoder (BERT and RoBERTa): shapes, golden parity with the torch re-implementation of
 * transformers (test/fixtures/gen_bert.py), checkpoint names and errors, save/load, gradients,
 * sliding windows (ATLOP reference and "short documents are untouched"), no leaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend, assertClose, assertNoLeak, tol, BACKEND } from '../helpers.js';
import {
  BertEncoder,
  CheckpointError,
  parseBertConfig,
  bertForward,
  bertParameterShapes,
  embeddingLookup,
  geluErf,
  type BertParams,
} from '../../src/encoders/bert.js';
import { encodeInWindows, planWindows } from '../../src/encoders/encoder.js';
import { loadEncoder } from '../../src/encoders/load.js';
import { ArgumentError } from '../../src/core/errors.js';
import { withSeededRandom } from '../../src/core/initializers.js';
import { readSafetensors, writeSafetensors } from '../../src/core/safetensors.js';
import { golden, writeGoldenDir, tempDir } from './hf-dir.js';

await useTestBackend();

const ATOL = BACKEND === 'cpu' ? 2e-4 : tol(2e-4);

/** Async read (WebGPU in Node cannot read GPU tensors synchronously). */
async function val(t: tf.Tensor): Promise<Float32Array> {
  return Float32Array.from(await t.data());
}

/** Shape check + elementwise closeness, reading asynchronously. */
async function close(t: tf.Tensor, expected: ArrayLike<number> | number, shape: number[] | null, atol = tol(), what = 'value'): Promise<void> {
  if (shape) assert.deepEqual(t.shape, shape, `${what}: shape`);
  const e = typeof expected === 'number' ? new Float32Array(t.size).fill(expected) : Float32Array.from(expected);
  assertClose(await val(t), e, atol, atol, what);
}

const free = (...xs: (tf.Tensor | { hidden: tf.Tensor; attention: tf.Tensor })[]): void =>
  xs.forEach((x) => (x instanceof tf.Tensor ? x.dispose() : tf.dispose([x.hidden, x.attention])));

function inputs(which: 'bert' | 'roberta'): [tf.Tensor2D, tf.Tensor2D] {
  const g = golden[which];
  return [tf.tensor2d(g.inputIds, undefined, 'int32'), tf.tensor2d(g.attentionMask, undefined, 'float32')];
}

/** Golden values with padded query rows zeroed (our contract; transformers leaves them arbitrary). */
function maskRows(values: number[], shape: number[], mask: number[][], rowAxis: number): number[] {
  const out = values.slice();
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) {
    const b = Math.floor(i / strides[0]!) % shape[0]!;
    const r = Math.floor(i / strides[rowAxis]!) % shape[rowAxis]!;
    if (mask[b]![r] === 0) out[i] = 0;
  }
  return out;
}

const tiny = parseBertConfig(golden.bert.config);

test('shapes: hidden [b,n,d], attention [b,h,n,n]; attention rows sum to 1 on real tokens, padding is zero', async () => {
  const enc = BertEncoder.random(tiny, 3);
  const [ids, mask] = inputs('bert');
  const out = enc.encode(ids, mask);
  assert.deepEqual(out.hidden.shape, [2, 10, 16]);
  assert.deepEqual(out.attention.shape, [2, 2, 10, 10]);
  assert.equal(out.hidden.dtype, 'float32');
  const rowSums = Array.from({ length: 2 * 2 * 10 }, (_, i) => (Math.floor(i / 20) === 1 && i % 10 >= 7 ? 0 : 1));
  await close(out.attention.sum(-1), rowSums, [2, 2, 10], tol(1e-5), 'row sums');
  await close(out.attention.slice([1, 0, 0, 7], [1, 2, 10, 3]), 0, null, 0, 'padded keys');
  await close(out.hidden.slice([1, 7, 0], [1, 3, 16]), 0, null, 0, 'padded hidden');
  assert.equal(enc.hiddenSize, 16);
  assert.equal(enc.numHeads, 2);
  assert.equal(enc.maxLength, 24);
  free(ids, mask, out);
  enc.dispose();
});

for (const which of ['bert', 'roberta'] as const) {
  test(`golden parity (${which}): hidden states and attentions match transformers' arithmetic`, async () => {
    const dir = await writeGoldenDir(which);
    const enc = await loadEncoder(dir);
    assert.ok(enc instanceof BertEncoder);
    const g = golden[which];
    const [ids, mask] = inputs(which);
    const out = enc.encode(ids, mask);
    await close(out.hidden, maskRows(g.hidden, g.hiddenShape, g.attentionMask, 1), g.hiddenShape, ATOL, `${which} hidden`);
    await close(out.attention, maskRows(g.attention, g.attentionShape, g.attentionMask, 2), g.attentionShape, ATOL, `${which} attention`);
    const mean2 = enc.encode(ids, mask, { attentionLayers: 2 });
    await close(mean2.attention, maskRows(g.attentionMeanLast2, g.attentionShape, g.attentionMask, 2), g.attentionShape, ATOL, 'mean of last 2');
    assert.equal(enc.maxLength, 24, 'RoBERTa: 26 positions − padding_idx − 1');
    assert.ok(enc.tokenizer, 'tokenizer.json loaded');
    assert.deepEqual(enc.tokenizer.encode('Paris is the capital of France.').ids, [2, 5, 6, 7, 8, 9, 10, 27, 3]);
    free(ids, mask, out, mean2);
    enc.dispose();
    await rm(dir, { recursive: true });
  });
}

test('embeddingLookup: forward = gather, gradient = scatter-add of dy (duplicate ids accumulate)', async () => {
  const table = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
  const ids = tf.tensor1d([2, 0, 2, 2], 'int32');
  const dy = tf.tensor2d([[1, 0], [0, 1], [2, 0], [3, 1]]);
  await close(embeddingLookup(table, ids), [5, 6, 1, 2, 5, 6, 5, 6], [4, 2], 0, 'forward');
  const g = tf.grad((t: tf.Tensor) => embeddingLookup(t as tf.Tensor2D, ids).mul(dy).sum())(table);
  await close(g, [0, 1, 0, 0, 1 + 2 + 3, 0 + 0 + 1], [3, 2], 0, 'gradient');
  tf.dispose([table, ids, dy, g]);
});

test('geluErf is the exact GELU x·Φ(x), and its gradient Φ(x) + x·φ(x)', async () => {
  const xs = [-3, -1, -0.5, 0, 0.5, 1, 3];
  const erf = (x: number) => {
    // Abramowitz–Stegun 7.1.26 is too coarse here: use the series (|x| ≤ 3 converges fast)
    let sum = 0;
    let term = x;
    for (let k = 0; k < 60; k++) {
      sum += term / (2 * k + 1);
      term *= (-x * x) / (k + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  };
  const Phi = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));
  const phi = (x: number) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
  const x = tf.tensor1d(xs);
  await close(geluErf(x), xs.map((v) => v * Phi(v)), [7], tol(1e-6), 'gelu');
  await close(tf.grad((t: tf.Tensor) => geluErf(t).sum())(x), xs.map((v) => Phi(v) + v * phi(v)), [7], tol(1e-6), 'gelu gradient');
  x.dispose();
});

test('checkpoint names: the same weights without the bert. prefix (and without heads) give the same outputs', async () => {
  const dir = await writeGoldenDir('bert');
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
  const keep = (k: string) => k.startsWith('bert.encoder.') || (k.startsWith('bert.embeddings.') && !k.endsWith('position_ids'));
  const bare = new Map([...tensors].filter(([k]) => keep(k)).map(([k, t]) => [k.slice('bert.'.length), { shape: t.shape, data: t.data }]));
  await writeSafetensors(join(dir, 'model.safetensors'), bare);
  const enc = await BertEncoder.fromPretrained(dir);
  const [ids, mask] = inputs('bert');
  const g = golden.bert;
  const out = enc.encode(ids, mask);
  await close(out.hidden, maskRows(g.hidden, g.hiddenShape, g.attentionMask, 1), g.hiddenShape, ATOL, 'hidden');
  free(ids, mask, out);
  enc.dispose();
  await rm(dir, { recursive: true });
});

test('checkpoint errors list unknown, missing and mis-shaped tensors; unsupported model_type', async () => {
  const dir = await writeGoldenDir('bert');
  const file = join(dir, 'model.safetensors');
  const { tensors } = await readSafetensors(file);
  const edited = new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
  edited.delete('bert.encoder.layer.1.output.dense.bias');
  edited.set('bert.encoder.layer.0.attention.self.rotary.weight', { shape: [2], data: new Float32Array(2) });
  edited.set('bert.embeddings.LayerNorm.weight', { shape: [8], data: new Float32Array(8) });
  await writeSafetensors(file, edited);
  await assert.rejects(BertEncoder.fromPretrained(dir), (e: unknown) => {
    assert.ok(e instanceof CheckpointError);
    assert.match(e.message, /model\.safetensors/);
    assert.match(e.message, /unknown tensors .*bert\.encoder\.layer\.0\.attention\.self\.rotary\.weight/);
    assert.match(e.message, /missing tensors: bert\.encoder\.layer\.1\.output\.dense\.bias/);
    assert.match(e.message, /bert\.embeddings\.LayerNorm\.weight: expected \[16\], got \[8\]/);
    return true;
  });
  await writeFile(join(dir, 'config.json'), JSON.stringify({ ...golden.bert.config, model_type: 'gpt2' }));
  await assert.rejects(BertEncoder.fromPretrained(dir), (e: unknown) => e instanceof ArgumentError && /model_type.*bert, roberta.*"gpt2"/.test(e.message));
  assert.throws(() => parseBertConfig({ ...golden.bert.config, position_embedding_type: 'relative_key' }), /position_embedding_type/);
  assert.throws(() => parseBertConfig({ ...golden.bert.config, hidden_act: 'swish' }), /hidden_act/);
  await rm(dir, { recursive: true });
});

test('save → fromPretrained round trip: same config, weights, tokenizer and outputs', async () => {
  const src = await writeGoldenDir('roberta');
  const a = await BertEncoder.fromPretrained(src);
  const dir = await tempDir('saved');
  await a.save(dir);
  const b = await BertEncoder.fromPretrained(dir);
  assert.deepEqual(b.config, a.config);
  const saved = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(saved['architectures'], ['RobertaForMaskedLM'], 'unknown config keys are kept');
  const [ids, mask] = inputs('roberta');
  const oa = a.encode(ids, mask);
  const ob = b.encode(ids, mask);
  await close(ob.hidden, await val(oa.hidden), oa.hidden.shape, 0, 'hidden');
  await close(ob.attention, await val(oa.attention), oa.attention.shape, 0, 'attention');
  assert.deepEqual(b.tokenizer!.encode('he was born in berlin').ids, a.tokenizer!.encode('he was born in berlin').ids);
  free(ids, mask, oa, ob);
  a.dispose();
  b.dispose();
  await rm(src, { recursive: true });
  await rm(dir, { recursive: true });
});

test('gradients reach every encoder weight when trainable; none when frozen', async () => {
  const enc = BertEncoder.random(tiny, 5);
  const [ids, mask] = inputs('bert');
  const R = tf.randomNormal([2, 10, 16], 0, 1, 'float32', 1);
  const loss = () => {
    const { hidden, attention } = enc.encode(ids, mask, { training: true });
    return hidden.mul(R).sum().add(attention.square().sum()) as tf.Scalar;
  };
  const { grads, value } = tf.variableGrads(loss, enc.trainableVariables());
  assert.equal(Object.keys(grads).length, bertParameterShapes(tiny).size);
  for (const [name, v] of enc.params) {
    const g = grads[v.name];
    assert.ok(g, `no gradient for ${name}`);
    assert.ok((await val(g.abs().sum()))[0]! > 0, `zero gradient for ${name}`);
  }
  // the pad id 0 appears only at padded positions: its embedding row gets no gradient
  const gw = grads[enc.params.get('embeddings.word_embeddings.weight')!.name]!;
  await close(gw.slice([0, 0], [1, 16]), 0, null, 0, 'pad row gradient');
  tf.dispose([value, grads, R, ids, mask]);
  enc.trainable = false;
  assert.deepEqual(enc.trainableVariables(), []);
  enc.dispose();
});

test('recompute (per-layer checkpointing): same loss and gradients as without, dropout included (the recomputation reuses the masks), attention of 1 or 2 layers', async () => {
  const config = parseBertConfig({ ...golden.bert.config, num_hidden_layers: 3 });
  const enc = BertEncoder.random(config, 7);
  const [ids, mask] = inputs('bert');
  const R = tf.randomNormal([2, 10, 16], 0, 1, 'float32', 2);
  const vars = enc.trainableVariables();
  const run = (recompute: boolean, training: boolean, seed: number) => {
    enc.recompute = recompute;
    return withSeededRandom(seed, () =>
      tf.variableGrads(() => {
        const { hidden, attention } = enc.encode(ids, mask, { training, attentionLayers: training ? 2 : 1 });
        return hidden.mul(R).sum().add(attention.square().sum()) as tf.Scalar;
      }, vars),
    );
  };
  for (const training of [false, true]) {
    // the same Math.random seed → the same dropout masks, drawn once and reused by the recomputation
    const a = run(false, training, 3);
    const b = run(true, training, 3);
    await close(b.value, await val(a.value), [], 1e-4, `loss (training ${training})`);
    for (const v of vars) await close(b.grads[v.name]!, await val(a.grads[v.name]!), null, 1e-4, `gradient of ${v.name} (training ${training})`);
    if (training) {
      const c = run(false, training, 4);
      assert.ok(Math.abs((await val(c.value))[0]! - (await val(a.value))[0]!) > 1e-6, 'dropout is on: another seed, another loss');
      tf.dispose([c.value, c.grads]);
    }
    tf.dispose([a.value, a.grads, b.value, b.grads]);
  }
  tf.dispose([R, ids, mask]);
  enc.dispose();
});

test('padding does not influence real positions: changing padded ids changes nothing', async () => {
  const enc = BertEncoder.random(tiny, 7);
  const [ids, mask] = inputs('bert');
  const g = golden.bert;
  const ids2 = tf.tensor2d(g.inputIds.map((r, i) => r.map((x, j) => (g.attentionMask[i]![j] ? x : 17))), undefined, 'int32');
  const a = enc.encode(ids, mask);
  const b = enc.encode(ids2, mask);
  await close(b.hidden, await val(a.hidden), a.hidden.shape, tol(1e-6), 'hidden');
  await close(b.attention, await val(a.attention), a.attention.shape, tol(1e-6), 'attention');
  free(ids, ids2, mask, a, b);
  enc.dispose();
});

test('planWindows: ATLOP two windows; longer documents covered by evenly spaced windows with overlap', () => {
  const [w1, w2] = planWindows(1000, { windowLength: 512, head: 1, tail: 1 });
  assert.deepEqual(w1!.positions.slice(0, 3), [0, 1, 2]);
  assert.deepEqual(w1!.positions.slice(-2), [510, 999]);
  assert.deepEqual(w2!.positions.slice(0, 2), [0, 489]); // ATLOP: [CLS] + ids[l − 511 : l]
  assert.deepEqual(w2!.positions.slice(-1), [999]);
  assert.deepEqual([w1!.rowStart, w1!.rowEnd, w1!.posStart], [0, 511, 0]);
  assert.deepEqual([w2!.rowStart, w2!.rowEnd, w2!.posStart], [1, 512, 489]);
  for (const l of [513, 1500, 3000]) {
    const plan = planWindows(l, { windowLength: 512, head: 1, tail: 1, minOverlap: 64 });
    const covered = new Array<number>(l).fill(0);
    plan.forEach((p, k) => {
      assert.equal(p.positions.length, 512);
      for (let r = p.rowStart; r < p.rowEnd; r++) covered[p.positions[r]!]!++;
      if (k > 0) assert.ok(plan[k - 1]!.positions[510]! - p.positions[1]! + 1 >= 64, 'overlap ≥ minOverlap');
    });
    assert.ok(covered.every((c) => c >= 1), `every token covered (l = ${l})`);
  }
  assert.equal(planWindows(300, { windowLength: 128, minOverlap: 32 }).length, 3);
  assert.throws(() => planWindows(10, { windowLength: 8, minOverlap: 8 }), /minOverlap/);
});

test('windows: a document shorter than the window gives identical outputs through the windowed path', async () => {
  const enc = BertEncoder.random(tiny, 11);
  const params = Object.fromEntries(enc.params) as BertParams;
  const direct = enc.encode(...inputs('bert')); // n = 10 ≤ 24: no windows
  const [ids, mask] = inputs('bert'); // fresh host tensors (WebGPU cannot read GPU tensors synchronously)
  const windowed = encodeInWindows((i, m) => bertForward(params, tiny, i, m), ids, mask, { windowLength: 24, head: 1, tail: 1 });
  await close(windowed.hidden, await val(direct.hidden), direct.hidden.shape, tol(1e-6), 'hidden');
  await close(windowed.attention, await val(direct.attention), direct.attention.shape, tol(1e-6), 'attention');
  // the same short document next to a 30-token one (n > 24: the whole batch goes through windows)
  const long = Array.from({ length: 30 }, (_, j) => (j === 0 ? 2 : j === 29 ? 3 : 5 + ((j * 7) % 30)));
  const short = golden.bert.inputIds[0]!.concat(new Array<number>(20).fill(0));
  const ids2 = tf.tensor2d([short, long], undefined, 'int32');
  const mask2 = tf.tensor2d([short.map((_, j) => (j < 10 ? 1 : 0)), long.map(() => 1)]);
  const mixed = enc.encode(ids2, mask2);
  assert.deepEqual(mixed.attention.shape, [2, 2, 30, 30]);
  await close(mixed.hidden.slice([0, 0, 0], [1, 10, 16]), await val(direct.hidden.slice([0, 0, 0], [1, 10, 16])), null, tol(1e-6), 'short doc hidden');
  await close(mixed.attention.slice([0, 0, 0, 0], [1, 2, 10, 10]), await val(direct.attention.slice([0, 0, 0, 0], [1, 2, 10, 10])), null, tol(1e-6), 'short doc attention');
  await close(mixed.hidden.slice([0, 10, 0], [1, 20, 16]), 0, null, 0, 'short doc padding');
  free(ids, mask, direct, windowed, ids2, mask2, mixed);
  enc.dispose();
});

test("windows: a 30-token document with a 24-token window equals ATLOP's two-window computation", async () => {
  const enc = BertEncoder.random(tiny, 13);
  const l = 30;
  const W = 24;
  const doc = Array.from({ length: l }, (_, j) => (j === 0 ? 2 : j === l - 1 ? 3 : 5 + ((j * 11) % 33)));
  const ids = tf.tensor2d([doc], undefined, 'int32');
  const ones = tf.ones([1, l]) as tf.Tensor2D;
  const out = enc.encode(ids, ones);
  // ATLOP long_seq.py: ids1 = doc[:W-1] + [SEP], ids2 = [CLS] + doc[l-W+1:]
  const ids1 = doc.slice(0, W - 1).concat([doc[l - 1]!]);
  const ids2 = [doc[0]!].concat(doc.slice(l - W + 1));
  const win = enc.encode(tf.tensor2d([ids1, ids2], undefined, 'int32'), tf.ones([2, W]) as tf.Tensor2D);
  const H = (await win.hidden.array()) as number[][][];
  const A = (await win.attention.array()) as number[][][][];
  const d = 16;
  const off = l - W; // window 2 row r (r ≥ 1) is document position r + off
  const hidden: number[] = [];
  for (let t = 0; t < l; t++) {
    const row = new Array<number>(d).fill(0);
    let c = 0;
    if (t < W - 1) {
      c++;
      H[0]![t]!.forEach((x, k) => (row[k]! += x));
    }
    if (t - off >= 1) {
      c++;
      H[1]![t - off]!.forEach((x, k) => (row[k]! += x));
    }
    hidden.push(...row.map((x) => x / c));
  }
  const att: number[] = [];
  for (let h = 0; h < 2; h++)
    for (let q = 0; q < l; q++) {
      const row = new Array<number>(l).fill(0);
      for (let k = 0; k < l; k++) {
        if (q < W - 1 && k < W - 1) row[k]! += A[0]![h]![q]![k]!;
        if (q - off >= 1 && k - off >= 1) row[k]! += A[1]![h]![q - off]![k - off]!;
      }
      const s = row.reduce((a, x) => a + x, 0) + 1e-10;
      att.push(...row.map((x) => x / s));
    }
  await close(out.hidden, hidden, [1, l, d], tol(1e-5), 'hidden');
  await close(out.attention, att, [1, 2, l, l], tol(1e-5), 'attention');
  free(ids, ones, out, win);
  enc.dispose();
});

test('encodeAsync equals encode (long documents too)', async () => {
  const enc = BertEncoder.random(tiny, 17);
  const doc = Array.from({ length: 40 }, (_, j) => 5 + ((j * 13) % 33));
  const mk = () => [tf.tensor2d([doc], undefined, 'int32'), tf.ones([1, 40])] as [tf.Tensor2D, tf.Tensor2D];
  const a = enc.encode(...mk());
  const b = await enc.encodeAsync(...mk());
  await close(b.hidden, await val(a.hidden), [1, 40, 16], 0, 'hidden');
  await close(b.attention, await val(a.attention), [1, 2, 40, 40], 0, 'attention');
  free(a, b);
  enc.dispose();
});

test('argument errors: wrong rank, dtype, mask shape, attentionLayers', () => {
  const enc = BertEncoder.random(tiny, 1);
  const [ids, mask] = inputs('bert');
  assert.throws(() => enc.encode(ids.toFloat() as tf.Tensor2D, mask), /inputIds: expected shape \[b, n\] int32/);
  assert.throws(() => enc.encode(ids, mask.slice([0, 0], [2, 9]) as tf.Tensor2D), /attentionMask/);
  assert.throws(() => enc.encode(ids, mask, { attentionLayers: 3 }), /attentionLayers: expected an integer in \[1, 2\]/);
  assert.throws(() => enc.encode(ids.reshape([20]) as unknown as tf.Tensor2D, mask), /inputIds: expected shape \[b, n\]/);
  free(ids, mask);
  enc.dispose();
});

test('no tensor leaks: encode (direct and windowed) and gradients', () => {
  const enc = BertEncoder.random(tiny, 2);
  const [ids, mask] = inputs('bert');
  const long = tf.tensor2d([Array.from({ length: 30 }, (_, j) => 5 + (j % 30))], undefined, 'int32');
  const longMask = tf.ones([1, 30]) as tf.Tensor2D;
  assertNoLeak(() => { const o = enc.encode(ids, mask); return [o.hidden, o.attention]; }, 'encode');
  assertNoLeak(() => { const o = enc.encode(long, longMask, { training: true }); return [o.hidden, o.attention]; }, 'windowed encode');
  assertNoLeak(() => tf.variableGrads(() => enc.encode(ids, mask).hidden.sum() as tf.Scalar, enc.trainableVariables()), 'grads');
  free(ids, mask, long, longMask);
  enc.dispose();
});
