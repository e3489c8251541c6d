/**
 * The `docre-kit` command line: one declarative table of subcommands and options, parsed with
 * `node:util` `parseArgs` (strict), validated into typed values, and rendered as `--help`.
 * Every problem is a `UsageError` whose message is one line naming the option and the value.
 */
import { parseArgs } from 'node:util';
import { MODEL_NAMES } from '../models/types.js';

export { MODEL_NAMES };
export const BACKEND_NAMES = ['cpu', 'wasm', 'webgpu', 'tensorflow'] as const;

/** A bad command line (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Where the CLI writes (tests pass their own). */
export interface CliIO {
  readonly stdout: { write(s: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(s: string): unknown; readonly isTTY?: boolean; readonly columns?: number };
}

export { CliError } from '../core/errors.js';

type Kind = 'string' | 'int' | 'number' | 'boolean' | 'choice';

interface OptionSpec {
  readonly kind: Kind;
  /** Placeholder in the help (`FILE`, `DIR`, `N`). */
  readonly arg?: string;
  readonly help: string;
  readonly required?: boolean;
  readonly default?: string | number | boolean;
  readonly choices?: readonly string[];
  /** Smallest allowed value for int/number. */
  readonly min?: number;
  readonly short?: string;
}

interface CommandSpec {
  readonly summary: string;
  readonly usage: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly notes?: string;
}

const backend = {
  kind: 'choice',
  arg: 'NAME',
  choices: BACKEND_NAMES,
  default: 'wasm',
  help: 'TensorFlow.js backend (tensorflow needs @tensorflow/tfjs-node)',
} as const satisfies OptionSpec;
/** Threads of the backend (wasm: its XNNPACK pool, see src/core/backend.ts); default: the machine's cores. */
const threads = {
  kind: 'int',
  arg: 'N',
  min: 1,
  help: "threads of the wasm backend (default: $DOCRE_THREADS, else the machine's cores; other backends ignore it)",
} as const satisfies OptionSpec;
const encoder = {
  kind: 'string',
  arg: 'DIR',
  help: 'Hugging Face encoder directory (config.json, model.safetensors, tokenizer.json); default: the embedded encoder',
} as const satisfies OptionSpec;
const maxDocs = {
  kind: 'int',
  arg: 'N',
  min: 1,
  help: 'use only the first N documents (quick runs)',
} as const satisfies OptionSpec;
const help = { kind: 'boolean', short: 'h', help: 'show this help' } as const satisfies OptionSpec;
const redis = {
  kind: 'string',
  arg: 'URL',
  default: 'redis://127.0.0.1:6379',
  help: 'the Redis server of the queue',
} as const satisfies OptionSpec;
const queueName = {
  kind: 'string',
  arg: 'NAME',
  default: 'docre',
  help: 'BullMQ queue name',
} as const satisfies OptionSpec;
const prefix = {
  kind: 'string',
  arg: 'P',
  default: 'bull',
  help: "BullMQ key prefix ('{docre}': one Redis Cluster slot)",
} as const satisfies OptionSpec;

export const COMMANDS = {
  train: {
    summary: 'train a model on a DocRED-format file, evaluating on a dev file every epoch',
    usage: 'docre-kit train --model NAME --train FILE [--dev FILE] [--out DIR] [options]',
    options: {
      model: {
        kind: 'choice',
        arg: 'NAME',
        choices: MODEL_NAMES,
        required: true,
        help: 'which paper model (its preset)',
      },
      train: {
        kind: 'string',
        arg: 'FILE',
        required: true,
        help: 'training documents (DocRED-format JSON, or a CDR/GDA .data file)',
      },
      dev: {
        kind: 'string',
        arg: 'FILE',
        help: 'dev documents, scored with the official metrics after every epoch',
      },
      encoder,
      finetune: {
        kind: 'boolean',
        help: 'fine-tune the embedded encoder with the heads (it is frozen and its features cached otherwise; a Hugging Face --encoder is always fine-tuned)',
      },
      backend,
      threads,
      epochs: {
        kind: 'int',
        arg: 'N',
        min: 1,
        help: "training epochs (docreii: of stage 1) (default: the preset's, 30)",
      },
      'batch-size': { kind: 'int', arg: 'N', min: 1, help: "documents per batch (default: the preset's)" },
      'accumulation-steps': { kind: 'int', arg: 'N', min: 1, default: 1, help: 'batches per optimizer step' },
      lr: { kind: 'number', arg: 'X', min: 0, help: "learning rate of the heads (default: the preset's)" },
      'encoder-lr': {
        kind: 'number',
        arg: 'X',
        min: 0,
        help: "learning rate of a fine-tuned encoder (default: --lr times the preset's encoder/heads ratio, 5e-5/1e-4 for atlop)",
      },
      'warmup-ratio': {
        kind: 'number',
        arg: 'X',
        min: 0,
        help: "linear warmup fraction (default: the preset's, 0.06)",
      },
      'max-grad-norm': {
        kind: 'number',
        arg: 'X',
        min: 0,
        help: "global-norm clipping, 0: off (default: the preset's, 1)",
      },
      'weight-decay': {
        kind: 'number',
        arg: 'X',
        min: 0,
        help: "AdamW weight decay, not on biases/LayerNorm (default: the preset's)",
      },
      'stage2-epochs': {
        kind: 'int',
        arg: 'N',
        min: 1,
        help: "docreii: epochs of stage 2 (default: the preset's ratio, epochs/2)",
      },
      cache: {
        kind: 'string',
        arg: 'DIR',
        default: '.docre-kit-cache',
        help: 'feature cache of a frozen encoder (encode each file once)',
      },
      out: {
        kind: 'string',
        arg: 'DIR',
        default: 'runs/model',
        help: 'output: best/, last/, resume.ckpt, train-log.json',
      },
      seed: {
        kind: 'int',
        arg: 'N',
        default: 66,
        help: 'seed of the data order and of the model (weight initialisation; masking/noise of dremir, gtn, docreii)',
      },
      config: {
        kind: 'string',
        arg: 'JSON',
        help: `model config overrides as JSON, e.g. '{"embSize":256,"blockSize":32}'`,
      },
      'max-docs': maxDocs,
      'checkpoint-every': {
        kind: 'int',
        arg: 'N',
        min: 0,
        default: 0,
        help: 'resume checkpoint every N steps (0: each epoch)',
      },
      resume: { kind: 'boolean', help: 'continue from DIR/resume.ckpt when it exists' },
      help,
    },
  },
  evaluate: {
    summary: 'score a trained model on a labelled file: P, R, F1, Ign F1, intra/inter F1',
    usage: 'docre-kit evaluate --model-dir DIR --data FILE [--train FILE] [--json OUT]',
    options: {
      'model-dir': {
        kind: 'string',
        arg: 'DIR',
        required: true,
        help: 'a saved model (best/ or last/ of a train run)',
      },
      data: { kind: 'string', arg: 'FILE', required: true, help: 'labelled documents (DocRED-format JSON or CDR/GDA .data)' },
      train: { kind: 'string', arg: 'FILE', help: 'training file whose facts Ign F1 ignores' },
      encoder,
      backend,
      threads,
      json: { kind: 'string', arg: 'OUT', help: 'also write the scores as JSON to OUT' },
      'max-docs': maxDocs,
      help,
    },
  },
  extract: {
    summary: 'raw text (or DocRED documents) to entities and relation triples, with the shipped model by default',
    usage: 'docre-kit extract (--text "…" | --file DOC.txt | --input FILE) [--output FILE.jsonl] [options]',
    options: {
      text: { kind: 'string', arg: 'TEXT', help: 'one document given on the command line' },
      file: { kind: 'string', arg: 'FILE', help: 'one document: the whole text file' },
      input: {
        kind: 'string',
        arg: 'FILE',
        help: 'many documents: plain text (one per line), JSONL of {id?, text} or of DocRED documents, or a DocRED JSON list',
      },
      format: {
        kind: 'choice',
        arg: 'NAME',
        choices: ['auto', 'text', 'jsonl', 'json'],
        default: 'auto',
        help: 'format of --input (auto: by extension, then by the first character)',
      },
      output: { kind: 'string', arg: 'FILE', help: 'write one JSON line per document here (default: a readable table on stdout)' },
      'model-dir': { kind: 'string', arg: 'DIR', help: 'a saved model (default: the shipped pretrained DocuNet)' },
      entities: {
        kind: 'choice',
        arg: 'FROM',
        choices: ['auto', 'marked', 'gold'],
        help: 'entities: automatic recognition, [text|TYPE] marks, or a DocRED document\'s own (default: auto for text, gold for DocRED)',
      },
      threshold: { kind: 'number', arg: 'X', default: 0, help: 'keep relations whose score is above X (0: the model\'s decision)' },
      'top-k': { kind: 'int', arg: 'K', min: 1, help: "at most K relations per entity pair (default: the model's)" },
      'batch-size': { kind: 'int', arg: 'N', min: 1, default: 4, help: 'documents per forward pass (a kill loses at most this many)' },
      resume: { kind: 'boolean', help: 'skip the documents already in --output (after a kill)' },
      strict: { kind: 'boolean', help: 'stop at the first bad input line (default: report it and go on)' },
      backend,
      threads,
      quiet: { kind: 'boolean', short: 'q', help: 'no progress output' },
      help,
    },
  },
  predict: {
    summary: 'extract relations: the official result JSON and a readable list of triples',
    usage: 'docre-kit predict [--model-dir DIR] --data FILE [--out FILE]',
    options: {
      'model-dir': { kind: 'string', arg: 'DIR', help: 'a saved model (default: the shipped pretrained DocuNet)' },
      data: {
        kind: 'string',
        arg: 'FILE',
        required: true,
        help: 'documents (DocRED-format JSON or CDR/GDA .data; labels not needed)',
      },
      out: {
        kind: 'string',
        arg: 'FILE',
        default: 'result.json',
        help: 'official result JSON [{title, h_idx, t_idx, r}]',
      },
      encoder,
      backend,
      threads,
      'max-docs': maxDocs,
      quiet: { kind: 'boolean', short: 'q', help: 'do not print the triples' },
      help,
    },
  },
  bench: {
    summary: 'training throughput and inference latency of the models on a backend (synthetic features)',
    usage: 'docre-kit bench [--model NAME] [--backend NAME] [--quick]',
    options: {
      model: {
        kind: 'choice',
        arg: 'NAME',
        choices: ['all', ...MODEL_NAMES],
        default: 'all',
        help: 'model to measure',
      },
      backend,
      threads,
      docs: { kind: 'int', arg: 'N', min: 1, default: 8, help: 'documents per measurement' },
      entities: {
        kind: 'int',
        arg: 'N',
        min: 2,
        default: 20,
        help: 'entities per document (DocRED mean ≈ 20)',
      },
      tokens: { kind: 'int', arg: 'N', min: 8, default: 256, help: 'tokens per document' },
      quick: { kind: 'boolean', help: 'tiny sizes (smoke run)' },
      help,
    },
  },
  queue: {
    summary:
      'enqueue a file for distributed extraction (jobs of N documents on a BullMQ queue); prints the run id',
    usage: 'docre-kit queue --input FILE [--redis URL] [--queue NAME] [--run ID] [--job-size N]',
    options: {
      input: {
        kind: 'string',
        arg: 'FILE',
        required: true,
        help: 'documents: plain text (one per line), JSONL, or a DocRED JSON list',
      },
      format: {
        kind: 'choice',
        arg: 'NAME',
        choices: ['auto', 'text', 'jsonl', 'json'],
        default: 'auto',
        help: 'input format',
      },
      redis,
      queue: queueName,
      prefix,
      run: { kind: 'string', arg: 'ID', help: "run id (default: a hash of the file's content)" },
      'job-size': { kind: 'int', arg: 'N', min: 1, default: 20, help: 'documents per job' },
      attempts: { kind: 'int', arg: 'N', min: 1, default: 3, help: 'tries per job before the failed set' },
      backoff: {
        kind: 'int',
        arg: 'MS',
        min: 0,
        default: 1000,
        help: 'delay before the first retry, doubled at each retry',
      },
      help,
    },
  },
  worker: {
    summary: 'process extraction jobs from a queue until SIGTERM, which finishes the jobs in flight',
    usage: 'docre-kit worker [--redis URL] [--queue NAME] [--model-dir DIR] [--concurrency N]',
    options: {
      redis,
      queue: queueName,
      prefix,
      'model-dir': { kind: 'string', arg: 'DIR', help: 'a saved model (default: the shipped one)' },
      backend,
      threads,
      entities: {
        kind: 'choice',
        arg: 'HOW',
        choices: ['gold', 'auto', 'marked'],
        help: "entities of text documents: auto (found), marked ([text|TYPE]); DocRED documents' own: gold",
      },
      concurrency: { kind: 'int', arg: 'N', min: 1, default: 1, help: 'jobs in flight at once' },
      'lock-ms': {
        kind: 'int',
        arg: 'MS',
        min: 100,
        default: 30000,
        help: "job lock: a dead worker's job runs again elsewhere after this",
      },
      'stalled-ms': {
        kind: 'int',
        arg: 'MS',
        min: 100,
        default: 30000,
        help: 'how often to look for stalled jobs',
      },
      help,
    },
  },
  collect: {
    summary: "merge a run's results into one JSONL in input order (one line per input document)",
    usage: 'docre-kit collect --run ID [--output FILE] [--wait] [--redis URL] [--queue NAME]',
    options: {
      run: { kind: 'string', arg: 'ID', required: true, help: 'the run id that queue printed' },
      output: { kind: 'string', arg: 'FILE', help: 'the JSONL (written atomically; default: stdout)' },
      wait: { kind: 'boolean', help: 'wait until every job of the run has finished (else: fail if not)' },
      timeout: {
        kind: 'number',
        arg: 'S',
        min: 0,
        default: 0,
        help: 'with --wait: give up after S seconds (0: never)',
      },
      remove: { kind: 'boolean', help: "remove the run's jobs from Redis once written" },
      redis,
      queue: queueName,
      prefix,
      help,
    },
  },
  status: {
    summary: "a run's progress from the queue: jobs waiting, active, delayed, completed, failed",
    usage: 'docre-kit status [--run ID] [--redis URL] [--queue NAME]',
    options: {
      run: { kind: 'string', arg: 'ID', help: 'the run (default: only the queue-wide counts)' },
      redis,
      queue: queueName,
      prefix,
      help,
    },
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;
type Opts<C extends CommandName> = (typeof COMMANDS)[C]['options'];
type ValueOf<S> = S extends { kind: 'int' | 'number' }
  ? number
  : S extends { kind: 'boolean' }
    ? boolean
    : S extends { kind: 'choice'; choices: readonly (infer U)[] }
      ? U
      : string;
type Required<S> = S extends { required: true }
  ? true
  : S extends { default: unknown }
    ? true
    : S extends { kind: 'boolean' }
      ? true
      : false;

/** The parsed, validated options of a subcommand (camel-case-free: keys as on the command line). */
export type ParsedOptions<C extends CommandName> = {
  -readonly [K in keyof Opts<C> as Required<Opts<C>[K]> extends true ? K : never]: ValueOf<Opts<C>[K]>;
} & {
  -readonly [K in keyof Opts<C> as Required<Opts<C>[K]> extends true ? never : K]?: ValueOf<Opts<C>[K]>;
};

export const PROGRAM_HELP = `docre-kit — document-level relation extraction (ATLOP, DocuNet, DRE-MIR, GTN, DocRE-II)

usage: docre-kit <command> [options]      docre-kit <command> --help

commands:
${Object.entries(COMMANDS as Record<string, CommandSpec>)
  .map(([n, c]) => `  ${n.padEnd(10)}${c.summary}`)
  .join('\n')}
`;

/** The `--help` text of a subcommand. */
export function commandHelp(name: CommandName): string {
  const c = COMMANDS[name] as CommandSpec;
  const rows = Object.entries(c.options).map(([k, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${k}${o.arg ? ` ${o.arg}` : ''}`;
    const extra = [
      o.choices ? `one of ${o.choices.join(' | ')}` : '',
      o.required ? 'required' : o.default !== undefined && o.kind !== 'boolean' ? `default ${o.default}` : '',
    ].filter(Boolean);
    return `  ${flag.padEnd(30)}${o.help}${extra.length ? ` (${extra.join('; ')})` : ''}`;
  });
  return `docre-kit ${name}: ${c.summary}\n\nusage: ${c.usage}\n\noptions:\n${rows.join('\n')}\n`;
}

/**
 * Parses the arguments after the subcommand name. Returns `'help'` when `--help` is given.
 *
 * @example
 * const o = parseCommand('train', ['--model', 'atlop', '--train', 'train.json']);
 * o['accumulation-steps']; // 1 (epochs, lrs, batch size: undefined = the model's preset)
 */
export function parseCommand<C extends CommandName>(
  name: C,
  argv: readonly string[],
): ParsedOptions<C> | 'help' {
  const spec = COMMANDS[name] as CommandSpec;
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [k, o] of Object.entries(spec.options))
    options[k] = {
      type: o.kind === 'boolean' ? 'boolean' : 'string',
      ...(o.short ? { short: o.short } : {}),
    };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }) as {
      values: Record<string, string | boolean | undefined>;
    });
  } catch (e) {
    throw new UsageError(parseArgsMessage(e));
  }
  if (values['help']) return 'help';
  const out: Record<string, unknown> = {};
  for (const [k, o] of Object.entries(spec.options)) {
    if (k === 'help') continue;
    const raw = values[k];
    if (raw === undefined) {
      if (o.required) throw new UsageError(`--${k} ${o.arg ?? ''} is required`.replace(/ +is/, ' is'));
      if (o.default !== undefined) out[k] = o.default;
      else if (o.kind === 'boolean') out[k] = false;
      continue;
    }
    out[k] = convert(k, o, raw);
  }
  return out as ParsedOptions<C>;
}

function convert(k: string, o: OptionSpec, raw: string | boolean): unknown {
  if (o.kind === 'boolean') return raw;
  const s = String(raw);
  if (o.kind === 'string') {
    if (s === '') throw new UsageError(`--${k} expects ${o.arg ?? 'a value'}, got an empty string`);
    return s;
  }
  if (o.kind === 'choice') {
    if (!o.choices!.includes(s))
      throw new UsageError(`--${k} must be one of ${o.choices!.join(', ')}; got '${s}'`);
    return s;
  }
  const x = Number(s);
  const ok = s.trim() !== '' && Number.isFinite(x) && (o.kind === 'number' || Number.isInteger(x));
  const what = o.kind === 'int' ? 'an integer' : 'a number';
  if (!ok) throw new UsageError(`--${k} expects ${what}, got '${s}'`);
  if (o.min !== undefined && x < o.min) throw new UsageError(`--${k} must be >= ${o.min}, got ${s}`);
  return x;
}

/** One line from a parseArgs error (their messages run over several lines). */
function parseArgsMessage(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = String(err.message ?? e);
  const opt = /'(-[^']*)'/.exec(msg)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${opt ?? msg}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing|ambiguous/.test(msg)
        ? `option '${opt?.split(' ')[0] ?? ''}' needs a value`
        : msg.split('\n')[0]!;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${/'([^']*)'/.exec(msg)?.[1] ?? msg}'`;
    default:
      return msg.split('\n')[0]!;
  }
}
