/**
 * Gradient replacements for tfjs 4.22 gradients that are correct but unusable at DocRE sizes.
 * `initBackend` registers them (for every backend) through {@link registerGradientFixes}.
 *
 * - `Tile` (also what `tf.broadcastTo` runs): tfjs' gradient adds one `slice` of dy per
 *   repetition — Π reps slice+add kernels (a `[1,12,512,1] → [1,12,512,512]` broadcast costs 512
 *   of each, 14 s on wasm) — and throws for rank > 4. Here, for each tiled axis i, dy is viewed
 *   as `[Π before, r_i, x_i, Π after]` (a tiled axis is rep-major, element-minor) and summed over
 *   r_i: one reshape and one reduction per tiled axis, any rank, intermediate rank ≤ 4.
 *
 * @example
 * registerGradientFixes(); // idempotent; initBackend() calls it
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from './errors.js';

let registered = false;

/** Registers the gradients above (once per process). */
export function registerGradientFixes(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: 'Tile',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as tf.Tensor[];
      const reps = (attrs as { reps: number[] }).reps;
      const g = dy as tf.Tensor;
      return {
        x: () =>
          tf.tidy(() => {
            // one tiled axis at a time, so the rank stays ≤ 4 (webgpu supports up to 6):
            // [.., r·x_i, ..] → [Π before, r, x_i, Π after] → Σ over r → [.., x_i, ..]
            const shape = x!.shape.map((s, i) => s * reps[i]!);
            let out = g;
            x!.shape.forEach((s, i) => {
              if (reps[i]! === 1) return;
              const before = shape.slice(0, i).reduce((a, c) => a * c, 1);
              const after = shape.slice(i + 1).reduce((a, c) => a * c, 1);
              out = out.reshape([before, reps[i]!, s, after]).sum(1);
              shape[i] = s;
            });
            return out.reshape(x!.shape);
          }),
      };
    },
  });
}

/** A nested record / array of tensors (a layer's parameters) and how to rebuild it from a flat list. */
export function flattenTensors<T>(tree: T): {
  tensors: tf.Tensor[];
  rebuild: (ts: readonly tf.Tensor[]) => T;
} {
  const tensors: tf.Tensor[] = [];
  const walk = (node: unknown): unknown => {
    if (node instanceof tf.Tensor) return tensors.push(node) - 1;
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object')
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    return { leaf: node };
  };
  const shape = walk(tree);
  const build = (node: unknown, ts: readonly tf.Tensor[]): unknown => {
    if (typeof node === 'number') return ts[node];
    if (Array.isArray(node)) return node.map((n) => build(n, ts));
    const o = node as Record<string, unknown>;
    if ('leaf' in o && Object.keys(o).length === 1) return o['leaf'];
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, build(v, ts)]));
  };
  return { tensors, rebuild: (ts) => build(shape, ts) as T };
}

