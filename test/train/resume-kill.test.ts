/**
 * Kill mid-epoch and resume: a child process trains the toy model with checkpoints every 2
 * steps and is SIGKILLed in epoch 2 after step 5 (one step after the checkpoint at step 4, so that
 * step is lost and must be redone); a second process resumes from `resume.ckpt`. Its final weights
 * must equal those of an uninterrupted run in a third process, bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = 'test/train/train-script.ts';

function run(
  args: string[],
  onLine?: (line: string, kill: () => void) => void,
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: root,
      env: process.env,
    });
    let stderr = '';
    let buf = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) onLine?.(l, () => child.kill('SIGKILL'));
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

test(
  'SIGKILL mid-epoch, resume, same final weights as an uninterrupted run',
  { timeout: 120_000 },
  async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'docre-kill-'));
    const killed = path.join(dir, 'killed');
    const straight = path.join(dir, 'straight');
    let seen = '';
    const first = await run(['--out', killed, '--hang-after', '5'], (line, kill) => {
      seen = line;
      kill();
    });
    assert.equal(first.signal, 'SIGKILL', first.stderr);
    assert.equal(seen, 'checkpointed false 5'); // step 5 ran but was not checkpointed
    assert.deepEqual(await fs.readdir(killed), ['resume.ckpt']);

    const resumed = await run(['--out', killed, '--resume', '--weights-out', path.join(dir, 'resumed.json')]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const uninterrupted = await run(['--out', straight, '--weights-out', path.join(dir, 'straight.json')]);
    assert.equal(uninterrupted.code, 0, uninterrupted.stderr);

    const a = JSON.parse(await fs.readFile(path.join(dir, 'resumed.json'), 'utf8'));
    const b = JSON.parse(await fs.readFile(path.join(dir, 'straight.json'), 'utf8'));
    assert.equal(a.resumed, true);
    assert.equal(b.resumed, false);
    assert.equal(a.steps, 9);
    assert.deepEqual({ w: a.w, c: a.c }, { w: b.w, c: b.c });
    await fs.rm(dir, { recursive: true });
  },
);
