/**
 * The wasm backend's thread pool in Node (src/core/wasm-threads.ts): a child process started with
 * `--threads 2` runs the threaded build with two pool threads, and its matmul, conv2d and one
 * Adam step of each of the five models equal the single-thread build's (test/core/threads-child.ts;
 * each thread count needs its own process: the pool size is fixed when the backend starts).
 * The child-process tests run in the wasm pass of the suite only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BACKEND } from '../helpers.js';
import { initBackend } from '../../src/core/backend.js';
import { startBrowserWasmThreads } from '../../src/core/wasm-threads.js';

const child = fileURLToPath(new URL('./threads-child.ts', import.meta.url));
const skip = BACKEND === 'wasm' ? false : 'wasm only';

interface ChildResult {
  info: { wasm: { simd: boolean; threads: boolean; threadsCount: number } };
  matmul: number[];
  conv: number[];
  models: Record<string, { loss: number; weights: number[] }>;
}

async function run(threads: number): Promise<ChildResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', child, '--threads', String(threads)],
    { maxBuffer: 64 << 20 },
  );
  return JSON.parse(stdout) as ChildResult;
}

function assertClose(a: number[], b: number[], what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-5 * (1 + Math.abs(a[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test(
  'wasm threads: 2 pool threads give the single-thread results (matmul, conv, a step of every model)',
  { skip },
  async () => {
    const [one, two] = await Promise.all([run(1), run(2)]);
    assert.deepEqual(one.info.wasm, { simd: true, threads: false, threadsCount: 1 });
    assert.deepEqual(two.info.wasm, {
      simd: true,
      threads: true,
      threadsCount: Math.min(2, availableParallelism()),
    });
    assertClose(two.matmul, one.matmul, 'matmul');
    assertClose(two.conv, one.conv, 'conv2d');
    assert.deepEqual(Object.keys(two.models), ['atlop', 'docunet', 'dremir', 'gtn', 'docreii']);
    for (const [name, m] of Object.entries(one.models)) {
      assertClose([two.models[name]!.loss], [m.loss], `${name} loss`);
      assertClose(two.models[name]!.weights, m.weights, `${name} weights after one Adam step`);
    }
  },
);

test(
  'wasm threads: the count is fixed once the backend started; bad counts are rejected',
  { skip },
  async () => {
    const info = await initBackend('wasm');
    const cores = availableParallelism();
    assert.equal(info.wasm?.threads, cores >= 2);
    assert.equal(info.wasm?.threadsCount, Math.min(cores, 8));
    await assert.rejects(() => initBackend('wasm', { threads: cores + 1 }), /threads: .*cannot change/);
    await assert.rejects(
      () => initBackend('wasm', { threads: 0 }),
      /threads: expected an integer ≥ 1, got "0"/,
    );
  },
);

test('browser: the core count reads doubled only while an isolated page starts the backend', async () => {
  const g = globalThis as { navigator?: unknown; crossOriginIsolated?: boolean };
  const saved = {
    navigator: Object.getOwnPropertyDescriptor(g, 'navigator'),
    isolated: g.crossOriginIsolated,
  };
  const nav = Object.create({
    get hardwareConcurrency() {
      return 2;
    },
  }) as { hardwareConcurrency: number };
  Object.defineProperty(g, 'navigator', { value: nav, configurable: true, writable: true });
  try {
    const seen: number[] = [];
    const counts: number[] = [];
    const wasm = { setThreadsCount: (n: number) => void counts.push(n) };
    const start = async () => void seen.push(nav.hardwareConcurrency);
    g.crossOriginIsolated = true;
    await startBrowserWasmThreads(wasm, 2, start);
    g.crossOriginIsolated = false;
    await startBrowserWasmThreads(wasm, 2, start);
    assert.deepEqual(seen, [4, 2]); // the C++ pool caps at hardwareConcurrency / 2
    assert.deepEqual(counts, [2, 2]);
    assert.equal(nav.hardwareConcurrency, 2);
  } finally {
    if (saved.navigator) Object.defineProperty(g, 'navigator', saved.navigator);
    else delete g.navigator;
    g.crossOriginIsolated = saved.isolated;
    if (saved.isolated === undefined) delete g.crossOriginIsolated;
  }
});
