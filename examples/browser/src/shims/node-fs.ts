/** Browser stand-in for `node:fs`: nothing exists on a file system the page does not have. */
export const existsSync = (): boolean => false;
const nodeOnly = (name: string) => (): never => {
  throw new Error(`fs.${name} is not available in the browser (Node only)`);
};
export const readFileSync = nodeOnly('readFileSync');
export const writeFileSync = nodeOnly('writeFileSync');
export const mkdirSync = nodeOnly('mkdirSync');
export const statSync = nodeOnly('statSync');
export const readdirSync = nodeOnly('readdirSync');
export const renameSync = nodeOnly('renameSync');
export const createReadStream = nodeOnly('createReadStream');
export const createWriteStream = nodeOnly('createWriteStream');
export const promises = {};
export default {
  existsSync,
  readFileSync,
  writeFileSync,
  mkdirSync,
  statSync,
  readdirSync,
  renameSync,
  createReadStream,
  createWriteStream,
  promises,
};
