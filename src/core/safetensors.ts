/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors, format section).
 *
 * Layout: `u64 LE N` · `N bytes of UTF-8 JSON header` · byte buffer. The header maps each tensor
 * name to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the byte buffer) and may
 * hold `"__metadata__": {string: string}`. Values are little-endian, row-major.
 *
 * Reading decodes floating dtypes (F64, F32, F16, BF16) to `Float32Array` and integer dtypes
 * (I64, I32, I16, I8, U8, BOOL) to `Int32Array` (I64 values outside the int32 range are an error).
 * Every malformed header is a `SafetensorsError` naming the file and, when it applies, the tensor:
 * truncated file, header length beyond the file, non-JSON header, unknown dtype, byte count that
 * does not match the shape, offsets outside the buffer, overlapping tensors, holes in the buffer.
 *
 * Writing stores Float32Array data as F32 (or F16 / BF16 when asked) and Int32Array data as I32,
 * with the header padded by spaces to a multiple of 8 bytes, as the reference writer does.
 *
 * @example
 * const bytes = serializeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } });
 * const { tensors } = parseSafetensors(bytes, 'model.safetensors');
 * tensors.get('w')!.data; // Float32Array [1, 2]
 */

/** dtypes this module reads; the writer produces F32, F16, BF16 and I32. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafetensorsDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** A decoded tensor: float dtypes become Float32Array, integer dtypes Int32Array. */
export interface SafeTensor {
  /** dtype as stored in the file. */
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

/** A tensor to write. `dtype` defaults to F32 for Float32Array and I32 for Int32Array. */
export interface SafeTensorInput {
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
  readonly dtype?: 'F32' | 'F16' | 'BF16' | 'I32';
}

export interface SafetensorsFile {
  /** tensors in header order */
  readonly tensors: Map<string, SafeTensor>;
  readonly metadata: Record<string, string>;
}

/** A malformed safetensors file. `file` and `tensor` say where. */
export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  constructor(
    readonly file: string,
    readonly tensor: string | undefined,
    problem: string,
  ) {
    super(`safetensors ${file}${tensor === undefined ? '' : `, tensor "${tensor}"`}: ${problem}`);
  }
}

/** Headers larger than this are rejected (the reference implementation uses the same limit). */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Parses a safetensors byte array.
 * @param bytes the whole file
 * @param file name used in error messages
 */
