/**
 * GraphAttentionLayer, CrossAttentionLayer, GTNLayer (DocRE-BSI §2.2): the STYLE.md ladder at
 * tiny sizes (b 2, v 5, n 6, d 16). Golden values: test/fixtures/gen_unet_gtn.py (the official
 * Graph_Encoder.py blocks in torch, weights re-ordered to the docre-kit layout).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  assertClose,
  assertNoLeak,
  loadFixture,
  numericGrad,
  seededTensor,
  tol,
  useTestBackend,
} from '../helpers.js';
import {
  crossAttention,
  CrossAttentionLayer,
  graphAttention,
  GraphAttentionLayer,
  type GraphInputs,
  gtnLayer,
  GTNLayer,
  type GTNLayerParams,
  type TokenInputs,
} from '../../src/heads/gtn.js';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';
// async assertClose (webgpu in Node has no synchronous read), shapes checked when both are tensors
import { near as close } from '../fixtures/foundation.js';

await useTestBackend();

interface GTNFixture {
  b: number;
  v: number;
  n: number;
  d: number;
  numEntityIds: number;
  numSentenceIds: number;
  nodes: number[];
  adjacency: number[];
  entityIds: number[];
  sentenceIds: number[];
  nodeMask: number[];
  tokens: number[];
  localMask: number[];
  attentionMask: number[];
  crossNodes: number[];
  graphParams: Record<string, number[]>;
  crossParams: Record<string, number[]>;
  layerParams: Record<string, number[]>;
  graphOut: number[];
  crossOut: number[];
  layerOut: number[];
  upstream: number[];
  grads: Record<string, number[]>;
}
const fx = (await loadFixture<{ gtn: GTNFixture }>('gtn.json')).gtn;
const { b, v, n, d } = fx;

function graphInputs(): GraphInputs {
  return {
    nodes: tf.tensor(fx.nodes, [b, v, d]),
    adjacency: tf.tensor(fx.adjacency, [b, 3, v, v]),
    entityIds: tf.tensor(fx.entityIds, [b, v], 'int32'),
    sentenceIds: tf.tensor(fx.sentenceIds, [b, v], 'int32'),
    nodeMask: tf.tensor(fx.nodeMask, [b, v]),
  };
}
function tokenInputs(): TokenInputs {
  return {
    tokens: tf.tensor(fx.tokens, [b, n, d]),
    localMask: tf.tensor(fx.localMask, [b, v, n]),
    attentionMask: tf.tensor(fx.attentionMask, [b, n]),
  };
}
const graphList = (g: GraphInputs) => [g.nodes, g.adjacency, g.entityIds, g.sentenceIds, g.nodeMask];
const tokenList = (t: TokenInputs) => [t.tokens, t.localMask, t.attentionMask];

/** Eagerly applied layers have no inbound nodes, so `Layer.dispose` refuses: free the variables. */
function disposeLayer(layer: tf.layers.Layer): void {
  for (const w of layer.weights) w.dispose();
}

/** Builds a layer and loads weights by docre-kit name (layer scope and uniqueness suffix aside). */
function loaded<L extends tf.layers.Layer>(
  layer: L,
  inputs: tf.Tensor[],
  weights: Record<string, number[]>,
): L {
  layer.build(inputs.map((x) => x.shape));
  for (const [key, values] of Object.entries(weights)) {
    const re = new RegExp(`(^|/)${key.replace(/\//g, '\\/')}(_\\d+)?$`);
    const w = layer.weights.find((x) => re.test(x.name));
    assert.ok(w, `weight ${key} not found in ${layer.weights.map((x) => x.name).join(', ')}`);
    w.write(tf.tensor(values, w.shape as number[]));
  }
  assert.equal(Object.keys(weights).length, layer.weights.length, 'every weight loaded');
  return layer;
}
const args = { numEntityIds: fx.numEntityIds, numSentenceIds: fx.numSentenceIds };
const gtnFixtureLayer = () =>
  loaded(new GTNLayer(args), [...graphList(graphInputs()), ...tokenList(tokenInputs())], fx.layerParams);
const nodeMask3 = () => tf.tensor(fx.nodeMask, [b, v, 1]);

// 1. Shapes ------------------------------------------------------------------------------------

