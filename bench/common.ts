/**
 * Shared benchmark harness: argument parsing, timing of forward and forward+backward passes,
 * peak tensor bytes, the matmul roofline, one subprocess per backend, and markdown tables.
 * Benchmarks print tables; tests never assert on time.
 *
 * Timing: `fn` runs `warmup` times untimed, then `reps` times; each run ends with an awaited read
 * of a one-element reduction of its outputs, so asynchronous backends (webgpu) are measured to
 * completion. The median is reported. Peak bytes come from `tf.profile` on a separate, untimed
 * run: the largest total of live tensor bytes during the run, minus the bytes alive before it
 * (inputs and parameters), i.e. what the computation itself adds at its peak.
 *
 * @example
 * const opts = parseBenchArgs(process.argv.slice(2));
 * const t = await timeForwardBackward(() => f(x), () => tf.grads(f)([x]), { warmup: 1, reps: 3 });
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, type BackendName, type BackendInfo } from '../src/core/backend.js';

export type BenchBackend = Exclude<BackendName, 'tensorflow'>;

export interface BenchArgs {
  /** Small sizes (seconds, for CI smoke runs). */
  readonly quick: boolean;
  /** Backends to run, in order. Default cpu, wasm, webgpu. */
  readonly backends: readonly BenchBackend[];
  /** Timed repetitions (median reported); default 3 (1 for cpu at full size). */
  readonly reps?: number;
  /** Untimed warm-up runs; default 1 (0 for cpu at full size). */
  readonly warmup?: number;
  /** Internal: this process is the child that runs one backend and prints JSON. */
  readonly child?: BenchBackend;
  /** Only rows whose name contains one of these substrings. */
  readonly only?: readonly string[];
  /**
   * Seconds one case may take (full size; default 180, quick: unlimited). A case whose first
   * forward pass exceeds it reports that forward time only; the peak-bytes run (one more
   * forward+backward) is skipped when forward+backward took more than half of it.
   */
  readonly budgetS?: number;
  /** Directory where each backend's result is saved as `<backend>.json` (`--save DIR`). */
  readonly save?: string;
  /** Directory of saved results: backends found there are not re-run (`--load DIR`). */
  readonly load?: string;
}

/**
 * Parses `--quick`, `--backends cpu,wasm,webgpu`, `--reps N`, `--warmup N`, `--only a,b`,
 * `--budget S`, `--save DIR`, `--load DIR`.
 */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(flag + '='))?.slice(flag.length + 1);
  };
  const list = (s: string | undefined) =>
    s
      ? s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : undefined;
  const backends = (list(value('--backends')) ?? ['cpu', 'wasm', 'webgpu']) as BenchBackend[];
  for (const b of backends)
    if (!['cpu', 'wasm', 'webgpu'].includes(b))
      throw new Error(`--backends: expected cpu | wasm | webgpu, got "${b}"`);
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  const child = value('--child') as BenchBackend | undefined;
  return {
    quick: argv.includes('--quick'),
    backends,
    ...(num(value('--reps')) !== undefined ? { reps: num(value('--reps')) } : {}),
    ...(num(value('--warmup')) !== undefined ? { warmup: num(value('--warmup')) } : {}),
    ...(child ? { child } : {}),
    ...(list(value('--only')) ? { only: list(value('--only')) } : {}),
    ...(num(value('--budget')) !== undefined ? { budgetS: num(value('--budget')) } : {}),
    ...(value('--save') ? { save: value('--save') } : {}),
    ...(value('--load') ? { load: value('--load') } : {}),
  };
}

/** Waits until every tensor in `out` is computed (a one-element read), then disposes `out`. */
export async function settle(out: tf.TensorContainer): Promise<void> {
  const tensors = flatten(out);
  if (tensors.length > 0) {
    const probe = tf.tidy(() => tf.addN(tensors.map((t) => t.flatten().slice(0, 1).toFloat().sum())));
    await probe.data();
    probe.dispose();
  }
  tf.dispose(out);
}

function flatten(out: tf.TensorContainer): tf.Tensor[] {
  if (out instanceof tf.Tensor) return [out];
  if (Array.isArray(out)) return out.flatMap((o) => flatten(o as tf.TensorContainer));
  if (out && typeof out === 'object')
    return Object.values(out).flatMap((o) => flatten(o as tf.TensorContainer));
  return [];
}

