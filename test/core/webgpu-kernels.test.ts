/**
 * src/core/webgpu-kernels.ts: pads of rank 5 and 6 (tfjs 4.22's webgpu Pad shader does not compile
 * above rank 4 and returned zeros) and the gradient of a rank-5 slice (a pad) match cpu on the
 * current backend; `collapsePad` merges unpadded axes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { assertClose, seededTensor, useTestBackend } from '../helpers.js';
import { collapsePad } from '../../src/core/webgpu-kernels.js';
import { bothBackends } from './util.js';

await useTestBackend();

const seeded = seededTensor;

test('collapsePad merges every axis whose inner neighbour is not padded', () => {
  assert.deepEqual(
    collapsePad(
      [2, 3, 3, 3, 5],
      [
        [0, 0],
        [1, 0],
        [0, 0],
        [0, 0],
        [0, 0],
      ],
    ),
    {
      shape: [2, 135],
      paddings: [
        [0, 0],
        [45, 0],
      ],
    },
  );
  assert.deepEqual(
    collapsePad(
      [2, 3, 4],
      [
        [1, 1],
        [0, 0],
        [2, 0],
      ],
    ),
    {
      shape: [6, 4],
      paddings: [
        [3, 3],
        [2, 0],
      ],
    },
  );
});

test('pad of rank 5 / 6 and the gradient of a rank-5 slice match cpu', async () => {
  const { here, cpu } = await bothBackends(() => {
    const x = seeded([2, 3, 3, 3, 5], 81);
    const w = seeded([2, 2, 3, 3, 5], 82);
    return [
      tf.pad(x, [
        [0, 0],
        [1, 0],
        [0, 0],
        [0, 0],
        [0, 0],
      ]),
      tf.pad(seeded([2, 2, 2, 2, 2, 3], 83), [
        [0, 0],
        [0, 0],
        [0, 0],
        [1, 2],
        [0, 0],
        [0, 0],
      ]),
      tf.pad(
        x,
        [
          [0, 1],
          [0, 0],
          [0, 0],
          [0, 0],
          [2, 0],
        ],
        0.5,
      ),
      ...tf.grads((t: tf.Tensor) => tf.slice(t, [0, 1, 0, 0, 0], [2, 2, 3, 3, 5]).mul(w).sum())([x]),
    ];
  });
  assert.equal(here.length, 4);
  here.forEach((h, i) => assertClose(h, cpu[i]!, 0, 0, `output ${i}`));
});
