/**
 * The CLI's command line: help for every command, typed defaults, and one clear line with a
 * non-zero exit code for every kind of bad argument. Most cases run `runCli` in-process; a few
 * spawn the real executable (`node --import tsx src/cli/main.ts`) to check the exit code and streams.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { COMMANDS, commandHelp, parseCommand, type CommandName } from '../../src/cli/index.js';
import { heapHint, oneLine } from '../../src/cli/cli.js';
import { runCliCaptured } from '../helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

const cli = runCliCaptured;

function oneErrorLine(err: string): string {
  const lines = err.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${err}`);
  return lines[0]!;
}

test('--help of every command lists its options and exits 0', async () => {
  for (const name of Object.keys(COMMANDS) as CommandName[]) {
    const { code, out, err } = await cli(name, '--help');
    assert.equal(code, 0);
    assert.equal(err, '');
    assert.equal(out, commandHelp(name));
    assert.match(out, new RegExp(`^docre-kit ${name}: `));
    for (const opt of Object.keys(COMMANDS[name].options))
      assert.match(out, new RegExp(`--${opt}\\b`), `${name} --${opt}`);
  }
  const top = await cli('--help');
  assert.equal(top.code, 0);
  assert.match(top.out, /commands:\n {2}train {5}train a model/);
  assert.match(
    commandHelp('train'),
    /--model NAME {14}which paper model \(its preset\) \(one of atlop \| docunet \| dremir \| gtn \| docreii; required\)/,
  );
  assert.match(commandHelp('train'), /--epochs N .*\(default: the preset's, 30\)/);
  assert.match(commandHelp('train'), /--seed N .*\(default 66\)/);
});

test('parseCommand: typed values and defaults', () => {
  const o = parseCommand('train', [
    '--model',
    'gtn',
    '--train',
    't.json',
    '--epochs',
    '3',
    '--lr',
    '2e-4',
    '--resume',
  ]);
  assert.notEqual(o, 'help');
  assert.deepEqual(o, {
    model: 'gtn',
    train: 't.json',
    backend: 'wasm',
    finetune: false,
    epochs: 3,
    'accumulation-steps': 1,
    lr: 2e-4,
    cache: '.docre-kit-cache',
    out: 'runs/model',
    seed: 66,
    'checkpoint-every': 0,
    resume: true,
  });
  assert.deepEqual(parseCommand('bench', ['--quick']), {
    model: 'all',
    backend: 'wasm',
    docs: 8,
    entities: 20,
    tokens: 256,
    quick: true,
  });
  assert.equal(parseCommand('predict', ['-h']), 'help');
});

test('--threads N on every command that runs a model (absent: the backend uses all cores)', () => {
  for (const name of ['train', 'evaluate', 'predict', 'bench'] as const)
    assert.ok('threads' in COMMANDS[name].options, `${name} has --threads`);
  const o = parseCommand('predict', ['--model-dir', 'm', '--data', 'd.json', '--threads', '2']);
  assert.notEqual(o, 'help');
  assert.equal((o as { threads?: number }).threads, 2);
  assert.equal((parseCommand('bench', []) as { threads?: number }).threads, undefined);
  assert.throws(
    () => parseCommand('bench', ['--threads', '0']),
    /^UsageError: --threads must be >= 1, got 0$/,
  );
  assert.throws(() => parseCommand('bench', ['--threads', '1.5']), /--threads expects an integer, got '1.5'/);
});

test('bad command lines: one line on stderr naming the problem, exit code 2', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['frobnicate'],
      /^docre-kit: unknown command 'frobnicate' \(commands: train, evaluate, extract, predict, bench, queue, worker, collect, status; see docre-kit --help\)$/,
    ],
    [
      ['train', '--train', 'x.json'],
      /^docre-kit train: --model NAME is required \(see docre-kit train --help\)$/,
    ],
    [
      ['train', '--model', 'bert', '--train', 'x.json'],
      /^docre-kit train: --model must be one of atlop, docunet, dremir, gtn, docreii; got 'bert'/,
    ],
    [
      ['train', '--model', 'atlop', '--train', 'x.json', '--epochs', 'three'],
      /^docre-kit train: --epochs expects an integer, got 'three'/,
    ],
    [
      ['train', '--model', 'atlop', '--train', 'x.json', '--epochs', '1.5'],
      /--epochs expects an integer, got '1.5'/,
    ],
    [['train', '--model', 'atlop', '--train', 'x.json', '--epochs', '0'], /--epochs must be >= 1, got 0/],
    [['train', '--model', 'atlop', '--train', 'x.json', '--lr', 'fast'], /--lr expects a number, got 'fast'/],
    [['train', '--model', 'atlop', '--train'], /^docre-kit train: option '--train' needs a value/],
    [['train', '--model', 'atlop', '--train', '--epochs', '3'], /option '--train' needs a value/],
    [
      ['train', '--modle', 'atlop'],
      /^docre-kit train: unknown option '--modle' \(see docre-kit train --help\)$/,
    ],
    [['evaluate', 'dev.json'], /^docre-kit evaluate: unexpected argument 'dev.json'/],
    [
      ['evaluate', '--model-dir', 'm', '--data', 'd.json', '--backend', 'cuda'],
      /--backend must be one of cpu, wasm, webgpu, tensorflow; got 'cuda'/,
    ],
    [['predict', '--model-dir', '', '--data', 'd.json'], /--model-dir expects DIR, got an empty string/],
    [['bench', '--quick=yes'], /^docre-kit bench: Option '--quick' does not take an argument/],
  ];
  for (const [argv, re] of cases) {
    const { code, out, err } = await cli(...argv);
    assert.equal(code, 2, argv.join(' '));
    assert.equal(out, '');
    assert.match(oneErrorLine(err), re, argv.join(' '));
  }
  const none = await cli();
  assert.equal(none.code, 2);
  assert.match(none.err, /^docre-kit — /);
});

test('oneLine keeps a multi-line data error on one line', () => {
  assert.equal(
    oneLine('a.json: 3 problems:\na.json: document 0 at $[0].title: bad\nx\ny'),
    'a.json: 3 problems: a.json: document 0 at $[0].title: bad (+2 more)',
  );
  assert.equal(oneLine('single'), 'single');
});

test('the executable: help on stdout with exit 0, usage errors on stderr with exit 2', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: root,
      encoding: 'utf8',
    });
  const h = run('evaluate', '--help');
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /^docre-kit evaluate: /);
  const bad = run('train', '--model', 'atlop');
  assert.equal(bad.status, 2);
  assert.equal(bad.stdout, '');
  assert.equal(bad.stderr, 'docre-kit train: --train FILE is required (see docre-kit train --help)\n');
});

test('heapHint: a wasm trap (the 4 GiB heap exhausted) gets the accumulation hint; other errors nothing', () => {
  // (module (memory 1) (func (export "f") (drop (i32.load (i32.const 70000))))): a real out-of-bounds trap
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01,
    0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0a, 0x0c, 0x01, 0x0a,
    0x00, 0x41, 0xf0, 0xa2, 0x04, 0x28, 0x02, 0x00, 0x1a, 0x0b,
  ]);
  const f = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports['f'] as () => void;
  let trap: unknown;
  try {
    f();
  } catch (e) {
    trap = e;
  }
  assert.ok(trap instanceof WebAssembly.RuntimeError, String(trap));
  assert.match(heapHint(trap), /4 GiB heap .* --batch-size 1 --accumulation-steps 4/);
  assert.match(heapHint(new Error('Aborted(OOM)')), /heap/);
  assert.equal(heapHint(new Error("cannot read --train 'x.json': no such file")), '');
});
