/**
 * GTN / DocRE-BSI (Zhang et al., IJCAI 2023, "Exploring Effective Inter-Encoder Semantic
 * Interaction for Document-Level Relation Extraction").
 *
 * Nodes (§2.2): document (CLS, or the token mean for encoders without CLS), mentions (mean of the
 * start and end marker states, official code), entities (logsumexp of their mentions); the node
 * matrix F⁽⁰⁾ `[b,v,d]` is gathered with `graph.nodeSource`. L `GTNLayer`s (graph attention over
 * the three edge types + a global head, cross-attention to the tokens, FFN) give F⁽ᴸ⁾; entities
 * are read back with `graph.entityNode`, and `z_s = tanh(W_s[F⁽ᴸ⁾[e_s]; c_so])`,
 * `z_o = tanh(W_o[F⁽ᴸ⁾[e_o]; c_so])` feed the group bilinear classifier (eqs. 3–4).
 * Training (eq. 5): `L = L_R + α L_N + β L_A` with the AT loss L_R (eq. 6), node reconstruction
 * L_N (eq. 7: 20 % of the mention nodes replaced by a learned mask vector, cosine to F⁽⁰⁾ through
 * an MLP head, official code) and SA-KD L_A (eq. 8): a discriminator tells GTN's nodes (teacher)
 * from the encoder's (student); `losses.generator` trains the encoder, `losses.discriminator`
 * trains the discriminator in its own step (`variableGroups().discriminator`, not part of
 * `trainableVariables()`).
 *
 * Deviation: the paper distils into intermediate encoder layers {6, 12}; the `Encoder` contract
 * returns the last layer only, so the student here is F⁽⁰⁾ built from the last layer (with a
 * frozen encoder the generator loss has no trainable variable and only the discriminator learns).
 *
 * Dimension letters: b n d h m e r v (DESIGN.md).
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../core/errors.js';
import { adaptiveThresholdDecode, adaptiveThresholdLoss } from '../losses/adaptive-threshold.js';
import {
  adversarialDistillationLosses,
  maskMentionNodes,
  NodeDiscriminatorLayer,
  nodeReconstructionLoss,
} from '../losses/graph-losses.js';
import { gatherMentionRows, logSumExpPooling } from '../heads/pooling.js';
import { entityAttention, localizedContextPooling } from '../heads/context-pooling.js';
import { GTNLayer } from '../heads/gtn.js';
import { NODE_MENTION } from '../data/graph.js';
import { BaseModel, buildLayer, fraction, oneOf, positiveInt, type CommonModelConfig } from './base.js';
import { deriveSeed } from '../core/initializers.js';
import { BilinearPairHead, documentState, type DocPooling } from './parts.js';
import { modelSpec, PAPER_COMMON, type Resolved } from './spec.js';
import type { AdversarialModel, ForwardOptions, ForwardOutput, ModelInput } from './types.js';

/** GTN hyperparameters (defaults = the paper's / official code's). */
export interface GTNConfig extends CommonModelConfig {
  /** L, GTN layers. Default 2 (§3.4). */
  readonly numLayers?: number;
  /** classifier extractor width. Default 768. */
  readonly embSize?: number;
  /** bilinear group size. Default 64. */
  readonly blockSize?: number;
  /** α of L_N. Default 0.1. */
  readonly reconstructionWeight?: number;
  /** β of L_A. Default 0.01. */
  readonly adversarialWeight?: number;
  /** fraction of mention nodes masked for L_N. Default 0.2. */
  readonly nodeMaskRatio?: number;
  /** rows of the entity-id / sentence-id embeddings of the global head (official 50 / 30); larger ids are clipped. */
  readonly numEntityIds?: number;
  readonly numSentenceIds?: number;
  /** document node: CLS state (paper) or token mean. Default 'cls'. */
  readonly docPooling?: DocPooling;
  /** at most this many relations per pair at decode. Default 4. */
  readonly topK?: number;
  /** seed of the node-masking sequence. Default 0. */
  readonly seed?: number;
}

/**
 * @example
 * const model = new GTNModel({ hiddenSize: 512, numClasses: 97, embSize: 256, blockSize: 32, docPooling: 'mean' });
 * const { losses } = model.forward(batchWithGraph, { training: true }); // {at, reconstruction, generator, discriminator, total}
 * const discVars = model.variableGroups().discriminator; // minimise losses.discriminator over these
 */
export class GTNModel extends BaseModel<Resolved<GTNConfig>> implements AdversarialModel {
  readonly name = 'gtn' as const;
  private readonly gtn: GTNLayer[];
  private readonly maskToken: tf.Variable;
  private readonly reconstruction: tf.layers.Layer[];
  private readonly classifier: BilinearPairHead;
  private readonly discriminator: NodeDiscriminatorLayer;
  private calls = 0;

