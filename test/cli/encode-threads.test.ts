/**
 * `docre-kit train --threads 2` encodes the feature cache in two encoder threads (documents in
 * parallel): the cache file is the one `--threads 1` writes, byte for byte, and the run trains.
 * Each command runs in a child process of its own (the wasm thread count is fixed per process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test(
  'train --threads 2: the features encoded in two threads are the one-thread file',
  { timeout: 300_000 },
  async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'docre-cli-threads-'));
    const docs = JSON.parse(
      await fs.readFile(path.join(root, 'assets/re-docred/dev_revised.json'), 'utf8'),
    ) as unknown[];
    await fs.writeFile(path.join(dir, 'train.json'), JSON.stringify(docs.slice(0, 6)));
    const files: Buffer[] = [];
    for (const threads of ['1', '2']) {
      const cache = path.join(dir, `cache-${threads}`);
      const r = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'train',
          '--model',
          'atlop',
          '--train',
          path.join(dir, 'train.json'),
          '--epochs',
          '1',
          '--batch-size',
          '3',
          '--threads',
          threads,
          '--cache',
          cache,
          '--out',
          path.join(dir, `run-${threads}`),
          '--config',
          '{"embSize":16,"blockSize":4}',
        ],
        { cwd: root, encoding: 'utf8' }, // --threads wins over DOCRE_THREADS
      );
      assert.equal(r.status, 0, r.stderr);
      const how = threads === '2' ? ' by 2 encoder threads' : '';
      assert.match(r.stderr, new RegExp(`features of .*train\\.json: encoded in [\\d.]+ s${how} \\(`));
      const names = await fs.readdir(cache);
      assert.equal(names.length, 1, names.join(', '));
      files.push(await fs.readFile(path.join(cache, names[0]!)));
    }
    assert.ok(files[0]!.equals(files[1]!), 'the --threads 2 features differ from --threads 1');
    await fs.rm(dir, { recursive: true });
  },
);
