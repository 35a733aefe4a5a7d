import { timerDelay } from '../clock.js';
import type { RedisScriptRunner } from './clients.js';
import { RedisTimeoutError, RedisUnavailableError } from './errors.js';
import { BUCKET_SCRIPT, BUCKET_SCRIPT_SHA } from './script.js';

interface RefCounted {
  unref?(): unknown;
}

/** Real time, for I/O timeouts and the breaker (the bucket's clock may be a fake one). */
function realNow(): number {
  return globalThis.performance.now();
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.includes('NOSCRIPT');
}

/** Returns the reply as an array of safe integers, or throws a `TypeError` describing it. */
function integers(reply: unknown, length: number): number[] {
  if (Array.isArray(reply) && reply.length >= length) {
    const values = reply.map((value: unknown) => (typeof value === 'bigint' ? Number(value) : value));
    if (values.every((value) => Number.isSafeInteger(value))) return values as number[];
  }
  throw new TypeError(`unexpected reply from the bucket script: ${JSON.stringify(reply, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
}

/**
 * ScriptCaller runs the bucket script for one store instance (or one keyed store): `EVALSHA`, falling
 * back to `EVAL` on `NOSCRIPT` on every call; its own timeout on every call; a circuit breaker; and a
 * record of every call still in flight, so `idle()` can wait for them.
 *
 * The breaker: after a failure, calls fail at once (without touching Redis) for `cooldown` ms; then
 * one call at a time probes Redis, and the first success closes the breaker. A `cooldown` of 0 turns
 * the breaker off: every call tries Redis.
 */
export class ScriptCaller {
  private readonly inFlight = new Set<Promise<unknown>>();
  private openUntil = Number.NEGATIVE_INFINITY;
  private lastFailure: unknown = undefined;
  private probing = false;

  constructor(
    private readonly runner: RedisScriptRunner,
    private readonly timeout: number,
    private readonly cooldown: number,
  ) {}

  /**
   * Runs the script on `key` with `args` and resolves with its reply (at least `length` integers).
   * Rejects with `RedisUnavailableError` (never anything else) when Redis fails, answers wrongly, or
   * does not answer within the timeout, or while the breaker is open. When the answer comes after the
   * timeout, `late` receives it (so a reservation nobody will use can be given back).
   */
  run(key: string, args: readonly string[], length: number, late?: (reply: number[]) => void): Promise<number[]> {
    const now = realNow();
    if (this.cooldown > 0 && (now < this.openUntil || (this.lastFailure !== undefined && this.probing))) {
      return Promise.reject(new RedisUnavailableError(this.lastFailure));
    }
    const probe = this.lastFailure !== undefined;
    if (probe) this.probing = true;
    const sent = this.send(key, args).then((reply) => integers(reply, length));
    this.track(sent);
    return new Promise<number[]>((resolve, reject) => {
      let timedOut = false;
      const timer = globalThis.setTimeout(() => {
        timedOut = true;
        const cause = new RedisTimeoutError(this.timeout);
        this.failed(cause, probe);
        reject(new RedisUnavailableError(cause));
      }, timerDelay(this.timeout)) as RefCounted;
      timer.unref?.();
      sent.then(
        (reply) => {
          if (timedOut) {
            late?.(reply);
            return;
          }
          globalThis.clearTimeout(timer as never);
          this.succeeded(probe);
          resolve(reply);
        },
        (error: unknown) => {
          if (timedOut) return;
          globalThis.clearTimeout(timer as never);
          this.failed(error, probe);
          reject(new RedisUnavailableError(error));
        },
      );
    });
  }

  /** Runs the script in the background, ignoring its outcome; `idle()` waits for it. */
  runInBackground(key: string, args: readonly string[]): void {
    this.run(key, args, 1).catch(() => undefined);
  }

  /** Resolves once every call made so far (and every call they led to) has settled. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) {
      await Promise.allSettled([...this.inFlight]);
      // Let the replies' handlers run: they may start new calls (a cancel after a late reply).
      for (let i = 0; i < 5; i += 1) await Promise.resolve();
    }
  }

  private async send(key: string, args: readonly string[]): Promise<unknown> {
    const keys = [key];
    try {
      return await this.runner.evalsha(BUCKET_SCRIPT_SHA, keys, args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return this.runner.eval(BUCKET_SCRIPT, keys, args);
    }
  }

  private track(promise: Promise<unknown>): void {
    const settled = promise.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
  }

  private succeeded(probe: boolean): void {
    if (probe) this.probing = false;
    this.lastFailure = undefined;
    this.openUntil = Number.NEGATIVE_INFINITY;
  }

  private failed(cause: unknown, probe: boolean): void {
    if (probe) this.probing = false;
    this.lastFailure = cause;
    this.openUntil = realNow() + this.cooldown;
  }
}
