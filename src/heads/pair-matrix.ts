/**
 * Entity-pair feature matrices `F [b, e, e, ·]` (row = subject s, column = object o), the
 * "image" that DocuNet, DRE-MIR and DocRE-II feed to their pair-level reasoning modules.
 *
 * Strategies (all mask padded pairs to zero with `pairMask`):
 * - `context`    DocuNet eqs. 4–5: `F_so = W2 · c_so + b2`, where `c_so` is the entity-aware
 *                (localized) context vector of the pair; the official DocuNet code
 *                (`get_channel_map`) computes it exactly as ATLOP's localized context pooling
 *                (heads averaged, `+1e-5`) for all N×N pairs and applies
 *                `nn.Linear(hidden, channels)`, i.e. an affine map with bias. (The official code
 *                pads the entity attention with copies of the last entity's, so its padded pairs
 *                are not zero before masking; here they are masked to zero.)
 * - `similarity` DocuNet eq. 3: `F_so = [e_s ⊙ e_o ; cos(e_s, e_o) ; e_s W1 e_o]`, width d + 2.
 *                The official code's `similarity-based` branch differs: three scalar maps
 *                `[e_s·e_o ; cos ; bilinear]` (the element-wise product is commented out) with a
 *                `BilinearMatrixAttention` constructed inside `forward`, i.e. re-initialised on
 *                every call; the paper's equation is implemented here, with W1 a trained weight.
 * - `concat-ffn` DRE-MIR eq. 4: `u_s = W_s[e_s ; h_doc ; c_so] + b_s`,
 *                `u_o = W_o[e_o ; h_doc ; c_so] + b_o`, `F_so = FFN([u_s ; u_o])`.
 * - `gated`      DocRE-II eqs. 2–3: `z_s = tanh(W_s[e_s ; c_so] + b_s)`,
 *                `z_o = tanh(W_o[e_o ; c_so] + b_o)`, `F_so = FFN([z_s ; z_o])` (the tanh
 *                extractors gate each entity's features by the pair's context).
 * `FFN(x) = relu(x·W1 + b1)·W2 + b2` (hidden width `ffnUnits`); neither paper specifies it
 * further and DRE-MIR has no public code.
 *
 * The concatenations `[e_s ; h_doc ; c_so]·W` are computed as a sum of per-part products so
 * the entity and document parts are projected once per entity, not once per pair.
 *
 * Dimension letters: b documents · d hidden · e entities · u output width (`units`) ·
 * f FFN hidden width.
 */
import * as tf from '@tensorflow/tfjs';
import { dense, type DenseParams } from '../core/layer-kit.js';
import { ArgumentError, checkShape, ShapeError } from '../core/errors.js';
import { registerClass } from '../core/registry.js';
import {
  initializerFromName,
  shapesOf,
  tensorsOf,
  type LayerArgs,
  type InitializerName,
} from '../core/layer-kit.js';

export type { DenseParams };

/** Parameters of {@link concatFfnPairMatrix} and {@link gatedPairMatrix}. */
export interface PairFfnParams {
  /** concat-ffn: kernel [3d, u] over [e_s ; h_doc ; c]; gated: kernel [2d, u] over [e_s ; c]. */
  readonly subject: DenseParams;
  /** same shapes as `subject`, applied to the object entity */
  readonly object: DenseParams;
  /** kernel [2u, f] */
  readonly ffn1: DenseParams;
  /** kernel [f, u] */
  readonly ffn2: DenseParams;
}

export type PairStrategy = 'context' | 'similarity' | 'concat-ffn' | 'gated';
export const PAIR_STRATEGIES: readonly PairStrategy[] = ['context', 'similarity', 'concat-ffn', 'gated'];

/** Zeroes padded pairs: x [b,e,e,c] · pairMask [b,e,e,1]. */
function maskPairs(x: tf.Tensor, pairMask: tf.Tensor3D): tf.Tensor4D {
  return x.mul(pairMask.toFloat().expandDims(3)) as tf.Tensor4D;
}

