/**
 * The Node side of the browser e2e's plain-text check: the library's `extract(text, { modelDir })`
 * on the wasm backend (the backend the e2e's plain-text check uses in the page), written as JSON.
 *
 *   npx tsx test/browser/node-extract.ts MODEL_DIR OUT.json "Some text."
 */
import { writeFileSync } from 'node:fs';
import { extract } from '../../src/index.js';

const [modelDir, out, text] = process.argv.slice(2);
if (!modelDir || !out || text === undefined)
  throw new Error('usage: node-extract.ts MODEL_DIR OUT.json TEXT');
const [result] = await extract(text, { modelDir, backend: 'wasm' });
writeFileSync(out, JSON.stringify(result));
