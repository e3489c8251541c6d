/**
 * Browser stand-in for Node-only modules the library imports on Node paths (`node:module`,
 * `node:crypto`, `node:url`, `node:util`, `node:readline` — the CLI's argument parser and the
 * file-record reader of `extract` —, `node:os`, `node:worker_threads`, and `webgpu`, Dawn for
 * Node: browsers have `navigator.gpu`). Any use throws; `node:worker_threads`' flags say "the
 * main thread, no parent" (src/core/threads.ts reads them when a module loads).
 */
const fail = (name: string) => (): never => {
  throw new Error(`${name} is Node only and not available in the browser`);
};
export const createRequire = fail('node:module createRequire');
export const createHash = fail('node:crypto createHash');
export const fileURLToPath = fail('node:url fileURLToPath');
export const promisify = fail('node:util promisify');
export const parseArgs = fail('node:util parseArgs');
export const createInterface = fail('node:readline createInterface');
export const create = fail('webgpu (Dawn) create');
export const availableParallelism = fail('node:os availableParallelism');
export const Worker = fail('node:worker_threads Worker');
export const isMainThread = true;
export const parentPort = null;
export const workerData = null;
export const globals = {};
export default {};
