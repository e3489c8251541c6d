/**
 * docre-kit — document-level relation extraction as typed TensorFlow.js layers.
 * The public contract is ../shared/DESIGN.md; every name there is exported from here.
 */
export * from './core/index.js';
export * from './heads/index.js';
export * from './losses/index.js';
export * from './data/index.js';
export * from './encoders/index.js';
export * from './models/index.js';
export * from './train/index.js';
