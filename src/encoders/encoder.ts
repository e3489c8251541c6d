/**
 * The `Encoder` contract (DESIGN.md, "Encoders") and the sliding-window scheme for documents longer
 * than an encoder's window.
 *
 * Dimension letters: `b` documents, `n` tokens, `d` hidden width, `h` attention heads, `k` windows.
 *
 * ## Long documents (ATLOP's two windows, generalised)
 *
 * ATLOP (Zhou et al., 2021, `long_seq.py`) encodes a document of `l` tokens with
 * `512 < l ≤ 1024` as two windows of 512: `[CLS] x[1:511] [SEP]` and `[CLS] x[l-511:l-1] [SEP]`;
 * hidden states are averaged where the windows overlap, each window's attention `[h, W, W]` is
 * placed as a diagonal block of the `[h, l, l]` map, the blocks are summed and every row is
 * renormalised to sum to 1 (`att / (Σ_j att + 1e-10)`). The added special tokens inside the
 * document (the first window's `[SEP]`, the second window's `[CLS]`) are dropped.
 *
 * `encodeInWindows` does the same for any length: with a window of `W` tokens of which `head`
 * (1 for BERT's `[CLS]`, 0 for encoders without special tokens) and `tail` (1 for `[SEP]`) are the
 * document's own first and last tokens repeated in every window, the `L = l − head − tail` inner
 * tokens are covered by `K = max(2, ⌈(L − o) / (C − o)⌉)` windows of `C = W − head − tail` inner
 * tokens (`o` = minimum overlap) whose starts are spread evenly from the first to the last inner
 * token, `s_k = head + round(k · (L − C) / (K − 1))`. With two windows and `o = 0` this is exactly
 * ATLOP's scheme. A document that fits (`l ≤ W`) is one window: its outputs are those of the plain
 * forward pass (tested), whatever the length of its batch-mates.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkShape } from '../core/errors.js';
import { recompute } from '../core/gradients.js';

/** Options of `Encoder.encode`. */
export interface EncodeOptions {
  /** dropout on (trainable encoders). Default false. */
  readonly training?: boolean;
  /**
   * Average the attention of the last `attentionLayers` layers (DocRE-BSI / DocRE-II use this).
   * Default 1: the last layer's attention.
   */
  readonly attentionLayers?: number;
}

/** What an encoder returns. */
export interface EncoderOutput {
  /** last layer's token states `[b, n, d]` */
  readonly hidden: tf.Tensor3D;
  /** attention probabilities `[b, h, n, n]` (rows = queries), zero on padded keys */
  readonly attention: tf.Tensor4D;
}

/**
 * A token encoder. `encode` is synchronous so that gradients flow through a trainable encoder;
 * frozen encoders may also offer `encodeAsync`.
 */
export interface Encoder {
  /** identifies architecture + weights (feature-cache key) */
  readonly id: string;
  /** `d` */
  readonly hiddenSize: number;
  /** `h` of the returned attention */
  readonly numHeads: number;
  /** tokens per window; longer inputs go through `encodeInWindows` */
  readonly maxLength: number;
  /** whether `trainableVariables` receive gradients */
  readonly trainable: boolean;
  /** the variables an optimizer should update (empty when frozen) */
  trainableVariables(): tf.Variable[];
  /**
   * @param inputIds `[b, n]` int32
   * @param attentionMask `[b, n]` float32, 1 for real tokens (a prefix of each row)
   */
  encode(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, options?: EncodeOptions): EncoderOutput;
  encodeAsync?(
    inputIds: tf.Tensor2D,
    attentionMask: tf.Tensor2D,
    options?: EncodeOptions,
  ): Promise<EncoderOutput>;
  dispose(): void;
}

/** One window of a document: window rows `[rowStart, rowEnd)` land on positions `[posStart, posEnd)`. */
export interface WindowPlacement {
  /** the window's token positions in the document (length ≤ W; `head`/`tail` included) */
  readonly positions: readonly number[];
  readonly rowStart: number;
  readonly rowEnd: number;
  readonly posStart: number;
}

