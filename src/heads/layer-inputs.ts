/**
 * Small helpers shared by the layer classes of pooling.ts, context-pooling.ts, pair-matrix.ts and
 * group-bilinear.ts: multi-input unpacking with a clear error, tfjs' unexported `LayerArgs`, and
 * initializer names for layer configs. Internal: not re-exported from the package barrel
 * (`InitializerName` is re-exported by the layers that take it).
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../core/errors.js';

/** The standard tfjs layer arguments (`name`, `trainable`, ...), which tfjs does not export by name. */
export type BaseLayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** Unpacks a multi-input layer's tensors, checking their number. */
export function inputTensors(inputs: tf.Tensor | tf.Tensor[], count: number, layer: string): tf.Tensor[] {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  if (list.length !== count)
    throw new ArgumentError(`${layer} inputs`, `a list of ${count} inputs`, list.length);
  return list;
}

/** Unpacks a multi-input layer's shapes, checking their number. */
export function inputShapes(inputShape: tf.Shape | tf.Shape[], count: number, layer: string): tf.Shape[] {
  const list =
    Array.isArray(inputShape[0]) || inputShape.length === 0
      ? (inputShape as tf.Shape[])
      : [inputShape as tf.Shape];
  if (list.length !== count)
    throw new ArgumentError(`${layer} inputs`, `a list of ${count} inputs`, list.length);
  return list;
}

/** The initializers a docre-kit layer config may name. */
export type InitializerName =
  'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal' | 'leCunUniform' | 'zeros';

/** Maps an {@link InitializerName} to a tfjs initializer (rejecting unknown names). */
export function initializerFromName(
  name: InitializerName,
  argument = 'kernelInitializer',
): ReturnType<typeof tf.initializers.zeros> {
  switch (name) {
    case 'glorotUniform':
      return tf.initializers.glorotUniform({});
    case 'glorotNormal':
      return tf.initializers.glorotNormal({});
    case 'heUniform':
      return tf.initializers.heUniform({});
    case 'heNormal':
      return tf.initializers.heNormal({});
    case 'leCunUniform':
      return tf.initializers.leCunUniform({});
    case 'zeros':
      return tf.initializers.zeros();
    default:
      throw new ArgumentError(
        argument,
        'glorotUniform | glorotNormal | heUniform | heNormal | leCunUniform | zeros',
        name,
      );
  }
}
