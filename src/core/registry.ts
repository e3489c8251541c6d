/** Layer registration under one package name, so saved models reload with `fromConfig`. */
import * as tf from '@tensorflow/tfjs';

export const PACKAGE_NAME = 'docre-kit';

type Registrable = tf.serialization.SerializableConstructor<tf.serialization.Serializable> & {
  className: string;
};

/** Registers a layer class as `docre-kit>ClassName`. */
export function registerClass<T extends Registrable>(cls: T): T {
  tf.serialization.registerClass(cls, PACKAGE_NAME);
  return cls;
}
