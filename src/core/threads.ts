/**
 * Request / reply threads on `worker_threads`, for work that must leave the calling thread (a
 * model that would starve the event loop, documents encoded on the other cores). A module is both
 * sides: imported, the caller starts it with `startThread(import.meta.url, mark, data)`; run as
 * the thread (its `workerData` carries `mark`), the module calls `serveThread(load, handle)`,
 * which loads its state once and answers each request. Under tsx (tests, `node --import tsx`) a
 * thread does not inherit the loader: `startThread` registers it first.
 *
 * @example
 * // in encode-threads.ts, the thread's side:
 * const data = threadData<Recipe>(MARK);
 * if (data) await serveThread(() => load(data), (state, request) => work(state, request));
 * // the caller's side:
 * const t = await startThread<Request, Result>(import.meta.url, MARK, recipe);
 * const result = await t.call(request);
 */
import { Worker, isMainThread, parentPort, workerData, type TransferListItem } from 'node:worker_threads';

type Reply<R> =
  | { readonly type: 'ready'; readonly ms: number }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly id: number; readonly result?: R; readonly error?: string };

export interface ServiceThread<Q, R> {
  /** time the thread took to load its state, ms */
  readonly loadMs: number;
  /** one request; rejects with the thread's error message, or when the thread died */
  call(request: Q, transfer?: readonly TransferListItem[]): Promise<R>;
  close(): Promise<void>;
}

/** Starts `moduleUrl` as a thread serving `mark` with `data`; resolves once it has loaded (rejects with its load error). */
export async function startThread<Q, R>(
  moduleUrl: string,
  mark: string,
  data: unknown,
): Promise<ServiceThread<Q, R>> {
  const workerData = { mark, data };
  const thread = moduleUrl.endsWith('.ts')
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.register()).then(() => import(${JSON.stringify(moduleUrl)}))`,
        { eval: true, workerData },
      )
    : new Worker(new URL(moduleUrl), { workerData });
  const pending = new Map<number, { resolve: (r: R) => void; reject: (e: Error) => void }>();
  let dead: Error | undefined;
  let next = 0;
  const loadMs = await new Promise<number>((resolve, reject) => {
    thread.on('message', (m: Reply<R>) => {
      if ('type' in m) return m.type === 'ready' ? resolve(m.ms) : reject(new Error(m.message));
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.result!);
    });
    const die = (e: Error) => {
      dead ??= e;
      reject(e);
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    };
    thread.on('error', (e) => die(new Error(`${mark}: ${e.message}`)));
    thread.on('exit', (code) => die(new Error(`${mark} exited (code ${code})`)));
  });
  return {
    loadMs,
    call: (request, transfer = []) =>
      new Promise((resolve, reject) => {
        if (dead) return reject(dead);
        const id = next++;
        pending.set(id, { resolve, reject });
        thread.postMessage({ id, request }, transfer);
      }),
    close: async () => {
      await thread.terminate();
    },
  };
}

/** In a thread started for `mark`: its data; anywhere else: undefined. */
export function threadData<T>(mark: string): T | undefined {
  if (isMainThread) return undefined;
  const w = workerData as { mark?: string; data?: T } | null;
  return w?.mark === mark ? w.data : undefined;
}

/**
 * The thread's side: `load` once (its error is the caller's `startThread` rejection), then answer
 * each request with `handle`'s result (its `transfer` buffers moved, not copied) or its error.
 */
export async function serveThread<S, Q, R>(
  load: () => Promise<S>,
  handle: (state: S, request: Q) => Promise<R>,
  transfer: (result: R) => TransferListItem[] = () => [],
): Promise<void> {
  const port = parentPort!;
  const t0 = performance.now();
  let state: S;
  try {
    state = await load();
  } catch (e) {
    port.postMessage({ type: 'failed', message: (e as Error).message } satisfies Reply<R>);
    return;
  }
  port.on('message', ({ id, request }: { id: number; request: Q }) => {
    handle(state, request).then(
      (result) => port.postMessage({ id, result } satisfies Reply<R>, transfer(result)),
      (e: unknown) => port.postMessage({ id, error: (e as Error).message ?? String(e) } satisfies Reply<R>),
    );
  });
  port.postMessage({ type: 'ready', ms: performance.now() - t0 } satisfies Reply<R>);
}
