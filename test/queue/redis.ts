/**
 * A real `redis-server` for the queue tests: started on a free loopback port (Redis has no
 * `--port 0`, so the port comes from a listening socket that is closed just before), data in a
 * temporary directory, stopped (and the directory removed) by `stop()`. `kill()` + `start()`
 * restart it on the same port and directory (with `appendonly`, the queue survives).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** (re)starts the server on the same port and data directory */
  start(): Promise<void>;
  /** stops the server: `SIGTERM` (Redis writes its data and exits) or `SIGKILL` */
  kill(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** stops the server and removes its data directory */
  stop(): Promise<void>;
}

/** Starts `redis-server` (`appendonly`: the AOF, fsync on every write). */
export async function startRedis(o: { appendonly?: boolean } = {}): Promise<TestRedis> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'docre-redis-'));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--daemonize',
    'no',
  ];
  if (o.appendonly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  const start = async () => {
    const p = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${log}`)), 10000);
      p.stdout!.on('data', (b: Buffer) => {
        log += b.toString();
        if (/Ready to accept connections/.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      });
      p.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot start redis-server (apt-get install redis-server): ${e.message}`));
      });
      p.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${log}`));
      });
    });
    p.stdout!.resume();
    p.stderr!.resume();
  };
  const kill = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    start,
    kill,
    stop: async () => {
      await kill('SIGKILL');
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
