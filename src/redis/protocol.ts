/**
 * The bucket script's arguments and replies (see `script.ts` for the layout), as typed values: what the
 * Redis buckets send and what they read back. No I/O here.
 */
import type { ResolvedLimit } from '../options/bucketOptions.js';

/** Script operations, the first argument. */
export const OP_PEEK = 0;
export const OP_TAKE = 1;
export const OP_REPLAY = 2;
export const OP_RECONFIGURE = 3;
export const OP_REASSERT = 4;
export const OP_PAUSE = 5;
export const OP_RETURN = 6;

/**
 * What a pause adds to the key's generation (2^32, as the script's `PAUSED`): a reservation whose
 * generation is this far below the key's was made before a pause, which voided it; one of at least this
 * was made on a key paused in its life (which then lives on until it is full again).
 */
export const PAUSED_GEN = 4_294_967_296;

/** The status a pause (op 5) replies when it changed nothing: a longer pause in force, or a check that found no pause. */
export const PAUSE_UNCHANGED = 2;

/** Statuses of a take. */
export const TAKE_GRANTED = 1;
export const TAKE_TOO_LATE = 2;
export const TAKE_RESERVED = 3;
export const TAKE_OVER_CAPACITY = 4;

/** One limit as the script stores it: no `initialTokens` (that only matters for a missing key). */
export type StoredLimit = Omit<ResolvedLimit, 'initialTokens'>;

/**
 * A bucket configuration as the script stores and compares it: the limits, and the stamp of the
 * `reconfigure()` that made it (0: options given at construction). Text: `stamp|cap:refill:interval,...`.
 */
export class ScriptConfig {
  /** The text stored in the key after the state, and sent with every call. */
  readonly text: string;
  /** The largest count one grant can take: the smallest capacity. */
  readonly capacity: number;

  constructor(
    readonly limits: readonly StoredLimit[],
    readonly stamp: number,
  ) {
    // String() round-trips every double and Lua's tonumber() reads it back exactly: the script steps on
    // the very interval the in-process buckets use (1/3 ms included).
    const parts = limits.map((l) => `${l.capacity}:${l.refillTokens}:${l.refillInterval}`);
    this.text = `${stamp}|${parts.join(',')}`;
    this.capacity = Math.min(...limits.map((l) => l.capacity));
  }

  /** Reads a configuration the script replied with; throws `TypeError` describing a malformed one. */
  static parse(text: string): ScriptConfig {
    const match = /^(\d+)\|(.+)$/.exec(text);
    const limits = match?.[2]?.split(',').map((part) => {
      const [capacity, refillTokens, refillInterval] = part.split(':').map(Number);
      return { capacity, refillTokens, refillInterval } as StoredLimit;
    });
    const valid = limits?.every(
      (l) =>
        Number.isSafeInteger(l.capacity) &&
        l.capacity > 0 &&
        Number.isSafeInteger(l.refillTokens) &&
        l.refillTokens > 0 &&
        l.refillInterval > 0,
    );
    if (match === null || limits === undefined || valid !== true) {
      throw new TypeError(`unexpected configuration from the bucket script: ${JSON.stringify(text)}`);
    }
    return new ScriptConfig(limits, Number(match[1]));
  }
}

/**
 * What a take holds in Redis, so that it can be given back while it is the last one: the tail's origin
 * and generation right after it (every write that moves the tail bumps the generation) and the state
 * (tokens and step of each limit) just before it.
 */
export interface Reservation {
  readonly origin: number;
  readonly gen: number;
  readonly before: readonly number[];
}

/** One take's outcome, as the script replied it. */
export interface TakeReply {
  readonly status: number;
  /** Ms from the decision until the grant (0 when granted now). */
  readonly wait: number;
  /** The grant instant, in the decision's time (ms). */
  readonly grantAt: number;
  readonly reservation: Reservation;
}

/** The number of values of one take in a reply, for a configuration of `limits` limits (status, wait, grantAt, then tokens and step of each). */
export function takeLength(limits: number): number {
  return 3 + 2 * limits;
}

/** The values before the takes of a block: the origin, and the generation before the first take. */
export const TAKES_HEADER = 2;

