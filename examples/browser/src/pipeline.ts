/**
 * The demo's pipeline, the same steps as `docre-kit predict` (src/cli/pipeline.ts) in the browser:
 * backend → embedded encoder → saved model (+ its `docre-kit.json`: schema and markers) → read
 * the document → featurize (markers) → collate → encode → `model.predict` → official triples.
 * Besides the triples it returns the entity-pair matrix as probabilities for the heatmap and, for
 * DocRE-II, the matrix after each of its K inference iterations. Every stage is timed; stages that
 * run on the GPU end with a read of their result so the time is the GPU's, not the queueing's.
 *
 * Probability shown per pair and relation: `σ(logit_r − θ)`, with θ = `logit_0` (the adaptive
 * threshold: ATLOP, DRE-MIR, GTN, DocRE-II) or 0 (balanced softmax: DocuNet). A relation is
 * predicted exactly when it is above 0.5 (and within the model's top-k), so the heatmap and the
 * triples agree.
 *
 * Dimension letters: b n d h m e r (DESIGN.md). The demo runs one document at a time (b = 1).
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as E from 'fp-ts/lib/Either.js';
import {
  BaseModel,
  DocREIIModel,
  EmbeddedEncoder,
  Featurizer,
  RelationSchema,
  collate,
  createModel,
  initBackend,
  isStagedModel,
  loadModel,
  parseMarkedText,
  readCheckpoint,
  readDocRED,
  triplesFromPredictions,
  type BackendInfo,
  type CommonModelConfig,
  type DataError,
  type DocREDDocument,
  type DocREModel,
  type MarkerStyle,
  type OfficialTriple,
  type SavedModelJSON,
} from 'docre-kit';

/** A stage name and its wall-clock milliseconds. */
export type Timings = Record<string, number>;

/** What `docre-kit train` writes next to a model (`docre-kit.json`); the fields the demo reads. */
interface RunFile {
  readonly format: 'docre-kit-run';
  readonly encoder: string;
  readonly markers: MarkerStyle;
  readonly schema: {
    readonly ids: readonly string[];
    readonly names: readonly string[];
    readonly naAliases: readonly string[];
  };
}

/** An error meant for the page, one readable line. */
export class DemoError extends Error {
  override readonly name = 'DemoError';
}

/** Runs `f`, adding its milliseconds to `timings[stage]`. */
async function timed<A>(timings: Timings, stage: string, f: () => A | Promise<A>): Promise<A> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    timings[stage] = (timings[stage] ?? 0) + performance.now() - t0;
  }
}

const dataError = (what: string, e: DataError): DemoError => new DemoError(`${what}: ${e.message}`);
const oneLine = (e: unknown): string => String((e as Error)?.message ?? e).split('\n')[0]!;

/**
 * Backend: `webgpu` when the browser has it, else `wasm` (with the reason, for the page's notice).
 * `prefer: 'wasm'` skips WebGPU.
 */
export async function startBackend(
  prefer: 'webgpu' | 'wasm',
  wasmDir: string,
): Promise<{ info: BackendInfo; fallback?: string }> {
  setWasmPaths(wasmDir);
  if (prefer === 'webgpu') {
    try {
      return { info: await initBackend('webgpu') };
    } catch (e) {
      const info = await initBackend('wasm');
      return { info, fallback: oneLine(e) };
    }
  }
  return { info: await initBackend('wasm') };
}

/** The embedded encoder from a URL directory (model.json, shards, vocab.json). */
export async function loadEncoder(dir: string): Promise<EmbeddedEncoder> {
  try {
    return await EmbeddedEncoder.load({ dir });
  } catch (e) {
    throw new DemoError(`cannot load the embedded encoder from '${dir}': ${oneLine(e)}`);
  }
}

/** A loaded model with what is needed to run it. */
export interface LoadedModel {
  readonly model: DocREModel;
  readonly name: string;
  readonly schema: RelationSchema;
  readonly markers: MarkerStyle;
  /** Weights (floats) and where the model came from, for the page. */
  readonly parameters: number;
  readonly source: string;
  /** DocRE-II: models sharing the weights that stop after t = 1 … K−1 iterations. */
  readonly iterationModels: readonly DocREModel[];
  /** DocRE-II: K, else 0. */
  readonly iterations: number;
  /** At most this many relations per pair at decode (the model's `topK`). */
  readonly topK: number;
  dispose(): void;
}

/**
 * Loads a model directory written by `docre-kit train` / `model.save(dir)`: `model.json` and
 * `weights.bin` via the library's own `loadModel(dir)`, and `docre-kit.json` for the relation
 * schema and marker style (without it: DocRED's 97 relations with `*` markers when r = 97).
 */
