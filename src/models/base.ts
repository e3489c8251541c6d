/**
 * What the five models share: the encoder step (cached features or a trainable encoder), the
 * bookkeeping of sub-layers and raw parameters by variable group, checkpoint save/load, and the
 * pair-level decode mask. The math of every model lives in the layers and losses it calls
 * (src/heads, src/losses); this file holds none.
 *
 * Checkpoint format (`dir/`): `model.json` = `{format: 'docre-kit-model', version: 1, name,
 * config, weights: [{name, shape, offset}]}` and `weights.bin` = the float32 values in manifest
 * order. Weight names are stable model-local paths (`bilinear/kernel`, `inference/layer0/fusion/bias`):
 * the registered part's name and the weight's name inside it — not tfjs' global layer names
 * (those carry a process-wide counter) and not positions (adding a weight renumbers nothing).
 * Checkpoints written before that (`bilinear/0:kernel`, the weight's position in its layer) load:
 * `stableWeightName` maps their names.
 *
 * Dimension letters: b n d h m e r (DESIGN.md).
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, ShapeError } from '../core/errors.js';
import { withSeededRandom } from '../core/initializers.js';
import { float16ToFloat32, float32ToFloat16 } from '../core/safetensors.js';
import { syntheticBatch } from './synthetic.js';
import type {
  DocREModel,
  EncoderOutput,
  ForwardOptions,
  ForwardOutput,
  ModelInput,
  TrainableEncoder,
} from './types.js';

/** Options every model config accepts. */
export interface CommonModelConfig {
  /** encoder width d (must match `hidden`'s last dim). Required. */
  readonly hiddenSize: number;
  /** relation classes r including class 0 (DocRED: 97). Required. */
  readonly numClasses: number;
  /**
   * Seed of the weight initialisation (and of the model's own random sequences: DRE-MIR's pair
   * masking, GTN's node masking, DocRE-II's noise). Default 0: two models built with the same
   * config start from the same weights.
   */
  readonly seed?: number;
  /** trainable encoder used when the batch carries no `hidden`/`attention`. Not saved. */
  readonly encoder?: TrainableEncoder;
}

interface Part {
  readonly layer: tf.layers.Layer;
  readonly group: string;
}
interface Param {
  readonly variable: tf.Variable;
  readonly group: string;
}

const FORMAT = 'docre-kit-model';

/** The saved `model.json`. */
export interface SavedModelJSON {
  readonly format: typeof FORMAT;
  readonly version: 1;
  readonly name: string;
  readonly config: Record<string, unknown>;
  readonly weights: { name: string; shape: number[]; offset: number }[];
  /** How weights.bin stores the values (little-endian); absent = float32. `offset`s count values. */
  readonly dtype?: 'float32' | 'float16';
}

export abstract class BaseModel<C extends CommonModelConfig> implements DocREModel {
  abstract readonly name: string;
  readonly config: Omit<C, 'encoder'>;
  protected readonly encoder: TrainableEncoder | undefined;
  private readonly parts = new Map<string, Part>();
  private readonly params = new Map<string, Param>();

  constructor(config: C) {
    positiveInt('hiddenSize', config.hiddenSize);
    positiveInt('numClasses', config.numClasses);
    if (config.numClasses < 2)
      throw new ArgumentError('numClasses', '>= 2 (class 0 + relations)', config.numClasses);
    const { encoder, ...rest } = config;
    this.config = rest;
    this.encoder = encoder;
  }

  abstract forward(batch: ModelInput, options?: ForwardOptions): ForwardOutput;
  /** The paper's decoder applied to logits [b,e,e,r] → multi-hot [b,e,e,r] (before pair masking). */
  protected abstract decode(logits: tf.Tensor4D): tf.Tensor;

  /** Forward without labels, decode, and zero predictions outside `pairMask`. */
  predict(batch: ModelInput): tf.Tensor4D {
    return tf.tidy(() => {
      const { logits } = this.forward({ ...batch, labels: undefined }, { training: false });
      return this.maskPairs(this.decode(logits), batch.pairMask);
    });
  }

  /** Registers a sub-layer under a stable name and a variable group; returns it. */
  protected layer<L extends tf.layers.Layer>(name: string, layer: L, group = 'heads'): L {
    if (this.parts.has(name) || this.params.has(name)) throw new ArgumentError('layer name', 'unique', name);
    this.parts.set(name, { layer, group });
    return layer;
  }

