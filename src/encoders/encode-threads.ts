/**
 * Documents encoded in parallel: `startEncodeThreads` starts `count` worker threads, each with its
 * own backend (one wasm thread, or cpu) and its own copy of a frozen encoder (the embedded one, or
 * a Hugging Face directory), and returns the `EncodePool` that `cacheFeatures` sends whole batches
 * to. Documents are independent, so two threads on two cores encode about twice as fast as one
 * (bench/threads.ts), and the cache file is the same, byte for byte, as one thread's on the same
 * backend (test/encoders/encode-threads.test.ts).
 *
 * @example
 * const pool = await startEncodeThreads({ count: 2 }); // the embedded encoder, wasm
 * try {
 *   await cacheFeatures(docs, await EmbeddedEncoder.load(), { dir: '.cache/features', pool });
 * } finally {
 *   await pool.close();
 * }
 */
import type { TransferListItem } from 'node:worker_threads';
import { ArgumentError } from '../core/errors.js';
import { serveThread, startThread, threadData, type ServiceThread } from '../core/threads.js';
import type { CacheDocument, CacheEntries, EncodePool, GroupOptions } from './cache.js';
import type { Encoder } from './encoder.js';

const MARK = 'docre-kit encoder thread';

/** What each thread loads. */
export interface EncodeThreadsOptions {
  /** threads (≥ 1) */
  readonly count: number;
  /** a Hugging Face directory; absent: the embedded encoder */
  readonly encoderDir?: string;
  /** each thread's backend. Default 'wasm' (one thread each). */
  readonly backend?: 'wasm' | 'cpu';
}

type Request = { readonly docs: readonly CacheDocument[]; readonly start: number; readonly o: GroupOptions };

/** Starts the threads (in parallel) and loads the encoder in each; rejects with the first load error. */
export async function startEncodeThreads(
  o: EncodeThreadsOptions,
): Promise<EncodePool & { close(): Promise<void> }> {
  if (!(Number.isInteger(o.count) && o.count >= 1))
    throw new ArgumentError('count', 'a positive integer', o.count);
  const recipe = { encoderDir: o.encoderDir, backend: o.backend ?? 'wasm' };
  const started = await Promise.allSettled(
    Array.from({ length: o.count }, () => startThread<Request, CacheEntries>(import.meta.url, MARK, recipe)),
  );
  const threads = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(threads.map((t) => t.close()));
    throw new ArgumentError(
      'encoder threads',
      'the encoder loaded in every thread',
      (failed.reason as Error).message,
    );
  }
  const free: ServiceThread<Request, CacheEntries>[] = [...threads];
  const waiting: ((t: ServiceThread<Request, CacheEntries>) => void)[] = [];
  const acquire = () =>
    new Promise<ServiceThread<Request, CacheEntries>>((resolve) => {
      const t = free.pop();
      if (t) resolve(t);
      else waiting.push(resolve);
    });
  const release = (t: ServiceThread<Request, CacheEntries>) => {
    const w = waiting.shift();
    if (w) w(t);
    else free.push(t);
  };
  return {
    size: threads.length,
    encode: async (docs, start, go) => {
      const t = await acquire();
      try {
        return await t.call({ docs, start, o: go });
      } finally {
        release(t);
      }
    },
    close: async () => {
      await Promise.all(threads.map((t) => t.close()));
    },
  };
}

const recipe = threadData<{ encoderDir?: string; backend: 'wasm' | 'cpu' }>(MARK);
if (recipe)
  await serveThread(
    async (): Promise<Encoder> => {
      const { initBackend } = await import('../core/backend.js');
      await initBackend(recipe.backend, { threads: 1 });
      const { loadEncoder } = await import('./load.js');
      return loadEncoder(recipe.encoderDir, { trainable: false });
    },
    async (encoder, r: Request) => (await import('./cache.js')).encodeGroup(encoder, r.docs, r.start, r.o),
    (result) =>
      result.entries
        .map(([, t]) => t.data.buffer)
        .filter((b): b is ArrayBuffer => b instanceof ArrayBuffer) as TransferListItem[],
  );