test('output shapes [b,v,d] float32 for the three layers, and computeOutputShape', async () => {
  const g = graphInputs();
  const t = tokenInputs();
  const layers: [tf.layers.Layer, tf.Tensor[]][] = [
    [new GraphAttentionLayer(args), graphList(g)],
    [new CrossAttentionLayer(args), [g.nodes, ...tokenList(t)]],
    [new GTNLayer(args), [...graphList(g), ...tokenList(t)]],
  ];
  for (const [layer, inputs] of layers) {
    assert.deepEqual(layer.computeOutputShape(inputs.map((x) => x.shape)), [b, v, d]);
    const y = layer.apply(inputs) as tf.Tensor;
    assert.deepEqual(y.shape, [b, v, d]);
    assert.equal(y.dtype, 'float32');
    assert.ok(Array.from(await y.data()).every(Number.isFinite));
    y.dispose();
    disposeLayer(layer);
  }
  tf.dispose([g, t] as unknown as tf.TensorContainer);
});

test('bad arguments throw typed errors naming the argument', () => {
  const g = graphInputs();
  const t = tokenInputs();
  const layer = new GTNLayer(args);
  const ok = [...graphList(g), ...tokenList(t)];
  assert.throws(() => layer.apply(ok.slice(0, 5)), ArgumentError);
  assert.throws(
    () => layer.apply([g.nodes, tf.ones([b, 2, v, v]), ...ok.slice(2)]),
    /adjacency: expected shape \[b, 3, v, v\]/,
  );
  assert.throws(() => layer.apply([g.nodes, g.adjacency, g.entityIds.toFloat(), ...ok.slice(3)]), ShapeError);
  assert.throws(() => layer.apply([...ok.slice(0, 6), tf.ones([b, v + 1, n]), t.attentionMask]), /localMask/);
  assert.throws(() => new GTNLayer({ crossKeyWidth: 6 }), /crossKeyWidth/);
  assert.throws(
    () =>
      new GraphAttentionLayer().apply([
        tf.zeros([1, 2, 6]),
        tf.ones([1, 3, 2, 2]),
        tf.zeros([1, 2], 'int32'),
        tf.zeros([1, 2], 'int32'),
        tf.ones([1, 2]),
      ]),
    /divisible by 4/,
  );
  disposeLayer(layer);
  tf.dispose([g, t] as unknown as tf.TensorContainer);
});

// 2. Closed form -------------------------------------------------------------------------------

test('one candidate: every head attends to the only real node, output = LN(W_O·V(F₀))', async () => {
  const layer = loaded(new GraphAttentionLayer(args), graphList(graphInputs()), fx.graphParams);
  const p = layer.params();
  const [got, want] = tf.tidy(() => {
    const g: GraphInputs = {
      nodes: seededTensor([1, 2, d], 3),
      adjacency: tf.tensor4d([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0], [1, 3, 2, 2]),
      entityIds: tf.tensor2d([[1, 2]], [1, 2], 'int32'),
      sentenceIds: tf.tensor2d([[0, 3]], [1, 2], 'int32'),
      nodeMask: tf.tensor2d([[1, 0]]),
    };
    const f0 = g.nodes.slice([0, 0, 0], [1, 1, d]);
    const value = f0.matMul(p.value.kernel.expandDims(0)).add(p.value.bias); // [1,1,d]: every head's context
    const proj = value.matMul(p.output.kernel.expandDims(0)).add(p.output.bias);
    const { mean, variance } = tf.moments(proj, -1, true);
    const ln = proj.sub(mean).div(variance.add(1e-12).sqrt()).mul(p.norm.gamma).add(p.norm.beta);
    return [graphAttention(g, p).slice([0, 0, 0], [1, 1, d]), ln];
  });
  await close(got!, want!, tol(1e-5), tol(1e-5));
  tf.dispose([got!, want!]);
  disposeLayer(layer);
});

