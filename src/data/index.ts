/**
 * data: readers (DocRED JSON, CDR/GDA `.data`), relation schema and entity types, tokenizers and
 * the featurizer (entity markers), collation into the DESIGN.md batch, GTN document graphs, and
 * the official DocRED scorer. Never throws: every fallible step returns `Either<DataError, A>`.
 */
export * from './errors.js';
export * from './schema.js';
export * from './docred.js';
export * from './bio.js';
export * from './tokenizer.js';
export * from './featurize.js';
export * from './collate.js';
export * from './graph.js';
export * from './evaluate.js';
export * from './assets.js';
export { DOCRED_RELATION_IDS, DOCRED_RELATION_NAMES, DOCRED_ENTITY_TYPES } from './docred-meta.js';
