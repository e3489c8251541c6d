/**
 * Browser stand-in for `node:fs/promises`: `readFile(path)` answers from the files the user picked
 * (`putFile`) or else fetches `path` from the page's origin. This lets the library's own loaders
 * (`loadModel(dir)`, `readCheckpoint(dir)`, `EmbeddedEncoder.load({ dir })`, `Extractor.load`) run
 * unchanged in the browser with URL directories. `stat` answers what a URL can tell (see there).
 * Writing is Node only.
 */
const picked = new Map<string, Uint8Array>();

/** Makes `bytes` readable at `path` (e.g. `/picked/model.json` for a file chosen in the page). */
export function putFile(path: string, bytes: Uint8Array): void {
  picked.set(path, bytes);
}

/** Removes every picked file under `dir`. */
export function clearFiles(dir: string): void {
  for (const k of [...picked.keys()]) if (k.startsWith(dir)) picked.delete(k);
}

class FileNotFound extends Error {
  readonly code = 'ENOENT';
}

async function readBytes(path: string): Promise<Uint8Array> {
  const own = picked.get(path);
  if (own) return own;
  if (path.startsWith('/picked/'))
    throw new FileNotFound(`ENOENT: no such file '${path.slice('/picked/'.length)}' among the picked files`);
  let res: Response;
  try {
    res = await fetch(path);
  } catch (e) {
    throw new FileNotFound(`cannot fetch '${path}': ${(e as Error).message}`);
  }
  if (!res.ok) throw new FileNotFound(`ENOENT: '${path}' (HTTP ${res.status} ${res.statusText})`);
  return new Uint8Array(await res.arrayBuffer());
}

export async function readFile(
  path: string,
  options?: string | { encoding?: string | null },
): Promise<Uint8Array | string> {
  const bytes = await readBytes(String(path));
  const encoding = typeof options === 'string' ? options : options?.encoding;
  return encoding ? new TextDecoder().decode(bytes) : bytes;
}

/**
 * What a URL path is: a picked file, or a directory (ends in `/` or has no extension; an HTTP
 * server cannot list it, so its files' reads report what is missing), or a file that the origin
 * serves (HEAD).
 */
export async function stat(path: string): Promise<{ isFile(): boolean; isDirectory(): boolean }> {
  const p = String(path);
  const as = (dir: boolean) => ({ isFile: () => !dir, isDirectory: () => dir });
  if (picked.has(p)) return as(false);
  if ([...picked.keys()].some((k) => k.startsWith(`${p.replace(/\/$/, '')}/`))) return as(true);
  if (p.endsWith('/') || !/\.[^./]+$/.test(p)) return as(true);
  const res = await fetch(p, { method: 'HEAD' }).catch(() => undefined);
  if (!res?.ok) throw new FileNotFound(`ENOENT: '${p}'${res ? ` (HTTP ${res.status})` : ''}`);
  return as(false);
}

const nodeOnly = (name: string) => async (): Promise<never> => {
  throw new Error(`fs.${name} is not available in the browser (Node only)`);
};
export const writeFile = nodeOnly('writeFile');
export const mkdir = nodeOnly('mkdir');
export const rename = nodeOnly('rename');
export const readdir = nodeOnly('readdir');
export const rm = nodeOnly('rm');
export const unlink = nodeOnly('unlink');
export const open = nodeOnly('open');
export const access = nodeOnly('access');

export default { readFile, writeFile, mkdir, stat, rename, readdir, rm, unlink, open, access };
