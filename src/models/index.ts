export * from './types.js';
export * from './base.js';
export * from './parts.js';
export * from './synthetic.js';
export * from './atlop.js';
export * from './docunet.js';
export * from './dremir.js';
export * from './docreii.js';
