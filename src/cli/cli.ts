/**
 * `runCli(argv)`: dispatches `docre-kit <command>` and turns every failure into one line on stderr
 * and an exit code — 2 for a bad command line (`UsageError`), 1 for anything that went wrong
 * while running (unreadable or malformed files, a missing backend). `DOCRE_DEBUG=1` adds the stack.
 * Subcommands load lazily, so `--help` answers without starting TensorFlow.js.
 */
import {
  COMMANDS,
  PROGRAM_HELP,
  UsageError,
  commandHelp,
  parseCommand,
  type CliIO,
  type CommandName,
} from './args.js';

export { CliError, type CliIO } from './args.js';

/**
 * Runs the CLI; resolves with the process exit code.
 *
 * @example
 * process.exitCode = await runCli(['evaluate', '--model-dir', 'runs/atlop/best', '--data', 'dev.json']);
 */
export async function runCli(argv: readonly string[], io: CliIO = process): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    (cmd === undefined ? io.stderr : io.stdout).write(PROGRAM_HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (!(cmd in COMMANDS)) {
    io.stderr.write(
      `docre-kit: unknown command '${cmd}' (commands: ${Object.keys(COMMANDS).join(', ')}; see docre-kit --help)\n`,
    );
    return 2;
  }
  const name = cmd as CommandName;
  try {
    const opts = parseCommand(name, rest);
    if (opts === 'help') {
      io.stdout.write(commandHelp(name));
      return 0;
    }
    const { runCommand } = await import('./commands.js');
    await runCommand(name, opts, io);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`docre-kit ${name}: ${e.message} (see docre-kit ${name} --help)\n`);
      return 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    io.stderr.write(`docre-kit ${name}: ${oneLine(msg)}${heapHint(e)}\n`);
    if (process.env['DOCRE_DEBUG'] && e instanceof Error && e.stack) io.stderr.write(e.stack + '\n');
    return 1;
  }
}

/**
 * What to do when the wasm backend ran out of its 4 GiB heap: tfjs' wasm kernels then fail with a
 * `WebAssembly.RuntimeError` ("memory access out of bounds") or an Emscripten abort, not with an
 * allocation error.
 */
export function heapHint(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const wasm =
    (typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError) ||
    /memory access out of bounds|^Aborted\(|Cannot enlarge memory|Out of memory/i.test(msg);
  return wasm
    ? " (the wasm backend's 4 GiB heap is probably exhausted: use a smaller --batch-size with --accumulation-steps for the same optimizer steps, e.g. --batch-size 1 --accumulation-steps 4)"
    : '';
}

/** A multi-line message (e.g. a data file's list of problems) as one line: the first two lines and a count. */
export function oneLine(msg: string): string {
  const lines = msg
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length <= 2) return lines.join(' ');
  return `${lines[0]} ${lines[1]} (+${lines.length - 2} more)`;
}
