/**
 * How far the machine scales for independent work: one child process running `--matmuls` wasm
 * 512² matmuls on one thread alone, then two such children side by side. Prints a table of the
 * per-child times; "2 together / alone" near 1.0 means two document threads can reach about 2×,
 * and well above 1.0 means the cores are shared (another load, or SMT siblings).
 *
 *   npx tsx bench/cores.ts [--matmuls 600]
 */
import * as tf from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { fmt, markdownTable, option } from './common.js';
import { initBackend } from '../src/core/backend.js';

const matmuls = Number(option('matmuls', '600'));

if (process.argv.includes('--child')) {
  await initBackend('wasm', { threads: 1 });
  const a = tf.randomNormal([512, 512]);
  // not tf.tidy(() => c.dataSync()): tidy walks a returned typed array element by element (10× slower)
  const once = () => {
    const c = tf.matMul(a, a);
    c.dataSync();
    c.dispose();
  };
  for (let i = 0; i < 5; i++) once();
  const t0 = performance.now();
  for (let i = 0; i < matmuls; i++) once();
  console.log(JSON.stringify({ ms: performance.now() - t0 }));
} else {
  const script = fileURLToPath(import.meta.url);
  const child = () =>
    new Promise<number>((resolve, reject) => {
      let out = '';
      const p = spawn(
        process.execPath,
        ['--import', 'tsx', script, '--child', '--matmuls', String(matmuls)],
        {
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      p.stdout.on('data', (d) => (out += d));
      p.on('error', reject);
      p.on('close', (code) => {
        const line = out.trim().split('\n').at(-1);
        if (code !== 0 || !line) reject(new Error(`child exited with ${code}`));
        else resolve((JSON.parse(line) as { ms: number }).ms);
      });
    });
  const load0 = loadavg();
  const alone = await child();
  const [a, b] = await Promise.all([child(), child()]);
  const load1 = loadavg();
  console.log(
    `\n## Independent work on the cores — bench/cores.ts (${matmuls} wasm 512² matmuls per child, one thread each)\n\n` +
      `load average ${load0.map((x) => x.toFixed(1)).join(' ')} before, ${load1.map((x) => x.toFixed(1)).join(' ')} after.\n`,
  );
  console.log(
    markdownTable(
      ['alone ms', '2 together ms (each)', '2 together / alone'],
      [[fmt(alone), `${fmt(a!)}, ${fmt(b!)}`, `**${(Math.max(a!, b!) / alone).toFixed(2)}**`]],
    ),
  );
}