test('cross-attention gate: bias −30 keeps LN(nodes), bias +30 gives LN(W_O·V(token)) with one token', async () => {
  const layer = loaded(
    new CrossAttentionLayer(args),
    [graphInputs().nodes, ...tokenList(tokenInputs())],
    fx.crossParams,
  );
  const p = layer.params();
  const results = tf.tidy(() => {
    const nodes = seededTensor([1, 2, d], 4);
    const t: TokenInputs = {
      tokens: seededTensor([1, 3, d], 5),
      localMask: tf.tensor3d([
        [
          [1, 0, 0],
          [1, 0, 0],
        ],
      ]),
      attentionMask: tf.tensor2d([[1, 0, 0]]),
    };
    const ln = (x: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return x.sub(mean).div(variance.add(1e-12).sqrt()).mul(p.norm.gamma).add(p.norm.beta);
    };
    const closed = crossAttention(nodes, t, {
      ...p,
      gate: { kernel: tf.zerosLike(p.gate.kernel), bias: tf.fill([d], -30) },
    });
    const open = crossAttention(nodes, t, {
      ...p,
      gate: { kernel: tf.zerosLike(p.gate.kernel), bias: tf.fill([d], 30) },
    });
    const tok0 = t.tokens.slice([0, 0, 0], [1, 1, d]);
    const out = tok0
      .matMul(p.value.kernel.expandDims(0))
      .add(p.value.bias)
      .matMul(p.output.kernel.expandDims(0))
      .add(p.output.bias);
    return [closed, ln(nodes), open, ln(tf.concat([out, out], 1))];
  });
  await close(results[0]!, results[1]!, tol(1e-5), tol(1e-5), 'closed gate');
  await close(results[2]!, results[3]!, tol(1e-5), tol(1e-5), 'open gate');
  tf.dispose(results);
  disposeLayer(layer);
});

// 3. Reference parity (torch, official DocRE-BSI blocks) ---------------------------------------

test('golden parity: graph attention, cross attention and the GTN layer vs the official torch code', async () => {
  const g = graphInputs();
  const t = tokenInputs();
  const graph = loaded(new GraphAttentionLayer(args), graphList(g), fx.graphParams);
  const cross = loaded(new CrossAttentionLayer(args), [g.nodes, ...tokenList(t)], fx.crossParams);
  const full = gtnFixtureLayer();
  const crossNodes = tf.tensor(fx.crossNodes, [b, v, d]);
  const m = nodeMask3();
  const outs = tf.tidy(() => [
    (graph.apply(graphList(g)) as tf.Tensor).mul(m),
    (cross.apply([crossNodes, ...tokenList(t)]) as tf.Tensor).mul(m), // padded node 4: no local token
    full.apply([...graphList(g), ...tokenList(t)]) as tf.Tensor,
  ]);
  await close(outs[0]!, tf.tensor(fx.graphOut, [b, v, d]), tol(1e-4), tol(1e-4), 'graph attention');
  await close(outs[1]!, tf.tensor(fx.crossOut, [b, v, d]).mul(m), tol(1e-4), tol(1e-4), 'cross attention');
  await close(outs[2]!, tf.tensor(fx.layerOut, [b, v, d]), tol(1e-4), tol(1e-4), 'GTN layer');
  tf.dispose([...outs, crossNodes, m, g, t] as unknown as tf.TensorContainer);
  [graph, cross, full].forEach(disposeLayer);
});

test('golden gradients of the GTN layer (nodes, tokens, embeddings, global query, gate, FFN)', async () => {
  const g = graphInputs();
  const t = tokenInputs();
  const layer = gtnFixtureLayer();
  const p = layer.params();
  const up = tf.tensor(fx.upstream, [b, v, d]);
  const f = (
    nodes: tf.Tensor,
    tokens: tf.Tensor,
    emb: tf.Tensor,
    gq: tf.Tensor,
    gate: tf.Tensor,
    inner: tf.Tensor,
  ) => {
    const q: GTNLayerParams = {
      ...p,
      graph: { ...p.graph, entityEmbeddings: emb, globalQuery: { ...p.graph.globalQuery, kernel: gq } },
      cross: { ...p.cross, gate: { ...p.cross.gate, kernel: gate } },
      inner: { ...p.inner, kernel: inner },
    };
    return gtnLayer({ ...g, nodes }, { ...t, tokens }, q)
      .mul(up)
      .sum();
  };
  const grads = tf.grads(f)([
    g.nodes,
    t.tokens,
    p.graph.entityEmbeddings,
    p.graph.globalQuery.kernel,
    p.cross.gate.kernel,
    p.inner.kernel,
  ]);
  const keys = [
    'nodes',
    'tokens',
    'graph/entityEmbeddings',
    'graph/globalQuery/kernel',
    'cross/gate/kernel',
    'inner/kernel',
  ];
  for (let i = 0; i < keys.length; i++)
    await close(grads[i]!, fx.grads[keys[i]!]!, tol(2e-4), tol(2e-4), `dL/d ${keys[i]}`);
  tf.dispose([...grads, up, g, t] as unknown as tf.TensorContainer);
  disposeLayer(layer);
});

