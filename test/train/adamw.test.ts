/**
 * AdamW: hand-computed updates, parity with torch.optim.AdamW (test/fixtures/gen_adamw.py),
 * parameter groups, state round trip, argument errors, no leaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { AdamW, paramGroups, isNoDecay } from '../../src/train/index.js';
import { ArgumentError } from '../../src/core/errors.js';
import { assertClose, loadFixture, tol, useTestBackend } from '../helpers.js';

await useTestBackend();

test('one step equals the closed form θ(1−lr·λ) − lr·ĝ/(|ĝ|+ε)', () => {
  const p = tf.variable(tf.tensor1d([1, -2]));
  const opt = new AdamW([{ variables: [p], lr: 0.1, weightDecay: 0.1 }], { epsilon: 1e-6 });
  const g = tf.tensor1d([0.5, -3]);
  opt.applyGradients({ [p.name]: g });
  // after one step m̂ = g and √v̂ = |g|
  assertClose(
    p,
    [1 * (1 - 0.01) - (0.1 * 0.5) / (0.5 + 1e-6), -2 * (1 - 0.01) - (0.1 * -3) / (3 + 1e-6)],
    tol(1e-6),
  );
  tf.dispose([p, g]);
  opt.dispose();
});

test('two steps follow the bias-corrected moments (hand-computed)', () => {
  const p = tf.variable(tf.scalar(0.5));
  const opt = new AdamW([{ variables: [p], lr: 0.01, weightDecay: 0 }], {
    beta1: 0.9,
    beta2: 0.99,
    epsilon: 1e-8,
  });
  const grads = [2, -1];
  let theta = 0.5;
  let m = 0;
  let v = 0;
  grads.forEach((g, i) => {
    const t = i + 1;
    m = 0.9 * m + 0.1 * g;
    v = 0.99 * v + 0.01 * g * g;
    theta -= (0.01 * (m / (1 - 0.9 ** t))) / (Math.sqrt(v / (1 - 0.99 ** t)) + 1e-8);
    const gt = tf.scalar(g);
    opt.applyGradients({ [p.name]: gt }, 1);
    gt.dispose();
  });
  assertClose(p, theta, tol(1e-6));
  p.dispose();
  opt.dispose();
});

test('matches torch.optim.AdamW for 5 steps with two groups and a schedule', async () => {
  type Step = { lr_scale: number; grad_w: number[][]; grad_b: number[]; w: number[][]; b: number[] };
  const fx = await loadFixture<{
    lr: number[];
    weight_decay: number[];
    eps: number;
    init: { w: number[][]; b: number[] };
    steps: Step[];
  }>('adamw.json');
  const w = tf.variable(tf.tensor2d(fx.init.w));
  const b = tf.variable(tf.tensor1d(fx.init.b));
  const opt = new AdamW(
    [
      { variables: [w], lr: fx.lr[0]!, weightDecay: fx.weight_decay[0]! },
      { variables: [b], lr: fx.lr[1]!, weightDecay: fx.weight_decay[1]! },
    ],
    { epsilon: fx.eps },
  );
  for (const [i, s] of fx.steps.entries()) {
    const gw = tf.tensor2d(s.grad_w);
    const gb = tf.tensor1d(s.grad_b);
    opt.applyGradients({ [w.name]: gw, [b.name]: gb }, s.lr_scale);
    assertClose(w, s.w, tol(1e-6), tol(1e-5), `w after step ${i + 1}`);
    assertClose(b, s.b, tol(1e-6), tol(1e-5), `b after step ${i + 1}`);
    tf.dispose([gw, gb]);
  }
  tf.dispose([w, b]);
  opt.dispose();
});

test('a variable without a gradient is untouched and keeps its own step count', () => {
  const a = tf.variable(tf.scalar(1));
  const c = tf.variable(tf.scalar(1));
  const opt = new AdamW([{ variables: [a, c], lr: 0.1, weightDecay: 0.5 }]);
  const g = tf.scalar(1);
  opt.applyGradients({ [a.name]: g });
  opt.applyGradients({ [a.name]: g, [c.name]: null });
  assert.equal(c.dataSync()[0], 1);
  // c's first real step is bias-corrected as step 1: the closed form of one step
  opt.applyGradients({ [c.name]: g });
  assertClose(c, 1 * (1 - 0.05) - 0.1 / (1 + 1e-6), tol(1e-6));
  assert.deepEqual(opt.getState().steps, { [a.name]: 2, [c.name]: 1 });
  tf.dispose(Object.values(opt.getState().moments).flatMap((x) => [x.m, x.v]));
  tf.dispose([a, c, g]);
  opt.dispose();
});

test('getState/setState into a fresh optimizer continues identically', () => {
  const init = tf.tensor1d([0.3, -0.7, 1.1]);
  const gs = [
    [0.1, 0.2, -0.3],
    [1, -1, 0.5],
    [-0.2, 0.4, 0.9],
    [0.05, 0, -2],
  ].map((g) => tf.tensor1d(g));
  const run = (split: boolean): Float32Array => {
    let p = tf.variable(init.clone());
    let opt = new AdamW([{ variables: [p], lr: 0.05, weightDecay: 0.01 }]);
    gs.forEach((g, i) => {
      if (split && i === 2) {
        const st = opt.getState();
        const q = tf.variable(p.clone());
        const next = new AdamW([{ variables: [q], lr: 0.05, weightDecay: 0.01 }]);
        // names differ between processes: map by position
        next.setState({ steps: { [q.name]: st.steps[p.name]! }, moments: { [q.name]: st.moments[p.name]! } });
        tf.dispose([st.moments[p.name]!.m, st.moments[p.name]!.v]);
        opt.dispose();
        p.dispose();
        p = q;
        opt = next;
      }
      opt.applyGradients({ [p.name]: g });
    });
    const out = p.dataSync().slice() as Float32Array;
    p.dispose();
    opt.dispose();
    return out;
  };
  assertClose(run(true), run(false), 0, 0, 'split vs straight');
  tf.dispose([init, ...gs]);
});

test('applyGradients leaks no tensor once the moments exist', () => {
  const p = tf.variable(tf.ones([2, 2]));
  const opt = new AdamW([{ variables: [p], lr: 0.1 }]);
  const g = tf.ones([2, 2]);
  opt.applyGradients({ [p.name]: g }); // creates m, v
  const before = tf.memory().numTensors;
  opt.applyGradients({ [p.name]: g }, 0.5);
  assert.equal(tf.memory().numTensors, before);
  opt.dispose();
  assert.equal(tf.memory().numTensors, before - 2);
  tf.dispose([p, g]);
});

test('bad arguments throw ArgumentError naming the argument', () => {
  const p = tf.variable(tf.zeros([2]));
  assert.throws(() => new AdamW([]), /groups: expected at least one parameter group/);
  assert.throws(
    () => new AdamW([{ variables: [p], lr: -1 }]),
    /groups\[0\]\.lr: expected a number >= 0, got -1/,
  );
  assert.throws(
    () => new AdamW([{ variables: [p], lr: 1 }], { beta1: 1 }),
    /beta1: expected a number in \[0, 1\), got 1/,
  );
  assert.throws(
    () =>
      new AdamW([
        { variables: [p], lr: 1 },
        { variables: [p], lr: 2 },
      ]),
    ArgumentError,
  );
  const opt = new AdamW([{ variables: [p], lr: 1 }]);
  const g3 = tf.zeros([3]);
  assert.throws(() => opt.applyGradients({ [p.name]: g3 }), /\.shape: expected \[2\], got \[3\]/);
  assert.throws(() => opt.applyGradients({ nope: g3 }), /grads: expected names of variables .* got "nope"/);
  tf.dispose([p, g3]);
});

test('paramGroups: encoder vs heads lrs, no decay on biases and LayerNorm', () => {
  const mk = (name: string, shape: number[]) => tf.variable(tf.zeros(shape), true, name);
  const vars = [
    mk('encoder/layer0/kernel', [4, 4]),
    mk('encoder/layer0/bias', [4]),
    mk('encoder/LayerNorm/gamma', [4]),
    mk('heads/bilinear/kernel', [16, 3]),
    mk('heads/bilinear/bias', [3]),
    mk('heads/maskVector', [1, 4]),
  ];
  const groups = paramGroups(vars, { encoderLr: 5e-5, headLr: 1e-4, weightDecay: 0.01 });
  const byName = Object.fromEntries(
    groups.map((g) => [g.name, { lr: g.lr, wd: g.weightDecay, vars: g.variables.map((v) => v.name) }]),
  );
  assert.deepEqual(byName, {
    'encoder/decay': { lr: 5e-5, wd: 0.01, vars: ['encoder/layer0/kernel'] },
    'encoder/no-decay': { lr: 5e-5, wd: 0, vars: ['encoder/layer0/bias', 'encoder/LayerNorm/gamma'] },
    'heads/decay': { lr: 1e-4, wd: 0.01, vars: ['heads/bilinear/kernel', 'heads/maskVector'] },
    'heads/no-decay': { lr: 1e-4, wd: 0, vars: ['heads/bilinear/bias'] },
  });
  assert.equal(isNoDecay(vars[3]!), false);
  assert.equal(isNoDecay(mk('x/layer_norm/w', [2, 2])), true);
  // a custom encoder predicate (what the trainer passes from variableGroups())
  const g2 = paramGroups(vars, { isEncoder: (v) => v.name.startsWith('heads/bilinear') });
  assert.deepEqual(
    g2.map((g) => [g.name, g.variables.length]),
    [
      ['heads/decay', 2],
      ['heads/no-decay', 2],
      ['encoder/decay', 1],
      ['encoder/no-decay', 1],
    ],
  );
  tf.dispose(vars);
});