/**
 * Reads the block of takes that starts at `offset` of `values` (the origin, the generation before the
 * first take, then as many takes as follow: see `script.ts`), for a configuration of `limits` limits.
 * Each take's generation is the one before the first plus the takes granted or reserved up to it.
 * Throws `TypeError` when the values do not divide into takes.
 */
export function takesAt(values: readonly number[], offset: number, limits: number): TakeReply[] {
  const length = takeLength(limits);
  const count = (values.length - offset - TAKES_HEADER) / length;
  if (!Number.isInteger(count) || count < 0) {
    throw new TypeError(
      `unexpected reply from the bucket script: ${values.length} values, takes of ${length} from ${offset + 2}`,
    );
  }
  const origin = values[offset] ?? 0;
  let gen = values[offset + 1] ?? 0;
  const takes: TakeReply[] = [];
  for (let at = offset + TAKES_HEADER; at < values.length; at += length) {
    const [status = 0, wait = 0, grantAt = 0] = values.slice(at, at + 3);
    if (status === TAKE_GRANTED || status === TAKE_RESERVED) gen += 1;
    takes.push({ status, wait, grantAt, reservation: { origin, gen, before: values.slice(at + 3, at + length) } });
  }
  return takes;
}

/** Reads the first take of the block at `offset` of `values` (see {@link takesAt}); throws `TypeError` if there is none. */
export function takeAt(values: readonly number[], offset: number, limits: number): TakeReply {
  const [take] = takesAt(values, offset, limits);
  if (take === undefined)
    throw new TypeError(`unexpected reply from the bucket script: no take in ${values.length} values`);
  return take;
}

/** Whether `upper` was reserved right on top of `lower`: nobody else wrote to the tail between them. */
export function onTop(lower: Reservation | undefined, upper: Reservation | undefined): boolean {
  return lower !== undefined && upper !== undefined && upper.origin === lower.origin && upper.gen === lower.gen + 1;
}

/** A count and its remaining `maxWait` ('' for none), as a replay re-decides them. */
export type ReplayPair = readonly [count: number, maxWait: number | undefined];

/**
 * The arguments after the common part for a replay or a reconfigure: where the tail must still be
 * (`top`, or nothing for a reconfigure that gives nothing back), the state to restore (`bottom.before`),
 * and the requests to re-decide.
 */
export function replayArgs(
  top: Reservation | undefined,
  bottom: Reservation | undefined,
  pairs: readonly ReplayPair[],
): string[] {
  const before = bottom?.before ?? [];
  return [
    top === undefined ? '' : String(top.origin),
    top === undefined ? '' : String(top.gen),
    String(before.length / 2),
    ...before.map(String),
    ...pairs.flatMap(([count, maxWait]) => [String(count), maxWait === undefined ? '' : String(maxWait)]),
  ];
}

/** A reservation below another process's, to give back without moving anyone (see `Stranded`). */
export interface StrandedReservation {
  readonly count: number;
  readonly reservation: Reservation;
}

/**
 * The arguments after the common part for a return (op 6): the origin the tail must have, the number
 * of limits, then each reservation's count, generation and the state before it.
 */
export function returnArgs(origin: number, stranded: readonly StrandedReservation[]): string[] {
  return [
    String(origin),
    String((stranded[0]?.reservation.before.length ?? 0) / 2),
    ...stranded.flatMap(({ count, reservation }) => [
      String(count),
      String(reservation.gen),
      ...reservation.before.map(String),
    ]),
  ];
}

/**
 * The arguments after the common part for a pause or a check before granting (op 5): the replay's
 * (`top`, `bottom`: this bucket's run to give back, or nothing), then `ms` (the pause's length; undefined
 * for a check), `check` (for a check: the generation of the earliest reservation to be granted), then
 * the requests to re-decide after the pause, in order.
 */
export function pauseArgs(
  top: Reservation | undefined,
  bottom: Reservation | undefined,
  ms: number | undefined,
  check: number | undefined,
  pairs: readonly ReplayPair[],
): string[] {
  const [origin = '', gen = '', limits = '0', ...rest] = replayArgs(top, bottom, pairs);
  const before = Number(limits) * 2;
  return [
    origin,
    gen,
    limits,
    ...rest.slice(0, before),
    ms === undefined ? '' : String(ms),
    check === undefined ? '' : String(check),
    ...rest.slice(before),
  ];
}
