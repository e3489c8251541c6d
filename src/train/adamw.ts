/**
 * AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019, Algorithm 2)
 * with parameter groups, as `torch.optim.AdamW` implements it (weight decay applied to the
 * parameter before the Adam step, bias correction on both moments):
 *
 *   θ ← θ · (1 − lr·λ)
 *   m ← β1·m + (1 − β1)·g            v ← β2·v + (1 − β2)·g²
 *   θ ← θ − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)
 *
 * ATLOP's official code uses the `transformers` AdamW with eps 1e-6, encoder lr 5e-5, heads lr 1e-4
 * and no weight decay; `paramGroups` builds those groups (DESIGN.md, last section).
 *
 * Everything runs on `tf.Variable`s with tf ops, so it works on every backend. Moments are
 * non-trainable variables owned by the optimizer (`dispose()` frees them); the step count is kept
 * per variable, so a variable that is frozen for a while (two-stage training) gets the bias
 * correction of the steps it actually took.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../core/errors.js';

/** One parameter group: its variables and their own learning rate and weight decay. */
export interface ParamGroup {
  readonly variables: readonly tf.Variable[];
  /** Base learning rate of the group (multiplied by the schedule's `lrScale` at each step). */
  readonly lr: number;
  /** Decoupled weight decay λ. Default: the optimizer's `weightDecay`. */
  readonly weightDecay?: number;
  /** A label for logs (e.g. `encoder/decay`). */
  readonly name?: string;
}

export interface AdamWOptions {
  /** Default 0.9. */
  readonly beta1?: number;
  /** Default 0.999. */
  readonly beta2?: number;
  /** Default 1e-6 (ATLOP; torch's default is 1e-8). */
  readonly epsilon?: number;
  /** Weight decay for groups that do not set one. Default 0.01 (torch's default). */
  readonly weightDecay?: number;
}

/** Serializable optimizer state: step counts and moments keyed by variable name. */
export interface AdamWState {
  readonly steps: Record<string, number>;
  readonly moments: Record<string, { readonly m: tf.Tensor; readonly v: tf.Tensor }>;
}

interface Slot {
  readonly variable: tf.Variable;
  readonly group: number;
  m?: tf.Variable;
  v?: tf.Variable;
  step: number;
}

