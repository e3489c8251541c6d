/**
 * The source layout's import rules (docs/layout.md): imports between src/ folders run one way —
 * core ← data, losses ← text, encoders, heads ← models ← train ← run ← extract ← queue ← cli —
 * and no two files import each other, directly or through others (type-only and lazy `import()`
 * imports count too). Reads the files; no tensors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../../src/', import.meta.url));
/** A folder may import from folders of a lower rank (and from itself); `src/index.ts` from any. */
const RANK: Record<string, number> = {
  core: 0,
  data: 1,
  losses: 1,
  text: 2,
  encoders: 2,
  heads: 2,
  models: 3,
  train: 4,
  run: 5,
  extract: 6,
  queue: 7,
  cli: 8,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(path.join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [path.join(dir, e.name)]
        : [],
  );
}

/** file (relative to src/) → the src files it imports */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const spec = /(?:import|export)\s[^;]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;
  for (const file of sourceFiles(src)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(spec)].map((m) =>
      path.relative(src, path.resolve(path.dirname(file), (m[1] ?? m[2])!.replace(/\.js$/, '.ts'))),
    );
    graph.set(path.relative(src, file), targets);
  }
  return graph;
}

const folder = (file: string) => (file.includes(path.sep) ? file.split(path.sep)[0]! : file);

test('layout: imports between src/ folders run one way', () => {
  const graph = importGraph();
  assert.ok(graph.size > 50, `read ${graph.size} files`);
  const wrong: string[] = [];
  for (const [file, targets] of graph) {
    const from = folder(file);
    if (from === 'index.ts') continue;
    assert.ok(
      from in RANK,
      `${file}: folder ${from} has no rank in this test (add it, and to docs/layout.md)`,
    );
    for (const t of targets) {
      const to = folder(t);
      assert.ok(graph.has(t), `${file} imports ${t}, which does not exist`);
      if (to !== from && !(RANK[to]! < RANK[from]!)) wrong.push(`${file} → ${t}`);
    }
  }
  assert.deepEqual(wrong, [], 'imports against the direction');
});

test('layout: no import cycles between files', () => {
  const graph = importGraph();
  // depth-first search; a file met again while still on the path closes a cycle
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, trail: string[]): void => {
    state.set(file, 'open');
    for (const t of graph.get(file) ?? []) {
      if (state.get(t) === 'open') cycles.push([...trail.slice(trail.indexOf(t)), file, t].join(' → '));
      else if (!state.has(t)) visit(t, [...trail, file]);
    }
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file, []);
  assert.deepEqual(cycles, []);
});
