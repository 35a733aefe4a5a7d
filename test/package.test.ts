import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { distCjs, distEsmUrl, repoRoot, requireBuild } from './support/dist.js';

const exported = [
  'BucketClosedError',
  'BucketNotStartedError',
  'InvalidClockReadingError',
  'KeyedTokenBucketFilter',
  'LazyTokenBucketFilter',
  'MAX_CLOCK_READING',
  'MAX_TIMER_DELAY',
  'MaxWaitExceededError',
  'QueueFullError',
  'TimerTokenBucketFilter',
  'TokenBucketFilterFactory',
  'rateLimitHeaders',
  'rateLimitPolicy',
  'wrap',
];

interface NamesReport {
  /** Exported functions and classes whose `name` is not their export name, as `entry: key -> name`. */
  renamed: string[];
  /** Every exported error class, instantiated without arguments. */
  errors: Array<{ entry: string; key: string; string: string; inspected: string }>;
  /** For each subpath, the core error classes it exports that are the very classes of the root. */
  sameErrorClasses: Record<string, string[]>;
}

const entries = ['token-bucket-filter', 'token-bucket-filter/shared', 'token-bucket-filter/redis'];

/** A script that loads every entry (by name, through the exports map) and prints a {@link NamesReport}. */
function namesProbe(type: string): string {
  const load = type === 'module' ? 'import(entry)' : 'Promise.resolve(require(entry))';
  return `
    const { inspect } = ${type === 'module' ? "await import('node:util')" : "require('node:util')"};
    const load = (entry) => ${load};
    (async () => {
      const report = { renamed: [], errors: [], sameErrorClasses: {} };
      const modules = {};
      for (const entry of ${JSON.stringify(entries)}) {
        const module = (modules[entry] = await load(entry));
        for (const [key, value] of Object.entries(module)) {
          if (typeof value !== 'function') continue;
          if (value.name !== key) report.renamed.push(entry + ': ' + key + ' -> ' + value.name);
          if (value.prototype instanceof Error) {
            const error = new value();
            report.errors.push({ entry, key, string: String(error), inspected: inspect(error) });
          }
        }
      }
      const root = modules['token-bucket-filter'];
      for (const entry of ${JSON.stringify(entries.slice(1))}) {
        report.sameErrorClasses[entry] = [
          'BucketClosedError',
          'BucketNotStartedError',
          'InvalidClockReadingError',
          'MaxWaitExceededError',
          'QueueFullError',
        ].filter(
          (key) => modules[entry][key] !== undefined && modules[entry][key] === root[key],
        );
      }
      console.log(JSON.stringify(report));
    })();
  `;
}

