import type { RedisScriptRunner } from './clients.js';

/**
 * LossWatch tells the buckets of one store that hold reservations when Redis may have lost their keys:
 * the client reconnected (`RedisScriptRunner.onReconnect`: a restarted server comes back empty without
 * persistence) or a call met `NOSCRIPT` (Redis lost its script cache: a restart, a failover or
 * `SCRIPT FLUSH`). Each then checks its key in Redis (`Reasserts`). It listens to the client only while
 * some bucket holds reservations, so an idle store leaves no listener behind.
 */
export class LossWatch {
  private readonly listeners = new Set<() => void>();
  private unsubscribe: (() => void) | undefined = undefined;

  constructor(private readonly runner: RedisScriptRunner) {}

  /** Calls `listener` at each suspected loss until {@link release}; adding it twice is harmless. */
  hold(listener: () => void): void {
    this.listeners.add(listener);
    if (this.unsubscribe === undefined && this.runner.onReconnect !== undefined) {
      try {
        this.unsubscribe = this.runner.onReconnect(this.suspect);
      } catch {
        this.unsubscribe = undefined; // a client that cannot be listened to: replies still show a loss
      }
    }
  }

  /** Stops calling `listener`; the client is no longer listened to once nobody holds. */
  release(listener: () => void): void {
    this.listeners.delete(listener);
    if (this.listeners.size > 0 || this.unsubscribe === undefined) return;
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    try {
      unsubscribe();
    } catch {
      // nothing more to do: the listener checks the key in Redis, which is harmless
    }
  }

  /** Redis may have lost the keys: every holder checks its own (in a microtask, never inside a reply's handling). */
  readonly suspect = (): void => {
    if (this.listeners.size === 0) return;
    queueMicrotask(() => {
      for (const listener of [...this.listeners]) listener();
    });
  };
}
