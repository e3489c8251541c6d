/**
 * `docre-kit train --finetune` end to end on real Re-DocRED documents (the bundled file, cut to
 * their first 3 sentences): the embedded encoder and a tiny Hugging Face directory are trained
 * with the heads; the feature cache is bypassed with a notice; the fine-tuned encoder is saved in
 * `best/encoder/` and differs from its initial weights; `evaluate` reproduces the dev scores the
 * trainer recorded and `predict` the same facts; a run SIGKILLed mid-epoch and resumed ends with
 * the same weights (heads and encoder, bit for bit) as an uninterrupted run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTinyBertDir } from '../encoders/hf-dir.js';
import { EmbeddedEncoder } from '../../src/encoders/embedded.js';
import { readSafetensors } from '../../src/core/safetensors.js';
import { useTestBackend, runCliCaptured } from '../helpers.js';

await useTestBackend();
const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'docre-finetune-'));
const file = (name: string) => path.join(dir, name);

const cli = runCliCaptured;

type Doc = { title: string; sents: string[][]; vertexSet: { sent_id: number }[][]; labels?: { h: number; t: number; r: string; evidence: number[] }[] };
const all = JSON.parse(await fs.readFile(path.join(root, 'assets/re-docred/dev_revised.json'), 'utf8')) as Doc[];
/** The first k sentences of a document (mentions and labels outside them removed, entities renumbered). */
function cut(d: Doc, k: number): Doc {
  const keep = d.vertexSet.map((ms) => ms.filter((m) => m.sent_id < k));
  const ids = new Map<number, number>();
  keep.forEach((ms, i) => ms.length > 0 && ids.set(i, ids.size));
  const labels = (d.labels ?? [])
    .filter((l) => ids.has(l.h) && ids.has(l.t))
    .map((l) => ({ ...l, h: ids.get(l.h)!, t: ids.get(l.t)!, evidence: l.evidence.filter((e) => e < k) }));
  return { title: d.title, sents: d.sents.slice(0, k), vertexSet: keep.filter((ms) => ms.length > 0), labels };
}
const short = all.slice(0, 6).map((d) => cut(d, 3));
await fs.writeFile(file('train.json'), JSON.stringify(short.slice(0, 4)));
await fs.writeFile(file('dev.json'), JSON.stringify(short.slice(4, 6)));

// a tiny BERT directory with the real bert-base-cased tokenizer
await writeTinyBertDir(file('bert'));

const HEAD = ['--model', 'atlop', '--backend', 'wasm', '--batch-size', '2', '--lr', '1e-3', '--seed', '3', '--config', '{"embSize":16,"blockSize":4}'];

/** The largest |a − b| over the tensors two safetensors files share. */
async function maxDiff(a: string, b: string, rename: (name: string) => string = (n) => n): Promise<number> {
  const [x, y] = await Promise.all([readSafetensors(a), readSafetensors(b)]);
  let worst = 0;
  for (const [name, t] of x.tensors) {
    const u = y.tensors.get(rename(name));
    assert.ok(u, `${b} lacks ${rename(name)}`);
    for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(t.data[i]! - u.data[i]!));
  }
  return worst;
}