function checkPairs(pairMask: tf.Tensor, dims: Record<string, number>): void {
  checkShape('pairMask', pairMask.shape, ['b', 'e', 'e'], dims);
}

function checkDense(
  name: string,
  p: DenseParams,
  din: number,
  dout: number | string,
  dims: Record<string, number>,
): void {
  checkShape(`${name}.kernel`, p.kernel.shape, [din, dout], dims);
  checkShape(`${name}.bias`, p.bias.shape, [dout], dims);
}

/**
 * DocuNet context-based feature map (eqs. 4–5): an affine map of each pair's localized context.
 *
 * @param context [b, e, e, d] from `localizedContextPooling`
 * @param pairMask [b, e, e] float32
 * @param projection kernel [d, u], bias [u]
 * @returns [b, e, e, u]
 *
 * @example
 * const f = contextPairMatrix(localizedContextPooling(hidden, entityAtt), pairMask, { kernel, bias });
 */
export function contextPairMatrix(
  context: tf.Tensor4D,
  pairMask: tf.Tensor3D,
  projection: DenseParams,
): tf.Tensor4D {
  const dims = checkShape('context', context.shape, ['b', 'e', 'e', 'd']);
  checkPairs(pairMask, dims);
  checkDense('projection', projection, dims['d']!, 'u', dims);
  return tf.tidy(() => maskPairs(dense(context, projection), pairMask));
}

/**
 * DocuNet similarity-based feature map (eq. 3): `[e_s ⊙ e_o ; cos(e_s, e_o) ; e_s W1 e_o]`.
 * The cosine uses `max(|e|², 1e-12)` under the square root, so zero (padded) entities give a
 * finite value and gradient.
 *
 * @param entity [b, e, d] entity embeddings
 * @param pairMask [b, e, e] float32
 * @param bilinear W1 [d, d]
 * @returns [b, e, e, d + 2]
 *
 * @example
 * const f = similarityPairMatrix(entity, pairMask, w1); // [b, e, e, d + 2]
 */
export function similarityPairMatrix(
  entity: tf.Tensor3D,
  pairMask: tf.Tensor3D,
  bilinear: tf.Tensor2D,
): tf.Tensor4D {
  const dims = checkShape('entity', entity.shape, ['b', 'e', 'd']);
  checkPairs(pairMask, dims);
  checkShape('bilinear', bilinear.shape, ['d', 'd'], dims);
  const { b, e, d } = dims as { b: number; e: number; d: number };
  return tf.tidy(() => {
    const product = entity.reshape([b, e, 1, d]).mul(entity.reshape([b, 1, e, d])); // [b,e,e,d]
    const unit = entity.div(tf.sqrt(tf.maximum(entity.square().sum(2, true), 1e-12))); // [b,e,d]
    const cosine = tf.matMul(unit, unit, false, true).expandDims(3); // [b,e,e,1]
    const bil = tf.matMul(dense(entity, { kernel: bilinear }), entity, false, true).expandDims(3); // [b,e,e,1]: e_s W1 e_oᵀ
    return maskPairs(tf.concat([product, cosine, bil], 3), pairMask);
  });
}

/**
 * `[x_s ; extra ; c_so]·W + b` for every pair without forming the concatenation: the kernel's
 * row blocks multiply each part; per-entity parts broadcast along the pair axis `axis`
 * (2 = subject varies along rows, 1 = object varies along columns).
 */
function pairProjection(
  x: tf.Tensor3D,
  context: tf.Tensor4D,
  extra: tf.Tensor2D | undefined,
  p: DenseParams,
  axis: 1 | 2,
): tf.Tensor4D {
  const d = x.shape[2];
  const parts = [x, ...(extra ? [extra] : []), context];
  let offset = 0;
  const projected = parts.map((part) => {
    const w = p.kernel.slice([offset, 0], [d, -1]) as tf.Tensor2D; // row block for this part
    offset += d;
    return dense(part, { kernel: w });
  });
  const entityPart = projected[0]!.expandDims(axis); // [b,e,1,u] or [b,1,e,u]
  const docPart = extra ? projected[1]!.expandDims(1).expandDims(1) : tf.scalar(0); // [b,1,1,u]
  return projected[projected.length - 1]!.add(entityPart).add(docPart).add(p.bias) as tf.Tensor4D; // [b,e,e,u]
}

