import { timerDelay } from '../clock.js';

interface TimerHandle {
  unref?(): unknown;
}

/**
 * IdleWaiters holds the callers of an owner's `idle(limit)` (in-flight calls, a pause subscription
 * being confirmed): all resolved together once the owner calls {@link wakeAll}, or each after its own
 * limit. Their timers are real ones (`globalThis`, not a bucket's clock, which a test may fake) and
 * never keep the process alive.
 */
export class IdleWaiters {
  private waiters: Array<() => void> = [];

  /** Resolves at the next {@link wakeAll}, or after `limit` ms (real time) at most; never rejects. */
  wait(limit: number): Promise<void> {
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

  /** Resolves every pending {@link wait}. */
  wakeAll(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
