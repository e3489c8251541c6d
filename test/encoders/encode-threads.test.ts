/**
 * Documents encoded in worker threads (`startEncodeThreads` + `cacheFeatures({ pool })`): the
 * cache file written by two threads is the file one thread writes, byte for byte (the same batches
 * on the same backend, stored in document order), and on wasm the file the calling thread writes
 * without a pool. A directory that holds no encoder is one clear error, and no thread is left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import { useTestBackend, BACKEND } from '../helpers.js';
import { EmbeddedEncoder } from '../../src/encoders/embedded.js';
import { cacheFeatures } from '../../src/encoders/cache.js';
import { startEncodeThreads } from '../../src/encoders/encode-threads.js';
import { readDocRED } from '../../src/data/docred.js';
import { tempDir } from './hf-dir.js';

await useTestBackend();

const enc = await EmbeddedEncoder.load();
const redocred = E.getOrElseW((e: unknown) => {
  throw new Error(String(e));
})(
  readDocRED(
    await readFile(new URL('../../../shared/data/re-docred/dev_revised.json', import.meta.url), 'utf8'),
  ),
);
// 7 documents of different lengths (first sentences), in batches of 2: 4 batches, the last a single document
const docs = redocred.slice(0, 7).map((d, i) => {
  const ids = enc.tokenizer.encode(
    d.sents
      .slice(0, 1 + (i % 3))
      .flat()
      .join(' '),
  ).ids;
  return { inputIds: ids, queryPositions: [0, Math.floor(ids.length / 3), ids.length - 1] };
});

test(
  'two encoder threads write the cache file of one thread, byte for byte',
  { timeout: 120_000 },
  async () => {
    const files: Buffer[] = [];
    let progress: number[] = [];
    for (const count of [1, 2]) {
      const dir = await tempDir(`threads-${count}`);
      const pool = await startEncodeThreads({ count });
      try {
        assert.equal(pool.size, count);
        progress = [];
        const info = await cacheFeatures(docs, enc, {
          dir,
          batchSize: 2,
          dtype: 'F32',
          pool,
          onProgress: (d) => progress.push(d),
        });
        assert.equal(info.count, 7);
        files.push(await readFile(info.file));
      } finally {
        await pool.close();
        await rm(dir, { recursive: true });
      }
    }
    assert.equal(progress.at(-1), 7, `progress ${progress.join(', ')}`);
    assert.equal(progress.length, 4);
    assert.ok(files[0]!.equals(files[1]!), 'the 2-thread file differs from the 1-thread file');
    if (BACKEND === 'wasm') {
      // the threads run wasm too: the calling thread's own file is the same
      const dir = await tempDir('threads-none');
      const info = await cacheFeatures(docs, enc, { dir, batchSize: 2, dtype: 'F32' });
      assert.ok(
        (await readFile(info.file)).equals(files[0]!),
        'the pool file differs from the calling thread’s',
      );
      await rm(dir, { recursive: true });
    }
  },
);

test('encoder threads: a directory without an encoder is one clear error', { timeout: 60_000 }, async () => {
  const dir = await tempDir('no-encoder');
  await assert.rejects(
    startEncodeThreads({ count: 2, encoderDir: dir }),
    (e: Error) =>
      /encoder threads: expected the encoder loaded in every thread/.test(e.message) &&
      e.message.includes(dir),
  );
  await assert.rejects(startEncodeThreads({ count: 0 }), /count: expected a positive integer/);
  await rm(dir, { recursive: true });
});
