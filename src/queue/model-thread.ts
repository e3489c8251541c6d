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
import { serveThread, startThread, threadData } from '../core/threads.js';
import type { ExtractorOptions } from '../extract/extractor.js';
import type { ExtractResult, InputRecord } from '../extract/types.js';
import type { JobProcessor } from './run.js';

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
  const thread = await startThread<readonly InputRecord[], ExtractResult[]>(import.meta.url, MARK, o);
  return { loadMs: thread.loadMs, processor: (records) => thread.call(records), close: () => thread.close() };
}

const options = threadData<ExtractorOptions>(MARK);
if (options)
  await serveThread(
    async () => (await import('../extract/extractor.js')).Extractor.load(options),
    (extractor, records: readonly InputRecord[]) => extractor.extract(records),
  );