describe('the built package', () => {
  beforeAll(requireBuild);

  it('imports from ESM', async () => {
    const module = (await import(distEsmUrl)) as Record<string, unknown>;
    expect(Object.keys(module).sort()).toEqual(exported);
  });

  it('require()s from CommonJS, in a separate process', () => {
    const out = execFileSync(
      process.execPath,
      ['-e', `const m = require(${JSON.stringify(distCjs)}); console.log(Object.keys(m).sort().join(','))`],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe(exported.join(','));
  });

  it('resolves its own name through the exports map from both module systems', () => {
    const esm = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { TokenBucketFilterFactory as F } from 'token-bucket-filter'; console.log(typeof F.create)",
      ],
      { encoding: 'utf8', cwd: repoRoot },
    );
    const cjs = execFileSync(
      process.execPath,
      ['-e', "console.log(typeof require('token-bucket-filter').TokenBucketFilterFactory.create)"],
      { encoding: 'utf8', cwd: repoRoot },
    );
    expect([esm.trim(), cjs.trim()]).toEqual(['function', 'function']);
  });

  it.each([
    ['token-bucket-filter/shared', 'SharedTokenBucketFilter'],
    ['token-bucket-filter/redis', 'RedisTokenBucketFilter'],
  ])('resolves the subpath %s from both module systems, sharing the core error classes', (subpath, name) => {
    const esm = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import * as sub from '${subpath}'; import * as core from 'token-bucket-filter';` +
          `console.log(typeof sub.${name}, sub.BucketClosedError === core.BucketClosedError)`,
      ],
      { encoding: 'utf8', cwd: repoRoot },
    );
    const cjs = execFileSync(process.execPath, ['-e', `console.log(typeof require('${subpath}').${name})`], {
      encoding: 'utf8',
      cwd: repoRoot,
    });
    expect([esm.trim(), cjs.trim()]).toEqual(['function true', 'function']);
  });

  // Regression: the CommonJS build named its classes `_class`, `_class2`… (`require(…).LazyTokenBucketFilter.name`
  // was `_class6`, and `util.inspect` of an error printed `_class [BucketClosedError]`), and both builds
  // named a class that refers to itself `_SharedTokenBucketFilter`.
  it.each(['commonjs', 'module'])('every exported class and function keeps its name in the %s build', (type) => {
    const report = JSON.parse(
      execFileSync(process.execPath, [`--input-type=${type}`, '-e', namesProbe(type)], {
        encoding: 'utf8',
        cwd: repoRoot,
      }),
    ) as NamesReport;
    expect(report.renamed).toEqual([]);
    expect(report.errors.map(({ entry, key }) => `${entry}: ${key}`)).toEqual([
      'token-bucket-filter: BucketClosedError',
      'token-bucket-filter: BucketNotStartedError',
      'token-bucket-filter: InvalidClockReadingError',
      'token-bucket-filter: MaxWaitExceededError',
      'token-bucket-filter: QueueFullError',
      'token-bucket-filter/shared: BucketClosedError',
      'token-bucket-filter/shared: InvalidClockReadingError',
      'token-bucket-filter/shared: MaxWaitExceededError',
      'token-bucket-filter/shared: QueueFullError',
      'token-bucket-filter/redis: BucketClosedError',
      'token-bucket-filter/redis: InvalidClockReadingError',
      'token-bucket-filter/redis: MaxWaitExceededError',
      'token-bucket-filter/redis: QueueFullError',
      'token-bucket-filter/redis: RedisKeyError',
      'token-bucket-filter/redis: RedisReplicationError',
      'token-bucket-filter/redis: RedisTimeoutError',
      'token-bucket-filter/redis: RedisUnavailableError',
    ]);
    for (const { entry, key, string, inspected } of report.errors) {
      expect(string, `String(new ${key}()) from ${entry}`).toMatch(new RegExp(`^${key}: `));
      expect(inspected, `util.inspect(new ${key}()) from ${entry}`).toMatch(new RegExp(`^${key}: `));
    }
    // The subpaths export the very classes of the package root, so `instanceof` works across them.
    expect(report.sameErrorClasses).toEqual({
      'token-bucket-filter/shared': [
        'BucketClosedError',
        'InvalidClockReadingError',
        'MaxWaitExceededError',
        'QueueFullError',
      ],
      'token-bucket-filter/redis': [
        'BucketClosedError',
        'InvalidClockReadingError',
        'MaxWaitExceededError',
        'QueueFullError',
      ],
    });
  });

  it('publishes only dist/, README.md, LICENSE and package.json (npm pack --dry-run)', () => {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8' }),
    ) as Array<{ files: Array<{ path: string }> }>;
    const files = packed[0]?.files.map((file) => file.path) ?? [];
    expect(files).toContain('dist/index.js');
    expect(files.filter((file) => !/^(dist\/|README\.md$|LICENSE$|package\.json$)/.test(file))).toEqual([]);
  });

  it('the core source imports nothing Node-only, so it runs in any JavaScript runtime', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        // The Redis store (its own subpath export) talks to a Node Redis client; everything else is core.
        if (entry.isDirectory() && path === join(repoRoot, 'src', 'redis')) continue;
        if (entry.isDirectory()) walk(path);
        else if (path.endsWith('.ts')) files.push(path);
      }
    };
    walk(join(repoRoot, 'src'));
    const nodeImports = files.filter((file) =>
      /from ['"](node:|fs|path|events|timers|worker_threads|child_process)/.test(readFileSync(file, 'utf8')),
    );
    expect(nodeImports).toEqual([]);
    const bundle = readFileSync(join(repoRoot, 'dist/index.js'), 'utf8');
    expect(bundle).not.toMatch(/\brequire\(|from ['"]node:/);
  });
});