export async function loadSavedModel(dir: string, encoder: EmbeddedEncoder): Promise<LoadedModel> {
  const where = dir.startsWith('/picked/') ? 'the picked files' : `'${dir}'`;
  let checkpoint: { json: SavedModelJSON; values: Float32Array };
  try {
    checkpoint = await readCheckpoint(dir);
  } catch (e) {
    const msg = oneLine(e);
    throw new DemoError(
      `cannot load the model in ${where}: ${/JSON|Unexpected token/.test(msg) ? `model.json is not a docre-kit model file (${msg})` : msg}`,
    );
  }
  const { json, values } = checkpoint;
  const config = json.config as unknown as CommonModelConfig;
  if (config.hiddenSize !== encoder.hiddenSize)
    throw new DemoError(
      `the model in ${where} expects encoder width ${config.hiddenSize}, the embedded encoder gives ${encoder.hiddenSize}: ` +
        'the demo runs models trained with the embedded encoder (docre-kit train without --encoder)',
    );
  const run = await readRunFile(dir);
  if (run && run.encoder !== 'embedded')
    throw new DemoError(
      `the model in ${where} was trained with the encoder '${run.encoder}'; the demo runs the embedded encoder only`,
    );
  const schema = run
    ? new RelationSchema(run.schema.ids, run.schema.names, run.schema.naAliases)
    : RelationSchema.docred();
  if (schema.size !== config.numClasses)
    throw new DemoError(
      `the model in ${where} has ${config.numClasses} classes but ${run ? 'its docre-kit.json schema' : "DocRED's schema (no docre-kit.json)"} has ${schema.size}`,
    );
  let model: DocREModel;
  try {
    model = await loadModel(dir);
  } catch (e) {
    throw new DemoError(`cannot load the model in ${where}: ${oneLine(e)}`);
  }
  // the loaded config is resolved: every default is filled in
  const K = model instanceof DocREIIModel && model.trainingStage === 2 ? model.config.iterations : 0;
  // iteration t < K: the same weights in a model configured to stop after t iterations
  const iterationModels = Array.from({ length: Math.max(0, K - 1) }, (_, i) => {
    const m = createModel(json.name, { ...(json.config as unknown as CommonModelConfig), iterations: i + 1 });
    (m as BaseModel<CommonModelConfig>).loadWeights(json, values);
    return m;
  });
  return {
    model,
    name: json.name,
    schema,
    markers: run?.markers ?? 'star',
    parameters: values.length,
    source: dir,
    iterationModels,
    iterations: K,
    topK: (model.config as { topK: number }).topK,
    dispose: () => [model, ...iterationModels].forEach((m) => m.dispose()),
  };
}

async function readRunFile(dir: string): Promise<RunFile | undefined> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = (await readFile(`${dir.replace(/\/$/, '')}/docre-kit.json`, 'utf8')) as string;
  } catch {
    return undefined; // optional
  }
  try {
    const run = JSON.parse(text) as RunFile;
    if (run.format !== 'docre-kit-run') throw new Error(`format ${JSON.stringify(run.format)}`);
    return run;
  } catch (e) {
    throw new DemoError(`docre-kit.json next to the model is not a docre-kit run file (${oneLine(e)})`);
  }
}

