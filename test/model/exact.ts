/**
 * Exact arithmetic on clock readings for the model: every number the model meets (clock readings,
 * refill intervals such as the double nearest 1/3, `maxWait`s) is a double, and every double of the
 * sizes used here is an integer multiple of 2^-80. An {@link Exact} is that integer: the value times
 * 2^80, as a bigint. Sums, integer multiples, comparisons, floors and ceilings are then exact, with no
 * rounding anywhere; only {@link toNumber} rounds (to the nearest double).
 */
export type Exact = bigint;

const SCALE_BITS = 80n;
/** 1 ms as an {@link Exact}. */
export const ONE: Exact = 1n << SCALE_BITS;

const view = new DataView(new ArrayBuffer(8));

/** Returns the exact value of `x` (a finite double that is a multiple of 2^-80); throws otherwise. */
export function exact(x: number): Exact {
  if (!Number.isFinite(x)) throw new RangeError(`exact() needs a finite number, received ${x}`);
  if (x === 0) return 0n;
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  // A normal double is (2^52 + fraction) × 2^(biased − 1075); a subnormal one fraction × 2^-1074.
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const shift = BigInt(Math.max(biased, 1) - 1075) + SCALE_BITS;
  let value: bigint;
  if (shift >= 0n) value = mantissa << shift;
  else {
    if (mantissa % (1n << -shift) !== 0n) throw new RangeError(`${x} is not a multiple of 2^-80`);
    value = mantissa >> -shift;
  }
  return bits >> 63n === 1n ? -value : value;
}

/** Returns the double nearest to `value`. */
export function toNumber(value: Exact): number {
  // Number(bigint) rounds to nearest; dividing by a power of two is then exact at these magnitudes.
  return Number(value) / 2 ** Number(SCALE_BITS);
}

/** Returns floor(a / b) for b > 0. */
export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b < 0n ? q - 1n : q;
}

/** Returns ceil(a / b) for b > 0. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  return -floorDiv(-a, b);
}

/** Returns the first whole ms at or after `value`, as a number of ms. */
export function ceilMs(value: Exact): number {
  return Number(ceilDiv(value, ONE));
}

/** Returns the larger of two values. */
export function max(a: Exact, b: Exact): Exact {
  return a > b ? a : b;
}

/**
 * How far (in ms) a double that the library computed in floating point may sit from the exact value
 * `around`: 8 units in the last place at that magnitude (at least at 1 ms). The library works in
 * doubles, so an instant that is not a double (a step of a 1/3 ms interval) is known to it only to
 * within a rounding or two; the model compares such numbers within this tolerance.
 */
export function tolerance(...around: number[]): number {
  const magnitude = Math.max(1, ...around.map((x) => Math.abs(x)));
  return 8 * 2 ** (Math.floor(Math.log2(magnitude)) - 52);
}
