// The README's library example (run: npx tsx docs/snippets/quickstart.ts).
import * as tf from '@tensorflow/tfjs';
import {
  initBackend,
  logSumExpPooling,
  IMSALayer,
  GroupBilinearLayer,
  adaptiveThresholdLoss,
  adaptiveThresholdDecode,
} from '../../src/index.js'; // in your app: from 'docre-kit'

const info = await initBackend('wasm'); // 'cpu' | 'wasm' | 'webgpu' | 'tensorflow'
console.log('backend', info.backend);

// b = 1 document, n = 6 tokens, d = 8, e = 3 entities with up to m = 2 mentions, r = 4 classes
const hidden = tf.randomNormal([1, 6, 8], 0, 1, 'float32', 1);
const mentionIndex = tf.tensor3d([[[1, 4], [2, 0], [3, 5]]], undefined, 'int32');
const mentionMask = tf.tensor3d([[[1, 1], [1, 0], [1, 1]]]);
const pairMask = tf.tensor3d([[[0, 1, 1], [1, 0, 1], [1, 1, 0]]]);
const labels = tf.oneHot(tf.tensor3d([[[0, 1, 0], [2, 0, 0], [0, 3, 0]]], undefined, 'int32'), 4).toFloat();

const entities = logSumExpPooling(hidden, mentionIndex, mentionMask); // [b,e,d]
const pairs = tf.add(entities.expandDims(2), entities.expandDims(1)); // [b,e,e,d]
const reasoned = new IMSALayer({}).apply([pairs, pairMask]) as tf.Tensor4D; // [b,e,e,d]
const classifier = new GroupBilinearLayer({ units: 4, blockSize: 4 });
const logits = classifier.apply([reasoned, reasoned]) as tf.Tensor4D; // [b,e,e,r]
const loss = adaptiveThresholdLoss(logits, labels, pairMask);
console.log('loss', (await loss.data())[0]);
console.log('predicted multi-hot', adaptiveThresholdDecode(logits).shape);