function ffn(x: tf.Tensor, p: PairFfnParams): tf.Tensor {
  return dense(tf.relu(dense(x, p.ffn1)), p.ffn2);
}

function checkFfn(p: PairFfnParams, parts: number, dims: Record<string, number>): void {
  const d = dims['d']!;
  checkDense('subject', p.subject, parts * d, 'u', dims);
  checkDense('object', p.object, parts * d, 'u', dims);
  checkDense('ffn1', p.ffn1, 2 * dims['u']!, 'f', dims);
  checkDense('ffn2', p.ffn2, dims['f']!, dims['u']!, dims);
}

/**
 * DRE-MIR entity-pair matrix (eq. 4): `F_so = FFN([W_s[e_s ; h_doc ; c_so] ; W_o[e_o ; h_doc ; c_so]])`.
 *
 * @param entity [b, e, d] entity embeddings
 * @param context [b, e, e, d] localized context
 * @param doc [b, d] document embedding (the [CLS] state)
 * @param pairMask [b, e, e] float32
 * @param params subject/object kernel [3d, u], ffn1 [2u, f], ffn2 [f, u]
 * @returns [b, e, e, u]
 *
 * @example
 * const m = concatFfnPairMatrix(entity, context, hidden.slice([0, 0, 0], [-1, 1, -1]).squeeze([1]), pairMask, params);
 */
export function concatFfnPairMatrix(
  entity: tf.Tensor3D,
  context: tf.Tensor4D,
  doc: tf.Tensor2D,
  pairMask: tf.Tensor3D,
  params: PairFfnParams,
): tf.Tensor4D {
  const dims = checkShape('entity', entity.shape, ['b', 'e', 'd']);
  checkShape('context', context.shape, ['b', 'e', 'e', 'd'], dims);
  checkShape('doc', doc.shape, ['b', 'd'], dims);
  checkPairs(pairMask, dims);
  checkFfn(params, 3, dims);
  return tf.tidy(() => {
    const us = pairProjection(entity, context, doc, params.subject, 2); // [b,e,e,u]
    const uo = pairProjection(entity, context, doc, params.object, 1); // [b,e,e,u]
    return maskPairs(ffn(tf.concat([us, uo], 3), params), pairMask);
  });
}

/**
 * DocRE-II initial pair features (eqs. 2–3): `F_so = FFN([tanh(W_s[e_s ; c_so]) ; tanh(W_o[e_o ; c_so])])`.
 *
 * @param entity [b, e, d] entity embeddings
 * @param context [b, e, e, d] localized context
 * @param pairMask [b, e, e] float32
 * @param params subject/object kernel [2d, u], ffn1 [2u, f], ffn2 [f, u]
 * @returns [b, e, e, u]
 *
 * @example
 * const f0 = gatedPairMatrix(entity, context, pairMask, params);
 */
export function gatedPairMatrix(
  entity: tf.Tensor3D,
  context: tf.Tensor4D,
  pairMask: tf.Tensor3D,
  params: PairFfnParams,
): tf.Tensor4D {
  const dims = checkShape('entity', entity.shape, ['b', 'e', 'd']);
  checkShape('context', context.shape, ['b', 'e', 'e', 'd'], dims);
  checkPairs(pairMask, dims);
  checkFfn(params, 2, dims);
  return tf.tidy(() => {
    const zs = tf.tanh(pairProjection(entity, context, undefined, params.subject, 2)); // [b,e,e,u]
    const zo = tf.tanh(pairProjection(entity, context, undefined, params.object, 1)); // [b,e,e,u]
    return maskPairs(ffn(tf.concat([zs, zo], 3), params), pairMask);
  });
}

