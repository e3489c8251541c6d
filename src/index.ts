/**
 * docre-kit — document-level relation extraction as typed TensorFlow.js layers.
 *
 * The public contract of DESIGN.md is named explicitly below (so it reads as one list and a
 * rename in a module breaks the build here); everything else each area exports follows through
 * the barrels.
 */

// backends and core
export { initBackend } from './core/backend.js';
export { ShapeError, ArgumentError } from './core/errors.js';
export { maskedSoftmax } from './core/softmax.js';
export { multiHeadAttention } from './core/attention.js';
export { registerClass } from './core/registry.js';
// heads: pooling, pair builders, classifiers, reasoning modules
export { logSumExpPooling, LogSumExpPoolingLayer } from './heads/pooling.js';
export {
  entityAttention,
  localizedContextPooling,
  LocalizedContextPoolingLayer,
} from './heads/context-pooling.js';
export { EntityPairMatrixLayer } from './heads/pair-matrix.js';
export { groupBilinear, GroupBilinearLayer } from './heads/group-bilinear.js';
export { imsa, IMSALayer, InferenceEncoderLayer } from './heads/imsa.js';
export { eca, ECALayer } from './heads/eca.js';
export { FusionGateLayer, InferenceLayer } from './heads/inference.js';
export { USegmentationLayer } from './heads/unet.js';
export { GraphAttentionLayer, CrossAttentionLayer, GTNLayer } from './heads/gtn.js';
// losses and decoders
export { adaptiveThresholdLoss, adaptiveThresholdDecode } from './losses/adaptive-threshold.js';
export { balancedSoftmaxLoss, balancedSoftmaxDecode } from './losses/balanced-softmax.js';
export { bidirectionalKLLoss } from './losses/kl.js';
export { simSiamLoss } from './losses/simsiam.js';
export { nodeReconstructionLoss, adversarialDistillationLosses } from './losses/graph-losses.js';
// data and evaluation
export { readDocRED } from './data/docred.js';
export { readBioData } from './data/bio.js';
export { RelationSchema } from './data/schema.js';
export { Featurizer } from './data/featurize.js';
export { collate } from './data/collate.js';
export { buildDocumentGraph } from './data/graph.js';
export { evaluateDocRED, toOfficialJSON } from './data/evaluate.js';
// text front ends (plain text → DocRED documents)
export { tokenizeText, documentText } from './text/tokenize.js';
export { recognizeEntities, recognizeDocumentEntities } from './text/entities.js';
export { parseMarkedText } from './text/marked.js';
export { alignEntities } from './text/align.js';
export type { TextDocument, TokenizedText } from './text/tokenize.js';
export type { AutoEntityOptions } from './text/entities.js';
// encoders
export { BertEncoder } from './encoders/bert.js';
export { EmbeddedEncoder } from './encoders/embedded.js';
export { TrainableEmbeddedEncoder } from './encoders/embedded-trainable.js';
// models and training
export { ATLOPModel } from './models/atlop.js';
export { DocuNetModel } from './models/docunet.js';
export { DREMIRModel } from './models/dremir.js';
export { GTNModel } from './models/gtn.js';
export { DocREIIModel } from './models/docreii.js';
export type { DocREModel } from './models/types.js';
export { createModel } from './models/factory.js';
export { AdamW } from './train/adamw.js';
export { linearWarmupDecay } from './train/schedule.js';
export { Trainer } from './train/trainer.js';
export { extract, Extractor, readRecords } from './extract/index.js';

// everything else each area exports
export * from './core/index.js';
export * from './heads/index.js';
export * from './losses/index.js';
export * from './data/index.js';
export * from './text/index.js';
export * from './encoders/index.js';
export * from './models/index.js';
export * from './train/index.js';
export * from './extract/index.js';