// 4. Gradients and dependencies ----------------------------------------------------------------

test(
  'numeric gradient of the GTN layer w.r.t. the nodes (cpu, wasm)',
  { skip: tf.getBackend() === 'webgpu' && 'numericGrad reads synchronously' },
  () => {
    const g = graphInputs();
    const t = tokenInputs();
    const layer = gtnFixtureLayer();
    const p = layer.params();
    const w = seededTensor([b, v, d], 17);
    const f = (nodes: tf.Tensor) =>
      gtnLayer({ ...g, nodes }, t, p)
        .mul(w)
        .sum() as tf.Scalar;
    assertClose(tf.grad(f)(g.nodes), numericGrad(f, g.nodes, 1e-2), 2e-2, 5e-2, 'numeric');
    tf.dispose([w, g, t] as unknown as tf.TensorContainer);
    disposeLayer(layer);
  },
);

test('masked edges get no attention: with only edge head h active, node i depends on node j iff adjacency[h][i][j]', async () => {
  const layer = loaded(new GraphAttentionLayer(args), graphList(graphInputs()), fx.graphParams);
  const p = layer.params();
  const g = graphInputs();
  const adjacency = (await g.adjacency.array()) as number[][][][];
  const dh = d / 4;
  for (const head of [0, 1, 2]) {
    // keep the value channels of `head` only: the other three heads (incl. the global one) add 0
    const keep = tf.tidy(() =>
      tf.concat([tf.zeros([head * dh]), tf.ones([dh]), tf.zeros([(3 - head) * dh])]),
    );
    const q = { ...p, value: { kernel: p.value.kernel.mul(keep), bias: p.value.bias.mul(keep) } };
    for (const i of [0]) {
      // node 0 has neighbours and non-neighbours in every edge type of the fixture
      // d out[0, i, :]·w / d nodes
      const w = tf.tidy(() =>
        tf
          .oneHot([i], v)
          .reshape([1, v, 1])
          .tile([1, 1, d])
          .mul(seededTensor([1, v, d], 3))
          .pad([
            [0, 1],
            [0, 0],
            [0, 0],
          ]),
      );
      const grad = tf.grad((nodes: tf.Tensor) =>
        graphAttention({ ...g, nodes }, q)
          .mul(w)
          .sum(),
      )(g.nodes);
      const gv = (await grad.array()) as number[][][];
      for (let j = 0; j < v; j++) {
        const norm = Math.hypot(...gv[0]![j]!);
        if (j === i) continue; // the query node itself always matters
        if (adjacency[0]![head]![i]![j])
          assert.ok(norm > 1e-6, `head ${head}: node ${i} must depend on neighbour ${j}`);
        else assert.equal(norm, 0, `head ${head}: node ${i} must not depend on non-neighbour ${j}`);
      }
      tf.dispose([w, grad]);
    }
    keep.dispose();
  }
  tf.dispose(g as unknown as tf.TensorContainer);
  disposeLayer(layer);
});

test('padding gets zero gradient: padded nodes and padded tokens do not reach real outputs', async () => {
  const g = graphInputs();
  const t = tokenInputs();
  const layer = gtnFixtureLayer();
  const p = layer.params();
  const w = seededTensor([b, v, d], 23);
  const [gn, gt] = tf.grads((nodes: tf.Tensor, tokens: tf.Tensor) =>
    gtnLayer({ ...g, nodes }, { ...t, tokens }, p)
      .mul(w)
      .sum(),
  )([g.nodes, t.tokens]);
  const nodeGrad = (await gn!.array()) as number[][][];
  const tokenGrad = (await gt!.array()) as number[][][];
  assert.ok(
    nodeGrad[1]![4]!.every((x) => x === 0),
    'padded node 4 of document 1',
  );
  assert.ok(
    tokenGrad[1]![5]!.every((x) => x === 0),
    'padded token 5 of document 1',
  );
  assert.ok(nodeGrad[1]![3]!.some((x) => x !== 0) && tokenGrad[1]![4]!.some((x) => x !== 0), 'real ones do');
  const out = gtnLayer(g, t, p);
  await close(out.slice([1, 4, 0], [1, 1, d]), new Array(d).fill(0), 0, 0, 'padded node output');
  tf.dispose([w, gn!, gt!, out, g, t] as unknown as tf.TensorContainer);
  disposeLayer(layer);
});

