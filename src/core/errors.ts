/**
 * Typed programmer errors for tensor code (STYLE.md: "two regimes and one crossing point").
 * Data code returns `Either<DataError, A>`; tensor code throws one of these, naming the argument,
 * the expected and the actual shape or value.
 */

/** A tensor argument has the wrong rank, shape or dtype. */
export class ShapeError extends Error {
  override readonly name = 'ShapeError';
  constructor(
    readonly argument: string,
    readonly expected: string,
    readonly actual: readonly number[] | string,
  ) {
    super(
      `${argument}: expected shape ${expected}, got ${
        typeof actual === 'string' ? actual : `[${actual.join(', ')}]`
      }`,
    );
  }
}

/** A non-tensor argument (option, config value) is invalid. */
export class ArgumentError extends Error {
  override readonly name = 'ArgumentError';
  constructor(
    readonly argument: string,
    readonly expected: string,
    readonly actual: unknown,
  ) {
    super(`${argument}: expected ${expected}, got ${formatValue(actual)}`);
  }
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Checks a shape against a pattern. Pattern entries: a number (exact), a letter (must be equal
 * wherever the same letter appears, bound in `dims`), or `null` (anything).
 * Returns the bound letters so callers can reuse them.
 *
 * @example
 * const { b, e } = checkShape('mentionMask', mask.shape, ['b', 'e', 'm'], { b: 2 });
 */
export function checkShape(
  argument: string,
  shape: readonly number[],
  pattern: readonly (number | string | null)[],
  dims: Record<string, number> = {},
): Record<string, number> {
  const expected = `[${pattern.map((p) => (p === null ? '*' : String(p))).join(', ')}]`;
  if (shape.length !== pattern.length) throw new ShapeError(argument, expected, shape);
  pattern.forEach((p, i) => {
    const s = shape[i]!;
    if (p === null) return;
    if (typeof p === 'number') {
      if (s !== p) throw new ShapeError(argument, expected + ` (dim ${i} = ${p})`, shape);
      return;
    }
    const bound = dims[p];
    if (bound === undefined) dims[p] = s;
    else if (bound !== s)
      throw new ShapeError(argument, expected + ` with ${p} = ${bound}`, shape);
  });
  return dims;
}

/**
 * A failure of a `docre-kit` command or of the run-directory plumbing under it (exit code 1):
 * the message is the whole line the user sees.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
}