  constructor(config: GTNConfig) {
    super(GTN_SPEC.resolve(config));
    const c = this.config;
    const d = c.hiddenSize;
    this.gtn = Array.from({ length: c.numLayers }, (_, i) =>
      this.layer(
        `gtn.${i}`,
        new GTNLayer({ numEntityIds: c.numEntityIds, numSentenceIds: c.numSentenceIds }),
      ),
    );
    // tfjs' randomNormal treats seed 0 as "no seed" (Math.random): a derived seed, never 0
    const tokenSeed = deriveSeed(c.seed, 'maskToken')! + 1;
    this.maskToken = this.param('maskToken', tf.randomNormal([d], 0, 0.02, 'float32', tokenSeed));
    // official reconstruction head: Linear–ReLU–Linear–LayerNorm
    this.reconstruction = [
      this.layer('reconstruction.in', tf.layers.dense({ units: d, activation: 'relu' })),
      this.layer('reconstruction.out', tf.layers.dense({ units: d })),
      this.layer('reconstruction.norm', tf.layers.layerNormalization({ epsilon: 1e-12 })),
    ];
    this.classifier = new BilinearPairHead({
      embSize: c.embSize,
      blockSize: c.blockSize,
      numClasses: c.numClasses,
    });
    for (const [name, l] of this.classifier.layers('classifier')) this.layer(name, l);
    this.discriminator = this.layer('discriminator', new NodeDiscriminatorLayer(), 'discriminator');
    this.ensureBuilt();
  }

  forward(batch: ModelInput, options: ForwardOptions = {}): ForwardOutput {
    this.checkLabels(batch);
    const training = options.training ?? false;
    const c = this.config;
    const g = batch.graph;
    if (!g?.nodeSource || !g.adjacency)
      throw new ArgumentError(
        'batch.graph',
        "GTN's document graph: collate(features, schema, { graph: true })",
        g === undefined ? 'missing' : Object.keys(g),
      );
    const seed = options.seed ?? c.seed + this.calls++;
    return tf.tidy(() => {
      const enc = this.encode(batch, training);
      const { hidden } = enc;
      const [b, n, d] = hidden.shape;
      const [, e, m] = batch.mentionIndex.shape;
      const v = g.nodeMask.shape[1];
      const attentionMask = batch.attentionMask ?? (tf.ones([b, n]) as tf.Tensor2D);
      // initial node features F0 [b,v,d] from concat([doc (1), mentions (e·m), entities (e)])
      const start = gatherMentionRows(hidden, batch.mentionIndex, batch.mentionMask); // [b,e,m,d]
      const end = gatherMentionRows(hidden, g.mentionEndIndex, batch.mentionMask); // [b,e,m,d]
      const mentions = start
        .add(end)
        .div(2)
        .reshape([b, e * m, d]); // [b,e·m,d]
      const entities = logSumExpPooling(hidden, batch.mentionIndex, batch.mentionMask); // [b,e,d]
      const doc = documentState(hidden, batch.attentionMask, c.docPooling).reshape([b, 1, d]); // [b,1,d]
      const table = tf.concat([doc, mentions, entities], 1); // [b,S,d], S = 1 + e·m + e
      const rows = table.shape[1]!;
      const flat = g.nodeSource.add(tf.range(0, b * rows, rows, 'int32').reshape([b, 1])).reshape([b * v]); // [b·v]
      const f0 = tf
        .gather(table.reshape([b * rows, d]), flat)
        .reshape([b, v, d])
        .mul(g.nodeMask.expandDims(2)) as tf.Tensor3D; // [b,v,d]
      // node masking (training only)
      let nodes: tf.Tensor = f0;
      let maskedNodes: tf.Tensor2D | undefined;
      if (training) {
        const mentionNodes = g.nodeKind.equal(NODE_MENTION).toFloat().mul(g.nodeMask); // [b,v]
        ({ nodes, maskedNodes } = maskMentionNodes(f0, mentionNodes, this.maskToken, {
          rate: c.nodeMaskRatio,
          seed,
        }));
      }
      const entityIds = tf.minimum(g.nodeEntityId, tf.scalar(c.numEntityIds - 1, 'int32')); // ids beyond the tables are clipped
      const sentenceIds = tf.minimum(g.nodeSentenceId, tf.scalar(c.numSentenceIds - 1, 'int32'));
      for (const layer of this.gtn)
        nodes = layer.apply(
          [nodes, g.adjacency, entityIds, sentenceIds, g.nodeMask, hidden, g.nodeTokenMask, attentionMask],
          { training },
        ) as tf.Tensor;
      // entities back out of F(L), localized context from the encoder's attention
      const entFlat = g.entityNode.add(tf.range(0, b * v, v, 'int32').reshape([b, 1])).reshape([b * e]); // [b·e]
      const entityOut = tf.gather(nodes.reshape([b * v, d]), entFlat).reshape([b, e, d]) as tf.Tensor3D; // [b,e,d]
      const context = localizedContextPooling(
        hidden,
        entityAttention(enc.attention, batch.mentionIndex, batch.mentionMask),
      ); // [b,e,e,d]
      const logits = this.classifier.apply(entityOut, context);
      if (!this.discriminator.built) this.discriminator.apply(nodes);
      const losses: Record<string, tf.Scalar> = {};
      if (batch.labels) {
        const at = adaptiveThresholdLoss(logits, batch.labels, batch.pairMask);
        losses['at'] = at;
        if (training) {
          const recon = this.reconstruction.reduce<tf.Tensor>((x, l) => l.apply(x) as tf.Tensor, nodes);
          losses['reconstruction'] = nodeReconstructionLoss(recon, f0, maskedNodes!);
          const adv = adversarialDistillationLosses(nodes, f0, g.nodeMask, this.discriminator.params());
          losses['generator'] = adv.generatorLoss;
          losses['discriminator'] = adv.discriminatorLoss;
          losses['total'] = at
            .add(losses['reconstruction'].mul(c.reconstructionWeight))
            .add(adv.generatorLoss.mul(c.adversarialWeight));
        } else losses['total'] = at.clone();
      }
      return { logits, losses };
    });
  }

