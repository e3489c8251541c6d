/** Shared helpers for the data tests: paths to ../shared/data and the bundled assets, Either unwrapping. */
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import type { DataError } from '../../src/data/errors.js';

/** Path of a file in ../shared/data (the read-only data beside the repository). */
export const sharedData = (p: string): string =>
  decodeURIComponent(new URL(`../../../shared/data/${p}`, import.meta.url).pathname);

/** Unwraps a Right, failing the test with the DataError message on a Left. */
export function right<A>(e: E.Either<DataError, A>, what = 'value'): A {
  if (E.isLeft(e)) assert.fail(`${what}: unexpected Left: ${e.left.message}`);
  return e.right;
}

/** Unwraps a Left, failing the test on a Right. */
export function left<A>(e: E.Either<DataError, A>, what = 'value'): DataError {
  if (E.isRight(e)) assert.fail(`${what}: expected a Left, got a Right`);
  return e.left;
}
