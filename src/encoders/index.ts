/**
 * Encoders: the `Encoder` contract, BertEncoder (BERT / RoBERTa / SciBERT), the embedded encoder.
 * `EncoderOutput` ({hidden [b,n,d], attention [b,h,n,n]}) is re-exported from the package root by
 * src/models/types.ts (structurally identical to ./encoder.ts'), so it is not re-exported here.
 */
export type { Encoder, EncodeOptions, WindowOptions, WindowPlacement, WindowForward } from './encoder.js';
export { planWindows, encodeInWindows, documentLengths } from './encoder.js';
export * from './bert.js';
export * from './embedded.js';
export * from './cache.js';
export * from './encode-threads.js';
export * from './load.js';
export * from './embedded-trainable.js';