  protected decode(logits: tf.Tensor4D): tf.Tensor {
    return adaptiveThresholdDecode(logits, { topK: this.config.topK });
  }

  /** The discriminator's variables (`variableGroups().discriminator`), trained on `losses.discriminator`. */
  discriminatorVariables(): tf.Variable[] {
    return this.variableGroups()['discriminator'] ?? [];
  }

  /** The main (generator) objective trains everything but the discriminator. */
  protected override objectiveGroups(): string[] {
    return super.objectiveGroups().filter((g) => g !== 'discriminator');
  }

  protected override buildWeights(): void {
    const d = this.config.hiddenSize;
    const [v, n] = [8, 8]; // nodes, tokens (only the widths matter)
    const nodes = [1, v, d];
    // [nodes, adjacency, entityIds, sentenceIds, nodeMask, tokens, localMask, attentionMask]
    const inputs = [nodes, [1, 3, v, v], [1, v], [1, v], [1, v], [1, n, d], [1, v, n], [1, n]];
    for (const layer of this.gtn) buildLayer(layer, inputs);
    this.classifier.build(d, d); // [e_s ; c_so]
    buildLayer(this.discriminator, nodes);
    for (const layer of this.reconstruction) buildLayer(layer, nodes); // training only: last
  }

  static load(dir: string, overrides: Partial<CommonModelConfig> = {}): Promise<GTNModel> {
    return GTN_SPEC.load(dir, overrides);
  }
}

export const GTN_SPEC = modelSpec<GTNConfig, GTNModel>({
  name: 'gtn',
  preset: {
    model: { numLayers: 2, reconstructionWeight: 0.1, adversarialWeight: 0.01, nodeMaskRatio: 0.2, topK: 4 },
    training: {
      ...PAPER_COMMON,
      weightDecay: 1e-4,
      epochs: 30,
      batchSize: 4,
      encoderLr: 5e-5,
      headLr: 1e-4,
      discriminatorLr: 1e-4,
    },
    notes:
      'DocRE-BSI §2.3/§3.2 (α = 0.1, β = 0.01, weight decay 1e-4, warmup 6 %, 20 % masked mention nodes per DESIGN.md); layer count L = 2 and lrs / epochs not stated in the text: ATLOP values used.',
  },
  defaults: (c) => ({
    numLayers: c.numLayers ?? 2,
    embSize: c.embSize ?? 768,
    blockSize: c.blockSize ?? 64,
    reconstructionWeight: c.reconstructionWeight ?? 0.1,
    adversarialWeight: c.adversarialWeight ?? 0.01,
    nodeMaskRatio: c.nodeMaskRatio ?? 0.2,
    numEntityIds: c.numEntityIds ?? 50,
    numSentenceIds: c.numSentenceIds ?? 30,
    docPooling: c.docPooling ?? 'cls',
    topK: c.topK ?? 4,
  }),
  check: (r) => {
    for (const k of ['numLayers', 'embSize', 'blockSize', 'numEntityIds', 'numSentenceIds', 'topK'] as const)
      positiveInt(k, r[k]);
    fraction('nodeMaskRatio', r.nodeMaskRatio);
    for (const k of ['reconstructionWeight', 'adversarialWeight'] as const)
      if (!(r[k] >= 0)) throw new ArgumentError(k, 'a number >= 0', r[k]);
    oneOf('docPooling', r.docPooling, ['cls', 'mean']);
    if (r.hiddenSize % 4 !== 0)
      throw new ArgumentError('hiddenSize', 'a multiple of 4 (GTN has 4 heads)', r.hiddenSize);
  },
  create: (c) => new GTNModel(c),
});