/** Sliding-window settings. */
export interface WindowOptions {
  /** `W`, tokens per window */
  readonly windowLength: number;
  /** 1 when every window starts with the document's first token (BERT `[CLS]`). Default 0. */
  readonly head?: number;
  /** 1 when every window ends with the document's last token (BERT `[SEP]`). Default 0. */
  readonly tail?: number;
  /** minimum number of inner tokens shared by consecutive windows. Default 0 (ATLOP). */
  readonly minOverlap?: number;
}

/**
 * Plans the windows of one document of `length` real tokens (see the module comment).
 * @example
 * planWindows(1000, { windowLength: 512, head: 1, tail: 1 });
 * // two windows: positions [0, 1..510, 999] and [0, 489..998, 999], as ATLOP
 */
export function planWindows(length: number, options: WindowOptions): WindowPlacement[] {
  const W = options.windowLength;
  const head = options.head ?? 0;
  const tail = options.tail ?? 0;
  const o = options.minOverlap ?? 0;
  const C = W - head - tail;
  if (!(C > 0)) throw new ArgumentError('windowLength', `> head + tail = ${head + tail}`, W);
  if (!(o >= 0 && o < C)) throw new ArgumentError('minOverlap', `in [0, ${C})`, o);
  if (length <= W) {
    const positions = Array.from({ length }, (_, i) => i);
    return [{ positions, rowStart: 0, rowEnd: length, posStart: 0 }];
  }
  const L = length - head - tail;
  const K = Math.max(2, Math.ceil((L - o) / (C - o)));
  const plans: WindowPlacement[] = [];
  for (let k = 0; k < K; k++) {
    const s = head + Math.round((k * (L - C)) / (K - 1));
    const inner = Array.from({ length: C }, (_, i) => s + i);
    const positions = [...(head ? [0] : []), ...inner, ...(tail ? [length - 1] : [])];
    const first = k === 0;
    const last = k === K - 1;
    plans.push({
      positions,
      rowStart: first ? 0 : head,
      rowEnd: last ? W : head + C,
      posStart: first ? 0 : s,
    });
  }
  return plans;
}

/** A forward pass over full windows: ids `[k, W]` int32, mask `[k, W]` → hidden `[k, W, d]`, attention `[k, h, W, W]`. */
export type WindowForward = (inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D) => EncoderOutput;

/**
 * Encodes a batch through windows of at most `windowLength` tokens and reassembles full-length
 * outputs: hidden states averaged over the windows covering each token, attention blocks summed
 * and row-renormalised (module comment). Differentiable (slices, pads, sums only).
 * Reads `attentionMask` on the host to find each document's length.
 *
 * @param inputIds `[b, n]` int32
 * @param attentionMask `[b, n]` float32, real tokens first
 * @returns hidden `[b, n, d]`, attention `[b, h, n, n]`
 * @example
 * const out = encodeInWindows((i, m) => bert.encode(i, m), ids, mask, { windowLength: 512, head: 1, tail: 1 });
 */
export function encodeInWindows(
  forward: WindowForward,
  inputIds: tf.Tensor2D,
  attentionMask: tf.Tensor2D,
  options: WindowOptions,
): EncoderOutput {
  checkShape('inputIds', inputIds.shape, ['b', 'n']);
  checkShape('attentionMask', attentionMask.shape, ['b', 'n'], {
    b: inputIds.shape[0],
    n: inputIds.shape[1],
  });
  return encodeHostInWindows(
    forward,
    readHost(inputIds, 'inputIds'),
    readHost(attentionMask, 'attentionMask'),
    options,
  );
}

/**
 * Synchronous read of a small host-side input (ids, masks). On WebGPU in Node a tensor that
 * already lives on the GPU cannot be read synchronously: the error says to use `encodeAsync`.
 */
export function readHost(t: tf.Tensor2D, what: string): number[][] {
  try {
    return t.arraySync();
  } catch (e) {
    throw new ArgumentError(
      what,
      'a tensor readable synchronously (created from host data); on WebGPU use encodeAsync',
      `${String((e as Error).message ?? e).slice(0, 80)}`,
    );
  }
}