for (const kind of ['embedded', 'hf'] as const)
  test(`train --finetune (${kind} encoder) → evaluate and predict reproduce the trained model`, { timeout: 600_000 }, async () => {
    const out = file(`run-${kind}`);
    const cache = file(`cache-${kind}`);
    const enc = kind === 'hf' ? ['--encoder', file('bert')] : [];
    const t = await cli('train', '--finetune', ...enc, ...HEAD, '--train', file('train.json'), '--dev', file('dev.json'), '--epochs', '2', '--out', out, '--cache', cache);
    assert.equal(t.code, 0, t.err);
    assert.match(t.err, /^feature cache bypassed: the encoder \(.*\) is fine-tuned and runs on every batch$/m);
    await assert.rejects(fs.access(cache), 'no feature cache written');
    const info = JSON.parse(await fs.readFile(path.join(out, 'best/docre-kit.json'), 'utf8'));
    assert.equal(info.encoderSaved, true);
    assert.equal(info.encoder, kind === 'hf' ? file('bert') : 'embedded');
    const saved = path.join(out, 'best/encoder/model.safetensors');
    await fs.access(saved);
    // the encoder was trained: its weights moved away from the initial ones
    if (kind === 'hf') assert.ok((await maxDiff(saved, file('bert/model.safetensors'))) > 1e-4, 'encoder weights unchanged');
    else {
      const pkg = await EmbeddedEncoder.load({ trainable: true }); // the package's weights
      await pkg.save(file('package-encoder'));
      pkg.dispose();
      assert.ok((await maxDiff(saved, file('package-encoder/model.safetensors'))) > 1e-4, 'encoder weights unchanged');
    }
    const log = JSON.parse(await fs.readFile(path.join(out, 'train-log.json'), 'utf8'));
    assert.equal(log.steps, 4);
    assert.ok(Math.abs(log.hyperparameters.encoderLr - 5e-4) < 1e-12, 'encoder lr = --lr × 5e-5/1e-4');

    const e = await cli('evaluate', '--model-dir', path.join(out, 'best'), '--data', file('dev.json'), '--train', file('train.json'), '--backend', 'wasm', '--json', path.join(out, 'scores.json'));
    assert.equal(e.code, 0, e.err);
    const scores = JSON.parse(await fs.readFile(path.join(out, 'scores.json'), 'utf8'));
    const recorded = log.history[log.bestEpoch].metrics;
    for (const k of ['f1', 'precision', 'recall', 'ignF1', 'intraF1', 'interF1'])
      assert.ok(Math.abs(scores[k] - recorded[k]) < 1e-9, `${k}: ${scores[k]} vs ${recorded[k]}`);

    const p1 = await cli('predict', '--model-dir', path.join(out, 'best'), '--data', file('dev.json'), '--backend', 'wasm', '--out', path.join(out, 'r1.json'), '--quiet');
    assert.equal(p1.code, 0, p1.err);
    const facts = JSON.parse(await fs.readFile(path.join(out, 'r1.json'), 'utf8')) as unknown[];
    assert.equal(facts.length, scores.counts.predicted);
  });

/** Runs the CLI in a child process; `onErr` sees each stderr line and may kill the child. */
function child(args: string[], onErr?: (line: string, kill: () => void) => void): Promise<{ code: number | null; signal: string | null; err: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env: process.env });
    let err = '';
    let buf = '';
    c.stderr.on('data', (d) => {
      err += d;
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) onErr?.(l, () => c.kill('SIGKILL'));
    });
    c.on('error', reject);
    c.on('close', (code, signal) => resolve({ code, signal, err }));
  });
}

test('train --finetune SIGKILLed mid-epoch and resumed: same final weights as an uninterrupted run', { timeout: 900_000 }, async () => {
  // 4 documents, batch 1: 4 steps per epoch, a checkpoint after every step; killed after step 6 (epoch 2)
  const args = (out: string) => ['train', '--finetune', ...HEAD, '--batch-size', '1', '--train', file('train.json'), '--epochs', '2', '--checkpoint-every', '1', '--out', out];
  const killed = file('killed');
  const first = await child(args(killed), (line, kill) => line.startsWith('step 6/8') && kill());
  assert.equal(first.signal, 'SIGKILL', first.err);
  const resumed = await child([...args(killed), '--resume']);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.err, /resumed at epoch 2, step [67]\/8/);
  const straight = await child(args(file('straight')));
  assert.equal(straight.code, 0, straight.err);
  for (const f of ['last/weights.bin', 'last/encoder/model.safetensors']) {
    const [a, b] = await Promise.all([fs.readFile(path.join(killed, f)), fs.readFile(file(`straight/${f}`))]);
    assert.ok(a.equals(b), `${f} differs between the resumed and the uninterrupted run`);
  }
});
