import { RedisUnavailableError } from './errors.js';

/** Real time, for I/O timeouts and the breaker (the bucket's clock may be a fake one). */
export function realNow(): number {
  return globalThis.performance.now();
}

/** A script call that may be the breaker's probe: the one call allowed through once the breaker half-opens. */
export interface Probe {
  probe: boolean;
}

/** One key's breaker while it is not closed. */
interface OpenKey {
  /** The failure that opened it: a failure of a call on this key. */
  cause: unknown;
  /** Real ms until which it refuses calls (open); after that it is half-open. */
  until: number;
  /** Half-open, its probe in flight: real ms until that probe times out. */
  probeUntil: number | undefined;
}

/** The fewest open entries at which a sweep of the expired ones runs. */
const SWEEP_FLOOR = 1024;

/**
 * Breakers are the circuit breakers of one `ScriptCaller`, one per Redis key: after a failure of a
 * call on a key, calls on that key fail at once (without touching Redis) for `cooldown` real ms; then
 * one call at a time probes Redis, and the first success closes it. A `cooldown` of 0 turns them off:
 * every call tries Redis.
 *
 * Per key rather than per cluster slot: a refusal's `cause` is then its own key's failure, never
 * another key's, and a dead master (or a key Redis refuses) leaves every other key answered on its
 * merits. Only keys whose breaker is not closed are held: a success forgets the key, and once the
 * open entries double since the last sweep, those whose cooldown has passed without a probe in flight
 * are forgotten too (their next call simply tries Redis), so a keyed store with millions of keys holds
 * about as many entries as keys failed within the last `cooldown` ms. The cost of isolation: when a
 * whole Redis is down, each key pays its own first failure (a refused connection fails in about 1 ms;
 * a stalled Redis costs each key one `redisTimeout` per cooldown).
 */
export class Breakers {
  private readonly open = new Map<string, OpenKey>();
  private sweepAt = SWEEP_FLOOR;

  /**
   * @param cooldown real ms a key's breaker stays open after a failure (0: off)
   * @param timeout `redisTimeout`, real ms: how long a probe may take
   */
  constructor(
    private readonly cooldown: number,
    private readonly timeout: number,
  ) {}

  /** How many keys have a breaker that is not closed (for tests of the memory bound). */
  get size(): number {
    return this.open.size;
  }

  /**
   * The error a call on `key` is refused with now (its breaker open, or half-open with its probe in
   * flight), or undefined when the call may go to Redis.
   */
  refusal(key: string): RedisUnavailableError | undefined {
    const entry = this.open.get(key);
    if (entry === undefined) return undefined;
    const now = realNow();
    const until = entry.probeUntil ?? entry.until;
    if (now >= until) return undefined;
    return new RedisUnavailableError(entry.cause, Math.max(1, Math.ceil(until - now)));
  }

  /** Whether a call on `key` sent now is its probe (the breaker is half-open); it then holds the others back. */
  probeNow(key: string): boolean {
    const entry = this.open.get(key);
    if (entry === undefined) return false;
    entry.probeUntil = realNow() + this.timeout;
    return true;
  }

  /** Redis answered a call on `key` (`call` the script call): its breaker closes, and the key is forgotten. */
  succeeded(key: string, call: Probe | undefined): void {
    if (call !== undefined) call.probe = false;
    this.open.delete(key);
  }

  /** A call on `key` failed (or timed out) with `cause`: its breaker opens for `cooldown` ms. */
  failed(key: string, cause: unknown, call: Probe | undefined): void {
    const wasProbe = call?.probe === true;
    if (call !== undefined) call.probe = false;
    if (this.cooldown === 0) return;
    const entry = this.open.get(key);
    const until = realNow() + this.cooldown;
    if (entry === undefined) {
      this.open.set(key, { cause, until, probeUntil: undefined });
      if (this.open.size >= this.sweepAt) this.sweep();
      return;
    }
    entry.cause = cause;
    entry.until = until;
    // Another call's failure while the probe is still in flight leaves that probe holding the others back.
    if (wasProbe || (entry.probeUntil !== undefined && realNow() >= entry.probeUntil)) entry.probeUntil = undefined;
  }

  /** ms a retry on `key` should wait now (see `RedisUnavailableError.retryAfter`): 0 when its breaker lets calls through. */
  retryAfter(key: string): number {
    return this.refusal(key)?.retryAfter ?? 0;
  }

  /** Forgets the keys whose cooldown has passed with no probe in flight. */
  private sweep(): void {
    const now = realNow();
    for (const [key, entry] of this.open) {
      if (now >= (entry.probeUntil ?? entry.until)) this.open.delete(key);
    }
    this.sweepAt = Math.max(SWEEP_FLOOR, 2 * this.open.size);
  }
}

interface ImmediateSource {
  setImmediate?(task: () => void): unknown;
}

/**
 * Runs `task` after a macrotask (`setImmediate`, looked up when used; `setTimeout(task, 0)` where there
 * is none): timers due meanwhile fire first. A breaker's refusal is delivered so, so that a loop that
 * retries refused calls without waiting lets the other callers' timeouts fire.
 */
export function afterMacrotask(task: () => void): void {
  const source = globalThis as ImmediateSource;
  if (typeof source.setImmediate === 'function') source.setImmediate(task);
  else globalThis.setTimeout(task, 0);
}
