import { ClockTimer, type Clock } from '../clock.js';
import { NOTICE } from './layout.js';

/**
 * The notice word of a shared bucket's buffer: how a thread whose callers wait learns that another
 * thread closed, reconfigured or paused the bucket. The thread that changes it bumps the word and
 * notifies it ({@link tellEveryThread}); a thread with callers queued waits on it through
 * `Atomics.waitAsync` ({@link NoticeWatch}), or, where the runtime has none, looks every
 * {@link NOTICE_POLL_MS} ms. A thread without queued callers watches nothing: it catches up at its
 * next call.
 */

/** Without `Atomics.waitAsync`, a thread with waiters looks for another thread's close or reconfiguration this often (ms). */
export const NOTICE_POLL_MS = 1000;
/**
 * How long one `Atomics.waitAsync` on the notice word lasts (ms) before it is renewed (only while
 * callers wait): a bucket dropped without `close()` is held by its last wait no longer than this.
 */
const NOTICE_WATCH_MS = 30_000;

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeout: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

/** `Atomics.waitAsync` where the runtime has it (Node 16+, Chromium), looked up at each use. */
function waitAsync(): WaitAsync | undefined {
  const wait = (Atomics as { waitAsync?: unknown }).waitAsync;
  return typeof wait === 'function' ? (wait as WaitAsync) : undefined;
}

/** Tells every thread of a change in the buffer's words (a close, a reconfiguration, a pause): bumps and notifies the notice word. */
export function tellEveryThread(words: Int32Array): void {
  Atomics.add(words, NOTICE, 1);
  Atomics.notify(words, NOTICE);
}

/**
 * NoticeWatch is the part of a thread's side of a shared bucket (`SharedThread`, which extends it) that
 * waits, while the thread has callers queued, for another thread to close or reconfigure the bucket,
 * and then has the thread catch up ({@link sync}): without a timer and without keeping the process
 * alive through `Atomics.waitAsync` (one wait at a time, renewed every 30 s while callers wait, so that
 * it never holds a dropped bucket for long), or with a poll timer of {@link NOTICE_POLL_MS} ms where
 * the runtime has no `waitAsync`.
 */
export abstract class NoticeWatch {
  private watching = false;
  private poll: ClockTimer | undefined = undefined;

  /** The shared state, whose `Int32` words hold the notice word. */
  abstract readonly state: { readonly words: Int32Array };
  /** The thread's waiting callers (only their number is read here). */
  abstract readonly room: { readonly queued: number };
  /** The clock the poll's timer is set on. */
  abstract readonly clock: Clock;
  /** Catches up with the other threads; returns true when the bucket is closed. */
  abstract sync(): boolean;

  /** Watches while the thread has callers queued, and stops the poll once it has none (its head changed). */
  protected watchNotices(): void {
    if (this.room.queued === 0) {
      this.stopWatching();
      return;
    }
    const wait = waitAsync();
    if (wait !== undefined) this.watch(wait);
    else this.poll ??= ClockTimer.timeout(this.clock, this.polled, NOTICE_POLL_MS);
  }

  /** Cancels the poll timer (a `waitAsync` under way ends by itself, and finds the thread closed or idle). */
  protected stopWatching(): void {
    this.poll?.cancel();
    this.poll = undefined;
  }

  /** One `waitAsync` at a time on the notice word, renewed while the thread has callers queued. */
  private watch(wait: WaitAsync): void {
    if (this.watching) return;
    for (;;) {
      const seen = Atomics.load(this.state.words, NOTICE);
      if (this.sync() || this.room.queued === 0) return;
      const result = wait(this.state.words, NOTICE, seen, NOTICE_WATCH_MS);
      if (!result.async) continue; // a notice came between the look and the wait: look again
      this.watching = true;
      void result.value.then(() => {
        this.watching = false;
        if (!this.sync() && this.room.queued !== 0) this.watch(wait);
      });
      return;
    }
  }

  private readonly polled = (): void => {
    this.poll = undefined;
    if (!this.sync() && this.room.queued !== 0) this.watchNotices();
  };
}
