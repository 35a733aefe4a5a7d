import { timerDelay } from '../clock.js';
import type { RedisScriptRunner } from './clients.js';
import { RedisTimeoutError, RedisUnavailableError } from './errors.js';
import { BUCKET_SCRIPT, BUCKET_SCRIPT_SHA } from './script.js';

interface TimerHandle {
  unref?(): unknown;
}

/** Real time, for I/O timeouts and the breaker (the bucket's clock may be a fake one). */
function realNow(): number {
  return globalThis.performance.now();
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.includes('NOSCRIPT');
}

/** A reply of the bucket script: the configuration in force when it is not the one sent, and the numbers after it. */
export interface ScriptReply {
  /** The stored configuration's text, when it differs from the one sent (it is the one in force). */
  readonly stored: string | undefined;
  readonly values: number[];
}

/**
 * Reads the reply, or throws a `TypeError` describing it. The script replies with 0 or the stored
 * configuration (a string), then integers (which must be safe integers) and numbers of ms written as
 * strings (which must read back as finite numbers: the script writes them with `%.17g`, so they
 * round-trip exactly); at least `length` of them.
 */
function parseReply(reply: unknown, length: number): ScriptReply {
  if (Array.isArray(reply) && reply.length >= length + 1) {
    const first: unknown = reply[0];
    const stored = typeof first === 'string' && first !== '0' ? first : undefined;
    let valid = stored !== undefined || first === 0 || first === '0' || first === 0n;
    const values = new Array<number>(reply.length - 1);
    for (let i = 1; i < reply.length; i += 1) {
      const value: unknown = reply[i];
      let number: number;
      if (typeof value === 'string') {
        number = value === '' ? Number.NaN : Number(value);
        if (!Number.isFinite(number)) valid = false;
      } else {
        number = typeof value === 'bigint' ? Number(value) : (value as number);
        if (!Number.isSafeInteger(number)) valid = false;
      }
      values[i - 1] = number;
    }
    if (valid) return { stored, values };
  }
  const text = JSON.stringify(reply, (_, value: unknown) => (typeof value === 'bigint' ? String(value) : value));
  throw new TypeError(`unexpected reply from the bucket script: ${text}`);
}

/** One script call awaiting its reply, in the order calls were made (= the order their timeouts expire). */
class PendingCall {
  /** Settled: answered, failed, or timed out. */
  done = false;
  timedOut = false;

  constructor(
    readonly deadline: number,
    readonly length: number,
    readonly probe: boolean,
    readonly resolve: (reply: ScriptReply) => void,
    readonly reject: (error: RedisUnavailableError) => void,
    readonly late: ((reply: ScriptReply) => void) | undefined,
  ) {}
}

/**
 * ScriptCaller runs the bucket script for one store instance (or one keyed store): `EVALSHA`, falling
 * back to `EVAL` on `NOSCRIPT` on every call; its own timeout on every call; a circuit breaker; and a
 * count of the calls still in flight, so `idle()` can wait for them.
 *
 * Every call has the same timeout, so calls time out in the order they were made: one timer, set for
 * the oldest unanswered call, serves them all (no timer per call).
 *
 * The breaker: after a failure, calls fail at once (without touching Redis) for `cooldown` ms; then
 * one call at a time probes Redis, and the first success closes the breaker. A `cooldown` of 0 turns
 * the breaker off: every call tries Redis.
 */
export class ScriptCaller {
  /** Calls in order; settled ones are dropped from the front. */
  private calls: PendingCall[] = [];
  private head = 0;
  private timer: unknown = undefined;
  /** Calls whose reply has not arrived (including timed-out ones still running). */
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private openUntil = Number.NEGATIVE_INFINITY;
  private lastFailure: unknown = undefined;
  private probing = false;

  constructor(
    private readonly runner: RedisScriptRunner,
    private readonly timeout: number,
    private readonly cooldown: number,
  ) {}

  /**
   * Runs the script on `key` with `args` and resolves with its reply (at least `length` numbers after the configuration).
   * Rejects with `RedisUnavailableError` (never anything else) when Redis fails, answers wrongly, or
   * does not answer within the timeout, or while the breaker is open. When the answer comes after the
   * timeout, `late` receives it (so a reservation nobody will use can be given back).
   */
  run(key: string, args: readonly string[], length: number, late?: (reply: ScriptReply) => void): Promise<ScriptReply> {
    return new Promise((resolve, reject) => {
      this.call(key, args, length, resolve, reject, late);
    });
  }

