/**
 * Reasoning-module benchmark: time and peak memory of the efficient I-MSA (DRE-MIR) and ECA
 * (DocRE-II) — and the DRE-MIR / DocRE-II inference layers built on them — against the naive reference that materialises every path / candidate as a
 * `[b,e,e,e,·]` tensor (test/heads/naive-reasoning.ts — what the official DocRE-II code does with
 * `expand(b, n, n, n, d)`), forward and backward (gradients wrt the input and every parameter).
 *
 *   npx tsx bench/reasoning.ts                       # e ∈ {16, 42, 96}, d = 256, cpu wasm webgpu
 *   npx tsx bench/reasoning.ts --quick               # e ∈ {8, 16}, d = 64
 *   npx tsx bench/reasoning.ts --backends wasm --e 16,42,96 --naive-max-e 42 --cpu-max-e 42
 *   npx tsx bench/reasoning.ts --modules I-MSA --reps 3
 *   npx tsx bench/reasoning.ts --backends wasm --e 42,96 --naive-max-e 0 --modules I-MSA,ECA,InferenceEncoder,InferenceLayer
 *
 *   npx tsx bench/reasoning.ts --backends wasm --e 42,96 --naive-max-e 0 --tfjs-backprop   # + rows with tfjs' own backward pass
 *
 * Backward = `leanGradients` (src/core/gradients.ts, what the Trainer runs); `--tfjs-backprop`
 * adds an "efficient, tfjs backprop" row per size with `tf.grads` (tfjs keeps every intermediate
 * gradient and saved tensor until the backward pass ends), for the ratio in one run.
 *
 * Peak bytes = tf.profile's peak of live tensor bytes minus the bytes alive before the call
 * (inputs and parameters excluded). A naive run above --naive-max-e is not executed: its peak is
 * extrapolated from the measured smaller sizes with the fit α·e³ + β·e² (marked "extrap.").
 * Efficient: median of --reps runs after one warm-up; naive (slow): the single profiled run, no
 * warm-up. Times run until the result is read back (WebGPU included).
 */
import { option } from './common.js';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../src/core/backend.js';
import { leanGradients } from '../src/core/gradients.js';
import {
  imsa,
  inferenceEncoder,
  InferenceEncoderLayer,
  type InferenceEncoderParams,
} from '../src/heads/imsa.js';
import { eca } from '../src/heads/eca.js';
import { inferenceLayer, InferenceLayer, type InferenceLayerParams } from '../src/heads/inference.js';
import {
  flattenParams,
  makePairMask,
  naiveECA,
  naiveIMSA,
  randomECAParams,
  randomIMSAParams,
  seeded,
  unflattenParams,
} from '../test/heads/naive-reasoning.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const sizes = option('e', quick ? '8,16' : '16,42,96')
  .split(',')
  .map(Number);
const d = Number(option('d', quick ? '64' : '256'));
const backends = option('backends', 'cpu,wasm,webgpu').split(',') as BackendName[];
const naiveMaxE = Number(option('naive-max-e', quick ? '16' : '42'));
const cpuMaxE = Number(option('cpu-max-e', quick ? '16' : '42'));
const reps = Number(option('reps', quick ? '2' : '1'));
const modules = option('modules', 'I-MSA,ECA,InferenceEncoder,InferenceLayer').split(',');
const tfjsBackprop = argv.includes('--tfjs-backprop');

/** `tf.grads`'s shape: f of n tensors → the gradients wrt each of them. */
type GradsFn = (f: (...xs: tf.Tensor[]) => tf.Tensor) => (xs: tf.Tensor[]) => tf.Tensor[];
const leanGrads: GradsFn = (f) => (xs) => {
  const { value, grads } = leanGradients(() => f(...xs), xs);
  value.dispose();
  return grads.map((g, i) => g ?? tf.zerosLike(xs[i]!));
};
const tfjsGrads: GradsFn = (f) => (xs) => tf.grads(f)(xs);

interface Row {
  backend: string;
  module: string;
  e: number;
  impl: string;
  fwdMs?: number;
  fwdBytes?: number;
  bwdMs?: number;
  bwdBytes?: number;
  extrapolated?: boolean;
}

async function measure(
  fn: () => tf.Tensor | tf.Tensor[],
  warmUp: boolean,
): Promise<{ ms: number; bytes: number }> {
  const read = async (out: tf.Tensor | tf.Tensor[]) => {
    const list = Array.isArray(out) ? out : [out];
    await Promise.all(list.map((t) => t.data()));
    tf.dispose(list);
  };
  if (warmUp) await read(fn()); // shader compilation, kernel caches
  const start = tf.memory().numBytes;
  let out: tf.Tensor | tf.Tensor[] = [];
  const t0 = performance.now();
  const info = await tf.profile(() => {
    out = fn();
    return out;
  });
  await read(out);
  const profiledMs = performance.now() - t0;
  const bytes = info.peakBytes - start;
  if (!warmUp) return { ms: profiledMs, bytes }; // slow naive runs: one profiled run, timed
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await read(fn());
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, bytes };
}

