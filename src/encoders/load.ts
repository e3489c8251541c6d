/**
 * `loadEncoder(dir?)`: the one entry point for "an encoder, optionally from a directory".
 * With a Hugging Face directory → `BertEncoder.fromPretrained(dir)` (BERT, RoBERTa, SciBERT);
 * without → the embedded encoder (DESIGN.md: the default wherever an encoder is optional), frozen
 * unless `trainable: true`.
 */
import type { Encoder } from './encoder.js';
import { BertEncoder, type BertEncoderOptions } from './bert.js';
import { EmbeddedEncoder, type EmbeddedEncoderOptions } from './embedded.js';
import type { TrainableEmbeddedEncoder } from './embedded-trainable.js';

/**
 * @example
 * const enc = await loadEncoder(process.argv[2]); // a directory, or undefined for the embedded one
 */
export async function loadEncoder(
  dir?: string,
  options: BertEncoderOptions & Omit<EmbeddedEncoderOptions, 'dir'> = {},
): Promise<BertEncoder | EmbeddedEncoder | TrainableEmbeddedEncoder> {
  // BertEncoder is trainable by default; the embedded encoder is frozen unless asked
  return dir ? BertEncoder.fromPretrained(dir, options) : EmbeddedEncoder.load({ ...options, trainable: options.trainable ?? false });
}

/** Whether an encoder runs in the training graph (gradients) or can be cached (`cacheFeatures`). */
export function isFrozen(encoder: Encoder): boolean {
  return !encoder.trainable;
}