// 5. Equivalence -------------------------------------------------------------------------------

/** Permutes the node axis of every graph input (and the local mask rows). */
function permuteNodes(g: GraphInputs, t: TokenInputs, perm: number[]): [GraphInputs, TokenInputs] {
  const idx = tf.tensor1d(perm, 'int32');
  const adjacency = tf.gather(tf.gather(g.adjacency, idx, 2), idx, 3);
  return [
    {
      nodes: tf.gather(g.nodes, idx, 1),
      adjacency,
      entityIds: tf.gather(g.entityIds, idx, 1),
      sentenceIds: tf.gather(g.sentenceIds, idx, 1),
      nodeMask: tf.gather(g.nodeMask, idx, 1),
    },
    { ...t, localMask: tf.gather(t.localMask, idx, 1) },
  ];
}

test('permuting nodes permutes the outputs (graph attention and GTN layer)', async () => {
  const layer = gtnFixtureLayer();
  const p = layer.params();
  const perm = [3, 0, 4, 1, 2];
  const outs = tf.tidy(() => {
    const g = graphInputs();
    const t = tokenInputs();
    const [gp, tp] = permuteNodes(g, t, perm);
    const idx = tf.tensor1d(perm, 'int32');
    return [
      graphAttention(gp, p.graph).mul(gp.nodeMask.expandDims(2)),
      tf.gather(graphAttention(g, p.graph).mul(g.nodeMask.expandDims(2)), idx, 1),
      gtnLayer(gp, tp, p),
      tf.gather(gtnLayer(g, t, p), idx, 1),
    ];
  });
  await close(outs[0]!, outs[1]!, tol(1e-5), tol(1e-5), 'graph attention');
  await close(outs[2]!, outs[3]!, tol(1e-5), tol(1e-5), 'GTN layer');
  tf.dispose(outs);
  disposeLayer(layer);
});

test('batched equals per-document, and padding (nodes and tokens) changes nothing', async () => {
  const layer = gtnFixtureLayer();
  const p = layer.params();
  const outs = tf.tidy(() => {
    const g = graphInputs();
    const t = tokenInputs();
    const batched = gtnLayer(g, t, p);
    // document 1 alone, unpadded: 4 real nodes, 5 real tokens
    const [rv, rn] = [4, 5];
    const g1: GraphInputs = {
      nodes: g.nodes.slice([1, 0, 0], [1, rv, d]),
      adjacency: g.adjacency.slice([1, 0, 0, 0], [1, 3, rv, rv]),
      entityIds: g.entityIds.slice([1, 0], [1, rv]),
      sentenceIds: g.sentenceIds.slice([1, 0], [1, rv]),
      nodeMask: g.nodeMask.slice([1, 0], [1, rv]),
    };
    const t1: TokenInputs = {
      tokens: t.tokens.slice([1, 0, 0], [1, rn, d]),
      localMask: t.localMask.slice([1, 0, 0], [1, rv, rn]),
      attentionMask: t.attentionMask.slice([1, 0], [1, rn]),
    };
    const g0: GraphInputs = {
      nodes: g.nodes.slice([0], [1]),
      adjacency: g.adjacency.slice([0], [1]),
      entityIds: g.entityIds.slice([0], [1]),
      sentenceIds: g.sentenceIds.slice([0], [1]),
      nodeMask: g.nodeMask.slice([0], [1]),
    };
    const t0: TokenInputs = {
      tokens: t.tokens.slice([0], [1]),
      localMask: t.localMask.slice([0], [1]),
      attentionMask: t.attentionMask.slice([0], [1]),
    };
    return [
      batched.slice([0], [1]),
      gtnLayer(g0, t0, p),
      batched.slice([1, 0, 0], [1, rv, d]),
      gtnLayer(g1, t1, p),
    ];
  });
  await close(outs[0]!, outs[1]!, tol(1e-5), tol(1e-5), 'document 0');
  await close(outs[2]!, outs[3]!, tol(1e-5), tol(1e-5), 'document 1 (unpadded)');
  tf.dispose(outs);
  disposeLayer(layer);
});