/** Median wall time (ms) of `fn` after `warmup` runs, each awaited to completion. */
export async function timeMs(fn: () => tf.TensorContainer, { warmup = 1, reps = 3 } = {}): Promise<number> {
  for (let i = 0; i < warmup; i++) await settle(fn());
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await settle(fn());
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Bytes that `fn` adds at its peak (tf.profile), beyond what was alive before it. */
export async function peakBytes(fn: () => tf.TensorContainer): Promise<number> {
  const before = tf.memory().numBytes;
  let out: tf.TensorContainer = [];
  const info = await tf.profile(() => {
    out = fn();
    return out as tf.Tensor;
  });
  await settle(out);
  return Math.max(0, info.peakBytes - before);
}

/**
 * A measured row: forward and forward+backward median times and the fwd+bwd peak bytes
 * (`null` = not measured because the case exceeded the time budget).
 */
export interface BenchRow {
  readonly name: string;
  readonly shape: string;
  readonly forwardMs: number;
  readonly backwardMs: number | null;
  readonly peakBytes: number | null;
  /** Runs each median is over (after the budget cut). */
  readonly reps: number;
  /** For roofline rows: achieved GFLOP/s of the forward pass. */
  readonly gflops?: number;
}

/** A benchmark case: builds its inputs, then returns forward and forward+backward closures. */
export interface BenchCase {
  readonly name: string;
  readonly shape: string;
  /** FLOPs of one forward pass, when meaningful (roofline rows). */
  readonly flops?: number;
  /** Creates inputs (kept alive across runs) and the two closures; `dispose` frees the inputs. */
  setup(): { forward: () => tf.TensorContainer; backward: () => tf.TensorContainer; dispose: () => void };
}

/** Measures one case on the current backend, within `budgetMs` (see {@link BenchArgs.budgetS}). */
export async function measure(
  c: BenchCase,
  opts: { warmup: number; reps: number; budgetMs?: number },
): Promise<BenchRow> {
  const { forward, backward, dispose } = c.setup();
  const budget = opts.budgetMs ?? Infinity;
  const gflops = (ms: number) => (c.flops ? { gflops: c.flops / (ms * 1e6) } : {});
  try {
    // the first forward run doubles as warm-up and as the cost probe
    const t0 = performance.now();
    await settle(forward());
    const first = performance.now() - t0;
    if (first > budget)
      return {
        name: c.name,
        shape: c.shape,
        forwardMs: first,
        backwardMs: null,
        peakBytes: null,
        reps: 1,
        ...gflops(first),
      };
    const reps = Math.max(1, Math.min(opts.reps, Math.floor(budget / (4 * first))));
    const forwardMs = await timeMs(forward, { warmup: Math.max(0, opts.warmup - 1), reps });
    const backwardMs = await timeMs(backward, { warmup: reps > 1 ? opts.warmup : 0, reps });
    const peak = backwardMs * 2 < budget ? await peakBytes(backward) : null;
    return {
      name: c.name,
      shape: c.shape,
      forwardMs,
      backwardMs,
      peakBytes: peak,
      reps,
      ...gflops(forwardMs),
    };
  } finally {
    dispose();
  }
}

/** The roofline reference: an n×n float32 matmul (2n³ FLOPs), forward and with gradients. */
export function matmulCase(n = 512): BenchCase {
  return {
    name: `matmul ${n}×${n}`,
    shape: `[${n},${n}]·[${n},${n}]`,
    flops: 2 * n ** 3,
    setup() {
      const a = tf.randomUniform([n, n], -1, 1, 'float32', 1);
      const b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
      const f = (x: tf.Tensor, y: tf.Tensor) =>
        tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D).sum() as tf.Scalar;
      return {
        forward: () => tf.matMul(a, b),
        backward: () => tf.grads(f)([a, b]),
        dispose: () => tf.dispose([a, b]),
      };
    },
  };
}

/** Result of one backend's run (child → parent JSON). */
export interface BackendResult {
  readonly backend: BenchBackend;
  readonly info: BackendInfo;
  readonly warmup: number;
  readonly reps: number;
  readonly rows: readonly BenchRow[];
  readonly error?: string;
}

/**
 * Runs `cases` on one backend in this process and returns the rows. A case that throws (e.g. out
 * of memory) becomes a row-less error note instead of ending the run.
 */
