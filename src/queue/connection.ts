/**
 * Where the queue lives: a `redis://[user:password@]host:port[/db]` URL turned into BullMQ's
 * connection options, a fast reachability check (one line naming the URL when Redis is not
 * there, instead of BullMQ reconnecting forever), and the small hash that records a run's size.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { RunMeta } from './run.js';

/** Which queue: the Redis URL, the BullMQ queue name and key prefix. */
export interface QueueAddress {
  readonly redis: string;
  readonly queue: string;
  /** BullMQ key prefix (default `bull`); `{name}` puts a queue in one Redis Cluster slot */
  readonly prefix?: string;
}

/** `redis://…` → ioredis options; throws one line naming the URL when it is not one. */
export function redisOptions(url: string): {
  host: string;
  port: number;
  db?: number;
  username?: string;
  password?: string;
} {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--redis '${url}' is not a URL (expected redis://host:port)`);
  }
  if (u.protocol !== 'redis:')
    throw new Error(`--redis '${url}' must start with redis:// (got ${u.protocol})`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  if (db !== undefined && !Number.isInteger(db))
    throw new Error(`--redis '${url}': database '${u.pathname.slice(1)}' is not a number`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port,
    ...(db !== undefined ? { db } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

/** BullMQ connection options for `url` (reconnects forever once connected: workers ride out a restart). */
export function connectionOf(url: string): ConnectionOptions {
  return redisOptions(url);
}

/**
 * Resolves when Redis answers PING within `timeoutMs`; otherwise throws
 * `cannot reach Redis at redis://…: <reason>`.
 */
export async function checkRedis(url: string, timeoutMs = 3000): Promise<void> {
  const client = new Redis({
    ...redisOptions(url),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let cause: { code?: string; message?: string } | undefined; // the socket's error, not ioredis' "Connection is closed"
  client.on('error', (e: { code?: string; message?: string }) => (cause ??= e));
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const err = cause ?? (e as { code?: string; message?: string });
    throw new Error(`cannot reach Redis at ${url}: ${err.code ?? err.message ?? String(e)}`);
  } finally {
    client.disconnect();
  }
}

/** Opens the BullMQ queue at `a` after checking that Redis answers. */
export async function openQueue(a: QueueAddress): Promise<Queue> {
  await checkRedis(a.redis);
  const queue = new Queue(a.queue, {
    connection: connectionOf(a.redis),
    ...(a.prefix ? { prefix: a.prefix } : {}),
  });
  queue.on('error', () => {}); // reconnection noise; commands still reject on real failures
  return queue;
}

/** The key of a run's metadata hash, next to the queue's own keys (same Cluster slot under `{prefix}`). */
export function runKey(queue: Queue, run: string): string {
  return queue.toKey(`docre-run:${run}`);
}

export async function writeRunMeta(queue: Queue, meta: RunMeta): Promise<void> {
  const client = await queue.getBackend().client;
  await client.hset(runKey(queue, meta.run), { ...meta });
}

/** A run's metadata, or undefined when the producer has not finished enqueueing it. */
export async function readRunMeta(queue: Queue, run: string): Promise<RunMeta | undefined> {
  const client = await queue.getBackend().client;
  const h = await client.hgetall(runKey(queue, run));
  if (!h || h['jobs'] === undefined) return undefined;
  return {
    run: h['run']!,
    file: h['file'] ?? '',
    digest: h['digest'] ?? '',
    documents: Number(h['documents']),
    bad: Number(h['bad']),
    jobs: Number(h['jobs']),
    jobSize: Number(h['jobSize']),
    created: Number(h['created']),
  };
}
