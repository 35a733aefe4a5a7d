import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distDir, repoRoot, requireBuild } from './support/dist.js';

// Compiles small consumer projects against the built package, installed in a temp dir as npm would
// (package.json and dist/), with `skipLibCheck: false` so that tsc checks every declaration we ship.
// Needs `npm run build` first.

const run = promisify(execFile);
const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');

/** Uses every entry: a value from each (so all their declaration files load) and the main types. */
const entries = `
import {
  BucketClosedError,
  BucketNotStartedError,
  KeyedTokenBucketFilter,
  LazyTokenBucketFilter,
  MAX_TIMER_DELAY,
  MaxWaitExceededError,
  TimerTokenBucketFilter,
  TokenBucketFilterFactory,
  wrap,
  type Clock,
  type GetTokenOptions,
  type ReconfigurableTokenBucketFilter,
  type TokenBucketFilter,
} from 'token-bucket-filter';
import { SharedTokenBucketFilter, type SharedTokenBucketHandle } from 'token-bucket-filter/shared';
import {
  RedisKeyedTokenBucketFilter,
  RedisTokenBucketFilter,
  RedisUnavailableError,
  type AsyncTokenBucketFilter,
  type RedisClientLike,
} from 'token-bucket-filter/redis';

export const bucket: ReconfigurableTokenBucketFilter = TokenBucketFilterFactory.create({ capacity: 2 });
export const granted: Promise<void> = bucket.getToken(1, { maxWait: 10 } satisfies GetTokenOptions);
export const limited = wrap(bucket, (n: number) => n + 1);
export const classes = [LazyTokenBucketFilter, TimerTokenBucketFilter, KeyedTokenBucketFilter, SharedTokenBucketFilter];
export const redis = [RedisTokenBucketFilter, RedisKeyedTokenBucketFilter];
export const errors: Error[] = [new BucketClosedError(), new BucketNotStartedError(), new MaxWaitExceededError(1, 0)];
export const unavailable: Error = new RedisUnavailableError('down');
export type Used = [Clock, TokenBucketFilter, SharedTokenBucketHandle, AsyncTokenBucketFilter, RedisClientLike];
export const longest: number = MAX_TIMER_DELAY;
bucket.close();
`;

/** A real AbortSignal (DOM or Node) is accepted wherever the package takes a signal. */
const signal = `
import { TokenBucketFilterFactory, wrap } from 'token-bucket-filter';
import { SharedTokenBucketFilter } from 'token-bucket-filter/shared';

const controller = new AbortController();
const bucket = TokenBucketFilterFactory.create({ capacity: 1, kind: 'timer' });
export const waiting: Promise<void> = bucket.getToken(1, { signal: controller.signal });
export const timed = wrap(bucket, () => 1, { signal: AbortSignal.timeout(10) });
export const shared: Promise<void> = new SharedTokenBucketFilter({ capacity: 1 }).getToken(1, { signal: controller.signal });
`;

/** Where lib esnext.disposable (or @types/node) declares it, `using` closes a bucket. */
const dispose = `
import { LazyTokenBucketFilter, TokenBucketFilterFactory } from 'token-bucket-filter';

export function scoped(): number {
  using bucket = TokenBucketFilterFactory.create({ capacity: 1 });
  using keyed = TokenBucketFilterFactory.createKeyed<string>({ capacity: 1 });
  const disposable: Disposable = new LazyTokenBucketFilter({ capacity: 1 });
  disposable[Symbol.dispose]();
  return bucket.available + keyed.size;
}
`;

/** Each subpath alone: its declarations must not lean on what the root's happen to declare. */
const sharedAlone = `
import { SharedTokenBucketFilter, type TokenBucketFilter } from 'token-bucket-filter/shared';
export const bucket: TokenBucketFilter = new SharedTokenBucketFilter({ capacity: 1 });
`;
const redisAlone = `
import { RedisTokenBucketFilter, type AsyncTokenBucketFilter } from 'token-bucket-filter/redis';
export const make = (client: { evalsha(...args: never[]): Promise<unknown>; eval(...args: never[]): Promise<unknown> }) =>
  new RedisTokenBucketFilter({ client, key: 'k', capacity: 1 }) satisfies AsyncTokenBucketFilter;
`;