/** One node of tfjs' gradient tape (tfjs-core 4.22 `TapeNode`). */
interface TapeNode {
  readonly id: number;
  readonly kernelName: string;
  readonly inputs: Readonly<Record<string, tf.Tensor>>;
  readonly outputs: readonly tf.Tensor[];
  readonly saved?: readonly tf.Tensor[];
  readonly gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

/** The parts of tfjs-core 4.22's `Engine` that `gradients` is made of (not in its typings). */
interface EngineInternals {
  readonly state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
}

/**
 * The nodes of `tape` on a path from some x to y, in tape order, each with only the inputs that
 * depend on an x (what tfjs' own `getFilteredNodesXToY` keeps).
 */
function pathNodes(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const reached = tape.filter((node) => {
    const hit = Object.values(node.inputs).some((t) => fromX.has(t.id));
    if (hit) for (const o of node.outputs) fromX.add(o.id);
    return hit;
  });
  const toY = new Set([y.id]);
  const onPath = new Set<TapeNode>();
  for (let i = reached.length - 1; i >= 0; i--) {
    const node = reached[i]!;
    if (!node.outputs.some((o) => toY.has(o.id))) continue;
    onPath.add(node);
    for (const t of Object.values(node.inputs)) toY.add(t.id);
  }
  return reached
    .filter((node) => onPath.has(node))
    .map((node) => ({
      ...node,
      inputs: Object.fromEntries(Object.entries(node.inputs).filter(([, t]) => fromX.has(t.id))),
    }));
}

/**
 * `tf.engine().gradients(f, xs, dy, true)` that frees memory as the backward pass goes: the same
 * gradient functions run in the same order (same values), but the gradient of a tensor is
 * disposed as soon as the node that produced the tensor has used it, and a node's saved forward
 * tensors as soon as its gradient has run. tfjs 4.22 keeps both until the whole backward pass
 * ends, so its peak is every activation plus every intermediate gradient; here it is the
 * activations not yet reached plus the gradients in flight. `dy` (default ones) stays the
 * caller's. Returns `value` = f() and the gradient of each x (`undefined` when y does not depend
 * on it).
 * @example
 * const { value, grads } = leanGradients(() => x.square().sum(), [x]); // grads[0] = 2x
 */
export function leanGradients(
  f: () => tf.Tensor,
  xs: readonly tf.Tensor[],
  dy?: tf.Tensor,
): { value: tf.Tensor; grads: (tf.Tensor | undefined)[] } {
  if (xs.length === 0) throw new ArgumentError('leanGradients xs', 'at least one tensor', xs.length);
  const engine = tf.engine() as unknown as EngineInternals;
  const y = engine.scopedRun(
    () => engine.startTape(),
    () => engine.endTape(),
    () => engine.tidy('forward', f),
  );
  if (!(y instanceof tf.Tensor))
    throw new ArgumentError('leanGradients f', 'a function returning a tensor', typeof y);
  const tape = engine.state.activeTape ?? [];
  const nodes = pathNodes(tape, xs, y);
  return engine.tidy('backward', () => {
    const grad = new Map<number, tf.Tensor>(); // tensor id → its accumulated gradient
    const holders = new Map<tf.Tensor, number>(); // gradient tensor → entries of `grad` holding it
    const hold = (id: number, g: tf.Tensor) => {
      grad.set(id, g);
      holders.set(g, (holders.get(g) ?? 0) + 1);
    };
    const seed = dy ?? tf.ones(y.shape);
    const keep = new Set(xs.map((x) => x.id));
    const release = (id: number) => {
      const g = grad.get(id);
      if (!g) return;
      grad.delete(id);
      const left = holders.get(g)! - 1;
      if (left > 0) holders.set(g, left);
      else {
        holders.delete(g);
        if (g !== dy) g.dispose();
      }
    };
    hold(y.id, seed);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i]!;
      if (!node.gradient)
        throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
      const input = node.gradient(node.outputs.map((o) => grad.get(o.id) ?? null));
      for (const [name, x] of Object.entries(node.inputs)) {
        const fn = input[name];
        if (!fn) throw new Error(`Cannot backprop through input ${name} of ${node.kernelName}.`);
        const dx = tf.tidy(fn);
        if (dx.dtype !== 'float32' || !tf.util.arraysEqual(dx.shape, x.shape))
          throw new Error(
            `Error in gradient for op ${node.kernelName}: the gradient of input ${name} is ${dx.dtype} [${dx.shape}], expected float32 [${x.shape}]`,
          );
        const prev = grad.get(x.id);
        if (!prev) hold(x.id, dx);
        else {
          const sum = prev.add(dx);
          release(x.id);
          hold(x.id, sum);
          if (!holders.has(dx) && dx !== dy) dx.dispose();
        }
      }
      // this node's outputs are done with (their gradients were used here, once), and so are the
      // forward tensors it saved for this gradient
      for (const o of node.outputs) if (!keep.has(o.id)) release(o.id);
      for (const t of node.saved ?? []) if (!holders.has(t)) t.dispose();
    }
    const grads = xs.map((x) => grad.get(x.id));
    if (engine.state.gradientDepth === 0) {
      // not inside an outer gradient (no higher order): the tape's saved tensors go, as in tfjs
      for (const node of tape) for (const t of node.saved ?? []) if (!holders.has(t)) t.dispose();
      engine.state.activeTape = null;
    }
    return { value: y, grads };
  });
}

/**
 * `tf.variableGrads` on {@link leanGradients}: the gradients of the scalar `f()` wrt the trainable
 * variables of `varList`, keyed by variable name (variables `f` does not use are left out).
 */
export function leanVariableGrads(
  f: () => tf.Scalar,
  varList: readonly tf.Variable[],
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const vars = varList.filter((v) => v.trainable);
  if (vars.length === 0)
    throw new ArgumentError('leanVariableGrads varList', 'at least one trainable variable', varList.length);
  const { value, grads } = leanGradients(f, vars);
  if (value.rank !== 0)
    throw new ArgumentError('leanVariableGrads f', 'a function returning a scalar', `rank ${value.rank}`);
  if (grads.every((g) => !g))
    throw new ArgumentError(
      'leanVariableGrads f',
      'a loss that uses at least one of the variables',
      'no connection',
    );
  const named: tf.NamedTensorMap = {};
  vars.forEach((v, i) => {
    if (grads[i]) named[v.name] = grads[i]!;
  });
  return { value: value as tf.Scalar, grads: named };
}

/** The gradients of `f()` wrt `xs` for `dy`, on a tape of its own (inside a backward pass too). */
function gradientsOnOwnTape(f: () => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): (tf.Tensor | undefined)[] {
  const state = (tf.engine() as unknown as EngineInternals).state;
  const outer = state.activeTape;
  try {
    const { value, grads } = leanGradients(f, xs, dy);
    if (!xs.includes(value)) value.dispose(); // else kept until the outer backward pass ends
    return grads;
  } finally {
    state.activeTape = outer;
  }
}

