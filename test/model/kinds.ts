import type { Clock } from '../../src/clock.js';
import {
  KeyedTokenBucketFilter,
  type GetTokenOptions,
  type MultiLimitOptions,
  type ReconfigurableTokenBucketFilter,
  type ReconfigureOptions,
  type TokenBucketFilter,
  type TokenBucketOptions,
  type TokenBucketStats,
} from '../../src/index.js';
import { implementations, type Implementation, type SyncImplementation } from '../support/implementations.js';
import { keyView } from '../support/keyedView.js';

/** Options of a bucket under the model: one limit or several, and the clock. */
export type ModelOptions = (TokenBucketOptions | MultiLimitOptions) & { clock: Clock };

/**
 * A bucket as the model drives it: every call names a key (0, 1, …, `keyCount` − 1); a bucket of one
 * key ignores it.
 */
export interface ModelTarget {
  getToken(key: number, count: number, options: GetTokenOptions): Promise<void>;
  tryGetToken(key: number, count: number): boolean;
  waitTime(key: number, count: number): number;
  available(key: number): number;
  pending(key: number): number;
  stats(): TokenBucketStats;
  reconfigure(options: ReconfigureOptions): void;
  close(): void;
}

/** One in-process kind of bucket, and how many keys the model uses on it. */
export interface ModelKind {
  readonly name: string;
  readonly keyCount: number;
  /** Whether the kind must be observably identical to a LazyTokenBucketFilter (README). */
  readonly likeLazy: boolean;
  create(options: ModelOptions): ModelTarget;
}

function single(bucket: ReconfigurableTokenBucketFilter): ModelTarget {
  return {
    getToken: (_key, count, options) => bucket.getToken(count, options),
    tryGetToken: (_key, count) => bucket.tryGetToken(count),
    waitTime: (_key, count) => bucket.waitTime(count),
    available: () => bucket.available,
    pending: () => bucket.pending,
    stats: () => bucket.stats(),
    reconfigure: (options) => {
      bucket.reconfigure(options);
    },
    close: () => {
      bucket.close();
    },
  };
}

function keyed(options: ModelOptions, keys: readonly unknown[]): ModelTarget {
  const bucket = new KeyedTokenBucketFilter<unknown>(options);
  const views: TokenBucketFilter[] = keys.map((key) => keyView(bucket, key));
  const view = (key: number): TokenBucketFilter => {
    const found = views[key];
    if (found === undefined) throw new RangeError(`no key ${key}`);
    return found;
  };
  return {
    getToken: (key, count, getOptions) => view(key).getToken(count, getOptions),
    tryGetToken: (key, count) => view(key).tryGetToken(count),
    waitTime: (key, count) => view(key).waitTime(count),
    available: (key) => view(key).available,
    pending: (key) => view(key).pending,
    stats: () => bucket.stats(),
    reconfigure: (reconfigureOptions) => {
      bucket.reconfigure(reconfigureOptions);
    },
    close: () => {
      bucket.close();
    },
  };
}

/**
 * Every kind the model drives: each entry of `test/support/implementations.ts` that is in-process
 * (sync) and has `reconfigure()` and `stats()` (the model calls them), unless it is skipped for the model
 * with a reason, and the keyed bucket through one key and through two (an object key among them), which
 * the list reaches only through one-key views. A test checks that every entry of the list is either here
 * or says why not.
 */
export const modelKinds: readonly ModelKind[] = [
  ...implementations
    .filter(
      (entry): entry is SyncImplementation =>
        entry.surface === 'sync' &&
        entry.features.reconfigure &&
        entry.features.stats &&
        entry.skip.model === undefined,
    )
    .map((entry) => ({
      name: entry.name,
      keyCount: 1,
      likeLazy: true,
      create: (options: ModelOptions) => single(entry.create(options) as ReconfigurableTokenBucketFilter),
    })),
  {
    name: 'KeyedTokenBucketFilter (one key)',
    keyCount: 1,
    likeLazy: true,
    create: (options) => keyed(options, ['the key']),
  },
  {
    name: 'KeyedTokenBucketFilter (two keys)',
    keyCount: 2,
    likeLazy: false,
    create: (options) => keyed(options, ['alice', { user: 'bob' }]),
  },
];

/** Why `entry` of the list is not a model kind, or undefined when it is one. */
export function notModelled(entry: Implementation): string | undefined {
  if (entry.skip.model !== undefined) return entry.skip.model;
  if (entry.surface !== 'sync') return 'not in-process: the model drives synchronous buckets';
  if (!entry.features.reconfigure || !entry.features.stats) return 'no reconfigure() or stats() yet (features flags)';
  return undefined;
}
