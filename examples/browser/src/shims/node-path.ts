/** Browser stand-in for `node:path` (POSIX semantics on URL paths): join, dirname, basename, resolve. */
export const sep = '/';
export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p.length > 0).join('/');
  return joined.replace(/\/{2,}/g, '/') || '.';
}
export const resolve = (...parts: string[]): string => join(...parts);
export function dirname(p: string): string {
  const i = p.replace(/\/+$/, '').lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i);
}
export function basename(p: string, ext?: string): string {
  const b = p.replace(/\/+$/, '').split('/').pop() ?? '';
  return ext && b.endsWith(ext) ? b.slice(0, -ext.length) : b;
}
export const extname = (p: string): string => /(\.[^./]+)$/.exec(basename(p))?.[1] ?? '';
export default { sep, join, resolve, dirname, basename, extname };
