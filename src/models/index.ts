/** models: the five paper models, their presets and factory, and the pieces to build custom models. */
export * from './types.js';
export { BaseModel, readCheckpoint, compactCheckpoint, loadInto, stableWeightName, type CommonModelConfig, type SavedModelJSON } from './base.js';
export {
  entityFeatures,
  pairBroadcast,
  documentState,
  offTape,
  BilinearPairHead,
  type EntityFeatures,
  type BilinearPairHeadArgs,
  type DocPooling,
} from './parts.js';
export { syntheticBatch, disposeInput, type SyntheticBatchArgs } from './synthetic.js';
export * from './atlop.js';
export * from './docunet.js';
export * from './dremir.js';
export * from './docreii.js';
export * from './gtn.js';
export * from './factory.js';
export { modelSpec, PAPER_COMMON, type Resolved } from './spec.js';
