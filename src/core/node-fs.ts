/** Guarded access to node:fs so that browser bundles of the core do not break. */
import * as fs from 'node:fs';
export const existsSync = (p: string): boolean => {
  try {
    return fs.existsSync(p);
  } catch {
    return false;
  }
};