  /** Creates a raw parameter (e.g. a learned mask vector or embedding table). */
  protected param(name: string, init: tf.Tensor, group = 'heads'): tf.Variable {
    if (this.parts.has(name) || this.params.has(name)) throw new ArgumentError('param name', 'unique', name);
    const variable = tf.variable(init, true);
    init.dispose();
    this.params.set(name, { variable, group });
    return variable;
  }

  /**
   * `{hidden [b,n,d], attention [b,h,n,n]}`: taken from the batch when present (frozen encoder,
   * cached features), otherwise computed by the trainable encoder.
   */
  protected encode(batch: ModelInput, training: boolean): EncoderOutput {
    this.ensureBuilt(); // weights come from buildWeights (seeded, from the config), never from a user's batch
    let out: EncoderOutput;
    if (batch.hidden && batch.attention) out = { hidden: batch.hidden, attention: batch.attention };
    else if (this.encoder && batch.inputIds && batch.attentionMask)
      out = this.encoder.encode(batch.inputIds, batch.attentionMask, { training });
    else
      throw new ArgumentError(
        'batch',
        '{hidden, attention} (cached encoder features) or inputIds + attentionMask with config.encoder',
        Object.keys(batch),
      );
    const d = out.hidden.shape[2];
    if (out.hidden.rank !== 3 || d !== this.config.hiddenSize)
      throw new ShapeError(
        'hidden',
        `[b, n, ${this.config.hiddenSize}] (config.hiddenSize)`,
        out.hidden.shape,
      );
    if (out.attention.rank !== 4) throw new ShapeError('attention', '[b, h, n, n]', out.attention.shape);
    return out;
  }

  /** Checks the classification width of labels against the config. */
  protected checkLabels(batch: ModelInput): void {
    const l = batch.labels;
    if (l && l.shape[3] !== this.config.numClasses)
      throw new ShapeError('labels', `[b, e, e, ${this.config.numClasses}] (config.numClasses)`, l.shape);
  }

  /**
   * Ensures every weight exists before anything reads or trains them (`buildWeights`, seeded by
   * `config.seed`), so the variable list never grows after the first optimizer step.
   */
  protected ensureBuilt(): void {
    if (this.built) return;
    this.built = true;
    // the layers' unseeded tfjs initializers draw their seeds from Math.random: seeded here
    withSeededRandom(this.config.seed ?? 0, () => this.buildWeights());
    const unbuilt = [...this.parts].filter(([, p]) => !p.layer.built).map(([n]) => n);
    if (unbuilt.length)
      throw new ArgumentError(
        `${this.name} buildWeights`,
        'every part built',
        `unbuilt ${unbuilt.join(', ')}`,
      );
  }
  private built = false;

  /**
   * Creates every weight from the config alone. The paper models build each part for its input
   * shapes (`buildLayer`) in the order their forward pass first uses the parts, so the seeded
   * initializers draw what a first forward pass would draw. This default, for custom subclasses:
   * one tiny forward pass on a synthetic batch (`probeInput`), and a training pass when some
   * layer is used only in training.
   */
  protected buildWeights(): void {
    tf.tidy(() => {
      const probe = this.probeInput();
      this.forward(probe, { training: false });
      if ([...this.parts.values()].some((p) => !p.layer.built)) this.forward(probe, { training: true });
    });
  }

  /** A tiny labelled input for the default `buildWeights` (override when the model needs extra fields). */
  protected probeInput(): ModelInput {
    return syntheticBatch({ b: 1, n: 6, e: 3, m: 1, d: this.config.hiddenSize, r: this.config.numClasses });
  }

  variableGroups(): Record<string, tf.Variable[]> {
    this.ensureBuilt();
    const groups: Record<string, tf.Variable[]> = {};
    const add = (g: string, v: tf.Variable) => (groups[g] ??= []).push(v);
    for (const { layer, group } of this.parts.values())
      for (const w of layer.trainableWeights) add(group, w.read() as tf.Variable);
    for (const { variable, group } of this.params.values()) add(group, variable);
    const enc = this.encoderVariables();
    if (enc.length) groups['encoder'] = enc;
    return groups;
  }

