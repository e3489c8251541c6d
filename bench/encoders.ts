/**
 * Encoders, per backend (one subprocess each):
 *
 * 1. `BertEncoder` at BERT-base size (random weights: d = 768, 12 layers, 12 heads, 3072 FFN,
 *    28,996-piece vocabulary), one document of n = 512 tokens: forward and forward+backward
 *    (gradients of every weight) → tokens/s; next to the 512×512 matmul roofline of bench/common.ts.
 * 2. The embedded encoder (USE-lite) over Re-DocRED's dev_revised.json: documents featurized with
 *    ATLOP's `*` markers by src/data's Featurizer and the embedded tokenizer, encoded in batches of 4
 *    (128-piece windows) → documents/s and pieces/s. cpu encodes only the first `--cpu-docs`
 *    documents (default 10; it is ~50× slower than wasm on this graph), webgpu the first
 *    `--webgpu-docs` (default 16), wasm all 500 (`--docs N`).
 *
 * `--layers L` overrides the 12 BERT layers (the cpu backend needs minutes per layer at n = 512);
 * `--only bert,embedded,matmul` runs some sections. `--warmup 0` skips the untimed run (on webgpu the timed run then includes shader compilation).
 *
 *   npx tsx bench/encoders.ts                 # full size, cpu + wasm + webgpu
 *   npx tsx bench/encoders.ts --quick         # 2-layer d = 256 BERT at n = 128, 8 documents
 *   npx tsx bench/encoders.ts --backends wasm --docs 50
 *
 * WebGPU in Node runs on Dawn; with no GPU it is SwiftShader (a CPU rasteriser). Results go to
 * docs/benchmarks.md (section "Encoders").
 */
import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import {
  encodeInBatches,
  fmt,
  markdownTable,
  matmulCase,
  parseBenchArgs,
  timeMs,
  type BenchBackend,
} from './common.js';
import { initBackend, type BackendInfo } from '../src/core/backend.js';
import { BertEncoder, parseBertConfig } from '../src/encoders/bert.js';
import { EmbeddedEncoder } from '../src/encoders/embedded.js';
import { readDocRED } from '../src/data/docred.js';
import { Featurizer } from '../src/data/featurize.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const args = parseBenchArgs(argv);
const value = (flag: string): number | undefined => {
  const i = argv.indexOf(flag);
  return i >= 0 ? Number(argv[i + 1]) : undefined;
};

const BERT_BASE = {
  model_type: 'bert',
  vocab_size: 28996,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  max_position_embeddings: 512,
};
const QUICK = {
  ...BERT_BASE,
  hidden_size: 256,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 1024,
  max_position_embeddings: 128,
};

interface Row {
  readonly name: string;
  readonly shape: string;
  readonly ms: number;
  /** process CPU time (user + system, all threads) per run: the cost without the machine's load */
  readonly cpuMs?: number;
  readonly rate: string;
}

/** `timeMs` plus the process CPU time per run (the machine is shared: wall time is inflated). */
async function timeCpu(
  fn: () => tf.TensorContainer,
  o: { warmup: number; reps: number },
): Promise<{ ms: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const ms = await timeMs(fn, o);
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000 / (o.warmup + o.reps) };
}
interface Result {
  readonly backend: BenchBackend;
  readonly info: BackendInfo | { backend: string };
  readonly rows: Row[];
  readonly error?: string;
}

