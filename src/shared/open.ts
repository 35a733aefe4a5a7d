import { readClock } from '../clock.js';
import { eventsOf } from '../core/events.js';
import { resolveBucketOptions, resolveMaxQueue, resolveOptions } from '../options/bucketOptions.js';
import { formatValue, ownOption } from '../options/format.js';
import type { MultiLimitOptions, TokenBucketOptions } from '../types/options.js';
import { epochClock } from './epochClock.js';
import { bufferOf, CLOCK_BASE, createBuffer, INJECTED_BASE, MAX_LIMITS } from './layout.js';
import { SharedState } from './SharedState.js';
import { SharedThread } from './SharedThread.js';

/**
 * Attaching a shared bucket in this thread: validating the options of the constructor or of `from()`,
 * creating or checking the `SharedArrayBuffer`, and making this thread's side of it (a
 * {@link SharedThread}, all that a `SharedTokenBucketFilter` instance holds).
 */

/** Refuses more limits than the shared buffer has room for (`RangeError`). */
export function checkLimitCount(count: number): void {
  if (count > MAX_LIMITS) {
    throw new RangeError(
      `limits must hold at most ${MAX_LIMITS} limits for a SharedTokenBucketFilter, received ${count}`,
    );
  }
}

/**
 * Validates the options of a new shared bucket (those of every bucket; `kind` refused, at most
 * {@link MAX_LIMITS} limits), creates its state as of the clock's reading now (`origin`, ms on the time
 * base every thread shares) and returns this thread's side of it, with that reading as its last. Throws `TypeError`/`RangeError` naming the bad option, `TypeError`
 * without `SharedArrayBuffer`, and `InvalidClockReadingError` on an invalid reading.
 */
export function createThread(options: TokenBucketOptions | MultiLimitOptions): SharedThread {
  const input: unknown = options; // from untyped callers too
  if (typeof input === 'object' && input !== null && ownOption(input, 'kind') !== undefined) {
    throw new TypeError(`Unknown option "kind" for a SharedTokenBucketFilter`);
  }
  const { limits, clock, maxQueue, events } = resolveBucketOptions(options);
  checkLimitCount(limits.length);
  if (typeof SharedArrayBuffer !== 'function') {
    throw new TypeError(
      'SharedArrayBuffer is not available here (in a browser, the page must be cross-origin isolated)',
    );
  }
  const origin = readClock(clock ?? epochClock);
  const thread = new SharedThread(
    new SharedState(createBuffer(limits, origin, clock !== undefined)),
    clock,
    { maxQueue },
    events,
  );
  thread.lastReading = origin;
  return thread;
}

/**
 * Validates a handle and the options of `from()` (own properties only) and returns this thread's side
 * of the bucket it shares, having read the clock once (an invalid reading is not refused here). Throws `TypeError` for anything but a handle of this layout (naming an older build's), an
 * unknown option, or a clock on one side only (the bucket's creator and this thread must agree), and
 * `TypeError`/`RangeError` for a bad `maxQueue`.
 */
export function attachThread(handle: unknown, options: unknown): SharedThread {
  const buffer = bufferOf(handle);
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, received ${formatValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'clock' && key !== 'maxQueue' && key !== 'observer') {
      throw new TypeError(`Unknown option ${formatValue(key)}; known options: clock, maxQueue, observer`);
    }
  }
  const maxQueue = resolveMaxQueue(ownOption(options, 'maxQueue'));
  const events = eventsOf(ownOption(options, 'observer'));
  const given = ownOption(options, 'clock');
  const clock = given === undefined ? undefined : resolveOptions({ capacity: 1, clock: given }).clock;
  const injected = new Int32Array(buffer)[CLOCK_BASE] === INJECTED_BASE;
  if (injected !== (clock !== undefined)) {
    throw new TypeError(
      injected
        ? 'This shared bucket was created with an injected clock: pass a clock on the same time base to from()'
        : 'This shared bucket was created with the default clock: from() must not be given a clock',
    );
  }
  const thread = new SharedThread(new SharedState(buffer), clock, { maxQueue }, events);
  thread.tryNow();
  return thread;
}