/**
 * @example
 * const opt = new AdamW([{ variables: [w], lr: 1e-3, weightDecay: 0.01 }]);
 * const { value, grads } = tf.variableGrads(() => loss(w), [w]);
 * opt.applyGradients(grads, linearWarmupDecay(100, 0.06)(step));
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly groups: readonly ParamGroup[];
  private readonly slots = new Map<string, Slot>();

  constructor(groups: readonly ParamGroup[], options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-6;
    this.weightDecay = options.weightDecay ?? 0.01;
    checkRange('beta1', this.beta1, 0, 1);
    checkRange('beta2', this.beta2, 0, 1);
    if (!(this.epsilon > 0)) throw new ArgumentError('epsilon', 'a number > 0', this.epsilon);
    if (!(this.weightDecay >= 0)) throw new ArgumentError('weightDecay', 'a number >= 0', this.weightDecay);
    if (groups.length === 0) throw new ArgumentError('groups', 'at least one parameter group', groups);
    this.groups = groups;
    groups.forEach((g, i) => {
      if (!(g.lr >= 0)) throw new ArgumentError(`groups[${i}].lr`, 'a number >= 0', g.lr);
      if (g.weightDecay !== undefined && !(g.weightDecay >= 0))
        throw new ArgumentError(`groups[${i}].weightDecay`, 'a number >= 0', g.weightDecay);
      for (const v of g.variables) {
        if (this.slots.has(v.name))
          throw new ArgumentError(`groups[${i}]`, 'each variable in exactly one group', v.name);
        this.slots.set(v.name, { variable: v, group: i, step: 0 });
      }
    });
  }

  /** Names of all variables the optimizer updates, in group order. */
  get variableNames(): string[] {
    return [...this.slots.keys()];
  }

  /** The variables the optimizer updates, in group order. */
  get variables(): tf.Variable[] {
    return [...this.slots.values()].map((s) => s.variable);
  }

  /**
   * One AdamW step. `grads` is keyed by variable name (what `tf.variableGrads` returns); a
   * variable without a gradient (absent or null) is left untouched, its step count included.
   * A gradient for a variable that is in no group is an error. `lrScale` multiplies every
   * group's learning rate (the schedule value). The caller keeps ownership of `grads`.
   */
  applyGradients(grads: Readonly<Record<string, tf.Tensor | null | undefined>>, lrScale = 1): void {
    if (!(lrScale >= 0)) throw new ArgumentError('lrScale', 'a number >= 0', lrScale);
    for (const [name, g] of Object.entries(grads)) {
      if (g == null) continue;
      const slot = this.slots.get(name);
      if (!slot) throw new ArgumentError('grads', `names of variables in the optimizer's groups`, name);
      if (!tf.util.arraysEqual(g.shape, slot.variable.shape))
        throw new ArgumentError(`grads[${name}].shape`, `[${slot.variable.shape}]`, g.shape);
      this.updateOne(slot, g, lrScale);
    }
  }

  private updateOne(slot: Slot, g: tf.Tensor, lrScale: number): void {
    const group = this.groups[slot.group]!;
    const lr = group.lr * lrScale;
    const wd = group.weightDecay ?? this.weightDecay;
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    slot.m ??= tf.variable(tf.zerosLike(slot.variable), false);
    slot.v ??= tf.variable(tf.zerosLike(slot.variable), false);
    slot.step += 1;
    const bc1 = 1 - Math.pow(b1, slot.step);
    const bc2 = 1 - Math.pow(b2, slot.step);
    const { m, v, variable: p } = slot;
    // one small tidy per operation, each temporary disposed as soon as the next one exists: an
    // update holds p, g, m, v and at most two temporaries of the variable's size (one tidy around
    // the whole update kept a dozen: 1 GB for BERT-base's word embeddings). Same ops, same values.
    const then = (x: tf.Tensor, f: (t: tf.Tensor) => tf.Tensor): tf.Tensor => {
      const y = tf.tidy(() => f(x));
      x.dispose();
      return y;
    };
    const m1 = then(tf.tidy(() => g.mul(1 - b1)), (gm) => m.mul(b1).add(gm));
    m.assign(m1);
    m1.dispose();
    const v1 = then(then(tf.tidy(() => g.square()), (g2) => g2.mul(1 - b2)), (g2) => v.mul(b2).add(g2));
    v.assign(v1);
    v1.dispose();
    // denominator √v̂ + ε with v̂ = v / (1 − β2^t); step size lr / (1 − β1^t) (torch's order)
    const denom = then(then(tf.tidy(() => v.sqrt()), (t) => t.div(Math.sqrt(bc2))), (t) => t.add(eps));
    const update = then(then(denom, (dn) => m.div(dn)), (t) => t.mul(lr / bc1));
    const decayed = wd === 0 ? p : tf.tidy(() => p.mul(1 - lr * wd));
    const next = tf.tidy(() => decayed.sub(update));
    update.dispose();
    if (decayed !== p) decayed.dispose();
    p.assign(next);
    next.dispose();
  }

  /** A copy of the state (tensors owned by the caller), keyed by variable name. */
  getState(): AdamWState {
    const steps: Record<string, number> = {};
    const moments: Record<string, { m: tf.Tensor; v: tf.Tensor }> = {};
    for (const [name, s] of this.slots) {
      steps[name] = s.step;
      if (s.m && s.v) moments[name] = { m: s.m.clone(), v: s.v.clone() };
    }
    return { steps, moments };
  }

  /**
   * Restores a state from `getState` (possibly of another process: names must match this
   * optimizer's variables). Unknown names or shape mismatches throw `ArgumentError`.
   */
  setState(state: AdamWState): void {
    for (const name of Object.keys(state.steps))
      if (!this.slots.has(name))
        throw new ArgumentError('state.steps', 'names of variables in the optimizer', name);
    for (const [name, s] of this.slots) {
      s.step = state.steps[name] ?? 0;
      const mv = state.moments[name];
      s.m?.dispose();
      s.v?.dispose();
      s.m = undefined;
      s.v = undefined;
      if (!mv) continue;
      if (
        !tf.util.arraysEqual(mv.m.shape, s.variable.shape) ||
        !tf.util.arraysEqual(mv.v.shape, s.variable.shape)
      )
        throw new ArgumentError(`state.moments[${name}]`, `shape [${s.variable.shape}]`, mv.m.shape);
      s.m = tf.variable(mv.m, false);
      s.v = tf.variable(mv.v, false);
    }
  }

  /**
   * The state keyed by `keys[i]` for `variables[i]` instead of by tfjs name (those carry a
   * process-wide counter, so another process building the same model gets other names): tensors
   * `${prefix}m/${key}` and `${prefix}v/${key}` (owned by the caller) and the step count per key.
   * Default keys: positions (`'0'`, `'1'`, …); the trainer passes stable paths (`namedVariables`).
   */
  exportState(
    variables: readonly tf.Variable[],
    prefix = '',
    keys: readonly string[] = variables.map((_, i) => String(i)),
  ): { tensors: Record<string, tf.Tensor>; steps: Record<string, number> } {
    const state = this.getState();
    const key = new Map(variables.map((v, i) => [v.name, keys[i]!]));
    const tensors: Record<string, tf.Tensor> = {};
    const steps: Record<string, number> = {};
    for (const [name, n] of Object.entries(state.steps)) {
      const k = key.get(name);
      if (k === undefined)
        throw new ArgumentError('variables', `a list holding every optimizer variable`, `no ${name}`);
      steps[k] = n;
      const mv = state.moments[name];
      if (mv) {
        tensors[`${prefix}m/${k}`] = mv.m;
        tensors[`${prefix}v/${k}`] = mv.v;
      }
    }
    return { tensors, steps };
  }

  /**
   * Restores what `exportState` produced (possibly in another process) for the same `variables`
   * list and `keys`.
   */
  importState(
    variables: readonly tf.Variable[],
    tensors: Readonly<Record<string, tf.Tensor>>,
    steps: Readonly<Record<string, number>>,
    prefix = '',
    keys: readonly string[] = variables.map((_, i) => String(i)),
  ): void {
    const state: { steps: Record<string, number>; moments: Record<string, { m: tf.Tensor; v: tf.Tensor }> } =
      { steps: {}, moments: {} };
    variables.forEach((v, i) => {
      if (!this.slots.has(v.name)) return;
      const k = keys[i]!;
      const n = steps[k];
      if (n !== undefined) state.steps[v.name] = n;
      const m = tensors[`${prefix}m/${k}`];
      const vv = tensors[`${prefix}v/${k}`];
      if (m && vv) state.moments[v.name] = { m, v: vv };
    });
    this.setState(state);
  }

  /** Frees the moment variables. */
  dispose(): void {
    for (const s of this.slots.values()) {
      s.m?.dispose();
      s.v?.dispose();
      s.m = undefined;
      s.v = undefined;
    }
  }
}