/** Arguments of {@link EntityPairMatrixLayer}. */
export interface EntityPairMatrixLayerArgs extends LayerArgs {
  /** Which paper's feature map. Required. */
  strategy: PairStrategy;
  /** u, output width. Required for context, concat-ffn and gated; must be omitted for similarity (width d + 2). */
  units?: number;
  /** f, hidden width of the FFN (concat-ffn, gated). Default `units`. */
  ffnUnits?: number;
  /** Kernel initializer. Default 'glorotUniform'; biases start at zero. */
  kernelInitializer?: InitializerName;
}

/** Number of inputs and their names for each strategy (pairMask always last). */
const STRATEGY_INPUTS: Record<PairStrategy, readonly string[]> = {
  context: ['context', 'pairMask'],
  similarity: ['entity', 'pairMask'],
  'concat-ffn': ['entity', 'context', 'doc', 'pairMask'],
  gated: ['entity', 'context', 'pairMask'],
};

/**
 * Entity-pair matrix builder owning the weights of one strategy. Inputs, by strategy:
 *
 * | strategy | `apply([...])` | output |
 * |---|---|---|
 * | context | `[context [b,e,e,d], pairMask [b,e,e]]` | [b,e,e,u] |
 * | similarity | `[entity [b,e,d], pairMask]` | [b,e,e,d+2] |
 * | concat-ffn | `[entity, context, doc [b,d], pairMask]` | [b,e,e,u] |
 * | gated | `[entity, context, pairMask]` | [b,e,e,u] |
 *
 * Weights: context `projection/kernel [d,u]`, `projection/bias`; similarity `bilinear [d,d]`;
 * concat-ffn / gated `subject/kernel [3d|2d, u]`, `subject/bias`, `object/…`, `ffn1/kernel [2u,f]`,
 * `ffn1/bias`, `ffn2/kernel [f,u]`, `ffn2/bias`.
 *
 * @example
 * const pairs = new EntityPairMatrixLayer({ strategy: 'gated', units: 256 });
 * const f = pairs.apply([entity, context, pairMask]) as tf.Tensor4D; // [b, e, e, 256]
 */
export class EntityPairMatrixLayer extends tf.layers.Layer {
  static className = 'EntityPairMatrixLayer';
  readonly strategy: PairStrategy;
  readonly units: number | undefined;
  readonly ffnUnits: number | undefined;
  readonly kernelInitializer: InitializerName;
  private params: Record<string, tf.LayerVariable> = {};

  constructor(args: EntityPairMatrixLayerArgs) {
    super(args);
    if (!PAIR_STRATEGIES.includes(args.strategy))
      throw new ArgumentError('strategy', PAIR_STRATEGIES.join(' | '), args.strategy);
    this.strategy = args.strategy;
    if (this.strategy === 'similarity') {
      if (args.units !== undefined && args.units !== null)
        throw new ArgumentError(
          'units',
          "undefined for strategy 'similarity' (its width is d + 2)",
          args.units,
        );
      if (args.ffnUnits !== undefined && args.ffnUnits !== null)
        throw new ArgumentError('ffnUnits', "undefined for strategy 'similarity'", args.ffnUnits);
    } else if (!Number.isInteger(args.units) || args.units! < 1) {
      throw new ArgumentError('units', `a positive integer for strategy '${this.strategy}'`, args.units);
    }
    this.units = this.strategy === 'similarity' ? undefined : args.units;
    const ffnUsed = this.strategy === 'concat-ffn' || this.strategy === 'gated';
    this.ffnUnits = ffnUsed ? (args.ffnUnits ?? args.units) : undefined;
    if (ffnUsed && (!Number.isInteger(this.ffnUnits) || this.ffnUnits! < 1))
      throw new ArgumentError('ffnUnits', 'a positive integer', args.ffnUnits);
    this.kernelInitializer = args.kernelInitializer ?? 'glorotUniform';
    initializerFromName(this.kernelInitializer);
  }

