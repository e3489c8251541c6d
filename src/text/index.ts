/**
 * text: plain text → DocRED documents. Sentence split and word tokenisation with character offsets
 * (`tokenizeText`, `documentText`), the automatic entity front end (`recognizeEntities`: compromise
 * named entities grouped by aliases), the hand-marked front end (`parseMarkedText`: `[Paris|LOC]`),
 * and `alignEntities` (predicted ↔ gold entities over the same words).
 */
export * from './tokenize.js';
export * from './entities.js';
export * from './align.js';
export * from './marked.js';