// 6. Hygiene -----------------------------------------------------------------------------------

test('serialization round trip for the three layers (config, weight layout; GTNLayer outputs)', async () => {
  const g = graphInputs();
  const t = tokenInputs();
  const cases: [tf.layers.Layer, tf.Tensor[]][] = [
    [new GraphAttentionLayer({ ...args, epsilon: 1e-6 }), graphList(g)],
    [new CrossAttentionLayer({ ...args, crossKeyWidth: 8 }), [g.nodes, ...tokenList(t)]],
    [new GTNLayer({ ...args, ffnDim: 12, dropout: 0.1 }), [...graphList(g), ...tokenList(t)]],
  ];
  const layout = (l: tf.layers.Layer) =>
    l.weights.map((w) => `${w.name.replace(/^[^/]*\//, '').replace(/_\d+$/, '')} [${w.shape}]`);
  for (const [layer, inputs] of cases) {
    layer.build(inputs.map((x) => x.shape));
    const className = (layer.constructor as unknown as { className: string }).className;
    const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap[className]!;
    const config = layer.getConfig();
    const copy = fromConfig(cls, config) as tf.layers.Layer;
    assert.deepEqual({ ...copy.getConfig(), name: '' }, { ...config, name: '' }, className);
    copy.build(inputs.map((x) => x.shape));
    assert.deepEqual(layout(copy), layout(layer), `${className} weight layout`);
    copy.setWeights(layer.getWeights());
    if (layer instanceof GTNLayer) {
      // the GTN layer holds the graph and cross weights too: one forward checks all three builders
      const [first, again] = [layer.apply(inputs) as tf.Tensor, copy.apply(inputs) as tf.Tensor];
      await close(again, first, 0, 0, className);
      tf.dispose([first, again]);
    }
    [layer, copy].forEach(disposeLayer);
  }
  tf.dispose([g, t] as unknown as tf.TensorContainer);
});

test('dropout only in training mode', async () => {
  const g = graphInputs();
  const t = tokenInputs();
  const layer = new GTNLayer({ ...args, dropout: 0.5 });
  const inputs = [...graphList(g), ...tokenList(t)];
  const [a, c, tr] = [
    layer.apply(inputs) as tf.Tensor,
    layer.apply(inputs) as tf.Tensor,
    layer.apply(inputs, { training: true }) as tf.Tensor,
  ];
  await close(a, c, 0, 0, 'inference is deterministic');
  const diff = (await tf.sub(a, tr).abs().max().data())[0]!;
  assert.ok(diff > 1e-3, 'training mode applies dropout');
  tf.dispose([a, c, tr, g, t] as unknown as tf.TensorContainer);
  disposeLayer(layer);
});

test('no tensor leaks (forward of the three layers and a gradient)', () => {
  const g = graphInputs();
  const t = tokenInputs();
  const layer = gtnFixtureLayer();
  const cross = new CrossAttentionLayer(args);
  const graph = new GraphAttentionLayer(args);
  (cross.apply([g.nodes, ...tokenList(t)]) as tf.Tensor).dispose();
  (graph.apply(graphList(g)) as tf.Tensor).dispose();
  assertNoLeak(() => layer.apply([...graphList(g), ...tokenList(t)]), 'GTNLayer');
  assertNoLeak(() => cross.apply([g.nodes, ...tokenList(t)]), 'CrossAttentionLayer');
  assertNoLeak(() => graph.apply(graphList(g)), 'GraphAttentionLayer');
  const p = layer.params();
  assertNoLeak(
    () => tf.grad((x: tf.Tensor) => gtnLayer({ ...g, nodes: x }, t, p).sum())(g.nodes),
    'gradient',
  );
  [layer, cross, graph].forEach(disposeLayer);
  tf.dispose([g, t] as unknown as tf.TensorContainer);
});
