export * from './adaptive-threshold.js';
export * from './balanced-softmax.js';
export * from './kl.js';
export * from './simsiam.js';
export * from './graph-losses.js';