  /** Groups whose variables the main (generator) objective updates. */
  protected objectiveGroups(): string[] {
    return Object.keys(this.variableGroups());
  }

  trainableVariables(): tf.Variable[] {
    const groups = this.variableGroups();
    return this.objectiveGroups().flatMap((g) => groups[g] ?? []);
  }

  private encoderVariables(): tf.Variable[] {
    const e = this.encoder;
    if (!e) return [];
    if (e.trainableVariables) return e.trainableVariables();
    return (e.trainableWeights ?? []).map((w) =>
      w instanceof tf.Variable ? w : ((w as { read(): tf.Tensor }).read() as tf.Variable),
    );
  }

  /** Every saved weight by its stable path (`part/weight`), in a fixed order. */
  namedWeights(): [string, tf.Variable][] {
    this.ensureBuilt();
    const out: [string, tf.Variable][] = [];
    for (const [name, { layer }] of this.parts)
      for (const w of layer.weights) {
        // tfjs scopes weight names by the layer's (process-unique) name: keep only the local part
        const local = w.originalName.startsWith(`${layer.name}/`)
          ? w.originalName.slice(layer.name.length + 1)
          : w.originalName;
        out.push([`${name}/${local}`, w.read() as tf.Variable]);
      }
    for (const [name, { variable }] of this.params) out.push([name, variable]);
    const seen = new Set<string>();
    for (const [name] of out) {
      if (seen.has(name)) throw new ArgumentError('weight path', 'unique in the model', name);
      seen.add(name);
    }
    return out;
  }

  /**
   * `namedWeights()` and, when a trainable encoder is attached, its variables as `encoder/<name>`:
   * the stable keys of the trainer's `resume.ckpt`.
   */
  namedVariables(): [string, tf.Variable][] {
    const enc = this.encoder?.namedVariables?.() ?? [];
    return [...this.namedWeights(), ...enc.map(([n, v]): [string, tf.Variable] => [`encoder/${n}`, v])];
  }

  async save(dir: string): Promise<void> {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await mkdir(dir, { recursive: true });
    const named = this.namedWeights();
    const weights: SavedModelJSON['weights'] = [];
    const chunks: Float32Array[] = [];
    let offset = 0;
    for (const [name, v] of named) {
      const data = (await v.data()) as Float32Array;
      weights.push({ name, shape: v.shape, offset });
      chunks.push(Float32Array.from(data));
      offset += data.length;
    }
    const all = new Float32Array(offset);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    const json: SavedModelJSON = {
      format: FORMAT,
      version: 1,
      name: this.name,
      config: this.config as Record<string, unknown>,
      weights,
    };
    await writeFile(join(dir, 'weights.bin'), new Uint8Array(all.buffer));
    await writeFile(join(dir, 'model.json'), JSON.stringify(json, null, 1));
  }

  /** Assigns saved values to this model's weights (names and shapes must match). */
  loadWeights(json: SavedModelJSON, values: Float32Array): void {
    const byName = new Map(json.weights.map((w) => [stableWeightName(w.name), w]));
    const named = this.namedWeights();
    for (const [name, v] of named) {
      const w = byName.get(name);
      if (!w) throw new ArgumentError(`checkpoint weight ${name}`, 'present in model.json', 'missing');
      if (w.shape.join(',') !== v.shape.join(','))
        throw new ShapeError(`checkpoint weight ${name}`, `[${v.shape.join(', ')}]`, w.shape);
      const size = v.size;
      tf.tidy(() => v.assign(tf.tensor(values.subarray(w.offset, w.offset + size), v.shape)));
    }
    if (named.length !== json.weights.length)
      throw new ArgumentError('checkpoint', `${named.length} weights`, json.weights.length);
  }

  /** Zeroes predictions outside `pairMask` ([b,e,e] → [b,e,e,r]). */
  protected maskPairs(multiHot: tf.Tensor, pairMask: tf.Tensor3D): tf.Tensor4D {
    return tf.mul(multiHot, pairMask.expandDims(-1)) as tf.Tensor4D;
  }

  dispose(): void {
    // the weights themselves: tfjs' Layer.dispose refuses layers built without apply()
    for (const { layer } of this.parts.values()) for (const w of layer.weights) w.dispose();
    for (const { variable } of this.params.values()) variable.dispose();
  }
}