type Case = {
  module: string;
  /** Layers have no naive reference: efficient rows only. */
  efficientOnly?: boolean;
  run: (
    impl: 'efficient' | 'naive',
    e: number,
    grads: GradsFn,
  ) => { fwd: () => tf.Tensor; bwd: () => tf.Tensor[]; dispose: () => void };
};

const cases: Case[] = [
  {
    module: 'I-MSA',
    run: (impl, e, grads) => {
      const x = seeded([1, e, e, d], 1, 1);
      const pm = makePairMask(e, [e]);
      const params = randomIMSAParams(d, 3, 0.1);
      const f = impl === 'efficient' ? imsa : naiveIMSA;
      const named = flattenParams(params).map(([, t]) => t);
      return {
        fwd: () => f(x, pm, params),
        bwd: () =>
          grads((xx: tf.Tensor, ...ps: tf.Tensor[]) => tf.sum(f(xx, pm, unflattenParams(params, ps))))([
            x,
            ...named,
          ]),
        dispose: () => tf.dispose([x, pm, ...named]),
      };
    },
  },
  {
    module: 'ECA',
    run: (impl, e, grads) => {
      const q = seeded([1, e, e, d], 1, 1);
      const m = seeded([1, e, e, 2 * d], 2, 1); // DocRE-II: memory = [F ; R]
      const pm = makePairMask(e, [e]);
      const params = randomECAParams(d, 2 * d, 3, 0.1);
      const f = impl === 'efficient' ? eca : naiveECA;
      const named = flattenParams(params).map(([, t]) => t);
      return {
        fwd: () => f(q, m, pm, params),
        bwd: () =>
          grads((qq: tf.Tensor, mm: tf.Tensor, ...ps: tf.Tensor[]) =>
            tf.sum(f(qq, mm, pm, unflattenParams(params, ps))),
          )([q, m, ...named]),
        dispose: () => tf.dispose([q, m, pm, ...named]),
      };
    },
  },
  {
    // DRE-MIR inference layer: I-MSA + Add & Norm + FFN (4d) + Add & Norm
    module: 'InferenceEncoder',
    efficientOnly: true,
    run: (_impl, e, grads) => {
      const x = seeded([1, e, e, d], 1, 1);
      const pm = makePairMask(e, [e]);
      const layer = new InferenceEncoderLayer({});
      layer.apply([x, pm]);
      const params = layer.params();
      const named = flattenParams(params).map(([, t]) => t);
      return {
        fwd: () => inferenceEncoder(x, pm, params),
        bwd: () =>
          grads((xx: tf.Tensor, ...ps: tf.Tensor[]) =>
            tf.sum(inferenceEncoder(xx, pm, unflattenParams(params, ps) as InferenceEncoderParams)),
          )([x, ...named]),
        dispose: () => (tf.dispose([x, pm]), layer.dispose()),
      };
    },
  },
  {
    // DocRE-II inference layer: two ECAs over M = [F ; R], fusion, two FFNs (2d) and norms
    module: 'InferenceLayer',
    efficientOnly: true,
    run: (_impl, e, grads) => {
      const [f, r] = [seeded([1, e, e, d], 1, 1), seeded([1, e, e, d], 2, 1)];
      const pm = makePairMask(e, [e]);
      const layer = new InferenceLayer({});
      layer.apply([f, r, pm]);
      const params = layer.params();
      const named = flattenParams(params).map(([, t]) => t);
      const both = (ff: tf.Tensor, rr: tf.Tensor, p: InferenceLayerParams) => {
        const out = inferenceLayer(ff, rr, pm, p);
        return tf.concat([out.features, out.relations], -1);
      };
      return {
        fwd: () => both(f, r, params),
        bwd: () =>
          grads((ff: tf.Tensor, rr: tf.Tensor, ...ps: tf.Tensor[]) =>
            tf.sum(both(ff, rr, unflattenParams(params, ps) as InferenceLayerParams)),
          )([f, r, ...named]),
        dispose: () => (tf.dispose([f, r, pm]), layer.dispose()),
      };
    },
  },
];

