import { timerDelay } from '../clock.js';

interface TimerHandle {
  unref?(): unknown;
}

/** InFlight counts a `ScriptCaller`'s calls whose reply has not arrived, and wakes `idle()` waiters at 0. */
export class InFlight {
  private count = 0;
  private waiters: Array<() => void> = [];

  /** Counts `n` more calls. */
  add(n: number): void {
    this.count += n;
  }

  /** Counts `n` calls as answered (or never sent); wakes every waiter once none is left. */
  done(n: number): void {
    this.count -= n;
    if (this.count === 0 && this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves once no call is counted, or after `limit` ms (real time) at most; never rejects. */
  idle(limit: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const handle = globalThis.setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== done);
        resolve();
      }, timerDelay(limit)) as TimerHandle;
      handle.unref?.();
      const done = (): void => {
        globalThis.clearTimeout(handle as never);
        resolve();
      };
      this.waiters.push(done);
    });
  }
}