/**
 * Gradient checkpointing: `f(...inputs)` whose forward pass keeps no intermediate tensors — only
 * its inputs — and whose backward pass runs `f` again under a tape of its own to get the
 * gradients of every input (pass a layer's parameters as inputs too). Same values and gradients
 * as `f` itself for a deterministic `f`; costs one more forward pass of `f` in the backward pass,
 * and saves the memory of all its intermediates (tfjs otherwise keeps every tensor made inside a
 * gradient scope until the backward pass ends). Stacks of blocks (I-MSA / ECA layers) then peak
 * at their inputs plus one block's intermediates.
 *
 * The backward pass nests a gradient computation inside tfjs' own backward pass; tfjs 4.22 keeps
 * one active tape per engine, so the outer one is saved and restored around the inner one.
 * @example
 * const { tensors, rebuild } = flattenTensors(params);
 * const y = recompute((x, m, ...p) => inferenceEncoder(x, m, rebuild(p)), [x, pairMask, ...tensors]);
 */
export function recompute(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: readonly tf.Tensor[]): tf.Tensor {
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const xs = args as tf.Tensor[];
    save(xs);
    return {
      value: f(...xs),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        gradientsOnOwnTape(() => f(...saved), saved, dy as tf.Tensor).map(
          (g, i) => g ?? tf.zerosLike(saved[i]!),
        ),
    };
  });
  return run(...inputs);
}

/**
 * Chunked gradient checkpointing: `then(concat([f(0, ...inputs), …, f(n−1, ...inputs)], axis),
 * ...inputs)` (`then` defaults to the concatenation itself), one chunk at a time in both passes.
 * Forward: each chunk runs in its own `tidy`, so only its output outlives it. Backward: `then`
 * is differentiated on a tape of its own (on the saved concatenation), then chunk i runs again on
 * a tape of its own with its slice of the concatenation's gradient; input gradients are added to
 * running sums and everything else is freed before chunk i+1. Peak: inputs, the concatenation,
 * running sums and ONE chunk's intermediates with their gradients — where `recompute` (one block)
 * holds all chunks' at once, and a gradient tape keeps every intermediate gradient of the ops
 * around it until the whole backward pass ends (hence `then`: a projection of the concatenation
 * belongs inside). Same values and gradients as the plain composition for a deterministic `f`
 * (up to float summation order of the input gradients).
 * @example
 * const { tensors, rebuild } = flattenTensors(params);
 * const y = recomputeChunks((j, x, ...p) => head(j, x, rebuild(p)), 4, [x, ...tensors], -1,
 *   (heads, x, ...p) => dense(heads, rebuild(p).output));
 */
export function recomputeChunks(
  f: (chunk: number, ...xs: tf.Tensor[]) => tf.Tensor,
  n: number,
  inputs: readonly tf.Tensor[],
  axis = -1,
  then?: (joined: tf.Tensor, ...xs: tf.Tensor[]) => tf.Tensor,
): tf.Tensor {
  if (!(Number.isInteger(n) && n >= 1)) throw new ArgumentError('recomputeChunks n', 'an integer ≥ 1', n);
  const m = inputs.length;
  let sizes: number[] = [];
  let ax = 0;
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const xs = args as tf.Tensor[];
    const parts = Array.from({ length: n }, (_, i) => tf.tidy(() => f(i, ...xs)));
    ax = axis < 0 ? parts[0]!.rank + axis : axis;
    sizes = parts.map((p) => p.shape[ax]!);
    const joined = n === 1 ? parts[0]! : tf.concat(parts, ax);
    if (n > 1) tf.dispose(parts);
    save(then ? [...xs, joined] : xs);
    return {
      value: then ? tf.tidy(() => then(joined, ...xs)) : joined,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const xs2 = saved.slice(0, m);
        const sums: (tf.Tensor | undefined)[] = xs2.map(() => undefined);
        const addTo = (grads: (tf.Tensor | undefined)[]) =>
          grads.forEach((g, j) => {
            if (!g) return;
            const prev = sums[j];
            sums[j] = prev ? prev.add(g) : g;
            if (prev) tf.dispose([prev, g]);
          });
        let dJoined = dy as tf.Tensor;
        if (then) {
          const j0 = saved[m]!;
          const [dj, ...rest] = gradientsOnOwnTape(() => then(j0, ...xs2), [j0, ...xs2], dJoined);
          addTo(rest);
          dJoined = dj ?? tf.zerosLike(j0);
        }
        const dys = n === 1 ? [dJoined] : tf.split(dJoined, sizes, ax);
        if (then && n > 1) dJoined.dispose();
        dys.forEach((dyi, i) => {
          addTo(gradientsOnOwnTape(() => f(i, ...xs2), xs2, dyi));
          if (n > 1 || then) dyi.dispose();
        });
        return xs2.map((x, j) => sums[j] ?? tf.zerosLike(x));
      },
    };
  });
  return run(...inputs);
}
