/**
 * Trains the five paper models identically (embedded frozen encoder, cached features, the same
 * Re-DocRED split, documents, epochs, batch and lr; model sizes of the examples) for each seed and
 * writes the table of docs/results.md from these runs.
 *
 *   npx tsx examples/results.ts [--train-docs 400] [--epochs 5] [--seeds 0,1,2] [--models atlop,...] [--out docs/results.md]
 */
import { writeFile } from 'node:fs/promises';
import { MODEL_NAMES, type ModelName } from '../src/models/index.js';
import { EXAMPLE_MODELS, exampleArgs, paperRun, runExample } from './redocred.js';

const argv = process.argv.slice(2);
const list = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return (i >= 0 ? argv[i + 1]! : fallback).split(',');
};
const { epochs, trainDocs } = exampleArgs({ epochs: 5, trainDocs: 400 });
const seeds = list('seeds', '0,1,2').map(Number);
const models = list('models', MODEL_NAMES.join(',')) as ModelName[];
const outIdx = argv.indexOf('--out');
const out = outIdx >= 0 ? argv[outIdx + 1]! : undefined;

interface Row {
  f1: number[];
  ignF1: number[];
  intraF1: number[];
  interF1: number[];
  seconds: number[];
  budget: string;
}
const rows = new Map<ModelName, Row>();

const stat = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return xs.length > 1 ? `${(100 * mean).toFixed(2)} ± ${(100 * std).toFixed(2)}` : (100 * mean).toFixed(2);
};
const command = `npx tsx examples/results.ts --train-docs ${trainDocs} --epochs ${epochs} --seeds ${seeds.join(',')} --models ${models.join(',')}`;
const table = () =>
  [
    `| model | F1 | Ign F1 | intra F1 | inter F1 | train time / run | budget |`,
    `|---|---:|---:|---:|---:|---:|---|`,
    ...[...rows].map(
      ([name, r]) =>
        `| ${EXAMPLE_MODELS[name].title} | ${stat(r.f1)} | ${stat(r.ignF1)} | ${stat(r.intraF1)} | ${stat(r.interF1)} | ${(r.seconds.reduce((a, b) => a + b, 0) / r.seconds.length).toFixed(0)} s | ${r.budget} |`,
    ),
  ].join('\n');

for (const name of models) {
  for (const seed of seeds) {
    const run = paperRun(name, { epochs, trainDocs, seed, quiet: true });
    const r = await runExample(`${EXAMPLE_MODELS[name].title} (seed ${seed})`, run);
    const row = rows.get(name) ?? {
      f1: [],
      ignF1: [],
      intraF1: [],
      interF1: [],
      seconds: [],
      budget: run.budget,
    };
    row.f1.push(r.scores.f1);
    row.ignF1.push(r.scores.ignF1);
    row.intraF1.push(r.scores.intraF1);
    row.interF1.push(r.scores.interF1);
    row.seconds.push(r.trainSeconds);
    rows.set(name, row);
  }
  // written after every model, so an interrupted run leaves the rows it finished
  if (out)
    await writeFile(
      out,
      `${table()}\n\nSeeds ${seeds.join(', ')}. Command: \`${command}\` (backend ${process.env['DOCRE_BACKEND'] ?? 'wasm'}).\n`,
    );
}
console.log(
  `\n${table()}\n\nseeds ${seeds.join(', ')} (mean ± sample std when more than one); command: ${command}`,
);
