/**
 * src/core/errors.ts: ShapeError / ArgumentError messages name the argument, the expected and the
 * actual shape or value; checkShape binds letters across arguments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError, ShapeError, checkShape } from '../../src/core/errors.js';
import { useTestBackend } from '../helpers.js';

await useTestBackend();

test('ShapeError names argument, expected and actual shape', () => {
  const e = new ShapeError('mentionIndex', '[b, e, m]', [2, 3]);
  assert.equal(e.name, 'ShapeError');
  assert.equal(e.message, 'mentionIndex: expected shape [b, e, m], got [2, 3]');
  assert.deepEqual([e.argument, e.expected, e.actual], ['mentionIndex', '[b, e, m]', [2, 3]]);
  assert.ok(e instanceof Error);
  assert.equal(new ShapeError('x', 'float32', 'int32').message, 'x: expected shape float32, got int32');
});

test('ArgumentError quotes the value received', () => {
  assert.equal(
    new ArgumentError('blockSize', 'a divisor of d = 768', 100).message,
    'blockSize: expected a divisor of d = 768, got 100',
  );
  assert.equal(
    new ArgumentError('strategy', "'context' | 'gated'", 'ctx').message,
    `strategy: expected 'context' | 'gated', got "ctx"`,
  );
  assert.equal(
    new ArgumentError('opts', 'an object', { topK: -1 }).message,
    'opts: expected an object, got {"topK":-1}',
  );
  assert.equal(new ArgumentError('x', 'a number', undefined).message, 'x: expected a number, got undefined');
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  assert.match(
    new ArgumentError('c', 'acyclic', cyclic).message,
    /^c: expected acyclic, got \[object Object\]$/,
  );
  assert.equal(new ArgumentError('a', 'b', 1).name, 'ArgumentError');
});

test('checkShape: exact numbers, bound letters, wildcards, rank', () => {
  const dims = checkShape('hidden', [2, 5, 8], ['b', 'n', 'd']);
  assert.deepEqual(dims, { b: 2, n: 5, d: 8 });
  assert.deepEqual(checkShape('mask', [2, 5], ['b', 'n'], dims), { b: 2, n: 5, d: 8 });
  checkShape('any', [7, 3], [null, 3]);
  assert.throws(() => checkShape('mask', [3, 5], ['b', 'n'], { b: 2 }), {
    name: 'ShapeError',
    message: 'mask: expected shape [b, n] with b = 2, got [3, 5]',
  });
  assert.throws(() => checkShape('kernel', [4, 6], [4, 5]), {
    message: 'kernel: expected shape [4, 5] (dim 1 = 5), got [4, 6]',
  });
  assert.throws(() => checkShape('x', [1, 2, 3], ['b', 'n']), {
    message: 'x: expected shape [b, n], got [1, 2, 3]',
  });
  assert.throws(() => checkShape('x', [4], [null, null]), { message: 'x: expected shape [*, *], got [4]' });
  // the same letter twice in one pattern must agree
  assert.throws(
    () => checkShape('pairMask', [1, 3, 4], ['b', 'e', 'e']),
    /pairMask: expected shape \[b, e, e\] with e = 3, got \[1, 3, 4\]/,
  );
});