  /**
   * Like {@link run}, with callbacks instead of a promise (one promise fewer on the hot path). Exactly
   * one of `resolve` and `reject` is called: `reject` at once while the breaker is open, otherwise
   * when Redis answers or the timeout passes.
   */
  call(
    key: string,
    args: readonly string[],
    length: number,
    resolve: (reply: ScriptReply) => void,
    reject: (error: RedisUnavailableError) => void,
    late?: (reply: ScriptReply) => void,
  ): void {
    const now = realNow();
    if (this.cooldown > 0 && this.lastFailure !== undefined && (now < this.openUntil || this.probing)) {
      reject(new RedisUnavailableError(this.lastFailure));
      return;
    }
    const probe = this.lastFailure !== undefined;
    if (probe) this.probing = true;
    const call = new PendingCall(now + this.timeout, length, probe, resolve, reject, late);
    this.calls.push(call);
    if (this.timer === undefined) this.arm(this.timeout);
    this.inFlight += 1;
    const keys = [key];
    const onReply = (reply: unknown): void => {
      this.answered(call, reply);
    };
    const onError = (error: unknown): void => {
      this.answered(call, undefined, error);
    };
    let sent: Promise<unknown>;
    try {
      sent = this.runner.evalsha(BUCKET_SCRIPT_SHA, keys, args);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the client's own error, passed on as it is
      sent = Promise.reject(error);
    }
    sent.then(onReply, (error: unknown) => {
      if (!isNoScript(error)) {
        onError(error);
        return;
      }
      // Redis lost the script (a restart, SCRIPT FLUSH, a failover): send it whole, every time this happens.
      let resent: Promise<unknown>;
      try {
        resent = this.runner.eval(BUCKET_SCRIPT, keys, args);
      } catch (evalError) {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the client's own error, passed on as it is
        resent = Promise.reject(evalError);
      }
      resent.then(onReply, onError);
    });
  }

  /** Runs the script in the background, ignoring its outcome; `idle()` waits for it. */
  runInBackground(key: string, args: readonly string[]): void {
    this.run(key, args, 1).catch(() => undefined);
  }

  /**
   * Resolves once every call made so far (and every call their late replies led to) has its reply, or
   * after twice the timeout at most (a client may hold a command forever: an offline queue).
   */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const handle = globalThis.setTimeout(
        () => {
          this.idleWaiters = this.idleWaiters.filter((waiter) => waiter !== done);
          resolve();
        },
        timerDelay(2 * this.timeout),
      ) as TimerHandle;
      handle.unref?.();
      const done = (): void => {
        globalThis.clearTimeout(handle as never);
        resolve();
      };
      this.idleWaiters.push(done);
    });
  }

  private answered(call: PendingCall, reply: unknown, error?: unknown): void {
    let values: ScriptReply | undefined;
    let failure = error;
    if (error === undefined) {
      try {
        values = parseReply(reply, call.length);
      } catch (invalid) {
        failure = invalid;
      }
    }
    if (call.timedOut) {
      if (values !== undefined) call.late?.(values);
    } else {
      call.done = true;
      if (values !== undefined) {
        this.succeeded(call.probe);
        call.resolve(values);
      } else {
        this.failed(failure, call.probe);
        call.reject(new RedisUnavailableError(failure));
      }
      this.dropSettled();
    }
    this.inFlight -= 1;
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Times out every call whose deadline has passed, then waits for the next oldest. */
  private readonly expire = (): void => {
    this.timer = undefined;
    const now = realNow();
    for (; this.head < this.calls.length; this.head += 1) {
      const call = this.calls[this.head] as PendingCall;
      if (call.done) continue;
      if (call.deadline > now) break;
      call.done = true;
      call.timedOut = true;
      const cause = new RedisTimeoutError(this.timeout);
      this.failed(cause, call.probe);
      call.reject(new RedisUnavailableError(cause));
    }
    this.dropSettled();
    const next = this.calls[this.head];
    if (next !== undefined) this.arm(next.deadline - now);
  };

  private arm(ms: number): void {
    const handle = globalThis.setTimeout(this.expire, timerDelay(ms)) as TimerHandle;
    handle.unref?.();
    this.timer = handle;
  }

  private dropSettled(): void {
    while (this.head < this.calls.length && (this.calls[this.head] as PendingCall).done) this.head += 1;
    if (this.head === this.calls.length) {
      this.calls = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.calls.length) {
      this.calls = this.calls.slice(this.head);
      this.head = 0;
    }
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