export async function runBackend(
  backend: BenchBackend,
  cases: readonly BenchCase[],
  args: BenchArgs,
): Promise<BackendResult> {
  const info = await initBackend(backend);
  const slowCpu = backend === 'cpu' && !args.quick;
  const warmup = args.warmup ?? (slowCpu ? 0 : 1);
  const reps = args.reps ?? (slowCpu ? 1 : 3);
  const rows: BenchRow[] = [];
  const errors: string[] = [];
  for (const c of cases) {
    if (args.only && !args.only.some((o) => c.name.includes(o))) continue;
    try {
      const budgetMs = (args.budgetS ?? (args.quick ? Infinity : 180)) * 1000;
      const row = await measure(c, { warmup, reps, budgetMs });
      rows.push(row);
      const bwd = row.backwardMs === null ? 'over budget' : `${fmt(row.backwardMs)} ms`;
      process.stderr.write(`[${backend}] ${c.name}: fwd ${fmt(row.forwardMs)} ms, fwd+bwd ${bwd}\n`);
    } catch (e) {
      errors.push(`${c.name}: ${String((e as Error).message ?? e).split('\n')[0]}`);
      process.stderr.write(`[${backend}] ${c.name}: FAILED ${errors.at(-1)}\n`);
    }
  }
  return { backend, info, warmup, reps, rows, ...(errors.length ? { error: errors.join('; ') } : {}) };
}

/**
 * Runs each backend in its own subprocess (`script --child <backend> …`), so one backend's
 * crash or memory does not affect the others, and collects their JSON results.
 */
export function runInSubprocesses(
  scriptUrl: string,
  args: BenchArgs,
  argv: readonly string[],
): BackendResult[] {
  const script = fileURLToPath(scriptUrl);
  const results = args.backends.map((backend) => {
    const saved = args.load ? join(args.load, `${backend}.json`) : undefined;
    if (saved && existsSync(saved)) return JSON.parse(readFileSync(saved, 'utf8')) as BackendResult;
    const res = spawnSync(process.execPath, ['--import', 'tsx', script, ...argv, '--child', backend], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    });
    const last = res.stdout.trim().split('\n').at(-1) ?? '';
    try {
      return JSON.parse(last) as BackendResult;
    } catch {
      return {
        backend,
        info: { backend },
        warmup: 0,
        reps: 0,
        rows: [],
        error: `subprocess exited with ${res.status ?? res.signal}`,
      } as BackendResult;
    }
  });
  if (args.save) {
    mkdirSync(args.save, { recursive: true });
    for (const r of results) writeFileSync(join(args.save, `${r.backend}.json`), JSON.stringify(r, null, 1));
  }
  return results;
}

export const fmt = (x: number, digits = 1): string =>
  x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(digits) : x.toPrecision(Math.max(2, digits + 1));

export const mb = (bytes: number): string => fmt(bytes / (1024 * 1024));

/**
 * A time cell: `fmt(ms)`, or "over budget" when the value is missing — `null` in a row (not
 * measured), and also a non-finite time, which JSON (the child → parent hand-over) turns into null.
 */
export const msCell = (ms: number | null | undefined): string =>
  ms === null || ms === undefined || !Number.isFinite(ms) ? 'over budget' : fmt(ms);

/** A markdown table. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** One table per backend: layer, shape, fwd ms, fwd+bwd ms, peak MB (+ GFLOP/s for roofline rows). */
export function backendTable(r: BackendResult): string {
  const title =
    `### ${r.backend}` +
    (r.info.adapter ? ` (${r.info.adapter})` : '') +
    (r.info.wasm ? ` (SIMD ${r.info.wasm.simd}, threads ${r.info.wasm.threadsCount})` : '') +
    ` — median of up to ${r.reps} runs after ${r.warmup} warm-up`;
  const rows = r.rows.map((row) => [
    row.name,
    `\`${row.shape}\``,
    msCell(row.forwardMs),
    msCell(row.backwardMs),
    typeof row.peakBytes === 'number' ? mb(row.peakBytes) : '—',
    typeof row.gflops === 'number' && Number.isFinite(row.gflops) ? fmt(row.gflops) : '',
    String(row.reps),
  ]);
  const table = markdownTable(
    ['layer', 'shape', 'fwd ms', 'fwd+bwd ms', 'peak MB (fwd+bwd)', 'GFLOP/s (fwd)', 'runs'],
    rows,
  );
  return `${title}\n\n${table}${r.error ? `\n\nFailed: ${r.error}` : ''}\n`;
}