/** Consumer projects: compiler options, and which of the files above each compiles (by extension). */
const projects: Array<[name: string, options: Record<string, unknown>, files: string[]]> = [
  ['lib es2022 only, node16, ESM and CJS', { lib: ['es2022'], module: 'node16' }, ['entries.mts', 'entries.cts']],
  ['lib es2022 only, node16, /shared alone', { lib: ['es2022'], module: 'node16' }, ['shared-alone.mts']],
  ['lib es2022 only, node16, /redis alone', { lib: ['es2022'], module: 'node16' }, ['redis-alone.mts']],
  [
    'lib es2022 + esnext.disposable, node16',
    { lib: ['es2022', 'esnext.disposable'], module: 'node16' },
    ['entries.mts', 'entries.cts', 'dispose.mts'],
  ],
  [
    'lib es2022 + dom, node16',
    { lib: ['es2022', 'dom'], module: 'node16' },
    ['entries.mts', 'entries.cts', 'signal.mts'],
  ],
  [
    'lib es2022 + @types/node, node16',
    { lib: ['es2022'], types: ['node'], module: 'node16' },
    ['entries.mts', 'entries.cts', 'signal.mts', 'dispose.mts'],
  ],
  [
    'lib esnext + dom, bundler',
    { lib: ['esnext', 'dom'], module: 'esnext', moduleResolution: 'bundler' },
    ['entries.ts', 'signal.ts', 'dispose.ts'],
  ],
  [
    'lib es2022 only, node10 (typesVersions for the subpaths)',
    { lib: ['es2022'], module: 'commonjs', moduleResolution: 'node10' },
    ['entries.ts'],
  ],
];

describe('the declarations, compiled by consumers with skipLibCheck: false', () => {
  let dir = '';

  beforeAll(() => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'tbf-consumer-'));
    const installed = join(dir, 'node_modules/token-bucket-filter');
    mkdirSync(installed, { recursive: true });
    cpSync(join(repoRoot, 'package.json'), join(installed, 'package.json'));
    cpSync(distDir, join(installed, 'dist'), { recursive: true });
    mkdirSync(join(dir, 'node_modules/@types'));
    symlinkSync(join(repoRoot, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'), 'dir');
    for (const extension of ['ts', 'mts', 'cts']) {
      writeFileSync(join(dir, `entries.${extension}`), entries);
      writeFileSync(join(dir, `signal.${extension}`), signal);
      writeFileSync(join(dir, `dispose.${extension}`), dispose);
      writeFileSync(join(dir, `shared-alone.${extension}`), sharedAlone);
      writeFileSync(join(dir, `redis-alone.${extension}`), redisAlone);
    }
  });

  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  // Alone, each tsc takes 2 to 7 s (checking @types/node is the slow part); beside the whole suite on two
  // cores it has taken over 20 s, hence 60 s.
  it.concurrent.each(projects)(
    '%s',
    async (name, options, files) => {
      const config = join(dir, `tsconfig.${name.replace(/\W+/g, '-')}.json`);
      const compilerOptions = {
        strict: true,
        skipLibCheck: false,
        // The lib.*.d.ts of TypeScript itself need no checking here; every other declaration file is checked.
        skipDefaultLibCheck: true,
        noEmit: true,
        types: [],
        target: 'es2022',
        ...options,
      };
      writeFileSync(config, JSON.stringify({ compilerOptions, files }));
      const result = await run(process.execPath, [tsc, '-p', config, '--pretty', 'false'], { cwd: dir }).catch(
        (error: unknown) => error as { stdout: string },
      );
      expect(result.stdout.trim()).toBe('');
    },
    60_000,
  );
});