export function parseSafetensors(bytes: Uint8Array, file = '<buffer>'): SafetensorsFile {
  const fail = (problem: string, tensor?: string): never => {
    throw new SafetensorsError(file, tensor, problem);
  };
  if (bytes.byteLength < 8) fail(`truncated: ${bytes.byteLength} bytes, the 8-byte header length is missing`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.byteLength)
    fail(`truncated: header length ${headerLen} but only ${bytes.byteLength - 8} bytes follow`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const bufferStart = 8 + headerLen;
  const bufferLen = bytes.byteLength - bufferStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null) fail('entry is not an object', name);
    const dtype = info.dtype as SafetensorsDType;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES))
      fail(`unknown dtype ${JSON.stringify(info.dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`, name);
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0))
      fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`, name);
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0))
      fail(`data_offsets ${JSON.stringify(offs)} is not [begin, end]`, name);
    const [begin, end] = offs as [number, number];
    if (end < begin) fail(`data_offsets [${begin}, ${end}]: end before begin`, name);
    if (end > bufferLen) fail(`data_offsets [${begin}, ${end}] lie outside the ${bufferLen}-byte buffer`, name);
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    const want = numel * DTYPE_BYTES[dtype];
    if (end - begin !== want)
      fail(`data_offsets [${begin}, ${end}] hold ${end - begin} bytes, shape [${shape}] of ${dtype} needs ${want}`, name);
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  // tensors must tile the buffer: sorted by offset, no overlap, no hole, nothing after the last
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev: string | undefined;
  for (const e of sorted) {
    if (e.begin < cursor) fail(`data_offsets [${e.begin}, ${e.end}] overlap tensor "${prev}" (ends at ${cursor})`, e.name);
    if (e.begin > cursor) fail(`hole in the byte buffer: bytes [${cursor}, ${e.begin}) belong to no tensor`, e.name);
    cursor = e.end;
    prev = e.name;
  }
  if (cursor !== bufferLen) fail(`byte buffer has ${bufferLen - cursor} trailing bytes that belong to no tensor`);
  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) {
    const data = decode(bytes.subarray(bufferStart + e.begin, bufferStart + e.end), e.dtype, () =>
      fail('I64 value outside the int32 range', e.name),
    );
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function decode(raw: Uint8Array, dtype: SafetensorsDType, overflow: () => never): Float32Array | Int32Array {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const size = raw.byteLength / DTYPE_BYTES[dtype];
  switch (dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN) return new Float32Array(raw.slice().buffer); // copy: aligned, owned
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = v.getFloat32(4 * i, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = v.getFloat64(8 * i, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = float16ToFloat32(v.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(size);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < size; i++) u[i] = v.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'I64': {
      const out = new Int32Array(size);
      for (let i = 0; i < size; i++) {
        const x = v.getBigInt64(8 * i, true);
        if (x > 2147483647n || x < -2147483648n) overflow();
        out[i] = Number(x);
      }
      return out;
    }
    case 'I32': {
      if (LITTLE_ENDIAN) return new Int32Array(raw.slice().buffer);
      const out = new Int32Array(size);
      for (let i = 0; i < size; i++) out[i] = v.getInt32(4 * i, true);
      return out;
    }
    case 'I16': {
      const out = new Int32Array(size);
      for (let i = 0; i < size; i++) out[i] = v.getInt16(2 * i, true);
      return out;
    }
    case 'I8':
      return Int32Array.from(new Int8Array(raw.buffer, raw.byteOffset, size));
    case 'U8':
    case 'BOOL':
      return Int32Array.from(raw);
  }
}

/**
 * Serializes tensors (in the given order) to safetensors bytes.
 * @param tensors name → {shape, data, dtype?}
 * @param metadata optional string → string map stored as `__metadata__`
 */
export function serializeSafetensors(
  tensors: Readonly<Record<string, SafeTensorInput>> | ReadonlyMap<string, SafeTensorInput>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const list: [string, SafeTensorInput][] =
    tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, SafeTensorInput>);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    const dtype = t.dtype ?? (t.data instanceof Int32Array ? 'I32' : 'F32');
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length)
      throw new SafetensorsError('<write>', name, `shape [${t.shape}] has ${numel} elements, data has ${t.data.length}`);
    if ((dtype === 'I32') !== (t.data instanceof Int32Array))
      throw new SafetensorsError('<write>', name, `dtype ${dtype} does not match ${t.data.constructor.name}`);
    const bytes = encode(t.data, dtype);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  const headerBytesLen = new TextEncoder().encode(json).byteLength;
  json += ' '.repeat((8 - ((8 + headerBytesLen) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.byteLength;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.byteLength;
  }
  return out;
}

function encode(data: Float32Array | Int32Array, dtype: 'F32' | 'F16' | 'BF16' | 'I32'): Uint8Array {
  const size = data.length;
  const width = DTYPE_BYTES[dtype];
  const out = new Uint8Array(size * width);
  const v = new DataView(out.buffer);
  for (let i = 0; i < size; i++) {
    const x = data[i]!;
    if (dtype === 'F32') v.setFloat32(4 * i, x, true);
    else if (dtype === 'I32') v.setInt32(4 * i, x, true);
    else if (dtype === 'F16') v.setUint16(2 * i, float32ToFloat16(x), true);
    else v.setUint16(2 * i, float32ToBFloat16(x), true);
  }
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits → number. */
export function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** number → IEEE half-precision bits, round to nearest even; overflow gives ±Infinity. */
export function float32ToFloat16(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // may carry into the exponent: still correct
  if (half >= 0x7c00) return sign | 0x7c00;
  return sign | half;
}

/** number → bfloat16 bits, round to nearest even. */
export function float32ToBFloat16(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return (b >>> 16) | 0x40;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Reads and parses a safetensors file (Node). */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  const { readFile } = await import('node:fs/promises');
  const buf = await readFile(path);
  return parseSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
}

/** Serializes and writes a safetensors file (Node). */
export async function writeSafetensors(
  path: string,
  tensors: Readonly<Record<string, SafeTensorInput>> | ReadonlyMap<string, SafeTensorInput>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path, serializeSafetensors(tensors, metadata));
}