/**
 * A saved weight's name as today's checkpoints write it: names of the first format
 * (`part/<position>:<weight>`) lose the position (`part/<weight>`); others are unchanged.
 *
 * @example
 * stableWeightName('pairMatrix/2:object/kernel'); // 'pairMatrix/object/kernel'
 */
export function stableWeightName(name: string): string {
  return name.replace(/^([^:]*?)\/\d+:/, '$1/');
}

/** Reads `model.json` + `weights.bin` from `dir`. */
export async function readCheckpoint(dir: string): Promise<{ json: SavedModelJSON; values: Float32Array }> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as SavedModelJSON;
  if (json.format !== FORMAT)
    throw new ArgumentError(`${join(dir, 'model.json')} format`, FORMAT, json.format);
  const buf = await readFile(join(dir, 'weights.bin'));
  if (json.dtype === 'float16') {
    const bits = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const values = new Float32Array(buf.byteLength / 2);
    for (let i = 0; i < values.length; i++) values[i] = float16ToFloat32(bits.getUint16(2 * i, true));
    return { json, values };
  }
  const values = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  return { json, values };
}

/**
 * Rewrites a saved model's weights.bin as float16 (half the bytes; `model.json` gets
 * `dtype: 'float16'`), into `outDir` (default: in place). Values beyond float16's range are an
 * error. Whether predictions stay the same is the caller's check (the shipped model's is in
 * test/extract).
 */
export async function compactCheckpoint(dir: string, outDir = dir): Promise<{ bytes: number }> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { json, values } = await readCheckpoint(dir);
  const out = new DataView(new ArrayBuffer(2 * values.length));
  values.forEach((x, i) => {
    if (Math.abs(x) > 65504) throw new ArgumentError(`${dir} weight value ${i}`, '|x| <= 65504 (float16)', x);
    out.setUint16(2 * i, float32ToFloat16(x), true);
  });
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'weights.bin'), new Uint8Array(out.buffer));
  await writeFile(join(outDir, 'model.json'), JSON.stringify({ ...json, dtype: 'float16' }, null, 1));
  return { bytes: out.byteLength };
}

/** Loads a checkpoint into a model class (the paper models' `static load` goes through their spec). */
export async function loadInto<M extends DocREModel & Pick<BaseModel<CommonModelConfig>, 'loadWeights'>>(
  dir: string,
  expected: string,
  make: (config: Record<string, unknown>) => M,
  overrides: Partial<CommonModelConfig> = {},
): Promise<M> {
  const { json, values } = await readCheckpoint(dir);
  if (json.name !== expected) throw new ArgumentError(`${dir}/model.json name`, expected, json.name);
  const model = make({ ...json.config, ...overrides });
  model.loadWeights(json, values);
  return model;
}

/**
 * Builds `layer` (creates its weights) for inputs of `shape` — one shape or a list, concrete
 * sizes; layers read the widths they need — unless it is built.
 *
 * @example
 * buildLayer(tf.layers.dense({ units: 4 }), [1, 3, 8]); // kernel [8, 4], bias [4]
 */
export function buildLayer(layer: tf.layers.Layer, shape: tf.Shape | tf.Shape[]): void {
  if (layer.built) return;
  layer.build(shape);
  layer.built = true;
}

/** Concrete shapes for `buildLayer`: one document of 3 entities (only the widths matter). */
export const buildShapes = {
  /** `[1, 3, w]`: entity rows */
  entity: (w: number): number[] => [1, 3, w],
  /** `[1, 3, 3, w]`: a pair matrix */
  pairs: (w: number): number[] => [1, 3, 3, w],
  /** `[1, 3, 3]`: a pair mask */
  pairMask: [1, 3, 3],
  /** `[1, w]`: one vector per document */
  doc: (w: number): number[] => [1, w],
};

export function positiveInt(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new ArgumentError(name, 'a positive integer', v);
}

export function fraction(name: string, v: unknown): void {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new ArgumentError(name, 'a number in [0, 1]', v);
}

export function oneOf<T>(name: string, v: T, allowed: readonly T[]): void {
  if (!allowed.includes(v))
    throw new ArgumentError(name, allowed.map((a) => `'${String(a)}'`).join(' | '), v);
}