/** Cross-backend summary: fwd+bwd ms per backend and each backend's ratio to `reference`. */
export function ratioTable(results: readonly BackendResult[], reference: BenchBackend = 'wasm'): string {
  const names = [...new Set(results.flatMap((r) => r.rows.map((row) => row.name)))];
  const ref = results.find((r) => r.backend === reference);
  const header = [
    'layer',
    ...results.map((r) => `${r.backend} fwd+bwd ms`),
    ...results.filter((r) => r !== ref).map((r) => `${r.backend} / ${reference}`),
  ];
  const rows = names.map((name) => {
    const row = (r: BackendResult | undefined) => r?.rows.find((x) => x.name === name);
    const ms = (r: BackendResult | undefined) => {
      const m = row(r)?.backwardMs;
      return typeof m === 'number' && Number.isFinite(m) ? m : undefined;
    };
    const refMs = ms(ref);
    return [
      name,
      ...results.map((r) => (row(r) === undefined ? '—' : msCell(ms(r)))),
      ...results
        .filter((r) => r !== ref)
        .map((r) => {
          const m = ms(r);
          return m === undefined || refMs === undefined ? '—' : `${fmt(m / refMs, 2)}×`;
        }),
    ];
  });
  return markdownTable(header, rows);
}

/** Seeded uniform tensor in [−scale, scale) (benchmark inputs and parameters). */
export const rand = (shape: number[], seed: number, scale = 1): tf.Tensor =>
  tf.randomUniform(shape, -scale, scale, 'float32', seed);

/**
 * The body of a benchmark script: as the child (`--child <backend>`), runs `cases(quick)` on that
 * backend and prints its JSON; otherwise runs one child per backend and prints `heading(quick)`,
 * the command, one table per backend and the forward+backward table of all backends.
 * @example
 * await benchMain(import.meta.url, 'bench/layers.ts', (quick) => cases(quick ? QUICK : FULL), (quick) => '## Layers');
 */
export async function benchMain(
  scriptUrl: string,
  script: string,
  cases: (quick: boolean) => BenchCase[],
  heading: (quick: boolean) => string,
): Promise<void> {
  const argv = process.argv.slice(2);
  const args = parseBenchArgs(argv);
  if (args.child) {
    const result = await runBackend(args.child, cases(args.quick), args);
    process.stdout.write('\n' + JSON.stringify(result) + '\n');
    process.exit(0); // Dawn keeps the event loop alive
  }
  const results = runInSubprocesses(scriptUrl, args, argv);
  console.log(heading(args.quick) + '\n');
  console.log(`Command: \`npx tsx ${script} ${argv.join(' ')}\`\n`);
  for (const r of results) console.log(backendTable(r));
  console.log('### forward+backward, all backends\n');
  console.log(ratioTable(results));
}

/** `--name value` from the command line, or `fallback`. */
export function option(name: string, fallback: string): string {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : fallback;
}

/**
 * Encodes featurized documents with `enc` in batches of `size`, as the feature cache does (ids
 * padded with `pad`, mask 1 on real pieces), reading one element of each output to completion;
 * `onBatch(start, done)` after each batch.
 */
export async function encodeInBatches(
  enc: {
    encodeAsync(ids: tf.Tensor2D, mask: tf.Tensor2D): Promise<{ hidden: tf.Tensor; attention: tf.Tensor }>;
  },
  features: readonly { inputIds: readonly number[] }[],
  {
    size = 4,
    pad = 2,
    onBatch,
  }: { size?: number; pad?: number; onBatch?: (start: number, done: number) => void } = {},
): Promise<void> {
  for (let s = 0; s < features.length; s += size) {
    const group = features.slice(s, s + size);
    const n = Math.max(...group.map((f) => f.inputIds.length));
    const ids = tf.tensor2d(
      group.map((f) => [...f.inputIds, ...new Array<number>(n - f.inputIds.length).fill(pad)]),
      undefined,
      'int32',
    );
    const mask = tf.tensor2d(
      group.map((f) => Array.from({ length: n }, (_, j) => (j < f.inputIds.length ? 1 : 0))),
    );
    const out = await enc.encodeAsync(ids, mask);
    await out.hidden.slice([0, 0, 0], [1, 1, 1]).data();
    await out.attention.slice([0, 0, 0, 0], [1, 1, 1, 1]).data();
    tf.dispose([ids, mask, out.hidden, out.attention]);
    onBatch?.(s, s + group.length);
  }
}
