/**
 * What a user installs: `npm pack` (prepack builds dist/), the tarball installed into an empty
 * temporary project, then `npx docre-kit extract --text …` and `import { extract } from
 * 'docre-kit'` there — with the shipped model and the embedded encoder, no other file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const TEXT = 'Angela Merkel was born in Hamburg. She led Germany from 2005 to 2021.';

test('npm pack → npm install in an empty project → extract from text', async () => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'docre-pack-'));
  const { stdout: packed } = await run('npm', ['pack', '--pack-destination', tmp, '--silent'], {
    cwd: root,
    maxBuffer: 1 << 26,
  });
  const tarball = path.join(tmp, packed.trim().split('\n').pop()!);
  const size = (await fs.stat(tarball)).size;
  assert.ok(size < 20e6, `tarball ${size} bytes`);
  const app = path.join(tmp, 'app');
  await fs.mkdir(app);
  await fs.writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'error'], {
    cwd: app,
    maxBuffer: 1 << 26,
  });

  const { stdout } = await run('npx', ['--no-install', 'docre-kit', 'extract', '--text', TEXT], { cwd: app, maxBuffer: 1 << 26 });
  assert.match(stdout, /Angela Merkel \(PER\)/);
  assert.match(stdout, /Hamburg \(LOC\)/);
  assert.match(stdout, /Germany \(LOC\)/);
  assert.match(stdout, / —.+ \(P\d+\)→ /, `at least one triple:\n${stdout}`);

  await fs.writeFile(
    path.join(app, 'use.mjs'),
    `import { extract } from 'docre-kit';\nconst [r] = await extract(${JSON.stringify(TEXT)});\nconsole.log(JSON.stringify(r));\n`,
  );
  const { stdout: json } = await run('node', ['use.mjs'], { cwd: app, maxBuffer: 1 << 26 });
  const r = JSON.parse(json) as { entities: { name: string }[]; triples: { head: number; tail: number }[] };
  assert.ok(r.entities.some((e) => e.name === 'Angela Merkel'));
  assert.ok(r.triples.length > 0);
  await fs.rm(tmp, { recursive: true, force: true });
});
