export * from './pooling.js';
export * from './context-pooling.js';
export * from './pair-matrix.js';
export * from './group-bilinear.js';
export * from './imsa.js';
export * from './eca.js';
export * from './unet.js';
export * from './gtn.js';
