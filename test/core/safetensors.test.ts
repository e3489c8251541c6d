/**
 * safetensors I/O: round trip for every written dtype, a file written by an independent Python
 * writer (test/fixtures/gen_bert.py → dtypes.safetensors), and one error per kind of malformed header.
 * Pure byte code: no tensors, so the file runs the same on every backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import {
  parseSafetensors,
  serializeSafetensors,
  SafetensorsError,
  float16ToFloat32,
  float32ToFloat16,
  float32ToBFloat16,
} from '../../src/core/safetensors.js';

/** Builds a file by hand: u64 LE header length, the header JSON, the byte buffer. */
function rawFile(header: unknown, bufferBytes: number, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + bufferBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  return out;
}

function assertFails(bytes: Uint8Array, pattern: RegExp, tensor?: string): void {
  assert.throws(
    () => parseSafetensors(bytes, 'bad.safetensors'),
    (e: unknown) => {
      assert.ok(e instanceof SafetensorsError, `expected SafetensorsError, got ${String(e)}`);
      assert.match(e.message, /bad\.safetensors/);
      assert.match(e.message, pattern);
      assert.equal(e.tensor, tensor);
      return true;
    },
  );
}

test('round trip F32, I32, F16, BF16 with metadata; header aligned to 8 bytes', () => {
  const f = new Float32Array([0, 1.5, -2.25, 3.1415927, 65504, 1e-3]);
  const i = new Int32Array([0, -1, 2147483647, -2147483648]);
  const bytes = serializeSafetensors(
    {
      'a.weight': { shape: [2, 3], data: f },
      ids: { shape: [4], data: i },
      half: { shape: [6], data: f, dtype: 'F16' },
      brain: { shape: [3, 2], data: f, dtype: 'BF16' },
      empty: { shape: [0, 4], data: new Float32Array(0) },
    },
    { format: 'pt' },
  );
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLen) % 8, 0);
  const { tensors, metadata } = parseSafetensors(bytes);
  assert.deepEqual(metadata, { format: 'pt' });
  assert.deepEqual([...tensors.keys()], ['a.weight', 'ids', 'half', 'brain', 'empty']);
  assert.deepEqual(tensors.get('a.weight')!.shape, [2, 3]);
  assert.deepEqual(tensors.get('a.weight')!.data, f);
  assert.deepEqual(tensors.get('ids')!.data, i);
  assert.equal(tensors.get('half')!.dtype, 'F16');
  const half = tensors.get('half')!.data;
  f.forEach((x, k) => assert.ok(Math.abs(half[k]! - x) <= Math.abs(x) * 2 ** -11, `F16 ${x} → ${half[k]}`));
  const bf = tensors.get('brain')!.data;
  f.forEach((x, k) => assert.ok(Math.abs(bf[k]! - x) <= Math.abs(x) * 2 ** -8, `BF16 ${x} → ${bf[k]}`));
  assert.deepEqual(tensors.get('empty')!.shape, [0, 4]);
});

test('float16 conversion: exact values, rounding to even, subnormals, overflow', () => {
  assert.equal(float32ToFloat16(1), 0x3c00);
  assert.equal(float32ToFloat16(-2), 0xc000);
  assert.equal(float32ToFloat16(65504), 0x7bff);
  assert.equal(float32ToFloat16(1e6), 0x7c00);
  assert.equal(float32ToFloat16(2 ** -24), 0x0001);
  assert.equal(float32ToFloat16(1 + 2 ** -11), 0x3c00); // tie → even
  assert.equal(float32ToFloat16(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(float16ToFloat32(0x3555), 0.333251953125);
  assert.equal(float16ToFloat32(0x0001), 2 ** -24);
  assert.ok(Number.isNaN(float16ToFloat32(float32ToFloat16(NaN))));
  assert.equal(float32ToBFloat16(1), 0x3f80);
  for (let k = 0; k < 1000; k++) {
    const x = (k - 500) * 0.37;
    const y = float16ToFloat32(float32ToFloat16(x));
    assert.ok(Math.abs(y - x) <= Math.abs(x) * 2 ** -11, `${x} → ${y}`);
  }
});

test('reads a file written by the independent Python writer (F32, F16, BF16, I64, I32)', async () => {
  const buf = await readFile(new URL('../fixtures/dtypes.safetensors', import.meta.url));
  const { tensors, metadata } = parseSafetensors(new Uint8Array(buf), 'dtypes.safetensors');
  assert.equal(metadata['format'], 'pt');
  const expected = [0.5, -1.25, 3.0, 1024.0, -0.0078125, 7.5];
  for (const name of ['f32', 'f16', 'bf16']) {
    assert.deepEqual(tensors.get(name)!.shape, [2, 3], name);
    assert.deepEqual(Array.from(tensors.get(name)!.data), expected, name);
  }
  assert.equal(tensors.get('i64')!.dtype, 'I64');
  assert.deepEqual(Array.from(tensors.get('i64')!.data), [0, 1, -7, 2147483647]);
  assert.deepEqual(Array.from(tensors.get('i32')!.data), [5, -5]);
  assert.ok(tensors.get('i64')!.data instanceof Int32Array);
});

test('malformed: truncated before the header length', () => {
  assertFails(new Uint8Array(5), /truncated: 5 bytes/);
});

test('malformed: header length beyond the file', () => {
  const bytes = rawFile({}, 0);
  new DataView(bytes.buffer).setBigUint64(0, 1000n, true);
  assertFails(bytes, /truncated: header length 1000/);
});

test('malformed: header is not JSON / not an object', () => {
  assertFails(rawFile(null, 0, '{"a": '), /not valid UTF-8 JSON/);
  assertFails(rawFile(null, 0, '[1,2]'), /not a JSON object/);
});

test('malformed: unknown dtype names the tensor', () => {
  assertFails(rawFile({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, 1), /unknown dtype "F8_E4M3"/, 'w');
});

test('malformed: offsets outside the buffer, reversed, or not matching the shape', () => {
  assertFails(rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /outside the 8-byte buffer/, 'w');
  assertFails(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 8), /end before begin/, 'w');
  assertFails(rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /needs 12/, 'w');
  assertFails(rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0] } }, 8), /is not \[begin, end\]/, 'w');
  assertFails(rawFile({ w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, 8), /not a list of non-negative/, 'w');
});

test('malformed: overlapping tensors, holes and trailing bytes', () => {
  assertFails(
    rawFile(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      },
      12,
    ),
    /overlap tensor "a"/,
    'b',
  );
  assertFails(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /hole in the byte buffer/, 'a');
  assertFails(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), /4 trailing bytes/);
});

test('malformed: I64 outside int32 names the tensor', () => {
  const bytes = rawFile({ big: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8);
  const start = bytes.byteLength - 8;
  new DataView(bytes.buffer).setBigInt64(start, 2n ** 40n, true);
  assertFails(bytes, /outside the int32 range/, 'big');
});

test('writer rejects data that does not match the shape', () => {
  assert.throws(() => serializeSafetensors({ w: { shape: [3], data: new Float32Array(2) } }), /shape \[3\] has 3 elements/);
});
