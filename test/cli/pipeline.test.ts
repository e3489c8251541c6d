/**
 * The CLI end to end on real Re-DocRED documents (assets/) with a tiny random BERT written as a
 * Hugging Face directory (bert-base-cased tokenizer, d = 16, one layer): train with dev
 * evaluation, evaluate (table + JSON), predict (official JSON + readable triples), and the
 * one-line errors for bad files. Runs `runCli` in-process; the CLI itself selects wasm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTinyBertDir } from '../encoders/hf-dir.js';
import { useTestBackend, runCliCaptured } from '../helpers.js';

await useTestBackend();
const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'docre-cli-'));
const file = (name: string) => path.join(dir, name);

const cli = runCliCaptured;

// a tiny BERT directory with the real bert-base-cased tokenizer
await writeTinyBertDir(file('bert'));

// small splits of the bundled Re-DocRED file, cut to their first sentences to keep the test fast
type Doc = {
  title: string;
  sents: string[][];
  vertexSet: { sent_id: number }[][];
  labels?: { h: number; t: number; r: string; evidence: number[] }[];
};
const all = JSON.parse(
  await fs.readFile(path.join(root, 'assets/re-docred/dev_revised.json'), 'utf8'),
) as Doc[];
/** The first k sentences of a document: mentions, entities and labels outside them removed, entities renumbered. */
function cut(d: Doc, k: number): Doc {
  const keep = d.vertexSet.map((ms) => ms.filter((m) => m.sent_id < k));
  const ids = new Map<number, number>();
  keep.forEach((ms, i) => ms.length > 0 && ids.set(i, ids.size));
  const labels = (d.labels ?? [])
    .filter((l) => ids.has(l.h) && ids.has(l.t))
    .map((l) => ({ ...l, h: ids.get(l.h)!, t: ids.get(l.t)!, evidence: l.evidence.filter((e) => e < k) }));
  return {
    title: d.title,
    sents: d.sents.slice(0, k),
    vertexSet: keep.filter((ms) => ms.length > 0),
    labels,
  };
}
const short = all.slice(0, 6).map((d) => cut(d, 3));
await fs.writeFile(file('train.json'), JSON.stringify(short.slice(0, 4)));
await fs.writeFile(file('dev.json'), JSON.stringify(short.slice(4, 6)));
await fs.writeFile(file('test.json'), JSON.stringify(short.slice(4, 6).map(({ labels: _l, ...d }) => d)));

test('train → evaluate → predict on real documents', { timeout: 300_000 }, async () => {
  const t = await cli(
    'train',
    '--model',
    'atlop',
    '--train',
    file('train.json'),
    '--dev',
    file('dev.json'),
    '--encoder',
    file('bert'),
    '--backend',
    'wasm',
    '--epochs',
    '2',
    '--batch-size',
    '2',
    '--lr',
    '1e-3',
    '--out',
    file('run'),
    '--seed',
    '3',
    '--config',
    '{"embSize":16,"blockSize":4}',
  );
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /^atlop: 4 steps in [\d.]+ s; best dev F1 [\d.]+ at epoch [12] → .*run\/best\n$/);
  assert.match(t.err, /^training atlop on 4 documents \(97 classes, encoder .*bert, backend wasm\)/);
  assert.match(t.err, /epoch 2\/2 {2}loss \d\.\d{4} {2}f1 [\d.]+ {2}precision/);
  for (const f of [
    'best/model.json',
    'best/weights.bin',
    'best/docre-kit.json',
    'best/encoder/model.safetensors',
    'last/model.json',
    'resume.ckpt',
    'train-log.json',
  ])
    await fs.access(file(`run/${f}`));
  const log = JSON.parse(await fs.readFile(file('run/train-log.json'), 'utf8'));
  assert.equal(log.history.length, 2);
  assert.equal(log.steps, 4);

  const e = await cli(
    'evaluate',
    '--model-dir',
    file('run/best'),
    '--data',
    file('dev.json'),
    '--train',
    file('train.json'),
    '--backend',
    'wasm',
    '--json',
    file('scores.json'),
  );
  assert.equal(e.code, 0, e.err);
  assert.match(
    e.out,
    /^ +P +R +F1 +Ign F1 +intra F1 +inter F1\n( +\d+\.\d\d){6}\n\d+ predicted, \d+ gold, \d+ correct facts over 2 documents\n$/,
  );
  const scores = JSON.parse(await fs.readFile(file('scores.json'), 'utf8'));
  for (const k of ['precision', 'recall', 'f1', 'ignF1', 'intraF1', 'interF1'])
    assert.ok(scores[k] >= 0 && scores[k] <= 1, k);
  assert.equal(scores.documents, 2);
  // the dev F1 the trainer recorded for the best epoch is what evaluate computes
  assert.ok(Math.abs(scores.f1 - log.bestF1) < 1e-9, `${scores.f1} vs ${log.bestF1}`);

  const p = await cli(
    'predict',
    '--model-dir',
    file('run/best'),
    '--data',
    file('test.json'),
    '--backend',
    'wasm',
    '--out',
    file('result.json'),
  );
  assert.equal(p.code, 0, p.err);
  const result = JSON.parse(await fs.readFile(file('result.json'), 'utf8')) as {
    title: string;
    h_idx: number;
    t_idx: number;
    r: string;
    evidence: number[];
  }[];
  assert.equal(result.length, scores.counts.predicted);
  const lines = p.out.split('\n').filter(Boolean);
  assert.equal(lines.length, result.length);
  assert.match(p.err, new RegExp(`^${result.length} relations in 2 documents → `));
  assert.ok(result.length > 0, 'an untrained model predicts many relations'); // hundreds: random logits over 97 classes
  assert.deepEqual(Object.keys(result[0]!), ['title', 'h_idx', 't_idx', 'r', 'evidence']);
  const docs = JSON.parse(await fs.readFile(file('test.json'), 'utf8')) as Doc[];
  const first = result[0]!;
  const doc = docs.find((d) => d.title === first.title)!;
  const name = (k: number) => (doc.vertexSet[k]![0] as unknown as { name: string }).name;
  assert.ok(lines[0]!.startsWith(`${first.title}: ${name(first.h_idx)} —`), lines[0]);
  assert.ok(lines[0]!.endsWith(` (${first.r})→ ${name(first.t_idx)}`), lines[0]);
});

