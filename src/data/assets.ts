/**
 * Files bundled under the package's `assets/` directory (see assets/ATTRIBUTION.md): Re-DocRED
 * `dev_revised.json` (MIT), DocRED's meta files (MIT), and the bert-base-cased (Apache-2.0),
 * scibert_scivocab_cased (Apache-2.0) and roberta-base (MIT) `tokenizer.json` files, so that the
 * examples run from a clone alone. Node only (files are read with node:fs).
 *
 * @example
 * const docs = await loadBundledReDocRED()();           // Either<DataError, DocREDDataset>, 500 documents
 * const tk = await loadBundledTokenizer('bert-base-cased')();
 */
import type * as TE from 'fp-ts/lib/TaskEither.js';
import type { DataError } from './errors.js';
import { type DocREDDataset, readDocREDFile } from './docred.js';
import { HFTokenizer } from './tokenizer.js';
import { RelationSchema } from './schema.js';

/** Tokenizers bundled in assets/tokenizers. */
export type BundledTokenizer = 'bert-base-cased' | 'scibert_scivocab_cased' | 'roberta-base';

/**
 * File-system path of a bundled asset, e.g. `bundledAssetPath('re-docred/dev_revised.json')`.
 * Works from `src/data` (tsx) and from the built `dist/data` alike (both are two levels below the root).
 */
export function bundledAssetPath(name: string): string {
  return decodeURIComponent(new URL(`../../assets/${name}`, import.meta.url).pathname);
}

/** The bundled Re-DocRED `dev_revised.json` (500 documents), validated against `RelationSchema.docred()`. */
export function loadBundledReDocRED(): TE.TaskEither<DataError, DocREDDataset> {
  return readDocREDFile(bundledAssetPath('re-docred/dev_revised.json'), { schema: RelationSchema.docred() });
}

/** A bundled tokenizer. */
export function loadBundledTokenizer(
  name: BundledTokenizer = 'bert-base-cased',
): TE.TaskEither<DataError, HFTokenizer> {
  return HFTokenizer.fromDirectory(bundledAssetPath(`tokenizers/${name}`));
}
