/** cli: the `docre-kit` command as a function (`runCli`), its argument table and errors. */
export { runCli, CliError, type CliIO } from './cli.js';
export {
  COMMANDS,
  MODEL_NAMES,
  UsageError,
  commandHelp,
  parseCommand,
  type CommandName,
  type ParsedOptions,
} from './args.js';