const SMALL: Record<string, object> = {
  docunet: { unetChannels: 8, unetOut: 8, embSize: 16, blockSize: 4 },
  dremir: { pairSize: 16, pairFfnSize: 16, ffnDim: 16, numLayers: 1 },
  gtn: { numLayers: 1, embSize: 16, blockSize: 4 },
  docreii: { pairSize: 16, ffnDim: 16, numLayers: 1 },
};
for (const [name, config] of Object.entries(SMALL))
  test(
    `${name} trains from the CLI and its best checkpoint reloads to the recorded dev F1`,
    { timeout: 300_000 },
    async () => {
      const out = file(`run-${name}`);
      const epochs = name === 'docreii' ? ['--epochs', '1', '--stage2-epochs', '1'] : ['--epochs', '2'];
      const t = await cli(
        'train',
        '--model',
        name,
        '--train',
        file('train.json'),
        '--dev',
        file('dev.json'),
        '--encoder',
        file('bert'),
        '--backend',
        'wasm',
        ...epochs,
        '--batch-size',
        '2',
        '--lr',
        '1e-3',
        '--out',
        out,
        '--config',
        JSON.stringify(config),
      );
      assert.equal(t.code, 0, t.err);
      const log = JSON.parse(await fs.readFile(path.join(out, 'train-log.json'), 'utf8'));
      assert.equal(log.history.length, 2);
      assert.equal(log.steps, 4);
      if (name === 'docreii')
        assert.deepEqual(
          log.history.map((h: { stage: number }) => h.stage),
          [0, 1],
        );
      const e = await cli(
        'evaluate',
        '--model-dir',
        path.join(out, 'best'),
        '--data',
        file('dev.json'),
        '--train',
        file('train.json'),
        '--backend',
        'wasm',
        '--json',
        path.join(out, 'scores.json'),
      );
      assert.equal(e.code, 0, e.err);
      const scores = JSON.parse(await fs.readFile(path.join(out, 'scores.json'), 'utf8'));
      const recorded = log.history[log.bestEpoch].metrics;
      for (const k of ['f1', 'precision', 'recall', 'ignF1', 'intraF1', 'interF1'])
        assert.ok(Math.abs(scores[k] - recorded[k]) < 1e-9, `${k}: ${scores[k]} vs ${recorded[k]}`);
    },
  );

