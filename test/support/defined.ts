/**
 * Returns `value`, failing the test with a message naming `what` when it is undefined or null: the
 * checked alternative to a non-null assertion (`value!`) for array elements a test knows are there.
 */
export function defined<T>(value: T, what = 'value'): NonNullable<T> {
  if (value === undefined || value === null)
    throw new Error(`expected ${what} to be defined, received ${String(value)}`);
  return value;
}
