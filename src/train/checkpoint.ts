/**
 * Checkpoint files for resuming training: tensors + string metadata in the safetensors layout
 * (`src/core/safetensors.ts`), written atomically — to `<file>.tmp-<pid>`, flushed to disk, then
 * renamed over the target — so a process killed at any moment leaves either the previous
 * checkpoint or the new one, never a torn file.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../core/errors.js';
import { parseSafetensors, serializeSafetensors, type SafeTensorInput } from '../core/safetensors.js';
import type { AdamW } from './adamw.js';

export interface TensorFile {
  /** Tensors owned by the caller. */
  readonly tensors: Record<string, tf.Tensor>;
  readonly metadata: Record<string, string>;
}

/** Writes `bytes` to `file` atomically (temp file in the same directory, fsync, rename). */
export async function writeFileAtomic(file: string, bytes: Uint8Array | string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
}

/**
 * Saves float32 / int32 tensors and string metadata to `file` atomically.
 *
 * @example
 * await saveTensorFile('run/resume.ckpt', { 'param/0': w }, { state: JSON.stringify({ step: 3 }) });
 */
export async function saveTensorFile(
  file: string,
  tensors: Readonly<Record<string, tf.Tensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> {
  const inputs: Record<string, SafeTensorInput> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'float32' && t.dtype !== 'int32')
      throw new ArgumentError(`tensors[${name}].dtype`, 'float32 or int32', t.dtype);
    inputs[name] = { shape: t.shape, data: (await t.data()) as Float32Array | Int32Array };
  }
  await writeFileAtomic(file, serializeSafetensors(inputs, metadata));
}

/** Loads a file written by `saveTensorFile`; malformed files throw `SafetensorsError` naming the file. */
export async function loadTensorFile(file: string): Promise<TensorFile> {
  const buf = await fs.readFile(file);
  const parsed = parseSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), file);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, t] of parsed.tensors)
    tensors[name] = tf.tensor(t.data, [...t.shape], t.data instanceof Int32Array ? 'int32' : 'float32');
  return { tensors, metadata: parsed.metadata };
}

/**
 * Saves an optimizer's state for the `variables` list (by position: valid in another process that
 * builds the same model), with the variables' values, atomically. For hand-written loops; the
 * `Trainer` writes the same content into its `resume.ckpt`.
 *
 * @example
 * await saveOptimizerState('run/opt.ckpt', opt, model.trainableVariables());
 * // later, in a new process:
 * await loadOptimizerState('run/opt.ckpt', opt, model.trainableVariables());
 */
export async function saveOptimizerState(
  file: string,
  optimizer: AdamW,
  variables: readonly tf.Variable[],
): Promise<void> {
  const { tensors, steps } = optimizer.exportState(variables, 'opt/');
  const all: Record<string, tf.Tensor> = { ...tensors };
  variables.forEach((v, i) => (all[`param/${i}`] = v));
  try {
    await saveTensorFile(file, all, { steps: JSON.stringify(steps), count: String(variables.length) });
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/** Restores `saveOptimizerState`'s file: the variables' values and the optimizer's moments and steps. */
export async function loadOptimizerState(
  file: string,
  optimizer: AdamW,
  variables: readonly tf.Variable[],
): Promise<void> {
  const { tensors, metadata } = await loadTensorFile(file);
  try {
    if (Number(metadata['count']) !== variables.length)
      throw new ArgumentError(`${file} variables`, String(variables.length), metadata['count']);
    variables.forEach((v, i) => {
      const t = tensors[`param/${i}`];
      if (!t || !tf.util.arraysEqual(t.shape, v.shape))
        throw new ArgumentError(`${file} param/${i}`, `shape [${v.shape}]`, t?.shape ?? 'missing');
      v.assign(t);
    });
    optimizer.importState(
      variables,
      tensors,
      JSON.parse(metadata['steps'] ?? '{}') as Record<number, number>,
      'opt/',
    );
  } finally {
    tf.dispose(Object.values(tensors));
  }
}