test('CDR (.data files): candidate pairs only, binary P/R/F1', { timeout: 300_000 }, async () => {
  const lines = (await fs.readFile(path.join(root, '../shared/data/cdr/dev_filter.data'), 'utf8'))
    .split('\n')
    .filter(Boolean);
  await fs.writeFile(file('cdr-train.data'), lines.slice(0, 4).join('\n') + '\n');
  await fs.writeFile(file('cdr-dev.data'), lines.slice(4, 6).join('\n') + '\n');
  const out = file('run-cdr');
  const t = await cli(
    'train',
    '--model',
    'atlop',
    '--train',
    file('cdr-train.data'),
    '--dev',
    file('cdr-dev.data'),
    '--encoder',
    file('bert'),
    '--backend',
    'wasm',
    '--epochs',
    '1',
    '--batch-size',
    '2',
    '--out',
    out,
    '--config',
    '{"embSize":16,"blockSize":4}',
  );
  assert.equal(t.code, 0, t.err);
  assert.match(t.err, /\(2 classes, /);
  assert.match(
    t.err,
    /epoch 1\/1 {2}loss \d\.\d{4} {2}f1 [\d.]+ {2}precision [\d.]+ {2}recall [\d.]+ {2}\(best\)/,
  );
  const e = await cli(
    'evaluate',
    '--model-dir',
    path.join(out, 'best'),
    '--data',
    file('cdr-dev.data'),
    '--backend',
    'wasm',
  );
  assert.equal(e.code, 0, e.err);
  assert.match(
    e.out,
    /^ +P +R +F1\n( +\d+\.\d\d){3}\n(\d+) predicted, (\d+) gold, \d+ correct facts over 2 documents \(binary: positive class only\)\n$/,
  );
  // only candidate pairs are classified: at most one prediction per labelled pair
  const docs = lines.slice(4, 6).map((l) => (l.split('\t').length - 2) / 17);
  const predicted = Number(/(\d+) predicted/.exec(e.out)![1]);
  assert.ok(
    predicted <= docs.reduce((a, b) => a + b, 0),
    `${predicted} predictions for ${docs} candidate pairs`,
  );
});

test('bad files: one line on stderr, exit code 1', async () => {
  await fs.writeFile(
    file('broken.json'),
    '[{"title": "x", "sents": [["a"]], "vertexSet": [[{"name": "a", "pos": [0, 9], "sent_id": 0, "type": "PER"}]]}',
  );
  await fs.writeFile(file('bad-doc.json'), '[{"title": 7, "sents": [], "vertexSet": []}]');
  const cases: [string[], RegExp][] = [
    [
      ['train', '--model', 'atlop', '--train', file('missing.json')],
      /^docre-kit train: cannot read --train '.*missing\.json': no such file$/,
    ],
    [
      ['train', '--model', 'atlop', '--train', dir],
      /^docre-kit train: cannot read --train '.*': not a file$/,
    ],
    [
      ['train', '--model', 'atlop', '--train', file('broken.json')],
      /^docre-kit train: .*broken\.json.*JSON/i,
    ],
    [
      ['train', '--model', 'atlop', '--train', file('bad-doc.json')],
      /^docre-kit train: .*bad-doc\.json: \d+ problems?: .*title/,
    ],
    [
      ['train', '--model', 'atlop', '--train', file('train.json'), '--dev', file('nope.json')],
      /cannot read --dev '.*nope\.json': no such file$/,
    ],
    [
      [
        'train',
        '--model',
        'atlop',
        '--train',
        file('train.json'),
        '--encoder',
        file('nodir'),
        '--backend',
        'cpu',
      ],
      /cannot read --encoder '.*nodir': no such directory$/,
    ],
    [
      ['evaluate', '--model-dir', file('bert'), '--data', file('dev.json')],
      /^docre-kit evaluate: --model-dir '.*bert' is not a docre-kit model directory/,
    ],
    [
      ['evaluate', '--model-dir', file('nodir'), '--data', file('dev.json')],
      /cannot read --model-dir '.*nodir': no such directory$/,
    ],
    [
      ['predict', '--model-dir', file('run/best'), '--data', file('missing.json')],
      /^docre-kit predict: cannot read --data '.*missing\.json': no such file$/,
    ],
    [
      ['evaluate', '--model-dir', file('run/best'), '--data', file('test.json'), '--backend', 'cpu'],
      /has no labels to score against \(use predict\)$/,
    ],
    [
      [
        'train',
        '--model',
        'atlop',
        '--train',
        file('train.json'),
        '--backend',
        'cpu',
        '--config',
        '{"embsize":16}',
      ],
      /^docre-kit train: cannot build model 'atlop': atlop config: unknown key 'embsize': expected keys among hiddenSize, numClasses, seed, encoder, embSize, blockSize, topK, got "embsize"$/,
    ],
  ];
  for (const [argv, re] of cases) {
    const { code, out, err } = await cli(...argv);
    assert.equal(code, 1, `${argv.join(' ')}: ${err}`);
    assert.equal(out, '');
    const lines = err.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, err);
    assert.match(lines[0]!, re);
  }
  const badConfig = await cli(
    'train',
    '--model',
    'atlop',
    '--train',
    file('train.json'),
    '--config',
    '{oops',
  );
  assert.equal(badConfig.code, 2);
  assert.match(badConfig.err, /^docre-kit train: --config expects a JSON object, got '\{oops'/);
});

test('bench --quick prints a throughput table', async () => {
  const b = await cli('bench', '--quick', '--model', 'atlop', '--backend', 'wasm');
  assert.equal(b.code, 0, b.err);
  assert.match(
    b.out,
    /^backend wasm {2}b=2 n=32 e=6 d=32 r=5\nmodel +train docs\/s +train docs\/cpu-s +infer ms\/doc +infer cpu-ms\/doc\natlop( +\d+\.\d\d){2}( +\d+\.\d){2}\n$/,
  );
});

test.after(() => fs.rm(dir, { recursive: true, force: true }));