/** Least-squares fit of y = α·e³ + β·e² through the measured points, evaluated at e. */
function extrapolate(points: [number, number][], e: number): number | undefined {
  if (points.length < 2) return undefined;
  let [s33, s32, s22, s3y, s2y] = [0, 0, 0, 0, 0];
  for (const [x, y] of points) {
    const [a, b] = [x ** 3, x ** 2];
    s33 += a * a;
    s32 += a * b;
    s22 += b * b;
    s3y += a * y;
    s2y += b * y;
  }
  const det = s33 * s22 - s32 * s32;
  const alpha = (s3y * s22 - s2y * s32) / det;
  const beta = (s33 * s2y - s32 * s3y) / det;
  return alpha * e ** 3 + beta * e ** 2;
}

const mb = (b?: number) => (b === undefined ? 'n/a' : (b / 2 ** 20).toFixed(1));
const ms = (t?: number) => (t === undefined ? 'n/a' : t.toFixed(t < 10 ? 2 : 0));

const rows: Row[] = [];
for (const backend of backends) {
  const info = await initBackend(backend);
  console.error(`# backend ${backend}${info.adapter ? ` (${info.adapter})` : ''}`);
  for (const c of cases.filter((x) => modules.includes(x.module)))
    for (const e of sizes) {
      if (backend === 'cpu' && e > cpuMaxE) continue;
      const impls = [
        'efficient',
        ...(tfjsBackprop ? ['efficient, tfjs backprop'] : []),
        ...(c.efficientOnly ? [] : ['naive']),
      ];
      for (const impl of impls) {
        const row: Row = { backend, module: c.module, e, impl };
        if (impl === 'naive' && e > naiveMaxE) {
          const pts = (k: 'fwdBytes' | 'bwdBytes') =>
            rows
              .filter(
                (r) =>
                  r.backend === backend &&
                  r.module === c.module &&
                  r.impl === 'naive' &&
                  !r.extrapolated &&
                  r[k] !== undefined,
              )
              .map((r) => [r.e, r[k]!] as [number, number]);
          row.fwdBytes = extrapolate(pts('fwdBytes'), e);
          row.bwdBytes = extrapolate(pts('bwdBytes'), e);
          row.extrapolated = true;
          if (row.fwdBytes === undefined && row.bwdBytes === undefined) continue; // nothing measured to fit (--naive-max-e 0)
        } else {
          const efficient = impl !== 'naive';
          const run = c.run(
            efficient ? 'efficient' : 'naive',
            e,
            impl.includes('tfjs') ? tfjsGrads : leanGrads,
          );
          try {
            const f = await measure(run.fwd, efficient);
            Object.assign(row, { fwdMs: f.ms, fwdBytes: f.bytes });
            const b = await measure(run.bwd, efficient);
            Object.assign(row, { bwdMs: b.ms, bwdBytes: b.bytes });
          } catch (err) {
            console.error(`${backend} ${c.module} e=${e} ${impl} failed: ${String(err).split('\n')[0]}`);
          }
          run.dispose();
        }
        rows.push(row);
        console.error(
          `${backend} ${c.module} e=${e} ${impl}: fwd ${ms(row.fwdMs)} ms ${mb(row.fwdBytes)} MB, bwd ${ms(row.bwdMs)} ms ${mb(row.bwdBytes)} MB${row.extrapolated ? ' (extrap.)' : ''}`,
        );
      }
    }
}

console.log(
  `\nd = ${d}, b = 1, all e·(e−1) pairs real; peak = extra live tensor bytes during the call (MiB)\n`,
);
console.log(
  '| backend | module | e | impl | fwd ms | fwd peak MiB | fwd+bwd ms | fwd+bwd peak MiB | fwd+bwd / fwd peak | naive/efficient peak (fwd, fwd+bwd) |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const eff = rows.find(
    (x) => x.backend === r.backend && x.module === r.module && x.e === r.e && x.impl === 'efficient',
  );
  const ratio =
    r.impl === 'naive' && eff
      ? `${(r.fwdBytes! / eff.fwdBytes!).toFixed(1)}×, ${(r.bwdBytes! / eff.bwdBytes!).toFixed(1)}×`
      : '';
  const tag = r.extrapolated ? ' (extrap.)' : '';
  const growth = r.fwdBytes && r.bwdBytes ? `${(r.bwdBytes / r.fwdBytes).toFixed(1)}×` : '';
  console.log(
    `| ${r.backend} | ${r.module} | ${r.e} | ${r.impl} | ${ms(r.fwdMs)} | ${mb(r.fwdBytes)}${tag} | ${ms(r.bwdMs)} | ${mb(r.bwdBytes)}${tag} | ${growth} | ${ratio} |`,
  );
}