function checkRange(name: string, x: number, lo: number, hi: number): void {
  if (!(x >= lo && x < hi)) throw new ArgumentError(name, `a number in [${lo}, ${hi})`, x);
}

export interface ParamGroupsOptions {
  /** Which variables belong to the encoder. Default: name contains `encoder` or `bert` (case-insensitive). */
  readonly isEncoder?: (v: tf.Variable) => boolean;
  /** Learning rate of encoder variables. Default 5e-5 (ATLOP). */
  readonly encoderLr?: number;
  /** Learning rate of every other variable (the heads). Default 1e-4 (ATLOP). */
  readonly headLr?: number;
  /** Weight decay of the decayed groups. Default 0 (ATLOP's official code). */
  readonly weightDecay?: number;
  /** Which variables get no weight decay. Default: `isNoDecay`. */
  readonly noDecay?: (v: tf.Variable) => boolean;
}

/**
 * Default no-decay rule: biases and LayerNorm gammas/betas, recognised by name
 * (`bias`, `gamma`, `beta`, `LayerNorm`/`layer_norm`) or by rank 1 (every bias and norm scale
 * in these models is a vector; kernels and embeddings have rank ≥ 2).
 */
export function isNoDecay(v: tf.Variable): boolean {
  return v.shape.length <= 1 || /bias|gamma|beta|layer_?norm/i.test(v.name);
}

const defaultIsEncoder = (v: tf.Variable): boolean => /encoder|bert/i.test(v.name);

/**
 * Splits variables into up to four groups: encoder/heads × decay/no-decay (empty groups omitted).
 *
 * @example
 * const opt = new AdamW(paramGroups(model.variables, { encoderLr: 5e-5, headLr: 1e-4, weightDecay: 0.01 }));
 */
export function paramGroups(
  variables: readonly tf.Variable[],
  options: ParamGroupsOptions = {},
): ParamGroup[] {
  const isEncoder = options.isEncoder ?? defaultIsEncoder;
  const noDecay = options.noDecay ?? isNoDecay;
  const wd = options.weightDecay ?? 0;
  const lrs = { encoder: options.encoderLr ?? 5e-5, heads: options.headLr ?? 1e-4 };
  const buckets = new Map<string, { lr: number; weightDecay: number; variables: tf.Variable[] }>();
  for (const v of variables) {
    const part = isEncoder(v) ? 'encoder' : 'heads';
    const decay = noDecay(v) ? 'no-decay' : 'decay';
    const key = `${part}/${decay}`;
    let b = buckets.get(key);
    if (!b) buckets.set(key, (b = { lr: lrs[part], weightDecay: decay === 'decay' ? wd : 0, variables: [] }));
    b.variables.push(v);
  }
  return [...buckets.entries()].map(([name, b]) => ({ name, ...b }));
}
