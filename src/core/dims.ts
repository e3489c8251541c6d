/**
 * The dimension legend of docre-kit and rank-typed aliases for the layouts that recur across the
 * library. Every doc comment names tensor axes with these letters (DESIGN.md, "Dimension legend"):
 *
 * | letter | meaning |
 * |---|---|
 * | `b` | batch of documents |
 * | `n` | tokens (word pieces incl. entity markers, CLS/SEP) |
 * | `d` | hidden width (768 for BERT-base) |
 * | `h` | attention heads |
 * | `m` | mentions per entity (padded) |
 * | `e` | entities (padded) |
 * | `r` | relation classes, class 0 = NA / the adaptive threshold |
 * | `v` | graph nodes (GTN) |
 * | `k` | candidate / intermediate entity (I-MSA, ECA), or the group-bilinear block size |
 *
 * Activations and 0/1 masks are float32, indices int32. Pair-level tensors use the entity-pair
 * matrix layout `[b, e, e, ·]`: row = subject s, column = object o.
 *
 * The aliases are documentation that the compiler checks for rank only (tfjs has no named axes):
 * `Hidden` is any `tf.Tensor3D`, but a parameter typed `Hidden` tells the reader `[b, n, d]`.
 *
 * @example
 * import type { Hidden, MentionIndex, EntityEmbedding } from 'docre-kit';
 * declare function pool(hidden: Hidden, index: MentionIndex): EntityEmbedding;
 */
import type * as tf from '@tensorflow/tfjs';

/** The axis letters of the legend. */
export type Dim = 'b' | 'n' | 'd' | 'h' | 'm' | 'e' | 'r' | 'v' | 'k';

/** The legend as data, e.g. for error messages and generated docs. */
export const DIMENSIONS: Readonly<Record<Dim, string>> = {
  b: 'batch of documents',
  n: 'tokens',
  d: 'hidden width',
  h: 'attention heads',
  m: 'mentions per entity (padded)',
  e: 'entities (padded)',
  r: 'relation classes incl. class 0 (NA / threshold)',
  v: 'graph nodes',
  k: 'candidate / intermediate entity, or block size',
};

// ---- tokens ----
/** `[b, n]` int32 word-piece ids. */
export type TokenIds = tf.Tensor2D;
/** `[b, n]` float32, 1 for real tokens. */
export type TokenMask = tf.Tensor2D;
/** `[b, n, d]` float32 encoder states. */
export type Hidden = tf.Tensor3D;
/** `[b, h, n, n]` float32 encoder attention (rows sum to 1 over real tokens). */
export type TokenAttention = tf.Tensor4D;

// ---- mentions and entities ----
/** `[b, e, m]` int32 token index of each mention's start marker. */
export type MentionIndex = tf.Tensor3D;
/** `[b, e, m]` float32, 1 for real mentions. */
export type MentionMask = tf.Tensor3D;
/** `[b, e]` float32, 1 for real entities. */
export type EntityMask = tf.Tensor2D;
/** `[b, e, d]` float32 entity embeddings. */
export type EntityEmbedding = tf.Tensor3D;
/** `[b, e, h, n]` float32 per-entity attention over tokens. */
export type EntityAttention = tf.Tensor4D;

// ---- entity pairs ----
/** `[b, e, e]` float32, 1 for ordered pairs (s, o), s ≠ o, both real. */
export type PairMask = tf.Tensor3D;
/** `[b, e, e, d]` float32 pair features (row = subject, column = object). */
export type PairMatrix = tf.Tensor4D;
/** `[b, e, e, r]` float32 relation logits. */
export type PairLogits = tf.Tensor4D;
/** `[b, e, e, r]` float32 multi-hot labels (column 0 = NA). */
export type PairLabels = tf.Tensor4D;

// ---- attention ----
/** `[b, l, d]` float32 sequence of queries / keys / values (l = lq or lk). */
export type Sequence = tf.Tensor3D;
/** `[b, h, l, dh]` float32 per-head split of a `Sequence`, dh = d / h. */
export type Heads = tf.Tensor4D;
/** `[b | 1, h | 1, lq, lk]` float32 attention mask, 1 = attend. */
export type AttentionMask = tf.Tensor4D;

// ---- graphs (GTN) ----
/** `[b, v, d]` float32 node states. */
export type NodeStates = tf.Tensor3D;
/** `[b, v, v]` float32 adjacency (one channel). */
export type Adjacency = tf.Tensor3D;
