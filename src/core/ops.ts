/** Small tensor ops that tfjs lacks. */
import * as tf from '@tensorflow/tfjs';

const stopGradientOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const a = args[0] as tf.Tensor;
  return { value: a.clone(), gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor) };
});

/** Identity in the forward pass, zero gradient in the backward pass (tfjs has no stopGradient). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stopGradientOp(x) as T;
}
