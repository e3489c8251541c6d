/**
 * Checkpoint files for resuming training: one file in the safetensors layout (8-byte little-endian
 * header length, JSON header `{name: {dtype, shape, data_offsets}, __metadata__: {…}}`, raw
 * little-endian data), written atomically — to `<file>.tmp-<pid>`, flushed, then renamed over the
 * target — so a process killed at any moment leaves either the previous checkpoint or the new one.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../core/errors.js';

const DTYPES = { float32: 'F32', int32: 'I32' } as const;

export interface TensorFile {
  readonly tensors: Record<string, tf.Tensor>;
  readonly metadata: Record<string, string>;
}

/** Encodes tensors (float32 / int32) and string metadata into safetensors bytes. */
export async function encodeTensorFile(
  tensors: Readonly<Record<string, tf.Tensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Promise<Uint8Array> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const dtype = DTYPES[t.dtype as keyof typeof DTYPES];
    if (!dtype) throw new ArgumentError(`tensors[${name}].dtype`, 'float32 or int32', t.dtype);
    const data = await t.data();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // align the data section
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  let at = 8 + head.byteLength;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Decodes safetensors bytes (F32 / I32 only) into tensors the caller owns. */
export function decodeTensorFile(bytes: Uint8Array, what = 'checkpoint'): TensorFile {
  if (bytes.byteLength < 8) throw new ArgumentError(what, 'a safetensors file', `${bytes.byteLength} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > bytes.byteLength) throw new ArgumentError(what, 'a safetensors file', 'a truncated header');
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new ArgumentError(what, 'a safetensors file', 'an unparsable header');
  }
  const base = 8 + n;
  const tensors: Record<string, tf.Tensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, h] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = h as unknown as Record<string, string>;
      continue;
    }
    const [a, b] = h.data_offsets;
    if (base + b > bytes.byteLength) throw new ArgumentError(`${what}[${name}]`, 'data inside the file', 'truncated data');
    const raw = bytes.slice(base + a, base + b);
    if (h.dtype === 'F32') tensors[name] = tf.tensor(new Float32Array(raw.buffer), h.shape, 'float32');
    else if (h.dtype === 'I32') tensors[name] = tf.tensor(new Int32Array(raw.buffer), h.shape, 'int32');
    else throw new ArgumentError(`${what}[${name}].dtype`, 'F32 or I32', h.dtype);
  }
  return { tensors, metadata };
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

/** Saves tensors + metadata to `file` atomically. */
export async function saveTensorFile(
  file: string,
  tensors: Readonly<Record<string, tf.Tensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> {
  await writeFileAtomic(file, await encodeTensorFile(tensors, metadata));
}

/** Loads a file written by `saveTensorFile`; the caller owns the tensors. */
export async function loadTensorFile(file: string): Promise<TensorFile> {
  return decodeTensorFile(new Uint8Array(await fs.readFile(file)), file);
}
