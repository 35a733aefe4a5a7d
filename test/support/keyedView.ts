import type { TokenBucketFilter } from '../../src/TokenBucketFilter.js';
import type { GetTokenOptions, ReconfigureOptions } from '../../src/types/options.js';
import { KeyedTokenBucketFilter } from '../../src/keyed/KeyedTokenBucketFilter.js';
import type { KeyedTokenBucketOptions } from '../../src/keyed/keyedTypes.js';

/**
 * A one-key view of a keyed bucket: a `TokenBucketFilter` whose every call goes to `keyed` with `key`.
 * Its `close()` closes the whole keyed bucket (the view is for running the conformance suite), and its
 * `reconfigure()` reconfigures every key; its `pause()` pauses its key only. It has no `stats()`: the keyed bucket's count every key.
 */
export function keyView<K>(
  keyed: KeyedTokenBucketFilter<K>,
  key: K,
): TokenBucketFilter & { reconfigure(options: ReconfigureOptions): void; pause(ms: number): void } {
  return {
    reconfigure: (options) => {
      keyed.reconfigure(options);
    },
    pause: (ms) => {
      keyed.pause(key, ms);
    },
    get capacity() {
      return keyed.capacity;
    },
    get available() {
      return keyed.available(key);
    },
    get pending() {
      return keyed.pending(key);
    },
    getToken: (count?: number, options?: GetTokenOptions) => keyed.getToken(key, count, options),
    tryGetToken: (count?: number) => keyed.tryGetToken(key, count),
    waitTime: (count?: number) => keyed.waitTime(key, count),
    close: () => keyed.close(),
    [Symbol.dispose]: () => keyed.close(),
  };
}

/**
 * Builds a keyed bucket from `options` and returns a view of one of its keys, after making calls on
 * other keys (so that they share the keyed bucket's state), for the conformance suite.
 */
export function keyedViewFactory(key: unknown, options: KeyedTokenBucketOptions): TokenBucketFilter {
  const keyed = new KeyedTokenBucketFilter<unknown>(options);
  // Other keys are busy too: they must not change anything for the key under test.
  keyed.tryGetToken({ other: 'key' });
  keyed.tryGetToken(Symbol('another key'));
  return keyView(keyed, key);
}