/** `encodeInWindows` with the ids and mask already on the host (`encodeAsync` reads them with `await`). */
export function encodeHostInWindows(
  forward: WindowForward,
  ids: readonly (readonly number[])[],
  mask: readonly (readonly number[])[],
  options: WindowOptions,
): EncoderOutput {
  const b = ids.length;
  const n = ids[0]?.length ?? 0;
  const lengths = documentLengths(mask);
  const W = Math.min(options.windowLength, n);
  const plans = lengths.map((l) => planWindows(l, options));
  // every window becomes one row of a [k, W] batch (a short document's window keeps its padding)
  const rows: number[][] = [];
  const masks: number[][] = [];
  for (let i = 0; i < b; i++)
    for (const p of plans[i]!) {
      const row = ids[i]!.slice(0, W); // padding ids of a short document stay in place
      const m = new Array<number>(W).fill(0);
      p.positions.forEach((pos, j) => {
        row[j] = ids[i]![pos]!;
        m[j] = 1;
      });
      rows.push(row);
      masks.push(m);
    }
  return tf.tidy(() => {
    const out = forward(
      tf.tensor2d(rows, [rows.length, W], 'int32'),
      tf.tensor2d(masks, [rows.length, W], 'float32'),
    );
    const d = out.hidden.shape[2];
    const h = out.attention.shape[1];
    // each document's windows in order: [w, w + its window count)
    const firstWindow = plans.map((_, i) => plans.slice(0, i).reduce((a, p) => a + p.length, 0));
    const hiddenDocs = plans.map((docPlans, i) => {
      const count = new Float32Array(n);
      let hid: tf.Tensor2D = tf.zeros([n, d]);
      docPlans.forEach((p, j) => {
        const len = p.rowEnd - p.rowStart;
        for (let t = 0; t < len; t++) count[p.posStart + t]! += 1;
        // [W, d] → rows [rowStart, rowEnd) → [len, d] → padded to [n, d] at posStart
        const hw = out.hidden.slice([firstWindow[i]! + j, p.rowStart, 0], [1, len, d]).reshape([len, d]);
        hid = hid.add(
          hw.pad([
            [p.posStart, n - p.posStart - len],
            [0, 0],
          ]),
        );
      });
      return hid.mul(
        tf.tensor(
          count.map((c) => (c > 0 ? 1 / c : 0)),
          [n, 1],
        ),
      );
    });
    // [k, h, W, W] → [b, h, n, n], recomputed in the backward pass: its [h, n, n] intermediates
    // (zeros, pads, sums: several per window) are not kept, only the windows and the result
    const assemble = (windows: tf.Tensor): tf.Tensor =>
      tf.stack(
        plans.map((docPlans, i) => {
          let att: tf.Tensor3D = tf.zeros([h, n, n]);
          docPlans.forEach((p, j) => {
            const len = p.rowEnd - p.rowStart;
            const after = n - p.posStart - len;
            // [h, W, W] → block [len, len] → padded to [h, n, n] on the diagonal at posStart
            const aw = windows
              .slice([firstWindow[i]! + j, 0, p.rowStart, p.rowStart], [1, h, len, len])
              .reshape([h, len, len]);
            att = att.add(
              aw.pad([
                [0, 0],
                [p.posStart, after],
                [p.posStart, after],
              ]),
            );
          });
          // row-renormalise the summed blocks (ATLOP: att / (att.sum(-1) + 1e-10))
          return att.div(att.sum(-1, true).add(1e-10));
        }),
      );
    return {
      hidden: tf.stack(hiddenDocs) as tf.Tensor3D,
      attention: recompute(assemble, [out.attention]) as tf.Tensor4D,
    };
  });
}

/** Number of real tokens per row; throws when a row's real tokens are not a prefix. */
export function documentLengths(attentionMask: readonly (readonly number[])[]): number[] {
  return attentionMask.map((row, i) => {
    const l = row.reduce((a, v) => a + (v > 0 ? 1 : 0), 0);
    for (let j = 0; j < l; j++)
      if (!(row[j]! > 0))
        throw new ArgumentError(`attentionMask[${i}]`, 'real tokens (1) before padding (0)', row);
    return l;
  });
}
