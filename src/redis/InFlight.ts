import { IdleWaiters } from './IdleWaiters.js';

/** InFlight counts a `ScriptCaller`'s calls whose reply has not arrived, and wakes `idle()` waiters at 0. */
export class InFlight {
  private count = 0;
  private readonly waiters = new IdleWaiters();

  /** Counts `n` more calls. */
  add(n: number): void {
    this.count += n;
  }

  /** Counts `n` calls as answered (or never sent); wakes every waiter once none is left. */
  done(n: number): void {
    this.count -= n;
    if (this.count === 0) this.waiters.wakeAll();
  }

  /** Resolves once no call is counted, or after `limit` ms (real time) at most; never rejects. */
  idle(limit: number): Promise<void> {
    return this.count === 0 ? Promise.resolve() : this.waiters.wait(limit);
  }
}
