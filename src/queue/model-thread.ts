/**
 * The model in a worker thread. TensorFlow.js on cpu / wasm computes synchronously (even its
 * `data()` promises resolve as microtasks), so a model in the worker's own thread starves the
 * event loop for the length of a job: BullMQ cannot renew the job's lock, and the job looks like
 * a dead worker's (another worker starts it again). Here the `Extractor` is loaded once in a
 * `worker_threads` thread and the main thread only passes records in and results out, so lock
 * renewal, stalled-job checks and SIGTERM handling run on time whatever the model does.
 *
 * This file is both sides: imported, it exports `startModelThread`; run as the thread (marked by
 * its `workerData`), it serves `extract` requests.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { ExtractorOptions } from '../extract/extractor.js';
import type { ExtractResult, InputRecord } from '../extract/types.js';
import type { JobProcessor } from './run.js';

type Request = { readonly id: number; readonly records: readonly InputRecord[] };
type Reply =
  | { readonly type: 'ready'; readonly ms: number }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly id: number; readonly results?: ExtractResult[]; readonly error?: string };

const MARK = 'docre-kit model thread';

export interface ModelThread {
  /** runs the model in the thread; rejects with the model's error (the job is then retried) */
  readonly processor: JobProcessor;
  /** time to load the model, ms */
  readonly loadMs: number;
  close(): Promise<void>;
}

/** Starts the thread and loads the model in it; rejects with the load error (one line). */
export async function startModelThread(o: ExtractorOptions): Promise<ModelThread> {
  const self = import.meta.url;
  const data = { mark: MARK, options: o };
  // under tsx (tests, `node --import tsx src/cli/main.ts`) a thread does not inherit the loader
  const thread = self.endsWith('.ts')
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.register()).then(() => import(${JSON.stringify(self)}))`,
        { eval: true, workerData: data },
      )
    : new Worker(new URL(self), { workerData: data });
  const pending = new Map<number, { resolve: (r: ExtractResult[]) => void; reject: (e: Error) => void }>();
  let dead: Error | undefined;
  let next = 0;
  const loadMs = await new Promise<number>((resolve, reject) => {
    thread.on('message', (m: Reply) => {
      if ('type' in m) return m.type === 'ready' ? resolve(m.ms) : reject(new Error(m.message));
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.results!);
    });
    const die = (e: Error) => {
      dead ??= e;
      reject(e);
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    };
    thread.on('error', (e) => die(new Error(`model thread: ${e.message}`)));
    thread.on('exit', (code) => die(new Error(`model thread exited (code ${code})`)));
  });
  return {
    loadMs,
    processor: (records) =>
      new Promise((resolve, reject) => {
        if (dead) return reject(dead);
        const id = next++;
        pending.set(id, { resolve, reject });
        thread.postMessage({ id, records } satisfies Request);
      }),
    close: async () => {
      await thread.terminate();
    },
  };
}

/** The thread's side: load once, then answer each request with the results or the error's message. */
async function serve(o: ExtractorOptions): Promise<void> {
  const port = parentPort!;
  const t0 = performance.now();
  let extractor;
  try {
    const { Extractor } = await import('../extract/extractor.js');
    extractor = await Extractor.load(o);
  } catch (e) {
    port.postMessage({ type: 'failed', message: (e as Error).message } satisfies Reply);
    return;
  }
  const ex = extractor;
  port.on('message', (req: Request) => {
    ex.extract(req.records).then(
      (results) => port.postMessage({ id: req.id, results } satisfies Reply),
      (e: unknown) =>
        port.postMessage({ id: req.id, error: (e as Error).message ?? String(e) } satisfies Reply),
    );
  });
  port.postMessage({ type: 'ready', ms: performance.now() - t0 } satisfies Reply);
}

if (!isMainThread && (workerData as { mark?: string } | null)?.mark === MARK)
  await serve((workerData as { options: ExtractorOptions }).options);