/** The document text → documents: DocRED JSON (an array, or one document object) or marked text. */
export function readInput(text: string, format: 'auto' | 'json' | 'marked'): DocREDDocument[] {
  const isJSON = format === 'json' || (format === 'auto' && /^\s*(\[\s*)?\{/.test(text));
  if (!isJSON) {
    const r = parseMarkedText(text);
    if (E.isLeft(r)) throw new DemoError(r.left.message); // "marked text: line 1, column 19: …"
    return [r.right];
  }
  const wrapped = /^\s*\{/.test(text) ? `[${text}]` : text;
  const docs = readDocRED(wrapped, { file: 'the pasted JSON' });
  if (E.isLeft(docs)) throw dataError('DocRED JSON', docs.left);
  if (docs.right.length === 0) throw new DemoError('DocRED JSON: the array holds no documents');
  return docs.right;
}

/** One entity-pair matrix: `probs[s][o][c]` = σ(logit_c − θ) for c ≥ 1 (c = 0 is θ itself, set to 0). */
export interface PairMatrix {
  readonly label: string;
  readonly probs: number[][][];
}

export interface RunResult {
  readonly document: DocREDDocument;
  /** Entity names (first mention) in vertexSet order. */
  readonly entities: readonly string[];
  readonly triples: readonly OfficialTriple[];
  /** The final matrix, then (DocRE-II) base and each iteration. */
  readonly matrix: PairMatrix;
  readonly iterations: readonly PairMatrix[];
  readonly pieces: number;
  readonly timings: Timings;
}

/**
 * The decode of a probability matrix: `s,o,c` for every class c ≥ 1 above 0.5, at most `topK` per
 * pair (the highest). Equals the models' decode (σ is monotone, so the top-k by probability are the
 * top-k by logit); used for the per-iteration matrices, whose own predictions the models do not return.
 */
export function decodeMatrix(probs: readonly (readonly (readonly number[])[])[], topK: number): Set<string> {
  const out = new Set<string>();
  probs.forEach((row, s) =>
    row.forEach((p, o) => {
      if (s === o) return;
      const above = p.map((v, c) => ({ v, c })).filter(({ v, c }) => c > 0 && v > 0.5);
      above.sort((a, b) => b.v - a.v);
      for (const { c } of above.slice(0, topK)) out.add(`${s},${o},${c}`);
    }),
  );
  return out;
}

/** `[1,e,e,r]` logits → probabilities above the threshold (see the module comment). */
function pairProbabilities(logits: tf.Tensor4D, model: string): tf.Tensor3D {
  return tf.tidy(() => {
    const [, e, , r] = logits.shape;
    const l = logits.reshape([e, e, r]);
    const theta =
      model === 'docunet' ? tf.zerosLike(l.slice([0, 0, 0], [e, e, 1])) : l.slice([0, 0, 0], [e, e, 1]);
    const p = tf.sigmoid(l.sub(theta)); // [e,e,r]
    return tf.concat([tf.zeros([e, e, 1]), p.slice([0, 0, 1], [e, e, r - 1])], 2) as tf.Tensor3D;
  });
}

/**
 * Runs one document through the pipeline.
 * @param doc a validated document (labels, if any, are ignored as `docre-kit predict` does)
 */
export async function runDocument(
  doc: DocREDDocument,
  encoder: EmbeddedEncoder,
  loaded: LoadedModel,
): Promise<RunResult> {
  const timings: Timings = {};
  const unlabelled: DocREDDocument = { title: doc.title, sents: doc.sents, vertexSet: doc.vertexSet };
  const feature = await timed(timings, 'featurize', () => {
    const f = new Featurizer(encoder.tokenizer, { markers: loaded.markers }).featurize(unlabelled, 0);
    if (E.isLeft(f)) throw dataError('featurize', f.left);
    return f.right;
  });
  const batch = await timed(timings, 'collate', () => {
    const b = collate([feature], loaded.schema, { graph: loaded.name === 'gtn' });
    if (E.isLeft(b)) throw dataError('collate', b.left);
    return b.right;
  });
  const tensors: tf.Tensor[] = [];
  try {
    const enc = await timed(timings, 'encode', async () => {
      const out = await encoder.encodeAsync(batch.inputIds, batch.attentionMask);
      tensors.push(out.hidden, out.attention);
      await Promise.all([out.hidden.data(), out.attention.data()]);
      return out;
    });
    const input = { ...batch, hidden: enc.hidden, attention: enc.attention };
    const triples = await timed(timings, 'predict', async () => {
      const multiHot = loaded.model.predict(input);
      tensors.push(multiHot);
      const t = triplesFromPredictions(
        await multiHot.array(),
        batch.titles,
        loaded.schema,
        batch.entityCounts,
      );
      if (E.isLeft(t)) throw dataError('decode', t.left);
      return t.right;
    });
    const matrixOf = async (m: DocREModel, label: string): Promise<PairMatrix> => {
      const { logits, losses } = m.forward(input, { training: false });
      tensors.push(logits, ...Object.values(losses));
      const p = pairProbabilities(logits, loaded.name);
      tensors.push(p);
      return { label, probs: (await p.array()) as number[][][] };
    };
    const matrix = await timed(timings, 'pair matrix', () => matrixOf(loaded.model, 'final'));
    const iterations = await timed(timings, 'iterations', async () => {
      if (loaded.iterations === 0) return [];
      const base = loaded.model;
      if (!isStagedModel(base)) throw new DemoError(`${base.name} has no inference iterations`);
      base.setStage(1);
      let m0: PairMatrix;
      try {
        m0 = await matrixOf(base, 'base (t = 0)');
      } finally {
        base.setStage(2);
      }
      const mids: PairMatrix[] = [];
      for (const [i, m] of loaded.iterationModels.entries()) mids.push(await matrixOf(m, `t = ${i + 1}`));
      return [m0, ...mids, { ...matrix, label: `t = ${loaded.iterations} (final)` }];
    });
    if (loaded.iterations === 0) delete timings['iterations'];
    return {
      document: doc,
      entities: doc.vertexSet.map((ms, i) => ms[0]?.name ?? `#${i}`),
      triples,
      matrix,
      iterations,
      pieces: feature.inputIds.length,
      timings,
    };
  } finally {
    tf.dispose(tensors);
    tf.dispose(batch as unknown as tf.TensorContainer);
  }
}