async function runChild(backend: BenchBackend): Promise<Result> {
  const info = await initBackend(backend);
  const rows: Row[] = [];
  const errors: string[] = [];
  const slow = backend === 'cpu' && !args.quick;
  const opts = { warmup: args.warmup ?? (slow ? 0 : 1), reps: args.reps ?? 1 };
  const log = (s: string) => process.stderr.write(`[${backend}] ${s}\n`);
  const attempt = async (name: string, fn: () => Promise<void>) => {
    if (args.only && !args.only.some((o) => name.includes(o))) return;
    try {
      await fn();
    } catch (e) {
      errors.push(`${name}: ${String((e as Error).message ?? e).split('\n')[0]}`);
      log(`FAILED ${errors.at(-1)}`);
    }
  };

  await attempt('matmul', async () => {
    const c = matmulCase(512).setup();
    const ms = await timeMs(c.forward, { warmup: 1, reps: 3 });
    c.dispose();
    rows.push({
      name: 'matmul 512×512 (roofline)',
      shape: '[512,512]·[512,512]',
      ms,
      rate: `${fmt((2 * 512 ** 3) / (ms * 1e6))} GFLOP/s`,
    });
  });

  await attempt('bert', async () => {
    const layers = value('--layers');
    const base = args.quick ? QUICK : BERT_BASE;
    const config = parseBertConfig(layers ? { ...base, num_hidden_layers: layers } : base);
    const n = config.maxPositionEmbeddings;
    const bert = BertEncoder.random(config, 1);
    const ids = tf.tensor2d(
      [Array.from({ length: n }, (_, j) => (j * 7919) % config.vocabSize)],
      [1, n],
      'int32',
    );
    const mask = tf.ones([1, n]) as tf.Tensor2D;
    const shape = `d ${config.hiddenSize}, L ${config.numHiddenLayers}, h ${config.numAttentionHeads}, [1, ${n}]`;
    const { ms: fwd, cpuMs: fwdCpu } = await timeCpu(() => {
      const o = bert.encode(ids, mask);
      return [o.hidden, o.attention];
    }, opts);
    log(`BertEncoder forward ${fmt(fwd)} ms (cpu ${fmt(fwdCpu)} ms)`);
    rows.push({
      name: 'BertEncoder forward',
      shape,
      ms: fwd,
      cpuMs: fwdCpu,
      rate: `${fmt((n * 1000) / fwd)} tokens/s`,
    });
    const { ms: bwd, cpuMs: bwdCpu } = await timeCpu(() => {
      const { value, grads } = tf.variableGrads(() => {
        const o = bert.encode(ids, mask, { training: true });
        return o.hidden.mean().add(o.attention.mean()) as tf.Scalar;
      }, bert.trainableVariables());
      return [value, ...Object.values(grads)];
    }, opts);
    log(`BertEncoder forward+backward ${fmt(bwd)} ms (cpu ${fmt(bwdCpu)} ms)`);
    rows.push({
      name: 'BertEncoder forward+backward',
      shape,
      ms: bwd,
      cpuMs: bwdCpu,
      rate: `${fmt((n * 1000) / bwd)} tokens/s`,
    });
    tf.dispose([ids, mask]);
    bert.dispose();
  });

  await attempt('embedded', async () => {
    const enc = await EmbeddedEncoder.load();
    const text = await readFile(
      new URL('../../shared/data/re-docred/dev_revised.json', import.meta.url),
      'utf8',
    );
    const docs = E.getOrElseW((e: unknown) => {
      throw new Error(String(e));
    })(readDocRED(text));
    const limit = args.quick
      ? 8
      : backend === 'cpu'
        ? (value('--cpu-docs') ?? 10)
        : backend === 'webgpu'
          ? (value('--webgpu-docs') ?? 16)
          : (value('--docs') ?? docs.length);
    const featurizer = new Featurizer(enc.tokenizer, { markers: 'star' });
    const t0 = performance.now();
    const features = docs.slice(0, limit).map((d, i) =>
      E.getOrElseW((e: unknown) => {
        throw new Error(String(e));
      })(featurizer.featurize(d, i)),
    );
    const featMs = performance.now() - t0;
    const pieces = features.reduce((a, f) => a + f.inputIds.length, 0);
    rows.push({
      name: 'embedded tokenizer + `*` markers',
      shape: `${limit} Re-DocRED docs`,
      ms: featMs,
      rate: `${fmt((limit * 1000) / featMs)} docs/s`,
    });
    // warm-up on one small batch (shader compilation on webgpu)
    const warm = enc.encode(
      tf.tensor2d([features[0]!.inputIds.slice(0, 64)], undefined, 'int32'),
      tf.ones([1, 64]) as tf.Tensor2D,
    );
    await warm.hidden.data();
    tf.dispose([warm.hidden, warm.attention]);
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    await encodeInBatches(enc, features, {
      onBatch: (start, done) => {
        if (start % 40 === 0) log(`embedded: ${done}/${features.length} docs`);
      },
    });
    const encMs = performance.now() - t1;
    const cu = process.cpuUsage(c1);
    rows.push({
      name: 'EmbeddedEncoder.encodeAsync (batches of 4)',
      shape: `${limit} docs, ${pieces} pieces (mean ${fmt(pieces / limit)})`,
      ms: encMs,
      cpuMs: (cu.user + cu.system) / 1000,
      rate: `${fmt((limit * 1000) / encMs, 2)} docs/s, ${fmt((pieces * 1000) / encMs)} pieces/s`,
    });
    enc.dispose();
  });
  return { backend, info, rows, ...(errors.length ? { error: errors.join('; ') } : {}) };
}

if (args.child) {
  const result = await runChild(args.child);
  console.log(JSON.stringify(result));
} else {
  const script = fileURLToPath(import.meta.url);
  const results: Result[] = args.backends.map((backend) => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', script, ...argv, '--child', backend], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      return JSON.parse(res.stdout.trim().split('\n').at(-1) ?? '') as Result;
    } catch {
      return {
        backend,
        info: { backend },
        rows: [],
        error: `subprocess exited with ${res.status ?? res.signal}`,
      };
    }
  });
  console.log(
    `Command: \`npx tsx bench/encoders.ts ${argv.join(' ')}\` (${new Date().toISOString().slice(0, 10)})\n`,
  );
  for (const r of results) {
    const i = r.info as BackendInfo;
    console.log(
      `### ${r.backend}${i.adapter ? ` (${i.adapter})` : ''}${i.wasm ? ` (SIMD ${i.wasm.simd}, threads ${i.wasm.threadsCount})` : ''}\n`,
    );
    console.log(
      markdownTable(
        ['case', 'shape', 'wall ms', 'CPU ms', 'throughput (wall)'],
        r.rows.map((row) => [
          row.name,
          row.shape,
          fmt(row.ms),
          row.cpuMs === undefined ? '' : fmt(row.cpuMs),
          row.rate,
        ]),
      ),
    );
    if (r.error) console.log(`\nFailed: ${r.error}`);
    console.log('');
  }
}
