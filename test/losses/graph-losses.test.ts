/**
 * GTN auxiliary losses (DocRE-BSI §2.3): node masking + reconstruction (eq. 7) and SA-KD (eq. 8).
 * Golden values: test/fixtures/gen_unet_gtn.py (`losses` in gtn.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertClose, assertNoLeak, loadFixture, seededTensor, tol, useTestBackend } from '../helpers.js';
import {
  adversarialDistillationLosses,
  maskMentionNodes,
  NodeDiscriminatorLayer,
  type NodeDiscriminatorParams,
  nodeReconstructionLoss,
} from '../../src/losses/graph-losses.js';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';

await useTestBackend();

async function close(
  actual: tf.Tensor,
  expected: tf.Tensor | number[] | number,
  atol = tol(),
  rtol = atol,
  what = 'value',
): Promise<void> {
  if (expected instanceof tf.Tensor) assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const e =
    expected instanceof tf.Tensor
      ? await expected.data()
      : typeof expected === 'number'
        ? [expected]
        : expected;
  assertClose(Float32Array.from(await actual.data()), Float32Array.from(e), atol, rtol, what);
}
async function norms(t: tf.Tensor): Promise<number[]> {
  const n = tf.tidy(() => t.abs().sum(-1).flatten());
  const out = Array.from(await n.data());
  n.dispose();
  return out;
}

interface LossFixture {
  b: number;
  v: number;
  d: number;
  discriminatorWidth: number;
  reconstruction: {
    predicted: number[];
    original: number[];
    maskedNodes: number[];
    loss: number;
    gradPredicted: number[];
  };
  adversarial: {
    teacher: number[];
    student: number[];
    nodeMask: number[];
    params: Record<string, number[]>;
    discriminatorLoss: number;
    generatorLoss: number;
    gradStudentGenerator: number[];
    gradHiddenDiscriminator: number[];
  };
}
const fx = (await loadFixture<{ losses: LossFixture }>('gtn.json')).losses;
const { b, v, d } = fx;
const u = fx.discriminatorWidth;
const softplus = (x: number) => Math.log1p(Math.exp(x));

function fixtureParams(): NodeDiscriminatorParams {
  const p = fx.adversarial.params;
  return {
    hidden: { kernel: tf.tensor(p['hidden/kernel']!, [d, u]), bias: tf.tensor(p['hidden/bias']!, [u]) },
    output: { kernel: tf.tensor(p['output/kernel']!, [u, 1]), bias: tf.tensor(p['output/bias']!, [1]) },
  };
}
const adv = () => ({
  teacher: tf.tensor(fx.adversarial.teacher, [b, v, d]),
  student: tf.tensor(fx.adversarial.student, [b, v, d]),
  nodeMask: tf.tensor(fx.adversarial.nodeMask, [b, v]),
});

// 1. Shapes and arguments ----------------------------------------------------------------------

test('shapes: scalar losses, masked nodes [b,v,d] and mask [b,v]; bad arguments are typed errors', () => {
  tf.tidy(() => {
    const x = seededTensor([2, 3, 4], 1);
    const loss = nodeReconstructionLoss(x, x.neg(), tf.ones([2, 3]));
    assert.deepEqual(loss.shape, []);
    const m = maskMentionNodes(x, tf.ones([2, 3]), tf.zeros([4]), { seed: 1 });
    assert.deepEqual(m.nodes.shape, [2, 3, 4]);
    assert.deepEqual(m.maskedNodes.shape, [2, 3]);
    assert.equal(m.maskedNodes.dtype, 'float32');
    assert.throws(() => nodeReconstructionLoss(x, tf.zeros([2, 3, 5]), tf.ones([2, 3])), ShapeError);
    assert.throws(() => nodeReconstructionLoss(x, x, tf.ones([3, 2])), /maskedNodes/);
    assert.throws(() => maskMentionNodes(x, tf.ones([2, 3]), tf.zeros([5]), { seed: 1 }), /maskToken/);
    assert.throws(
      () => maskMentionNodes(x, tf.ones([2, 3]), tf.zeros([4]), { seed: 1, rate: 1.5 }),
      ArgumentError,
    );
    const p = fixtureParams();
    const t = seededTensor([2, 3, d], 2);
    const l = adversarialDistillationLosses(t, t, tf.ones([2, 3]), p);
    assert.deepEqual([l.discriminatorLoss.shape, l.generatorLoss.shape], [[], []]);
    assert.throws(
      () => adversarialDistillationLosses(t, seededTensor([2, 4, d], 3), tf.ones([2, 3]), p),
      /student/,
    );
    assert.throws(() => adversarialDistillationLosses(x, x, tf.ones([2, 3]), p), /params.hidden.kernel/);
    assert.throws(
      () => adversarialDistillationLosses(t, t, tf.ones([2, 3]), p, { generator: 'wgan' as never }),
      ArgumentError,
    );
    assert.deepEqual(new NodeDiscriminatorLayer({ units: 3 }).computeOutputShape([null, 5, d]), [null, 5]);
    assert.throws(() => new NodeDiscriminatorLayer({ units: 0 }), /units/);
  });
});

// 2. Closed form -------------------------------------------------------------------------------

test('reconstruction: 1 − cos averaged over masked nodes only (same 0, opposite 2, orthogonal 1)', async () => {
  const predicted = tf.tensor3d([
    [
      [1, 0],
      [0, 2],
      [3, 3],
    ],
    [
      [-1, 0],
      [5, 5],
      [0, 0],
    ],
  ]);
  const original = tf.tensor3d([
    [
      [2, 0],
      [0, -1],
      [1, 0],
    ],
    [
      [1, 0],
      [9, 9],
      [1, 1],
    ],
  ]);
  // masked: (0,0) cos 1, (0,1) cos −1, (0,2) cos 1/√2, (1,0) cos −1; (1,1) and (1,2) not masked
  const masked = tf.tensor2d([
    [1, 1, 1],
    [1, 0, 0],
  ]);
  const loss = nodeReconstructionLoss(predicted, original, masked);
  await close(loss, (0 + 2 + (1 - Math.SQRT1_2) + 2) / 4, tol(1e-6));
  const none = nodeReconstructionLoss(predicted, original, tf.zeros([2, 3]));
  await close(none, 0, 0, 0, 'no masked node → 0');
  tf.dispose([predicted, original, masked, loss, none]);
});

test('adversarial: a constant discriminator logit β gives softplus(−β) + softplus(β) and softplus(−β)', async () => {
  const beta = 0.7;
  const p: NodeDiscriminatorParams = {
    hidden: { kernel: tf.zeros([4, 3]), bias: tf.zeros([3]) },
    output: { kernel: tf.zeros([3, 1]), bias: tf.tensor1d([beta]) },
  };
  const x = seededTensor([2, 3, 4], 5);
  const mask = tf.tensor2d([
    [1, 1, 0],
    [1, 0, 0],
  ]);
  const ns = adversarialDistillationLosses(x, x.mul(2), mask, p);
  const mm = adversarialDistillationLosses(x, x.mul(2), mask, p, { generator: 'minimax' });
  await close(ns.discriminatorLoss, softplus(-beta) + softplus(beta), tol(1e-6));
  await close(ns.generatorLoss, softplus(-beta), tol(1e-6));
  await close(mm.generatorLoss, -softplus(beta), tol(1e-6), tol(1e-6), 'minimax = log(1 − σ(β))');
  tf.dispose([x, mask, ns, mm, p] as unknown as tf.TensorContainer);
});

// 3. Reference parity --------------------------------------------------------------------------

test('golden parity vs torch: reconstruction loss and gradient, discriminator/generator losses and gradients', async () => {
  const r = fx.reconstruction;
  const predicted = tf.tensor(r.predicted, [b, v, d]);
  const original = tf.tensor(r.original, [b, v, d]);
  const masked = tf.tensor(r.maskedNodes, [b, v]);
  await close(nodeReconstructionLoss(predicted, original, masked), r.loss, tol(1e-5), tol(1e-5), 'L_N');
  const gp = tf.grad((x: tf.Tensor) => nodeReconstructionLoss(x, original, masked))(predicted);
  await close(gp, r.gradPredicted, tol(1e-5), tol(1e-4), 'dL_N/dpredicted');

  const a = fx.adversarial;
  const { teacher, student, nodeMask } = adv();
  const p = fixtureParams();
  const losses = adversarialDistillationLosses(teacher, student, nodeMask, p);
  await close(losses.discriminatorLoss, a.discriminatorLoss, tol(1e-5), tol(1e-5), 'discriminator loss');
  await close(losses.generatorLoss, a.generatorLoss, tol(1e-5), tol(1e-5), 'generator loss');
  const gs = tf.grad((s: tf.Tensor) => adversarialDistillationLosses(teacher, s, nodeMask, p).generatorLoss)(
    student,
  );
  await close(gs, a.gradStudentGenerator, tol(1e-5), tol(1e-4), 'dG/dstudent');
  const gh = tf.grad(
    (k: tf.Tensor) =>
      adversarialDistillationLosses(teacher, student, nodeMask, { ...p, hidden: { ...p.hidden, kernel: k } })
        .discriminatorLoss,
  )(p.hidden.kernel);
  await close(gh, a.gradHiddenDiscriminator, tol(1e-5), tol(1e-4), 'dD/dW1');
  tf.dispose([
    predicted,
    original,
    masked,
    gp,
    teacher,
    student,
    nodeMask,
    gs,
    gh,
    p,
    losses,
  ] as unknown as tf.TensorContainer);
});

// 4. Gradients: who may move ---------------------------------------------------------------------

test('reconstruction gradient: only masked predicted rows; target stopped by default; finite at a zero vector', async () => {
  const predicted = seededTensor([1, 3, 4], 6).mul(tf.tensor3d([[[1], [1], [0]]])); // node 2 is the zero vector
  const original = seededTensor([1, 3, 4], 7);
  const masked = tf.tensor2d([[1, 0, 1]]);
  const [gp, go] = tf.grads((p: tf.Tensor, o: tf.Tensor) => nodeReconstructionLoss(p, o, masked))([
    predicted,
    original,
  ]);
  const np = await norms(gp!);
  assert.ok(np[0]! > 0 && np[1] === 0 && Number.isFinite(np[2]!), `predicted rows: ${np}`);
  assert.deepEqual(await norms(go!), [0, 0, 0], 'original gets no gradient (stopped)');
  const go2 = tf.grad((o: tf.Tensor) =>
    nodeReconstructionLoss(predicted, o, masked, { stopTargetGradient: false }),
  )(original);
  const n2 = await norms(go2);
  assert.ok(n2[0]! > 0 && n2[1] === 0, 'unstopped target: masked rows only');
  tf.dispose([predicted, original, masked, gp!, go!, go2]);
});

test('discriminator loss trains only the discriminator; generator loss only the student (padded nodes get nothing)', async () => {
  const { teacher, student, nodeMask } = adv();
  const p = fixtureParams();
  const flat = [p.hidden.kernel, p.hidden.bias, p.output.kernel, p.output.bias];
  const withParams = (ps: tf.Tensor[]): NodeDiscriminatorParams => ({
    hidden: { kernel: ps[0]!, bias: ps[1]! },
    output: { kernel: ps[2]!, bias: ps[3]! },
  });
  const dGrads = tf.grads(
    (t: tf.Tensor, s: tf.Tensor, ...ps: tf.Tensor[]) =>
      adversarialDistillationLosses(t, s, nodeMask, withParams(ps)).discriminatorLoss,
  )([teacher, student, ...flat]);
  const gGrads = tf.grads(
    (s: tf.Tensor, ...ps: tf.Tensor[]) =>
      adversarialDistillationLosses(teacher, s, nodeMask, withParams(ps)).generatorLoss,
  )([student, ...flat]);
  const total = async (g: tf.Tensor) => (await g.abs().sum().data())[0]!;
  assert.equal(await total(dGrads[0]!), 0, 'D: teacher');
  assert.equal(await total(dGrads[1]!), 0, 'D: student');
  for (let i = 2; i < 6; i++) assert.ok((await total(dGrads[i]!)) > 0, `D: discriminator param ${i - 2}`);
  assert.throws(
    () =>
      tf.grad((t: tf.Tensor) => adversarialDistillationLosses(t, student, nodeMask, p).generatorLoss)(
        teacher,
      ),
    /Cannot compute gradient/,
    'G: teacher',
  );
  for (let i = 1; i < 5; i++)
    assert.equal(await total(gGrads[i]!), 0, `G: discriminator param ${i - 1} frozen`);
  const rows = await norms(gGrads[0]!);
  const maskValues = fx.adversarial.nodeMask;
  rows.forEach((r, i) => assert.ok(maskValues[i] ? r > 0 : r === 0, `G: student node ${i}`));
  tf.dispose([teacher, student, nodeMask, ...dGrads, ...gGrads, p] as unknown as tf.TensorContainer);
});

// 5. Masking utility and equivalences ------------------------------------------------------------

test('maskMentionNodes: seeded and reproducible, ≈ rate of mention nodes, never other nodes, masked rows = token', async () => {
  const [B, V, D] = [4, 250, 2];
  const nodes = seededTensor([B, V, D], 8);
  const mention = tf.tensor2d(
    Array.from({ length: B * V }, (_, i) => (i % 5 === 0 ? 0 : 1)),
    [B, V],
  ); // every 5th is not a mention
  const token = tf.tensor1d([7, -7]);
  const a = maskMentionNodes(nodes, mention, token, { seed: 42 });
  const again = maskMentionNodes(nodes, mention, token, { seed: 42 });
  const other = maskMentionNodes(nodes, mention, token, { seed: 43 });
  const [ma, mb, mo] = await Promise.all([
    a.maskedNodes.data(),
    again.maskedNodes.data(),
    other.maskedNodes.data(),
  ]);
  assert.deepEqual(Array.from(ma), Array.from(mb), 'same seed, same nodes');
  assert.notDeepEqual(Array.from(ma), Array.from(mo), 'another seed, other nodes');
  const mentions = B * V * 0.8;
  const count = Array.from(ma).reduce((s, x) => s + x, 0);
  assert.ok(Math.abs(count / mentions - 0.2) < 0.05, `fraction ${count / mentions}`);
  Array.from(ma).forEach((x, i) => i % 5 === 0 && assert.equal(x, 0, `non-mention node ${i} masked`));
  const [out, orig] = [(await a.nodes.array()) as number[][][], (await nodes.array()) as number[][][]];
  for (let i = 0; i < B * V; i++) {
    const [bi, vi] = [Math.floor(i / V), i % V];
    assert.deepEqual(out[bi]![vi], ma[i] ? [7, -7] : orig[bi]![vi], `node ${i}`);
  }
  const none = maskMentionNodes(nodes, mention, token, { seed: 1, rate: 0 });
  assert.equal((await none.maskedNodes.sum().data())[0], 0);
  tf.dispose([nodes, mention, token, a, again, other, none] as unknown as tf.TensorContainer);
});

test('permuting nodes leaves both losses unchanged', async () => {
  const { teacher, student, nodeMask } = adv();
  const p = fixtureParams();
  const idx = tf.tensor1d([4, 2, 0, 3, 1], 'int32');
  const perm = (x: tf.Tensor) => tf.gather(x, idx, 1);
  const base = adversarialDistillationLosses(teacher, student, nodeMask, p);
  const moved = adversarialDistillationLosses(perm(teacher), perm(student), perm(nodeMask), p);
  await close(moved.discriminatorLoss, base.discriminatorLoss, tol(1e-6));
  await close(moved.generatorLoss, base.generatorLoss, tol(1e-6));
  const r1 = nodeReconstructionLoss(teacher, student, nodeMask);
  const r2 = nodeReconstructionLoss(perm(teacher), perm(student), perm(nodeMask));
  await close(r2, r1, tol(1e-6));
  tf.dispose([teacher, student, nodeMask, idx, base, moved, r1, r2, p] as unknown as tf.TensorContainer);
});

// 6. Hygiene -----------------------------------------------------------------------------------

test('NodeDiscriminatorLayer: logits match the pure function, config round trip, no leaks', async () => {
  const layer = new NodeDiscriminatorLayer({ units: 5 });
  const x = seededTensor([2, 3, d], 9);
  const y = layer.apply(x) as tf.Tensor;
  assert.deepEqual(y.shape, [2, 3]);
  assert.equal(layer.getWeights()[0]!.shape[1], 5);
  const [cls, fromConfig] =
    tf.serialization.SerializationMap.getMap().classNameMap['NodeDiscriminatorLayer']!;
  const copy = fromConfig(cls, layer.getConfig()) as NodeDiscriminatorLayer;
  (copy.apply(x) as tf.Tensor).dispose();
  copy.setWeights(layer.getWeights());
  await close(copy.apply(x) as tf.Tensor, y, 0, 0, 'round trip');
  const { teacher, student, nodeMask } = adv();
  const p = layer.params();
  assertNoLeak(() => layer.apply(x), 'apply');
  assertNoLeak(() => adversarialDistillationLosses(teacher, student, nodeMask, p), 'adversarial');
  assertNoLeak(
    () =>
      tf.grad((s: tf.Tensor) => adversarialDistillationLosses(teacher, s, nodeMask, p).generatorLoss)(
        student,
      ),
    'generator grad',
  );
  assertNoLeak(() => nodeReconstructionLoss(teacher, student, nodeMask), 'reconstruction');
  const token = tf.zeros([d]);
  assertNoLeak(() => maskMentionNodes(teacher, nodeMask, token, { seed: 3 }), 'masking');
  tf.dispose([x, y, teacher, student, nodeMask, token]);
});