  private shapes(inputShape: tf.Shape | tf.Shape[]): Record<string, tf.Shape> {
    const names = STRATEGY_INPUTS[this.strategy];
    const list = shapesOf(
      inputShape,
      names.length,
      `${this.name} (strategy '${this.strategy}': ${names.join(', ')})`,
    );
    return Object.fromEntries(names.map((n, i) => [n, list[i]!]));
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = this.shapes(inputShape);
    const src = s['entity'] ?? s['context']!;
    const d = src[src.length - 1]!;
    const add = (name: string, shape: number[], zero = false) => {
      this.params[name] = this.addWeight(
        name,
        shape,
        'float32',
        zero ? tf.initializers.zeros() : initializerFromName(this.kernelInitializer),
      );
    };
    const u = this.units!;
    const f = this.ffnUnits!;
    switch (this.strategy) {
      case 'context':
        add('projection/kernel', [d, u]);
        add('projection/bias', [u], true);
        break;
      case 'similarity':
        add('bilinear', [d, d]);
        break;
      case 'concat-ffn':
      case 'gated': {
        const parts = this.strategy === 'gated' ? 2 : 3;
        for (const side of ['subject', 'object']) {
          add(`${side}/kernel`, [parts * d, u]);
          add(`${side}/bias`, [u], true);
        }
        add('ffn1/kernel', [2 * u, f]);
        add('ffn1/bias', [f], true);
        add('ffn2/kernel', [f, u]);
        add('ffn2/bias', [u], true);
      }
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = this.shapes(inputShape);
    const mask = s['pairMask']!;
    if (this.strategy === 'similarity') {
      const d = s['entity']![2];
      return [mask[0]!, mask[1]!, mask[2]!, d == null ? null : d + 2];
    }
    return [mask[0]!, mask[1]!, mask[2]!, this.units!];
  }

  private dense(name: string): DenseParams {
    return {
      kernel: this.params[`${name}/kernel`]!.read() as tf.Tensor2D,
      bias: this.params[`${name}/bias`]!.read() as tf.Tensor1D,
    };
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const names = STRATEGY_INPUTS[this.strategy];
      const list = tensorsOf(
        inputs,
        names.length,
        `${this.name} (strategy '${this.strategy}': ${names.join(', ')})`,
      );
      const x = Object.fromEntries(names.map((n, i) => [n, list[i]!])) as Record<string, tf.Tensor>;
      const pairMask = x['pairMask'] as tf.Tensor3D;
      switch (this.strategy) {
        case 'context':
          return contextPairMatrix(x['context'] as tf.Tensor4D, pairMask, this.dense('projection'));
        case 'similarity':
          return similarityPairMatrix(
            x['entity'] as tf.Tensor3D,
            pairMask,
            this.params['bilinear']!.read() as tf.Tensor2D,
          );
        case 'concat-ffn':
        case 'gated': {
          const params: PairFfnParams = {
            subject: this.dense('subject'),
            object: this.dense('object'),
            ffn1: this.dense('ffn1'),
            ffn2: this.dense('ffn2'),
          };
          const entity = x['entity'] as tf.Tensor3D;
          const context = x['context'] as tf.Tensor4D;
          return this.strategy === 'gated'
            ? gatedPairMatrix(entity, context, pairMask, params)
            : concatFfnPairMatrix(entity, context, x['doc'] as tf.Tensor2D, pairMask, params);
        }
        default:
          throw new ShapeError('strategy', PAIR_STRATEGIES.join(' | '), String(this.strategy));
      }
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      strategy: this.strategy,
      ...(this.units !== undefined ? { units: this.units } : {}),
      ...(this.ffnUnits !== undefined ? { ffnUnits: this.ffnUnits } : {}),
      kernelInitializer: this.kernelInitializer,
    };
  }
}
registerClass(EntityPairMatrixLayer);
